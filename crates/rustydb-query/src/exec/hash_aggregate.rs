//! The hash aggregate operator: groups its input in a hash table of at most `work_mem` ×
//! `hash_mem_multiplier` bytes, and spills what does not fit.
//!
//! **Passes**: the first pass reads the input, on column batches when the vectorized executor
//! takes the plan ([`VectorAggregate`]), on rows otherwise. While the table has room, every
//! new key makes a group; once it is full, rows of the groups it holds still go into them, and
//! rows of any other group go to disk in hash partitions ([`Overflow`]). When the input ends,
//! the table's groups are output and its memory given back; then each partition is read back
//! and aggregated the same way, on rows, splitting again if it overflows in turn. Every row
//! lands in exactly one group, in the order the input gave it, so a spilled aggregate computes
//! exactly what one in memory does (float sums add in the same order).
//!
//! **Parallel**: over a sequential scan of a table of 8 MB or more, the first pass runs on
//! worker threads as well (`max_parallel_workers_per_gather`; see `crate::vector::parallel`),
//! each aggregating its share of the pages into a table of its own, merged at the end. Sums of
//! floats then add in another order, as in PostgreSQL's parallel aggregates. A worker whose
//! table outgrows its share of the memory stops them all, and the pass runs serially instead,
//! spilling as it must.
//!
//! Groups come out table by table: those of the first pass in the order they first appeared,
//! then each partition's. SQL promises no order without ORDER BY, and PostgreSQL's own order
//! changes as its aggregate spills.

use super::aggregate::GroupTable;
use super::hash_spill::{Overflow, Partition};
use super::spill::Spill;
use super::{BATCH_ROWS, Batch, Operator, Row, open, with_env};
use crate::context::ExecContext;
use crate::expr::Expr;
use crate::rel::{AggCall, Rel};
use crate::vector::aggregate::VectorAggregate;
use rustydb_foundation::{Result, Value};
use std::rc::Rc;

/// Aggregates `input` by `groups`, a table at a time.
pub(super) struct HashAggregateOp<'p> {
    input: &'p Rel,
    groups: &'p [Expr],
    aggregates: &'p [AggCall],
    outer: Rc<[Value]>,
    started: bool,
    /// The current table's groups, being output.
    output: std::vec::IntoIter<Row>,
    /// Bytes counted against the statement's memory for `output`.
    held: usize,
    /// Partitions still to aggregate.
    pending: Vec<Partition>,
    spill: Option<Spill>,
    /// Passes made (the first, and one per partition), and the most a table held: what
    /// EXPLAIN ANALYZE reports.
    passes: usize,
    peak: usize,
}

impl<'p> HashAggregateOp<'p> {
    pub(super) fn new(input: &'p Rel, groups: &'p [Expr], aggregates: &'p [AggCall], outer: Rc<[Value]>) -> Self {
        HashAggregateOp {
            input,
            groups,
            aggregates,
            outer,
            started: false,
            output: Vec::new().into_iter(),
            held: 0,
            pending: Vec::new(),
            spill: None,
            passes: 0,
            peak: 0,
        }
    }

    /// The first pass, over the operator's input.
    fn first_pass(&mut self, ctx: &mut ExecContext<'_>) -> Result<()> {
        let hash_mem = ctx.hash_mem();
        let mut overflow = Overflow::new(&mut self.spill, 0, hash_mem);
        // EXPLAIN ANALYZE runs the aggregate on rows, so that every node it shows is counted.
        let vectorized = if ctx.vectorize && !crate::explain::measuring() {
            VectorAggregate::build(self.input, self.groups, self.aggregates)
        } else {
            None
        };
        // A table big enough is scanned by worker threads too, unless the session says none
        // (max_parallel_workers_per_gather = 0) or the transaction is SERIALIZABLE (its reads
        // are tracked through one thread).
        let workers = ctx.parallel_workers();
        let (rows, held) = match vectorized {
            Some(mut vectorized) => {
                let parallel = if workers > 0 { vectorized.run_parallel(ctx, hash_mem, workers)? } else { None };
                match parallel {
                    Some(done) => done,
                    None => vectorized.run(ctx, hash_mem, &mut overflow)?,
                }
            }
            None => {
                let mut table = if self.groups.is_empty() {
                    GroupTable::single(self.aggregates)
                } else {
                    GroupTable::new(self.aggregates, hash_mem)
                };
                let mut input = open(self.input, &self.outer);
                let groups = self.groups;
                while let Some(batch) = input.next(ctx)? {
                    with_env(ctx, &self.outer, |env, runner| {
                        for row in &batch {
                            let key = groups.iter().map(|g| g.eval(row, env)).collect::<Result<Row>>()?;
                            if let Some(key) = table.add(runner, env, key, row)? {
                                overflow.write(&mut runner.ctx(), &key, row)?;
                            }
                        }
                        Ok(())
                    })?;
                }
                table.finish()?
            }
        };
        self.pending = overflow.finish(ctx)?;
        self.output = rows.into_iter();
        self.held = held;
        Ok(())
    }

    /// A pass over one partition of spilled rows.
    fn partition_pass(&mut self, ctx: &mut ExecContext<'_>, mut partition: Partition) -> Result<()> {
        let hash_mem = ctx.hash_mem();
        let mut table = GroupTable::new(self.aggregates, hash_mem);
        let mut overflow = Overflow::new(&mut self.spill, partition.depth, hash_mem);
        let mut pairs = Vec::with_capacity(BATCH_ROWS);
        loop {
            pairs.clear();
            while pairs.len() < BATCH_ROWS
                && let Some(pair) = partition.next()?
            {
                pairs.push(pair);
            }
            if pairs.is_empty() {
                break;
            }
            with_env(ctx, &self.outer, |env, runner| {
                for (key, row) in pairs.drain(..) {
                    if let Some(key) = table.add(runner, env, key, &row)? {
                        overflow.write(&mut runner.ctx(), &key, &row)?;
                    }
                }
                Ok(())
            })?;
            ctx.interrupt.check()?;
        }
        let (rows, held) = table.finish()?;
        self.pending.extend(overflow.finish(ctx)?);
        self.output = rows.into_iter();
        self.held = held;
        Ok(())
    }
}

impl HashAggregateOp<'_> {
    /// Counts a pass just made, and the memory its table held.
    fn passed(&mut self) {
        self.passes += 1;
        self.peak = self.peak.max(self.held);
    }
}

impl Operator for HashAggregateOp<'_> {
    fn next(&mut self, ctx: &mut ExecContext<'_>) -> Result<Option<Batch>> {
        loop {
            let batch: Batch = self.output.by_ref().take(BATCH_ROWS).collect();
            if !batch.is_empty() {
                return Ok(Some(batch));
            }
            // The table's groups are all out: its memory is free for the next.
            ctx.memory.release(std::mem::take(&mut self.held));
            if !self.started {
                self.started = true;
                self.first_pass(ctx)?;
                self.passed();
                continue;
            }
            let Some(partition) = self.pending.pop() else {
                if !self.groups.is_empty() {
                    let (passes, peak, disk) = (self.passes, self.peak, self.spill.as_ref().map(Spill::bytes));
                    crate::explain::note("Batches", || {
                        let kb = |b: u64| crate::explain::kilobytes(b);
                        let mut line = format!("Batches: {passes}  Memory Usage: {}kB", kb(peak as u64));
                        if let Some(disk) = disk {
                            line.push_str(&format!("  Disk Usage: {}kB", kb(disk)));
                        }
                        line
                    });
                }
                return Ok(None);
            };
            self.partition_pass(ctx, partition)?;
            self.passed();
        }
    }
}
