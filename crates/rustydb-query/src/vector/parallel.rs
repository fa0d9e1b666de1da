//! Parallel scans: the pages of a table shared among worker threads, each running the same
//! pipeline stages over its pages — probing a hash join built once, on the statement's thread,
//! and shared read-only — and its own consumer (a partial aggregate, say), while the
//! statement's thread does the same; the consumers' results then come together on the
//! statement's thread.
//!
//! **How many**: as PostgreSQL's `compute_parallel_worker` decides: no worker for a table
//! under 8 MB (`min_parallel_table_scan_size`, 1024 pages), one from there and one more each
//! time the table triples, at most `max_parallel_workers_per_gather`. Setting that to 0 turns
//! parallel scans off.
//!
//! **Sharing pages**: workers claim [`CHUNK_PAGES`] consecutive pages at a time from one
//! atomic counter, so pages are read once each and mostly in order, and a worker that falls
//! behind (a slower core, a page of wider rows) simply claims fewer chunks.
//!
//! **Reading**: every thread reads through the transaction manager with the statement's own
//! transaction and snapshot (`Transaction` is `Sync`), into a tuple arena of its own, so what
//! each sees is exactly what a serial scan sees. The statement's interrupt (cancel, timeout)
//! is checked before each batch on every thread.
//!
//! **How many at once**: at most [`MAX_PARALLEL_WORKERS`] worker threads run in the whole
//! server; a statement that finds them taken runs with fewer, or on its own thread alone.
//!
//! **Giving up**: a consumer may give up (return `None`), and then every thread stops at its
//! next batch and [`run`] returns `None`: the caller runs the plan serially instead, which it
//! can because the serial pipeline has not been read.

use super::batch::ColumnBatch;
use super::join::{Pending, Probe};
use super::scan::{ColumnScan, PageSource};
use super::{Stage, apply_stages};
use crate::context::ExecContext;
use crate::interrupt::Interrupt;
use rustydb_foundation::metric_names::PARALLEL_WORKERS;
use rustydb_foundation::{DbError, Result};
use rustydb_storage::arena::TupleArena;
use rustydb_storage::heap::HeapFile;
use rustydb_txn::{Snapshot, Transaction, TxnManager};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

/// A pipeline as worker threads run it: batches of a shared scan, through `probe_stages`, then
/// (if there is a join) probed through `join`, then through `stages`.
#[derive(Debug)]
pub struct ParallelPlan<'r, 'p> {
    /// The scan whose pages the threads share.
    pub scan: &'r ColumnScan<'p>,
    /// The stages over the scan, below the join.
    pub probe_stages: &'r [Stage],
    /// A hash join, already loaded, that the scan's rows probe.
    pub join: Option<Probe<'r>>,
    /// The stages over the join (or over the scan, if there is none).
    pub stages: &'r [Stage],
}

impl ParallelPlan<'_, '_> {
    /// The next batch of a thread's share, read from `pages` (`pending` holds a probe batch
    /// part-way joined).
    fn next(
        &self,
        pages: &mut WorkerPages<'_, '_>,
        pending: &mut Option<Pending>,
        scratch: &mut Vec<i64>,
    ) -> Result<Option<ColumnBatch>> {
        loop {
            if let (Some(join), Some(p)) = (&self.join, pending.as_mut()) {
                let joined = join.pairs(p, scratch)?;
                if p.is_done() {
                    *pending = None;
                }
                if joined.len > 0
                    && let Some(batch) = apply_stages(self.stages, joined)?
                {
                    return Ok(Some(batch));
                }
                continue;
            }
            let Some(batch) = self.scan.gather(pages)? else { return Ok(None) };
            let Some(batch) = apply_stages(self.probe_stages, batch)? else { continue };
            match &self.join {
                Some(join) => *pending = Some(join.start(batch)?),
                None => {
                    if let Some(batch) = apply_stages(self.stages, batch)? {
                        return Ok(Some(batch));
                    }
                }
            }
        }
    }
}

/// Pages a thread claims at a time.
const CHUNK_PAGES: u32 = 64;

/// Worker threads running at once in the whole server, at most (PostgreSQL's
/// `max_parallel_workers` default): a statement gets fewer, or none, while others hold them.
pub const MAX_PARALLEL_WORKERS: usize = 8;

/// Worker threads running now, in the whole server.
static RUNNING: AtomicUsize = AtomicUsize::new(0);

/// Takes up to `wanted` of the server's worker slots; gives back how many it got.
fn reserve_workers(wanted: usize) -> usize {
    let mut got = 0;
    let _ = RUNNING.fetch_update(Ordering::AcqRel, Ordering::Acquire, |running| {
        got = wanted.min(MAX_PARALLEL_WORKERS.saturating_sub(running));
        Some(running + got)
    });
    got
}

/// Gives back worker slots when dropped.
struct Reserved(usize);

impl Drop for Reserved {
    fn drop(&mut self) {
        RUNNING.fetch_sub(self.0, Ordering::AcqRel);
    }
}

/// Sets the scan's stop flag when dropped unless disarmed: a thread that panics stops the others.
struct StopOnUnwind<'a>(&'a AtomicBool, bool);

impl Drop for StopOnUnwind<'_> {
    fn drop(&mut self) {
        if !self.1 {
            self.0.store(true, Ordering::Relaxed);
        }
    }
}

/// Tables smaller than this many pages are scanned by one thread.
pub const MIN_PARALLEL_PAGES: u32 = 1024;

