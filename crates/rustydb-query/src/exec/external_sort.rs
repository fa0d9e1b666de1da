//! A sort that holds at most `work_mem` of rows: past it, sorted runs go to temporary files
//! ([`super::spill`]) and are merged at the end — PostgreSQL's "external merge".
//!
//! Rows arrive with their evaluated keys. While they fit in `work_mem` they are only gathered;
//! a sort that never fills it is the in-memory sort it always was. Each time they fill it,
//! they are sorted and written out as a run, and their memory is given back to the statement.
//! At the end the rows still in memory become the last run, and the runs are merged through a
//! heap of their head rows.
//!
//! **Stability**: runs are cut in input order, each is sorted stably, and among equal keys the
//! merge takes the earlier run's row first; so rows with equal keys leave in the order they
//! came, exactly as the in-memory stable sort gives them.
//!
//! **Fan-in**: each run being merged holds a block in memory, so a merge takes as many runs as
//! `work_mem` has blocks for (at least [`MIN_FAN_IN`], at most [`MAX_FAN_IN`]); beyond that,
//! passes merge consecutive groups of runs into one run each (which keeps the order among equal
//! keys, since each stands where its group stood). PostgreSQL sizes its merge from `work_mem`
//! the same way.

use super::Row;
use super::order::compare_keys;
use super::spill::{Spill, SpillReader, read_pair, write_pair};
use crate::context::{ExecContext, row_bytes};
use crate::plan::SortKey;
use rustydb_foundation::{Result, Value};
use std::cmp::Ordering;

/// Runs merged at once, whatever `work_mem` is.
const MIN_FAN_IN: usize = 8;
/// Runs merged at once at most.
const MAX_FAN_IN: usize = 512;

/// What a (key, row) pair counts against memory: what the two rows count as held rows.
fn pair_bytes(key: &[Value], row: &[Value]) -> usize {
    row_bytes(key) + row_bytes(row)
}

/// Gathers keyed rows, spilling sorted runs past `work_mem`.
pub(crate) struct ExternalSort<'k> {
    keys: &'k [SortKey],
    work_mem: usize,
    rows: Vec<(Row, Row)>,
    /// Bytes `rows` holds, counted against the statement's memory.
    held: usize,
    runs: Vec<SpillReader>,
    spill: Option<Spill>,
}

impl<'k> ExternalSort<'k> {
    /// A sort by `keys` that holds at most `work_mem` bytes of rows.
    pub(crate) fn new(keys: &'k [SortKey], work_mem: usize) -> Self {
        ExternalSort { keys, work_mem, rows: Vec::new(), held: 0, runs: Vec::new(), spill: None }
    }

    /// Adds a row with its evaluated keys.
    pub(crate) fn push(&mut self, ctx: &mut ExecContext<'_>, key: Row, row: Row) -> Result<()> {
        let bytes = pair_bytes(&key, &row);
        if let Err(e) = ctx.memory.charge(bytes, "a sort") {
            // The statement's limit came before `work_mem`: what is held goes to disk instead.
            if self.rows.is_empty() {
                return Err(e);
            }
            self.spill_run(ctx)?;
            ctx.memory.charge(bytes, "a sort")?;
        }
        self.held += bytes;
        self.rows.push((key, row));
        if self.held > self.work_mem {
            self.spill_run(ctx)?;
        }
        Ok(())
    }

    /// Sorts the rows in memory and writes them out as the next run.
    fn spill_run(&mut self, ctx: &mut ExecContext<'_>) -> Result<()> {
        let keys = self.keys;
        self.rows.sort_by(|a, b| compare_keys(keys, &a.0, &b.0));
        let spill = Spill::get_or_create(&mut self.spill, ctx)?;
        let mut writer = spill.create();
        for (key, row) in self.rows.drain(..) {
            write_pair(&mut writer, &key, &row)?;
        }
        self.runs.push(writer.finish()?);
        ctx.memory.release(self.held);
        self.held = 0;
        ctx.interrupt.check()
    }

    /// Bytes of rows held in memory now.
    pub(crate) fn held(&self) -> usize {
        self.held
    }

    /// The temporary file, once a run has gone to disk.
    pub(crate) fn spill(&self) -> Option<Spill> {
        self.spill.clone()
    }

    /// Every row, in order.
    pub(crate) fn finish(mut self, ctx: &mut ExecContext<'_>) -> Result<Sorted> {
        let keys = self.keys;
        if self.runs.is_empty() {
            self.rows.sort_by(|a, b| compare_keys(keys, &a.0, &b.0));
            return Ok(Sorted::Memory(self.rows.into_iter()));
        }
        // The rows still held become the last run, so that the statement's memory is free for
        // what consumes the sorted rows.
        if !self.rows.is_empty() {
            self.spill_run(ctx)?;
        }
        // Too many runs to merge at once: merge consecutive groups of them into one run each
        // (a pass reads and writes every row once), until few enough are left to merge with
        // the rows in memory. Groups are consecutive, so equal keys keep their order.
        let fan_in = (self.work_mem / super::spill::BLOCK_BYTES).clamp(MIN_FAN_IN, MAX_FAN_IN);
        while self.runs.len() > fan_in {
            let spill = self.spill.clone().expect("runs were spilled");
            let mut merged = Vec::new();
            let mut runs = std::mem::take(&mut self.runs).into_iter().peekable();
            while runs.peek().is_some() {
                let mut group: Vec<Source> = runs.by_ref().take(fan_in).map(Source).collect();
                if group.len() == 1 {
                    // A last group of one run is that run.
                    if let Some(Source(run)) = group.pop() {
                        merged.push(run);
                    }
                    continue;
                }
                let buffers = group.len() * super::spill::BLOCK_BYTES;
                ctx.memory.charge(buffers, "a sort's merge")?;
                let mut merge = Merge::new(keys, group)?;
                let mut writer = spill.create();
                while let Some((key, row)) = merge.pop()? {
                    write_pair(&mut writer, &key, &row)?;
                    if writer.records().is_multiple_of(65536) {
                        ctx.interrupt.check()?;
                    }
                }
                merged.push(writer.finish()?);
                ctx.memory.release(buffers);
            }
            self.runs = merged;
        }
        // Each run being merged holds one block in memory.
        ctx.memory.charge(self.runs.len() * super::spill::BLOCK_BYTES, "a sort's merge")?;
        let sources: Vec<Source> = self.runs.into_iter().map(Source).collect();
        Ok(Sorted::Merge(Box::new(Merge::new(keys, sources)?)))
    }
}

