//! Window functions. The operator reads its whole input, then computes each call as one
//! column: rows are ordered by the call's partition keys and ORDER BY (stably), each
//! partition is walked once, and each row's value lands at the row's input position. Output
//! rows are the input rows, each followed by its values, in the order of the last call's
//! sort (as PostgreSQL's WindowAgg outputs them).
//!
//! Frames: ROWS with offsets, and RANGE with UNBOUNDED/CURRENT ROW (peers, the rows with equal
//! ORDER BY keys, share a frame end). Aggregates over a frame that starts at the partition's
//! start run incrementally; other frames aggregate their rows afresh for each row.

use super::aggregate::{Accumulator, finish, initial, update};
use super::key::grouping_equal;
use super::order::compare_keys;
use super::{Blocking, Operator, Row, drain, with_env};
use crate::context::ExecContext;
use crate::expr::EvalEnv;
use crate::plan::SortKey;
use crate::rel::{AggCall, FrameBound, WindowCall, WindowFunc};
use rustydb_foundation::{DbError, Result, SqlState, Value};
use std::cmp::Ordering;
use std::rc::Rc;

/// The window operator.
pub struct WindowOp<'p> {
    input: Box<dyn Operator + 'p>,
    calls: &'p [WindowCall],
    outer: Rc<[Value]>,
}

impl<'p> WindowOp<'p> {
    /// Computes `calls` over `input`.
    pub fn new(input: Box<dyn Operator + 'p>, calls: &'p [WindowCall], outer: Rc<[Value]>) -> Self {
        WindowOp { input, calls, outer }
    }
}

impl Blocking for WindowOp<'_> {
    fn run(&mut self, ctx: &mut ExecContext<'_>) -> Result<Vec<Row>> {
        let rows = drain(ctx, self.input.as_mut(), "a window function")?;
        let calls = self.calls;
        let (columns, order) = with_env(ctx, &self.outer, |env, _| {
            let mut columns = Vec::with_capacity(calls.len());
            let mut order: Vec<usize> = (0..rows.len()).collect();
            for call in calls {
                let (values, sorted) = compute(call, &rows, env)?;
                columns.push(values);
                order = sorted;
            }
            Ok((columns, order))
        })?;
        let mut slots: Vec<Option<Row>> = rows.into_iter().map(Some).collect();
        let mut out = Vec::with_capacity(slots.len());
        for i in order {
            let Some(mut row) = slots[i].take() else { continue };
            for column in &columns {
                row.push(column[i].clone());
            }
            out.push(row);
        }
        Ok(out)
    }
}

/// One call's value for every row (by input position), and the rows in its sort order.
fn compute(call: &WindowCall, rows: &[Row], env: &EvalEnv<'_>) -> Result<(Vec<Value>, Vec<usize>)> {
    let mut partition_keys = Vec::with_capacity(rows.len());
    let mut order_keys = Vec::with_capacity(rows.len());
    for row in rows {
        partition_keys.push(call.partition.iter().map(|e| e.eval(row, env)).collect::<Result<Row>>()?);
        order_keys.push(call.order.iter().map(|k| k.expr.eval(row, env)).collect::<Result<Row>>()?);
    }
    let partition_sort: Vec<SortKey> =
        call.partition.iter().map(|e| SortKey { expr: e.clone(), descending: false, nulls_first: false }).collect();
    let mut sorted: Vec<usize> = (0..rows.len()).collect();
    sorted.sort_by(|&a, &b| {
        compare_keys(&partition_sort, &partition_keys[a], &partition_keys[b])
            .then_with(|| compare_keys(&call.order, &order_keys[a], &order_keys[b]))
    });
    let mut values = vec![Value::Null; rows.len()];
    let mut start = 0;
    while start < sorted.len() {
        let key = &partition_keys[sorted[start]];
        let mut end = start + 1;
        while end < sorted.len() && grouping_equal(&partition_keys[sorted[end]], key) {
            end += 1;
        }
        let part = &sorted[start..end];
        let peers =
            |p: usize| compare_keys(&call.order, &order_keys[part[p]], &order_keys[part[p - 1]]) == Ordering::Equal;
        let partition = Partition { call, rows, part, peer_start: peer_starts(part.len(), &peers), env };
        partition.fill(&mut values)?;
        start = end;
    }
    Ok((values, sorted))
}

