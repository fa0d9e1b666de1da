//! The query executor: a resolved [`Rel`] tree becomes a tree of operators, each pulling
//! batches of up to [`BATCH_ROWS`] rows from its inputs (`next`) and handing batches up. A
//! batch is the unit of work: expressions, hash probes and memory accounting run over a batch
//! at a time, and a LIMIT stops its input pulling after the batch that fills it.
//!
//! Rows are `Vec<Value>`s in a batch (row-major). An aggregate over filters and projections
//! of a sequential scan runs instead on typed column batches when every expression in it
//! allows (see `crate::vector`).
//!
//! Subqueries: expressions reach them through [`Runner`], which holds the statement's context
//! while operators evaluate. An uncorrelated subquery runs once per statement and its result
//! is cached (with a hash set for `IN`); a correlated one runs for each enclosing row, with that
//! row (followed by the enclosing operator's own outer row) as its outer row, and stops as soon
//! as its answer is known (the first row for EXISTS, the first match for IN).

mod aggregate;
mod block_nested_loop;
mod distinct;
mod external_sort;
mod hash_aggregate;
mod hash_spill;
mod join;
mod key;
mod lateral;
mod lock_rows;
mod order;
mod recursive;
mod scan;
mod set_op;
mod spill;
mod spool;
mod subquery;
mod window;

pub(crate) use aggregate::float_sum;
pub(crate) use hash_spill::{Overflow, Partitions, charge_leaving_room, partition_buffers};
pub(crate) use join::join_partitions;
pub use key::HashKey;
pub(crate) use order::{TopN, key_order};
pub use recursive::WorkTables;
pub use scan::{TableScan, decode_tid, encode_tid};
pub(crate) use spool::{RecordSpool, Spool, Spooled, SpooledRecords};
pub use subquery::SubqueryCache;

use crate::context::ExecContext;
use crate::expr::{EvalEnv, Expr};
use crate::rel::Rel;
use rustydb_foundation::{Result, Value};
use std::cell::RefCell;
use std::rc::Rc;

/// Rows an operator hands up at a time, at most.
pub const BATCH_ROWS: usize = 1024;

/// A row.
pub type Row = Vec<Value>;

/// A batch of rows (never empty when handed up).
pub type Batch = Vec<Row>;

/// A running operator.
pub trait Operator {
    /// The next batch, or `None` when there are no more rows.
    fn next(&mut self, ctx: &mut ExecContext<'_>) -> Result<Option<Batch>>;
}

/// Runs subqueries for expressions evaluated while it holds the statement's context.
pub struct Runner<'r, 'a> {
    ctx: RefCell<&'r mut ExecContext<'a>>,
}

impl std::fmt::Debug for Runner<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Runner")
    }
}

impl<'r, 'a> Runner<'r, 'a> {
    /// Holds `ctx` while expressions are evaluated.
    pub fn new(ctx: &'r mut ExecContext<'a>) -> Self {
        Runner { ctx: RefCell::new(ctx) }
    }

    /// The context, between evaluations (to account memory, say).
    pub fn ctx(&self) -> std::cell::RefMut<'_, &'r mut ExecContext<'a>> {
        self.ctx.borrow_mut()
    }
}

impl crate::expr::SubqueryRunner for Runner<'_, '_> {
    fn run(&self, sq: &crate::expr::Subquery, row: &[Value], outer: &[Value], arg: Option<Value>) -> Result<Value> {
        let mut ctx = self.ctx.try_borrow_mut().map_err(|_| {
            rustydb_foundation::DbError::Internal("a subquery evaluated while the context was in use".into())
        })?;
        subquery::run(&mut ctx, sq, row, outer, arg)
    }

    fn sequence(&self, call: crate::sequence::SequenceCall, args: &[Value]) -> Result<Value> {
        let mut ctx = self.ctx.try_borrow_mut().map_err(|_| {
            rustydb_foundation::DbError::Internal("a sequence function evaluated while the context was in use".into())
        })?;
        crate::sequence::call(&mut ctx, call, args)
    }

    fn key(&self, call: crate::encryption::KeyCall, args: &[Value]) -> Result<Value> {
        let mut ctx = self.ctx.try_borrow_mut().map_err(|_| {
            rustydb_foundation::DbError::Internal("a key function evaluated while the context was in use".into())
        })?;
        crate::encryption::call(&mut ctx, call, args)
    }

    fn admin(&self, call: crate::admin_functions::AdminCall, args: &[Value]) -> Result<Value> {
        let mut ctx = self.ctx.try_borrow_mut().map_err(|_| {
            rustydb_foundation::DbError::Internal(
                "an administration function evaluated while the context was in use".into(),
            )
        })?;
        crate::admin_functions::call(&mut ctx, call, args)
    }
}

