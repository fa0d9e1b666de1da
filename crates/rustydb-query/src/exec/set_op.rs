//! UNION ALL, INTERSECT [ALL] and EXCEPT [ALL]. (UNION, INTERSECT and EXCEPT without ALL are
//! these under a [`super::distinct::DistinctOp`], which removes the duplicates.)
//!
//! - UNION ALL: left, then right.
//! - INTERSECT and EXCEPT: the right input is read into a multiset first; left rows then
//!   stream through. With ALL a left row consumes one copy: INTERSECT ALL passes it while the
//!   right has copies left, EXCEPT ALL passes it when none is left. Without ALL nothing is
//!   consumed: INTERSECT passes a left row the right holds, EXCEPT one it does not.
//!
//! **Spilling**: the multiset may hold `work_mem` × `hash_mem_multiplier`. Past that, both
//! inputs go to hash partitions of one split on disk (the right's rows held as well, a copy per
//! count) and each pair of partitions is worked by an operator of its own, one after another,
//! splitting again if its multiset overflows: copies of a row always share a pair.

use super::hash_spill::{PairWalk, Partitions, charge_leaving_room, partition_buffers};
use super::spill::Spill;
use super::{Batch, HashKey, Operator, Row};
use crate::context::{ExecContext, row_bytes};
use crate::rel::SetOpKind;
use rustydb_foundation::Result;
use std::collections::HashMap;

/// Splits deeper than this are not made: the multiset is held whatever it takes.
const MAX_DEPTH: u32 = 6;

/// What a distinct row of the multiset costs besides its values.
const PER_ROW: usize = 24;

/// The set operation operator.
pub struct SetOpOp<'p> {
    kind: SetOpKind,
    all: bool,
    left: Box<dyn Operator + 'p>,
    right: Option<Box<dyn Operator + 'p>>,
    left_done: bool,
    counts: HashMap<HashKey, usize>,
    /// Bytes counted against the statement's memory for `counts`.
    held: usize,
    depth: u32,
    spill: Option<Spill>,
    /// Once spilled: the operators of the (left, right) partition pairs.
    spilled: Option<PairWalk<'p>>,
}

impl<'p> SetOpOp<'p> {
    /// `left kind [ALL] right`; without ALL, the caller removes duplicates from the output.
    pub fn new(kind: SetOpKind, all: bool, left: Box<dyn Operator + 'p>, right: Box<dyn Operator + 'p>) -> Self {
        SetOpOp {
            kind,
            all,
            left,
            right: Some(right),
            left_done: false,
            counts: HashMap::new(),
            held: 0,
            depth: 0,
            spill: None,
            spilled: None,
        }
    }

    /// Reads the right input into the multiset, or spills both inputs if it outgrows its memory.
    fn read_right(&mut self, ctx: &mut ExecContext<'_>, mut right: Box<dyn Operator + 'p>) -> Result<()> {
        let hash_mem = ctx.hash_mem();
        let reserve = partition_buffers(hash_mem);
        let can_spill = self.depth < MAX_DEPTH;
        while let Some(batch) = right.next(ctx)? {
            let mut rows = batch.into_iter();
            while let Some(row) = rows.next() {
                let key = HashKey(row);
                if let Some(n) = self.counts.get_mut(&key) {
                    *n += 1;
                    continue;
                }
                let bytes = row_bytes(&key.0) + PER_ROW;
                let must = !can_spill || self.counts.is_empty();
                let room = if can_spill { reserve } else { 0 };
                if (must || self.held + bytes <= hash_mem)
                    && charge_leaving_room(&mut ctx.memory, bytes, room, "a set operation", must)?
                {
                    self.held += bytes;
                    self.counts.insert(key, 1);
                    continue;
                }
                return self.spill_inputs(ctx, std::iter::once(key.0).chain(rows), right);
            }
        }
        Ok(())
    }