/// For each position, the position where its peer group starts.
fn peer_starts(len: usize, same_as_previous: &dyn Fn(usize) -> bool) -> Vec<usize> {
    let mut starts = Vec::with_capacity(len);
    for p in 0..len {
        starts.push(if p > 0 && same_as_previous(p) { starts[p - 1] } else { p });
    }
    starts
}

struct Partition<'a> {
    call: &'a WindowCall,
    rows: &'a [Row],
    /// Input positions of the partition's rows, in window order.
    part: &'a [usize],
    peer_start: Vec<usize>,
    env: &'a EvalEnv<'a>,
}

impl Partition<'_> {
    fn len(&self) -> usize {
        self.part.len()
    }

    /// The end (exclusive) of the peer group of position `p`.
    fn peer_end(&self, p: usize) -> usize {
        let mut e = p + 1;
        while e < self.len() && self.peer_start[e] == self.peer_start[p] {
            e += 1;
        }
        e
    }

    /// The frame of position `p`: positions `start..end`.
    fn frame(&self, p: usize) -> (usize, usize) {
        let f = self.call.frame;
        let m = self.len();
        let offset = |k: u64| usize::try_from(k).unwrap_or(usize::MAX);
        let start = match f.start {
            FrameBound::UnboundedPreceding => 0,
            FrameBound::Preceding(k) => p.saturating_sub(offset(k)),
            FrameBound::CurrentRow if f.rows => p,
            FrameBound::CurrentRow => self.peer_start[p],
            FrameBound::Following(k) => p.saturating_add(offset(k)).min(m),
            FrameBound::UnboundedFollowing => m,
        };
        let end = match f.end {
            FrameBound::UnboundedPreceding => 0,
            FrameBound::Preceding(k) => (p + 1).saturating_sub(offset(k)),
            FrameBound::CurrentRow if f.rows => p + 1,
            FrameBound::CurrentRow => self.peer_end(p),
            FrameBound::Following(k) => p.saturating_add(offset(k)).saturating_add(1).min(m),
            FrameBound::UnboundedFollowing => m,
        };
        (start, end.max(start))
    }

    fn arg(&self, i: usize, p: usize) -> Result<Value> {
        match self.call.args.get(i) {
            Some(e) => e.eval(&self.rows[self.part[p]], self.env),
            None => Ok(Value::Null),
        }
    }

    fn fill(&self, values: &mut [Value]) -> Result<()> {
        let m = self.len();
        let set = |values: &mut [Value], p: usize, v: Value| values[self.part[p]] = v;
        match self.call.func {
            WindowFunc::RowNumber => (0..m).for_each(|p| set(values, p, Value::Int8(p as i64 + 1))),
            WindowFunc::Rank => (0..m).for_each(|p| set(values, p, Value::Int8(self.peer_start[p] as i64 + 1))),
            WindowFunc::DenseRank => {
                let mut rank = 0;
                for p in 0..m {
                    if self.peer_start[p] == p {
                        rank += 1;
                    }
                    set(values, p, Value::Int8(rank));
                }
            }
            WindowFunc::PercentRank => (0..m).for_each(|p| {
                let v = if m > 1 { self.peer_start[p] as f64 / (m - 1) as f64 } else { 0.0 };
                set(values, p, Value::Float8(v));
            }),
            WindowFunc::CumeDist => {
                (0..m).for_each(|p| set(values, p, Value::Float8(self.peer_end(p) as f64 / m as f64)))
            }
            WindowFunc::Ntile => {
                for p in 0..m {
                    let buckets = match self.arg(0, p)? {
                        Value::Null => {
                            set(values, p, Value::Null);
                            continue;
                        }
                        v => v.as_i64().unwrap_or(0),
                    };
                    if buckets <= 0 {
                        return Err(DbError::sql(
                            SqlState::InvalidArgumentForNtile,
                            "argument of ntile must be greater than zero",
                        ));
                    }
                    set(values, p, Value::Int4(ntile(p, m, buckets as usize) as i32));
                }
            }
            WindowFunc::Lag | WindowFunc::Lead => {
                for p in 0..m {
                    let offset = match self.call.args.len() {
                        1 => 1,
                        _ => match self.arg(1, p)? {
                            Value::Null => {
                                set(values, p, Value::Null);
                                continue;
                            }
                            v => v.as_i64().unwrap_or(0),
                        },
                    };
                    let target = if self.call.func == WindowFunc::Lag { p as i64 - offset } else { p as i64 + offset };
                    let v =
                        if (0..m as i64).contains(&target) { self.arg(0, target as usize)? } else { self.arg(2, p)? };
                    set(values, p, v);
                }
            }
            WindowFunc::FirstValue | WindowFunc::LastValue | WindowFunc::NthValue => {
                for p in 0..m {
                    let (start, end) = self.frame(p);
                    let at = match self.call.func {
                        WindowFunc::FirstValue => (start < end).then_some(start),
                        WindowFunc::LastValue => (start < end).then(|| end - 1),
                        _ => {
                            let n = self.arg(1, p)?.as_i64().unwrap_or(0);
                            if n <= 0 {
                                return Err(DbError::sql(
                                    SqlState::InvalidArgumentForNthValue,
                                    "argument of nth_value must be greater than zero",
                                ));
                            }
                            let at = start + (n as usize - 1);
                            (at < end).then_some(at)
                        }
                    };
                    let v = match at {
                        Some(q) => self.arg(0, q)?,
                        None => Value::Null,
                    };
                    set(values, p, v);
                }
            }
            WindowFunc::Aggregate(func) => self.aggregate(func, values)?,
        }
        Ok(())
    }

    fn aggregate(&self, func: crate::rel::AggFunc, values: &mut [Value]) -> Result<()> {
        let call = AggCall {
            func,
            args: self.call.args.clone(),
            distinct: false,
            filter: self.call.filter.clone(),
            order: Vec::new(),
            ty: self.call.ty,
        };
        let m = self.len();
        let add = |acc: &mut Accumulator, q: usize| update(acc, &call, &self.rows[self.part[q]], self.env).map(|_| ());
        if self.call.frame.start == FrameBound::UnboundedPreceding {
            // Frames grow with the position: add rows as the frame end passes them.
            let mut acc = initial(&call);
            let mut added = 0;
            for p in 0..m {
                let (_, end) = self.frame(p);
                while added < end {
                    add(&mut acc, added)?;
                    added += 1;
                }
                values[self.part[p]] = finish(acc.clone(), &call)?;
            }
            return Ok(());
        }
        for p in 0..m {
            let (start, end) = self.frame(p);
            let mut acc = initial(&call);
            for q in start..end {
                add(&mut acc, q)?;
            }
            values[self.part[p]] = finish(acc, &call)?;
        }
        Ok(())
    }
}

/// The bucket (1-based) of position `p` of `m` rows split into `buckets` as evenly as
/// possible, the first `m % buckets` buckets one row larger.
fn ntile(p: usize, m: usize, buckets: usize) -> usize {
    let buckets = buckets.min(m.max(1));
    let small = m / buckets;
    let large = m % buckets;
    let in_large = large * (small + 1);
    if p < in_large { p / (small + 1) + 1 } else { large + (p - in_large) / small.max(1) + 1 }
}

#[cfg(test)]
mod tests {
    use super::ntile;

    #[test]
    fn ntile_splits_like_postgres() {
        let buckets: Vec<usize> = (0..10).map(|p| ntile(p, 10, 3)).collect();
        assert_eq!(buckets, vec![1, 1, 1, 1, 2, 2, 2, 3, 3, 3]);
        let buckets: Vec<usize> = (0..3).map(|p| ntile(p, 3, 5)).collect();
        assert_eq!(buckets, vec![1, 2, 3]);
    }
}
