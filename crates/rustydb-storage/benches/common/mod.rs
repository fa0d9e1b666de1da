//! Helpers shared by the storage benchmarks.

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

/// Runs `work(thread, iterations)` on `threads` threads released together, splitting `iters`
/// between them, and returns the time from release until the last one finished.
pub fn timed_threads(threads: usize, iters: u64, work: impl Fn(usize, u64) + Send + Sync + 'static) -> Duration {
    let per_thread = iters.div_ceil(threads as u64);
    let work = Arc::new(work);
    let barrier = Arc::new(Barrier::new(threads + 1));
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let (work, barrier) = (work.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                work(t, per_thread);
            })
        })
        .collect();
    barrier.wait();
    let start = Instant::now();
    for w in workers {
        w.join().expect("a benchmark thread panicked");
    }
    start.elapsed()
}
