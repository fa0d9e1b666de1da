//! DISTINCT (and UNION without ALL): duplicate rows removed, first occurrences kept,
//! streaming — a row leaves as soon as it is first seen.
//!
//! The rows seen are kept in a hash set of at most `work_mem` × `hash_mem_multiplier` bytes.
//! Once it is full, a row already in it is still dropped at once, and any other row goes to a
//! hash partition on disk ([`Partitions`]); when the input ends, the set's memory is given back
//! and each partition is read as a new input, with a new set, splitting again if it overflows
//! in turn. Copies of a row always meet in the same partition, so every distinct row leaves
//! exactly once (the order of those spilled changes, which SQL allows).

use super::hash_spill::{Partition, Partitions, charge_leaving_room};
use super::spill::Spill;
use super::{BATCH_ROWS, Batch, HashKey, Operator};
use crate::context::{ExecContext, row_bytes};
use rustydb_foundation::Result;
use std::collections::HashSet;

/// What a row in the set costs besides its values.
const PER_ROW: usize = 16;

/// Duplicate rows removed, first occurrences kept, streaming.
pub struct DistinctOp<'p> {
    input: Option<Box<dyn Operator + 'p>>,
    /// The partition being read, once the input is done.
    current: Option<Partition>,
    seen: HashSet<HashKey>,
    /// Bytes counted against the statement's memory for `seen`.
    held: usize,
    full: bool,
    /// Where rows the full set has no room for go (made when the first does), and the depth of
    /// the split.
    overflow: Option<Partitions>,
    depth: u32,
    pending: Vec<Partition>,
    spill: Option<Spill>,
}

impl<'p> DistinctOp<'p> {
    /// Distinct rows of `input`.
    pub fn new(input: Box<dyn Operator + 'p>) -> Self {
        DistinctOp {
            input: Some(input),
            current: None,
            seen: HashSet::new(),
            held: 0,
            full: false,
            overflow: None,
            depth: 0,
            pending: Vec::new(),
            spill: None,
        }
    }

    /// The next batch of the current source (the input, then each partition), or `None` when
    /// there are no more sources.
    fn next_batch(&mut self, ctx: &mut ExecContext<'_>) -> Result<Option<Batch>> {
        loop {
            if let Some(input) = &mut self.input {
                if let Some(batch) = input.next(ctx)? {
                    return Ok(Some(batch));
                }
                self.input = None;
            } else if let Some(partition) = &mut self.current {
                ctx.interrupt.check()?;
                let mut batch = Vec::new();
                while batch.len() < BATCH_ROWS
                    && let Some((_, row)) = partition.next()?
                {
                    batch.push(row);
                }
                if !batch.is_empty() {
                    return Ok(Some(batch));
                }
                self.current = None;
            }
            // The source is done: its set's memory is free for the next partition's.
            self.seen = HashSet::new();
            ctx.memory.release(std::mem::take(&mut self.held));
            self.full = false;
            if let Some(overflow) = self.overflow.take() {
                self.pending.extend(overflow.finish(ctx)?);
            }
            let Some(next) = self.pending.pop() else { return Ok(None) };
            self.depth = next.depth;
            self.current = Some(next);
        }
    }
}

impl Operator for DistinctOp<'_> {
    fn next(&mut self, ctx: &mut ExecContext<'_>) -> Result<Option<Batch>> {
        let hash_mem = ctx.hash_mem();
        let reserve = super::hash_spill::partition_buffers(hash_mem);
        while let Some(batch) = self.next_batch(ctx)? {
            let mut out = Vec::new();
            for row in batch {
                let key = HashKey(row);
                if self.seen.contains(&key) {
                    continue;
                }
                if !self.full {
                    // Two copies: the set's and the one output.
                    let bytes = 2 * row_bytes(&key.0) + PER_ROW;
                    let must = self.seen.is_empty();
                    if charge_leaving_room(&mut ctx.memory, bytes, reserve, "DISTINCT", must)? {
                        self.held += bytes;
                        self.full = self.held > hash_mem;
                        out.push(key.0.clone());
                        self.seen.insert(key);
                        continue;
                    }
                    self.full = true;
                }
                let overflow = match &mut self.overflow {
                    Some(o) => o,
                    None => self.overflow.insert(Partitions::new(ctx, &mut self.spill, self.depth, hash_mem)?),
                };
                overflow.write_row(&key.0, &key.0)?;
            }
            if !out.is_empty() {
                return Ok(Some(out));
            }
        }
        Ok(None)
    }
}
