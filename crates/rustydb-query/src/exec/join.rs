//! Joins. The right input is the build side: read whole, and hashed on the join's equality
//! keys when it has some (a hash join), or kept as a list (a nested-loop join, for conditions
//! with no equality). Left rows then stream through, each meeting its candidates; what the
//! keys match is still checked against the rest of the condition. Outer joins pad unmatched
//! rows with NULLs: left rows as they pass, right rows (tracked in a bitmap) at the end.
//! A NULL key matches nothing, as `=` says. A nested loop's inner side past `work_mem` goes
//! to disk, and the outer rows meet it a block at a time (`block_nested_loop.rs`).
//!
//! **Spilling** (a Grace hash join): a hash join's build side may hold `work_mem` ×
//! `hash_mem_multiplier`. Past that, the build rows (those held and those still to come) go to
//! hash partitions on disk by their keys, then the probe rows go to partitions of the same
//! split, and each pair of partitions is joined by a join of its own, one pair at a time: rows
//! that can match always share a pair. A pair whose build side overflows again splits again,
//! with a hash seeded by its depth; past [`MAX_DEPTH`] splits (many build rows with one key)
//! a pair is joined in memory whatever it holds, up to the statement's limit. Unmatched rows
//! of an outer join are padded within their pair, NULL keys included (they match nothing in
//! any pair). Pairs come out one after another, so the join's output order changes when it
//! spills, which SQL allows.

use super::block_nested_loop::BlockNestedLoop;
use super::hash_spill::{PairWalk, Partition, PartitionOp, Partitions, charge_leaving_room, partition_buffers};
use super::spill::Spill;
use super::{BATCH_ROWS, Batch, HashKey, Operator, Row, with_env};
use crate::context::{ExecContext, row_bytes};
use crate::expr::{EvalEnv, Expr};
use crate::rel::JoinKind;
use rustydb_foundation::row::encode_row;
use rustydb_foundation::{Result, Value};
use std::collections::HashMap;
use std::rc::Rc;

/// The join operator for `kind` over its inputs.
pub fn open<'p>(
    kind: JoinKind,
    left: Box<dyn Operator + 'p>,
    right: Box<dyn Operator + 'p>,
    equi: &'p [(Expr, Expr)],
    condition: Option<&'p Expr>,
    (left_width, right_width): (usize, usize),
    outer: &Rc<[Value]>,
) -> Box<dyn Operator + 'p> {
    let shape = Shape { kind, equi, condition, left_width, right_width, outer: outer.clone() };
    Box::new(JoinOp::new(shape, left, right, 0, None))
}

/// The join of pairs of partitions that a vectorized hash join spilled: `pairs` of (probe,
/// build) partitions of one split, in the operator's spill file `spill`.
pub(crate) fn join_partitions<'p>(
    kind: JoinKind,
    equi: &'p [(Expr, Expr)],
    condition: Option<&'p Expr>,
    (left_width, right_width): (usize, usize),
    pairs: Vec<(Partition, Partition)>,
    spill: Option<Spill>,
) -> Box<dyn Operator + 'p> {
    let shape = Shape { kind, equi, condition, left_width, right_width, outer: Rc::from(Vec::new()) };
    let depth = pairs.first().map_or(1, |(p, _)| p.depth);
    let mut op = JoinOp::new(shape, Box::new(PartitionOp(None)), Box::new(PartitionOp(None)), depth, spill);
    op.right = None;
    op.spilled = Some(PairWalk::new(pairs_worth_joining(kind, pairs)));
    Box::new(op)
}

/// Splits deeper than this are not made: the build side is held whatever it takes.
pub(crate) const MAX_DEPTH: u32 = 6;

/// What a build row costs besides its values: its key in the table and its place in a chain.
const PER_BUILD_ROW: usize = 48;

/// What a join is, apart from its inputs.
#[derive(Clone)]
pub(super) struct Shape<'p> {
    pub(super) kind: JoinKind,
    pub(super) equi: &'p [(Expr, Expr)],
    pub(super) condition: Option<&'p Expr>,
    pub(super) left_width: usize,
    pub(super) right_width: usize,
    pub(super) outer: Rc<[Value]>,
}

