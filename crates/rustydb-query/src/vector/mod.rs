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
pub mod scan;
pub mod top_n;

use crate::context::ExecContext;
use crate::plan::Access;
use crate::rel::Rel;
use batch::ColumnBatch;
use column::{Data, Kind};
use expr::VExpr;
use join::HashJoin;
use rustydb_foundation::Result;
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

#[derive(Debug)]
enum Stage {
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
        'batches: loop {
            let batch = match &mut self.source {
                Source::Scan(scan) => scan.next(ctx)?,
                Source::Join(join) => join.next(ctx)?,
            };
            let Some(mut batch) = batch else { return Ok(None) };
            for stage in &self.stages {
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
                    continue 'batches;
                }
            }
            return Ok(Some(batch));
        }
    }
}
