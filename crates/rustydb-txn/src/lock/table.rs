//! The lock table: who holds which lock, who waits for which, and the wait-for graph. A pure
//! state machine — no threads, no clock — so that every grant, queue and deadlock decision can be
//! replayed exactly in a test. [`super::LockManager`] puts blocking and timeouts around it.
//!
//! ## Granting
//! A request is granted at once if it conflicts with no other transaction's granted modes and
//! (unless the requester already holds something on the target: an upgrade) with no mode
//! already waiting in the queue, so that a stream of readers cannot starve a writer. When locks
//! are released the queue is walked front to back and every request compatible with the holders
//! and with the requests still waiting ahead of it is granted.
//!
//! ## Deadlocks
//! A waiting transaction waits for every other holder whose granted modes conflict with its
//! request, and for every request ahead of it in the queue that conflicts with it (those will be
//! granted first). [`LockTable::deadlock_cycle`] follows these edges from one waiter.

use super::LockTarget;
use super::mode::{LockMode, ModeSet};
use rustydb_foundation::TxnId;
use std::collections::{HashMap, HashSet, VecDeque};

/// The outcome of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acquire {
    /// Granted (or already held).
    Granted,
    /// Queued: the requester must wait until [`LockTable::is_waiting`] turns false.
    Wait,
}

#[derive(Debug, Default)]
struct TargetState {
    granted: Vec<(TxnId, ModeSet)>,
    queue: VecDeque<(TxnId, LockMode)>,
}

impl TargetState {
    fn held_by(&self, txn: TxnId) -> ModeSet {
        self.granted.iter().find(|(t, _)| *t == txn).map(|(_, m)| *m).unwrap_or_default()
    }

    /// True if `mode` conflicts with what transactions other than `txn` hold.
    fn conflicts_with_others(&self, txn: TxnId, mode: LockMode) -> bool {
        self.granted.iter().any(|(t, m)| *t != txn && m.conflicts_with(mode))
    }

    fn grant(&mut self, txn: TxnId, mode: LockMode) -> bool {
        match self.granted.iter_mut().find(|(t, _)| *t == txn) {
            Some((_, held)) => {
                held.insert(mode);
                false
            }
            None => {
                let mut set = ModeSet::default();
                set.insert(mode);
                self.granted.push((txn, set));
                true
            }
        }
    }
}

#[derive(Debug, Default)]
struct TxnState {
    held: Vec<LockTarget>,
    waiting: Option<(LockTarget, LockMode)>,
}

/// Every lock held or waited for.
#[derive(Debug, Default)]
pub struct LockTable {
    targets: HashMap<LockTarget, TargetState>,
    txns: HashMap<TxnId, TxnState>,
}

