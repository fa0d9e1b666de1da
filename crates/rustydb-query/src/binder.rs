//! The binder: sqlparser statements in, [`Statement`]s out. Names are looked up in the catalog
//! as the statement's snapshot sees it, expressions are typed (bind_expr), and the planner picks
//! an access path. Whatever the engine does not support yet is refused here with 0A000, never
//! half-executed.

use crate::access;
use crate::acl::{AccessRequest, ObjectRef, Privilege, PrivilegeSet, RelationAccess};
use crate::bind_dml;
use crate::bind_expr::{self, boolean, cast, convert_type, ident_name};
use crate::bind_query::QueryBinder;
use crate::catalog::{IndexMethod, QualifiedName, TableDef};
use crate::context::ExecContext;
use crate::expr::Expr;
use crate::plan::{InsertSource, QueryPlan, Statement};
use crate::planner::choose_access;
use crate::rel::ColumnId;
use crate::row_security::{PolicyCommand, RowFilter};
use crate::types::CastContext;
use rustydb_foundation::{Column, DbError, Result, SqlState, Value};
use rustydb_storage::Compression;
use rustydb_txn::{IsolationLevel, LockMode, WaitPolicy};
use sqlparser::ast;

/// Transaction control and session settings need no catalog: bound without a transaction.
pub fn bind_transaction_control(stmt: &ast::Statement) -> Result<Option<Statement>> {
    Ok(match stmt {
        ast::Statement::StartTransaction { modes, .. } => {
            let (isolation, read_only) = transaction_modes(modes)?;
            Some(Statement::Begin { isolation, read_only })
        }
        ast::Statement::Set(ast::Set::SetTransaction { modes, snapshot: None, session }) => {
            let (isolation, read_only) = transaction_modes(modes)?;
            Some(Statement::SetTransaction { isolation, read_only, session: *session })
        }
        ast::Statement::Set(ast::Set::SetTransaction { snapshot: Some(_), .. }) => {
            return Err(DbError::unsupported("SET TRANSACTION SNAPSHOT"));
        }
        ast::Statement::Set(ast::Set::SingleAssignment { scope, hivevar: false, variable, values }) => {
            let local = matches!(scope, Some(ast::ContextModifier::Local));
            let name = variable.to_string().to_ascii_lowercase();
            // The two transaction parameters are SET TRANSACTION under other names.
            if name == "transaction_isolation" || name == "transaction_read_only" {
                let value = setting_value(values)?;
                let invalid =
                    || DbError::sql(SqlState::InvalidParameterValue, format!("invalid value for parameter \"{name}\""));
                let (isolation, read_only) = match value.as_deref() {
                    None => (None, None),
                    Some(v) if name == "transaction_isolation" => {
                        (Some(crate::settings::parse_isolation(v).ok_or_else(invalid)?), None)
                    }
                    Some(v) => (None, Some(crate::settings::parse_bool(v).ok_or_else(invalid)?)),
                };
                return Ok(Some(Statement::SetTransaction { isolation, read_only, session: false }));
            }
            Some(Statement::Set { name, value: setting_value(values)?, local })
        }
        ast::Statement::Set(ast::Set::SetRole { context_modifier, role_name }) => Some(Statement::Set {
            name: "role".into(),
            value: Some(role_name.as_ref().map_or_else(|| "none".into(), ident_name)),
            local: matches!(context_modifier, Some(ast::ContextModifier::Local)),
        }),
        ast::Statement::Set(ast::Set::SetTimeZone { local, value }) => Some(Statement::Set {
            name: "timezone".into(),
            value: setting_value(std::slice::from_ref(value))?,
            local: *local,
        }),
        ast::Statement::Reset(reset) => match &reset.reset {
            ast::Reset::ConfigurationParameter(name) => {
                Some(Statement::Set { name: name.to_string().to_ascii_lowercase(), value: None, local: false })
            }
            _ => return Err(DbError::unsupported(format!("{stmt}"))),
        },
        ast::Statement::ShowVariable { variable } => {
            let words: Vec<String> = variable.iter().map(|i| i.value.to_ascii_lowercase()).collect();
            // The parser splits `SHOW class.name` at the dot as it splits the words of
            // `SHOW TIME ZONE`: only PostgreSQL's few multi-word names keep their spaces.
            let spaced = words.join(" ");
            let name = match spaced.as_str() {
                "transaction isolation level" | "time zone" | "session authorization" => spaced,
                _ => words.join("."),
            };
            Some(Statement::Show { name })
        }
        ast::Statement::Deallocate { name, .. } => Some(Statement::Deallocate {
            name: (!(name.quote_style.is_none() && name.value.eq_ignore_ascii_case("all"))).then(|| ident_name(name)),
        }),
        ast::Statement::Query(q) => set_config_call(q)?,
        ast::Statement::Commit { chain: false, .. } => Some(Statement::Commit),
        ast::Statement::Rollback { chain: false, savepoint: None } => Some(Statement::Rollback),
        ast::Statement::Rollback { chain: false, savepoint: Some(name) } => {
            Some(Statement::RollbackToSavepoint { name: crate::bind_expr::ident_name(name) })
        }
        ast::Statement::Savepoint { name } => Some(Statement::Savepoint { name: crate::bind_expr::ident_name(name) }),
        ast::Statement::ReleaseSavepoint { name } => {
            Some(Statement::ReleaseSavepoint { name: crate::bind_expr::ident_name(name) })
        }
        _ => None,
    })
}

/// `SELECT set_config('name', 'value', is_local)` (what pg_dump and drivers send): a SET that
/// answers with the setting's new value. Only the call alone, with constant arguments, is
/// one; anything else is an ordinary query.
fn set_config_call(q: &ast::Query) -> Result<Option<Statement>> {
    let ast::SetExpr::Select(select) = q.body.as_ref() else { return Ok(None) };
    if q.with.is_some() || q.order_by.is_some() || q.limit_clause.is_some() || q.fetch.is_some() || !q.locks.is_empty()
    {
        return Ok(None);
    }
    let grouped = !matches!(&select.group_by, ast::GroupByExpr::Expressions(e, m) if e.is_empty() && m.is_empty());
    if !select.from.is_empty()
        || select.selection.is_some()
        || select.having.is_some()
        || select.distinct.is_some()
        || select.into.is_some()
        || grouped
    {
        return Ok(None);
    }
    let [item] = select.projection.as_slice() else { return Ok(None) };
    let (expr, column) = match item {
        ast::SelectItem::UnnamedExpr(e) => (e, "set_config".to_string()),
        ast::SelectItem::ExprWithAlias { expr, alias } => (expr, ident_name(alias)),
        _ => return Ok(None),
    };
    let ast::Expr::Function(f) = expr else { return Ok(None) };
    let parts: Vec<String> = f.name.0.iter().filter_map(|p| p.as_ident().map(ident_name)).collect();
    if !matches!(
        parts.iter().map(String::as_str).collect::<Vec<_>>().as_slice(),
        ["set_config"] | ["pg_catalog", "set_config"]
    ) {
        return Ok(None);
    }
    let ast::FunctionArguments::List(list) = &f.args else { return Ok(None) };
    let args: Vec<&ast::Expr> = list
        .args
        .iter()
        .filter_map(|a| match a {
            ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => Some(e),
            _ => None,
        })
        .collect();
    let text = |e: &ast::Expr| match e {
        ast::Expr::Value(v) => match &v.value {
            ast::Value::SingleQuotedString(s) => Some(Some(s.clone())),
            ast::Value::Null => Some(None),
            _ => None,
        },
        _ => None,
    };
    let [name, value, local] = args.as_slice() else { return Ok(None) };
    let (Some(name), Some(value)) = (text(name), text(value)) else { return Ok(None) };
    let local = match local {
        ast::Expr::Value(v) => match &v.value {
            ast::Value::Boolean(b) => *b,
            _ => return Ok(None),
        },
        _ => return Ok(None),
    };
    let Some(name) = name else {
        return Err(DbError::sql(SqlState::NullValueNotAllowed, "SET requires parameter name"));
    };
    Ok(Some(Statement::SetConfig { name: name.to_ascii_lowercase(), value, local, column }))
}

/// The isolation level and access mode named in BEGIN or SET TRANSACTION.
fn transaction_modes(modes: &[ast::TransactionMode]) -> Result<(Option<IsolationLevel>, Option<bool>)> {
    let mut isolation = None;
    let mut read_only = None;
    for mode in modes {
        match mode {
            ast::TransactionMode::IsolationLevel(level) => isolation = Some(isolation_level(level)?),
            ast::TransactionMode::AccessMode(m) => read_only = Some(*m == ast::TransactionAccessMode::ReadOnly),
        }
    }
    Ok((isolation, read_only))
}