/// Calls `work` with an environment for evaluating expressions whose outer row is `outer`
/// (subqueries run through the context).
pub fn with_env<T>(
    ctx: &mut ExecContext<'_>,
    outer: &[Value],
    work: impl FnOnce(&EvalEnv<'_>, &Runner<'_, '_>) -> Result<T>,
) -> Result<T> {
    let (user, session_user, database) = (ctx.user, ctx.session_user, ctx.database);
    let runner = Runner::new(ctx);
    let env = EvalEnv { user, session_user, database, outer, subqueries: Some(&runner) };
    work(&env, &runner)
}

/// Evaluates one expression over `row` at the top level (no outer row).
pub fn eval(ctx: &mut ExecContext<'_>, e: &Expr, row: &[Value]) -> Result<Value> {
    with_env(ctx, &[], |env, _| e.eval(row, env))
}

/// Evaluates a condition: only TRUE passes.
pub fn passes(ctx: &mut ExecContext<'_>, filter: Option<&Expr>, row: &[Value]) -> Result<bool> {
    match filter {
        None => Ok(true),
        Some(f) => with_env(ctx, &[], |env, _| f.qual(row, env)),
    }
}

/// The operator tree for `rel`, whose expressions read `outer` as their outer row.
pub fn open<'p>(rel: &'p Rel, outer: &Rc<[Value]>) -> Box<dyn Operator + 'p> {
    wrap(rel, open_operator(rel, outer))
}

/// `op`, opened for `rel`, with the checks and counters every operator gets.
fn wrap<'p>(rel: &'p Rel, op: Box<dyn Operator + 'p>) -> Box<dyn Operator + 'p> {
    Box::new(Interruptible(crate::explain::instrument(rel, op)))
}

/// Checks before every batch whether the statement must stop (see `interrupt.rs`).
struct Interruptible<'p>(Box<dyn Operator + 'p>);

impl Operator for Interruptible<'_> {
    fn next(&mut self, ctx: &mut ExecContext<'_>) -> Result<Option<Batch>> {
        ctx.interrupt.check()?;
        self.0.next(ctx)
    }
}

fn open_operator<'p>(rel: &'p Rel, outer: &Rc<[Value]>) -> Box<dyn Operator + 'p> {
    match rel {
        Rel::Values { rows, .. } => Box::new(ValuesOp { rows, outer: outer.clone(), done: false }),
        Rel::Scan { table, filter, access, tid, needed, .. } => {
            let scan = TableScan::new(table, access, filter.as_ref()).decoding(needed.as_deref());
            Box::new(scan::ScanOp::new(scan, *tid, outer.clone()))
        }
        Rel::Filter { input, predicate } => {
            Box::new(FilterOp { input: open(input, outer), predicate, outer: outer.clone() })
        }
        Rel::Project { input, exprs, .. } => {
            Box::new(ProjectOp { input: open(input, outer), exprs, outer: outer.clone() })
        }
        Rel::Join { kind, left, right, equi, condition, .. } => join::open(
            *kind,
            open(left, outer),
            open(right, outer),
            equi,
            condition.as_ref(),
            (left.output().len(), right.output().len()),
            outer,
        ),
        Rel::Aggregate { input, groups, aggregates, .. } => {
            Box::new(hash_aggregate::HashAggregateOp::new(input, groups, aggregates, outer.clone()))
        }
        Rel::Sort { input, keys } => Box::new(order::SortOp::new(open(input, outer), keys, outer.clone())),
        Rel::Window { input, calls, .. } => {
            Box::new(Materialized::new(window::WindowOp::new(open(input, outer), calls, outer.clone())))
        }
        Rel::Limit { input, limit, offset } => {
            // A sort under a LIMIT keeps only the rows the limit can return (top-N).
            let inner = match (input.as_ref(), limit) {
                (Rel::Sort { input: sorted, keys }, Some(limit)) => {
                    let bound = usize::try_from(limit.saturating_add(*offset)).unwrap_or(usize::MAX);
                    let sort = BoundedSort { input: sorted, keys, bound, outer: outer.clone() };
                    wrap(input, Box::new(Materialized::new(sort)))
                }
                _ => open(input, outer),
            };
            Box::new(order::LimitOp::new(inner, *limit, *offset))
        }
        Rel::Distinct { input } => Box::new(distinct::DistinctOp::new(open(input, outer))),
        Rel::SetOp { kind, all, left, right, .. } => {
            let op = Box::new(set_op::SetOpOp::new(*kind, *all, open(left, outer), open(right, outer)));
            // Without ALL, the operator's rows made distinct.
            if *all { op } else { Box::new(distinct::DistinctOp::new(op)) }
        }
        Rel::RecursiveUnion { base, recursive, all, work, .. } => {
            Box::new(recursive::RecursiveUnionOp::new(base, recursive, *all, *work, outer.clone()))
        }
        Rel::WorkTable { work, .. } => Box::new(recursive::WorkTableOp::new(*work)),
        Rel::Function { calls, ordinality, .. } => {
            Box::new(lateral::FunctionOp::new(calls, *ordinality, outer.clone()))
        }
        Rel::Lateral { kind, left, right, condition } => {
            Box::new(lateral::LateralOp::new(*kind, open(left, outer), right, condition.as_ref(), outer.clone()))
        }
        Rel::LockRows { input, table, filter, lock } => {
            Box::new(lock_rows::LockRowsOp::new(open(input, outer), table, filter.as_ref(), *lock))
        }
    }
}

