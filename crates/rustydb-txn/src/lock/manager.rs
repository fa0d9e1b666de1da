//! Blocking on the lock table: waits, timeouts, and deadlock detection.

use super::table::{Acquire, LockTable};
use super::{LockMode, LockTarget};
use parking_lot::{Condvar, Mutex};
use rustydb_foundation::metric_names::{DEADLOCKS, LOCK_WAIT_SECONDS, LOCK_WAITS};
use rustydb_foundation::{Clock, DbError, Result, SqlState, SystemClock, TxnId};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

/// What to do when a lock is not free.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitPolicy {
    /// Wait (subject to the timeouts).
    Block,
    /// Fail at once with 55P03 (`NOWAIT`).
    NoWait,
    /// Report that the lock was not taken (`SKIP LOCKED`).
    Skip,
}

/// The session's settings for waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockWait {
    /// Give up (55P03) after this long; `None` waits for ever (PostgreSQL's `lock_timeout = 0`).
    pub lock_timeout: Option<Duration>,
    /// Look for a deadlock after waiting this long.
    pub deadlock_timeout: Duration,
}

impl Default for LockWait {
    fn default() -> Self {
        LockWait { lock_timeout: None, deadlock_timeout: Duration::from_secs(1) }
    }
}

#[derive(Debug, Default)]
struct State {
    table: LockTable,
    /// Transactions chosen to break a deadlock, told so when they next wake.
    victims: HashSet<TxnId>,
}

/// The lock table behind a mutex, with a condition variable its waiters sleep on.
#[derive(Debug)]
pub struct LockManager {
    state: Mutex<State>,
    wakeup: Condvar,
    /// What `lock_timeout` and `deadlock_timeout` are measured on.
    clock: Arc<dyn Clock>,
}

impl Default for LockManager {
    fn default() -> Self {
        Self::new()
    }
}

impl LockManager {
    /// A manager with no locks, timing waits on the real clock.
    pub fn new() -> Self {
        Self::with_clock(Arc::new(SystemClock))
    }

    /// A manager with no locks, timing waits on `clock` (tests pass a
    /// [`ManualClock`](rustydb_foundation::ManualClock) and decide when time passes).
    pub fn with_clock(clock: Arc<dyn Clock>) -> Self {
        LockManager { state: Mutex::new(State::default()), wakeup: Condvar::new(), clock }
    }

    /// Takes `mode` on `target` for `txn`, waiting as `policy` and `wait` allow. Returns `false`
    /// only under [`WaitPolicy::Skip`] when the lock was not free.
    ///
    /// Errors: 55P03 (NOWAIT, or `lock_timeout` passed) and 40P01 (this transaction was chosen
    /// to break a deadlock). In both cases it holds nothing new.
    pub fn lock(
        &self,
        txn: TxnId,
        target: LockTarget,
        mode: LockMode,
        policy: WaitPolicy,
        wait: LockWait,
    ) -> Result<bool> {
        let mut state = self.state.lock();
        if state.table.acquire(txn, target, mode) == Acquire::Granted {
            return Ok(true);
        }
        if policy != WaitPolicy::Block {
            self.cancel(&mut state, txn);
            return match policy {
                WaitPolicy::Skip => Ok(false),
                _ => Err(DbError::sql(SqlState::LockNotAvailable, format!("could not obtain lock on {target}"))),
            };
        }
        let started = self.clock.now();
        let _timer = WaitTimer::start();
        let give_up = wait.lock_timeout.map(|t| started + t);
        let mut look_for_deadlock = Some(started + wait.deadlock_timeout);
        loop {
            // Granted first: a victim whose request was granted before it woke has already been
            // let through (the cycle is gone), and failing it would leave it holding the lock.
            if !state.table.is_waiting(txn) {
                state.victims.remove(&txn);
                return Ok(true);
            }
            if state.victims.remove(&txn) {
                self.cancel(&mut state, txn);
                return Err(deadlock(txn, target, mode, None));
            }
            let now = self.clock.now();
            if give_up.is_some_and(|at| now >= at) {
                self.cancel(&mut state, txn);
                return Err(DbError::sql(SqlState::LockNotAvailable, "canceling statement due to lock timeout"));
            }
            if let Some(at) = look_for_deadlock
                && now >= at
            {
                look_for_deadlock = None;
                if let Some(cycle) = state.table.deadlock_cycle(txn) {
                    let victim = cycle.iter().copied().max().unwrap_or(txn);
                    tracing::info!(?cycle, %victim, "deadlock detected");
                    if victim == txn {
                        self.cancel(&mut state, txn);
                        return Err(deadlock(txn, target, mode, cycle.get(1).copied()));
                    }
                    state.victims.insert(victim);
                    self.wakeup.notify_all();
                }
            }
            let deadline = [give_up, look_for_deadlock].into_iter().flatten().min();
            match deadline {
                Some(at) => {
                    self.wakeup.wait_until(&mut state, self.clock.wake_by(at));
                }
                None => self.wakeup.wait(&mut state),
            }
        }
    }