/// A SET value as text: strings as written, numbers and names as written (names lower case),
/// `DEFAULT` as `None`, lists joined with ", ".
fn setting_value(values: &[ast::Expr]) -> Result<Option<String>> {
    let mut parts = Vec::with_capacity(values.len());
    for value in values {
        let text = match value {
            ast::Expr::Value(v) => match &v.value {
                ast::Value::SingleQuotedString(s) => s.clone(),
                ast::Value::Number(n, _) => n.clone(),
                ast::Value::Boolean(b) => if *b { "on" } else { "off" }.to_string(),
                other => return Err(DbError::unsupported(format!("the setting value {other}"))),
            },
            ast::Expr::Identifier(ident)
                if ident.quote_style.is_none() && ident.value.eq_ignore_ascii_case("default") =>
            {
                return Ok(None);
            }
            ast::Expr::Identifier(ident) if ident.quote_style.is_none() => ident.value.to_ascii_lowercase(),
            ast::Expr::Identifier(ident) => ident.value.clone(),
            ast::Expr::UnaryOp { op: ast::UnaryOperator::Minus, expr } => match expr.as_ref() {
                ast::Expr::Value(v) => format!("-{}", v.value),
                other => return Err(DbError::unsupported(format!("the setting value -{other}"))),
            },
            other => return Err(DbError::unsupported(format!("the setting value {other}"))),
        };
        parts.push(text);
    }
    Ok(Some(parts.join(", ")))
}

fn isolation_level(level: &ast::TransactionIsolationLevel) -> Result<IsolationLevel> {
    use ast::TransactionIsolationLevel as L;
    Ok(match level {
        L::ReadUncommitted | L::ReadCommitted => IsolationLevel::ReadCommitted,
        L::RepeatableRead => IsolationLevel::RepeatableRead,
        L::Serializable => IsolationLevel::Serializable,
        L::Snapshot => return Err(DbError::unsupported("isolation level SNAPSHOT")),
    })
}

/// Binds a data or schema statement.
pub fn bind(ctx: &mut ExecContext<'_>, stmt: &ast::Statement) -> Result<Statement> {
    match stmt {
        ast::Statement::Query(q) => match crate::create_table_as::bind_select_into(ctx, q)? {
            Some(into) => Ok(into),
            None => Ok(Statement::Select(bind_select(ctx, q)?)),
        },
        ast::Statement::Copy { to: true, .. } => crate::bind_copy::bind_copy_to(ctx, stmt),
        ast::Statement::Copy { .. } => {
            Err(DbError::unsupported("COPY FROM STDIN with other statements in the same query string"))
        }
        ast::Statement::Insert(insert) => bind_insert(ctx, insert),
        ast::Statement::Update(update) => bind_update(ctx, update),
        ast::Statement::Explain {
            describe_alias: ast::DescribeAlias::Explain,
            analyze,
            verbose,
            statement,
            format,
            options,
            ..
        } => bind_explain(ctx, *analyze, *verbose, statement, format.as_ref(), options.as_deref()),
        ast::Statement::Delete(delete) => bind_delete(ctx, delete),
        ast::Statement::CreateTable(create) => bind_create_table(ctx, create),
        ast::Statement::CreateSchema { .. }
        | ast::Statement::AlterSchema(_)
        | ast::Statement::Drop { object_type: ast::ObjectType::Schema, .. } => crate::schemas::bind(stmt)?
            .map(Statement::Schema)
            .ok_or_else(|| DbError::Internal("a schema statement did not bind".into())),
        ast::Statement::Lock(lock) => bind_lock(lock),
        ast::Statement::AlterTable(alter) => bind_alter_table(ctx, alter),
        ast::Statement::Analyze(a) => {
            if a.partitions.is_some() || a.for_columns || a.cache_metadata || a.noscan || a.compute_statistics {
                return Err(DbError::unsupported(format!("the statement \"{}\"", first_words(&a.to_string()))));
            }
            let targets = match &a.table_name {
                None => Vec::new(),
                // `ANALYZE VERBOSE` (sqlparser reads the word as a table's name).
                Some(name)
                    if a.columns.is_empty()
                        && table_name(name).is_ok_and(|n| n == QualifiedName::bare("verbose"))
                        && crate::catalog::find_table(ctx, "verbose")?.is_none() =>
                {
                    return Ok(Statement::Analyze { targets: Vec::new(), verbose: true });
                }
                Some(name) => vec![(table_name(name)?, a.columns.iter().map(ident_name).collect())],
            };
            Ok(Statement::Analyze { targets, verbose: false })
        }
        ast::Statement::Merge(merge) => Ok(Statement::Merge(Box::new(crate::merge::bind(ctx, merge)?))),
        ast::Statement::AlterIndex { name, operation } => Ok(Statement::AlterTable {
            action: crate::alter_table::bind_alter_index(ctx, name, operation)?,
            command: "ALTER INDEX",
        }),
        ast::Statement::CreateIndex(create) => bind_create_index(ctx, create),
        ast::Statement::Drop { object_type: ast::ObjectType::Index, if_exists, names, .. } => {
            Ok(Statement::DropIndex {
                names: names.iter().map(table_name).collect::<Result<_>>()?,
                if_exists: *if_exists,
            })
        }
        ast::Statement::CreateView(create) => bind_create_view(ctx, create),
        ast::Statement::CreateSequence {
            temporary: false,
            if_not_exists,
            name,
            data_type,
            sequence_options,
            owned_by: None,
        } => {
            let range = match data_type {
                None => (i64::MIN, i64::MAX),
                Some(t) => match convert_type(t)? {
                    rustydb_foundation::DataType::Int2 => (i64::from(i16::MIN), i64::from(i16::MAX)),
                    rustydb_foundation::DataType::Int4 => (i64::from(i32::MIN), i64::from(i32::MAX)),
                    rustydb_foundation::DataType::Int8 => (i64::MIN, i64::MAX),
                    _ => {
                        return Err(DbError::sql(
                            SqlState::InvalidParameterValue,
                            "sequence type must be smallint, integer, or bigint",
                        ));
                    }
                },
            };
            let name = table_name(name)?;
            let mut def = crate::sequence::define(0, &name.name, sequence_options, range)?;
            def.namespace = name.creation_namespace(ctx)?;
            if def.namespace == crate::schemas::SESSION_TEMP
                || crate::schemas::temp_namespace(ctx)? == Some(def.namespace)
            {
                return Err(DbError::unsupported("temporary sequences"));
            }
            Ok(Statement::CreateSequence { def, if_not_exists: *if_not_exists })
        }
        ast::Statement::CreateSequence { .. } => Err(DbError::unsupported("TEMPORARY sequences and OWNED BY")),
        ast::Statement::Drop { object_type: ast::ObjectType::Sequence, if_exists, names, .. } => {
            Ok(Statement::DropSequence {
                names: names.iter().map(table_name).collect::<Result<_>>()?,
                if_exists: *if_exists,
            })
        }
        ast::Statement::CreateRole(create) => Ok(Statement::Role(crate::roles::bind_create(create)?)),
        ast::Statement::AlterRole { name, operation } => {
            Ok(Statement::Role(crate::roles::bind_alter(name, operation)?))
        }
        ast::Statement::Grant(g) => Ok(Statement::Grant(crate::grant::bind_grant(g)?)),
        ast::Statement::CreatePolicy(p) => Ok(Statement::Policy(crate::row_security::bind_create(p)?)),
        ast::Statement::AlterPolicy(p) => Ok(Statement::Policy(crate::row_security::bind_alter(p)?)),
        ast::Statement::DropPolicy(p) => Ok(Statement::Policy(crate::row_security::bind_drop(p)?)),
        ast::Statement::Revoke(r) => Ok(Statement::Grant(crate::grant::bind_revoke(r)?)),
        ast::Statement::Drop { object_type: ast::ObjectType::Role, if_exists, names, .. } => {
            Ok(Statement::Role(crate::roles::bind_drop(names, *if_exists)?))
        }
        ast::Statement::Comment { object_type, object_name, comment, if_exists: false } => {
            Ok(Statement::Comment(crate::comments::bind(object_type, object_name, comment)?))
        }
        ast::Statement::Truncate(t) => {
            if t.partitions.is_some() || t.on_cluster.is_some() || t.table_names.iter().any(|n| n.only) {
                return Err(DbError::unsupported("TRUNCATE ONLY, PARTITION and ON CLUSTER"));
            }
            Ok(Statement::Truncate { names: t.table_names.iter().map(|n| table_name(&n.name)).collect::<Result<_>>()? })
        }
        ast::Statement::Drop { object_type: ast::ObjectType::View, if_exists, names, cascade, .. } => {
            Ok(Statement::DropView {
                names: names.iter().map(table_name).collect::<Result<_>>()?,
                if_exists: *if_exists,
                cascade: *cascade,
            })
        }
        ast::Statement::Drop { object_type: ast::ObjectType::Table, if_exists, names, cascade, .. } => {
            Ok(Statement::DropTable {
                names: names.iter().map(table_name).collect::<Result<_>>()?,
                if_exists: *if_exists,
                cascade: *cascade,
            })
        }
        other => Err(DbError::unsupported(format!("the statement \"{}\"", first_words(&other.to_string())))),
    }
}

