//! Serializable snapshot isolation (Cahill et al.; PostgreSQL's predicate.c is the model): the
//! SERIALIZABLE level runs on snapshots as REPEATABLE READ does, and also watches for the one
//! shape every non-serializable history contains — two consecutive read-write antidependencies
//! `T_in →rw pivot →rw T_out` among concurrent transactions, where `T_out` commits first — and
//! aborts one transaction of it with 40001.
//!
//! ## Where edges come from
//! - **SIREAD locks.** What a serializable transaction reads, it records: a whole relation for
//!   a sequential or range scan, the key for an index lookup (found or not, so that a later
//!   insert of that key is seen), and each tuple it fetches. They never block anyone and
//!   outlive the reader's commit for as long as a concurrent transaction is running.
//! - **Conflict in**: a serializable writer that deletes a tuple, or inserts into a relation
//!   or under a key, that a concurrent serializable transaction holds an SIREAD lock on gets
//!   an edge `reader →rw writer`.
//! - **Conflict out**: a serializable reader that meets a version it cannot see because a
//!   concurrent serializable transaction created it, or that it sees though a concurrent one
//!   deleted it, gets an edge `reader →rw that writer`.
//!
//! ## Deciding
//! Each new edge runs PostgreSQL's `OnConflict_CheckForSerializationFailure`, and each commit
//! its `PreCommit_CheckForSerializationFailure`; a transaction that must die but is not the
//! one asking is marked *doomed* and fails at its next read, write or commit. "Prepared" here
//! means past the pre-commit check (the commit record is being written); sequence numbers
//! order prepares and commits.
//!
//! This module is a pure state machine: no clock, no I/O, no threads. The transaction manager
//! keeps it behind one mutex, touched only by serializable transactions.

use rustydb_foundation::{DbError, FileId, Result, SqlState, TupleId, TxnId};
use std::collections::{HashMap, HashSet};

/// What an SIREAD lock covers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Predicate {
    /// A whole table (sequential and range scans).
    Relation(FileId),
    /// One key of one index (point lookups, whether or not they found a row).
    Key(FileId, Vec<u8>),
    /// One tuple version.
    Tuple(TupleId),
}

#[derive(Debug, Default)]
struct Sxact {
    /// The last commit sequence number when its snapshot was taken.
    snapshot_seq: u64,
    /// Set by the pre-commit check.
    prepare_seq: Option<u64>,
    /// Set once the commit is durable and visible.
    commit_seq: Option<u64>,
    doomed: bool,
    read_only: bool,
    /// Readers `r` with `r →rw self`.
    in_conflicts: HashSet<TxnId>,
    /// Writers `w` with `self →rw w`.
    out_conflicts: HashSet<TxnId>,
    locks: Vec<Predicate>,
    /// Its subtransaction ids (savepoints' writes carry them).
    subxacts: Vec<TxnId>,
}

/// The serializable transactions, their SIREAD locks and their rw-antidependencies.
#[derive(Debug, Default)]
pub struct SsiState {
    xacts: HashMap<TxnId, Sxact>,
    locks: HashMap<Predicate, Vec<TxnId>>,
    /// Subtransaction id → its transaction, for the writers a reader meets on versions.
    parents: HashMap<TxnId, TxnId>,
    seq: u64,
}

fn failure(reason: &str) -> DbError {
    DbError::sql(
        SqlState::SerializationFailure,
        "could not serialize access due to read/write dependencies among transactions",
    )
    .with_detail(format!("Reason code: {reason}."))
}

impl SsiState {
    /// An empty state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers serializable transaction `txn` as its snapshot is taken.
    pub fn register(&mut self, txn: TxnId, read_only: bool) {
        let snapshot_seq = self.seq;
        self.xacts.entry(txn).or_insert_with(|| Sxact { snapshot_seq, read_only, ..Sxact::default() });
    }

