//! The binder: sqlparser statements in, [`Statement`]s out. Names are looked up in the catalog
//! as the statement's snapshot sees it, expressions are typed (bind_expr), and the planner picks
//! an access path. Whatever the engine does not support yet is refused here with 0A000, never
//! half-executed.

use crate::access;
use crate::bind_expr::{self, Scope, boolean, cast, convert_type, ident_name};
use crate::catalog::{IndexMethod, TableDef};
use crate::context::ExecContext;
use crate::expr::{EvalEnv, Expr};
use crate::plan::{InsertSource, RowLockClause, SelectPlan, SortKey, Source, Statement};
use crate::planner::choose_access;
use crate::result::ResultColumn;
use crate::types::{CastContext, type_name};
use rustydb_foundation::{Column, DataType, DbError, Result, SqlState, Value};
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
            Some(Statement::Show { name: words.join(" ") })
        }
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
        ast::Statement::Query(q) => Ok(Statement::Select(bind_query(ctx, q)?)),
        ast::Statement::Insert(insert) => bind_insert(ctx, insert),
        ast::Statement::Update(update) => bind_update(ctx, update),
        ast::Statement::Delete(delete) => bind_delete(ctx, delete),
        ast::Statement::CreateTable(create) => bind_create_table(create),
        ast::Statement::Lock(lock) => bind_lock(lock),
        ast::Statement::CreateIndex(create) => bind_create_index(ctx, create),
        ast::Statement::Drop { object_type: ast::ObjectType::Index, if_exists, names, .. } => {
            Ok(Statement::DropIndex {
                names: names.iter().map(table_name).collect::<Result<_>>()?,
                if_exists: *if_exists,
            })
        }
        ast::Statement::Drop { object_type: ast::ObjectType::Table, if_exists, names, .. } => {
            Ok(Statement::DropTable {
                names: names.iter().map(table_name).collect::<Result<_>>()?,
                if_exists: *if_exists,
            })
        }
        other => Err(DbError::unsupported(format!("the statement \"{}\"", first_words(&other.to_string())))),
    }
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
        name: create.name.as_ref().map(table_name).transpose()?,
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

/// A table name: `t` or `public.t`.
pub(crate) fn table_name(name: &ast::ObjectName) -> Result<String> {
    let parts: Vec<String> = name.0.iter().filter_map(|p| p.as_ident().map(ident_name)).collect();
    match parts.as_slice() {
        [t] => Ok(t.clone()),
        [schema, t] if schema == "public" => Ok(t.clone()),
        [schema, _] => Err(DbError::sql(SqlState::UndefinedObject, format!("schema \"{schema}\" does not exist"))),
        _ => Err(DbError::syntax(format!("improper relation name: {name}"))),
    }
}

/// Resolves a table and locks it in `mode` for the rest of the transaction (see
/// [`access::open_table`]).
fn lookup_table(ctx: &mut ExecContext<'_>, name: &ast::ObjectName, mode: LockMode) -> Result<TableDef> {
    let name = table_name(name)?;
    access::open_table(ctx, &name, mode, WaitPolicy::Block)?.ok_or_else(|| DbError::undefined_table(&name))
}