/// ALTER TABLE: one action, adding a PRIMARY KEY or UNIQUE constraint.
fn bind_alter_table(ctx: &mut ExecContext<'_>, alter: &ast::AlterTable) -> Result<Statement> {
    if alter.operations.len() > 1 {
        // Several actions: each is bound when the one before it has run, against the table
        // as that left it.
        let steps = alter
            .operations
            .iter()
            .map(|op| ast::Statement::AlterTable(ast::AlterTable { operations: vec![op.clone()], ..alter.clone() }))
            .collect();
        return Ok(Statement::AlterTableSteps(steps));
    }
    if let Some(action) = crate::alter_table::bind(ctx, alter)? {
        return Ok(Statement::AlterTable { action, command: "ALTER TABLE" });
    }
    if alter.only || alter.if_exists {
        return Err(DbError::unsupported("ALTER TABLE ONLY and IF EXISTS"));
    }
    if let [ast::AlterTableOperation::OwnerTo { new_owner }] = alter.operations.as_slice() {
        return Ok(Statement::Grant(crate::grant::bind_owner(&alter.name, new_owner)?));
    }
    let rls = |op: &ast::AlterTableOperation| match op {
        ast::AlterTableOperation::EnableRowLevelSecurity => Some((Some(true), None)),
        ast::AlterTableOperation::DisableRowLevelSecurity => Some((Some(false), None)),
        ast::AlterTableOperation::ForceRowLevelSecurity => Some((None, Some(true))),
        ast::AlterTableOperation::NoForceRowLevelSecurity => Some((None, Some(false))),
        _ => None,
    };
    if let [op] = alter.operations.as_slice()
        && let Some((enabled, forced)) = rls(op)
    {
        let table = table_name(&alter.name)?;
        return Ok(Statement::Policy(crate::row_security::PolicyStatement::Table { table, enabled, forced }));
    }
    if let [ast::AlterTableOperation::AlterColumn { column_name, op }] = alter.operations.as_slice() {
        let default = match op {
            ast::AlterColumnOperation::SetDefault { value } => Some(value),
            ast::AlterColumnOperation::DropDefault => None,
            other => return Err(DbError::unsupported(format!("ALTER COLUMN ... {other}"))),
        };
        let table = lookup_table(ctx, &alter.name, LockMode::AccessExclusive)?;
        let position = target_column(&table, &ident_name(column_name))?;
        if let Some(e) = default {
            bind_default(ctx, &table.schema.columns[position], e)?;
        }
        return Ok(Statement::SetDefault { table, position, default: default.map(|e| e.to_string()) });
    }
    if let [ast::AlterTableOperation::AddColumn { if_not_exists, column_def, column_position: None, .. }] =
        alter.operations.as_slice()
    {
        let table = lookup_table(ctx, &alter.name, LockMode::AccessExclusive)?;
        return bind_add_column(ctx, table, column_def, *if_not_exists);
    }
    if let [ast::AlterTableOperation::DropConstraint { if_exists, name, drop_behavior: None }] =
        alter.operations.as_slice()
    {
        let table = lookup_table(ctx, &alter.name, LockMode::AccessExclusive)?;
        return Ok(Statement::DropConstraint { table, name: ident_name(name), if_exists: *if_exists });
    }
    let [ast::AlterTableOperation::AddConstraint { constraint, not_valid: false }] = alter.operations.as_slice() else {
        return Err(DbError::unsupported(format!("the statement \"{}\"", first_words(&alter.to_string()))));
    };
    if let ast::TableConstraint::ForeignKey(fk) = constraint {
        let table = lookup_table(ctx, &alter.name, LockMode::ShareRowExclusive)?;
        let taken: Vec<String> = table
            .checks
            .iter()
            .map(|c| c.name.clone())
            .chain(table.foreign_keys.iter().map(|k| k.name.clone()))
            .collect();
        let fk = crate::foreign_key::define(ctx, &table, fk, None, &taken)?;
        return Ok(Statement::AddForeignKey { table, fk });
    }
    if let ast::TableConstraint::Check(c) = constraint {
        let table = lookup_table(ctx, &alter.name, LockMode::AccessExclusive)?;
        let mut taken: Vec<String> = table.checks.iter().map(|c| c.name.clone()).collect();
        taken.extend(table.indexes.iter().map(|i| i.name.clone()));
        if !table.primary_key.is_empty() {
            taken.push(table.primary_key_name());
        }
        let check = crate::check_constraint::define(ctx, &table, c.name.as_ref(), &c.expr, None, &taken)?;
        return Ok(Statement::AddCheck { table, check });
    }
    let (name, key, primary) = match constraint {
        ast::TableConstraint::PrimaryKey(pk) => (pk.name.as_ref(), &pk.columns, true),
        ast::TableConstraint::Unique(u) => {
            check_unique_options(u)?;
            (u.name.as_ref(), &u.columns, false)
        }
        other => return Err(DbError::unsupported(format!("the table constraint {other}"))),
    };
    let table = lookup_table(ctx, &alter.name, LockMode::AccessExclusive)?;
    let columns = key_positions(&table.schema.columns, key)?;
    Ok(Statement::AddKey { name: name.map(ident_name), table, columns, primary })
}

/// `ALTER TABLE ... ADD COLUMN`: NULL, NOT NULL, DEFAULT, CHECK and UNIQUE as in CREATE TABLE.
fn bind_add_column(
    ctx: &mut ExecContext<'_>,
    table: TableDef,
    def: &ast::ColumnDef,
    if_not_exists: bool,
) -> Result<Statement> {
    if serial_range(&def.data_type).is_some() {
        return Err(DbError::unsupported("ADD COLUMN of a serial type (add the column, then a sequence default)"));
    }
    let mut column = Column::new(ident_name(&def.name), convert_type(&def.data_type)?);
    let mut unique = None;
    let mut pending_check = None;
    for opt in &def.options {
        match &opt.option {
            ast::ColumnOption::Null => column.nullable = true,
            ast::ColumnOption::NotNull => column.nullable = false,
            ast::ColumnOption::Unique(u) => {
                check_unique_options(u)?;
                unique = Some(u.name.as_ref().or(opt.name.as_ref()).map(ident_name));
            }
            ast::ColumnOption::Default(e) => {
                bind_default(ctx, &column, e)?;
                column.default = Some(e.to_string());
            }
            ast::ColumnOption::Check(c) => pending_check = Some((c.name.as_ref().or(opt.name.as_ref()), &c.expr)),
            other => return Err(DbError::unsupported(format!("the column option {other} in ADD COLUMN"))),
        }
    }
    let check = match pending_check {
        None => None,
        Some((name, predicate)) => {
            let mut shape = table.clone();
            let mut columns = shape.schema.columns.clone();
            columns.push(column.clone());
            shape.schema = rustydb_foundation::Schema::new(columns);
            shape.layout = table.layout_with_added_column();
            let taken: Vec<String> = table.checks.iter().map(|c| c.name.clone()).collect();
            let column_name = column.name.clone();
            Some(crate::check_constraint::define(ctx, &shape, name, predicate, Some(&column_name), &taken)?)
        }
    };
    Ok(Statement::AddColumn { table, column, if_not_exists, unique, check })
}

