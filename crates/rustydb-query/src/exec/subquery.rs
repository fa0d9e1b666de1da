//! Running subqueries for expressions. An uncorrelated subquery's answer does not depend on
//! the row, so its rows are read once per statement and cached by subquery id (for `IN` and
//! `= ANY`, with a hash set of the values). A correlated one runs again for every row, with
//! that row followed by its own outer row as the subquery's outer row, and stops reading as
//! soon as the answer is known.

use super::{HashKey, open};
use crate::context::ExecContext;
use crate::expr::{BinaryOp, Subquery, SubqueryKind, binary};
use rustydb_foundation::{DataType, DbError, Result, SqlState, Value};
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

/// What a statement has learned of its uncorrelated subqueries, by id.
#[derive(Debug, Default)]
pub struct SubqueryCache {
    results: HashMap<usize, Rc<Cached>>,
}

#[derive(Debug)]
struct Cached {
    /// The first column of every row.
    values: Vec<Value>,
    /// The non-NULL values, for `= ANY` lookups.
    set: HashSet<HashKey>,
    has_null: bool,
}

fn too_many_rows() -> DbError {
    DbError::sql(SqlState::CardinalityViolation, "more than one row returned by a subquery used as an expression")
}

/// The value of `sq` for the enclosing row `row` (with its own outer row `outer`).
pub fn run(
    ctx: &mut ExecContext<'_>,
    sq: &Subquery,
    row: &[Value],
    outer: &[Value],
    arg: Option<Value>,
) -> Result<Value> {
    if !sq.correlated {
        let cached = match ctx.subqueries.results.get(&sq.id) {
            Some(c) => c.clone(),
            None => {
                let values: Vec<Value> = super::collect(ctx, &sq.plan, "a subquery's result")?
                    .into_iter()
                    .map(|r| r.into_iter().next().unwrap_or(Value::Null))
                    .collect();
                let has_null = values.iter().any(Value::is_null);
                // Only `= ANY` probes the set; other kinds read the values.
                let set = match sq.kind {
                    SubqueryKind::Any { op: BinaryOp::Eq, .. } => {
                        values.iter().filter(|v| !v.is_null()).map(|v| HashKey(vec![v.clone()])).collect()
                    }
                    _ => HashSet::new(),
                };
                let c = Rc::new(Cached { values, set, has_null });
                ctx.subqueries.results.insert(sq.id, c.clone());
                c
            }
        };
        return answer_cached(sq, &cached, arg);
    }
    let inner_outer: Rc<[Value]> = row.iter().chain(outer).cloned().collect::<Vec<_>>().into();
    // The run stops as soon as the answer is known, before its operators give back what they
    // hold: once they are dropped, everything the run counted is given back at once.
    let before = ctx.memory.used();
    let answer = run_correlated(ctx, sq, &inner_outer, arg);
    let counted = ctx.memory.used().saturating_sub(before);
    ctx.memory.release(counted);
    answer
}

/// Runs a correlated subquery until its answer is known.
fn run_correlated(ctx: &mut ExecContext<'_>, sq: &Subquery, outer: &Rc<[Value]>, arg: Option<Value>) -> Result<Value> {
    let mut op = open(&sq.plan, outer);
    let mut state = Streaming::new(&sq.kind, arg);
    while let Some(batch) = op.next(ctx)? {
        for r in batch {
            if let Some(done) = state.feed(r.into_iter().next().unwrap_or(Value::Null))? {
                return Ok(done);
            }
        }
    }
    Ok(state.finish())
}

fn answer_cached(sq: &Subquery, c: &Cached, arg: Option<Value>) -> Result<Value> {
    match &sq.kind {
        SubqueryKind::Exists => Ok(Value::Bool(!c.values.is_empty())),
        SubqueryKind::Array { element } => Ok(Value::Array(*element, c.values.clone())),
        SubqueryKind::Scalar => match c.values.as_slice() {
            [] => Ok(Value::Null),
            [v] => Ok(v.clone()),
            _ => Err(too_many_rows()),
        },
        SubqueryKind::Any { op: BinaryOp::Eq, .. } => {
            let arg = arg.unwrap_or(Value::Null);
            if c.values.is_empty() {
                return Ok(Value::Bool(false));
            }
            if arg.is_null() {
                return Ok(Value::Null);
            }
            if c.set.contains(&HashKey(vec![arg])) {
                Ok(Value::Bool(true))
            } else if c.has_null {
                Ok(Value::Null)
            } else {
                Ok(Value::Bool(false))
            }
        }
        kind => {
            let mut state = Streaming::new(kind, arg);
            for v in &c.values {
                if let Some(done) = state.feed(v.clone())? {
                    return Ok(done);
                }
            }
            Ok(state.finish())
        }
    }
}

/// An answer built row by row, finished early when it can no longer change.
struct Streaming<'k> {
    kind: &'k SubqueryKind,
    arg: Value,
    rows: usize,
    first: Value,
    saw_null: bool,
    /// `ARRAY(...)`'s elements so far.
    collected: Vec<Value>,
}

impl<'k> Streaming<'k> {
    fn new(kind: &'k SubqueryKind, arg: Option<Value>) -> Self {
        Streaming {
            kind,
            arg: arg.unwrap_or(Value::Null),
            rows: 0,
            first: Value::Null,
            saw_null: false,
            collected: Vec::new(),
        }
    }

    /// Takes the next row's first column; `Some` when the answer is known.
    fn feed(&mut self, v: Value) -> Result<Option<Value>> {
        self.rows += 1;
        match self.kind {
            SubqueryKind::Exists => Ok(Some(Value::Bool(true))),
            SubqueryKind::Array { .. } => {
                self.collected.push(v);
                Ok(None)
            }
            SubqueryKind::Scalar => {
                if self.rows > 1 {
                    return Err(too_many_rows());
                }
                self.first = v;
                Ok(None)
            }
            SubqueryKind::Any { op, .. } | SubqueryKind::All { op, .. } => {
                let any = matches!(self.kind, SubqueryKind::Any { .. });
                match binary(*op, self.arg.clone(), v, DataType::Bool)? {
                    Value::Bool(b) if b == any => Ok(Some(Value::Bool(any))),
                    Value::Bool(_) => Ok(None),
                    _ => {
                        self.saw_null = true;
                        Ok(None)
                    }
                }
            }
        }
    }

    fn finish(self) -> Value {
        match self.kind {
            SubqueryKind::Exists => Value::Bool(false),
            SubqueryKind::Array { element } => Value::Array(*element, self.collected),
            SubqueryKind::Scalar => self.first,
            SubqueryKind::Any { .. } | SubqueryKind::All { .. } => {
                let any = matches!(self.kind, SubqueryKind::Any { .. });
                if self.saw_null { Value::Null } else { Value::Bool(!any) }
            }
        }
    }
}
