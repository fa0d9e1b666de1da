//! `MERGE INTO target USING source ON condition WHEN [NOT] MATCHED [AND predicate] THEN
//! UPDATE SET ... | DELETE | INSERT ... | DO NOTHING`, as PostgreSQL 15 runs it.
//!
//! The rows come from one join, planned like any other: the source LEFT JOIN the target (with
//! each target row's tuple id) ON the condition. A joined row with a target row is *matched*:
//! the first WHEN MATCHED clause whose predicate holds acts on that target row. A source row
//! that found none is *not matched*: the first WHEN NOT MATCHED clause whose predicate holds
//! inserts (or does nothing). A target row two source rows match may be changed once only:
//! the second change is 21000, as in PostgreSQL.
//!
//! Updates and deletes go through the same claim as UPDATE's: under READ COMMITTED a target
//! row a concurrent transaction changed is re-checked against the ON condition in its newest
//! version, and left alone if it no longer matches. Every row written passes the table's NOT
//! NULL, CHECK and foreign key rules, as an INSERT's or UPDATE's would.

use crate::acl::{ObjectKind, ObjectRef, Privilege, PrivilegeSet, RelationAccess};
use crate::bind_dml;
use crate::bind_expr::{self, boolean, ident_name};
use crate::binder::{assign, column_default, target_column};
use crate::catalog::TableDef;
use crate::check_constraint::BoundCheck;
use crate::context::ExecContext;
use crate::exec;
use crate::expr::Expr;
use crate::plan::JoinedRows;
use crate::result::StatementResult;
use crate::row_security::PolicyCommand;
use crate::{access, vacuum};
use rustydb_foundation::{DbError, Result, SqlState, TupleId, Value};
use rustydb_txn::{LockMode, WaitPolicy};
use sqlparser::ast;
use std::collections::HashSet;

/// A bound MERGE.
#[derive(Debug, Clone, PartialEq)]
pub struct MergePlan {
    /// The target (locked ROW EXCLUSIVE).
    pub table: TableDef,
    /// The source LEFT JOIN the target: the target's row (NULLs when unmatched), its tuple id,
    /// then the source columns the statement reads. Its `filter` is the ON condition, checked
    /// again on a target row's newest version.
    pub joined: JoinedRows,
    /// The WHEN clauses, in order.
    pub clauses: Vec<MergeWhen>,
    /// The table's CHECK constraints.
    pub constraints: Vec<BoundCheck>,
}

/// One WHEN clause.
#[derive(Debug, Clone, PartialEq)]
pub struct MergeWhen {
    /// WHEN MATCHED (true) or WHEN NOT MATCHED (false).
    pub matched: bool,
    /// `AND predicate`, over the joined row.
    pub predicate: Option<Expr>,
    /// What it does.
    pub action: MergeDo,
}

/// A WHEN clause's action.
#[derive(Debug, Clone, PartialEq)]
pub enum MergeDo {
    /// `UPDATE SET`: (column position, new value over the joined row).
    Update(Vec<(usize, Expr)>),
    /// `DELETE`.
    Delete,
    /// `INSERT`: the whole new row, each value over the joined row.
    Insert(Vec<Expr>),
    /// `DO NOTHING`.
    Nothing,
}

