//! A nested-loop join whose inner side outgrew its memory: the inner rows wait in a run of the
//! join's sealed temporary file, and the outer rows are taken a block at a time (as many as the
//! same memory holds); each block meets every inner row in one pass over the run. With `b`
//! blocks the run is read `b` times: PostgreSQL's Materialize node over a spilled tuplestore
//! rescans the same way for each outer row, which this bounds by the block.
//!
//! The join's condition is checked on each pair, after its equality keys when it has some (a
//! hash join's partition pair past the deepest split comes here too). Outer joins pad as
//! usual: a block's unmatched outer rows after its pass; unmatched inner rows (tracked by their
//! place in the run) in one more pass at the end.

use super::join::Shape;
use super::spill::SpillReader;
use super::{BATCH_ROWS, Batch, HashKey, Operator, Row, with_env};
use crate::context::{ExecContext, row_bytes};
use crate::expr::{EvalEnv, Expr};
use crate::rel::JoinKind;
use rustydb_foundation::row::decode_row;
use rustydb_foundation::{Result, Value};

/// Where the join is.
enum Phase {
    /// Joining blocks of outer rows with the run.
    Blocks,
    /// Padding the inner rows no outer row matched (RIGHT and FULL joins).
    UnmatchedInner {
        index: usize,
    },
    Done,
}

/// The join over an inner side spilled to `inner`.
pub(super) struct BlockNestedLoop<'p> {
    join: Shape<'p>,
    left: Box<dyn Operator + 'p>,
    /// Outer rows of a batch read past the block's end.
    left_rest: std::vec::IntoIter<Row>,
    left_done: bool,
    inner: SpillReader,
    /// Which inner rows matched (RIGHT and FULL joins), by place in the run.
    inner_matched: Vec<bool>,
    /// What a block of outer rows may hold.
    limit: usize,
    /// The block: its rows, their keys (`None` for a NULL key), which matched.
    block: Vec<Row>,
    block_keys: Vec<Option<HashKey>>,
    block_matched: Vec<bool>,
    /// Bytes counted against the statement's memory for the block.
    held: usize,
    /// The inner row meeting the block, its key, its place, and the next block row it meets.
    current: Option<(Row, Option<HashKey>, usize, usize)>,
    /// Inner rows read in this pass.
    read: usize,
    phase: Phase,
}

impl<'p> BlockNestedLoop<'p> {
    pub(super) fn new(join: Shape<'p>, left: Box<dyn Operator + 'p>, inner: SpillReader, limit: usize) -> Self {
        let inner_rows = if matches!(join.kind, JoinKind::Right | JoinKind::Full) { inner.remaining() } else { 0 };
        BlockNestedLoop {
            join,
            left,
            left_rest: Vec::new().into_iter(),
            left_done: false,
            inner,
            inner_matched: vec![false; usize::try_from(inner_rows).unwrap_or(usize::MAX)],
            limit,
            block: Vec::new(),
            block_keys: Vec::new(),
            block_matched: Vec::new(),
            held: 0,
            current: None,
            read: 0,
            phase: Phase::Blocks,
        }
    }

    /// Reads the next block of outer rows (at least one, unless there are none left).
    fn load_block(&mut self, ctx: &mut ExecContext<'_>) -> Result<()> {
        loop {
            for row in self.left_rest.by_ref() {
                let bytes = row_bytes(&row);
                // The first row is always taken, so every block makes progress.
                if !self.block.is_empty() && self.held + bytes > self.limit {
                    self.left_rest =
                        std::iter::once(row).chain(self.left_rest.by_ref()).collect::<Vec<_>>().into_iter();
                    return self.keys(ctx);
                }
                ctx.memory.charge(bytes, "a nested loop's block of outer rows")?;
                self.held += bytes;
                self.block.push(row);
            }
            match self.left.next(ctx)? {
                Some(batch) => self.left_rest = batch.into_iter(),
                None => {
                    self.left_done = true;
                    return self.keys(ctx);
                }
            }
        }
    }

    /// The block's equality keys.
    fn keys(&mut self, ctx: &mut ExecContext<'_>) -> Result<()> {
        let equi = self.join.equi;
        self.block_matched = vec![false; self.block.len()];
        if equi.is_empty() {
            return Ok(());
        }
        let block = &self.block;
        self.block_keys = with_env(ctx, &self.join.outer, |env, _| {
            block.iter().map(|row| key(equi.iter().map(|(l, _)| l), row, env)).collect::<Result<Vec<_>>>()
        })?;
        Ok(())
    }