/// An operator that must read all its input before it outputs a row (sort, aggregate,
/// window): it computes its rows once, and [`Materialized`] hands them up a batch at a time.
trait Blocking {
    /// All the output rows.
    fn run(&mut self, ctx: &mut ExecContext<'_>) -> Result<Vec<Row>>;
}

/// A sort under a LIMIT (top-N), run on column batches when the vectorized executor takes its
/// plan and the session allows, on rows otherwise (and under EXPLAIN ANALYZE).
struct BoundedSort<'p> {
    input: &'p Rel,
    keys: &'p [crate::plan::SortKey],
    bound: usize,
    outer: Rc<[Value]>,
}

impl Blocking for BoundedSort<'_> {
    fn run(&mut self, ctx: &mut ExecContext<'_>) -> Result<Vec<Row>> {
        if ctx.vectorize
            && !crate::explain::measuring()
            && let Some(mut vectorized) = crate::vector::top_n::VectorTopN::build(self.input, self.keys, self.bound)
        {
            return vectorized.run(ctx);
        }
        order::SortOp::bounded(open(self.input, &self.outer), self.keys, self.outer.clone(), self.bound).run(ctx)
    }
}

/// A [`Blocking`] operator as an [`Operator`].
struct Materialized<T> {
    inner: T,
    output: Option<std::vec::IntoIter<Row>>,
}

impl<T> Materialized<T> {
    fn new(inner: T) -> Self {
        Materialized { inner, output: None }
    }
}

impl<T: Blocking> Operator for Materialized<T> {
    fn next(&mut self, ctx: &mut ExecContext<'_>) -> Result<Option<Batch>> {
        let rows = match &mut self.output {
            Some(rows) => rows,
            None => self.output.insert(self.inner.run(ctx)?.into_iter()),
        };
        let batch: Batch = rows.by_ref().take(BATCH_ROWS).collect();
        Ok((!batch.is_empty()).then_some(batch))
    }
}

/// Reads `op` to the end, counting its rows against the statement's memory as held for `what`.
fn drain(ctx: &mut ExecContext<'_>, op: &mut dyn Operator, what: &str) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    while let Some(batch) = op.next(ctx)? {
        for row in &batch {
            ctx.hold_row(row, what)?;
        }
        rows.extend(batch);
    }
    Ok(rows)
}

/// Runs `rel` to the end and returns its rows.
pub fn collect(ctx: &mut ExecContext<'_>, rel: &Rel, what: &str) -> Result<Vec<Row>> {
    drain(ctx, open(rel, &Rc::from(Vec::new())).as_mut(), what)
}

struct ValuesOp<'p> {
    rows: &'p [Vec<Expr>],
    outer: Rc<[Value]>,
    done: bool,
}

impl Operator for ValuesOp<'_> {
    fn next(&mut self, ctx: &mut ExecContext<'_>) -> Result<Option<Batch>> {
        if self.done || self.rows.is_empty() {
            return Ok(None);
        }
        self.done = true;
        let rows = with_env(ctx, &self.outer, |env, _| {
            self.rows.iter().map(|r| r.iter().map(|e| e.eval(&[], env)).collect::<Result<Row>>()).collect()
        })?;
        Ok(Some(rows))
    }
}

struct FilterOp<'p> {
    input: Box<dyn Operator + 'p>,
    predicate: &'p Expr,
    outer: Rc<[Value]>,
}

impl Operator for FilterOp<'_> {
    fn next(&mut self, ctx: &mut ExecContext<'_>) -> Result<Option<Batch>> {
        while let Some(batch) = self.input.next(ctx)? {
            let kept = with_env(ctx, &self.outer, |env, _| {
                let mut kept = Vec::with_capacity(batch.len());
                for row in batch {
                    if self.predicate.qual(&row, env)? {
                        kept.push(row);
                    }
                }
                Ok(kept)
            })?;
            if !kept.is_empty() {
                return Ok(Some(kept));
            }
        }
        Ok(None)
    }
}

struct ProjectOp<'p> {
    input: Box<dyn Operator + 'p>,
    exprs: &'p [Expr],
    outer: Rc<[Value]>,
}

impl Operator for ProjectOp<'_> {
    fn next(&mut self, ctx: &mut ExecContext<'_>) -> Result<Option<Batch>> {
        let Some(batch) = self.input.next(ctx)? else { return Ok(None) };
        let out = with_env(ctx, &self.outer, |env, _| {
            batch.iter().map(|row| self.exprs.iter().map(|e| e.eval(row, env)).collect::<Result<Row>>()).collect()
        })?;
        Ok(Some(out))
    }
}
