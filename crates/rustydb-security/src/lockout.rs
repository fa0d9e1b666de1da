//! Login throttling and temporary lockout.
//!
//! Each failed password (wire, REST, embedded) is counted against the role name it tried —
//! whether or not such a role exists, so the answers never tell an attacker which names are
//! real. A failure is answered only after a pause that doubles with each failure in a row
//! (`auth_failure_delay_ms`, at most 2 s), which slows guessing over one connection; after
//! `auth_failure_limit` failures in a row the name is locked for `auth_lockout_s`, which stops
//! guessing over many. While locked, every login attempt for the name fails at once with
//! 28000 — even with the right password — and does not extend the lock. A success clears the
//! count. Failures older than the lockout period are forgotten.
//!
//! The table is in memory: a restart forgets it, which only gives an attacker one more round
//! of `auth_failure_limit` guesses per restart. Its size is bounded (the oldest entries go
//! first) so a flood of made-up names cannot exhaust memory.

use parking_lot::Mutex;
use rustydb_foundation::{DbError, Result, SqlState};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Names tracked at most; past it the stalest entries are dropped.
const MAX_TRACKED: usize = 10_000;

/// The longest pause before answering a failed login.
const MAX_DELAY: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
    locked_until: Option<Instant>,
}

/// Failed-login bookkeeping per role name.
#[derive(Debug)]
pub struct LoginThrottle {
    limit: u32,
    lockout: Duration,
    delay: Duration,
    failures: Mutex<HashMap<String, Failures>>,
}

impl LoginThrottle {
    /// A throttle locking a name for `lockout` after `limit` failures in a row (0: never), and
    /// pausing `delay` (doubling per failure) before answering a failure.
    pub fn new(limit: u32, lockout: Duration, delay: Duration) -> Self {
        LoginThrottle { limit, lockout, delay, failures: Mutex::new(HashMap::new()) }
    }

    /// 28000 if `user` is locked out now.
    pub fn check(&self, user: &str) -> Result<()> {
        let now = Instant::now();
        let failures = self.failures.lock();
        match failures.get(user).and_then(|f| f.locked_until) {
            Some(until) if until > now => Err(DbError::sql(
                SqlState::InvalidAuthorization,
                format!("role \"{user}\" is locked after too many failed login attempts; try again later"),
            )),
            _ => Ok(()),
        }
    }

    /// Counts a failed login for `user`; returns how long to pause before answering it, and
    /// whether this failure locked the name.
    pub fn failed(&self, user: &str) -> (Duration, bool) {
        let now = Instant::now();
        let mut failures = self.failures.lock();
        if failures.len() >= MAX_TRACKED && !failures.contains_key(user) {
            let lockout = self.lockout;
            failures.retain(|_, f| now.duration_since(f.last) < lockout);
            if failures.len() >= MAX_TRACKED
                && let Some(stalest) = failures.iter().min_by_key(|(_, f)| f.last).map(|(k, _)| k.clone())
            {
                failures.remove(&stalest);
            }
        }
        let entry = failures.entry(user.to_string()).or_insert(Failures { count: 0, last: now, locked_until: None });
        if now.duration_since(entry.last) >= self.lockout || entry.locked_until.is_some_and(|u| u <= now) {
            *entry = Failures { count: 0, last: now, locked_until: None };
        }
        entry.count += 1;
        entry.last = now;
        let locked = self.limit > 0 && entry.count >= self.limit && entry.locked_until.is_none();
        if locked {
            entry.locked_until = Some(now + self.lockout);
        }
        let doublings = entry.count.saturating_sub(1).min(16);
        (self.delay.saturating_mul(1 << doublings).min(MAX_DELAY), locked)
    }

    /// A successful login: `user`'s count starts again.
    pub fn succeeded(&self, user: &str) {
        self.failures.lock().remove(user);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_after_the_limit_and_pauses_longer_each_time() {
        let t = LoginThrottle::new(3, Duration::from_millis(200), Duration::from_millis(10));
        assert!(t.check("alice").is_ok());
        assert_eq!(t.failed("alice"), (Duration::from_millis(10), false));
        assert_eq!(t.failed("alice"), (Duration::from_millis(20), false));
        assert!(t.check("alice").is_ok());
        assert_eq!(t.failed("alice"), (Duration::from_millis(40), true));
        assert_eq!(t.check("alice").unwrap_err().sqlstate().code(), "28000");
        // Another name is not affected; an unknown one is tracked the same way.
        assert!(t.check("bob").is_ok());
        std::thread::sleep(Duration::from_millis(250));
        assert!(t.check("alice").is_ok(), "the lock expires");
        assert_eq!(t.failed("alice").0, Duration::from_millis(10), "and the count starts again");
        t.succeeded("alice");
        assert_eq!(t.failed("alice").0, Duration::from_millis(10));
    }

    #[test]
    fn a_zero_limit_never_locks_and_the_table_stays_bounded() {
        let t = LoginThrottle::new(0, Duration::from_secs(60), Duration::ZERO);
        for _ in 0..20 {
            assert_eq!(t.failed("x"), (Duration::ZERO, false));
        }
        assert!(t.check("x").is_ok());
        for i in 0..(MAX_TRACKED + 10) {
            t.failed(&format!("name{i}"));
        }
        assert!(t.failures.lock().len() <= MAX_TRACKED);
    }
}
