//! The transaction status table: the deterministic core of the transaction manager. It hands out
//! ids and knows which are in progress and which aborted; every other id below `next` committed.
//! No I/O and no clock: the manager logs, then tells this table what happened.

use crate::Snapshot;
use rustydb_foundation::TxnId;
use std::collections::{BTreeMap, HashSet};

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
    /// Ids in progress, each with the oldest id that was in progress when it began (itself if
    /// none was): what its snapshots can still call running, which bounds what vacuum removes.
    active: BTreeMap<u64, u64>,
    aborted: HashSet<u64>,
}

impl StatusTable {
    /// A table whose next id is `next` (at least [`TxnId::FIRST`]) and whose aborted set is given.
    pub fn new(next: TxnId, aborted: HashSet<u64>) -> Self {
        StatusTable { next: next.0.max(TxnId::FIRST.0), active: BTreeMap::new(), aborted }
    }

    /// Starts a transaction.
    pub fn begin(&mut self) -> TxnId {
        let id = self.next;
        self.next += 1;
        let oldest = self.active.keys().next().copied().unwrap_or(id);
        self.active.insert(id, oldest);
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
        if self.active.contains_key(&id.0) {
            Status::InProgress
        } else if self.aborted.contains(&id.0) || id.0 >= self.next {
            Status::Aborted
        } else {
            Status::Committed
        }
    }

    /// A snapshot of what is committed now.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot { xmax: TxnId(self.next), in_progress: self.active.keys().copied().collect() }
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

    /// Vacuum's horizon: no snapshot taken now or later can see a deletion by a transaction
    /// below it as still running. Every id below it has ended, and ended before each transaction
    /// still in progress began.
    ///
    /// It is the oldest id that was running when the oldest transaction still running began
    /// (or the next id, when none runs). A transaction's snapshots only ever call running ids
    /// that were running when it began or began later; the oldest running transaction began
    /// first, so what was running then bounds them all. That value never decreases.
    pub fn horizon(&self) -> TxnId {
        TxnId(self.active.values().next().copied().unwrap_or(self.next))
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

    #[test]
    fn the_horizon_is_what_the_oldest_running_transaction_could_still_call_running() {
        let mut t = StatusTable::new(TxnId(10), HashSet::new());
        assert_eq!(t.horizon(), TxnId(10), "nothing runs: everything below next has ended");
        let a = t.begin();
        let b = t.begin();
        assert_eq!(t.horizon(), a);
        t.commit(a);
        // `b` began while `a` ran: its snapshot calls `a` running, so `a`'s deletions stay.
        assert_eq!(t.horizon(), a);
        let c = t.begin();
        t.commit(b);
        // `c` began while `b` ran, and `b` while `a` ran; `c` never saw `a` running.
        assert_eq!(t.horizon(), b);
        t.commit(c);
        assert_eq!(t.horizon(), TxnId(13));
        let d = t.begin();
        assert_eq!(t.horizon(), d, "the oldest running id counts itself");
    }
}
