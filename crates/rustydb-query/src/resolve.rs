//! From bound to resolved plans: every column id becomes a position in its operator's input
//! row, references to enclosing queries become [`Expr::Outer`] positions (marking their
//! subqueries correlated), and each scan gets its access path from its filter.
//!
//! A correlated subquery runs with an *outer row*: the row of the operator evaluating it,
//! followed by that operator's own outer row. So the subquery's plan resolves against the
//! layout `input ids ++ enclosing outer ids`, and a reference it makes beyond the enclosing
//! operator's input is passed on as that operator's own outer reference.

use crate::expr::{Expr, SubqueryKind};
use crate::planner::choose_access_with;
use crate::rel::{ColumnId, Rel};
use crate::statistics::Statistics;
use rustydb_foundation::{DbError, Result, SqlState};
use std::collections::BTreeSet;

/// Resolves a bound plan, given the names of its column ids (for messages).
pub fn resolve(rel: Rel, names: &[String]) -> Result<Rel> {
    resolve_with(rel, names, None)
}

/// [`resolve`], choosing access paths with ANALYZE's statistics where tables have them.
pub fn resolve_with(rel: Rel, names: &[String], stats: Option<&Statistics>) -> Result<Rel> {
    let (rel, _) = Resolver { names, stats }.rel(rel, &[])?;
    Ok(rel)
}

/// Resolves an expression over a row laid out as `layout` (UPDATE and DELETE expressions over
/// their table's columns).
pub fn resolve_expr(e: Expr, layout: &[ColumnId], names: &[String]) -> Result<Expr> {
    Resolver { names, stats: None }.expr(e, layout, &[], &mut BTreeSet::new())
}

struct Resolver<'n> {
    names: &'n [String],
    stats: Option<&'n Statistics>,
}

