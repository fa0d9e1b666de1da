//! The clauses INSERT, UPDATE and DELETE share beyond their targets: RETURNING, the SET list
//! (UPDATE's, which `ON CONFLICT DO UPDATE` reuses), and ON CONFLICT's arbiters and action.
//!
//! ON CONFLICT names the unique constraints that arbitrate (its *arbiters*) by their columns
//! or by constraint name, inferred as PostgreSQL infers them; DO NOTHING without a target
//! arbitrates on every unique constraint. The executor checks the arbiters first when it
//! inserts a row, under the same index locks that make uniqueness hold, so a conflict found
//! there cannot be raced by a concurrent insert (see `access::insert_arbitrated`).

use crate::acl::{AccessRequest, ObjectRef, Privilege, PrivilegeSet, RelationAccess};
use crate::bind_expr::{self, boolean, ident_name};
use crate::bind_query::QueryBinder;
use crate::binder::{assign, column_default, column_name, is_default, over_table, row_check, target_column};
use crate::catalog::TableDef;
use crate::context::ExecContext;
use crate::expr::Expr;
use crate::plan::{Arbiters, ConflictAction, OnConflict, Returning};
use crate::result::ResultColumn;
use crate::row_security::PolicyCommand;
use rustydb_foundation::{DbError, Result, SqlState};
use sqlparser::ast;
use std::collections::BTreeSet;

/// One `column = value` of a SET list, its column found.
pub(crate) struct AssignmentTarget<'a> {
    /// The column's position.
    pub position: usize,
    /// The value as written.
    pub value: &'a ast::Expr,
    /// For `column = DEFAULT`: the column's default, bound before the table is in scope.
    pub default: Option<Expr>,
}

/// The columns a SET list assigns: 42703 for one the table lacks, 42601 for one named twice
/// (PostgreSQL's code for it).
pub(crate) fn assignment_targets<'a>(
    ctx: &mut ExecContext<'_>,
    table: &TableDef,
    assignments: &'a [ast::Assignment],
) -> Result<Vec<AssignmentTarget<'a>>> {
    let mut targets: Vec<AssignmentTarget<'a>> = Vec::with_capacity(assignments.len());
    for a in assignments {
        let ast::AssignmentTarget::ColumnName(name) = &a.target else {
            return Err(DbError::unsupported("assigning to a tuple of columns"));
        };
        let col = column_name(name);
        let position = target_column(table, &col)?;
        if targets.iter().any(|t| t.position == position) {
            return Err(DbError::syntax(format!("multiple assignments to same column \"{col}\"")));
        }
        let default = is_default(&a.value).then(|| column_default(ctx, &table.schema.columns[position])).transpose()?;
        targets.push(AssignmentTarget { position, value: &a.value, default });
    }
    Ok(targets)
}