    /// Sends the right rows held (a copy per count), `more` and the rest of `right`, then the
    /// left rows, to partitions of one split; the operator goes on as a walk over the pairs.
    fn spill_inputs(
        &mut self,
        ctx: &mut ExecContext<'_>,
        more: impl Iterator<Item = Row>,
        mut right: Box<dyn Operator + 'p>,
    ) -> Result<()> {
        let hash_mem = ctx.hash_mem();
        let mut rights = Partitions::new(ctx, &mut self.spill, self.depth, hash_mem)?;
        for (key, n) in std::mem::take(&mut self.counts) {
            for _ in 0..n {
                rights.write_row(&key.0, &key.0)?;
            }
        }
        ctx.memory.release(std::mem::take(&mut self.held));
        for row in more {
            rights.write_row(&row, &row)?;
        }
        while let Some(batch) = right.next(ctx)? {
            for row in batch {
                rights.write_row(&row, &row)?;
            }
        }
        let rights = rights.finish_all(ctx)?;
        let mut lefts = Partitions::new(ctx, &mut self.spill, self.depth, hash_mem)?;
        while let Some(batch) = self.left.next(ctx)? {
            for row in batch {
                lefts.write_row(&row, &row)?;
            }
        }
        // Only a pair with left rows can output any.
        let pairs = lefts.finish_all(ctx)?.into_iter().zip(rights).filter(|(l, _)| !l.is_empty()).collect();
        self.spilled = Some(PairWalk::new(pairs));
        Ok(())
    }

    /// The next batch of an operator that spilled: the current pair's, or the next pair's.
    fn next_spilled(&mut self, ctx: &mut ExecContext<'_>) -> Result<Option<Batch>> {
        let (kind, all, spill) = (self.kind, self.all, self.spill.clone());
        let Some(walk) = &mut self.spilled else { return Ok(None) };
        walk.next(ctx, |left, right, depth| {
            let mut op = SetOpOp::new(kind, all, left, right);
            op.depth = depth;
            op.spill = spill.clone();
            Box::new(op)
        })
    }
}

impl Operator for SetOpOp<'_> {
    fn next(&mut self, ctx: &mut ExecContext<'_>) -> Result<Option<Batch>> {
        if self.kind == SetOpKind::Union {
            loop {
                let batch = if !self.left_done {
                    match self.left.next(ctx)? {
                        Some(b) => b,
                        None => {
                            self.left_done = true;
                            continue;
                        }
                    }
                } else {
                    match self.right.as_mut() {
                        Some(r) => match r.next(ctx)? {
                            Some(b) => b,
                            None => return Ok(None),
                        },
                        None => return Ok(None),
                    }
                };
                return Ok(Some(batch));
            }
        }
        if let Some(right) = self.right.take() {
            self.read_right(ctx, right)?;
        }
        if self.spilled.is_some() {
            return self.next_spilled(ctx);
        }
        while let Some(batch) = self.left.next(ctx)? {
            let mut out = Vec::new();
            for row in batch {
                let key = HashKey(row);
                let pass = match (self.kind, self.all) {
                    (SetOpKind::Intersect, true) => match self.counts.get_mut(&key) {
                        Some(n) if *n > 0 => {
                            *n -= 1;
                            true
                        }
                        _ => false,
                    },
                    (SetOpKind::Intersect, false) => self.counts.contains_key(&key),
                    (SetOpKind::Except, true) => match self.counts.get_mut(&key) {
                        Some(n) if *n > 0 => {
                            *n -= 1;
                            false
                        }
                        _ => true,
                    },
                    (SetOpKind::Except, false) => !self.counts.contains_key(&key),
                    (SetOpKind::Union, _) => true,
                };
                if pass {
                    out.push(key.0);
                }
            }
            if !out.is_empty() {
                return Ok(Some(out));
            }
        }
        // Done: the multiset's memory is free (for the next pair, if this is one).
        self.counts = HashMap::new();
        ctx.memory.release(std::mem::take(&mut self.held));
        Ok(None)
    }
}
