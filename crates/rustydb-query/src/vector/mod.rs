//! The vectorized executor: scans, filters, projections and aggregation over column batches.
//!
//! The row executor (`exec`) moves `Vec<Value>` rows: every row of a scan is decoded into
//! boxed values, allocated, filtered and dropped, and an aggregate evaluates its arguments
//! into a fresh vector per row. For the analytic shape — an aggregate over filters and
//! projections over a sequential scan — this executor instead decodes the columns the plan
//! reads straight from the page into typed vectors ([`column`]), evaluates predicates and
//! expressions a batch at a time ([`expr`]), narrows a batch by a selection of row numbers
//! rather than copying it ([`batch`]), and accumulates into per-group arrays
//! ([`aggregate`]).
//!
//! It takes a plan only when it can run all of it with the row executor's exact semantics
//! (see [`expr::VExpr::compile`] for the expressions and [`aggregate`] for the aggregates);
//! otherwise the row executor runs the plan, unchanged. EXPLAIN ANALYZE runs plans on rows,
//! so that every node it shows is counted.
//!
//! Two differences from the row executor, both as PostgreSQL behaves: a subquery's output
//! that nothing reads is not computed (its errors are not raised), and when a batch holds
//! rows that fail in different ways, the error reported is the first found column by column
//! rather than row by row (PostgreSQL does not fix the order in which a query's expressions
//! are evaluated either).

pub mod aggregate;
pub mod batch;
pub mod column;
pub mod expr;
pub mod join;
pub mod parallel;
pub mod scan;
pub mod top_n;

use crate::context::ExecContext;
use crate::plan::Access;
use crate::rel::Rel;
use batch::ColumnBatch;
use column::{Data, Kind};
use expr::VExpr;
use join::HashJoin;
use rustydb_foundation::{Result, Value};
use scan::ColumnScan;

/// Narrows `batch`'s selection to the rows where `predicate` is TRUE (see [`select`]).
pub fn narrow(batch: &mut ColumnBatch, predicate: &VExpr) -> Result<()> {
    let rows = batch.selection.take();
    batch.selection = Some(select(batch, rows, predicate)?);
    Ok(())
}

/// The rows of `rows` (all of the batch's if `None`) where `predicate` is TRUE, ascending. A
/// top-level AND selects by its left side first and evaluates its right side only on the
/// rows left, as the row executor's `Expr::qual` does: a row whose left side is NULL never
/// reaches the right side (`x > 0 AND 10 / y > 1` does not divide where x is NULL).
pub fn select(batch: &ColumnBatch, rows: Option<Vec<u32>>, predicate: &VExpr) -> Result<Vec<u32>> {
    if let VExpr::And(left, right) = predicate {
        let kept = select(batch, rows, left)?;
        if kept.is_empty() {
            return Ok(kept);
        }
        return select(batch, Some(kept), right);
    }
    if let Some(kept) = select_by_constant(batch, rows.as_deref(), predicate)? {
        return Ok(kept);
    }
    let verdict = predicate.eval(batch, rows.as_deref())?;
    let Data::Bool(pass) = &verdict.data else {
        return Err(rustydb_foundation::DbError::Internal("a vectorized filter that is not boolean".into()));
    };
    let kept = |i: usize| pass[i] && !verdict.is_null(i);
    Ok(match rows {
        None => (0..batch.len).filter(|&i| kept(i)).map(|i| i as u32).collect(),
        Some(rows) => rows.iter().enumerate().filter(|(k, _)| kept(*k)).map(|(_, r)| *r).collect(),
    })
}

