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
//! Under READ COMMITTED a target row a concurrent transaction changed is taken in its newest
//! version, as PostgreSQL 15 does: if it still meets ON, the WHEN MATCHED clauses are chosen
//! again on it; if it went or no longer meets ON, the source row is handled as not matched. Every row written passes the table's NOT
//! NULL, CHECK and foreign key rules, as an INSERT's or UPDATE's would.

use crate::acl::{ObjectRef, Privilege, PrivilegeSet, RelationAccess};
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
use rustydb_txn::{Delete, LockMode, WaitPolicy};
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
        if crate::row_security::filter_for(ctx, &table, command, false, None)?.is_some() {
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

    let mut access = RelationAccess::new(ObjectRef::table(&table), PrivilegeSet::of(&required));
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
                // A NOT MATCHED clause has no target row: it may read the source only.
                if !*matched {
                    let width = table.schema.len();
                    let exprs = predicate.iter().chain(match &action {
                        MergeDo::Insert(row) => row.as_slice(),
                        _ => &[],
                    });
                    if exprs.flat_map(crate::optimize::free_columns).any(|id| id < width) {
                        return Err(DbError::sql(
                            SqlState::UndefinedTable,
                            format!("invalid reference to FROM-clause entry for table \"{alias}\""),
                        )
                        .with_hint(format!(
                            "There is an entry for table \"{alias}\", but it cannot be referenced from this part of the query."
                        )));
                    }
                }
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
    let fks = crate::foreign_key::ForeignKeys::load(ctx, &plan.table)?;
    // Every joined row is read (and spooled) before any is acted on: the join reads the target.
    let mut rows = exec::Spool::of_query(ctx, &plan.joined.rel, |_, _| Ok(true))?.finish()?;
    let mut run = Run { plan, fks: &fks, changed: HashSet::new(), count: 0, dead: 0 };
    let done = (|| {
        while let Some(joined) = rows.next(ctx)? {
            run.row(ctx, joined)?;
        }
        Ok(())
    })();
    vacuum::note_changes(ctx, &plan.table, run.count, run.dead);
    done?;
    Ok(StatementResult::tag(format!("MERGE {}", run.count)))
}

/// One MERGE's progress.
struct Run<'p> {
    plan: &'p MergePlan,
    fks: &'p crate::foreign_key::ForeignKeys,
    /// Target rows this statement changed (their versions before and after).
    changed: HashSet<TupleId>,
    count: u64,
    dead: u64,
}

/// What became of a matched source row.
enum Matched {
    /// A WHEN MATCHED clause acted, or none applied.
    Handled,
    /// The target row went, or no longer meets ON (a concurrent change): the source row is
    /// handled as not matched, as PostgreSQL 15 does.
    NotMatched,
}

impl Run<'_> {
    fn row(&mut self, ctx: &mut ExecContext<'_>, mut joined: Vec<Value>) -> Result<()> {
        let width = self.plan.joined.width;
        if !joined[width].is_null() {
            if let Matched::Handled = self.matched(ctx, &joined)? {
                return Ok(());
            }
            for v in &mut joined[..=width] {
                *v = Value::Null;
            }
        }
        self.not_matched(ctx, &joined)
    }

    /// The first clause of the kind whose predicate holds over `scope`.
    fn choose(&self, ctx: &mut ExecContext<'_>, matched: bool, scope: &[Value]) -> Result<Option<&MergeDo>> {
        for clause in self.plan.clauses.iter().filter(|c| c.matched == matched) {
            if exec::passes(ctx, clause.predicate.as_ref(), scope)? {
                return Ok(Some(&clause.action));
            }
        }
        Ok(None)
    }

    fn not_matched(&mut self, ctx: &mut ExecContext<'_>, scope: &[Value]) -> Result<()> {
        let Some(MergeDo::Insert(exprs)) = self.choose(ctx, false, scope)? else { return Ok(()) };
        let table = &self.plan.table;
        let row = exprs.iter().map(|e| exec::eval(ctx, e, scope)).collect::<Result<Vec<_>>>()?;
        crate::check_constraint::enforce(ctx, table, &self.plan.constraints, &row)?;
        crate::foreign_key::check_references(ctx, table, self.fks, None, &row)?;
        access::insert(ctx, table, &row)?;
        self.count += 1;
        Ok(())
    }

    /// A source row with a target row: the WHEN MATCHED clauses, chosen again on the target
    /// row's newest version if a concurrent transaction changed it (READ COMMITTED).
    fn matched(&mut self, ctx: &mut ExecContext<'_>, joined: &[Value]) -> Result<Matched> {
        let (table, width) = (&self.plan.table, self.plan.joined.width);
        let scope = |row: &[Value]| {
            let mut scope = joined.to_vec();
            scope[..width].clone_from_slice(row);
            scope
        };
        let first = exec::decode_tid(table, &joined[width])?;
        let (mut tid, mut row) = (first, joined[..width].to_vec());
        loop {
            let action = match self.choose(ctx, true, &scope(&row))? {
                None | Some(MergeDo::Nothing) => return Ok(Matched::Handled),
                Some(action) => action.clone(),
            };
            if self.changed.contains(&tid) {
                return Err(twice());
            }
            match access::delete(ctx, table, tid)? {
                Delete::Done => {
                    self.changed.extend([first, tid]);
                    self.apply(ctx, &action, tid, &row, &scope(&row))?;
                    return Ok(Matched::Handled);
                }
                // Changed by this statement already: a second source row matched it (21000);
                // or a cascade of this statement reached it first: nothing left to do.
                Delete::AlreadyMine if self.changed.contains(&tid) => return Err(twice()),
                Delete::AlreadyMine => return Ok(Matched::Handled),
                Delete::Gone => return Ok(Matched::NotMatched),
                Delete::Updated(newer) => {
                    let Some(newer_row) = access::fetch_newer(ctx, table, newer)? else {
                        return Ok(Matched::NotMatched);
                    };
                    if !exec::passes(ctx, self.plan.joined.filter.as_ref(), &scope(&newer_row))? {
                        return Ok(Matched::NotMatched);
                    }
                    (tid, row) = (newer, newer_row);
                }
            }
        }
    }

    /// UPDATE or DELETE of the target row `old` (at `tid`, deleted already).
    fn apply(
        &mut self,
        ctx: &mut ExecContext<'_>,
        action: &MergeDo,
        tid: TupleId,
        old: &[Value],
        scope: &[Value],
    ) -> Result<()> {
        let table = &self.plan.table;
        self.dead += 1;
        self.count += 1;
        match action {
            MergeDo::Update(assignments) => {
                let mut new = old.to_vec();
                for (position, e) in assignments {
                    new[*position] = exec::eval(ctx, e, scope)?;
                }
                crate::check_constraint::enforce(ctx, table, &self.plan.constraints, &new)?;
                crate::foreign_key::check_references(ctx, table, self.fks, Some(old), &new)?;
                let new_tid = access::insert(ctx, table, &new)?;
                access::link_update(ctx, table, tid, new_tid)?;
                self.changed.insert(new_tid);
                crate::foreign_key::on_update(ctx, table, self.fks, old, &new)
            }
            MergeDo::Delete => crate::foreign_key::on_delete(ctx, table, self.fks, old),
            MergeDo::Insert(_) | MergeDo::Nothing => Ok(()),
        }
    }
}

/// 21000: a target row two source rows match is changed once only.
fn twice() -> DbError {
    DbError::sql(SqlState::CardinalityViolation, "MERGE command cannot affect row a second time")
        .with_hint("Ensure that not more than one source row matches any one target row.")
}
