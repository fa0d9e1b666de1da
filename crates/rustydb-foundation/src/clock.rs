//! Time, as the layers read it: a [`Clock`] is injected wherever a decision depends on how long
//! something took (lock timeouts, deadlock detection), so that tests decide when time passes
//! instead of sleeping and hoping the machine keeps up.
//!
//! [`SystemClock`] is the real monotonic clock. [`ManualClock`] stands still until a test
//! [`advances`](ManualClock::advance) it; code waiting for a deadline on it wakes every
//! millisecond of real time to look at it again ([`Clock::wake_by`]), so an advance takes
//! effect at once and nothing else makes a deadline pass.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A monotonic clock.
pub trait Clock: Send + Sync + fmt::Debug {
    /// Now.
    fn now(&self) -> Instant;

    /// The real instant by which a thread waiting for `deadline` (on this clock) must wake to
    /// look at the clock again: the deadline itself for the real clock.
    fn wake_by(&self, deadline: Instant) -> Instant;
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn wake_by(&self, deadline: Instant) -> Instant {
        deadline
    }
}

/// A clock that moves only when told to (tests).
#[derive(Debug)]
pub struct ManualClock {
    origin: Instant,
    /// Nanoseconds advanced since `origin`.
    elapsed: AtomicU64,
}

/// How often a waiter on a [`ManualClock`] looks at it.
const MANUAL_POLL: Duration = Duration::from_millis(1);

impl ManualClock {
    /// A clock standing at an arbitrary instant.
    pub fn new() -> Self {
        ManualClock { origin: Instant::now(), elapsed: AtomicU64::new(0) }
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let nanos = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        self.elapsed.fetch_add(nanos, Ordering::AcqRel);
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        self.origin + Duration::from_nanos(self.elapsed.load(Ordering::Acquire))
    }

    fn wake_by(&self, _deadline: Instant) -> Instant {
        Instant::now() + MANUAL_POLL
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_advanced() {
        let clock = ManualClock::new();
        let start = clock.now();
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(clock.now(), start, "real time does not move it");
        clock.advance(Duration::from_secs(3));
        assert_eq!(clock.now() - start, Duration::from_secs(3));
        assert!(clock.wake_by(start + Duration::from_secs(100)) <= Instant::now() + MANUAL_POLL);
        let real = SystemClock;
        let deadline = real.now() + Duration::from_secs(1);
        assert_eq!(real.wake_by(deadline), deadline);
    }
}