fn bind_query(ctx: &mut ExecContext<'_>, q: &ast::Query) -> Result<SelectPlan> {
    if q.with.is_some() || q.fetch.is_some() || q.for_clause.is_some() {
        return Err(DbError::unsupported("WITH, FETCH and FOR clauses"));
    }
    let row_lock = match q.locks.as_slice() {
        [] => None,
        [clause] if clause.of.is_none() => Some(RowLockClause {
            exclusive: clause.lock_type == ast::LockType::Update,
            policy: match clause.nonblock {
                None => WaitPolicy::Block,
                Some(ast::NonBlock::Nowait) => WaitPolicy::NoWait,
                Some(ast::NonBlock::SkipLocked) => WaitPolicy::Skip,
            },
        }),
        _ => return Err(DbError::unsupported("FOR UPDATE OF and several locking clauses")),
    };
    let table_mode = if row_lock.is_some() { LockMode::RowShare } else { LockMode::AccessShare };
    let ast::SetExpr::Select(select) = q.body.as_ref() else {
        return Err(DbError::unsupported(format!("the query form \"{}\"", first_words(&q.body.to_string()))));
    };
    check_select_clauses(select)?;
    let table = match select.from.as_slice() {
        [] => None,
        [from] => Some(from_table(ctx, from, table_mode)?),
        _ => return Err(DbError::unsupported("joins")),
    };
    if row_lock.is_some() && table.is_none() {
        return Err(DbError::sql(SqlState::FeatureNotSupported, "FOR UPDATE needs a table to lock rows of"));
    }
    let scope = Scope { table: table.as_ref().map(|(t, alias)| (t, alias.as_str())) };
    let (projection, columns) = bind_projection(&select.projection, scope)?;
    let filter = select.selection.as_ref().map(|w| boolean(bind_expr::bind(w, scope)?, "WHERE")).transpose()?;
    let order_by = bind_order_by(q.order_by.as_ref(), &projection, &columns, scope)?;
    let (limit, offset) = bind_limit(q.limit_clause.as_ref())?;
    let source = match table {
        None => Source::Nothing,
        Some((table, _)) => {
            let access = choose_access(&table, filter.as_ref());
            Source::Table { table: Box::new(table), access }
        }
    };
    Ok(SelectPlan { source, filter, projection, columns, order_by, limit, offset, row_lock })
}