/// `column op constant` (either way round) read straight into the rows that pass, the
/// commonest filter spared its boolean column and its column of constants. `None` where it
/// does not apply (a NULL or NaN constant, a boolean column, any other shape), and the general
/// path decides. A float compares as PostgreSQL's `float8` does: NaN is above every number.
fn select_by_constant(batch: &ColumnBatch, rows: Option<&[u32]>, predicate: &VExpr) -> Result<Option<Vec<u32>>> {
    use crate::expr::BinaryOp as Op;
    let VExpr::Compare { op, left, right } = predicate else { return Ok(None) };
    let (index, value, op) = match (&**left, &**right) {
        (VExpr::Column { index, .. }, VExpr::Const { value, .. }) => (*index, value, *op),
        (VExpr::Const { value, .. }, VExpr::Column { index, .. }) => {
            let mirrored = match op {
                Op::Lt => Op::Gt,
                Op::LtEq => Op::GtEq,
                Op::Gt => Op::Lt,
                Op::GtEq => Op::LtEq,
                other => *other,
            };
            (*index, value, mirrored)
        }
        _ => return Ok(None),
    };
    if !matches!(op, Op::Eq | Op::NotEq | Op::Lt | Op::LtEq | Op::Gt | Op::GtEq) {
        return Ok(None);
    }
    let column = batch.column(index)?;
    let nulls = column.nulls.as_deref();
    // One loop per operator, so that each compiles to a tight comparison.
    macro_rules! by_op {
        ($data:expr, $x:ident => $key:expr, $k:expr, nan: $nan:expr) => {{
            let k = $k;
            Some(match op {
                Op::Eq => pick($data, nulls, rows, |$x| $key == k),
                Op::NotEq => pick($data, nulls, rows, |$x| $key != k),
                Op::Lt => pick($data, nulls, rows, |$x| $key < k),
                Op::LtEq => pick($data, nulls, rows, |$x| $key <= k),
                Op::Gt => pick($data, nulls, rows, |$x| $key > k || $nan($key)),
                _ => pick($data, nulls, rows, |$x| $key >= k || $nan($key)),
            })
        }};
    }
    let is_nan = |f: f64| f.is_nan();
    let never = |_: i64| false;
    Ok(match (&column.data, value) {
        (Data::Int(data), Value::Int2(_) | Value::Int4(_) | Value::Int8(_)) => {
            by_op!(data, x => x, value.as_i64().unwrap_or(0), nan: never)
        }
        (Data::Float(data), v) if v.as_f64().is_some_and(|k| !k.is_nan()) => {
            by_op!(data, x => x, v.as_f64().unwrap_or(0.0), nan: is_nan)
        }
        (Data::Int(data), v @ (Value::Float4(_) | Value::Float8(_))) if v.as_f64().is_some_and(|k| !k.is_nan()) => {
            by_op!(data, x => x as f64, v.as_f64().unwrap_or(0.0), nan: is_nan)
        }
        _ => None,
    })
}

/// The rows (among `rows`, or all of `data`'s) whose value passes and is not NULL.
#[inline]
fn pick<T: Copy>(data: &[T], nulls: Option<&[bool]>, rows: Option<&[u32]>, pass: impl Fn(T) -> bool) -> Vec<u32> {
    let mut out = Vec::new();
    match (rows, nulls) {
        (None, None) => {
            for (i, &x) in data.iter().enumerate() {
                if pass(x) {
                    out.push(i as u32);
                }
            }
        }
        (None, Some(nulls)) => {
            for (i, (&x, &null)) in data.iter().zip(nulls).enumerate() {
                if pass(x) && !null {
                    out.push(i as u32);
                }
            }
        }
        (Some(rows), _) => {
            for &r in rows {
                let i = r as usize;
                if pass(data[i]) && !nulls.is_some_and(|n| n[i]) {
                    out.push(r);
                }
            }
        }
    }
    out
}

/// A step of a pipeline over its source's batches.
#[derive(Debug)]
pub enum Stage {
    /// Keeps the rows that pass.
    Filter(VExpr),
    /// One expression per output column; `None` for a column nothing above reads.
    Project(Vec<Option<VExpr>>),
}

/// Where a pipeline's batches come from.
#[derive(Debug)]
enum Source<'p> {
    Scan(ColumnScan<'p>),
    Join(Box<HashJoin<'p>>),
}

/// A sequential scan or a hash join of pipelines, followed by filters and projections, all
/// vectorized.
#[derive(Debug)]
pub struct Pipeline<'p> {
    source: Source<'p>,
    stages: Vec<Stage>,
}

/// Marks in `reads` the columns `e` reads; false if one is past the end.
fn mark(e: &VExpr, reads: &mut [bool]) -> bool {
    let mut fits = true;
    e.columns(&mut |i| match reads.get_mut(i) {
        Some(r) => *r = true,
        None => fits = false,
    });
    fits
}

