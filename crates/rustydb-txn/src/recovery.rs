//! Crash recovery: read the statuses the last checkpoint saved, replay the log from it, then
//! decide every transaction's fate.
//!
//! The control file names the last completed checkpoint. Every page change logged before its
//! *redo* point is in the data files, and the status file ([`crate::status_file`]) holds the
//! fate of every transaction that had ended when it began. Replay starts at the checkpoint's
//! `log_from` (the redo point, or earlier while an LSM tree's memtable held changes only the
//! log had):
//! - page changes (heap, index pages, full-page images) logged after the redo point are
//!   re-applied where the page LSN shows them missing; a full-page image replaces its page
//!   whatever state it is in, which repairs a write the crash tore;
//! - commit and abort records settle the transactions the status file left open, and commit
//!   records remove the data files of tables their transaction dropped;
//! - LSM entries are collected for their trees, which take back those their tables lack when
//!   they open ([`Recovered::lsm`]).
//!
//! Afterwards every transaction without a commit record is aborted; undo is unnecessary
//! because MVCC makes an aborted transaction's versions invisible.

use crate::record::Record;
use crate::status::{Status, StatusTable};
use crate::status_file::StatusFile;
use rustydb_foundation::{FileId, Lsn, Result, TxnId};
use rustydb_index::lsm::LoggedEntry;
use rustydb_storage::{HeapChange, StorageEngine};
use std::collections::HashMap;
use std::collections::HashSet;
use std::time::{Duration, Instant};

/// What recovery did, for the log line at startup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Records replayed.
    pub records: u64,
    /// Bytes of log replayed.
    pub bytes: u64,
    /// Where replay began (the last checkpoint's `log_from`), and where page redo began.
    pub from: Lsn,
    /// The checkpoint's redo point (0 without a checkpoint).
    pub redo: Lsn,
    /// Full-page images restored.
    pub images: u64,
    /// Transactions found committed in the replayed log.
    pub committed: u64,
    /// Transactions aborted (explicitly or by the crash) in the replayed log.
    pub aborted: u64,
    /// Wall time taken.
    pub elapsed: Duration,
}

/// What recovery leaves for the engine.
#[derive(Debug)]
pub struct Recovered {
    /// The status table to run with.
    pub status: StatusTable,
    /// The persisted status table, and the id from which its next write starts.
    pub status_file: (StatusFile, u64),
    /// What was done, for the log.
    pub report: RecoveryReport,
    /// Each LSM tree's logged changes, oldest first, for the tree to take back when it opens.
    pub lsm: HashMap<FileId, Vec<LoggedEntry>>,
}

/// Replays the log of `storage` from its last checkpoint.
pub fn recover(storage: &StorageEngine) -> Result<Recovered> {
    let started = Instant::now();
    let checkpoint = storage.control().checkpoint;
    let (from, redo, file_next) = checkpoint.map_or((Lsn(0), Lsn(0), 0), |c| (c.log_from, c.redo, c.next_xid));
    let status_file = StatusFile::open(storage.vfs().as_ref(), storage.dir())?;
    let mut fate: HashMap<u64, Status> = HashMap::new();
    let saved = status_file.load(file_next)?;
    // The first id the file leaves open: the next status write starts there.
    let rewrite_from = saved.open.first().copied().unwrap_or(file_next);
    let mut seen = HashSet::new();
    let (mut committed, mut aborted_records) = (0u64, 0u64);
    let mut records = 0u64;
    let mut images = 0u64;
    let mut max_xid = TxnId::BOOTSTRAP.0.max(file_next.saturating_sub(1));
    let mut lsm: HashMap<FileId, Vec<LoggedEntry>> = HashMap::new();
    // Sealed (encrypted) page changes before the redo point are passed over unopened.
    storage.log().replay_opening_after(from, redo, |rec| {
        records += 1;
        let record = Record::decode(&rec.payload)?;
        if record.belongs_to_transaction() {
            max_xid = max_xid.max(record.xid().0);
            seen.insert(record.xid().0);
        }
        // Page changes logged before the redo point are in the data files already.
        let pages = rec.lsn > redo;
        match record {
            Record::Heap { change, .. } if pages => {
                let change = HeapChange::decode(&change)?;
                storage.heap(change.tid().page.file)?.redo(&change, rec.lsn)
            }
            Record::Index { change } if pages => rustydb_index::btree::change::redo(storage.pool(), &change, rec.lsn),
            Record::Image { page, image } if pages => {
                images += 1;
                storage.pool().restore(page, &image, rec.lsn)?;
                // A heap page restored past the heap's end extends it.
                if rustydb_storage::page::read::kind(&image) == rustydb_storage::page::KIND_HEAP {
                    storage.heap(page.file)?.note_page(page.number);
                }
                Ok(())
            }
            Record::Heap { .. } | Record::Index { .. } | Record::Image { .. } => Ok(()),
            Record::Commit { xid, drop_files, subxids } => {
                committed += 1;
                fate.insert(xid.0, Status::Committed);
                for x in &subxids {
                    max_xid = max_xid.max(x.0);
                    fate.insert(x.0, Status::Committed);
                }
                drop_files.into_iter().try_for_each(|f| storage.remove_file(f))
            }
            Record::Abort { xid } => {
                aborted_records += 1;
                fate.insert(xid.0, Status::Aborted);
                Ok(())
            }
            Record::Lsm { file, live, entry } => {
                lsm.entry(file).or_default().push((rec.lsn, entry, live));
                Ok(())
            }
        }
    })?;
    // Everything that ended is known now: an id neither the file nor the log says committed
    // was rolled back or cut off by the crash.
    let next = max_xid + 1;
    let mut aborted = saved.aborted;
    let undecided = saved.open.into_iter().chain(file_next.max(TxnId::FIRST.0)..next);
    for id in undecided {
        if fate.get(&id) != Some(&Status::Committed) {
            aborted.insert(id);
        }
    }
    let crashed = seen.iter().filter(|x| **x >= TxnId::FIRST.0 && !fate.contains_key(x)).count() as u64;
    let report = RecoveryReport {
        records,
        bytes: storage.log().end_lsn().0.saturating_sub(from.0),
        from,
        redo,
        images,
        committed,
        aborted: aborted_records + crashed,
        elapsed: started.elapsed(),
    };
    Ok(Recovered {
        status: StatusTable::new(TxnId(next), aborted),
        status_file: (status_file, rewrite_from.min(next)),
        report,
        lsm,
    })
}