/// Workers (besides the statement's thread) for a scan of `pages` pages, at most `max`.
pub fn planned_workers(pages: u32, max: usize) -> usize {
    if pages < MIN_PARALLEL_PAGES || max == 0 {
        return 0;
    }
    let mut workers = 1;
    let mut threshold = u64::from(MIN_PARALLEL_PAGES);
    while u64::from(pages) >= threshold * 3 {
        workers += 1;
        threshold *= 3;
    }
    workers.min(max)
}

/// What every thread of one parallel scan shares.
struct Shared<'a> {
    tm: &'a TxnManager,
    txn: &'a Transaction,
    snapshot: &'a Snapshot,
    heap: &'a HeapFile,
    pages: u32,
    /// The first page not yet claimed (wide enough never to wrap).
    claim: AtomicU64,
    interrupt: &'a Interrupt,
    /// Set when a thread gives up or fails: the others stop.
    stop: AtomicBool,
}

/// One thread's pages: the chunk it holds, claimed from the shared counter.
struct WorkerPages<'s, 'a> {
    shared: &'s Shared<'a>,
    at: u32,
    end: u32,
    arena: TupleArena,
}

impl PageSource for WorkerPages<'_, '_> {
    fn next_page(&mut self) -> Option<u32> {
        if self.at >= self.end {
            if self.shared.stop.load(Ordering::Relaxed) {
                return None;
            }
            let start = self.shared.claim.fetch_add(u64::from(CHUNK_PAGES), Ordering::Relaxed);
            let Ok(start) = u32::try_from(start) else { return None };
            if start >= self.shared.pages {
                return None;
            }
            self.at = start;
            self.end = start.saturating_add(CHUNK_PAGES).min(self.shared.pages);
        }
        self.at += 1;
        Some(self.at - 1)
    }

    fn visit(&mut self, page: u32, visit: impl FnMut(&[u8]) -> Result<()>) -> Result<()> {
        let s = self.shared;
        s.tm.visit_visible_on_page(s.txn, s.snapshot, s.heap, page, &mut self.arena, visit)
    }

    fn check(&self) -> Result<()> {
        self.shared.interrupt.check()
    }
}

/// Runs a consumer on the statement's thread and on the planned workers, each fed the batches
/// of its share of the plan's scan, through the plan. `make` is given the number of threads and
/// returns the consumer; a consumer returns `None` to give up. The results come in thread
/// order (the statement's first); `None` if no worker is planned (a small table, or
/// `max_parallel_workers_per_gather` = 0) or if a consumer gave up.
pub fn run<T, W>(
    ctx: &mut ExecContext<'_>,
    plan: &ParallelPlan<'_, '_>,
    max_workers: usize,
    make: impl FnOnce(usize) -> W,
) -> Result<Option<Vec<T>>>
where
    T: Send,
    W: Fn(&mut dyn FnMut() -> Result<Option<ColumnBatch>>, &AtomicBool) -> Result<Option<T>> + Sync,
{
    let (heap, pages) = plan.scan.heap_and_pages(ctx)?;
    let workers = reserve_workers(planned_workers(pages, max_workers));
    let _reserved = Reserved(workers);
    if workers == 0 {
        return Ok(None);
    }
    metrics::counter!(PARALLEL_WORKERS).increment(workers as u64);
    let consumer = make(workers + 1);
    let shared = Shared {
        tm: ctx.engine.txn_manager(),
        txn: &*ctx.txn,
        snapshot: &ctx.snapshot,
        heap: &heap,
        pages,
        claim: AtomicU64::new(0),
        interrupt: &ctx.interrupt,
        stop: AtomicBool::new(false),
    };
    let one = |shared: &Shared<'_>| -> Result<Option<T>> {
        let mut pages = WorkerPages { shared, at: 0, end: 0, arena: TupleArena::new() };
        let (mut pending, mut scratch) = (None, Vec::new());
        let mut next = || plan.next(&mut pages, &mut pending, &mut scratch);
        let mut guard = StopOnUnwind(&shared.stop, false);
        let result = consumer(&mut next, &shared.stop);
        guard.1 = matches!(result, Ok(Some(_)));
        result
    };
    let results: Vec<Result<Option<T>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|i| {
                std::thread::Builder::new().name(format!("rustydb-parallel-{i}")).spawn_scoped(scope, || one(&shared))
            })
            .collect();
        let mut results = vec![one(&shared)];
        for handle in handles {
            match handle {
                Ok(h) => results
                    .push(h.join().unwrap_or_else(|_| Err(DbError::Internal("a parallel worker panicked".into())))),
                // A thread that could not start claims no pages: the others read its share.
                Err(e) => tracing::warn!(error = %e, "could not start a parallel worker thread"),
            }
        }
        results
    });
    // An error wins over a consumer that gave up (it may have given up because of it).
    let mut out = Vec::with_capacity(results.len());
    let mut gave_up = false;
    for result in results {
        match result? {
            Some(t) => out.push(t),
            None => gave_up = true,
        }
    }
    Ok((!gave_up).then_some(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workers_are_planned_as_postgres_plans_them() {
        // compute_parallel_worker with min_parallel_table_scan_size = 8MB (1024 pages).
        for (pages, max, want) in [
            (1023, 8, 0),
            (1024, 8, 1),
            (3071, 8, 1),
            (3072, 8, 2),
            (9216, 8, 3),
            (27_648, 8, 4),
            (1_000_000, 8, 7),
            (1_000_000, 2, 2),
            (1_000_000, 0, 0),
            (u32::MAX, 1024, 14),
        ] {
            assert_eq!(planned_workers(pages, max), want, "{pages} pages, at most {max}");
        }
    }
}