impl<'p> Pipeline<'p> {
    /// The pipeline that computes `rel`, if `rel` is made of filters, projections, inner and
    /// left hash joins and sequential scans, and every expression in it, and in `above` (the
    /// expressions the consumer evaluates over `rel`'s rows), is vectorizable.
    pub fn build(rel: &'p Rel, above: &[&VExpr]) -> Option<Pipeline<'p>> {
        let mut reads = vec![false; rel.output().len()];
        for e in above {
            mark(e, &mut reads).then_some(())?;
        }
        Pipeline::reading(rel, &reads)
    }

    /// The pipeline for `rel` whose consumer reads the output columns `reads` marks (the
    /// others may be left out of the batches).
    fn reading(rel: &'p Rel, reads: &[bool]) -> Option<Pipeline<'p>> {
        match rel {
            Rel::Filter { input, predicate } => {
                let p = VExpr::compile(predicate)?;
                let mut below = reads.to_vec();
                mark(&p, &mut below).then_some(())?;
                let mut pipeline = Pipeline::reading(input, &below)?;
                pipeline.stages.push(Stage::Filter(p));
                Some(pipeline)
            }
            Rel::Project { input, exprs, .. } => {
                let mut below = vec![false; input.output().len()];
                let mut compiled = Vec::with_capacity(exprs.len());
                for (i, e) in exprs.iter().enumerate() {
                    // A column nothing reads is not computed, as PostgreSQL drops a
                    // subquery's unused outputs: `SELECT count(*) FROM (SELECT 10 / y ...)`
                    // does not divide. (The row executor still computes it.)
                    if reads.get(i).copied().unwrap_or(false) {
                        let v = VExpr::compile(e)?;
                        mark(&v, &mut below).then_some(())?;
                        compiled.push(Some(v));
                    } else {
                        compiled.push(None);
                    }
                }
                let mut pipeline = Pipeline::reading(input, &below)?;
                pipeline.stages.push(Stage::Project(compiled));
                Some(pipeline)
            }
            Rel::Scan { table, filter, access: Access::SeqScan, tid: false, needed, .. } if !table.is_system() => {
                let filter = match filter {
                    Some(f) => Some(VExpr::compile(f)?),
                    None => None,
                };
                let mut read = reads.to_vec();
                read.resize(table.schema.len(), false);
                if let Some(f) = &filter {
                    mark(f, &mut read).then_some(())?;
                }
                let mut types = Vec::with_capacity(read.len());
                for (i, column) in table.schema.columns.iter().enumerate() {
                    let decoded = needed.as_ref().is_none_or(|n| n.get(i).copied().unwrap_or(true));
                    if read[i] && !decoded {
                        // The optimizer pruned a column an expression reads: trust neither.
                        return None;
                    }
                    types.push(if read[i] {
                        Kind::of(column.data_type)?;
                        Some(column.data_type)
                    } else {
                        None
                    });
                }
                Some(Pipeline { source: Source::Scan(ColumnScan::new(table, types, filter)), stages: Vec::new() })
            }
            Rel::Join { kind, left, right, equi, condition, .. } => {
                let join = HashJoin::build(*kind, (left, right), equi, condition.as_ref(), reads)?;
                Some(Pipeline { source: Source::Join(Box::new(join.0)), stages: join.1.into_iter().collect() })
            }
            _ => None,
        }
    }

    /// The type of each output column the batches hold (`None` for those left out).
    pub fn output_types(&self) -> Vec<Option<rustydb_foundation::DataType>> {
        if let Some(Stage::Project(exprs)) = self.stages.iter().rev().find(|s| matches!(s, Stage::Project(_))) {
            return exprs.iter().map(|e| e.as_ref().map(VExpr::ty)).collect();
        }
        match &self.source {
            Source::Scan(scan) => scan.types().to_vec(),
            Source::Join(join) => join.output_types(),
        }
    }

    /// The next batch with rows in play, or `None` at the end.
    pub fn next(&mut self, ctx: &mut ExecContext<'_>) -> Result<Option<ColumnBatch>> {
        loop {
            let batch = match &mut self.source {
                Source::Scan(scan) => scan.next(ctx)?,
                Source::Join(join) => join.next(ctx)?,
            };
            let Some(batch) = batch else { return Ok(None) };
            if let Some(batch) = apply_stages(&self.stages, batch)? {
                return Ok(Some(batch));
            }
        }
    }

    /// The scan and the stages over it, if the pipeline is a sequential scan followed by
    /// filters and projections (what a parallel scan can split among workers).
    pub fn scan_and_stages(&self) -> Option<(&ColumnScan<'p>, &[Stage])> {
        match &self.source {
            Source::Scan(scan) => Some((scan, &self.stages)),
            Source::Join(_) => None,
        }
    }

    /// Readies the pipeline for [`Pipeline::parallel_plan`]: a hash join loads its build side.
    /// False if the pipeline cannot run in parallel (its join spilled).
    pub fn prepare_parallel(&mut self, ctx: &mut ExecContext<'_>) -> Result<bool> {
        match &mut self.source {
            Source::Scan(_) => Ok(true),
            Source::Join(join) => join.prepare_parallel(ctx),
        }
    }

    /// Gives back what the pipeline holds (a hash join's build side), once worker threads
    /// have run it in its place.
    pub fn release(&mut self, ctx: &mut ExecContext<'_>) {
        if let Source::Join(join) = &mut self.source {
            join.release(ctx);
        }
    }

    /// How worker threads can run the pipeline: a scan (whose pages they share), the stages
    /// over it, and a hash join to probe with its rows, followed by the stages over the join;
    /// `None` for a pipeline of another shape.
    pub fn parallel_plan(&self) -> Option<parallel::ParallelPlan<'_, 'p>> {
        match &self.source {
            Source::Scan(scan) => {
                Some(parallel::ParallelPlan { scan, probe_stages: &[], join: None, stages: &self.stages })
            }
            Source::Join(join) => {
                let (probe, scan, probe_stages) = join.parallel_parts()?;
                Some(parallel::ParallelPlan { scan, probe_stages, join: Some(probe), stages: &self.stages })
            }
        }
    }
}

/// `batch` through the filters and projections `stages`; `None` if no row is left in play.
pub fn apply_stages(stages: &[Stage], mut batch: ColumnBatch) -> Result<Option<ColumnBatch>> {
    for stage in stages {
        match stage {
            Stage::Filter(p) => narrow(&mut batch, p)?,
            Stage::Project(exprs) => {
                let rows = batch.selection.as_deref();
                let columns = exprs
                    .iter()
                    .map(|e| e.as_ref().map(|e| e.eval(&batch, rows)).transpose())
                    .collect::<Result<Vec<_>>>()?;
                batch = ColumnBatch { len: batch.rows(), columns, selection: None };
            }
        }
        if batch.rows() == 0 {
            return Ok(None);
        }
    }
    Ok(Some(batch))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::BinaryOp;
    use column::Column;
    use rustydb_foundation::DataType;

    fn batch() -> ColumnBatch {
        let floats = Column {
            ty: DataType::Float8,
            data: Data::Float(vec![1.0, f64::NAN, -0.0, 3.0, 2.0]),
            nulls: Some(vec![false, false, false, false, true]),
        };
        let ints = Column { ty: DataType::Int8, data: Data::Int(vec![5, -1, 0, 7, 2]), nulls: None };
        ColumnBatch { len: 5, columns: vec![Some(floats), Some(ints)], selection: None }
    }

    fn compare(op: BinaryOp, index: usize, value: Value, constant_first: bool) -> VExpr {
        let ty = batch().columns[index].as_ref().map_or(DataType::Int8, |c| c.ty);
        let column = Box::new(VExpr::Column { index, ty });
        let constant = Box::new(VExpr::Const { ty: value.data_type().unwrap_or(ty), value });
        let (left, right) = if constant_first { (constant, column) } else { (column, constant) };
        VExpr::Compare { op, left, right }
    }

    /// The fast path and the general one (a boolean column, then the rows) agree.
    #[test]
    fn constant_comparisons_select_what_the_general_path_selects() {
        let b = batch();
        let ops = [BinaryOp::Eq, BinaryOp::NotEq, BinaryOp::Lt, BinaryOp::LtEq, BinaryOp::Gt, BinaryOp::GtEq];
        let cases = [
            (0, Value::Float8(1.0)),
            (0, Value::Float8(0.0)),
            (0, Value::Int4(2)),
            (1, Value::Int8(0)),
            (1, Value::Float8(0.5)),
        ];
        for op in ops {
            for (index, value) in &cases {
                for constant_first in [false, true] {
                    for rows in [None, Some(vec![0u32, 1, 3, 4])] {
                        let predicate = compare(op, *index, value.clone(), constant_first);
                        let fast = select_by_constant(&b, rows.as_deref(), &predicate)
                            .unwrap()
                            .expect("the fast path applies");
                        let verdict = predicate.eval(&b, rows.as_deref()).unwrap();
                        let Data::Bool(pass) = &verdict.data else { panic!("not boolean") };
                        let general: Vec<u32> = match &rows {
                            None => (0..b.len).filter(|&i| pass[i] && !verdict.is_null(i)).map(|i| i as u32).collect(),
                            Some(r) => r
                                .iter()
                                .enumerate()
                                .filter(|(k, _)| pass[*k] && !verdict.is_null(*k))
                                .map(|(_, r)| *r)
                                .collect(),
                        };
                        assert_eq!(
                            fast, general,
                            "{op:?} column {index} {value:?} constant first {constant_first} rows {rows:?}"
                        );
                    }
                }
            }
        }
        // A NULL or NaN constant goes the general way.
        assert!(select_by_constant(&b, None, &compare(BinaryOp::Lt, 0, Value::Null, false)).unwrap().is_none());
        assert!(
            select_by_constant(&b, None, &compare(BinaryOp::Lt, 0, Value::Float8(f64::NAN), false)).unwrap().is_none()
        );
    }
}
