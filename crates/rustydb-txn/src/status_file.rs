//! The persisted commit-status table, `<data-dir>/xact/status`: two bits per transaction id,
//! four ids to a byte, id `n` in bits `2 * (n % 4)` of byte `n / 4` (PostgreSQL's `pg_xact`,
//! without its pages).
//!
//! | bits | meaning |
//! |---|---|
//! | 00 | in progress when written (or never written): the log decides |
//! | 01 | committed |
//! | 10 | aborted |
//!
//! Why a file and not only the log: recovery replays the log from the last checkpoint, so the
//! fate of every transaction that ended before it must be kept elsewhere. Each checkpoint
//! writes the statuses of the ids that ended since the previous one (an id's status never
//! changes once it has ended, so older bytes are never rewritten) and fsyncs the file before
//! the control file names the checkpoint. Recovery reads the statuses below the checkpoint's
//! first unassigned id, then lets the log's commit and abort records settle the rest.
//!
//! A torn write can only hit bytes the checkpoint being written was rewriting; that checkpoint
//! never completed, so recovery starts from the previous one, whose log still holds the commit
//! and abort records of every id those bytes describe.

use crate::status::{Status, StatusTable};
use rustydb_foundation::{DbError, Result, TxnId};
use rustydb_storage::io::{FileHandle, Vfs};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What a status file records below some id.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Saved {
    /// Ids recorded aborted.
    pub aborted: HashSet<u64>,
    /// Ids recorded in progress (or never recorded), ascending.
    pub open: Vec<u64>,
}

/// The status file of one data directory.
#[derive(Debug)]
pub struct StatusFile {
    path: PathBuf,
    file: Arc<dyn FileHandle>,
}

const IN_PROGRESS: u8 = 0;
const COMMITTED: u8 = 1;
const ABORTED: u8 = 2;

impl StatusFile {
    /// Opens (creating if needed) the status file of data directory `dir`.
    pub fn open(vfs: &dyn Vfs, dir: &Path) -> Result<Self> {
        let xact = dir.join("xact");
        vfs.create_dir_all(&xact).map_err(|e| DbError::io(format!("creating {}", xact.display()), e))?;
        let path = xact.join("status");
        let existed = vfs.open_existing(&path).map_err(|e| DbError::io(format!("opening {}", path.display()), e))?;
        let file = match existed {
            Some(file) => file,
            None => {
                let file = vfs.open(&path).map_err(|e| DbError::io(format!("creating {}", path.display()), e))?;
                vfs.sync_dir(&xact).map_err(|e| DbError::io(format!("syncing {}", xact.display()), e))?;
                file
            }
        };
        Ok(StatusFile { path, file })
    }

    /// What the file records for the ids below `below`: those aborted, and those it leaves
    /// open (in progress when written, or never written), for the log to settle. Every other
    /// id below `below` committed.
    pub fn load(&self, below: u64) -> Result<Saved> {
        let mut bytes = vec![0u8; below.div_ceil(4) as usize];
        let n = self
            .file
            .read_full_at(&mut bytes, 0)
            .map_err(|e| DbError::io(format!("reading {}", self.path.display()), e))?;
        bytes[n..].fill(0);
        let mut saved = Saved::default();
        for id in TxnId::FIRST.0..below {
            match (bytes[(id / 4) as usize] >> (2 * (id % 4))) & 3 {
                COMMITTED => {}
                ABORTED => {
                    saved.aborted.insert(id);
                }
                _ => saved.open.push(id),
            }
        }
        Ok(saved)
    }

    /// Writes the statuses `table` holds for ids from `from` (rounded down to a byte) to its
    /// next id, and fsyncs. Returns the id from which the next write must start: the oldest
    /// still in progress, or the next id.
    pub fn write(&self, table: &StatusTable, from: u64) -> Result<u64> {
        let next = table.next_id().0;
        let from = from - from % 4;
        let mut bytes = vec![0u8; (next.saturating_sub(from)).div_ceil(4) as usize];
        let mut oldest_running = next;
        for id in from..next {
            let code = match table.status(TxnId(id)) {
                Status::Committed => COMMITTED,
                Status::Aborted => ABORTED,
                Status::InProgress => {
                    oldest_running = oldest_running.min(id);
                    IN_PROGRESS
                }
            };
            bytes[((id - from) / 4) as usize] |= code << (2 * (id % 4));
        }
        let io = |what: &str, e| DbError::io(format!("{what} {}", self.path.display()), e);
        self.file.write_all_at(&bytes, from / 4).map_err(|e| io("writing", e))?;
        self.file.sync_data().map_err(|e| io("syncing", e))?;
        Ok(oldest_running)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustydb_storage::PosixVfs;

    #[test]
    fn statuses_written_in_steps_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let file = StatusFile::open(&PosixVfs, dir.path()).unwrap();
        let mut table = StatusTable::new(TxnId(3), HashSet::new());
        let ids: Vec<TxnId> = (0..7).map(|_| table.begin()).collect(); // 3..=9
        table.commit(ids[0]);
        table.abort(ids[1]);
        table.commit(ids[3]);
        let resume = file.write(&table, 0).unwrap();
        assert_eq!(resume, 5, "id 5 is still running");
        table.abort(ids[2]);
        table.commit(ids[4]);
        let resume = file.write(&table, resume).unwrap();
        assert_eq!(resume, 8);
        let saved = StatusFile::open(&PosixVfs, dir.path()).unwrap().load(12).unwrap();
        // 3 and 6, 7 committed; 4, 5 aborted; 8, 9 still running; 10, 11 never handed out.
        assert_eq!(saved.aborted, HashSet::from([4, 5]));
        assert_eq!(saved.open, vec![8, 9, 10, 11]);
    }
}