/// The SET list's new values, each bound in `b` (the table in scope) and coerced to its column.
pub(crate) fn assignment_values(
    b: &mut QueryBinder<'_, '_>,
    table: &TableDef,
    targets: &[AssignmentTarget<'_>],
) -> Result<Vec<(usize, Expr)>> {
    targets
        .iter()
        .map(|t| {
            let value = match &t.default {
                Some(d) => d.clone(),
                None => assign(&table.schema.columns[t.position], bind_expr::bind(t.value, b)?)?,
            };
            Ok((t.position, value))
        })
        .collect()
}

/// INSERT's RETURNING list over the row written. The columns it reads need SELECT.
pub(crate) fn returning(
    ctx: &mut ExecContext<'_>,
    table: &TableDef,
    alias: &str,
    items: &[ast::SelectItem],
) -> Result<Returning> {
    let access = RelationAccess::new(ObjectRef::table(table), PrivilegeSet::of(&[]));
    let items = over_table(
        ctx,
        table,
        alias,
        access,
        false,
        |b| b.returning_list(items),
        |items| items.iter_mut().map(|(_, e)| e).collect(),
    )?;
    Ok(returning_of(items))
}

/// A bound RETURNING list as the plan holds it.
pub(crate) fn returning_of(items: Vec<(String, Expr)>) -> Returning {
    let columns = items.iter().map(|(name, e)| ResultColumn { name: name.clone(), data_type: e.data_type() }).collect();
    Returning { exprs: items.into_iter().map(|(_, e)| e).collect(), columns }
}

/// `ON CONFLICT [target] DO NOTHING | DO UPDATE SET ... [WHERE ...]`.
pub(crate) fn on_conflict(
    ctx: &mut ExecContext<'_>,
    table: &TableDef,
    alias: &str,
    clause: &ast::OnConflict,
) -> Result<OnConflict> {
    let arbiters = match &clause.conflict_target {
        None => {
            if matches!(clause.action, ast::OnConflictAction::DoUpdate(_)) {
                return Err(DbError::syntax(
                    "ON CONFLICT DO UPDATE requires inference specification or constraint name",
                )
                .with_hint("For example, ON CONFLICT (column_name)."));
            }
            Arbiters {
                primary_key: !table.primary_key.is_empty(),
                indexes: table.indexes.iter().filter(|i| i.unique).map(|i| i.id).collect(),
            }
        }
        Some(ast::ConflictTarget::Columns(columns)) => inferred_arbiters(table, columns)?,
        Some(ast::ConflictTarget::OnConstraint(name)) => {
            let name = name.0.last().and_then(|p| p.as_ident()).map(ident_name).unwrap_or_default();
            if !table.primary_key.is_empty() && name == table.primary_key_name() {
                Arbiters { primary_key: true, indexes: Vec::new() }
            } else if let Some(index) = table.indexes.iter().find(|i| i.unique && i.name == name) {
                Arbiters { primary_key: false, indexes: vec![index.id] }
            } else {
                return Err(DbError::sql(
                    SqlState::UndefinedObject,
                    format!("constraint \"{name}\" for table \"{}\" does not exist", table.name),
                ));
            }
        }
    };
    if clause.conflict_target.is_some() {
        // Naming the arbiter reads its columns: SELECT on them, as PostgreSQL requires.
        let mut read = RelationAccess::new(ObjectRef::table(table), PrivilegeSet::of(&[Privilege::Select]));
        if arbiters.primary_key {
            read.selected.extend(&table.primary_key);
        }
        for index in table.indexes.iter().filter(|i| arbiters.has_index(i)) {
            read.selected.extend(&index.columns);
        }
        ctx.access_requests.push(AccessRequest::Relation(read));
    }
    let action = match &clause.action {
        ast::OnConflictAction::DoNothing => ConflictAction::Nothing,
        ast::OnConflictAction::DoUpdate(update) => {
            let targets = assignment_targets(ctx, table, &update.assignments)?;
            let mut access = RelationAccess::new(ObjectRef::table(table), PrivilegeSet::of(&[Privilege::Update]));
            access.updated = targets.iter().map(|t| t.position).collect();
            let (assignments, filter) = over_table(
                ctx,
                table,
                alias,
                access,
                true,
                |b| {
                    let assignments = assignment_values(b, table, &targets)?;
                    let filter =
                        update.selection.as_ref().map(|w| boolean(bind_expr::bind(w, b)?, "WHERE")).transpose()?;
                    Ok((assignments, filter))
                },
                |(assignments, filter)| assignments.iter_mut().map(|(_, e)| e).chain(filter.iter_mut()).collect(),
            )?;
            let check = row_check(ctx, table, PolicyCommand::Update)?;
            ConflictAction::Update { assignments, filter, check }
        }
    };
    Ok(OnConflict { arbiters, action })
}

/// The unique constraints whose columns are exactly `columns` (in any order): 42P10 if none.
fn inferred_arbiters(table: &TableDef, columns: &[ast::Ident]) -> Result<Arbiters> {
    let wanted = columns.iter().map(|c| target_column(table, &ident_name(c))).collect::<Result<BTreeSet<usize>>>()?;
    let same = |cols: &[usize]| cols.iter().copied().collect::<BTreeSet<usize>>() == wanted;
    let arbiters = Arbiters {
        primary_key: !table.primary_key.is_empty() && same(&table.primary_key),
        indexes: table.indexes.iter().filter(|i| i.unique && same(&i.columns)).map(|i| i.id).collect(),
    };
    if arbiters.is_empty() {
        return Err(DbError::sql(
            SqlState::InvalidColumnReference,
            "there is no unique or exclusion constraint matching the ON CONFLICT specification",
        ));
    }
    Ok(arbiters)
}
