//! Set-returning functions in FROM and LATERAL joins.
//!
//! A function's values are produced lazily (see `table_function`), a batch at a time. A
//! LATERAL join runs its right side once per left row, that row (then the join's own outer
//! row) being the right side's outer row — the same mechanism a correlated subquery uses.

use super::{BATCH_ROWS, Batch, Operator, Row, drain, open, with_env};
use crate::context::ExecContext;
use crate::expr::Expr;
use crate::rel::{JoinKind, Rel};
use crate::table_function::{Produced, TableCall};
use rustydb_foundation::{Result, Value};
use std::rc::Rc;

/// Runs [`Rel::Function`].
pub struct FunctionOp<'p> {
    calls: &'p [TableCall],
    ordinality: bool,
    outer: Rc<[Value]>,
    /// Each call's remaining values (`None` until the first batch).
    producers: Option<Vec<Produced>>,
    ordinal: i64,
}

impl<'p> FunctionOp<'p> {
    /// The operator for `calls`, whose arguments read `outer`.
    pub fn new(calls: &'p [TableCall], ordinality: bool, outer: Rc<[Value]>) -> Self {
        FunctionOp { calls, ordinality, outer, producers: None, ordinal: 0 }
    }
}

impl Operator for FunctionOp<'_> {
    fn next(&mut self, ctx: &mut ExecContext<'_>) -> Result<Option<Batch>> {
        let producers = match &mut self.producers {
            Some(p) => p,
            None => {
                let calls = self.calls;
                let produced = with_env(ctx, &self.outer, |env, _| {
                    calls
                        .iter()
                        .map(|call| call.rows(call.args.iter().map(|a| a.eval(&[], env)).collect::<Result<_>>()?))
                        .collect::<Result<Vec<_>>>()
                })?;
                self.producers.insert(produced)
            }
        };
        let mut batch = Vec::new();
        let width: usize = self.calls.iter().map(TableCall::width).sum::<usize>() + usize::from(self.ordinality);
        while batch.len() < BATCH_ROWS {
            let mut any = false;
            let mut row: Row = Vec::with_capacity(width);
            for (p, call) in producers.iter_mut().zip(self.calls) {
                if p.push_next(&mut row) {
                    any = true;
                } else {
                    row.extend(std::iter::repeat_n(Value::Null, call.width()));
                }
            }
            if !any {
                break;
            }
            self.ordinal += 1;
            if self.ordinality {
                row.push(Value::Int8(self.ordinal));
            }
            batch.push(row);
        }
        Ok((!batch.is_empty()).then_some(batch))
    }
}

/// Runs [`Rel::Lateral`].
pub struct LateralOp<'p> {
    kind: JoinKind,
    left: Box<dyn Operator + 'p>,
    right: &'p Rel,
    right_width: usize,
    condition: Option<&'p Expr>,
    outer: Rc<[Value]>,
}

impl<'p> LateralOp<'p> {
    /// The join of `left`'s rows with what `right` gives for each.
    pub fn new(
        kind: JoinKind,
        left: Box<dyn Operator + 'p>,
        right: &'p Rel,
        condition: Option<&'p Expr>,
        outer: Rc<[Value]>,
    ) -> Self {
        LateralOp { kind, left, right_width: right.output().len(), right, condition, outer }
    }
}

impl Operator for LateralOp<'_> {
    fn next(&mut self, ctx: &mut ExecContext<'_>) -> Result<Option<Batch>> {
        while let Some(lefts) = self.left.next(ctx)? {
            let mut out = Vec::new();
            for left in lefts {
                let inner_outer: Rc<[Value]> = left.iter().chain(self.outer.iter()).cloned().collect();
                // What the item's run counts (its rows, and whatever its operators held) is
                // given back once its rows are joined.
                let before = ctx.memory.used();
                let rights = drain(ctx, open(self.right, &inner_outer).as_mut(), "a LATERAL item's rows");
                let counted = ctx.memory.used().saturating_sub(before);
                ctx.memory.release(counted);
                let rights = rights?;
                let mut matched = false;
                for right in rights {
                    let joined: Row = left.iter().cloned().chain(right).collect();
                    let passes = match self.condition {
                        None => true,
                        Some(c) => with_env(ctx, &self.outer, |env, _| c.qual(&joined, env))?,
                    };
                    if passes {
                        matched = true;
                        out.push(joined);
                    }
                }
                if !matched && self.kind == JoinKind::Left {
                    out.push(left.into_iter().chain(std::iter::repeat_n(Value::Null, self.right_width)).collect());
                }
            }
            if !out.is_empty() {
                return Ok(Some(out));
            }
        }
        Ok(None)
    }
}