/// Partition pairs that can yield rows: an inner join needs both sides, a left join the left,
/// a right join the right.
fn pairs_worth_joining(kind: JoinKind, pairs: Vec<(Partition, Partition)>) -> Vec<(Partition, Partition)> {
    pairs
        .into_iter()
        .filter(|(probe, build)| match kind {
            JoinKind::Inner => !probe.is_empty() && !build.is_empty(),
            JoinKind::Left => !probe.is_empty(),
            JoinKind::Right => !build.is_empty(),
            JoinKind::Full => !probe.is_empty() || !build.is_empty(),
        })
        .collect()
}

struct JoinOp<'p> {
    kind: JoinKind,
    left: Box<dyn Operator + 'p>,
    right: Option<Box<dyn Operator + 'p>>,
    equi: &'p [(Expr, Expr)],
    condition: Option<&'p Expr>,
    left_width: usize,
    right_width: usize,
    outer: Rc<[Value]>,
    /// Splits above this join (0 for a join of the plan's inputs).
    depth: u32,
    /// Bytes counted against the statement's memory for the build side.
    held: usize,
    /// The spill file this join and the joins of its partitions share.
    spill: Option<Spill>,
    /// Once spilled: the joins of the (probe, build) partition pairs.
    spilled: Option<PairWalk<'p>>,
    /// A nested loop whose inner side went to disk.
    blocked: Option<Box<BlockNestedLoop<'p>>>,
    build: Vec<Row>,
    table: HashMap<HashKey, Vec<usize>>,
    matched: Vec<bool>,
    /// The left batch being probed, and the next row of it.
    pending: Option<(Batch, usize)>,
    left_done: bool,
    finished: bool,
}

impl<'p> JoinOp<'p> {
    fn new(
        shape: Shape<'p>,
        left: Box<dyn Operator + 'p>,
        right: Box<dyn Operator + 'p>,
        depth: u32,
        spill: Option<Spill>,
    ) -> Self {
        JoinOp {
            kind: shape.kind,
            left,
            right: Some(right),
            equi: shape.equi,
            condition: shape.condition,
            left_width: shape.left_width,
            right_width: shape.right_width,
            outer: shape.outer,
            depth,
            held: 0,
            spill,
            spilled: None,
            blocked: None,
            build: Vec::new(),
            table: HashMap::new(),
            matched: Vec::new(),
            pending: None,
            left_done: false,
            finished: false,
        }
    }