    /// Serializable `txn` writes with subtransaction id `sub` too: a reader meeting `sub` on a
    /// version depends on `txn`.
    pub fn add_subtransaction(&mut self, txn: TxnId, sub: TxnId) {
        if let Some(x) = self.xacts.get_mut(&txn) {
            x.subxacts.push(sub);
            self.parents.insert(sub, txn);
        }
    }

    /// True if `txn` is registered (it took a serializable snapshot).
    pub fn is_registered(&self, txn: TxnId) -> bool {
        self.xacts.contains_key(&txn)
    }

    /// Fails if `txn` has been doomed by another transaction's check.
    pub fn check_doomed(&self, txn: TxnId, during: &str) -> Result<()> {
        match self.xacts.get(&txn) {
            Some(x) if x.doomed => Err(failure(&format!("Canceled on identification as a pivot, during {during}"))),
            _ => Ok(()),
        }
    }

    /// Records that `txn` read what `predicate` covers.
    pub fn lock(&mut self, txn: TxnId, predicate: Predicate) {
        let Some(x) = self.xacts.get_mut(&txn) else { return };
        let holders = self.locks.entry(predicate.clone()).or_default();
        if !holders.contains(&txn) {
            holders.push(txn);
            x.locks.push(predicate);
        }
    }

    /// Number of SIREAD locks held (for tests and metrics).
    pub fn lock_count(&self) -> usize {
        self.locks.values().map(Vec::len).sum()
    }

    /// Number of transactions tracked, running or kept after commit.
    pub fn tracked(&self) -> usize {
        self.xacts.len()
    }

    /// Writer `txn` changes what `predicates` cover; `concurrent(r)` tells whether transaction
    /// `r` is concurrent with it (not visible to its snapshot). Adds `r →rw txn` for every
    /// concurrent holder and fails if that completes a dangerous structure with `txn` to blame.
    pub fn conflict_in(
        &mut self,
        txn: TxnId,
        predicates: &[Predicate],
        concurrent: impl Fn(TxnId) -> bool,
    ) -> Result<()> {
        if !self.xacts.contains_key(&txn) {
            return Ok(());
        }
        self.check_doomed(txn, "conflict in checking")?;
        let mut readers: Vec<TxnId> = Vec::new();
        for p in predicates {
            for r in self.locks.get(p).into_iter().flatten() {
                if *r != txn && !readers.contains(r) {
                    readers.push(*r);
                }
            }
        }
        for reader in readers {
            let Some(rx) = self.xacts.get(&reader) else { continue };
            let concurrent = rx.commit_seq.is_none() || concurrent(reader);
            if rx.doomed || !concurrent || rx.out_conflicts.contains(&txn) {
                continue;
            }
            self.flag(reader, txn, txn)?;
        }
        Ok(())
    }

    /// Reader `txn` met versions written by `writers`, each concurrent with it (the caller
    /// checked against its snapshot). Adds `txn →rw w` for each serializable one.
    pub fn conflict_out(&mut self, txn: TxnId, writers: &[TxnId]) -> Result<()> {
        if !self.xacts.contains_key(&txn) {
            return Ok(());
        }
        self.check_doomed(txn, "conflict out checking")?;
        for &writer in writers {
            let writer = self.parents.get(&writer).copied().unwrap_or(writer);
            let Some(wx) = self.xacts.get(&writer) else { continue };
            if writer == txn || wx.in_conflicts.contains(&txn) {
                continue;
            }
            self.flag(txn, writer, txn)?;
        }
        Ok(())
    }