impl LockTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Requests `mode` on `target` for `txn`. On [`Acquire::Wait`] the request is queued; it is
    /// granted by a later release, or withdrawn by [`LockTable::cancel_wait`].
    ///
    /// # Panics
    /// If `txn` is already waiting (a transaction waits for one thing at a time).
    pub fn acquire(&mut self, txn: TxnId, target: LockTarget, mode: LockMode) -> Acquire {
        assert!(self.waiting_for(txn).is_none(), "{txn} requested a lock while waiting for another");
        if self.try_acquire(txn, target, mode) {
            return Acquire::Granted;
        }
        let state = self.targets.entry(target).or_default();
        let upgrade = state.held_by(txn) != ModeSet::default();
        // An upgrade goes ahead of the queue: behind a waiter that waits for this very holder it
        // would deadlock for nothing.
        if upgrade {
            state.queue.push_front((txn, mode));
        } else {
            state.queue.push_back((txn, mode));
        }
        self.txns.entry(txn).or_default().waiting = Some((target, mode));
        Acquire::Wait
    }

    /// Grants `mode` on `target` to `txn` if that needs no wait; never queues.
    pub fn try_acquire(&mut self, txn: TxnId, target: LockTarget, mode: LockMode) -> bool {
        let state = self.targets.entry(target).or_default();
        let held = state.held_by(txn);
        if held.contains(mode) {
            return true;
        }
        let queue_conflict = held == ModeSet::default() && state.queue.iter().any(|(_, m)| m.conflicts_with(mode));
        if state.conflicts_with_others(txn, mode) || queue_conflict {
            if state.granted.is_empty() && state.queue.is_empty() {
                self.targets.remove(&target);
            }
            return false;
        }
        if state.grant(txn, mode) {
            self.txns.entry(txn).or_default().held.push(target);
        }
        true
    }

    /// What `txn` waits for, if anything.
    pub fn waiting_for(&self, txn: TxnId) -> Option<(LockTarget, LockMode)> {
        self.txns.get(&txn).and_then(|t| t.waiting)
    }

    /// True if `txn` has a queued request.
    pub fn is_waiting(&self, txn: TxnId) -> bool {
        self.waiting_for(txn).is_some()
    }

    /// Withdraws `txn`'s queued request (a timeout, NOWAIT, or a deadlock victim). Returns the
    /// transactions whose requests this unblocked.
    pub fn cancel_wait(&mut self, txn: TxnId) -> Vec<TxnId> {
        let Some((target, _)) = self.txns.get_mut(&txn).and_then(|t| t.waiting.take()) else {
            return Vec::new();
        };
        if let Some(state) = self.targets.get_mut(&target) {
            state.queue.retain(|(t, _)| *t != txn);
        }
        self.drop_if_idle(txn);
        self.wake(target)
    }

    /// Releases everything `txn` holds and withdraws what it waits for (the transaction ended).
    /// Returns the transactions granted a lock as a result.
    pub fn release_all(&mut self, txn: TxnId) -> Vec<TxnId> {
        let mut woken = self.cancel_wait(txn);
        let Some(state) = self.txns.remove(&txn) else { return woken };
        for target in state.held {
            if let Some(t) = self.targets.get_mut(&target) {
                t.granted.retain(|(holder, _)| *holder != txn);
            }
            woken.extend(self.wake(target));
        }
        woken
    }

    /// Releases what `txn` holds on `target` alone (a lock held for a moment, not to the end).
    pub fn release(&mut self, txn: TxnId, target: LockTarget) -> Vec<TxnId> {
        let Some(state) = self.targets.get_mut(&target) else { return Vec::new() };
        state.granted.retain(|(holder, _)| *holder != txn);
        if let Some(t) = self.txns.get_mut(&txn) {
            t.held.retain(|held| *held != target);
        }
        self.drop_if_idle(txn);
        self.wake(target)
    }

    /// The transactions other than `txn` whose granted locks on `target` conflict with `mode`.
    pub fn conflicting_holders(&self, txn: TxnId, target: LockTarget, mode: LockMode) -> Vec<TxnId> {
        let Some(state) = self.targets.get(&target) else { return Vec::new() };
        state.granted.iter().filter(|(t, m)| *t != txn && m.conflicts_with(mode)).map(|(t, _)| *t).collect()
    }

    /// The transactions `txn` waits for: conflicting holders, and conflicting requests ahead of
    /// it in the queue. Empty if it is not waiting.
    pub fn blockers(&self, txn: TxnId) -> Vec<TxnId> {
        let Some((target, mode)) = self.waiting_for(txn) else { return Vec::new() };
        let Some(state) = self.targets.get(&target) else { return Vec::new() };
        let mut out: Vec<TxnId> =
            state.granted.iter().filter(|(t, m)| *t != txn && m.conflicts_with(mode)).map(|(t, _)| *t).collect();
        // An upgrade waits only for holders (see `wake`), never for the queue.
        let upgrade = state.held_by(txn) != ModeSet::default();
        for (t, m) in state.queue.iter().filter(|_| !upgrade) {
            if *t == txn {
                break;
            }
            if m.conflicts_with(mode) && !out.contains(t) {
                out.push(*t);
            }
        }
        out
    }

    /// A cycle of waits through `start`, as the transactions on it (`start` first), if there is
    /// one.
    pub fn deadlock_cycle(&self, start: TxnId) -> Option<Vec<TxnId>> {
        // Depth-first search keeping the current path; a cycle not through `start` is someone
        // else's to find (its last member to wait runs the same search).
        let mut path = vec![start];
        let mut stack = vec![self.blockers(start)];
        let mut visited = HashSet::from([start]);
        while let Some(next) = stack.last_mut() {
            match next.pop() {
                None => {
                    stack.pop();
                    path.pop();
                }
                Some(t) if t == start => return Some(path),
                Some(t) => {
                    if visited.insert(t) {
                        path.push(t);
                        stack.push(self.blockers(t));
                    }
                }
            }
        }
        None
    }

    /// Number of targets with a holder or a waiter (for tests and metrics).
    pub fn target_count(&self) -> usize {
        self.targets.len()
    }

    /// What `txn` holds on `target`.
    pub fn held(&self, txn: TxnId, target: LockTarget) -> Vec<LockMode> {
        let held = self.targets.get(&target).map(|s| s.held_by(txn)).unwrap_or_default();
        LockMode::ALL.into_iter().filter(|m| held.contains(*m)).collect()
    }

    fn drop_if_idle(&mut self, txn: TxnId) {
        if self.txns.get(&txn).is_some_and(|t| t.held.is_empty() && t.waiting.is_none()) {
            self.txns.remove(&txn);
        }
    }

    /// Grants what the queue of `target` now allows, front to back.
    fn wake(&mut self, target: LockTarget) -> Vec<TxnId> {
        let Some(state) = self.targets.get_mut(&target) else { return Vec::new() };
        let mut woken = Vec::new();
        let mut ahead = ModeSet::default();
        let mut still = VecDeque::with_capacity(state.queue.len());
        while let Some((txn, mode)) = state.queue.pop_front() {
            let upgrade = state.held_by(txn) != ModeSet::default();
            let blocked = state.conflicts_with_others(txn, mode) || (!upgrade && ahead.conflicts_with(mode));
            if blocked {
                ahead.insert(mode);
                still.push_back((txn, mode));
                continue;
            }
            let new = state.grant(txn, mode);
            let t = self.txns.entry(txn).or_default();
            t.waiting = None;
            if new {
                t.held.push(target);
            }
            woken.push(txn);
        }
        state.queue = still;
        if state.granted.is_empty() && state.queue.is_empty() {
            self.targets.remove(&target);
        }
        woken
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustydb_foundation::FileId;

    const T: LockTarget = LockTarget::Relation(FileId(7));

    fn x(n: u64) -> TxnId {
        TxnId(n)
    }

    #[test]
    fn compatible_modes_share_and_conflicting_ones_queue_in_order() {
        let mut t = LockTable::new();
        assert_eq!(t.acquire(x(1), T, LockMode::AccessShare), Acquire::Granted);
        assert_eq!(t.acquire(x(2), T, LockMode::RowExclusive), Acquire::Granted);
        assert_eq!(t.acquire(x(3), T, LockMode::AccessExclusive), Acquire::Wait);
        // A reader arriving after the queued writer waits behind it (no starvation).
        assert_eq!(t.acquire(x(4), T, LockMode::AccessShare), Acquire::Wait);
        assert_eq!(t.blockers(x(3)), vec![x(1), x(2)]);
        assert_eq!(t.blockers(x(4)), vec![x(3)]);
        assert!(t.release_all(x(1)).is_empty());
        assert_eq!(t.release_all(x(2)), vec![x(3)]);
        assert!(!t.is_waiting(x(3)));
        assert!(t.is_waiting(x(4)));
        assert_eq!(t.release_all(x(3)), vec![x(4)]);
        t.release_all(x(4));
        assert_eq!(t.target_count(), 0, "released targets are forgotten");
    }

    #[test]
    fn an_upgrade_goes_before_the_queue_and_a_holder_reacquires_freely() {
        let mut t = LockTable::new();
        assert_eq!(t.acquire(x(1), T, LockMode::Share), Acquire::Granted);
        assert_eq!(t.acquire(x(2), T, LockMode::Share), Acquire::Granted);
        assert_eq!(t.acquire(x(3), T, LockMode::Exclusive), Acquire::Wait);
        assert_eq!(t.acquire(x(1), T, LockMode::Share), Acquire::Granted);
        assert_eq!(t.acquire(x(1), T, LockMode::Exclusive), Acquire::Wait);
        assert_eq!(t.blockers(x(1)), vec![x(2)], "the upgrade waits for the other holder only");
        assert_eq!(t.release_all(x(2)), vec![x(1)]);
        assert_eq!(t.held(x(1), T), vec![LockMode::Share, LockMode::Exclusive]);
        assert!(t.is_waiting(x(3)));
    }

    #[test]
    fn a_cycle_of_waits_is_found_from_any_member_and_cancelling_breaks_it() {
        let a = LockTarget::Transaction(x(1));
        let b = LockTarget::Transaction(x(2));
        let mut t = LockTable::new();
        t.acquire(x(1), a, LockMode::Exclusive);
        t.acquire(x(2), b, LockMode::Exclusive);
        assert_eq!(t.acquire(x(1), b, LockMode::Share), Acquire::Wait);
        assert_eq!(t.deadlock_cycle(x(1)), None);
        assert_eq!(t.acquire(x(2), a, LockMode::Share), Acquire::Wait);
        assert_eq!(t.deadlock_cycle(x(1)), Some(vec![x(1), x(2)]));
        assert_eq!(t.deadlock_cycle(x(2)), Some(vec![x(2), x(1)]));
        // A third transaction waiting on the cycle is not part of it.
        t.acquire(x(3), a, LockMode::Share);
        assert_eq!(t.deadlock_cycle(x(3)), None);
        t.cancel_wait(x(2));
        assert_eq!(t.deadlock_cycle(x(1)), None);
        assert_eq!(t.release_all(x(2)), vec![x(1)]);
    }

    #[test]
    fn try_acquire_never_queues() {
        let mut t = LockTable::new();
        assert!(t.try_acquire(x(1), T, LockMode::Exclusive));
        assert!(!t.try_acquire(x(2), T, LockMode::RowShare));
        assert!(!t.is_waiting(x(2)));
        assert!(t.try_acquire(x(2), T, LockMode::AccessShare));
        assert_eq!(t.conflicting_holders(x(3), T, LockMode::RowShare), vec![x(1)]);
    }
}