    /// Takes the lock only if it is free now; never waits, never queues.
    pub fn try_lock(&self, txn: TxnId, target: LockTarget, mode: LockMode) -> bool {
        self.state.lock().table.try_acquire(txn, target, mode)
    }

    /// Transactions other than `txn` holding a lock on `target` that conflicts with `mode`.
    pub fn conflicting_holders(&self, txn: TxnId, target: LockTarget, mode: LockMode) -> Vec<TxnId> {
        self.state.lock().table.conflicting_holders(txn, target, mode)
    }

    /// Releases one lock before the transaction ends.
    pub fn release(&self, txn: TxnId, target: LockTarget) {
        let mut state = self.state.lock();
        if !state.table.release(txn, target).is_empty() {
            self.wakeup.notify_all();
        }
    }

    /// Releases every lock of `txn` (it committed or aborted).
    pub fn release_all(&self, txn: TxnId) {
        let mut state = self.state.lock();
        state.victims.remove(&txn);
        if !state.table.release_all(txn).is_empty() {
            self.wakeup.notify_all();
        }
    }

    /// What `txn` holds on `target` (for tests and diagnostics).
    pub fn held(&self, txn: TxnId, target: LockTarget) -> Vec<LockMode> {
        self.state.lock().table.held(txn, target)
    }

    fn cancel(&self, state: &mut State, txn: TxnId) {
        if !state.table.cancel_wait(txn).is_empty() {
            self.wakeup.notify_all();
        }
    }
}

/// Counts a lock wait and records how long it took when the wait ends, whichever way.
struct WaitTimer(std::time::Instant);

impl WaitTimer {
    fn start() -> Self {
        metrics::counter!(LOCK_WAITS).increment(1);
        WaitTimer(std::time::Instant::now())
    }
}

impl Drop for WaitTimer {
    fn drop(&mut self) {
        metrics::histogram!(LOCK_WAIT_SECONDS).record(self.0.elapsed().as_secs_f64());
    }
}