/// The sorted output.
pub(crate) enum Sorted {
    /// Everything fitted in memory.
    Memory(std::vec::IntoIter<(Row, Row)>),
    /// Runs on disk (and the rows left in memory) being merged.
    Merge(Box<Merge>),
}

impl Sorted {
    /// The temporary file the runs being merged are in (none for a sort in memory).
    pub(crate) fn spill(&self) -> Option<Spill> {
        match self {
            Sorted::Memory(_) => None,
            Sorted::Merge(merge) => merge.sources.first().map(|s| s.0.spill()),
        }
    }

    /// Up to `n` more rows, in order; empty at the end. Rows held in memory are no longer
    /// counted against the statement once they leave (their consumer counts what it keeps).
    pub(crate) fn next_rows(&mut self, ctx: &mut ExecContext<'_>, n: usize) -> Result<Vec<Row>> {
        match self {
            Sorted::Memory(rows) => Ok(rows
                .by_ref()
                .take(n)
                .map(|(key, row)| {
                    ctx.memory.release(pair_bytes(&key, &row));
                    row
                })
                .collect()),
            Sorted::Merge(merge) => {
                let mut out = Vec::with_capacity(n);
                while out.len() < n {
                    let Some((_, row)) = merge.pop()? else { break };
                    out.push(row);
                }
                Ok(out)
            }
        }
    }
}

/// One sorted input of a merge: a run on disk.
struct Source(SpillReader);

impl Source {
    fn next(&mut self) -> Result<Option<(Row, Row)>> {
        self.0.next()?.map(read_pair).transpose()
    }
}

/// A k-way merge: a binary min-heap of the sources' head rows, ordered by key, then by source
/// (an earlier source first among equal keys).
pub(crate) struct Merge {
    keys: Vec<SortKey>,
    sources: Vec<Source>,
    /// The head row of each source (`None` once it is exhausted).
    heads: Vec<Option<(Row, Row)>>,
    /// Indexes of sources with a head, as a heap.
    heap: Vec<usize>,
}

impl Merge {
    fn new(keys: &[SortKey], mut sources: Vec<Source>) -> Result<Merge> {
        let mut heads = Vec::with_capacity(sources.len());
        for source in &mut sources {
            heads.push(source.next()?);
        }
        let mut merge = Merge { keys: keys.to_vec(), sources, heads, heap: Vec::new() };
        for i in 0..merge.heads.len() {
            if merge.heads[i].is_some() {
                merge.heap.push(i);
                merge.sift_up(merge.heap.len() - 1);
            }
        }
        Ok(merge)
    }

    /// Whether source `a`'s head comes before source `b`'s.
    fn before(&self, a: usize, b: usize) -> bool {
        let (Some((ka, _)), Some((kb, _))) = (&self.heads[a], &self.heads[b]) else { return false };
        match compare_keys(&self.keys, ka, kb) {
            Ordering::Less => true,
            Ordering::Greater => false,
            Ordering::Equal => a < b,
        }
    }

    fn sift_up(&mut self, mut at: usize) {
        while at > 0 {
            let parent = (at - 1) / 2;
            if !self.before(self.heap[at], self.heap[parent]) {
                break;
            }
            self.heap.swap(at, parent);
            at = parent;
        }
    }

    fn sift_down(&mut self, mut at: usize) {
        loop {
            let (left, right) = (2 * at + 1, 2 * at + 2);
            let mut best = at;
            if left < self.heap.len() && self.before(self.heap[left], self.heap[best]) {
                best = left;
            }
            if right < self.heap.len() && self.before(self.heap[right], self.heap[best]) {
                best = right;
            }
            if best == at {
                return;
            }
            self.heap.swap(at, best);
            at = best;
        }
    }

    /// The smallest head, replaced by its source's next row.
    fn pop(&mut self) -> Result<Option<(Row, Row)>> {
        let Some(&top) = self.heap.first() else { return Ok(None) };
        let next = self.sources[top].next()?;
        let out = std::mem::replace(&mut self.heads[top], next);
        if self.heads[top].is_none() {
            let last = self.heap.pop().expect("the heap holds the top");
            if !self.heap.is_empty() {
                self.heap[0] = last;
            }
        }
        self.sift_down(0);
        Ok(out)
    }
}