impl Resolver<'_> {
    /// Resolves `rel` whose expressions may read `outer`; returns it with the positions of
    /// `outer` it reads.
    fn rel(&self, rel: Rel, outer: &[ColumnId]) -> Result<(Rel, BTreeSet<usize>)> {
        let mut used = BTreeSet::new();
        let exprs = |es: Vec<Expr>, layout: &[ColumnId], used: &mut BTreeSet<usize>| -> Result<Vec<Expr>> {
            es.into_iter().map(|e| self.expr(e, layout, outer, used)).collect()
        };
        let rel = match rel {
            Rel::Values { rows, output } => {
                let rows = rows.into_iter().map(|r| exprs(r, &[], &mut used)).collect::<Result<_>>()?;
                Rel::Values { rows, output }
            }
            Rel::Scan { table, output, filter, tid, needed, .. } => {
                let filter = filter.map(|f| self.expr(f, &output, outer, &mut used)).transpose()?;
                let stats = self.stats.and_then(|s| s.get(&table.id)).map(|s| s.as_ref());
                let access = choose_access_with(&table, filter.as_ref(), stats);
                Rel::Scan { table, output, filter, access, tid, needed }
            }
            Rel::Filter { input, predicate } => {
                let (input, u) = self.rel(*input, outer)?;
                used.extend(u);
                let predicate = self.expr(predicate, &input.output(), outer, &mut used)?;
                Rel::Filter { input: Box::new(input), predicate }
            }
            Rel::Project { input, exprs: es, output } => {
                let (input, u) = self.rel(*input, outer)?;
                used.extend(u);
                let es = exprs(es, &input.output(), &mut used)?;
                Rel::Project { input: Box::new(input), exprs: es, output }
            }
            Rel::Join { kind, left, right, equi, condition } => {
                let (left, u) = self.rel(*left, outer)?;
                used.extend(u);
                let (right, u) = self.rel(*right, outer)?;
                used.extend(u);
                let (lo, ro) = (left.output(), right.output());
                let equi = equi
                    .into_iter()
                    .map(|(l, r)| Ok((self.expr(l, &lo, outer, &mut used)?, self.expr(r, &ro, outer, &mut used)?)))
                    .collect::<Result<_>>()?;
                let both: Vec<ColumnId> = lo.into_iter().chain(ro).collect();
                let condition = condition.map(|c| self.expr(c, &both, outer, &mut used)).transpose()?;
                Rel::Join { kind, left: Box::new(left), right: Box::new(right), equi, condition }
            }
            Rel::Aggregate { input, groups, aggregates, output } => {
                let (input, u) = self.rel(*input, outer)?;
                used.extend(u);
                let layout = input.output();
                let groups = exprs(groups, &layout, &mut used)?;
                let mut calls = Vec::with_capacity(aggregates.len());
                for mut call in aggregates {
                    call.args = exprs(call.args, &layout, &mut used)?;
                    call.filter = call.filter.map(|f| self.expr(f, &layout, outer, &mut used)).transpose()?;
                    for k in &mut call.order {
                        let taken = std::mem::replace(&mut k.expr, Expr::literal(rustydb_foundation::Value::Null));
                        k.expr = self.expr(taken, &layout, outer, &mut used)?;
                    }
                    calls.push(call);
                }
                Rel::Aggregate { input: Box::new(input), groups, aggregates: calls, output }
            }
            Rel::Window { input, calls, output } => {
                let (input, u) = self.rel(*input, outer)?;
                used.extend(u);
                let layout = input.output();
                let mut resolved = Vec::with_capacity(calls.len());
                for mut call in calls {
                    call.args = exprs(call.args, &layout, &mut used)?;
                    call.partition = exprs(call.partition, &layout, &mut used)?;
                    for k in &mut call.order {
                        let taken = std::mem::replace(&mut k.expr, Expr::literal(rustydb_foundation::Value::Null));
                        k.expr = self.expr(taken, &layout, outer, &mut used)?;
                    }
                    call.filter = call.filter.map(|f| self.expr(f, &layout, outer, &mut used)).transpose()?;
                    resolved.push(call);
                }
                Rel::Window { input: Box::new(input), calls: resolved, output }
            }
            Rel::Sort { input, keys } => {
                let (input, u) = self.rel(*input, outer)?;
                used.extend(u);
                let layout = input.output();
                let keys = keys
                    .into_iter()
                    .map(|mut k| {
                        k.expr = self.expr(k.expr, &layout, outer, &mut used)?;
                        Ok(k)
                    })
                    .collect::<Result<_>>()?;
                Rel::Sort { input: Box::new(input), keys }
            }
            Rel::Limit { input, limit, offset } => {
                let (input, u) = self.rel(*input, outer)?;
                used.extend(u);
                Rel::Limit { input: Box::new(input), limit, offset }
            }
            Rel::Distinct { input } => {
                let (input, u) = self.rel(*input, outer)?;
                used.extend(u);
                Rel::Distinct { input: Box::new(input) }
            }
            Rel::SetOp { kind, all, left, right, output } => {
                let (left, u) = self.rel(*left, outer)?;
                used.extend(u);
                let (right, u) = self.rel(*right, outer)?;
                used.extend(u);
                Rel::SetOp { kind, all, left: Box::new(left), right: Box::new(right), output }
            }
            Rel::RecursiveUnion { base, recursive, all, work, output } => {
                let (base, u) = self.rel(*base, outer)?;
                used.extend(u);
                let (recursive, u) = self.rel(*recursive, outer)?;
                used.extend(u);
                Rel::RecursiveUnion { base: Box::new(base), recursive: Box::new(recursive), all, work, output }
            }
            work @ Rel::WorkTable { .. } => work,
            Rel::Function { calls, ordinality, output } => {
                let calls = calls
                    .into_iter()
                    .map(|mut call| {
                        call.args = exprs(call.args, &[], &mut used)?;
                        Ok(call)
                    })
                    .collect::<Result<_>>()?;
                Rel::Function { calls, ordinality, output }
            }
            Rel::Lateral { kind, left, right, condition } => {
                let (left, u) = self.rel(*left, outer)?;
                used.extend(u);
                let lo = left.output();
                // The right side reads the left row as its outer row, the join's outer row after it.
                let right_outer: Vec<ColumnId> = lo.iter().chain(outer).copied().collect();
                let (right, u) = self.rel(*right, &right_outer)?;
                used.extend(u.into_iter().filter(|p| *p >= lo.len()).map(|p| p - lo.len()));
                let both: Vec<ColumnId> = lo.into_iter().chain(right.output()).collect();
                let condition = condition.map(|c| self.expr(c, &both, outer, &mut used)).transpose()?;
                Rel::Lateral { kind, left: Box::new(left), right: Box::new(right), condition }
            }
            Rel::LockRows { input, table, filter, lock } => {
                let (input, u) = self.rel(*input, outer)?;
                used.extend(u);
                let layout = input.output();
                let filter = filter.map(|f| self.expr(f, &layout, outer, &mut used)).transpose()?;
                Rel::LockRows { input: Box::new(input), table, filter, lock }
            }
        };
        Ok((rel, used))
    }

    fn expr(&self, e: Expr, layout: &[ColumnId], outer: &[ColumnId], used: &mut BTreeSet<usize>) -> Result<Expr> {
        match e {
            Expr::Column { index, ty } => {
                if let Some(p) = layout.iter().position(|id| *id == index) {
                    return Ok(Expr::Column { index: p, ty });
                }
                if let Some(p) = outer.iter().position(|id| *id == index) {
                    used.insert(p);
                    return Ok(Expr::Outer { index: p, ty });
                }
                let name = self.names.get(index).map_or("?", String::as_str);
                Err(DbError::sql(
                    SqlState::GroupingError,
                    format!("subquery uses ungrouped column \"{name}\" from outer query"),
                ))
            }
            Expr::Subquery(mut sq) => {
                let inner_outer: Vec<ColumnId> = layout.iter().chain(outer).copied().collect();
                let plan = std::mem::replace(&mut sq.plan, Rel::Values { rows: Vec::new(), output: Vec::new() });
                let (plan, inner_used) = self.rel(plan, &inner_outer)?;
                sq.plan = plan;
                sq.correlated = !inner_used.is_empty();
                used.extend(inner_used.into_iter().filter(|p| *p >= layout.len()).map(|p| p - layout.len()));
                match &mut sq.kind {
                    SubqueryKind::Any { arg, .. } | SubqueryKind::All { arg, .. } => {
                        let taken = std::mem::replace(arg.as_mut(), Expr::literal(rustydb_foundation::Value::Null));
                        **arg = self.expr(taken, layout, outer, used)?;
                    }
                    SubqueryKind::Scalar | SubqueryKind::Exists | SubqueryKind::Array { .. } => {}
                }
                Ok(Expr::Subquery(sq))
            }
            mut other => {
                for child in other.children_mut() {
                    let taken = std::mem::replace(child, Expr::literal(rustydb_foundation::Value::Null));
                    *child = self.expr(taken, layout, outer, used)?;
                }
                Ok(other)
            }
        }
    }
}
