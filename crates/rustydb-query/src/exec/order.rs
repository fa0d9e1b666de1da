//! ORDER BY, LIMIT/OFFSET and DISTINCT.
//!
//! Sorting reads its whole input, evaluating the keys once per row, and sorts stably (rows
//! with equal keys keep their input order). Still to come: a bounded top-N sort under a
//! LIMIT, and spilling to disk past `work_mem`; today a sort past the statement's memory limit
//! fails with 53200.

use super::{Batch, Blocking, HashKey, Operator, Row, with_env};
use crate::context::ExecContext;
use crate::plan::SortKey;
use rustydb_foundation::{Result, Value};
use std::cmp::Ordering;
use std::collections::HashSet;
use std::rc::Rc;

/// Compares two rows' evaluated sort keys.
pub fn compare_keys(keys: &[SortKey], a: &[Value], b: &[Value]) -> Ordering {
    for (k, (x, y)) in keys.iter().zip(a.iter().zip(b)) {
        let ord = match (x.is_null(), y.is_null()) {
            (true, true) => Ordering::Equal,
            (true, false) => {
                if k.nulls_first {
                    Ordering::Less
                } else {
                    Ordering::Greater
                }
            }
            (false, true) => {
                if k.nulls_first {
                    Ordering::Greater
                } else {
                    Ordering::Less
                }
            }
            _ => {
                let o = x.sql_cmp(y).unwrap_or(Ordering::Equal);
                if k.descending { o.reverse() } else { o }
            }
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    Ordering::Equal
}

/// The sort operator.
pub struct SortOp<'p> {
    input: Box<dyn Operator + 'p>,
    keys: &'p [SortKey],
    outer: Rc<[Value]>,
}

impl<'p> SortOp<'p> {
    /// Sorts `input` by `keys`.
    pub fn new(input: Box<dyn Operator + 'p>, keys: &'p [SortKey], outer: Rc<[Value]>) -> Self {
        SortOp { input, keys, outer }
    }
}

impl Blocking for SortOp<'_> {
    fn run(&mut self, ctx: &mut ExecContext<'_>) -> Result<Vec<Row>> {
        let mut keyed: Vec<(Row, Row)> = Vec::new();
        while let Some(batch) = self.input.next(ctx)? {
            let keys = self.keys;
            let evaluated = with_env(ctx, &self.outer, |env, _| {
                batch
                    .into_iter()
                    .map(|row| Ok((keys.iter().map(|k| k.expr.eval(&row, env)).collect::<Result<Row>>()?, row)))
                    .collect::<Result<Vec<_>>>()
            })?;
            for (k, row) in &evaluated {
                ctx.hold_row(k, "a sort")?;
                ctx.hold_row(row, "a sort")?;
            }
            keyed.extend(evaluated);
        }
        keyed.sort_by(|a, b| compare_keys(self.keys, &a.0, &b.0));
        Ok(keyed.into_iter().map(|(_, row)| row).collect())
    }
}

/// OFFSET then LIMIT; stops pulling once the limit is met.
pub struct LimitOp<'p> {
    input: Box<dyn Operator + 'p>,
    remaining: Option<u64>,
    skip: u64,
}

impl<'p> LimitOp<'p> {
    /// At most `limit` rows of `input` after the first `offset`.
    pub fn new(input: Box<dyn Operator + 'p>, limit: Option<u64>, offset: u64) -> Self {
        LimitOp { input, remaining: limit, skip: offset }
    }
}

impl Operator for LimitOp<'_> {
    fn next(&mut self, ctx: &mut ExecContext<'_>) -> Result<Option<Batch>> {
        loop {
            if self.remaining == Some(0) {
                return Ok(None);
            }
            let Some(mut batch) = self.input.next(ctx)? else { return Ok(None) };
            if self.skip > 0 {
                let dropped = (self.skip as usize).min(batch.len());
                batch.drain(..dropped);
                self.skip -= dropped as u64;
            }
            if let Some(left) = &mut self.remaining {
                batch.truncate((*left).min(usize::MAX as u64) as usize);
                *left -= batch.len() as u64;
            }
            if !batch.is_empty() {
                return Ok(Some(batch));
            }
        }
    }
}

/// Duplicate rows removed, first occurrences kept, streaming.
pub struct DistinctOp<'p> {
    input: Box<dyn Operator + 'p>,
    seen: HashSet<HashKey>,
}

impl<'p> DistinctOp<'p> {
    /// Distinct rows of `input`.
    pub fn new(input: Box<dyn Operator + 'p>) -> Self {
        DistinctOp { input, seen: HashSet::new() }
    }
}

impl Operator for DistinctOp<'_> {
    fn next(&mut self, ctx: &mut ExecContext<'_>) -> Result<Option<Batch>> {
        while let Some(batch) = self.input.next(ctx)? {
            let mut out = Vec::new();
            for row in batch {
                let key = HashKey(row);
                if !self.seen.contains(&key) {
                    ctx.hold_row(&key.0, "DISTINCT")?;
                    out.push(key.0.clone());
                    self.seen.insert(key);
                }
            }
            if !out.is_empty() {
                return Ok(Some(out));
            }
        }
        Ok(None)
    }
}
