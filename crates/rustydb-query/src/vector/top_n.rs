//! ORDER BY ... LIMIT over column batches (a vectorized top-N).
//!
//! The sort keys are evaluated a batch at a time; once the best `limit + offset` rows are
//! known, a row is compared with the worst kept key straight from the key columns, unboxed,
//! and only a row that beats it becomes a `Vec<Value>` and joins the row executor's top-N
//! ([`crate::exec::TopN`]), which keeps the result and its stability (ties in input order)
//! exactly as a row plan would. Over a big enough table, worker threads each keep the best of
//! their share, and the best of those is kept (see `super::parallel`).

use super::Pipeline;
use super::column::{Column, Data};
use super::expr::VExpr;
use crate::context::ExecContext;
use crate::exec::{Row, TopN};
use crate::plan::SortKey;
use crate::rel::Rel;
use rustydb_foundation::value::total_float_cmp;
use rustydb_foundation::{Result, Value};
use std::cmp::Ordering;

/// The largest LIMIT (plus OFFSET) a parallel top-N takes: every thread holds up to twice
/// that many rows, uncounted until they are merged.
const MAX_PARALLEL_BOUND: usize = 10_000;

/// A vectorized bounded sort.
#[derive(Debug)]
pub struct VectorTopN<'p> {
    input: Pipeline<'p>,
    keys: &'p [SortKey],
    compiled: Vec<VExpr>,
    width: usize,
    bound: usize,
}

impl<'p> VectorTopN<'p> {
    /// The vectorized form of the first `bound` rows of `input` ordered by `keys`, if there
    /// is one (every key and every output column of integer, float or boolean type).
    pub fn build(input: &'p Rel, keys: &'p [SortKey], bound: usize) -> Option<Self> {
        let compiled = keys.iter().map(|k| VExpr::compile(&k.expr)).collect::<Option<Vec<_>>>()?;
        let width = input.output().len();
        let all: Vec<VExpr> =
            (0..width).map(|index| VExpr::Column { index, ty: rustydb_foundation::DataType::Unknown }).collect();
        let mut above: Vec<&VExpr> = all.iter().collect();
        above.extend(compiled.iter());
        let input = Pipeline::build(input, &above)?;
        // Every output column must be decoded (a text column cannot be, yet).
        if input.output_types().iter().take(width).filter(|t| t.is_some()).count() != width {
            return None;
        }
        Some(VectorTopN { input, keys, compiled, width, bound })
    }

    /// The best rows, in order.
    pub fn run(&mut self, ctx: &mut ExecContext<'_>) -> Result<Vec<Row>> {
        let workers = ctx.parallel_workers();
        let kept = match self.run_parallel(ctx, workers)? {
            Some(kept) => kept,
            None => {
                let mut top = TopN::new(self.keys, self.bound);
                while let Some(batch) = self.input.next(ctx)? {
                    offer(self.keys, &self.compiled, self.width, &mut top, &batch)?;
                }
                top.finish()
            }
        };
        for (key, row) in &kept {
            ctx.hold_row(key, "a sort")?;
            ctx.hold_row(row, "a sort")?;
        }
        Ok(kept.into_iter().map(|(_, row)| row).collect())
    }

    /// The best rows found by the statement's thread and `workers` more, each keeping the best
    /// of its share of the scan's pages (see `super::parallel`), then the best of theirs. Ties
    /// come in thread order rather than scan order, as PostgreSQL's Gather Merge leaves them.
    /// `None` if the input is not one the workers can share.
    fn run_parallel(&mut self, ctx: &mut ExecContext<'_>, workers: usize) -> Result<Option<Vec<(Row, Row)>>> {
        // Each thread keeps up to twice the bound: only small bounds are worth it.
        if workers == 0 || self.bound > MAX_PARALLEL_BOUND || !self.input.prepare_parallel(ctx)? {
            return Ok(None);
        }
        let Some(plan) = self.input.parallel_plan() else { return Ok(None) };
        let (keys, compiled, width, bound) = (self.keys, &self.compiled, self.width, self.bound);
        let consumer = |_| {
            move |next: &mut dyn FnMut() -> Result<Option<super::batch::ColumnBatch>>,
                  _: &std::sync::atomic::AtomicBool| {
                let mut top = TopN::new(keys, bound);
                while let Some(batch) = next()? {
                    offer(keys, compiled, width, &mut top, &batch)?;
                }
                Ok(Some(top.finish()))
            }
        };
        let Some(shares) = super::parallel::run(ctx, &plan, workers, consumer)? else { return Ok(None) };
        self.input.release(ctx);
        let mut top = TopN::new(self.keys, self.bound);
        for (key, row) in shares.into_iter().flatten() {
            top.offer(key, row);
        }
        Ok(Some(top.finish()))
    }
}

/// Offers the rows of `batch` to `top`: `compiled` are the `keys`' expressions, and the first
/// `width` columns the row.
fn offer(
    keys: &[SortKey],
    compiled: &[VExpr],
    width: usize,
    top: &mut TopN<'_>,
    batch: &super::batch::ColumnBatch,
) -> Result<()> {
    let rows = batch.selection.as_deref();
    let columns = compiled.iter().map(|k| k.eval(batch, rows)).collect::<Result<Vec<_>>>()?;
    for k in 0..batch.rows() {
        if let Some(worst) = top.worst()
            && compare(keys, &columns, k, worst) != Ordering::Less
        {
            continue;
        }
        let physical = rows.map_or(k, |r| r[k] as usize);
        let row = (0..width).map(|c| Ok(batch.column(c)?.value(physical))).collect::<Result<Row>>()?;
        top.offer(columns.iter().map(|c| c.value(k)).collect(), row);
    }
    Ok(())
}

/// Row `k`'s keys against `worst`, as `crate::exec::compare_keys` orders them (the values
/// read straight from the key columns).
fn compare(keys: &[SortKey], columns: &[Column], k: usize, worst: &[Value]) -> Ordering {
    for ((key, column), w) in keys.iter().zip(columns).zip(worst) {
        let ord = crate::exec::key_order(key, (column.is_null(k), w.is_null()), || match &column.data {
            Data::Int(v) => w.as_i64().map_or(Ordering::Equal, |x| v[k].cmp(&x)),
            Data::Float(v) => w.as_f64().map_or(Ordering::Equal, |x| total_float_cmp(v[k], x)),
            Data::Bool(v) => match w {
                Value::Bool(x) => v[k].cmp(x),
                _ => Ordering::Equal,
            },
        });
        if ord != Ordering::Equal {
            return ord;
        }
    }
    Ordering::Equal
}