    fn shape(&self) -> Shape<'p> {
        Shape {
            kind: self.kind,
            equi: self.equi,
            condition: self.condition,
            left_width: self.left_width,
            right_width: self.right_width,
            outer: self.outer.clone(),
        }
    }

    /// Reads the build side; a hash join's that outgrows its memory spills (see the module
    /// documentation), and the join becomes a join of partition pairs.
    fn build(&mut self, ctx: &mut ExecContext<'_>, mut right: Box<dyn Operator + 'p>) -> Result<()> {
        if self.equi.is_empty() || self.depth >= MAX_DEPTH {
            // A nested loop (or a pair past the deepest split) holds its inner side while it
            // fits in work_mem (hash_mem for a pair); past that the inner rows go to disk and
            // the outer rows meet them a block at a time (see `block_nested_loop.rs`).
            let limit = if self.equi.is_empty() { ctx.work_mem() } else { ctx.hash_mem() }.min(ctx.memory.limit());
            while let Some(batch) = right.next(ctx)? {
                let mut rows = batch.into_iter();
                while let Some(row) = rows.next() {
                    let bytes = row_bytes(&row);
                    if self.held + bytes <= limit && ctx.memory.charge(bytes, "a join's inner side").is_ok() {
                        self.held += bytes;
                        self.build.push(row);
                        continue;
                    }
                    return self.spill_inner(ctx, std::iter::once(row).chain(rows), right, limit);
                }
            }
        } else {
            let hash_mem = ctx.hash_mem();
            let reserve = partition_buffers(hash_mem);
            while let Some(batch) = right.next(ctx)? {
                let mut rows = batch.into_iter();
                while let Some(row) = rows.next() {
                    let bytes = row_bytes(&row) + PER_BUILD_ROW;
                    // The first row is always taken, so that every split makes progress.
                    let first = self.build.is_empty();
                    if (first || self.held + bytes <= hash_mem)
                        && charge_leaving_room(&mut ctx.memory, bytes, reserve, "a join's inner side", first)?
                    {
                        self.held += bytes;
                        self.build.push(row);
                        continue;
                    }
                    let first = std::iter::once(row).chain(rows);
                    return self.spill_inputs(ctx, first, right);
                }
            }
        }
        self.index(ctx)
    }

    /// Sends the inner rows held, `more` of them and the rest of `right` to a run on disk; the
    /// join goes on as a block nested loop over it.
    fn spill_inner(
        &mut self,
        ctx: &mut ExecContext<'_>,
        more: impl Iterator<Item = Row>,
        mut right: Box<dyn Operator + 'p>,
        limit: usize,
    ) -> Result<()> {
        let mut run = Spill::get_or_create(&mut self.spill, ctx)?.create();
        let write = |run: &mut super::spill::SpillWriter, row: &Row| run.write_with(|out| encode_row(row, out));
        for row in std::mem::take(&mut self.build).iter().chain(&more.collect::<Vec<_>>()) {
            write(&mut run, row)?;
        }
        ctx.memory.release(std::mem::take(&mut self.held));
        while let Some(batch) = right.next(ctx)? {
            for row in &batch {
                write(&mut run, row)?;
            }
        }
        let left = std::mem::replace(&mut self.left, Box::new(PartitionOp(None)));
        self.blocked = Some(Box::new(BlockNestedLoop::new(self.shape(), left, run.finish()?, limit)));
        Ok(())
    }

    /// Hashes the build rows on their keys.
    fn index(&mut self, ctx: &mut ExecContext<'_>) -> Result<()> {
        if !self.equi.is_empty() {
            let build = &self.build;
            let equi = self.equi;
            let table = &mut self.table;
            with_env(ctx, &self.outer, |env, _| {
                for (i, row) in build.iter().enumerate() {
                    let key = HashKey(equi.iter().map(|(_, r)| r.eval(row, env)).collect::<Result<_>>()?);
                    if !key.has_null() {
                        table.entry(key).or_default().push(i);
                    }
                }
                Ok(())
            })?;
        }
        self.matched =
            vec![false; if matches!(self.kind, JoinKind::Right | JoinKind::Full) { self.build.len() } else { 0 }];
        Ok(())
    }

    /// Sends the build rows held, `more` of them and the rest of `right` to partitions of a
    /// split at this join's depth, then the left rows to partitions of the same split; the
    /// join goes on as a join of the pairs.
    fn spill_inputs(
        &mut self,
        ctx: &mut ExecContext<'_>,
        more: impl Iterator<Item = Row>,
        mut right: Box<dyn Operator + 'p>,
    ) -> Result<()> {
        let hash_mem = ctx.hash_mem();
        let (equi, kind) = (self.equi, self.kind);
        // A row with a NULL key matches nothing: only an outer join's padding needs it.
        let keep_null_right = matches!(kind, JoinKind::Right | JoinKind::Full);
        let keep_null_left = matches!(kind, JoinKind::Left | JoinKind::Full);
        let mut builds = Partitions::new(ctx, &mut self.spill, self.depth, hash_mem)?;
        let held = std::mem::take(&mut self.build);
        let write = |ctx: &mut ExecContext<'_>,
                     parts: &mut Partitions,
                     rows: &mut dyn Iterator<Item = Row>,
                     left: bool| {
            with_env(ctx, &self.outer, |env, _| {
                for row in rows {
                    let key =
                        equi.iter().map(|(l, r)| if left { l } else { r }.eval(&row, env)).collect::<Result<Row>>()?;
                    let keep = if left { keep_null_left } else { keep_null_right };
                    if keep || !key.iter().any(Value::is_null) {
                        parts.write_row(&key, &row)?;
                    }
                }
                Ok(())
            })
        };
        write(ctx, &mut builds, &mut held.into_iter().chain(more), false)?;
        ctx.memory.release(std::mem::take(&mut self.held));
        while let Some(batch) = right.next(ctx)? {
            write(ctx, &mut builds, &mut batch.into_iter(), false)?;
        }
        let builds = builds.finish_all(ctx)?;
        let mut probes = Partitions::new(ctx, &mut self.spill, self.depth, hash_mem)?;
        while let Some(batch) = self.left.next(ctx)? {
            write(ctx, &mut probes, &mut batch.into_iter(), true)?;
        }
        let pairs = probes.finish_all(ctx)?.into_iter().zip(builds).collect();
        self.spilled = Some(PairWalk::new(pairs_worth_joining(kind, pairs)));
        Ok(())
    }

    /// The next batch of a join that spilled: the current pair's, or the next pair's.
    fn next_spilled(&mut self, ctx: &mut ExecContext<'_>) -> Result<Option<Batch>> {
        let (shape, spill) = (self.shape(), self.spill.clone());
        let Some(walk) = &mut self.spilled else { return Ok(None) };
        walk.next(ctx, |left, right, depth| Box::new(JoinOp::new(shape.clone(), left, right, depth, spill.clone())))
    }

    /// Joins left rows of the pending batch until the output holds a batch's worth.
    fn probe(&mut self, env: &EvalEnv<'_>, out: &mut Batch) -> Result<()> {
        let Some((batch, next)) = &mut self.pending else { return Ok(()) };
        while *next < batch.len() && out.len() < BATCH_ROWS {
            let left = &batch[*next];
            *next += 1;
            let mut any = false;
            let candidates: Box<dyn Iterator<Item = usize>> = if self.equi.is_empty() {
                Box::new(0..self.build.len())
            } else {
                let key = HashKey(self.equi.iter().map(|(l, _)| l.eval(left, env)).collect::<Result<_>>()?);
                match (key.has_null(), self.table.get(&key)) {
                    (false, Some(rows)) => Box::new(rows.iter().copied()),
                    _ => Box::new(std::iter::empty()),
                }
            };
            for i in candidates {
                let mut joined = Vec::with_capacity(self.left_width + self.right_width);
                joined.extend_from_slice(left);
                joined.extend_from_slice(&self.build[i]);
                if let Some(c) = self.condition
                    && !c.qual(&joined, env)?
                {
                    continue;
                }
                any = true;
                if let Some(m) = self.matched.get_mut(i) {
                    *m = true;
                }
                out.push(joined);
            }
            if !any && matches!(self.kind, JoinKind::Left | JoinKind::Full) {
                let mut padded = left.clone();
                padded.resize(self.left_width + self.right_width, Value::Null);
                out.push(padded);
            }
        }
        if *next >= batch.len() {
            self.pending = None;
        }
        Ok(())
    }
}