fn deadlock(txn: TxnId, target: LockTarget, mode: LockMode, blocker: Option<TxnId>) -> DbError {
    metrics::counter!(DEADLOCKS).increment(1);
    let by = blocker.map(|b| format!("; blocked by transaction {b}")).unwrap_or_default();
    DbError::sql(SqlState::DeadlockDetected, "deadlock detected")
        .with_detail(format!("Transaction {txn} waits for {mode} on {target}{by}."))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustydb_foundation::{FileId, ManualClock};

    /// The result of `thread`, which must end within half a second of real time: a wait timed
    /// on the real clock instead of the test's would take its whole timeout.
    fn ends_soon<T>(thread: std::thread::JoinHandle<T>) -> T {
        let deadline = std::time::Instant::now() + Duration::from_millis(500);
        while !thread.is_finished() {
            assert!(std::time::Instant::now() < deadline, "the wait did not end when its clock said so");
            std::thread::sleep(Duration::from_millis(1));
        }
        thread.join().unwrap()
    }

    fn quick() -> LockWait {
        LockWait { lock_timeout: None, deadlock_timeout: Duration::from_millis(50) }
    }

    #[test]
    fn a_waiter_wakes_when_the_holder_releases() {
        let m = Arc::new(LockManager::new());
        let t = LockTarget::Relation(FileId(1));
        assert!(m.lock(TxnId(1), t, LockMode::X, WaitPolicy::Block, quick()).unwrap());
        let m2 = m.clone();
        let waiter = std::thread::spawn(move || m2.lock(TxnId(2), t, LockMode::S, WaitPolicy::Block, quick()));
        std::thread::sleep(Duration::from_millis(100));
        assert!(!waiter.is_finished(), "the waiter did not wait");
        m.release_all(TxnId(1));
        assert!(waiter.join().unwrap().unwrap());
        assert_eq!(m.held(TxnId(2), t), vec![LockMode::S]);
    }

    #[test]
    fn nowait_skip_and_lock_timeout_on_the_clock_the_manager_was_given() {
        let clock = Arc::new(ManualClock::new());
        let m = Arc::new(LockManager::with_clock(clock.clone()));
        let t = LockTarget::Relation(FileId(1));
        m.lock(TxnId(1), t, LockMode::X, WaitPolicy::Block, quick()).unwrap();
        let err = m.lock(TxnId(2), t, LockMode::S, WaitPolicy::NoWait, quick()).unwrap_err();
        assert_eq!(err.sqlstate(), SqlState::LockNotAvailable);
        assert!(!m.lock(TxnId(2), t, LockMode::S, WaitPolicy::Skip, quick()).unwrap());
        let wait = LockWait { lock_timeout: Some(Duration::from_secs(10)), deadlock_timeout: Duration::from_secs(60) };
        let m2 = m.clone();
        let waiter = std::thread::spawn(move || m2.lock(TxnId(2), t, LockMode::S, WaitPolicy::Block, wait));
        std::thread::sleep(Duration::from_millis(30));
        clock.advance(Duration::from_millis(9_999));
        std::thread::sleep(Duration::from_millis(30));
        assert!(!waiter.is_finished(), "timed out before its lock_timeout had passed on its clock");
        clock.advance(Duration::from_millis(1));
        let err = ends_soon(waiter).unwrap_err();
        assert_eq!(err.sqlstate(), SqlState::LockNotAvailable);
        assert!(m.held(TxnId(2), t).is_empty());
    }

    #[test]
    fn a_deadlock_is_looked_for_after_deadlock_timeout_and_aborts_the_youngest() {
        let clock = Arc::new(ManualClock::new());
        let m = Arc::new(LockManager::with_clock(clock.clone()));
        let wait = LockWait { lock_timeout: None, deadlock_timeout: Duration::from_secs(1) };
        let (a, b) = (LockTarget::Transaction(TxnId(1)), LockTarget::Transaction(TxnId(2)));
        m.lock(TxnId(1), a, LockMode::X, WaitPolicy::Block, wait).unwrap();
        m.lock(TxnId(2), b, LockMode::X, WaitPolicy::Block, wait).unwrap();
        let m1 = m.clone();
        let older = std::thread::spawn(move || {
            let r = m1.lock(TxnId(1), b, LockMode::S, WaitPolicy::Block, wait);
            m1.release_all(TxnId(1));
            r
        });
        std::thread::sleep(Duration::from_millis(20));
        // The younger closes the cycle; nobody looks for it before deadlock_timeout passes.
        let m2 = m.clone();
        let younger = std::thread::spawn(move || {
            let r = m2.lock(TxnId(2), a, LockMode::S, WaitPolicy::Block, wait);
            m2.release_all(TxnId(2));
            r
        });
        std::thread::sleep(Duration::from_millis(30));
        assert!(!older.is_finished() && !younger.is_finished(), "the cycle was broken before deadlock_timeout");
        clock.advance(Duration::from_secs(1));
        let err = ends_soon(younger).unwrap_err();
        assert_eq!(err.sqlstate(), SqlState::DeadlockDetected, "the youngest is the victim");
        assert!(ends_soon(older).unwrap(), "the older transaction did not get its lock");
    }
}
