//! Statement parameters (`$1`, `$2`, ...) of the extended query protocol.
//!
//! A prepared statement is bound twice, in two modes:
//!
//! - **Preparing** (Parse, Describe): values are not known. `$n` binds to [`Expr::Param`], of the
//!   type the client declared or, for a type left unspecified, [`DataType::Unknown`]; the
//!   binder's untyped-literal rules then give it the type its context asks for (`id = $1`
//!   makes it `id`'s type, `VALUES ($1)` the column's), as PostgreSQL infers parameter types.
//!   [`inferred_types`] reads those types back from the bound statement; a parameter no context
//!   typed is `text`. Parse throws the plan away; the plan cache binds this way too, to make a
//!   generic plan (see `plan_cache.rs`).
//! - **Executing** (Execute): each `$n` binds to its value as a typed constant. The statement
//!   is planned with the values in hand (PostgreSQL's "custom plan"), so an index is chosen
//!   for `id = $1` exactly as for `id = 42`, and no value is ever spliced into SQL text.

use crate::expr::Expr;
use crate::plan::{ConflictAction, InsertSource, OnConflict, Returning, Statement};
use crate::rel::Rel;
use rustydb_foundation::{DataType, DbError, Result, SqlState, Value};
use std::sync::Arc;

/// The parameters a statement is bound with.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params {
    /// Per parameter, its type: declared by the client or inferred when the statement was
    /// prepared ([`DataType::Unknown`] while preparing for one not declared).
    pub types: Vec<DataType>,
    /// The values, each of its parameter's type; `None` while preparing. Shared: every
    /// binder of the statement (one per VALUES row of an INSERT) holds the parameters.
    pub values: Option<Arc<[Value]>>,
}

impl Params {
    /// Parameters for preparing a statement, with the types the client declared (`Unknown`
    /// for unspecified).
    pub fn preparing(types: Vec<DataType>) -> Self {
        Params { types, values: None }
    }

    /// True while preparing (values unknown).
    pub fn is_preparing(&self) -> bool {
        self.values.is_none()
    }

    /// Notes that the parameter at `index` was given type `ty` where the bound statement does
    /// not keep it (a LIMIT count), unless it already has a type.
    pub fn note(&mut self, index: usize, ty: DataType) {
        if self.types.len() <= index {
            self.types.resize(index + 1, DataType::Unknown);
        }
        if self.types[index] == DataType::Unknown {
            self.types[index] = ty;
        }
    }

    /// The types once preparing is over: one nothing typed is `text`.
    pub fn finished_types(self) -> Vec<DataType> {
        self.types.into_iter().map(|t| if t == DataType::Unknown { DataType::Text } else { t }).collect()
    }

    /// What `$n` (`placeholder` is its text) binds to.
    pub fn bind(&self, placeholder: &str) -> Result<Expr> {
        let undefined = || DbError::sql(SqlState::UndefinedParameter, format!("there is no parameter {placeholder}"));
        let n: usize = placeholder.strip_prefix('$').and_then(|d| d.parse().ok()).ok_or_else(undefined)?;
        let index = n.checked_sub(1).ok_or_else(undefined)?;
        match &self.values {
            None => {
                let ty = self.types.get(index).copied().unwrap_or(DataType::Unknown);
                Ok(Expr::Param { index, ty })
            }
            Some(values) => {
                let value = values.get(index).ok_or_else(undefined)?;
                let ty = self.types.get(index).copied().unwrap_or(DataType::Text);
                Ok(Expr::Literal { value: value.clone(), ty })
            }
        }
    }
}

/// The parameter types of a statement bound while preparing: declared ones (and those noted
/// while binding) as they are, the others as its context typed their first use, `text` where
/// nothing did. There are as many
/// as the highest `$n` used (or declared).
pub fn inferred_types(stmt: &Statement, declared: &Params) -> Vec<DataType> {
    let mut found = declared.clone();
    let mut note = |e: &Expr| {
        if let Expr::Param { index, ty } = e {
            found.note(*index, *ty);
        }
    };
    // The statement's plans and its expressions outside them.
    let mut rels: Vec<&Rel> = Vec::new();
    let mut exprs: Vec<&Expr> = Vec::new();
    match stmt {
        Statement::Select(plan) => rels.push(&plan.rel),
        Statement::CreateTableAs(create) => rels.push(&create.query.rel),
        Statement::Insert { source, on_conflict, returning, .. } => {
            match source {
                InsertSource::Values(rows) => exprs.extend(rows.iter().flatten()),
                InsertSource::Query(plan, row) => {
                    rels.push(&plan.rel);
                    exprs.extend(row);
                }
            }
            if let Some(OnConflict { action: ConflictAction::Update { assignments, filter, .. }, .. }) = on_conflict {
                exprs.extend(assignments.iter().map(|(_, e)| e).chain(filter));
            }
            exprs.extend(returned(returning));
        }
        Statement::Update { assignments, filter, returning, from, .. } => {
            exprs.extend(assignments.iter().map(|(_, e)| e).chain(filter));
            exprs.extend(returned(returning));
            if let Some(j) = from {
                rels.push(&j.rel);
                exprs.extend(&j.filter);
            }
        }
        Statement::Delete { filter, returning, using, .. } => {
            exprs.extend(filter);
            exprs.extend(returned(returning));
            if let Some(j) = using {
                rels.push(&j.rel);
                exprs.extend(&j.filter);
            }
        }
        Statement::Merge(plan) => {
            rels.push(&plan.joined.rel);
            exprs.extend(&plan.joined.filter);
            for clause in &plan.clauses {
                exprs.extend(&clause.predicate);
                match &clause.action {
                    crate::merge::MergeDo::Update(assignments) => exprs.extend(assignments.iter().map(|(_, e)| e)),
                    crate::merge::MergeDo::Insert(row) => exprs.extend(row),
                    crate::merge::MergeDo::Delete | crate::merge::MergeDo::Nothing => {}
                }
            }
        }
        _ => {}
    }
    rels.into_iter().for_each(|r| walk_rel(r, &mut note));
    exprs.into_iter().for_each(|e| walk_expr(e, &mut note));
    found.finished_types()
}

/// A RETURNING list's expressions (none without one).
fn returned(returning: &Option<Returning>) -> impl Iterator<Item = &Expr> {
    returning.iter().flat_map(|r| &r.exprs)
}

fn walk_rel(rel: &Rel, note: &mut impl FnMut(&Expr)) {
    rel.exprs().into_iter().for_each(|e| walk_expr(e, note));
    rel.inputs().into_iter().for_each(|r| walk_rel(r, note));
}

fn walk_expr(expr: &Expr, note: &mut impl FnMut(&Expr)) {
    expr.walk(&mut |e: &Expr| {
        note(e);
        if let Expr::Subquery(sq) = e {
            walk_rel(&sq.plan, note);
        }
    });
}

/// 08P01 unless `count` values were supplied for a statement of `expected` parameters.
pub fn check_count(count: usize, expected: usize, statement: &str) -> Result<()> {
    if count == expected {
        return Ok(());
    }
    Err(DbError::sql(
        SqlState::ProtocolViolation,
        format!("bind message supplies {count} parameters, but prepared statement \"{statement}\" requires {expected}"),
    ))
}
