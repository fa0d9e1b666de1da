//! `CREATE TABLE ... AS query` and `SELECT ... INTO table`: a new table shaped like the query's
//! result (its column names and types, every column nullable, no constraints), filled with the
//! query's rows in the same transaction. As in PostgreSQL, the command tag counts the rows
//! (`SELECT n`), and a column of unknown type (a bare literal or NULL) becomes `text`.

use crate::binder::{bind_select, table_name, table_options};
use crate::context::ExecContext;
use crate::plan::{QueryPlan, Statement};
use crate::result::StatementResult;
use rustydb_foundation::{Column, DataType, DbError, Result, SqlState};
use sqlparser::ast;

/// The bound statement's parts (see [`Statement::CreateTableAs`]).
#[derive(Debug, Clone, PartialEq)]
pub struct CreateTableAs {
    /// The new table.
    pub name: String,
    /// The namespace (schema) it goes in.
    pub namespace: u32,
    /// Its columns, from the query's result.
    pub columns: Vec<Column>,
    /// The query.
    pub query: Box<QueryPlan>,
    /// IF NOT EXISTS.
    pub if_not_exists: bool,
    /// `WITH (compression = ...)`.
    pub compression: rustydb_storage::Compression,
    /// `WITH (encrypted = ...)`.
    pub encrypted: Option<bool>,
}

/// Binds `CREATE TABLE name [(column, ...)] [WITH (...)] AS query`.
pub fn bind(ctx: &mut ExecContext<'_>, create: &ast::CreateTable, query: &ast::Query) -> Result<Statement> {
    if create.like.is_some() || create.clone.is_some() || !create.constraints.is_empty() {
        return Err(DbError::syntax("syntax error at or near \"AS\""));
    }
    if create.columns.iter().any(|c| !matches!(c.data_type, ast::DataType::Unspecified) || !c.options.is_empty()) {
        return Err(DbError::syntax("syntax error at or near \"(\""));
    }
    let names: Vec<String> = create.columns.iter().map(|c| crate::bind_expr::ident_name(&c.name)).collect();
    let (compression, encrypted) = table_options(&create.table_options)?;
    let name = table_name(&create.name)?;
    let namespace = if create.temporary {
        crate::schemas::temp_creation_namespace(ctx, &name, create.on_commit.as_ref())?
    } else {
        name.creation_namespace(ctx)?
    };
    let plan = bind_select(ctx, query)?;
    Ok(Statement::CreateTableAs(CreateTableAs {
        columns: columns(&plan, &names)?,
        name: name.name,
        namespace,
        query: Box::new(plan),
        if_not_exists: create.if_not_exists,
        compression,
        encrypted,
    }))
}

/// Binds `SELECT ... INTO [TABLE] name ...`: the query without its INTO, into a new table.
pub fn bind_select_into(ctx: &mut ExecContext<'_>, query: &ast::Query) -> Result<Option<Statement>> {
    let ast::SetExpr::Select(select) = query.body.as_ref() else { return Ok(None) };
    let Some(into) = &select.into else { return Ok(None) };
    let name = match into.targets.as_slice() {
        [ast::Expr::Identifier(ident)] => table_name(&ast::ObjectName::from(vec![ident.clone()]))?,
        [ast::Expr::CompoundIdentifier(parts)] => table_name(&ast::ObjectName::from(parts.clone()))?,
        _ => return Err(DbError::syntax("syntax error at or near \"INTO\"")),
    };
    let mut plain = query.clone();
    if let ast::SetExpr::Select(select) = plain.body.as_mut() {
        select.into = None;
    }
    let namespace = if into.temporary {
        crate::schemas::temp_creation_namespace(ctx, &name, None)?
    } else {
        name.creation_namespace(ctx)?
    };
    let plan = bind_select(ctx, &plain)?;
    Ok(Some(Statement::CreateTableAs(CreateTableAs {
        columns: columns(&plan, &[])?,
        name: name.name,
        namespace,
        query: Box::new(plan),
        if_not_exists: false,
        compression: Default::default(),
        encrypted: None,
    })))
}

/// The new table's columns: the query's, renamed by `names` (which may name fewer).
fn columns(plan: &QueryPlan, names: &[String]) -> Result<Vec<Column>> {
    if names.len() > plan.columns.len() {
        return Err(DbError::syntax("too many column names were specified"));
    }
    let mut out: Vec<Column> = Vec::with_capacity(plan.columns.len());
    for (i, c) in plan.columns.iter().enumerate() {
        let name = names.get(i).cloned().unwrap_or_else(|| c.name.clone());
        if out.iter().any(|o| o.name == name) {
            return Err(DbError::sql(SqlState::DuplicateColumn, format!("column \"{name}\" specified more than once")));
        }
        let ty = if c.data_type == DataType::Unknown { DataType::Text } else { c.data_type };
        out.push(Column::new(name, ty));
    }
    Ok(out)
}

/// Creates the table and fills it with the query's rows.
pub fn execute(ctx: &mut ExecContext<'_>, create: &CreateTableAs) -> Result<StatementResult> {
    let spec = crate::executor::TableSpec {
        name: &create.name,
        namespace: create.namespace,
        columns: &create.columns,
        primary_key: &[],
        unique: &[],
        compression: create.compression,
        encrypted: create.encrypted,
        serials: &[],
        checks: &[],
        foreign_keys: &[],
    };
    let created = crate::executor::create_table(ctx, &spec, create.if_not_exists)?;
    if !created.notices.is_empty() {
        // IF NOT EXISTS, and it existed: nothing is run.
        return Ok(StatementResult { tag: "CREATE TABLE AS".into(), ..created });
    }
    let namespace = match create.namespace {
        crate::schemas::SESSION_TEMP => crate::schemas::temp_namespace(ctx)?.unwrap_or_default(),
        n => n,
    };
    let table = crate::catalog::find_table_in(ctx, namespace, &create.name)?
        .ok_or_else(|| DbError::Internal(format!("table \"{}\" vanished while being created", create.name)))?;
    // The query cannot read the table it fills (it was bound before the table existed), so its
    // rows go in as they come, a batch at a time.
    let mut input = crate::exec::open(&create.query.rel, &std::rc::Rc::from(Vec::new()));
    let mut count = 0u64;
    let done = (|| {
        while let Some(batch) = input.next(ctx)? {
            for row in &batch {
                crate::access::insert(ctx, &table, row)?;
                count += 1;
            }
        }
        Ok(())
    })();
    crate::vacuum::note_changes(ctx, &table, count, 0);
    done?;
    Ok(StatementResult::tag(format!("SELECT {count}")))
}
