//! Crash recovery: replay the log, then decide every transaction's fate.
//!
//! Analysis and redo happen in one pass (the log is replayed from its start until checkpoints
//! arrive): each heap or index change is re-applied where the page LSN shows it missing, commit records
//! mark their transaction committed and remove the data files it dropped. Afterwards every
//! transaction that wrote but has no commit record is aborted; undo is unnecessary because MVCC
//! makes an aborted transaction's versions invisible.
//!
//! LSM tree entries are not pages: recovery collects each tree's records ([`Recovered::lsm`])
//! and the tree, when it opens, takes back those its tables do not hold.

use crate::record::Record;
use crate::status::StatusTable;
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
    /// Transactions found committed.
    pub committed: u64,
    /// Transactions aborted (explicitly or by the crash).
    pub aborted: u64,
    /// Wall time taken.
    pub elapsed: Duration,
}

/// What recovery leaves for the engine.
#[derive(Debug)]
pub struct Recovered {
    /// The status table to run with.
    pub status: StatusTable,
    /// What was done, for the log.
    pub report: RecoveryReport,
    /// Each LSM tree's logged changes, oldest first, for the tree to take back when it opens.
    pub lsm: HashMap<FileId, Vec<LoggedEntry>>,
}

/// Replays the log of `storage`.
pub fn recover(storage: &StorageEngine) -> Result<Recovered> {
    let started = Instant::now();
    let mut seen = HashSet::new();
    let mut committed = HashSet::new();
    let mut records = 0u64;
    let mut max_xid = TxnId::BOOTSTRAP.0;
    let mut lsm: HashMap<FileId, Vec<LoggedEntry>> = HashMap::new();
    storage.log().replay(Lsn(0), |rec| {
        records += 1;
        let record = Record::decode(&rec.payload)?;
        if !record.is_index() {
            max_xid = max_xid.max(record.xid().0);
            seen.insert(record.xid().0);
        }
        match record {
            Record::Heap { change, .. } => {
                let change = HeapChange::decode(&change)?;
                storage.heap(change.tid().page.file)?.redo(&change, rec.lsn)
            }
            Record::Commit { xid, drop_files, subxids } => {
                committed.insert(xid.0);
                committed.extend(subxids.iter().map(|x| x.0));
                drop_files.into_iter().try_for_each(|f| storage.remove_file(f))
            }
            Record::Abort { .. } => Ok(()),
            Record::Index { change } => rustydb_index::btree::change::redo(storage.pool(), &change, rec.lsn),
            Record::Lsm { file, live, entry } => {
                lsm.entry(file).or_default().push((rec.lsn, entry, live));
                Ok(())
            }
        }
    })?;
    let aborted: HashSet<u64> = seen.difference(&committed).copied().filter(|x| *x != TxnId::BOOTSTRAP.0).collect();
    let report = RecoveryReport {
        records,
        bytes: storage.log().end_lsn().0,
        committed: committed.len() as u64,
        aborted: aborted.len() as u64,
        elapsed: started.elapsed(),
    };
    Ok(Recovered { status: StatusTable::new(TxnId(max_xid + 1), aborted), report, lsm })
}