fn bind_lock(lock: &ast::Lock) -> Result<Statement> {
    use ast::LockTableMode as M;
    let mode = match lock.lock_mode {
        Some(M::AccessShare) => LockMode::AccessShare,
        Some(M::RowShare) => LockMode::RowShare,
        Some(M::RowExclusive) => LockMode::RowExclusive,
        Some(M::ShareUpdateExclusive) => LockMode::ShareUpdateExclusive,
        Some(M::Share) => LockMode::Share,
        Some(M::ShareRowExclusive) => LockMode::ShareRowExclusive,
        Some(M::Exclusive) => LockMode::Exclusive,
        Some(M::AccessExclusive) | None => LockMode::AccessExclusive,
    };
    let names = lock.tables.iter().map(|t| table_name(&t.name)).collect::<Result<Vec<_>>>()?;
    Ok(Statement::LockTable { names, mode, nowait: lock.nowait })
}

fn bind_create_index(ctx: &mut ExecContext<'_>, create: &ast::CreateIndex) -> Result<Statement> {
    if create.predicate.is_some() {
        return Err(DbError::unsupported("partial indexes (CREATE INDEX ... WHERE)"));
    }
    if !create.include.is_empty() || !create.with.is_empty() || create.nulls_distinct == Some(false) {
        return Err(DbError::unsupported("INCLUDE, WITH and NULLS NOT DISTINCT on indexes"));
    }
    let method = match &create.using {
        None | Some(ast::IndexType::BTree) => IndexMethod::BTree,
        Some(ast::IndexType::Hash) => IndexMethod::Hash,
        Some(other) => {
            let name = other.to_string().to_lowercase();
            IndexMethod::parse(&name).ok_or_else(|| {
                DbError::sql(SqlState::UndefinedObject, format!("access method \"{name}\" does not exist"))
            })?
        }
    };
    let table = lookup_table(ctx, &create.table_name, LockMode::Share)?;
    let mut columns = Vec::with_capacity(create.columns.len());
    let mut descending = Vec::with_capacity(create.columns.len());
    for c in &create.columns {
        let name = match &c.column.expr {
            ast::Expr::Identifier(i) => ident_name(i),
            other => return Err(DbError::unsupported(format!("the index expression {other}"))),
        };
        let desc = matches!(c.column.options.sort, Some(ast::OrderBySort::Desc));
        if method == IndexMethod::Hash && c.column.options.sort.is_some() {
            return Err(DbError::unsupported("access method \"hash\" does not support ASC/DESC options"));
        }
        // NULLs sort last ascending and first descending; the other placements are not kept.
        if c.column.options.nulls_first.is_some_and(|first| first != desc) || c.operator_class.is_some() {
            return Err(DbError::unsupported(
                "NULLS FIRST/LAST against the column's order, and operator classes, on index columns",
            ));
        }
        descending.push(desc);
        let position = table
            .schema
            .columns
            .iter()
            .position(|col| col.name == name)
            .ok_or_else(|| DbError::sql(SqlState::UndefinedColumn, format!("column \"{name}\" does not exist")))?;
        columns.push(position);
    }
    if method == IndexMethod::Hash && columns.len() != 1 {
        return Err(DbError::unsupported("access method \"hash\" does not support multicolumn indexes"));
    }
    if method == IndexMethod::Hash && create.unique {
        return Err(DbError::unsupported("access method \"hash\" does not support unique indexes"));
    }
    Ok(Statement::CreateIndex {
        name: create.name.as_ref().map(unqualified_name).transpose()?,
        table,
        columns,
        descending,
        unique: create.unique,
        method,
        if_not_exists: create.if_not_exists,
    })
}

fn first_words(sql: &str) -> String {
    sql.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
}

/// A relation's name as written: `t` or `s.t`.
pub(crate) fn table_name(name: &ast::ObjectName) -> Result<QualifiedName> {
    let parts: Vec<String> = name.0.iter().filter_map(|p| p.as_ident().map(ident_name)).collect();
    match parts.as_slice() {
        [t] => Ok(QualifiedName::bare(t.clone())),
        [schema, t] => Ok(QualifiedName::qualified(schema.clone(), t.clone())),
        [_, _, _] => Err(DbError::unsupported(format!("cross-database references: \"{name}\""))),
        _ => Err(DbError::syntax(format!("improper relation name (too many dotted names): {name}"))),
    }
}

/// A name that cannot be schema-qualified (an index's in CREATE INDEX, a constraint's).
pub(crate) fn unqualified_name(name: &ast::ObjectName) -> Result<String> {
    let name = table_name(name)?;
    match name.schema {
        None => Ok(name.name),
        Some(_) => Err(DbError::syntax(format!("syntax error at or near \".\" in \"{name}\""))),
    }
}

/// Resolves a table and locks it in `mode` for the rest of the transaction (see
/// [`access::open_table`]).
fn lookup_table(ctx: &mut ExecContext<'_>, name: &ast::ObjectName, mode: LockMode) -> Result<TableDef> {
    let name = table_name(name)?;
    access::open_table(ctx, &name, mode, WaitPolicy::Block)?.ok_or_else(|| DbError::undefined_table(name.to_string()))
}

/// Binds, optimizes and resolves a query.
pub fn bind_select(ctx: &mut ExecContext<'_>, q: &ast::Query) -> Result<QueryPlan> {
    let stats = crate::statistics::load(ctx)?;
    let (optimized, names, columns) = plan_query(ctx, q, &stats)?;
    let rel = crate::resolve::resolve_with(optimized, &names, analyzed(&stats))?;
    Ok(QueryPlan { rel, columns })
}

/// Binds and optimizes a query (noting what it reads for the privilege checks): the tree before
/// resolution, the names of its column ids, and its result columns.
fn plan_query(
    ctx: &mut ExecContext<'_>,
    q: &ast::Query,
    stats: &crate::statistics::Statistics,
) -> Result<(crate::rel::Rel, Vec<String>, Vec<crate::result::ResultColumn>)> {
    let first_request = ctx.access_requests.len();
    let mut binder = QueryBinder::new(ctx);
    let bound = binder.query(q)?;
    let names = binder.into_names();
    crate::acl::note_reads(ctx, first_request, &bound.rel);
    let columns = bound.result_columns();
    Ok((crate::optimize::optimize_with(bound.rel, analyzed(stats)), names, columns))
}

/// The statistics for planning, if any table has them (the planners' cheap path otherwise).
fn analyzed(stats: &crate::statistics::Statistics) -> Option<&crate::statistics::Statistics> {
    (!stats.is_empty()).then_some(stats)
}

/// CREATE VIEW: the query is bound now (so a bad one fails here, as in PostgreSQL) and stored
/// as text with its column names.
fn bind_create_view(ctx: &mut ExecContext<'_>, create: &ast::CreateView) -> Result<Statement> {
    if create.materialized
        || create.temporary
        || create.or_alter
        || !create.cluster_by.is_empty()
        || create.to.is_some()
    {
        return Err(DbError::unsupported("materialized and temporary views"));
    }
    let name = table_name(&create.name)?;
    let namespace = name.creation_namespace(ctx)?;
    if namespace == crate::schemas::SESSION_TEMP || crate::schemas::temp_namespace(ctx)? == Some(namespace) {
        return Err(DbError::unsupported("temporary views"));
    }
    // The path it keeps, and is bound under now already: without the session's temporary
    // schema, which other sessions' uses of the view must not reach.
    let search_path = crate::schemas::stored_search_path(ctx)?;
    // The view's reads are checked when it is used, against its owner's privileges.
    let first_request = ctx.access_requests.len();
    let plan = ctx.with_search_path(&search_path, |ctx| bind_select(ctx, &create.query))?;
    ctx.access_requests.truncate(first_request);
    if create.columns.len() > plan.columns.len() {
        return Err(DbError::syntax("CREATE VIEW specifies more column names than columns"));
    }
    let mut columns: Vec<String> = plan.columns.iter().map(|c| c.name.clone()).collect();
    for (i, c) in create.columns.iter().enumerate() {
        columns[i] = ident_name(&c.name);
    }
    for (i, c) in columns.iter().enumerate() {
        if columns[..i].contains(c) {
            return Err(DbError::sql(SqlState::DuplicateColumn, format!("column \"{c}\" specified more than once")));
        }
    }
    let view = crate::catalog::ViewDef {
        name: name.name,
        namespace,
        search_path,
        definition: create.query.to_string(),
        columns,
    };
    Ok(Statement::CreateView { view, or_replace: create.or_replace })
}

fn from_table(ctx: &mut ExecContext<'_>, from: &ast::TableWithJoins, mode: LockMode) -> Result<(TableDef, String)> {
    if !from.joins.is_empty() {
        return Err(DbError::unsupported("joins"));
    }
    match &from.relation {
        ast::TableFactor::Table { name, alias, args: None, .. } => {
            let table = lookup_table(ctx, name, mode)?;
            let alias = alias.as_ref().map(|a| ident_name(&a.name)).unwrap_or_else(|| table.name.clone());
            Ok((table, alias))
        }
        other => Err(DbError::unsupported(format!("the FROM item {other}"))),
    }
}

