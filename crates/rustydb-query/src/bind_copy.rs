//! Binding COPY: `COPY t [(cols)] FROM STDIN` (a target table and columns, run by the
//! session as data arrives: see `session/copy_in.rs`) and `COPY t [(cols)] | (query) TO STDOUT`
//! (a query whose rows are encoded in the COPY format).
//!
//! Files and programs on the server (`COPY ... FROM '/path'`) are not supported: clients use
//! psql's `\copy`, which streams through STDIN/STDOUT.

use crate::bind_expr::ident_name;
use crate::binder::{bind_select, table_name};
use crate::catalog::TableDef;
use crate::context::ExecContext;
use crate::copy::CopyOptions;
use crate::plan::{QueryPlan, Statement};
use rustydb_foundation::{DbError, Result, SqlState};
use rustydb_txn::{LockMode, WaitPolicy};
use sqlparser::ast;

/// A bound `COPY ... FROM STDIN`.
#[derive(Debug, Clone)]
pub struct CopyFrom {
    /// The target table (locked ROW EXCLUSIVE).
    pub table: TableDef,
    /// The table column each input field fills, in input order.
    pub columns: Vec<usize>,
    /// Format and options.
    pub options: CopyOptions,
    /// The defaults of the columns the input does not fill (position, expression).
    pub defaults: Vec<(usize, crate::expr::Expr)>,
    /// The table's CHECK constraints.
    pub constraints: Vec<crate::check_constraint::BoundCheck>,
}

/// True for `COPY ... FROM STDIN`, which the session runs as CopyData arrives.
pub fn is_copy_from_stdin(stmt: &ast::Statement) -> bool {
    matches!(stmt, ast::Statement::Copy { to: false, target: ast::CopyTarget::Stdin, .. })
}

fn no_files() -> DbError {
    DbError::unsupported("COPY to or from a file or program on the server (use psql's \\copy)")
}

/// Binds `COPY t [(cols)] FROM STDIN`.
pub fn bind_copy_from(ctx: &mut ExecContext<'_>, stmt: &ast::Statement) -> Result<CopyFrom> {
    let ast::Statement::Copy { source, to: false, target, options, legacy_options, values } = stmt else {
        return Err(DbError::Internal("not a COPY FROM".into()));
    };
    if *target != ast::CopyTarget::Stdin {
        return Err(no_files());
    }
    if !values.is_empty() {
        return Err(DbError::unsupported("COPY data inside the query string"));
    }
    let ast::CopySource::Table { table_name: name, columns } = source else {
        return Err(DbError::syntax("COPY FROM needs a table, not a query"));
    };
    let options = CopyOptions::from_ast(options, legacy_options)?;
    let name = table_name(name)?;
    if crate::catalog::find_view(ctx, &name)?.is_some() {
        return Err(DbError::sql(SqlState::WrongObjectType, format!("cannot copy to view \"{name}\"")));
    }
    let table = crate::access::open_table(ctx, &name, LockMode::RowExclusive, WaitPolicy::Block)?
        .ok_or_else(|| DbError::undefined_table(&name))?;
    let columns = crate::binder::target_positions(&table, columns.iter().map(ident_name))?;
    let mut access = crate::acl::RelationAccess::new(
        crate::acl::ObjectRef::table(&table),
        crate::acl::PrivilegeSet::of(&[crate::acl::Privilege::Insert]),
    );
    access.inserted = columns.iter().copied().collect();
    crate::acl::require(ctx, crate::acl::AccessRequest::Relation(access))?;
    let policies = crate::row_security::PolicyCommand::Insert;
    if crate::row_security::filter_for(ctx, &table, policies, true, None)?.is_some() {
        return Err(
            DbError::unsupported("COPY FROM with row-level security").with_hint("Use INSERT statements instead.")
        );
    }
    let mut defaults = Vec::new();
    for (position, column) in table.schema.columns.iter().enumerate() {
        if !columns.contains(&position) && column.default.is_some() {
            defaults.push((position, crate::binder::column_default(ctx, column)?));
        }
    }
    let constraints = crate::check_constraint::bind_all(ctx, &table)?;
    Ok(CopyFrom { table, columns, options, defaults, constraints })
}

/// Binds `COPY ... TO STDOUT` as a query and its options.
pub fn bind_copy_to(ctx: &mut ExecContext<'_>, stmt: &ast::Statement) -> Result<Statement> {
    let ast::Statement::Copy { source, to: true, target, options, legacy_options, .. } = stmt else {
        return Err(DbError::Internal("not a COPY TO".into()));
    };
    if *target != ast::CopyTarget::Stdout {
        return Err(no_files());
    }
    let options = CopyOptions::from_ast(options, legacy_options)?;
    let plan: QueryPlan = match source {
        ast::CopySource::Query(q) => bind_select(ctx, q)?,
        ast::CopySource::Table { table_name: name, columns } => {
            let list = if columns.is_empty() {
                "*".to_string()
            } else {
                columns.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
            };
            let sql = format!("SELECT {list} FROM {name}");
            let parsed = crate::parser::parse(&sql)?;
            let [ast::Statement::Query(q)] = parsed.as_slice() else {
                return Err(DbError::Internal(format!("COPY's query did not parse: {sql}")));
            };
            let name = table_name(name)?;
            if crate::catalog::find_view(ctx, &name)?.is_some() {
                return Err(DbError::sql(SqlState::WrongObjectType, format!("cannot copy from view \"{name}\""))
                    .with_detail("Try the COPY (SELECT ...) TO variant."));
            }
            bind_select(ctx, q)?
        }
    };
    Ok(Statement::CopyTo { plan, options })
}
