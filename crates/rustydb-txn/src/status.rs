//! The transaction status table: the deterministic core of the transaction manager. It hands out
//! ids and knows which are in progress and which aborted; every other id below `next` committed.
//! No I/O and no clock: the manager logs, then tells this table what happened.

use crate::Snapshot;
use rustydb_foundation::TxnId;
use std::collections::{BTreeSet, HashSet};

/// Status of a transaction id as of now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Still running.
    InProgress,
    /// Committed (or a reserved id such as the bootstrap's).
    Committed,
    /// Rolled back, or cut off by a crash.
    Aborted,
}

/// Ids handed out, in progress, and aborted.
#[derive(Debug, Clone)]
pub struct StatusTable {
    next: u64,
    active: BTreeSet<u64>,
    aborted: HashSet<u64>,
}

impl StatusTable {
    /// A table whose next id is `next` (at least [`TxnId::FIRST`]) and whose aborted set is given.
    pub fn new(next: TxnId, aborted: HashSet<u64>) -> Self {
        StatusTable { next: next.0.max(TxnId::FIRST.0), active: BTreeSet::new(), aborted }
    }

    /// Starts a transaction.
    pub fn begin(&mut self) -> TxnId {
        let id = self.next;
        self.next += 1;
        self.active.insert(id);
        TxnId(id)
    }

    /// Marks `id` committed.
    pub fn commit(&mut self, id: TxnId) {
        self.active.remove(&id.0);
    }

    /// Marks `id` aborted.
    pub fn abort(&mut self, id: TxnId) {
        self.active.remove(&id.0);
        self.aborted.insert(id.0);
    }

    /// Marks every one of `ids` committed at once (a transaction and its subtransactions: no
    /// snapshot may see some of them committed and others not).
    pub fn commit_all(&mut self, ids: &[TxnId]) {
        ids.iter().for_each(|id| self.commit(*id));
    }

    /// Marks every one of `ids` aborted at once.
    pub fn abort_all(&mut self, ids: &[TxnId]) {
        ids.iter().for_each(|id| self.abort(*id));
    }

    /// The status of `id` now.
    pub fn status(&self, id: TxnId) -> Status {
        if self.active.contains(&id.0) {
            Status::InProgress
        } else if self.aborted.contains(&id.0) || id.0 >= self.next {
            Status::Aborted
        } else {
            Status::Committed
        }
    }

    /// A snapshot of what is committed now.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot { xmax: TxnId(self.next), in_progress: self.active.iter().copied().collect() }
    }

    /// True if `id` aborted.
    pub fn is_aborted(&self, id: TxnId) -> bool {
        self.aborted.contains(&id.0)
    }

    /// The first id not handed out yet.
    pub fn next_id(&self) -> TxnId {
        TxnId(self.next)
    }

    /// Number of transactions in progress.
    pub fn active_count(&self) -> usize {
        self.active.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle_and_snapshots() {
        let mut t = StatusTable::new(TxnId(10), HashSet::from([4]));
        let a = t.begin();
        let b = t.begin();
        assert_eq!(a, TxnId(10));
        assert_eq!(t.status(a), Status::InProgress);
        assert_eq!(t.status(TxnId(4)), Status::Aborted);
        assert_eq!(t.status(TxnId(5)), Status::Committed);
        let snap = t.snapshot();
        t.commit(a);
        t.abort(b);
        assert_eq!(t.status(a), Status::Committed);
        assert_eq!(t.status(b), Status::Aborted);
        // The snapshot taken while `a` ran still treats it as in progress.
        assert!(!snap.sees_committed(a, &t));
        assert!(t.snapshot().sees_committed(a, &t));
        assert!(!t.snapshot().sees_committed(b, &t));
    }
}
