//! Joins. The right input is the build side: read whole, and hashed on the join's equality
//! keys when it has some (a hash join), or kept as a list (a nested-loop join, for conditions
//! with no equality). Left rows then stream through, each meeting its candidates; what the
//! keys match is still checked against the rest of the condition. Outer joins pad unmatched
//! rows with NULLs: left rows as they pass, right rows (tracked in a bitmap) at the end.
//! A NULL key matches nothing, as `=` says.

use super::{BATCH_ROWS, Batch, HashKey, Operator, Row, drain, with_env};
use crate::context::ExecContext;
use crate::expr::{EvalEnv, Expr};
use crate::rel::JoinKind;
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
    Box::new(JoinOp {
        kind,
        left,
        right: Some(right),
        equi,
        condition,
        left_width,
        right_width,
        outer: outer.clone(),
        build: Vec::new(),
        table: HashMap::new(),
        matched: Vec::new(),
        pending: None,
        left_done: false,
        finished: false,
    })
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
    build: Vec<Row>,
    table: HashMap<HashKey, Vec<usize>>,
    matched: Vec<bool>,
    /// The left batch being probed, and the next row of it.
    pending: Option<(Batch, usize)>,
    left_done: bool,
    finished: bool,
}

impl JoinOp<'_> {
    fn build(&mut self, ctx: &mut ExecContext<'_>, mut right: Box<dyn Operator + '_>) -> Result<()> {
        self.build = drain(ctx, right.as_mut(), "a join's inner side")?;
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
        }
        Ok(if out.is_empty() { None } else { Some(out) })
    }
}