    /// Adds `reader →rw writer` after PostgreSQL's `OnConflict_CheckForSerializationFailure`;
    /// `me` is the transaction asking.
    fn flag(&mut self, reader: TxnId, writer: TxnId, me: TxnId) -> Result<()> {
        let get = |id: &TxnId| self.xacts.get(id);
        let (Some(r), Some(w)) = (get(&reader), get(&writer)) else { return Ok(()) };
        // reader →rw writer →rw t2, with t2 prepared first.
        let mut fail = w.out_conflicts.iter().filter_map(get).any(|t2| {
            t2.prepare_seq.is_some_and(|t2p| {
                r.commit_seq.is_none_or(|rc| t2p <= rc)
                    && w.commit_seq.is_none_or(|wc| t2p <= wc)
                    && (!r.read_only || t2p <= r.snapshot_seq)
            })
        });
        // t0 →rw reader →rw writer, with the writer prepared.
        if !fail
            && let Some(wp) = w.prepare_seq
            && !r.read_only
        {
            fail = r.in_conflicts.iter().filter_map(get).any(|t0| {
                !t0.doomed && t0.commit_seq.is_none_or(|c| c >= wp) && (!t0.read_only || t0.snapshot_seq >= wp)
            });
        }
        if fail {
            if me == writer {
                return Err(failure("Canceled on identification as a pivot, during write"));
            }
            if w.prepare_seq.is_some() {
                return Err(failure(&format!("Canceled on conflict out to pivot {writer}, during read")));
            }
            if let Some(w) = self.xacts.get_mut(&writer) {
                w.doomed = true;
            }
        }
        if let Some(r) = self.xacts.get_mut(&reader) {
            r.out_conflicts.insert(writer);
        }
        if let Some(w) = self.xacts.get_mut(&writer) {
            w.in_conflicts.insert(reader);
        }
        Ok(())
    }

    /// PostgreSQL's `PreCommit_CheckForSerializationFailure`: fails if `txn` is doomed; dooms
    /// any running pivot `r` with `f →rw r →rw txn` where `f` is `txn` or still running; then
    /// marks `txn` prepared.
    pub fn pre_commit(&mut self, txn: TxnId) -> Result<()> {
        if !self.xacts.contains_key(&txn) {
            return Ok(());
        }
        self.check_doomed(txn, "commit attempt")?;
        let mut doom = Vec::new();
        if let Some(me) = self.xacts.get(&txn) {
            for near in &me.in_conflicts {
                let Some(r) = self.xacts.get(near) else { continue };
                if r.commit_seq.is_some() || r.prepare_seq.is_some() || r.doomed {
                    continue;
                }
                let dangerous = r.in_conflicts.iter().any(|far| {
                    *far == txn
                        || self.xacts.get(far).is_some_and(|f| {
                            f.commit_seq.is_none() && f.prepare_seq.is_none() && !f.read_only && !f.doomed
                        })
                });
                if dangerous {
                    doom.push(*near);
                }
            }
        }
        for near in doom {
            if let Some(r) = self.xacts.get_mut(&near) {
                r.doomed = true;
            }
        }
        self.seq += 1;
        let seq = self.seq;
        if let Some(me) = self.xacts.get_mut(&txn) {
            me.prepare_seq = Some(seq);
        }
        Ok(())
    }

    /// `txn` committed: keep what later checks need, and forget what no running
    /// transaction can meet any more.
    pub fn committed(&mut self, txn: TxnId) {
        self.seq += 1;
        let seq = self.seq;
        if let Some(me) = self.xacts.get_mut(&txn) {
            me.commit_seq = Some(seq);
            me.prepare_seq.get_or_insert(seq);
        }
        self.clean_up();
    }

    /// `txn` aborted: it never happened, nor did its edges.
    pub fn aborted(&mut self, txn: TxnId) {
        self.forget(txn);
        self.clean_up();
    }

    fn forget(&mut self, txn: TxnId) {
        let Some(x) = self.xacts.remove(&txn) else { return };
        for sub in &x.subxacts {
            self.parents.remove(sub);
        }
        for p in x.locks {
            if let Some(holders) = self.locks.get_mut(&p) {
                holders.retain(|h| *h != txn);
                if holders.is_empty() {
                    self.locks.remove(&p);
                }
            }
        }
        for r in x.in_conflicts {
            if let Some(r) = self.xacts.get_mut(&r) {
                r.out_conflicts.remove(&txn);
            }
        }
        for w in x.out_conflicts {
            if let Some(w) = self.xacts.get_mut(&w) {
                w.in_conflicts.remove(&txn);
            }
        }
    }