/// Binds a MERGE.
pub fn bind(ctx: &mut ExecContext<'_>, merge: &ast::Merge) -> Result<MergePlan> {
    if merge.output.is_some() {
        return Err(DbError::unsupported("MERGE ... OUTPUT"));
    }
    let ast::TableFactor::Table { name, alias, args: None, .. } = &merge.table else {
        return Err(DbError::unsupported(format!("MERGE into {}", merge.table)));
    };
    let table_name = crate::binder::table_name(name)?;
    let table = access::open_table(ctx, &table_name, LockMode::RowExclusive, WaitPolicy::Block)?
        .ok_or_else(|| DbError::undefined_table(&table_name))?;
    if table.is_system() {
        return Err(DbError::sql(
            SqlState::InsufficientPrivilege,
            format!("permission denied: \"{table_name}\" is a system catalog"),
        ));
    }
    let alias = alias.as_ref().map_or_else(|| table.name.clone(), |a| ident_name(&a.name));
    // Row-level security would filter and check each action by its own command's policies;
    // until MERGE applies them, a table they guard is refused rather than passed through.
    for command in [PolicyCommand::Insert, PolicyCommand::Update, PolicyCommand::Delete, PolicyCommand::Select] {
        if crate::row_security::filter_for(ctx, &table.name, command, false, None)?.is_some() {
            return Err(DbError::unsupported("MERGE into a table with row-level security"));
        }
    }

    // What each clause needs before the binder takes the context: its SET targets, and the
    // columns' defaults for INSERT.
    let mut required = Vec::new();
    let mut updated = Vec::new();
    let mut inserted = Vec::new();
    let mut targets = Vec::with_capacity(merge.clauses.len());
    for clause in &merge.clauses {
        let matched = match clause.clause_kind {
            ast::MergeClauseKind::Matched => true,
            ast::MergeClauseKind::NotMatched | ast::MergeClauseKind::NotMatchedByTarget => false,
            ast::MergeClauseKind::NotMatchedBySource => {
                return Err(DbError::unsupported("WHEN NOT MATCHED BY SOURCE"));
            }
        };
        let target = match &clause.action {
            ast::MergeAction::Update(u) => {
                if !matched {
                    return Err(DbError::syntax("syntax error at or near \"UPDATE\""));
                }
                if u.update_predicate.is_some() || u.delete_predicate.is_some() {
                    return Err(DbError::unsupported("UPDATE ... WHERE in MERGE"));
                }
                let ast::MergeUpdateKind::Set(assignments) = &u.kind else {
                    return Err(DbError::unsupported("UPDATE SET * in MERGE"));
                };
                let t = bind_dml::assignment_targets(ctx, &table, assignments)?;
                required.push(Privilege::Update);
                updated.extend(t.iter().map(|t| t.position));
                Target::Update(t)
            }
            ast::MergeAction::Delete { .. } => {
                if !matched {
                    return Err(DbError::syntax("syntax error at or near \"DELETE\""));
                }
                required.push(Privilege::Delete);
                Target::Delete
            }
            ast::MergeAction::Insert(i) => {
                if matched {
                    return Err(DbError::syntax("syntax error at or near \"INSERT\""));
                }
                if i.insert_predicate.is_some() {
                    return Err(DbError::unsupported("INSERT ... WHERE in MERGE"));
                }
                let positions: Vec<usize> = if i.columns.is_empty() {
                    (0..table.schema.len()).collect()
                } else {
                    let mut positions = Vec::with_capacity(i.columns.len());
                    for c in &i.columns {
                        let name = c.0.last().and_then(|p| p.as_ident()).map(ident_name).unwrap_or_default();
                        let position = target_column(&table, &name)?;
                        if positions.contains(&position) {
                            return Err(DbError::sql(
                                SqlState::DuplicateColumn,
                                format!("column \"{name}\" specified more than once"),
                            ));
                        }
                        positions.push(position);
                    }
                    positions
                };
                required.push(Privilege::Insert);
                inserted.extend(positions.iter().copied());
                let values: &[ast::Expr] = match &i.kind {
                    ast::MergeInsertKind::Values(v) => match v.rows.as_slice() {
                        [row] => &row.content,
                        _ => return Err(DbError::syntax("MERGE INSERT takes one VALUES row")),
                    },
                    other => return Err(DbError::unsupported(format!("INSERT {other} in MERGE"))),
                };
                let positions = if i.columns.is_empty() {
                    positions[..values.len().min(positions.len())].to_vec()
                } else {
                    positions
                };
                if values.len() > positions.len() {
                    return Err(DbError::syntax("INSERT has more expressions than target columns"));
                }
                if values.len() < positions.len() {
                    return Err(DbError::syntax("INSERT has more target columns than expressions"));
                }
                Target::Insert(positions, values)
            }
            ast::MergeAction::DoNothing { .. } => Target::Nothing,
        };
        targets.push((matched, clause.predicate.as_ref(), target));
    }
    let defaults: Vec<Expr> = table.schema.columns.iter().map(|c| column_default(ctx, c)).collect::<Result<_>>()?;

    let mut access = RelationAccess::new(ObjectRef::new(ObjectKind::Table, &table.name), PrivilegeSet::of(&required));
    access.updated = updated.into_iter().collect();
    access.inserted = inserted.into_iter().collect();
    let source = ast::TableWithJoins { relation: merge.source.clone(), joins: Vec::new() };
    let (clauses, joined) = crate::dml_join::over_join(
        ctx,
        &table,
        &alias,
        access,
        std::slice::from_ref(&source),
        crate::dml_join::Shape::MergeOn(&merge.on),
        |b| {
            let mut clauses = Vec::with_capacity(targets.len());
            for (matched, predicate, target) in &targets {
                let predicate = predicate.map(|p| boolean(bind_expr::bind(p, b)?, "WHEN")).transpose()?;
                let action = match target {
                    Target::Update(t) => MergeDo::Update(bind_dml::assignment_values(b, &table, t)?),
                    Target::Delete => MergeDo::Delete,
                    Target::Nothing => MergeDo::Nothing,
                    Target::Insert(positions, values) => {
                        let mut row = defaults.clone();
                        for (&position, value) in positions.iter().zip(values.iter()) {
                            if !crate::binder::is_default(value) {
                                row[position] = assign(&table.schema.columns[position], bind_expr::bind(value, b)?)?;
                            }
                        }
                        MergeDo::Insert(row)
                    }
                };
                clauses.push(MergeWhen { matched: *matched, predicate, action });
            }
            Ok(clauses)
        },
        |clauses| {
            let mut exprs: Vec<&mut Expr> = Vec::new();
            for c in clauses.iter_mut() {
                exprs.extend(c.predicate.iter_mut());
                match &mut c.action {
                    MergeDo::Update(a) => exprs.extend(a.iter_mut().map(|(_, e)| e)),
                    MergeDo::Insert(row) => exprs.extend(row.iter_mut()),
                    MergeDo::Delete | MergeDo::Nothing => {}
                }
            }
            exprs
        },
    )?;
    let constraints = crate::check_constraint::bind_all(ctx, &table)?;
    Ok(MergePlan { table, joined, clauses, constraints })
}