/// Binds expressions over one table's row (UPDATE's assignments and WHERE, DELETE's WHERE):
/// each closure call binds one, and the results come back resolved.
///
/// `access` is what the statement needs of the table; the columns the expressions read are
/// added to it (needing SELECT, as in PostgreSQL) and it is recorded for the privilege check.
///
/// With `excluded` (ON CONFLICT DO UPDATE), the proposed row is in scope too, as `excluded`:
/// its columns are numbered `n..2n` and the expressions read them there.
pub(crate) fn over_table<T>(
    ctx: &mut ExecContext<'_>,
    table: &TableDef,
    alias: &str,
    mut access: RelationAccess,
    excluded: bool,
    work: impl FnOnce(&mut QueryBinder<'_, '_>) -> Result<T>,
    exprs: impl FnOnce(&mut T) -> Vec<&mut Expr>,
) -> Result<T> {
    let mut binder = QueryBinder::for_table(ctx, table, alias);
    if excluded {
        binder.add_excluded(table)?;
    }
    let mut out = work(&mut binder)?;
    let names = binder.into_names();
    let width = table.schema.len();
    let layout: Vec<ColumnId> = (0..if excluded { 2 * width } else { width }).collect();
    let exprs = exprs(&mut out);
    // The binder numbered the table's columns 0..n: ids below n are its positions.
    for e in &exprs {
        access.selected.extend(crate::optimize::free_columns(e).into_iter().filter(|id| *id < width));
    }
    if !access.selected.is_empty() {
        access.required = access.required.union(PrivilegeSet::of(&[Privilege::Select]));
    }
    ctx.access_requests.push(AccessRequest::Relation(access));
    for e in exprs {
        let taken = std::mem::replace(e, Expr::literal(Value::Null));
        *e = crate::resolve::resolve_expr(taken, &layout, &names)?;
    }
    Ok(out)
}

fn bind_insert(ctx: &mut ExecContext<'_>, insert: &ast::Insert) -> Result<Statement> {
    if insert.or.is_some() || insert.ignore {
        return Err(DbError::unsupported("INSERT OR/IGNORE"));
    }
    let on = match &insert.on {
        None => None,
        Some(ast::OnInsert::OnConflict(c)) => Some(c),
        Some(other) => return Err(DbError::unsupported(format!("the clause{other}"))),
    };
    let ast::TableObject::TableName(name) = &insert.table else {
        return Err(DbError::unsupported("INSERT into a table function"));
    };
    let table = lookup_table(ctx, name, LockMode::RowExclusive)?;
    let alias = insert.table_alias.as_ref().map_or_else(|| table.name.clone(), |a| ident_name(&a.alias));
    let mut targets = insert_targets(&table, &insert.columns)?;
    // Without a column list, VALUES may give fewer values than the table has columns: the
    // leading columns take them, the rest their defaults (as in PostgreSQL).
    let implicit = insert.columns.is_empty();
    if let Some(ast::SetExpr::Values(values)) = insert.source.as_deref().map(|s| s.body.as_ref()) {
        let width = values.rows.first().map_or(0, |r| r.content.len());
        if values.rows.iter().any(|r| r.content.len() != width) {
            return Err(DbError::syntax("VALUES lists must all be the same length"));
        }
        if implicit && width < targets.len() {
            targets.truncate(width);
        }
    }
    let mut access = RelationAccess::new(ObjectRef::table(&table), PrivilegeSet::of(&[Privilege::Insert]));
    if insert.source.is_some() {
        access.inserted = targets.iter().copied().collect();
    }
    ctx.access_requests.push(AccessRequest::Relation(access));
    let mut defaults = Defaults::new(&table);
    let source = match insert.source.as_deref().map(|s| (s, s.body.as_ref())) {
        // INSERT ... DEFAULT VALUES: every column its default.
        None => InsertSource::Values(vec![full_row(ctx, &table, &[], Vec::new(), &mut defaults)?]),
        Some((source, ast::SetExpr::Values(values))) if source.order_by.is_none() && source.limit_clause.is_none() => {
            let rows = values
                .rows
                .iter()
                .map(|row| {
                    check_arity(row.content.len(), targets.len())?;
                    let mut binder = QueryBinder::new(ctx);
                    let exprs = row
                        .content
                        .iter()
                        .map(|e| if is_default(e) { Ok(None) } else { bind_expr::bind(e, &mut binder).map(Some) })
                        .collect::<Result<Vec<_>>>()?;
                    let names = binder.into_names();
                    let exprs = exprs
                        .into_iter()
                        .map(|e| e.map(|e| crate::resolve::resolve_expr(e, &[], &names)).transpose())
                        .collect::<Result<Vec<_>>>()?;
                    full_row(ctx, &table, &targets, exprs, &mut defaults)
                })
                .collect::<Result<Vec<_>>>()?;
            InsertSource::Values(rows)
        }
        Some((source, _)) => {
            let query = bind_select(ctx, source)?;
            if implicit && query.columns.len() < targets.len() {
                targets.truncate(query.columns.len());
            }
            check_arity(query.columns.len(), targets.len())?;
            let inputs = query
                .columns
                .iter()
                .enumerate()
                .map(|(index, c)| Some(Expr::Column { index, ty: c.data_type }))
                .collect();
            let row = full_row(ctx, &table, &targets, inputs, &mut defaults)?;
            InsertSource::Query(Box::new(query), row)
        }
    };
    let on_conflict = on.map(|c| bind_dml::on_conflict(ctx, &table, &alias, c)).transpose()?;
    let returning =
        insert.returning.as_deref().map(|items| bind_dml::returning(ctx, &table, &alias, items)).transpose()?;
    let check = row_check(ctx, &table, PolicyCommand::Insert)?;
    let constraints = crate::check_constraint::bind_all(ctx, &table)?;
    Ok(Statement::Insert { table, source, check, constraints, on_conflict, returning })
}

/// Binds one SQL predicate (a policy's) over `table`'s row: resolved to table positions.
pub(crate) fn bind_row_predicate(
    ctx: &mut ExecContext<'_>,
    table: &TableDef,
    clause: &crate::row_security::PolicyClause,
) -> Result<Expr> {
    let parsed = crate::parser::parse_expr(&clause.sql)?;
    ctx.with_search_path(&clause.search_path, |ctx| {
        let mut binder = QueryBinder::for_table(ctx, table, &table.name);
        let bound = boolean(bind_expr::bind(&parsed, &mut binder)?, "POLICY")?;
        let names = binder.into_names();
        let layout: Vec<ColumnId> = (0..table.schema.len()).collect();
        crate::resolve::resolve_expr(bound, &layout, &names)
    })
}

/// A row filter as one predicate: its permissive clauses ORed (FALSE without any), ANDed with
/// its restrictive ones. `bind` binds one clause.
pub(crate) fn combine_filter(
    filter: &RowFilter,
    mut bind: impl FnMut(&crate::row_security::PolicyClause) -> Result<Expr>,
) -> Result<Expr> {
    let mut permissive: Option<Expr> = None;
    for clause in &filter.permissive {
        let e = bind(clause)?;
        permissive = Some(match permissive {
            None => e,
            Some(p) => bind_expr::binary(crate::expr::BinaryOp::Or, p, e)?,
        });
    }
    let mut all = permissive.unwrap_or_else(|| Expr::literal(Value::Bool(false)));
    for clause in &filter.restrictive {
        all = bind_expr::binary(crate::expr::BinaryOp::And, all, bind(clause)?)?;
    }
    Ok(all)
}

/// Row-level security's check on rows `command` writes to `table`, if RLS applies.
pub(crate) fn row_check(ctx: &mut ExecContext<'_>, table: &TableDef, command: PolicyCommand) -> Result<Option<Expr>> {
    match crate::row_security::filter_for(ctx, table, command, true, None)? {
        None => Ok(None),
        Some(filter) => combine_filter(&filter, |sql| bind_row_predicate(ctx, table, sql)).map(Some),
    }
}