    /// Drops committed transactions that every running one began after: no new edge can
    /// reach them (they are visible to every snapshot), so they cannot complete a structure.
    fn clean_up(&mut self) {
        let oldest = self.xacts.values().filter(|x| x.commit_seq.is_none()).map(|x| x.snapshot_seq).min();
        let done: Vec<TxnId> = self
            .xacts
            .iter()
            .filter(|(_, x)| x.commit_seq.is_some_and(|c| oldest.is_none_or(|o| c <= o)))
            .map(|(id, _)| *id)
            .collect();
        for id in done {
            self.forget(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REL: Predicate = Predicate::Relation(FileId(5));

    fn t(n: u64) -> TxnId {
        TxnId(n)
    }

    #[test]
    fn write_skew_dooms_the_second_committer() {
        // G2-item: both read, each writes what the other read.
        let mut s = SsiState::new();
        s.register(t(1), false);
        s.register(t(2), false);
        s.lock(t(1), REL.clone());
        s.lock(t(2), REL.clone());
        s.conflict_in(t(1), std::slice::from_ref(&REL), |_| true).unwrap();
        s.conflict_in(t(2), std::slice::from_ref(&REL), |_| true).unwrap();
        s.pre_commit(t(1)).unwrap();
        s.committed(t(1));
        let err = s.pre_commit(t(2)).unwrap_err();
        assert_eq!(err.sqlstate(), SqlState::SerializationFailure);
        s.aborted(t(2));
        assert_eq!(s.tracked(), 0, "nothing is kept once no transaction runs");
        assert_eq!(s.lock_count(), 0);
    }

    #[test]
    fn one_antidependency_alone_commits() {
        let mut s = SsiState::new();
        s.register(t(1), false);
        s.register(t(2), false);
        s.lock(t(1), REL.clone());
        s.conflict_in(t(2), std::slice::from_ref(&REL), |_| true).unwrap();
        s.pre_commit(t(2)).unwrap();
        s.committed(t(2));
        s.pre_commit(t(1)).unwrap();
        s.committed(t(1));
    }

    #[test]
    fn the_read_only_anomaly_fails_the_pivot_at_its_write() {
        // G2-fekete: T1 reads; T2 writes what T1 read and commits; T3 sees T2's write, reads
        // what T1 will write, commits; T1's write completes T3 →rw T1 →rw T2, T2 first.
        let mut s = SsiState::new();
        s.register(t(1), false);
        s.lock(t(1), REL.clone());
        s.register(t(2), false);
        s.conflict_in(t(2), std::slice::from_ref(&REL), |_| true).unwrap();
        s.pre_commit(t(2)).unwrap();
        s.committed(t(2));
        s.register(t(3), false);
        s.lock(t(3), REL.clone());
        s.pre_commit(t(3)).unwrap();
        s.committed(t(3));
        let err = s.conflict_in(t(1), std::slice::from_ref(&REL), |_| true).unwrap_err();
        assert!(err.detail().unwrap().contains("during write"), "{err:?}");
    }

    #[test]
    fn a_reader_that_committed_before_the_writer_began_is_no_conflict() {
        let mut s = SsiState::new();
        s.register(t(1), false);
        s.lock(t(1), REL.clone());
        s.register(t(9), false); // keeps t1's locks alive after its commit
        s.pre_commit(t(1)).unwrap();
        s.committed(t(1));
        s.register(t(2), false);
        s.conflict_in(t(2), std::slice::from_ref(&REL), |r| r != t(1)).unwrap();
        s.pre_commit(t(2)).unwrap();
        s.committed(t(2));
    }
}