/// A clause's action before its expressions are bound.
enum Target<'a> {
    Update(Vec<bind_dml::AssignmentTarget<'a>>),
    Delete,
    Insert(Vec<usize>, &'a [ast::Expr]),
    Nothing,
}

/// Runs a bound MERGE: `MERGE n`, n the rows inserted, updated and deleted.
pub fn execute(ctx: &mut ExecContext<'_>, plan: &MergePlan) -> Result<StatementResult> {
    let MergePlan { table, joined: j, clauses, constraints } = plan;
    let fks = crate::foreign_key::ForeignKeys::load(ctx, table)?;
    let rows = exec::collect(ctx, &j.rel, "the rows to merge")?;
    let mut changed: HashSet<TupleId> = HashSet::new();
    let (mut count, mut dead) = (0u64, 0u64);
    let done = rows.into_iter().try_for_each(|joined| -> Result<()> {
        let matched = !joined[j.width].is_null();
        let mut chosen = None;
        for clause in clauses.iter().filter(|c| c.matched == matched) {
            if exec::passes(ctx, clause.predicate.as_ref(), &joined)? {
                chosen = Some(&clause.action);
                break;
            }
        }
        let Some(action) = chosen else { return Ok(()) };
        if let MergeDo::Insert(exprs) = action {
            let row = exprs.iter().map(|e| exec::eval(ctx, e, &joined)).collect::<Result<Vec<_>>>()?;
            crate::check_constraint::enforce(ctx, table, constraints, &row)?;
            crate::foreign_key::check_references(ctx, table, &fks, None, &row)?;
            access::insert(ctx, table, &row)?;
            count += 1;
            return Ok(());
        }
        if matches!(action, MergeDo::Nothing) {
            return Ok(());
        }
        let tid = exec::decode_tid(table, &joined[j.width])?;
        if changed.contains(&tid) {
            return Err(DbError::sql(SqlState::CardinalityViolation, "MERGE command cannot affect row a second time")
                .with_hint("Ensure that not more than one source row matches any one target row."));
        }
        let scope = |row: &[Value]| {
            let mut scope = joined.clone();
            scope[..j.width].clone_from_slice(row);
            scope
        };
        let claimed = crate::executor::claim_checked(ctx, table, tid, joined[..j.width].to_vec(), |ctx, newer| {
            exec::passes(ctx, j.filter.as_ref(), &scope(newer))
        })?;
        let Some((tid, old)) = claimed else { return Ok(()) };
        changed.insert(tid);
        dead += 1;
        count += 1;
        match action {
            MergeDo::Update(assignments) => {
                let scope = scope(&old);
                let mut new = old.clone();
                for (position, e) in assignments {
                    new[*position] = exec::eval(ctx, e, &scope)?;
                }
                crate::check_constraint::enforce(ctx, table, constraints, &new)?;
                crate::foreign_key::check_references(ctx, table, &fks, Some(&old), &new)?;
                let new_tid = access::insert(ctx, table, &new)?;
                access::link_update(ctx, table, tid, new_tid)?;
                changed.insert(new_tid);
                crate::foreign_key::on_update(ctx, table, &fks, &old, &new)
            }
            MergeDo::Delete => crate::foreign_key::on_delete(ctx, table, &fks, &old),
            MergeDo::Insert(_) | MergeDo::Nothing => unreachable!("handled above"),
        }
    });
    vacuum::note_changes(ctx, table, count, dead);
    done?;
    Ok(StatementResult::tag(format!("MERGE {count}")))
}