fn check_select_clauses(s: &ast::Select) -> Result<()> {
    let grouped = match &s.group_by {
        ast::GroupByExpr::All(_) => true,
        ast::GroupByExpr::Expressions(e, _) => !e.is_empty(),
    };
    if s.distinct.is_some() || grouped || s.having.is_some() {
        return Err(DbError::unsupported("DISTINCT, GROUP BY and HAVING"));
    }
    if s.into.is_some() || !s.named_window.is_empty() || s.qualify.is_some() || !s.connect_by.is_empty() {
        return Err(DbError::unsupported("SELECT INTO, WINDOW, QUALIFY and CONNECT BY"));
    }
    Ok(())
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

fn bind_projection(items: &[ast::SelectItem], scope: Scope<'_>) -> Result<(Vec<Expr>, Vec<ResultColumn>)> {
    let mut exprs = Vec::new();
    let mut columns = Vec::new();
    for item in items {
        match item {
            ast::SelectItem::Wildcard(_) | ast::SelectItem::QualifiedWildcard(..) => {
                let Some((table, _)) = scope.table else {
                    return Err(DbError::syntax("SELECT * with no tables specified is not valid"));
                };
                for (index, col) in table.schema.columns.iter().enumerate() {
                    exprs.push(Expr::Column { index, ty: col.data_type });
                    columns.push(ResultColumn { name: col.name.clone(), data_type: col.data_type });
                }
            }
            ast::SelectItem::UnnamedExpr(e) => {
                let bound = output(bind_expr::bind(e, scope)?)?;
                columns.push(ResultColumn { name: output_name(e, &bound), data_type: bound.data_type() });
                exprs.push(bound);
            }
            ast::SelectItem::ExprWithAlias { expr, alias } => {
                let bound = output(bind_expr::bind(expr, scope)?)?;
                columns.push(ResultColumn { name: ident_name(alias), data_type: bound.data_type() });
                exprs.push(bound);
            }
            other => return Err(DbError::unsupported(format!("the select item {other}"))),
        }
    }
    Ok((exprs, columns))
}

/// Untyped literals in the output become text, as PostgreSQL resolves them.
fn output(expr: Expr) -> Result<Expr> {
    bind_expr::coerce_unknown(expr, DataType::Text)
}

/// The column name PostgreSQL gives an unaliased output expression.
fn output_name(e: &ast::Expr, bound: &Expr) -> String {
    match e {
        ast::Expr::Identifier(i) => ident_name(i),
        ast::Expr::CompoundIdentifier(parts) => parts.last().map(ident_name).unwrap_or_default(),
        ast::Expr::Nested(inner) => output_name(inner, bound),
        ast::Expr::Function(f) => f.name.0.last().and_then(|p| p.as_ident()).map(ident_name).unwrap_or_default(),
        ast::Expr::Cast { expr, .. } => match output_name(expr, bound).as_str() {
            "?column?" => type_name(bound.data_type()).to_string(),
            name => name.to_string(),
        },
        _ => "?column?".into(),
    }
}

fn bind_order_by(
    order_by: Option<&ast::OrderBy>,
    projection: &[Expr],
    columns: &[ResultColumn],
    scope: Scope<'_>,
) -> Result<Vec<SortKey>> {
    let Some(order_by) = order_by else { return Ok(Vec::new()) };
    let ast::OrderByKind::Expressions(items) = &order_by.kind else {
        return Err(DbError::unsupported("ORDER BY ALL"));
    };
    items
        .iter()
        .map(|item| {
            let expr = sort_expr(&item.expr, projection, columns, scope)?;
            let descending = matches!(item.options.sort, Some(ast::OrderBySort::Desc));
            if matches!(item.options.sort, Some(ast::OrderBySort::Using(_))) {
                return Err(DbError::unsupported("ORDER BY ... USING"));
            }
            Ok(SortKey { expr, descending, nulls_first: item.options.nulls_first.unwrap_or(descending) })
        })
        .collect()
}

/// An ORDER BY item: an output position, an output column name, or an expression over the input.
fn sort_expr(e: &ast::Expr, projection: &[Expr], columns: &[ResultColumn], scope: Scope<'_>) -> Result<Expr> {
    if let ast::Expr::Value(v) = e
        && let ast::Value::Number(n, _) = &v.value
    {
        let pos = n.parse::<usize>().ok().filter(|p| (1..=projection.len()).contains(p)).ok_or_else(|| {
            DbError::sql(SqlState::InvalidColumnReference, format!("ORDER BY position {n} is not in select list"))
        })?;
        return Ok(projection[pos - 1].clone());
    }
    if let ast::Expr::Identifier(i) = e {
        let name = ident_name(i);
        let mut matches = columns.iter().enumerate().filter(|(_, c)| c.name == name);
        if let Some((pos, _)) = matches.next() {
            if matches.next().is_some() {
                return Err(DbError::sql(SqlState::AmbiguousColumn, format!("ORDER BY \"{name}\" is ambiguous")));
            }
            return Ok(projection[pos].clone());
        }
    }
    output(bind_expr::bind(e, scope)?)
}

fn bind_limit(clause: Option<&ast::LimitClause>) -> Result<(Option<u64>, u64)> {
    let (limit, offset) = match clause {
        None => return Ok((None, 0)),
        Some(ast::LimitClause::LimitOffset { limit, offset, limit_by }) if limit_by.is_empty() => {
            (limit.as_ref(), offset.as_ref().map(|o| &o.value))
        }
        Some(ast::LimitClause::OffsetCommaLimit { .. }) => {
            return Err(DbError::syntax("LIMIT #,# syntax is not supported"));
        }
        Some(_) => return Err(DbError::unsupported("LIMIT BY")),
    };
    let count = |e: Option<&ast::Expr>, state: SqlState, what: &str| -> Result<Option<u64>> {
        let Some(e) = e else { return Ok(None) };
        let bound = cast(bind_expr::bind(e, Scope::EMPTY)?, DataType::Int8, CastContext::Assignment)?;
        match bound.eval(&[], &EvalEnv { user: "", database: "" })? {
            Value::Null => Ok(None),
            Value::Int8(n) if n >= 0 => Ok(Some(n as u64)),
            _ => Err(DbError::sql(state, format!("{what} must not be negative"))),
        }
    };
    let limit = count(limit, SqlState::InvalidRowCountInLimitClause, "LIMIT")?;
    let offset = count(offset, SqlState::InvalidRowCountInResultOffsetClause, "OFFSET")?.unwrap_or(0);
    Ok((limit, offset))
}

fn bind_insert(ctx: &mut ExecContext<'_>, insert: &ast::Insert) -> Result<Statement> {
    if insert.on.is_some() || insert.returning.is_some() || insert.or.is_some() || insert.ignore {
        return Err(DbError::unsupported("ON CONFLICT, RETURNING and INSERT OR/IGNORE"));
    }
    let ast::TableObject::TableName(name) = &insert.table else {
        return Err(DbError::unsupported("INSERT into a table function"));
    };
    let table = lookup_table(ctx, name, LockMode::RowExclusive)?;
    let targets = insert_targets(&table, &insert.columns)?;
    let Some(source) = &insert.source else { return Err(DbError::unsupported("INSERT ... DEFAULT VALUES")) };
    let source = match source.body.as_ref() {
        ast::SetExpr::Values(values) if source.order_by.is_none() && source.limit_clause.is_none() => {
            let rows = values
                .rows
                .iter()
                .map(|row| {
                    check_arity(row.content.len(), targets.len())?;
                    let exprs =
                        row.content.iter().map(|e| bind_expr::bind(e, Scope::EMPTY)).collect::<Result<Vec<_>>>()?;
                    full_row(&table, &targets, exprs)
                })
                .collect::<Result<Vec<_>>>()?;
            InsertSource::Values(rows)
        }
        _ => {
            let query = bind_query(ctx, source)?;
            check_arity(query.columns.len(), targets.len())?;
            let inputs =
                query.columns.iter().enumerate().map(|(index, c)| Expr::Column { index, ty: c.data_type }).collect();
            let row = full_row(&table, &targets, inputs)?;
            InsertSource::Query(Box::new(query), row)
        }
    };
    Ok(Statement::Insert { table, source })
}

fn insert_targets(table: &TableDef, columns: &[ast::ObjectName]) -> Result<Vec<usize>> {
    if columns.is_empty() {
        return Ok((0..table.schema.len()).collect());
    }
    let mut targets = Vec::with_capacity(columns.len());
    for c in columns {
        let (name, pos) = target_column(table, c)?;
        if targets.contains(&pos) {
            return Err(DbError::sql(SqlState::DuplicateColumn, format!("column \"{name}\" specified more than once")));
        }
        targets.push(pos);
    }
    Ok(targets)
}

/// The name and position of a column written by INSERT or UPDATE.
fn target_column(table: &TableDef, name: &ast::ObjectName) -> Result<(String, usize)> {
    let col = name.0.last().and_then(|p| p.as_ident()).map(ident_name).unwrap_or_default();
    let pos = table.schema.index_of(&col).ok_or_else(|| {
        DbError::sql(
            SqlState::UndefinedColumn,
            format!("column \"{col}\" of relation \"{}\" does not exist", table.name),
        )
    })?;
    Ok((col, pos))
}

fn check_arity(values: usize, targets: usize) -> Result<()> {
    match values.cmp(&targets) {
        std::cmp::Ordering::Greater => Err(DbError::syntax("INSERT has more expressions than target columns")),
        std::cmp::Ordering::Less => Err(DbError::syntax("INSERT has more target columns than expressions")),
        std::cmp::Ordering::Equal => Ok(()),
    }
}

/// One expression per table column: the given ones coerced to their column, NULL elsewhere.
fn full_row(table: &TableDef, targets: &[usize], exprs: Vec<Expr>) -> Result<Vec<Expr>> {
    let mut row: Vec<Expr> =
        table.schema.columns.iter().map(|c| Expr::Literal { value: Value::Null, ty: c.data_type }).collect();
    for (&pos, expr) in targets.iter().zip(exprs) {
        row[pos] = assign(&table.schema.columns[pos], expr)?;
    }
    Ok(row)
}

/// Coerces a value for storing into `column` (assignment context): 42804 if the types do not fit.
fn assign(column: &Column, expr: Expr) -> Result<Expr> {
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

fn bind_update(ctx: &mut ExecContext<'_>, update: &ast::Update) -> Result<Statement> {
    if update.from.is_some() || update.returning.is_some() || update.limit.is_some() || !update.order_by.is_empty() {
        return Err(DbError::unsupported("UPDATE with FROM, RETURNING, ORDER BY or LIMIT"));
    }
    let (table, alias) = from_table(ctx, &update.table, LockMode::RowExclusive)?;
    let scope = Scope { table: Some((&table, &alias)) };
    let mut assignments = Vec::new();
    for a in &update.assignments {
        let ast::AssignmentTarget::ColumnName(name) = &a.target else {
            return Err(DbError::unsupported("assigning to a tuple of columns"));
        };
        let (col, pos) = target_column(&table, name)?;
        if assignments.iter().any(|(p, _)| *p == pos) {
            return Err(DbError::sql(
                SqlState::DuplicateColumn,
                format!("multiple assignments to same column \"{col}\""),
            ));
        }
        assignments.push((pos, assign(&table.schema.columns[pos], bind_expr::bind(&a.value, scope)?)?));
    }
    let filter = update.selection.as_ref().map(|w| boolean(bind_expr::bind(w, scope)?, "WHERE")).transpose()?;
    let access = choose_access(&table, filter.as_ref());
    Ok(Statement::Update { table, assignments, filter, access })
}

fn bind_delete(ctx: &mut ExecContext<'_>, delete: &ast::Delete) -> Result<Statement> {
    if delete.using.is_some() || delete.returning.is_some() || delete.limit.is_some() || !delete.tables.is_empty() {
        return Err(DbError::unsupported("DELETE with USING, RETURNING or LIMIT"));
    }
    let from = match &delete.from {
        ast::FromTable::WithFromKeyword(f) | ast::FromTable::WithoutKeyword(f) => f,
    };
    let [from] = from.as_slice() else { return Err(DbError::unsupported("DELETE from several tables")) };
    let (table, alias) = from_table(ctx, from, LockMode::RowExclusive)?;
    let scope = Scope { table: Some((&table, &alias)) };
    let filter = delete.selection.as_ref().map(|w| boolean(bind_expr::bind(w, scope)?, "WHERE")).transpose()?;
    let access = choose_access(&table, filter.as_ref());
    Ok(Statement::Delete { table, filter, access })
}

fn bind_create_table(create: &ast::CreateTable) -> Result<Statement> {
    if create.query.is_some() || create.like.is_some() || create.clone.is_some() {
        return Err(DbError::unsupported("CREATE TABLE AS, LIKE and CLONE"));
    }
    let name = table_name(&create.name)?;
    let mut columns: Vec<Column> = Vec::new();
    let mut primary_key: Option<Vec<usize>> = None;
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
        let mut column = Column::new(col_name, convert_type(&def.data_type)?);
        for opt in &def.options {
            match &opt.option {
                ast::ColumnOption::Null => column.nullable = true,
                ast::ColumnOption::NotNull => column.nullable = false,
                ast::ColumnOption::PrimaryKey(_) => set_primary_key(vec![columns.len()])?,
                other => return Err(DbError::unsupported(format!("the column option {other}"))),
            }
        }
        columns.push(column);
    }
    for constraint in &create.constraints {
        match constraint {
            ast::TableConstraint::PrimaryKey(pk) => {
                let positions = pk
                    .columns
                    .iter()
                    .map(|c| {
                        let n = match &c.column.expr {
                            ast::Expr::Identifier(i) => ident_name(i),
                            other => return Err(DbError::unsupported(format!("the key expression {other}"))),
                        };
                        columns.iter().position(|col| col.name == n).ok_or_else(|| {
                            DbError::sql(
                                SqlState::UndefinedColumn,
                                format!("column \"{n}\" named in key does not exist"),
                            )
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                set_primary_key(positions)?;
            }
            other => return Err(DbError::unsupported(format!("the table constraint {other}"))),
        }
    }
    let primary_key = primary_key.unwrap_or_default();
    for &i in &primary_key {
        columns[i].nullable = false;
    }
    let compression = table_compression(&create.table_options)?;
    Ok(Statement::CreateTable { name, columns, primary_key, compression, if_not_exists: create.if_not_exists })
}

/// The storage parameters of `CREATE TABLE ... WITH (...)`: RustyDB's `compression` (`lz4`, the
/// default; `zstd`; `none`). Others are refused as PostgreSQL refuses unknown ones (22023).
fn table_compression(options: &ast::CreateTableOptions) -> Result<Compression> {
    let options = match options {
        ast::CreateTableOptions::None => return Ok(Compression::default()),
        ast::CreateTableOptions::With(options) => options,
        other => return Err(DbError::unsupported(format!("the table options {other}"))),
    };
    let mut compression = Compression::default();
    for option in options {
        let ast::SqlOption::KeyValue { key, value } = option else {
            return Err(DbError::unsupported(format!("the storage parameter {option}")));
        };
        let key = ident_name(key);
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
        if key != "compression" {
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
        compression = Compression::parse(&text).ok_or_else(|| {
            DbError::sql(
                SqlState::InvalidParameterValue,
                format!("invalid value for parameter \"compression\": \"{text}\""),
            )
        })?;
    }
    Ok(compression)
}
