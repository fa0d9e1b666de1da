//! Buffer-pool eviction policies behind one trait, chosen in configuration.
//!
//! | policy | keeps | resists large scans |
//! |---|---|---|
//! | [`Clock`] (default) | a reference bit per frame, second chance | no |
//! | [`Lru`] | frames in recency order | no |
//! | [`TwoQ`] | new pages in a FIFO (A1in), re-referenced ones in an LRU (Am), recent evictions as ghosts (A1out) | yes |
//! | [`Arc`] | recency (T1) and frequency (T2) lists with ghosts (B1, B2) and an adaptive split | yes |
//!
//! The pool calls the policy under its table lock: [`EvictionPolicy::on_hit`] when a resident
//! page is pinned, [`EvictionPolicy::on_load`] when a page is read into a frame,
//! [`EvictionPolicy::victim`] to choose a frame to reuse (skipping pinned ones), and
//! [`EvictionPolicy::on_discard`] when a frame is emptied without eviction. Free frames are
//! handed out by the pool before a victim is asked for.

mod arc;
mod clock;
mod list;
mod lru;
mod two_q;

pub use arc::Arc;
pub use clock::Clock;
pub use lru::Lru;
pub use two_q::TwoQ;

use rustydb_foundation::PageId;
use std::fmt::Debug;

pub use rustydb_foundation::config::BufferPoolPolicy as PolicyKind;

/// A policy of `kind` for `capacity` frames.
pub fn build(kind: PolicyKind, capacity: usize) -> Box<dyn EvictionPolicy> {
    match kind {
        PolicyKind::Clock => Box::new(Clock::new(capacity)),
        PolicyKind::Lru => Box::new(Lru::new(capacity)),
        PolicyKind::TwoQ => Box::new(TwoQ::new(capacity)),
        PolicyKind::Arc => Box::new(Arc::new(capacity)),
    }
}

/// Chooses which resident page leaves the pool.
pub trait EvictionPolicy: Send + Debug {
    /// The page in `frame` was used again.
    fn on_hit(&mut self, frame: usize);
    /// `page` was just read into `frame`.
    fn on_load(&mut self, frame: usize, page: PageId);
    /// A frame to reuse for `incoming`, among those `evictable` allows (unpinned); `None` if
    /// every resident frame is pinned.
    fn victim(&mut self, incoming: PageId, evictable: &dyn Fn(usize) -> bool) -> Option<usize>;
    /// `frame` was emptied without eviction (its file was dropped).
    fn on_discard(&mut self, frame: usize);
}

/// Replays a trace of page accesses through a policy with `capacity` frames (nothing pinned)
/// and returns the hit ratio: how a policy is compared without any I/O.
pub fn simulate(kind: PolicyKind, capacity: usize, trace: &[PageId]) -> f64 {
    use std::collections::HashMap;
    let mut policy = build(kind, capacity);
    let mut resident: HashMap<PageId, usize> = HashMap::new();
    let mut owner: Vec<Option<PageId>> = vec![None; capacity];
    let mut hits = 0usize;
    for &page in trace {
        if let Some(&frame) = resident.get(&page) {
            hits += 1;
            policy.on_hit(frame);
            continue;
        }
        let frame = match owner.iter().position(Option::is_none) {
            Some(free) => free,
            None => match policy.victim(page, &|_| true) {
                Some(v) => v,
                None => continue,
            },
        };
        if let Some(old) = owner[frame].take() {
            resident.remove(&old);
        }
        owner[frame] = Some(page);
        resident.insert(page, frame);
        policy.on_load(frame, page);
    }
    if trace.is_empty() { 0.0 } else { hits as f64 / trace.len() as f64 }
}

/// A trace of OLTP traffic on a hot working set that keeps running while large one-pass scans
/// (reports) go through the pool: per round, hot accesses alone, then a scan whose every page
/// is interleaved with a hot access. It separates scan-resistant policies from LRU and CLOCK.
pub fn hot_set_with_scans_trace(hot_pages: u32, scan_pages: u32, rounds: u32) -> Vec<PageId> {
    use rustydb_foundation::FileId;
    let mut trace = Vec::new();
    let mut next_scan = 0u32;
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    let mut hot = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        PageId::new(FileId(1), (x % u64::from(hot_pages)) as u32)
    };
    for _ in 0..rounds {
        for _ in 0..hot_pages * 2 {
            trace.push(hot());
        }
        for _ in 0..scan_pages {
            trace.push(PageId::new(FileId(2), next_scan));
            next_scan += 1;
            trace.push(hot());
        }
    }
    trace
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustydb_foundation::FileId;

    fn page(n: u32) -> PageId {
        PageId::new(FileId(1), n)
    }

    #[test]
    fn scan_resistant_policies_beat_lru_and_clock_on_hot_set_plus_scans() {
        let trace = hot_set_with_scans_trace(60, 400, 30);
        let ratio = |k| simulate(k, 100, &trace);
        let (clock, lru, two_q, arc) =
            (ratio(PolicyKind::Clock), ratio(PolicyKind::Lru), ratio(PolicyKind::TwoQ), ratio(PolicyKind::Arc));
        assert!(two_q > lru.max(clock), "2Q {two_q:.3} vs LRU {lru:.3} CLOCK {clock:.3}");
        assert!(arc > lru.max(clock), "ARC {arc:.3} vs LRU {lru:.3} CLOCK {clock:.3}");
    }

    #[test]
    fn every_policy_keeps_a_working_set_that_fits() {
        let trace: Vec<PageId> = (0..5000).map(|i| page(i % 50)).collect();
        for kind in PolicyKind::ALL {
            let r = simulate(kind, 64, &trace);
            assert!(r > 0.98, "{kind:?}: {r}");
        }
    }

    #[test]
    fn victims_skip_pinned_frames_and_none_when_all_are_pinned() {
        for kind in PolicyKind::ALL {
            let mut p = build(kind, 4);
            for f in 0..4 {
                p.on_load(f, page(f as u32));
            }
            for _ in 0..10 {
                let v = p.victim(page(99), &|f| f == 2);
                assert_eq!(v, Some(2), "{kind:?}");
                p.on_load(2, page(100));
            }
            assert_eq!(p.victim(page(101), &|_| false), None, "{kind:?}");
        }
    }

    #[test]
    fn lru_evicts_the_least_recently_used() {
        let mut p = Lru::new(3);
        for f in 0..3 {
            p.on_load(f, page(f as u32));
        }
        p.on_hit(0);
        assert_eq!(p.victim(page(9), &|_| true), Some(1));
    }
}