/// `filter` narrowed to the rows `command`'s USING policies let the user change (and, when
/// the statement reads columns, those its SELECT policies let it see).
fn row_using(
    ctx: &mut ExecContext<'_>,
    table: &TableDef,
    command: PolicyCommand,
    filter: Option<Expr>,
) -> Result<Option<Expr>> {
    let reads = matches!(ctx.access_requests.last(), Some(AccessRequest::Relation(r)) if !r.selected.is_empty());
    let mut filter = filter;
    let commands: &[PolicyCommand] = if reads { &[command, PolicyCommand::Select] } else { &[command] };
    for &c in commands {
        if let Some(f) = crate::row_security::filter_for(ctx, table, c, false, None)? {
            let policy = combine_filter(&f, |sql| bind_row_predicate(ctx, table, sql))?;
            filter = Some(match filter {
                None => policy,
                Some(user) => bind_expr::binary(crate::expr::BinaryOp::And, policy, user)?,
            });
        }
    }
    Ok(filter)
}

fn insert_targets(table: &TableDef, columns: &[ast::ObjectName]) -> Result<Vec<usize>> {
    target_positions(table, columns.iter().map(column_name))
}

/// The column an INSERT or UPDATE target names (its last part).
pub(crate) fn column_name(name: &ast::ObjectName) -> String {
    name.0.last().and_then(|p| p.as_ident()).map(ident_name).unwrap_or_default()
}

/// The table positions of a target column list (INSERT's, COPY's); all columns when it is
/// empty. 42703 for a column the table lacks, 42701 for one named twice.
pub(crate) fn target_positions(table: &TableDef, names: impl ExactSizeIterator<Item = String>) -> Result<Vec<usize>> {
    if names.len() == 0 {
        return Ok((0..table.schema.len()).collect());
    }
    let mut targets = Vec::with_capacity(names.len());
    for name in names {
        let pos = target_column(table, &name)?;
        if targets.contains(&pos) {
            return Err(DbError::sql(SqlState::DuplicateColumn, format!("column \"{name}\" specified more than once")));
        }
        targets.push(pos);
    }
    Ok(targets)
}

/// The name and position of a column written by INSERT or UPDATE.
pub(crate) fn target_column(table: &TableDef, col: &str) -> Result<usize> {
    table.schema.index_of(col).ok_or_else(|| {
        DbError::sql(
            SqlState::UndefinedColumn,
            format!("column \"{col}\" of relation \"{}\" does not exist", table.name),
        )
    })
}

fn check_arity(values: usize, targets: usize) -> Result<()> {
    match values.cmp(&targets) {
        std::cmp::Ordering::Greater => Err(DbError::syntax("INSERT has more expressions than target columns")),
        std::cmp::Ordering::Less => Err(DbError::syntax("INSERT has more target columns than expressions")),
        std::cmp::Ordering::Equal => Ok(()),
    }
}

/// The table's column defaults, each parsed and bound at most once per statement however many
/// rows use it.
struct Defaults(Vec<Option<Expr>>);

impl Defaults {
    fn new(table: &TableDef) -> Self {
        Defaults(vec![None; table.schema.len()])
    }

    fn get(&mut self, ctx: &mut ExecContext<'_>, column: &Column, position: usize) -> Result<Expr> {
        if let Some(e) = &self.0[position] {
            return Ok(e.clone());
        }
        let e = column_default(ctx, column)?;
        self.0[position] = Some(e.clone());
        Ok(e)
    }
}

/// A whole table row from the values of the target columns (`None`: the DEFAULT keyword),
/// each coerced to its column; every other column gets its default (NULL without one).
fn full_row(
    ctx: &mut ExecContext<'_>,
    table: &TableDef,
    targets: &[usize],
    exprs: Vec<Option<Expr>>,
    defaults: &mut Defaults,
) -> Result<Vec<Expr>> {
    let mut row: Vec<Option<Expr>> = vec![None; table.schema.len()];
    for (&pos, expr) in targets.iter().zip(exprs) {
        row[pos] = expr.map(|e| assign(&table.schema.columns[pos], e)).transpose()?;
    }
    let mut full = Vec::with_capacity(row.len());
    for (position, (e, column)) in row.into_iter().zip(&table.schema.columns).enumerate() {
        full.push(match e {
            Some(e) => e,
            None => defaults.get(ctx, column, position)?,
        });
    }
    Ok(full)
}

/// True for the DEFAULT keyword where a value goes (VALUES, UPDATE SET).
pub(crate) fn is_default(e: &ast::Expr) -> bool {
    matches!(e, ast::Expr::Identifier(i) if i.quote_style.is_none() && i.value.eq_ignore_ascii_case("default"))
}

/// Column `column`'s default as an expression of its type: its DEFAULT bound again (so
/// `now()` is the statement's), or NULL.
pub(crate) fn column_default(ctx: &mut ExecContext<'_>, column: &Column) -> Result<Expr> {
    match &column.default {
        None => Ok(Expr::Literal { value: Value::Null, ty: column.data_type }),
        Some(text) => bind_default(ctx, column, &crate::parser::parse_expr(text)?),
    }
}

/// Binds a DEFAULT expression for `column`: no column references (there is no row), no
/// subqueries (0A000, as PostgreSQL), and a type that assignment can turn into the column's.
pub(crate) fn bind_default(ctx: &mut ExecContext<'_>, column: &Column, e: &ast::Expr) -> Result<Expr> {
    let mut binder = QueryBinder::new(ctx);
    let bound = bind_expr::bind(e, &mut binder)?;
    let names = binder.into_names();
    let bound = crate::resolve::resolve_expr(bound, &[], &names)?;
    if bound.has_subquery() {
        return Err(DbError::sql(SqlState::FeatureNotSupported, "cannot use subquery in DEFAULT expression"));
    }
    assign(column, bound)
}

/// Coerces a value for storing into `column` (assignment context): 42804 if the types do not fit.
pub(crate) fn assign(column: &Column, expr: Expr) -> Result<Expr> {
    let (from, to) = (expr.data_type(), column.data_type);
    if !crate::types::can_cast(from, to, CastContext::Assignment) {
        return Err(DbError::sql(
            SqlState::DatatypeMismatch,
            format!(
                "column \"{}\" is of type {} but expression is of type {}",
                column.name,
                to.sql_name(),
                from.sql_name()
            ),
        )
        .with_detail("You will need to rewrite or cast the expression."));
    }
    cast(expr, to, CastContext::Assignment)
}

/// EXPLAIN [ANALYZE] [VERBOSE] query, or EXPLAIN (options) query: the query bound and planned
/// as SELECT is, keeping the optimized tree before resolution for its column names.
fn bind_explain(
    ctx: &mut ExecContext<'_>,
    analyze: bool,
    verbose: bool,
    statement: &ast::Statement,
    format: Option<&ast::AnalyzeFormatKind>,
    options: Option<&[ast::UtilityOption]>,
) -> Result<Statement> {
    let start = std::time::Instant::now();
    let mut list: Vec<(String, Option<String>)> = options
        .unwrap_or_default()
        .iter()
        .map(|o| (o.name.value.to_lowercase(), o.arg.as_ref().map(|a| a.to_string().trim_matches('\'').to_string())))
        .collect();
    if let Some(f) = format {
        list.push(("format".into(), Some(f.to_string().trim_start_matches("FORMAT").trim().to_string())));
    }
    let options = crate::explain::options(analyze, verbose, &list)?;
    let ast::Statement::Query(q) = statement else {
        return Err(DbError::unsupported("EXPLAIN of statements other than queries"));
    };
    let stats = crate::statistics::load(ctx)?;
    let (shown, names, columns) = plan_query(ctx, q, &stats)?;
    let rel = crate::resolve::resolve_with(shown.clone(), &names, analyzed(&stats))?;
    Ok(Statement::Explain(Box::new(crate::explain::Explain {
        plan: QueryPlan { rel, columns },
        shown,
        names,
        options,
        planning: start.elapsed(),
    })))
}

