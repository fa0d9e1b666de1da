//! CHECK constraints: defining them (CREATE TABLE, ALTER TABLE ADD CONSTRAINT) and enforcing
//! them on every row written.
//!
//! The catalog keeps a constraint's predicate as SQL text; each statement that writes the table
//! binds the predicates again (as it binds column defaults), so a predicate calling `now()`
//! sees the statement's time. A row violates a constraint only when the predicate is FALSE:
//! NULL passes, as the SQL standard and PostgreSQL have it.

use crate::bind_expr::{self, ident_name};
use crate::bind_query::QueryBinder;
use crate::catalog::{CheckDef, TableDef};
use crate::context::ExecContext;
use crate::exec;
use crate::expr::Expr;
use rustydb_foundation::{DataType, DbError, Result, SqlState, Value};
use sqlparser::ast;

/// A table's CHECK constraint bound for one statement: its predicate over the table's row.
#[derive(Debug, Clone, PartialEq)]
pub struct BoundCheck {
    /// The constraint's name.
    pub name: String,
    /// The predicate, over the table's positions.
    pub predicate: Expr,
}

/// Binds `table`'s CHECK constraints for a statement that writes it.
pub fn bind_all(ctx: &mut ExecContext<'_>, table: &TableDef) -> Result<Vec<BoundCheck>> {
    table
        .checks
        .iter()
        .map(|c| {
            let parsed = crate::parser::parse_expr(&c.predicate)?;
            Ok(BoundCheck { name: c.name.clone(), predicate: bind_predicate(ctx, table, &parsed)? })
        })
        .collect()
}

/// Binds a CHECK predicate over `table`'s row, with PostgreSQL's rules: boolean (42804), no
/// subquery (0A000), no aggregate (42803).
fn bind_predicate(ctx: &mut ExecContext<'_>, table: &TableDef, e: &ast::Expr) -> Result<Expr> {
    let mut binder = QueryBinder::for_table(ctx, table, &table.name);
    binder.forbid_aggregates("check constraints");
    let bound = bind_expr::bind(e, &mut binder)?;
    let names = binder.into_names();
    let bound = bind_expr::coerce_unknown(bound, DataType::Bool)?;
    if bound.data_type() != DataType::Bool {
        return Err(DbError::sql(
            SqlState::DatatypeMismatch,
            format!("argument of CHECK must be type boolean, not type {}", bound.data_type().sql_name()),
        ));
    }
    if bound.has_subquery() {
        return Err(DbError::sql(SqlState::FeatureNotSupported, "cannot use subquery in check constraint"));
    }
    let layout: Vec<usize> = (0..table.schema.len()).collect();
    crate::resolve::resolve_expr(bound, &layout, &names)
}

/// A new CHECK constraint on `table`, checked and named: the name given, or PostgreSQL's
/// (`table_column_check` for a constraint on one column, `table_check` otherwise, numbered
/// past any taken). `column` is the column a column constraint is written on.
pub fn define(
    ctx: &mut ExecContext<'_>,
    table: &TableDef,
    name: Option<&ast::Ident>,
    predicate: &ast::Expr,
    column: Option<&str>,
    taken: &[String],
) -> Result<CheckDef> {
    let bound = bind_predicate(ctx, table, predicate)?;
    let name = match name {
        Some(n) => ident_name(n),
        None => {
            let read: Vec<usize> = crate::optimize::free_columns(&bound).into_iter().collect();
            let only = match read.as_slice() {
                [position] => Some(table.schema.columns[*position].name.clone()),
                _ => None,
            };
            let single = column.map(str::to_string).or(only);
            let base = match single {
                Some(c) => format!("{}_{c}_check", table.name),
                None => format!("{}_check", table.name),
            };
            first_untaken(&base, taken)
        }
    };
    if taken.contains(&name) {
        return Err(DbError::sql(
            SqlState::DuplicateObject,
            format!("constraint \"{name}\" for relation \"{}\" already exists", table.name),
        ));
    }
    Ok(CheckDef { name, predicate: predicate.to_string() })
}

/// PostgreSQL's choice of a constraint name: `base` if free, else `base1`, `base2`, …
pub(crate) fn first_untaken(base: &str, taken: &[String]) -> String {
    let mut candidate = base.to_string();
    let mut n = 0;
    while taken.contains(&candidate) {
        n += 1;
        candidate = format!("{base}{n}");
    }
    candidate
}

/// 23514 unless `row` passes every constraint (NULL passes).
pub fn enforce(ctx: &mut ExecContext<'_>, table: &TableDef, checks: &[BoundCheck], row: &[Value]) -> Result<()> {
    for check in checks {
        if exec::eval(ctx, &check.predicate, row)? == Value::Bool(false) {
            return Err(DbError::sql(
                SqlState::CheckViolation,
                format!("new row for relation \"{}\" violates check constraint \"{}\"", table.name, check.name),
            )
            .with_detail(format!("Failing row contains ({}).", crate::access::format_row(row))));
        }
    }
    Ok(())
}

/// 23514 if a row `table` holds now fails the new constraint `check` (ALTER TABLE ADD).
pub fn validate_existing(ctx: &mut ExecContext<'_>, table: &TableDef, check: &CheckDef) -> Result<()> {
    let parsed = crate::parser::parse_expr(&check.predicate)?;
    let predicate = bind_predicate(ctx, table, &parsed)?;
    for (_, row) in crate::access::scan(ctx, table)? {
        if exec::eval(ctx, &predicate, &row)? == Value::Bool(false) {
            return Err(DbError::sql(
                SqlState::CheckViolation,
                format!("check constraint \"{}\" of relation \"{}\" is violated by some row", check.name, table.name),
            ));
        }
    }
    Ok(())
}