impl Operator for JoinOp<'_> {
    fn next(&mut self, ctx: &mut ExecContext<'_>) -> Result<Option<Batch>> {
        if let Some(right) = self.right.take() {
            self.build(ctx, right)?;
        }
        if self.spilled.is_some() {
            return self.next_spilled(ctx);
        }
        if let Some(blocked) = &mut self.blocked {
            return blocked.next(ctx);
        }
        let mut out = Vec::new();
        while out.len() < BATCH_ROWS && !self.finished {
            if self.pending.is_none() && !self.left_done {
                match self.left.next(ctx)? {
                    Some(batch) => self.pending = Some((batch, 0)),
                    None => self.left_done = true,
                }
            }
            if self.pending.is_some() {
                let outer = self.outer.clone();
                with_env(ctx, &outer, |env, _| self.probe(env, &mut out))?;
                continue;
            }
            // Left exhausted: unmatched right rows of a RIGHT or FULL join.
            self.finished = true;
            for (i, row) in self.build.iter().enumerate() {
                if self.matched.get(i) == Some(&false) {
                    let mut padded = vec![Value::Null; self.left_width];
                    padded.extend_from_slice(row);
                    out.push(padded);
                }
            }
            // The build side is let go of (a join of partition pairs makes room for the next).
            self.build = Vec::new();
            self.table = HashMap::new();
            ctx.memory.release(std::mem::take(&mut self.held));
        }
        Ok(if out.is_empty() { None } else { Some(out) })
    }
}