fn bind_update(ctx: &mut ExecContext<'_>, update: &ast::Update) -> Result<Statement> {
    if update.limit.is_some() || !update.order_by.is_empty() {
        return Err(DbError::unsupported("UPDATE with ORDER BY or LIMIT"));
    }
    let (table, alias) = from_table(ctx, &update.table, LockMode::RowExclusive)?;
    let targets = bind_dml::assignment_targets(ctx, &table, &update.assignments)?;
    let mut access = RelationAccess::new(ObjectRef::table(&table), PrivilegeSet::of(&[Privilege::Update]));
    access.updated = targets.iter().map(|t| t.position).collect();
    if let Some(items) = crate::dml_join::update_from(update) {
        let ((assignments, returning), mut from) = crate::dml_join::over_join(
            ctx,
            &table,
            &alias,
            access,
            items,
            crate::dml_join::Shape::Where(update.selection.as_ref()),
            |b| {
                let assignments = bind_dml::assignment_values(b, &table, &targets)?;
                let returning = update.returning.as_deref().map(|items| b.returning_list(items)).transpose()?;
                Ok((assignments, returning))
            },
            |(assignments, returning)| {
                assignments.iter_mut().map(|(_, e)| e).chain(returning.iter_mut().flatten().map(|(_, e)| e)).collect()
            },
        )?;
        from.filter = row_using(ctx, &table, PolicyCommand::Update, from.filter.take())?;
        let check = row_check(ctx, &table, PolicyCommand::Update)?;
        let constraints = crate::check_constraint::bind_all(ctx, &table)?;
        return Ok(Statement::Update {
            table,
            assignments,
            filter: None,
            access: crate::plan::Access::SeqScan,
            check,
            constraints,
            returning: returning.map(bind_dml::returning_of),
            from: Some(from),
        });
    }
    let (assignments, filter, returning) = over_table(
        ctx,
        &table,
        &alias,
        access,
        false,
        |b| {
            let assignments = bind_dml::assignment_values(b, &table, &targets)?;
            let filter = update.selection.as_ref().map(|w| boolean(bind_expr::bind(w, b)?, "WHERE")).transpose()?;
            let returning = update.returning.as_deref().map(|items| b.returning_list(items)).transpose()?;
            Ok((assignments, filter, returning))
        },
        |(assignments, filter, returning)| {
            assignments
                .iter_mut()
                .map(|(_, e)| e)
                .chain(filter.iter_mut())
                .chain(returning.iter_mut().flatten().map(|(_, e)| e))
                .collect()
        },
    )?;
    let filter = row_using(ctx, &table, PolicyCommand::Update, filter)?;
    let check = row_check(ctx, &table, PolicyCommand::Update)?;
    let access = choose_access(&table, filter.as_ref());
    let returning = returning.map(bind_dml::returning_of);
    let constraints = crate::check_constraint::bind_all(ctx, &table)?;
    Ok(Statement::Update { table, assignments, filter, access, check, constraints, returning, from: None })
}

fn bind_delete(ctx: &mut ExecContext<'_>, delete: &ast::Delete) -> Result<Statement> {
    if delete.limit.is_some() || !delete.tables.is_empty() {
        return Err(DbError::unsupported("DELETE with LIMIT"));
    }
    let from = match &delete.from {
        ast::FromTable::WithFromKeyword(f) | ast::FromTable::WithoutKeyword(f) => f,
    };
    let [from] = from.as_slice() else { return Err(DbError::unsupported("DELETE from several tables")) };
    let (table, alias) = from_table(ctx, from, LockMode::RowExclusive)?;
    let access = RelationAccess::new(ObjectRef::table(&table), PrivilegeSet::of(&[Privilege::Delete]));
    if let Some(items) = &delete.using {
        let (returning, mut using) = crate::dml_join::over_join(
            ctx,
            &table,
            &alias,
            access,
            items,
            crate::dml_join::Shape::Where(delete.selection.as_ref()),
            |b| delete.returning.as_deref().map(|items| b.returning_list(items)).transpose(),
            |returning| returning.iter_mut().flatten().map(|(_, e)| e).collect(),
        )?;
        using.filter = row_using(ctx, &table, PolicyCommand::Delete, using.filter.take())?;
        return Ok(Statement::Delete {
            table,
            filter: None,
            access: crate::plan::Access::SeqScan,
            returning: returning.map(bind_dml::returning_of),
            using: Some(using),
        });
    }
    let (filter, returning) = over_table(
        ctx,
        &table,
        &alias,
        access,
        false,
        |b| {
            let filter = delete.selection.as_ref().map(|w| boolean(bind_expr::bind(w, b)?, "WHERE")).transpose()?;
            let returning = delete.returning.as_deref().map(|items| b.returning_list(items)).transpose()?;
            Ok((filter, returning))
        },
        |(filter, returning)| filter.iter_mut().chain(returning.iter_mut().flatten().map(|(_, e)| e)).collect(),
    )?;
    let filter = row_using(ctx, &table, PolicyCommand::Delete, filter)?;
    let access = choose_access(&table, filter.as_ref());
    let returning = returning.map(bind_dml::returning_of);
    Ok(Statement::Delete { table, filter, access, returning, using: None })
}

fn bind_create_table(ctx: &mut ExecContext<'_>, create: &ast::CreateTable) -> Result<Statement> {
    if let Some(query) = &create.query {
        return crate::create_table_as::bind(ctx, create, query);
    }
    if create.like.is_some() || create.clone.is_some() {
        return Err(DbError::unsupported("CREATE TABLE LIKE and CLONE"));
    }
    let qualified = table_name(&create.name)?;
    let namespace = if create.temporary {
        crate::schemas::temp_creation_namespace(ctx, &qualified, create.on_commit.as_ref())?
    } else {
        qualified.creation_namespace(ctx)?
    };
    let name = qualified.name;
    let mut columns: Vec<Column> = Vec::new();
    let mut serials = Vec::new();
    let mut unique: Vec<(Option<String>, Vec<usize>)> = Vec::new();
    let mut primary_key: Option<Vec<usize>> = None;
    // CHECK constraints: (name, predicate, the column a column constraint is written on).
    let mut pending_checks: Vec<(Option<&ast::Ident>, &ast::Expr, Option<String>)> = Vec::new();
    // Foreign keys: the constraint, and the column a column constraint is written on.
    let mut pending_fks: Vec<(&ast::ForeignKeyConstraint, Option<String>)> = Vec::new();
    let mut set_primary_key = |pk: Vec<usize>| -> Result<()> {
        if primary_key.replace(pk).is_some() {
            return Err(DbError::sql(
                SqlState::InvalidTableDefinition,
                format!("multiple primary keys for table \"{name}\" are not allowed"),
            ));
        }
        Ok(())
    };
    for def in &create.columns {
        let col_name = ident_name(&def.name);
        if columns.iter().any(|c| c.name == col_name) {
            return Err(DbError::sql(
                SqlState::DuplicateColumn,
                format!("column \"{col_name}\" specified more than once"),
            ));
        }
        let serial = serial_range(&def.data_type);
        let data_type = match serial {
            Some((ty, _)) => ty,
            None => convert_type(&def.data_type)?,
        };
        let mut column = Column::new(col_name, data_type);
        if let Some((_, range)) = serial {
            // PostgreSQL's SERIAL: integer NOT NULL DEFAULT nextval(<its own sequence>).
            column.nullable = false;
            serials.push((columns.len(), range, Vec::new()));
        }
        for opt in &def.options {
            match &opt.option {
                ast::ColumnOption::Null => column.nullable = true,
                ast::ColumnOption::NotNull => column.nullable = false,
                ast::ColumnOption::PrimaryKey(_) => set_primary_key(vec![columns.len()])?,
                ast::ColumnOption::Unique(u) => {
                    check_unique_options(u)?;
                    unique.push((u.name.as_ref().map(ident_name), vec![columns.len()]));
                }
                ast::ColumnOption::Default(e) => {
                    // Checked now (a bad default fails CREATE TABLE, as in PostgreSQL), kept as text.
                    bind_default(ctx, &column, e)?;
                    column.default = Some(e.to_string());
                }
                ast::ColumnOption::Check(c) => {
                    pending_checks.push((c.name.as_ref().or(opt.name.as_ref()), &c.expr, Some(column.name.clone())));
                }
                ast::ColumnOption::ForeignKey(fk) => pending_fks.push((fk, Some(column.name.clone()))),
                // An identity column is made as a SERIAL one is: NOT NULL, a sequence of its
                // own (with the options given) behind its default. ALWAYS does not yet refuse
                // an explicit value, and the catalogs show the default rather than the
                // identity (attidentity is empty).
                ast::ColumnOption::Generated {
                    generated_as: ast::GeneratedAs::Always | ast::GeneratedAs::ByDefault,
                    sequence_options,
                    generation_expr: None,
                    ..
                } => {
                    use rustydb_foundation::DataType as T;
                    let range = match column.data_type {
                        T::Int2 => (1, i64::from(i16::MAX)),
                        T::Int4 => (1, i64::from(i32::MAX)),
                        T::Int8 => (1, i64::MAX),
                        _ => {
                            return Err(DbError::sql(
                                SqlState::InvalidParameterValue,
                                "identity column type must be smallint, integer, or bigint",
                            ));
                        }
                    };
                    if serials.iter().any(|(at, _, _)| *at == columns.len()) || column.default.is_some() {
                        return Err(DbError::sql(
                            SqlState::SyntaxError,
                            format!(
                                "multiple default values specified for column \"{}\" of table \"{name}\"",
                                column.name
                            ),
                        ));
                    }
                    column.nullable = false;
                    serials.push((columns.len(), range, sequence_options.clone().unwrap_or_default()));
                }
                other => return Err(DbError::unsupported(format!("the column option {other}"))),
            }
        }
        columns.push(column);
    }
    for constraint in &create.constraints {
        match constraint {
            ast::TableConstraint::PrimaryKey(pk) => set_primary_key(key_positions(&columns, &pk.columns)?)?,
            ast::TableConstraint::Unique(u) => {
                check_unique_options(u)?;
                unique.push((u.name.as_ref().map(ident_name), key_positions(&columns, &u.columns)?));
            }
            ast::TableConstraint::Check(c) => pending_checks.push((c.name.as_ref(), &c.expr, None)),
            ast::TableConstraint::ForeignKey(fk) => pending_fks.push((fk, None)),
            other => return Err(DbError::unsupported(format!("the table constraint {other}"))),
        }
    }
    // The predicates are checked against the new table's columns.
    let shape = TableDef {
        id: rustydb_foundation::TableId(0),
        name: name.clone(),
        namespace,
        schema: rustydb_foundation::Schema::new(columns.clone()),
        primary_key: Vec::new(),
        compression: Compression::default(),
        indexes: Vec::new(),
        checks: Vec::new(),
        foreign_keys: Vec::new(),
        primary_key_constraint: None,
        layout: Default::default(),
    };
    let mut checks: Vec<crate::catalog::CheckDef> = Vec::new();
    for (check_name, predicate, column) in pending_checks {
        let taken: Vec<String> = checks.iter().map(|c| c.name.clone()).collect();
        checks.push(crate::check_constraint::define(ctx, &shape, check_name, predicate, column.as_deref(), &taken)?);
    }
    // A self-reference is checked against the new table's keys.
    let mut shape = shape;
    shape.primary_key = primary_key.clone().unwrap_or_default();
    let mut foreign_keys: Vec<crate::catalog::ForeignKeyDef> = Vec::new();
    for (fk, column) in pending_fks {
        let taken: Vec<String> =
            checks.iter().map(|c| c.name.clone()).chain(foreign_keys.iter().map(|k| k.name.clone())).collect();
        foreign_keys.push(crate::foreign_key::define(ctx, &shape, fk, column.as_deref(), &taken)?);
    }
    let primary_key = primary_key.unwrap_or_default();
    for &i in &primary_key {
        columns[i].nullable = false;
    }
    let (compression, encrypted) = table_options(&create.table_options)?;
    Ok(Statement::CreateTable {
        name,
        namespace,
        columns,
        primary_key,
        unique,
        compression,
        encrypted,
        if_not_exists: create.if_not_exists,
        serials,
        checks,
        foreign_keys,
    })
}