    /// Joins the current inner row with the block's rows until the output is full.
    fn meet(&mut self, env: &EvalEnv<'_>, out: &mut Batch) -> Result<()> {
        let Some((inner, inner_key, place, next)) = &mut self.current else { return Ok(()) };
        while *next < self.block.len() && out.len() < BATCH_ROWS {
            let i = *next;
            *next += 1;
            if !self.join.equi.is_empty() {
                match (&self.block_keys[i], &*inner_key) {
                    (Some(a), Some(b)) if a == b => {}
                    _ => continue,
                }
            }
            let mut joined = Vec::with_capacity(self.join.left_width + self.join.right_width);
            joined.extend_from_slice(&self.block[i]);
            joined.extend_from_slice(inner);
            if let Some(c) = self.join.condition
                && !c.qual(&joined, env)?
            {
                continue;
            }
            self.block_matched[i] = true;
            if let Some(m) = self.inner_matched.get_mut(*place) {
                *m = true;
            }
            out.push(joined);
        }
        if *next >= self.block.len() {
            self.current = None;
        }
        Ok(())
    }

    /// The block is done: its unmatched rows padded (LEFT and FULL joins), its memory given
    /// back.
    fn finish_block(&mut self, ctx: &mut ExecContext<'_>, out: &mut Batch) {
        if matches!(self.join.kind, JoinKind::Left | JoinKind::Full) {
            let width = self.join.left_width + self.join.right_width;
            for (row, matched) in self.block.drain(..).zip(&self.block_matched) {
                if !matched {
                    let mut padded = row;
                    padded.resize(width, Value::Null);
                    out.push(padded);
                }
            }
        }
        self.block.clear();
        self.block_keys.clear();
        ctx.memory.release(std::mem::take(&mut self.held));
    }
}

/// A row's equality key; `None` if any part is NULL (it matches nothing).
fn key<'e>(exprs: impl Iterator<Item = &'e Expr>, row: &[Value], env: &EvalEnv<'_>) -> Result<Option<HashKey>> {
    let key = HashKey(exprs.map(|e| e.eval(row, env)).collect::<Result<_>>()?);
    Ok((!key.has_null()).then_some(key))
}

impl Operator for BlockNestedLoop<'_> {
    fn next(&mut self, ctx: &mut ExecContext<'_>) -> Result<Option<Batch>> {
        let mut out = Vec::new();
        while out.len() < BATCH_ROWS {
            match &mut self.phase {
                Phase::Done => break,
                Phase::UnmatchedInner { index } => {
                    let Some(record) = self.inner.next()? else {
                        self.phase = Phase::Done;
                        continue;
                    };
                    let place = *index;
                    *index += 1;
                    if self.inner_matched.get(place) == Some(&false) {
                        let mut padded = vec![Value::Null; self.join.left_width];
                        padded.extend(decode_row(record, 0)?);
                        out.push(padded);
                    }
                }
                Phase::Blocks if self.block.is_empty() => {
                    if self.left_done {
                        self.phase = if matches!(self.join.kind, JoinKind::Right | JoinKind::Full) {
                            self.inner.rewind();
                            Phase::UnmatchedInner { index: 0 }
                        } else {
                            Phase::Done
                        };
                        continue;
                    }
                    ctx.interrupt.check()?;
                    self.load_block(ctx)?;
                    self.inner.rewind();
                    self.read = 0;
                    self.current = None;
                }
                Phase::Blocks if self.current.is_none() => {
                    let Some(record) = self.inner.next()? else {
                        self.finish_block(ctx, &mut out);
                        continue;
                    };
                    let row = decode_row(record, 0)?;
                    let equi = self.join.equi;
                    let inner_key = if equi.is_empty() {
                        None
                    } else {
                        with_env(ctx, &self.join.outer, |env, _| key(equi.iter().map(|(_, r)| r), &row, env))?
                    };
                    // An inner row with a NULL key meets no outer row.
                    if equi.is_empty() || inner_key.is_some() {
                        self.current = Some((row, inner_key, self.read, 0));
                    }
                    self.read += 1;
                }
                Phase::Blocks => {
                    let outer = self.join.outer.clone();
                    with_env(ctx, &outer, |env, _| self.meet(env, &mut out))?;
                }
            }
        }
        Ok((!out.is_empty()).then_some(out))
    }
}