/// The integer type and value range of a SERIAL type name (`serial`, `bigserial`,
/// `smallserial`, `serial4`, `serial8`, `serial2`).
pub(crate) fn serial_range(ty: &ast::DataType) -> Option<(rustydb_foundation::DataType, (i64, i64))> {
    use rustydb_foundation::DataType as T;
    let ast::DataType::Custom(name, modifiers) = ty else { return None };
    if !modifiers.is_empty() {
        return None;
    }
    let name = name.to_string().to_ascii_lowercase();
    match name.as_str() {
        "serial" | "serial4" => Some((T::Int4, (1, i64::from(i32::MAX)))),
        "bigserial" | "serial8" => Some((T::Int8, (1, i64::MAX))),
        "smallserial" | "serial2" => Some((T::Int2, (1, i64::from(i16::MAX)))),
        _ => None,
    }
}

/// The positions of a key's columns (PRIMARY KEY, UNIQUE).
fn key_positions(columns: &[Column], key: &[ast::IndexColumn]) -> Result<Vec<usize>> {
    let mut positions = Vec::with_capacity(key.len());
    for c in key {
        let n = match &c.column.expr {
            ast::Expr::Identifier(i) => ident_name(i),
            other => return Err(DbError::unsupported(format!("the key expression {other}"))),
        };
        let p = columns.iter().position(|col| col.name == n).ok_or_else(|| {
            DbError::sql(SqlState::UndefinedColumn, format!("column \"{n}\" named in key does not exist"))
        })?;
        if positions.contains(&p) {
            return Err(DbError::sql(
                SqlState::DuplicateColumn,
                format!("column \"{n}\" appears twice in unique constraint"),
            ));
        }
        positions.push(p);
    }
    Ok(positions)
}

fn check_unique_options(u: &ast::UniqueConstraint) -> Result<()> {
    if !u.include.is_empty() || !u.index_options.is_empty() || u.characteristics.is_some() || u.index_type.is_some() {
        return Err(DbError::unsupported("options on UNIQUE constraints"));
    }
    if matches!(u.nulls_distinct, ast::NullsDistinctOption::NotDistinct) {
        return Err(DbError::unsupported("UNIQUE NULLS NOT DISTINCT"));
    }
    Ok(())
}

/// The storage parameters of `CREATE TABLE ... WITH (...)`: RustyDB's `compression` (`lz4`, the
/// default; `zstd`; `none`) and `encrypted` (a boolean; unset: the server's default). Others
/// are refused as PostgreSQL refuses unknown ones (22023).
pub(crate) fn table_options(options: &ast::CreateTableOptions) -> Result<(Compression, Option<bool>)> {
    let options = match options {
        ast::CreateTableOptions::None => return Ok((Compression::default(), None)),
        ast::CreateTableOptions::With(options) => options,
        other => return Err(DbError::unsupported(format!("the table options {other}"))),
    };
    let mut compression = Compression::default();
    let mut encrypted = None;
    for option in options {
        let ast::SqlOption::KeyValue { key, value } = option else {
            return Err(DbError::unsupported(format!("the storage parameter {option}")));
        };
        let key = ident_name(key);
        if key == "fillfactor" {
            // Heap pages are filled completely, which is fillfactor 100 (PostgreSQL's default
            // for tables, and what pgbench asks for); room left for updates is not kept yet.
            match value {
                ast::Expr::Value(v) if v.value.to_string() == "100" => continue,
                ast::Expr::Value(v) if matches!(&v.value, ast::Value::Number(n, _) if n.parse::<u32>().is_ok_and(|n| (10..=100).contains(&n))) =>
                {
                    return Err(DbError::unsupported("fillfactor below 100"));
                }
                other => {
                    return Err(DbError::sql(
                        SqlState::InvalidParameterValue,
                        format!("value {other} out of bounds for option \"fillfactor\""),
                    ));
                }
            }
        }
        // PostgreSQL's own parameters are recognised but not (yet) implemented here.
        const POSTGRES_PARAMETERS: [&str; 7] = [
            "fillfactor",
            "toast_tuple_target",
            "parallel_workers",
            "autovacuum_enabled",
            "vacuum_index_cleanup",
            "vacuum_truncate",
            "user_catalog_table",
        ];
        if POSTGRES_PARAMETERS.contains(&key.as_str()) || key.starts_with("autovacuum_") {
            return Err(DbError::unsupported(format!("the storage parameter \"{key}\"")));
        }
        if key != "compression" && key != "encrypted" {
            return Err(DbError::sql(SqlState::InvalidParameterValue, format!("unrecognized parameter \"{key}\"")));
        }
        let text = match value {
            ast::Expr::Identifier(i) => i.value.clone(),
            ast::Expr::Value(v) => match &v.value {
                ast::Value::SingleQuotedString(s) => s.clone(),
                other => other.to_string(),
            },
            other => other.to_string(),
        };
        if key == "encrypted" {
            // PostgreSQL's spellings of a boolean reloption.
            encrypted = Some(match text.to_ascii_lowercase().as_str() {
                "true" | "on" | "yes" | "1" => true,
                "false" | "off" | "no" | "0" => false,
                _ => {
                    return Err(DbError::sql(
                        SqlState::InvalidParameterValue,
                        format!("invalid value for boolean option \"encrypted\": {text}"),
                    ));
                }
            });
            continue;
        }
        compression = Compression::parse(&text).ok_or_else(|| {
            DbError::sql(
                SqlState::InvalidParameterValue,
                format!("invalid value for parameter \"compression\": \"{text}\""),
            )
        })?;
    }
    Ok((compression, encrypted))
}
