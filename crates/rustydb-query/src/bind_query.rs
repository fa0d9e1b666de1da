//! Binding queries: SELECT (with FROM, joins, WHERE, GROUP BY, HAVING, DISTINCT, ORDER BY,
//! LIMIT, FOR UPDATE), set operations and VALUES, into a bound [`Rel`] tree.
//!
//! The binder keeps a stack of *levels*, one per query being bound (a subquery pushes one on
//! top of its enclosing query's). A level holds the FROM items in scope and whether aggregate
//! calls may appear in the clause being bound. Column names resolve innermost level first; a
//! name found in an enclosing level is an outer reference, which makes its subquery
//! correlated (found later by `resolve`, nothing to record here). Every column made anywhere
//! gets an id, unique in the statement, with its type and a name for messages.
//!
//! A SELECT binds in PostgreSQL's order of evaluation: FROM, WHERE, GROUP BY and aggregates,
//! HAVING, the select list (plus hidden columns for ORDER BY expressions not in it), DISTINCT,
//! ORDER BY, LIMIT. Aggregate calls in the select list, HAVING and ORDER BY are collected while
//! binding and replaced by the aggregate's output column; the expressions are then rewritten
//! over the group keys, and a reference to a column neither grouped nor aggregated is 42803.

use crate::access;
use crate::acl::{ObjectRef, Privilege, PrivilegeSet, RelationAccess};
use crate::bind_aggregate;
use crate::bind_expr::{self, boolean, cast, coerce_unknown, ident_name};
use crate::catalog::{QualifiedName, TableDef};
use crate::context::ExecContext;
use crate::expr::{EvalEnv, Expr};
use crate::params::Params;
use crate::plan::{RowLockClause, SortKey};
use crate::rel::{AggCall, ColumnId, Frame, FrameBound, JoinKind, Rel, SetOpKind, WindowCall, WindowFunc};
use crate::result::ResultColumn;
use crate::table_function::{TableCall, TableFunc};
use crate::types::{CastContext, common_type, type_name};
use rustydb_foundation::{DataType, DbError, Result, SqlState, Value};
use rustydb_txn::{LockMode, WaitPolicy};
use sqlparser::ast;
use std::collections::HashSet;

/// One output column of a bound query.
#[derive(Debug, Clone, PartialEq)]
pub struct OutColumn {
    /// Its id.
    pub id: ColumnId,
    /// Its name as the client sees it.
    pub name: String,
    /// Its type.
    pub ty: DataType,
}

/// A bound query: its plan and output columns.
#[derive(Debug, Clone)]
pub struct Bound {
    /// The plan.
    pub rel: Rel,
    /// What it outputs, in order.
    pub columns: Vec<OutColumn>,
}

impl Bound {
    /// The output columns as a result description.
    pub fn result_columns(&self) -> Vec<ResultColumn> {
        self.columns.iter().map(|c| ResultColumn { name: c.name.clone(), data_type: c.ty }).collect()
    }
}

#[derive(Debug)]
struct ScopeColumn {
    name: String,
    id: ColumnId,
    ty: DataType,
    /// Found by an unqualified name (false for the right-hand copy of a USING column).
    unqualified: bool,
}

#[derive(Debug)]
struct ScopeItem {
    /// The alias, or the table's name.
    name: String,
    columns: Vec<ScopeColumn>,
}

/// Whether the clause being bound may hold aggregate calls, and those it holds.
#[derive(Debug)]
enum AggregateSlot {
    /// Not here; the message names the clause.
    Forbidden(&'static str),
    /// Allowed: the calls met so far, with their output column ids.
    Allowed(Vec<(ColumnId, AggCall)>),
}

#[derive(Debug)]
struct Level {
    items: Vec<ScopeItem>,
    aggregates: AggregateSlot,
    /// Window calls met in the select list and ORDER BY (`None` elsewhere).
    windows: Option<Vec<(ColumnId, WindowCall)>>,
    /// Set-returning function calls met in the select list (`None` elsewhere).
    set_returning: Option<Vec<(ColumnId, TableCall)>>,
    /// `grouping(...)` calls met: the column each gives, and its arguments.
    grouping: Vec<(ColumnId, Vec<Expr>)>,
    /// The WINDOW clause's windows, each resolved to a full specification.
    named_windows: Vec<(String, ast::WindowSpec)>,
}

impl Level {
    fn new() -> Self {
        Level {
            items: Vec::new(),
            aggregates: AggregateSlot::Forbidden("this context"),
            windows: None,
            set_returning: None,
            grouping: Vec::new(),
            named_windows: Vec::new(),
        }
    }
}

/// What an ORDER BY item sorts by.
enum OrderTarget {
    /// A select-list item (by position or output name).
    Item(usize),
    /// An expression over the FROM columns.
    Expr(Expr),
}

/// Binds the queries of one statement.
pub struct QueryBinder<'c, 'e> {
    ctx: Option<&'c mut ExecContext<'e>>,
    levels: Vec<Level>,
    types: Vec<DataType>,
    names: Vec<String>,
    subqueries: usize,
    /// The table lock a FROM item takes (ROW SHARE under FOR UPDATE).
    table_mode: LockMode,
    /// Views being expanded, innermost last (a guard against a view that reads itself).
    views_expanding: usize,
    /// The WITH queries in scope, innermost last.
    ctes: Vec<Cte>,
    /// The statement's parameters.
    params: Params,
    /// The owners of the views being expanded, innermost last: the relations a view reads
    /// are checked against its owner's privileges, as PostgreSQL checks them.
    check_as: Vec<String>,
    /// `FETCH FIRST n ROWS WITH TIES` for the select being bound (taken by it at its start).
    with_ties: bool,
}

/// A WITH query in scope.
#[derive(Debug, Clone)]
enum Cte {
    /// A named query, bound where it is read (each reference binds it again).
    Query { name: String, query: Box<ast::Query>, columns: Vec<String>, recursive: bool },
    /// Inside its own recursive term: the work table of the recursion.
    Work { name: String, work: usize, columns: Vec<(String, DataType)> },
}

impl Cte {
    fn name(&self) -> &str {
        match self {
            Cte::Query { name, .. } | Cte::Work { name, .. } => name,
        }
    }
}

impl std::fmt::Debug for QueryBinder<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueryBinder").field("levels", &self.levels).finish_non_exhaustive()
    }
}

impl<'c, 'e> QueryBinder<'c, 'e> {
    /// A binder that reads the catalog through `ctx`.
    pub fn new(ctx: &'c mut ExecContext<'e>) -> Self {
        Self::reading(Some(ctx))
    }

    fn reading(ctx: Option<&'c mut ExecContext<'e>>) -> Self {
        let params = ctx.as_ref().map(|c| c.params.clone()).unwrap_or_default();
        QueryBinder {
            params,
            ctx,
            levels: Vec::new(),
            types: Vec::new(),
            names: Vec::new(),
            subqueries: 0,
            table_mode: LockMode::AccessShare,
            views_expanding: 0,
            ctes: Vec::new(),
            check_as: Vec::new(),
            with_ties: false,
        }
    }

    /// A binder for expressions that refer to one table's columns (UPDATE, DELETE): column
    /// ids are the table's column positions.
    pub fn for_table(ctx: &'c mut ExecContext<'e>, table: &TableDef, alias: &str) -> Self {
        let mut b = QueryBinder::new(ctx);
        let mut level = Level::new();
        let columns = b.table_columns(table, alias);
        level.items.push(ScopeItem { name: alias.to_string(), columns });
        b.levels.push(level);
        b
    }

    /// Adds the `excluded` pseudo-table of `INSERT ... ON CONFLICT DO UPDATE` to a binder made
    /// by [`Self::for_table`]: the proposed row's columns, ids `n..2n`. They have the table's
    /// names, so an unqualified one is ambiguous (42702), as in PostgreSQL.
    pub fn add_excluded(&mut self, table: &TableDef) -> Result<()> {
        let columns = self.table_columns(table, "excluded");
        self.add_item(ScopeItem { name: "excluded".into(), columns })
    }

    /// New column ids for `table`'s columns, in order, found by name (qualified by `qualifier`
    /// in messages).
    fn table_columns(&mut self, table: &TableDef, qualifier: &str) -> Vec<ScopeColumn> {
        table
            .schema
            .columns
            .iter()
            .map(|c| ScopeColumn {
                name: c.name.clone(),
                id: self.new_column(format!("{qualifier}.{}", c.name), c.data_type),
                ty: c.data_type,
                unqualified: true,
            })
            .collect()
    }

    /// Binds a RETURNING list (`*` is the table's columns): output names and expressions.
    pub fn returning_list(&mut self, items: &[ast::SelectItem]) -> Result<Vec<(String, Expr)>> {
        let saved = self.set_aggregates(AggregateSlot::Forbidden("RETURNING"));
        let bound = self.select_list(items);
        self.set_aggregates(saved);
        bound
    }

    /// Makes an aggregate call in what is bound next a 42803 naming `clause`.
    pub fn forbid_aggregates(&mut self, clause: &'static str) {
        self.set_aggregates(AggregateSlot::Forbidden(clause));
    }

    /// The names of every column id made so far (for messages after binding).
    pub fn into_names(self) -> Vec<String> {
        self.names
    }

    /// A new column id called `name` (not in any scope).
    pub(crate) fn add_column(&mut self, name: &str, ty: DataType) -> ColumnId {
        self.new_column(name.to_string(), ty)
    }

    /// The type of column `id`.
    pub(crate) fn type_of(&self, id: ColumnId) -> DataType {
        self.types.get(id).copied().unwrap_or(DataType::Unknown)
    }

    fn new_column(&mut self, name: String, ty: DataType) -> ColumnId {
        self.types.push(ty);
        self.names.push(name);
        self.types.len() - 1
    }

    /// A new output column called `name`.
    fn out_column(&mut self, name: &str, ty: DataType) -> OutColumn {
        OutColumn { id: self.new_column(name.to_string(), ty), name: name.to_string(), ty }
    }

    /// A projection of `rel` computing `items` as new columns.
    fn project(&mut self, rel: Rel, items: Vec<(String, Expr)>) -> (Rel, Vec<OutColumn>) {
        let columns: Vec<OutColumn> = items.iter().map(|(name, e)| self.out_column(name, e.data_type())).collect();
        let output = columns.iter().map(|c| c.id).collect();
        let exprs = items.into_iter().map(|(_, e)| e).collect();
        (Rel::Project { input: Box::new(rel), exprs, output }, columns)
    }

    /// When the statement's transaction began (now, without one), in microseconds since
    /// 2000-01-01 UTC.
    pub fn transaction_time(&self) -> i64 {
        self.ctx.as_ref().map_or_else(rustydb_foundation::datetime::now, |c| c.txn.start_time())
    }

    /// The catalog context, if the binder has one.
    pub fn context(&mut self) -> Option<&mut ExecContext<'e>> {
        self.ctx.as_deref_mut()
    }

    /// What the parameter `$n` binds to (see [`crate::params`]).
    pub fn param(&self, placeholder: &str) -> Result<Expr> {
        self.params.bind(placeholder)
    }

    /// A fresh id for a subquery (the key of its cached result).
    pub fn subquery_id(&mut self) -> usize {
        self.subqueries += 1;
        self.subqueries
    }

    fn ctx(&mut self) -> Result<&mut ExecContext<'e>> {
        self.ctx.as_deref_mut().ok_or_else(|| DbError::unsupported("a table reference here"))
    }

    fn level(&mut self) -> &mut Level {
        if self.levels.is_empty() {
            self.levels.push(Level::new());
        }
        let last = self.levels.len() - 1;
        &mut self.levels[last]
    }

    fn set_aggregates(&mut self, slot: AggregateSlot) -> AggregateSlot {
        std::mem::replace(&mut self.level().aggregates, slot)
    }

    /// Resolves a column name, innermost query first.
    pub fn column(&self, qualifier: Option<&str>, name: &str) -> Result<Expr> {
        for level in self.levels.iter().rev() {
            match qualifier {
                Some(q) => {
                    if let Some(item) = level.items.iter().find(|i| i.name == q) {
                        let c = item.columns.iter().find(|c| c.name == name).ok_or_else(|| {
                            DbError::sql(SqlState::UndefinedColumn, format!("column {q}.{name} does not exist"))
                        })?;
                        return Ok(Expr::Column { index: c.id, ty: c.ty });
                    }
                }
                None => {
                    let mut found =
                        level.items.iter().flat_map(|i| &i.columns).filter(|c| c.unqualified && c.name == name);
                    if let Some(c) = found.next() {
                        if found.next().is_some() {
                            return Err(DbError::sql(
                                SqlState::AmbiguousColumn,
                                format!("column reference \"{name}\" is ambiguous"),
                            ));
                        }
                        return Ok(Expr::Column { index: c.id, ty: c.ty });
                    }
                }
            }
        }
        Err(match qualifier {
            Some(q) => DbError::sql(SqlState::UndefinedTable, format!("missing FROM-clause entry for table \"{q}\"")),
            None => DbError::undefined_column(name),
        })
    }

    /// A set-returning function called in the select list: it becomes a call of the query's
    /// [`Rel::Function`] (all such calls run in lockstep, after grouping and windows, once per
    /// row), and the expression reads its column. 0A000 anywhere else, as in PostgreSQL.
    pub fn set_returning(&mut self, func: TableFunc, args: Vec<Expr>) -> Result<Expr> {
        let call = func.bind(args)?;
        if call.width() > 1 {
            // PostgreSQL returns a record here; there is no record type to hold one.
            return Err(DbError::sql(
                SqlState::FeatureNotSupported,
                format!("{} in the select list returns a record, which is not supported: call it in FROM", func.name()),
            ));
        }
        let ty = call.ty;
        let id = self.new_column(func.name().to_string(), ty);
        let level = self.level();
        match &mut level.set_returning {
            Some(calls) => {
                calls.push((id, call));
                Ok(Expr::Column { index: id, ty })
            }
            None => {
                let clause = match &level.aggregates {
                    AggregateSlot::Forbidden(clause) => *clause,
                    AggregateSlot::Allowed(_) => "this context",
                };
                Err(DbError::sql(
                    SqlState::FeatureNotSupported,
                    format!("set-returning functions are not allowed in {clause}"),
                ))
            }
        }
    }

    /// Binds an aggregate call where the current clause allows one, and returns the column
    /// that will hold its value.
    pub fn aggregate(&mut self, name: &str, f: &ast::Function) -> Result<Expr> {
        if f.over.is_some() {
            return Err(DbError::unsupported("window functions"));
        }
        // An ordered-set aggregate without WITHIN GROUP, or another with it, is a function
        // PostgreSQL does not have (42883), named with every argument's type.
        let ordered_set = matches!(name, "percentile_cont" | "percentile_disc" | "mode");
        if ordered_set == f.within_group.is_empty() {
            let (args, _, _) = self.call_args(name, f)?;
            let mut types: Vec<String> = args.iter().map(|a| a.data_type().sql_name().to_string()).collect();
            for item in &f.within_group {
                types.push(bind_expr::bind(&item.expr, self)?.data_type().sql_name().to_string());
            }
            return Err(DbError::sql(
                SqlState::UndefinedFunction,
                format!("function {name}({}) does not exist", types.join(", ")),
            )
            .with_hint(
                "No function matches the given name and argument types. You might need to add explicit type casts.",
            ));
        }
        let outer = self.set_aggregates(AggregateSlot::Forbidden("aggregate function calls cannot be nested"));
        let bound = self.aggregate_call(name, f);
        let slot = self.set_aggregates(outer);
        debug_assert!(matches!(slot, AggregateSlot::Forbidden(_)));
        let call = bound?;
        if let AggregateSlot::Forbidden(clause) = &self.level().aggregates {
            let message = if clause.starts_with("aggregate") {
                (*clause).to_string()
            } else {
                format!("aggregate functions are not allowed in {clause}")
            };
            return Err(DbError::sql(SqlState::GroupingError, message));
        }
        let ty = call.ty;
        let id = self.new_column(name.to_string(), ty);
        if let AggregateSlot::Allowed(calls) = &mut self.level().aggregates {
            calls.push((id, call));
        }
        Ok(Expr::Column { index: id, ty })
    }

    /// Binds a window function call (`f(...) OVER (...)`) where the clause allows one, and
    /// returns the column that will hold its value.
    pub fn window(&mut self, name: &str, f: &ast::Function) -> Result<Expr> {
        let spec = match &f.over {
            Some(ast::WindowType::WindowSpec(spec)) => self.resolve_window(spec)?,
            Some(ast::WindowType::NamedWindow(window)) => self.named_window(&ident_name(window))?,
            None => return Err(DbError::Internal("a window call without OVER".into())),
        };
        let Some(calls) = self.level().windows.take() else {
            return Err(DbError::sql(SqlState::WindowingError, "window functions are not allowed here"));
        };
        let bound = self.window_call(name, f, &spec);
        self.level().windows = Some(calls);
        let call = bound?;
        let ty = call.ty;
        let id = self.new_column(name.to_string(), ty);
        if let Some(calls) = &mut self.level().windows {
            calls.push((id, call));
        }
        Ok(Expr::Column { index: id, ty })
    }

    fn window_call(&mut self, name: &str, f: &ast::Function, spec: &ast::WindowSpec) -> Result<WindowCall> {
        let (mut args, star, distinct) = self.call_args(name, f)?;
        if distinct {
            return Err(DbError::unsupported("DISTINCT is not implemented for window functions"));
        }
        if !f.within_group.is_empty() {
            return Err(DbError::sql(
                SqlState::FeatureNotSupported,
                format!("OVER is not supported for ordered-set aggregate {name}"),
            ));
        }
        if let ast::FunctionArguments::List(list) = &f.args
            && !list.clauses.is_empty()
        {
            return Err(DbError::sql(
                SqlState::FeatureNotSupported,
                "aggregate ORDER BY is not implemented for window functions",
            ));
        }
        let filter = f.filter.as_ref().map(|e| boolean(bind_expr::bind(e, self)?, "FILTER")).transpose()?;
        let mut partition = Vec::with_capacity(spec.partition_by.len());
        for e in &spec.partition_by {
            partition.push(output(bind_expr::bind(e, self)?)?);
        }
        let mut order = Vec::with_capacity(spec.order_by.len());
        for o in &spec.order_by {
            order.push(sort_key(output(bind_expr::bind(&o.expr, self)?)?, o));
        }
        let frame = window_frame(spec.window_frame.as_ref(), !order.is_empty())?;
        let func = match window_function(name) {
            Some(func) => func,
            None if bind_aggregate::is_aggregate(name) => {
                let (func, args, ty) = bind_aggregate::resolve(name, args, star)?;
                return Ok(WindowCall { func: WindowFunc::Aggregate(func), args, partition, order, frame, filter, ty });
            }
            None => {
                return Err(DbError::sql(
                    SqlState::WrongObjectType,
                    format!("OVER specified, but {name} is not a window function nor an aggregate function"),
                ));
            }
        };
        if filter.is_some() {
            return Err(DbError::unsupported("FILTER is not implemented for non-aggregate window functions"));
        }
        // lag/lead's default takes the value's type.
        if matches!(func, WindowFunc::Lag | WindowFunc::Lead) && args.len() == 3 {
            let ty = args[0].data_type();
            let default = args.pop().unwrap_or(Expr::literal(Value::Null));
            args.push(cast(default, ty, CastContext::Implicit)?);
        }
        for a in &mut args[..] {
            if a.data_type() == DataType::Unknown {
                *a = coerce_unknown(std::mem::replace(a, Expr::literal(Value::Null)), DataType::Text)?;
            }
        }
        let types: Vec<DataType> = args.iter().map(Expr::data_type).collect();
        let ty = window_result_type(func, &types).ok_or_else(|| {
            let list: Vec<&str> = types.iter().map(|t| t.sql_name()).collect();
            DbError::sql(SqlState::UndefinedFunction, format!("function {name}({}) does not exist", list.join(", ")))
        })?;
        Ok(WindowCall { func, args, partition, order, frame, filter, ty })
    }

    /// A call's arguments, bound: the expressions, whether one was `*`, and DISTINCT.
    fn call_args(&mut self, name: &str, f: &ast::Function) -> Result<(Vec<Expr>, bool, bool)> {
        match &f.args {
            ast::FunctionArguments::List(list) => {
                if list.clauses.iter().any(|c| !matches!(c, ast::FunctionArgumentClause::OrderBy(_))) {
                    return Err(DbError::unsupported(format!("{name} with clauses other than ORDER BY")));
                }
                let distinct = matches!(list.duplicate_treatment, Some(ast::DuplicateTreatment::Distinct));
                let mut args = Vec::with_capacity(list.args.len());
                let mut star = false;
                for a in &list.args {
                    match a {
                        ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Wildcard) => star = true,
                        ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => {
                            args.push(bind_expr::bind(e, self)?)
                        }
                        other => return Err(DbError::unsupported(format!("the argument {other}"))),
                    }
                }
                Ok((args, star, distinct))
            }
            ast::FunctionArguments::None => Ok((Vec::new(), false, false)),
            ast::FunctionArguments::Subquery(_) => Err(DbError::unsupported("a subquery as argument")),
        }
    }

    fn aggregate_call(&mut self, name: &str, f: &ast::Function) -> Result<AggCall> {
        let (args, star, distinct) = self.call_args(name, f)?;
        let filter = f.filter.as_ref().map(|e| boolean(bind_expr::bind(e, self)?, "FILTER")).transpose()?;
        if !f.within_group.is_empty() {
            // An ordered-set aggregate (`aggregate` checked the name).
            let [item] = f.within_group.as_slice() else {
                return Err(DbError::unsupported(format!("{name} WITHIN GROUP with several sort keys")));
            };
            let sorted = output(bind_expr::bind(&item.expr, self)?)?;
            let bound = bind_aggregate::ordered_set(name, args, sorted)
                .ok_or_else(|| DbError::Internal(format!("{name} is not an ordered-set aggregate")))?;
            let (func, args, sorted, ty) = bound?;
            let order = vec![sort_key(sorted, item)];
            return Ok(AggCall { func, args, distinct: false, filter, order, ty });
        }
        let (func, args, ty) = bind_aggregate::resolve(name, args, star)?;
        let mut order = Vec::new();
        if let ast::FunctionArguments::List(list) = &f.args {
            for clause in &list.clauses {
                if let ast::FunctionArgumentClause::OrderBy(items) = clause {
                    for item in items {
                        let e = output(bind_expr::bind(&item.expr, self)?)?;
                        order.push(sort_key(e, item));
                    }
                }
            }
        }
        // Compared as PostgreSQL compares them, past the casts binding added.
        let bare = |e: &Expr| -> Expr {
            let mut e = e.clone();
            while let Expr::Cast { arg, .. } = e {
                e = *arg;
            }
            e
        };
        if distinct && order.iter().any(|k| !args.iter().any(|a| bare(a) == bare(&k.expr))) {
            return Err(DbError::sql(
                SqlState::InvalidColumnReference,
                "in an aggregate with DISTINCT, ORDER BY expressions must appear in argument list",
            ));
        }
        Ok(AggCall { func, args, distinct, filter, order, ty })
    }

    /// Binds a subquery of an expression (a level above the current one).
    pub fn subquery(&mut self, q: &ast::Query) -> Result<(Rel, Vec<ResultColumn>)> {
        let bound = self.query(q)?;
        let columns = bound.result_columns();
        Ok((bound.rel, columns))
    }

    /// Binds a query.
    pub fn query(&mut self, q: &ast::Query) -> Result<Bound> {
        let Some(with) = &q.with else { return self.query_body(q) };
        let before = self.ctes.len();
        for cte in &with.cte_tables {
            let name = ident_name(&cte.alias.name);
            if self.ctes[before..].iter().any(|c| c.name() == name) {
                self.ctes.truncate(before);
                return Err(DbError::sql(
                    SqlState::DuplicateAlias,
                    format!("WITH query name \"{name}\" specified more than once"),
                ));
            }
            let columns = cte.alias.columns.iter().map(|c| ident_name(&c.name)).collect();
            self.ctes.push(Cte::Query { name, query: cte.query.clone(), columns, recursive: with.recursive });
        }
        let bound = self.query_body(q);
        self.ctes.truncate(before);
        bound
    }

    /// A WITH query named in FROM, if `name` is one in scope: bound as a subquery in FROM.
    fn cte_reference(&mut self, name: &str, alias: Option<&ast::TableAlias>) -> Result<Option<Rel>> {
        let Some(k) = self.ctes.iter().rposition(|c| c.name() == name) else { return Ok(None) };
        let (bound, names) = match self.ctes[k].clone() {
            Cte::Work { work, columns, .. } => {
                let out: Vec<OutColumn> = columns.iter().map(|(n, ty)| self.out_column(n, *ty)).collect();
                let rel = Rel::WorkTable { work, output: out.iter().map(|c| c.id).collect() };
                let names: Vec<String> = columns.into_iter().map(|(n, _)| n).collect();
                (Bound { rel, columns: out }, names)
            }
            Cte::Query { name, query, columns, recursive } => {
                // A WITH query sees those before it (and, recursive, itself), not those after.
                let later = self.ctes.split_off(k);
                let bound = if recursive { self.recursive_cte(&name, &query, &columns) } else { self.query(&query) };
                self.ctes.truncate(k);
                self.ctes.extend(later);
                let bound = bound?;
                too_many_names(&format!("WITH query \"{name}\""), bound.columns.len(), columns.len())?;
                let names: Vec<String> = bound
                    .columns
                    .iter()
                    .enumerate()
                    .map(|(i, c)| columns.get(i).cloned().unwrap_or_else(|| c.name.clone()))
                    .collect();
                (bound, names)
            }
        };
        let item_name = alias.map_or_else(|| name.to_string(), |a| ident_name(&a.name));
        self.add_query_item(item_name, &bound.columns, &names, alias)?;
        Ok(Some(bound.rel))
    }

    /// Adds a FROM item over stored columns (a table's, a catalog relation's), named
    /// `item_name`: each column gets a new id, and the alias may rename them. Returns the ids.
    fn add_stored_item(
        &mut self,
        item_name: String,
        stored: Vec<(String, DataType)>,
        alias: Option<&ast::TableAlias>,
    ) -> Result<Vec<ColumnId>> {
        let renamed = alias.map(|a| a.columns.as_slice()).unwrap_or_default();
        too_many_names(&format!("table \"{item_name}\""), stored.len(), renamed.len())?;
        let mut columns = Vec::with_capacity(stored.len());
        let mut output = Vec::with_capacity(stored.len() + 1);
        for (i, (name, ty)) in stored.into_iter().enumerate() {
            let name = renamed.get(i).map_or(name, |r| ident_name(&r.name));
            let id = self.new_column(format!("{item_name}.{name}"), ty);
            columns.push(ScopeColumn { name, id, ty, unqualified: true });
            output.push(id);
        }
        self.add_item(ScopeItem { name: item_name, columns })?;
        Ok(output)
    }

    /// Adds a FROM item over a bound query's output (a subquery, a view, a WITH query): named
    /// `item_name`, its columns called `names` unless the alias renames them.
    fn add_query_item(
        &mut self,
        item_name: String,
        columns: &[OutColumn],
        names: &[String],
        alias: Option<&ast::TableAlias>,
    ) -> Result<()> {
        let renamed = alias.map(|a| a.columns.as_slice()).unwrap_or_default();
        too_many_names(&format!("table \"{item_name}\""), columns.len(), renamed.len())?;
        let columns = columns
            .iter()
            .zip(names)
            .enumerate()
            .map(|(i, (c, n))| ScopeColumn {
                name: renamed.get(i).map_or_else(|| n.clone(), |r| ident_name(&r.name)),
                id: c.id,
                ty: c.ty,
                unqualified: true,
            })
            .collect();
        self.add_item(ScopeItem { name: item_name, columns })
    }

    /// A WITH RECURSIVE query: `base UNION [ALL] recursive`, the recursive term reading the
    /// query's own name as the work table. Any other form is an ordinary WITH query.
    fn recursive_cte(&mut self, name: &str, query: &ast::Query, columns: &[String]) -> Result<Bound> {
        let ast::SetExpr::SetOperation { op: ast::SetOperator::Union, set_quantifier, left, right } =
            query.body.as_ref()
        else {
            return self.query(query);
        };
        if query.order_by.is_some() || query.limit_clause.is_some() || query.with.is_some() {
            return Err(DbError::unsupported("ORDER BY, LIMIT or WITH in a recursive query"));
        }
        let all = match set_quantifier {
            ast::SetQuantifier::All => true,
            ast::SetQuantifier::Distinct | ast::SetQuantifier::None => false,
            other => return Err(DbError::unsupported(format!("UNION {other}"))),
        };
        let base = self.set_expr(left)?;
        let work = self.subquery_id();
        let names: Vec<String> = base
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| columns.get(i).cloned().unwrap_or_else(|| c.name.clone()))
            .collect();
        let work_columns = names.iter().cloned().zip(base.columns.iter().map(|c| c.ty)).collect();
        self.ctes.push(Cte::Work { name: name.to_string(), work, columns: work_columns });
        let recursive = self.set_expr(right);
        self.ctes.pop();
        let recursive = recursive?;
        if recursive.columns.len() != base.columns.len() {
            return Err(DbError::syntax("each UNION query must have the same number of columns"));
        }
        let types: Vec<DataType> = base.columns.iter().map(|c| c.ty).collect();
        for (i, (b, r)) in base.columns.iter().zip(&recursive.columns).enumerate() {
            if b.ty != r.ty && !crate::types::can_cast(r.ty, b.ty, CastContext::Implicit) {
                return Err(DbError::sql(
                    SqlState::DatatypeMismatch,
                    format!(
                        "recursive query \"{name}\" column {} has type {} in non-recursive term but type {} overall",
                        i + 1,
                        b.ty.sql_name(),
                        r.ty.sql_name()
                    ),
                ));
            }
        }
        let recursive_rel = self.cast_outputs(recursive.rel, &recursive.columns, &types)?;
        let columns: Vec<OutColumn> = names.iter().zip(&types).map(|(n, ty)| self.out_column(n, *ty)).collect();
        let output = columns.iter().map(|c| c.id).collect();
        let rel =
            Rel::RecursiveUnion { base: Box::new(base.rel), recursive: Box::new(recursive_rel), all, work, output };
        Ok(Bound { rel, columns })
    }

    fn query_body(&mut self, q: &ast::Query) -> Result<Bound> {
        if q.for_clause.is_some() || q.settings.is_some() || q.format_clause.is_some() || !q.pipe_operators.is_empty() {
            return Err(DbError::unsupported(format!("the query form \"{q}\"")));
        }
        let (limit, offset) = self.limit(q.limit_clause.as_ref(), q.fetch.as_ref())?;
        let order: &[ast::OrderByExpr] = match &q.order_by {
            None => &[],
            Some(o) => match &o.kind {
                ast::OrderByKind::Expressions(items) => items,
                ast::OrderByKind::All(_) => return Err(DbError::unsupported("ORDER BY ALL")),
            },
        };
        let lock = row_lock(&q.locks)?;
        if q.fetch.as_ref().is_some_and(|f| f.with_ties) {
            if order.is_empty() {
                return Err(DbError::syntax("WITH TIES cannot be specified without ORDER BY clause"));
            }
            let ast::SetExpr::Select(s) = q.body.as_ref() else {
                return Err(DbError::unsupported("FETCH ... WITH TIES over UNION, INTERSECT or EXCEPT"));
            };
            if lock.is_some() {
                return Err(DbError::unsupported("FETCH ... WITH TIES with FOR UPDATE/SHARE"));
            }
            self.with_ties = true;
            return self.select(s, order, (limit, offset), lock);
        }
        match q.body.as_ref() {
            ast::SetExpr::Select(s) => self.select(s, order, (limit, offset), lock),
            other => {
                if lock.is_some() {
                    return Err(DbError::sql(
                        SqlState::FeatureNotSupported,
                        "FOR UPDATE is not allowed with UNION/INTERSECT/EXCEPT",
                    ));
                }
                let bound = self.set_expr(other)?;
                self.order_outputs(bound, order, (limit, offset))
            }
        }
    }

    fn set_expr(&mut self, e: &ast::SetExpr) -> Result<Bound> {
        match e {
            ast::SetExpr::Select(s) => self.select(s, &[], (None, 0), None),
            ast::SetExpr::Query(q) => self.query(q),
            ast::SetExpr::Values(v) => self.values(v),
            ast::SetExpr::SetOperation { op, set_quantifier, left, right } => {
                self.set_operation(*op, *set_quantifier, left, right)
            }
            other => Err(DbError::unsupported(format!("the query form \"{}\"", first_words(&other.to_string())))),
        }
    }

    /// ORDER BY and LIMIT over a set operation's or VALUES' output columns.
    fn order_outputs(&mut self, bound: Bound, order: &[ast::OrderByExpr], limits: (Option<u64>, u64)) -> Result<Bound> {
        let mut rel = bound.rel;
        if !order.is_empty() {
            let mut keys = Vec::new();
            for item in order {
                let pos = match &item.expr {
                    ast::Expr::Value(v) if matches!(v.value, ast::Value::Number(..)) => {
                        ordinal(&v.value, bound.columns.len(), "ORDER BY")?
                    }
                    ast::Expr::Identifier(i) => {
                        let name = ident_name(i);
                        bound.columns.iter().position(|c| c.name == name).ok_or_else(|| {
                            DbError::sql(SqlState::UndefinedColumn, format!("column \"{name}\" does not exist"))
                        })?
                    }
                    _ => {
                        return Err(DbError::sql(
                            SqlState::FeatureNotSupported,
                            "invalid UNION/INTERSECT/EXCEPT ORDER BY clause",
                        )
                        .with_detail("Only result column names can be used, not expressions or functions."));
                    }
                };
                let c = &bound.columns[pos];
                keys.push(sort_key(Expr::Column { index: c.id, ty: c.ty }, item));
            }
            rel = Rel::Sort { input: Box::new(rel), keys };
        }
        Ok(Bound { rel: limit(rel, limits), columns: bound.columns })
    }

    fn values(&mut self, v: &ast::Values) -> Result<Bound> {
        self.levels.push(Level { aggregates: AggregateSlot::Forbidden("VALUES"), ..Level::new() });
        let rows = self.values_rows(v);
        self.levels.pop();
        let rows = rows?;
        let width = rows.first().map_or(0, Vec::len);
        let mut columns = Vec::with_capacity(width);
        for i in 0..width {
            let types: Vec<DataType> = rows.iter().map(|r| r[i].data_type()).collect();
            let ty = common_type(&types, "VALUES")?;
            let name = format!("column{}", i + 1);
            columns.push(self.out_column(&name, ty));
        }
        let rows = rows
            .into_iter()
            .map(|row| row.into_iter().zip(&columns).map(|(e, c)| cast(e, c.ty, CastContext::Implicit)).collect())
            .collect::<Result<Vec<Vec<Expr>>>>()?;
        let output = columns.iter().map(|c| c.id).collect();
        Ok(Bound { rel: Rel::Values { rows, output }, columns })
    }

    fn values_rows(&mut self, v: &ast::Values) -> Result<Vec<Vec<Expr>>> {
        let mut rows = Vec::with_capacity(v.rows.len());
        for row in &v.rows {
            if rows.first().is_some_and(|r: &Vec<Expr>| r.len() != row.content.len()) {
                return Err(DbError::syntax("VALUES lists must all be the same length"));
            }
            let mut exprs = Vec::with_capacity(row.content.len());
            for e in &row.content {
                exprs.push(bind_expr::bind(e, self)?);
            }
            rows.push(exprs);
        }
        Ok(rows)
    }

    fn set_operation(
        &mut self,
        op: ast::SetOperator,
        quantifier: ast::SetQuantifier,
        left: &ast::SetExpr,
        right: &ast::SetExpr,
    ) -> Result<Bound> {
        let (kind, word) = match op {
            ast::SetOperator::Union => (SetOpKind::Union, "UNION"),
            ast::SetOperator::Intersect => (SetOpKind::Intersect, "INTERSECT"),
            ast::SetOperator::Except | ast::SetOperator::Minus => (SetOpKind::Except, "EXCEPT"),
        };
        let all = match quantifier {
            ast::SetQuantifier::All => true,
            ast::SetQuantifier::Distinct | ast::SetQuantifier::None => false,
            other => return Err(DbError::unsupported(format!("{word} {other}"))),
        };
        let l = self.set_expr(left)?;
        let r = self.set_expr(right)?;
        if l.columns.len() != r.columns.len() {
            return Err(DbError::syntax(format!("each {word} query must have the same number of columns")));
        }
        let mut types = Vec::with_capacity(l.columns.len());
        for (a, b) in l.columns.iter().zip(&r.columns) {
            types.push(common_type(&[a.ty, b.ty], word)?);
        }
        let left = self.cast_outputs(l.rel, &l.columns, &types)?;
        let right = self.cast_outputs(r.rel, &r.columns, &types)?;
        let columns: Vec<OutColumn> =
            l.columns.iter().zip(&types).map(|(c, ty)| self.out_column(&c.name, *ty)).collect();
        let output = columns.iter().map(|c| c.id).collect();
        Ok(Bound { rel: Rel::SetOp { kind, all, left: Box::new(left), right: Box::new(right), output }, columns })
    }

    /// `rel` with its columns cast to `types` (a projection, if any differs).
    fn cast_outputs(&mut self, rel: Rel, columns: &[OutColumn], types: &[DataType]) -> Result<Rel> {
        if columns.iter().zip(types).all(|(c, t)| c.ty == *t) {
            return Ok(rel);
        }
        let mut items = Vec::with_capacity(columns.len());
        for (c, t) in columns.iter().zip(types) {
            items.push((c.name.clone(), cast(Expr::Column { index: c.id, ty: c.ty }, *t, CastContext::Implicit)?));
        }
        Ok(self.project(rel, items).0)
    }

    fn select(
        &mut self,
        s: &ast::Select,
        order: &[ast::OrderByExpr],
        limits: (Option<u64>, u64),
        lock: Option<RowLockClause>,
    ) -> Result<Bound> {
        check_select_clauses(s)?;
        self.levels.push(Level::new());
        let saved_mode = self.table_mode;
        self.table_mode = if lock.is_some() { LockMode::RowShare } else { LockMode::AccessShare };
        let bound = self.select_in_level(s, order, limits, lock);
        self.table_mode = saved_mode;
        self.levels.pop();
        bound
    }

    fn select_in_level(
        &mut self,
        s: &ast::Select,
        order: &[ast::OrderByExpr],
        limits: (Option<u64>, u64),
        lock: Option<RowLockClause>,
    ) -> Result<Bound> {
        if lock.is_some() {
            lockable_table(s)?;
        }
        let with_ties = std::mem::take(&mut self.with_ties);
        self.define_windows(&s.named_window)?;
        let mut rel = Rel::Values { rows: vec![Vec::new()], output: Vec::new() };
        for (i, item) in s.from.iter().enumerate() {
            let r = self.bind_from_item(item, lock.is_some())?;
            rel = if i == 0 { r } else { join_items(JoinKind::Inner, rel, r, None)? };
        }
        let locked_table = match (&rel, lock) {
            (Rel::Scan { table, .. }, Some(_)) => Some(table.as_ref().clone()),
            _ => None,
        };
        let level_ids: HashSet<ColumnId> =
            self.level().items.iter().flat_map(|i| i.columns.iter().map(|c| c.id)).collect();

        let mut where_clause = None;
        if let Some(w) = &s.selection {
            self.set_aggregates(AggregateSlot::Forbidden("WHERE"));
            let predicate = boolean(bind_expr::bind(w, self)?, "WHERE")?;
            where_clause = Some(predicate.clone());
            rel = Rel::Filter { input: Box::new(rel), predicate };
        }

        let group_asts: Vec<&ast::Expr> = match &s.group_by {
            ast::GroupByExpr::Expressions(exprs, modifiers) if modifiers.is_empty() => exprs.iter().collect(),
            ast::GroupByExpr::Expressions(..) => return Err(DbError::unsupported("GROUP BY ... WITH ROLLUP")),
            ast::GroupByExpr::All(_) => return Err(DbError::unsupported("GROUP BY ALL")),
        };
        self.set_aggregates(AggregateSlot::Forbidden("GROUP BY"));
        // Every grouping expression once (`groups`), and with ROLLUP, CUBE or GROUPING SETS the
        // sets of them each grouping uses (`sets`, positions in `groups`).
        let mut groups: Vec<Expr> = Vec::new();
        let mut sets: Option<Vec<Vec<usize>>> = None;
        let mut item_sets: Vec<Vec<Vec<usize>>> = Vec::new();
        for g in group_asts {
            let (lists, kind): (&[Vec<ast::Expr>], u8) = match g {
                ast::Expr::Rollup(lists) => (lists, 1),
                ast::Expr::Cube(lists) => (lists, 2),
                ast::Expr::GroupingSets(lists) => (lists, 3),
                plain => {
                    let at = self.group_key(plain, &s.projection, &mut groups)?;
                    item_sets.push(vec![vec![at]]);
                    continue;
                }
            };
            let mut elements: Vec<Vec<usize>> = Vec::with_capacity(lists.len());
            for list in lists {
                let mut element = Vec::with_capacity(list.len());
                for e in list {
                    let at = self.group_key(e, &s.projection, &mut groups)?;
                    if !element.contains(&at) {
                        element.push(at);
                    }
                }
                elements.push(element);
            }
            if kind == 2 && elements.len() > 12 {
                return Err(DbError::sql(SqlState::ProgramLimitExceeded, "CUBE is limited to 12 elements"));
            }
            item_sets.push(grouping_sets(kind, elements));
            sets = Some(Vec::new());
        }
        if sets.is_some() {
            // The sets of the whole GROUP BY: each item's sets crossed with the others'.
            let mut crossed: Vec<Vec<usize>> = vec![Vec::new()];
            for item in &item_sets {
                crossed = crossed
                    .iter()
                    .flat_map(|prefix| {
                        item.iter().map(move |set| {
                            let mut joined = prefix.clone();
                            joined.extend(set.iter().filter(|at| !prefix.contains(at)));
                            joined
                        })
                    })
                    .collect();
            }
            if crossed.len() > 4096 {
                return Err(DbError::sql(
                    SqlState::StatementTooComplex,
                    "too many grouping sets present (maximum 4096)",
                ));
            }
            sets = Some(crossed);
        }

        self.set_aggregates(AggregateSlot::Allowed(Vec::new()));
        self.level().windows = Some(Vec::new());
        self.level().set_returning = Some(Vec::new());
        let mut items = self.select_list(&s.projection)?;
        let mut set_returning = self.level().set_returning.take().unwrap_or_default();
        let select_windows = self.level().windows.take().unwrap_or_default();
        let mut having =
            s.having.as_ref().map(|h| bind_expr::bind(h, self).and_then(|e| boolean(e, "HAVING"))).transpose()?;
        self.level().windows = Some(select_windows);
        let mut targets = Vec::with_capacity(order.len());
        for o in order {
            targets.push((self.order_target(&o.expr, &items)?, o));
        }
        // DISTINCT ON's expressions resolve as ORDER BY items do (output names, positions),
        // where aggregates are allowed too.
        let mut distinct_on = match &s.distinct {
            Some(ast::Distinct::On(on)) => {
                Some(on.iter().map(|e| self.order_target(e, &items)).collect::<Result<Vec<_>>>()?)
            }
            _ => None,
        };
        let mut windows = self.level().windows.take().unwrap_or_default();
        let AggregateSlot::Allowed(aggregates) = self.set_aggregates(AggregateSlot::Forbidden("this context")) else {
            return Err(DbError::Internal("the aggregate slot was lost".into()));
        };

        if !groups.is_empty() || !aggregates.is_empty() || having.is_some() || !self.level().grouping.is_empty() {
            if lock.is_some() {
                let what = if groups.is_empty() { "aggregate functions" } else { "GROUP BY clause" };
                return Err(DbError::sql(
                    SqlState::FeatureNotSupported,
                    format!("FOR UPDATE is not allowed with {what}"),
                ));
            }
            let mut keyed = Vec::with_capacity(groups.len());
            let mut output = Vec::with_capacity(groups.len() + aggregates.len());
            for g in &groups {
                let id = self.new_column("?column?".into(), g.data_type());
                keyed.push((g.clone(), id));
                output.push(id);
            }
            let mut calls = Vec::with_capacity(aggregates.len());
            for (id, call) in aggregates {
                output.push(id);
                calls.push(call);
            }
            let grouping = std::mem::take(&mut self.level().grouping);
            rel = match &sets {
                None => {
                    let mut output = output;
                    for (_, args) in &grouping {
                        check_grouping_args(args, &groups)?;
                    }
                    let aggregate =
                        Rel::Aggregate { input: Box::new(rel), groups, aggregates: calls, output: output.clone() };
                    if grouping.is_empty() {
                        aggregate
                    } else {
                        // Without grouping sets every grouping() is 0.
                        let mut exprs: Vec<Expr> =
                            output.iter().map(|&id| Expr::Column { index: id, ty: self.types[id] }).collect();
                        for (id, _) in &grouping {
                            exprs.push(Expr::literal(Value::Int4(0)));
                            output.push(*id);
                        }
                        Rel::Project { input: Box::new(aggregate), exprs, output }
                    }
                }
                Some(sets) => self.grouping_sets_union(rel, &groups, calls, &output, sets, &grouping)?,
            };
            for (_, e) in &mut items {
                *e = self.regroup(std::mem::replace(e, Expr::literal(Value::Null)), &keyed, &level_ids)?;
            }
            having = having.map(|h| self.regroup(h, &keyed, &level_ids)).transpose()?;
            for t in targets.iter_mut().map(|(t, _)| t).chain(distinct_on.iter_mut().flatten()) {
                if let OrderTarget::Expr(e) = t {
                    *e = self.regroup(std::mem::replace(e, Expr::literal(Value::Null)), &keyed, &level_ids)?;
                }
            }
            for e in set_returning.iter_mut().flat_map(|(_, call)| call.args.iter_mut()) {
                *e = self.regroup(std::mem::replace(e, Expr::literal(Value::Null)), &keyed, &level_ids)?;
            }
            for (_, call) in &mut windows {
                let mut exprs: Vec<&mut Expr> = call.args.iter_mut().chain(call.partition.iter_mut()).collect();
                exprs.extend(call.order.iter_mut().map(|k| &mut k.expr));
                exprs.extend(call.filter.iter_mut());
                for e in exprs {
                    *e = self.regroup(std::mem::replace(e, Expr::literal(Value::Null)), &keyed, &level_ids)?;
                }
            }
        }
        if let Some(predicate) = having {
            rel = Rel::Filter { input: Box::new(rel), predicate };
        }
        if !windows.is_empty() {
            if lock.is_some() {
                return Err(DbError::sql(
                    SqlState::FeatureNotSupported,
                    "FOR UPDATE is not allowed with window functions",
                ));
            }
            let mut output = rel.output();
            output.extend(windows.iter().map(|(id, _)| *id));
            let calls = windows.into_iter().map(|(_, c)| c).collect();
            rel = Rel::Window { input: Box::new(rel), calls, output };
        }

        if !set_returning.is_empty() {
            if lock.is_some() {
                return Err(DbError::sql(
                    SqlState::FeatureNotSupported,
                    "FOR UPDATE is not allowed with set-returning functions in the target list",
                ));
            }
            let (output, calls) = set_returning.into_iter().unzip();
            let function = Rel::Function { calls, ordinality: false, output };
            rel =
                Rel::Lateral { kind: JoinKind::Inner, left: Box::new(rel), right: Box::new(function), condition: None };
        }
        if let (Some(lock), Some(table)) = (lock, locked_table) {
            return self.finish_locking(rel, items, targets, limits, (lock, table, where_clause), s);
        }

        let distinct = matches!(s.distinct, Some(ast::Distinct::Distinct));
        let visible = items.len();
        let mut exprs: Vec<(String, Expr)> = items;
        let position_of = |target: OrderTarget, exprs: &mut Vec<(String, Expr)>| match target {
            OrderTarget::Item(i) => i,
            OrderTarget::Expr(e) => match exprs.iter().position(|(_, x)| *x == e) {
                Some(p) => p,
                None => {
                    exprs.push(("?column?".into(), e));
                    exprs.len() - 1
                }
            },
        };
        let distinct_on: Option<Vec<usize>> =
            distinct_on.map(|on| on.into_iter().map(|t| position_of(t, &mut exprs)).collect());
        let mut keys = Vec::with_capacity(targets.len());
        for (target, o) in targets {
            let pos = match target {
                OrderTarget::Item(i) => i,
                OrderTarget::Expr(e) => match exprs.iter().position(|(_, x)| *x == e) {
                    Some(p) => p,
                    None if distinct => {
                        return Err(DbError::sql(
                            SqlState::InvalidColumnReference,
                            "for SELECT DISTINCT, ORDER BY expressions must appear in select list",
                        ));
                    }
                    None => {
                        exprs.push(("?column?".into(), e));
                        exprs.len() - 1
                    }
                },
            };
            keys.push((pos, o));
        }
        let (projected, mut columns) = self.project(rel, exprs);
        rel = projected;
        if distinct {
            rel = Rel::Distinct { input: Box::new(rel) };
        }
        let column = |pos: usize| Expr::Column { index: columns[pos].id, ty: columns[pos].ty };
        let mut keys: Vec<SortKey> = keys.into_iter().map(|(pos, o)| sort_key(column(pos), o)).collect();
        // DISTINCT ON and WITH TIES add columns of their own: the output is projected again.
        let ranked = distinct_on.is_some() || with_ties;
        if let Some(on) = distinct_on {
            let (with_rank, sort) = self.distinct_on(rel, &columns, &on, keys)?;
            rel = with_rank;
            keys = sort;
        }
        let mut limits = limits;
        if with_ties && limits.0.is_some() {
            rel = self.with_ties(rel, &keys, limits)?;
            limits = (None, 0);
        }
        if !keys.is_empty() {
            rel = Rel::Sort { input: Box::new(rel), keys };
        }
        rel = limit(rel, limits);
        if columns.len() > visible || ranked {
            columns.truncate(visible);
            let exprs = columns.iter().map(|c| Expr::Column { index: c.id, ty: c.ty }).collect();
            rel = Rel::Project { input: Box::new(rel), exprs, output: columns.iter().map(|c| c.id).collect() };
        }
        Ok(Bound { rel, columns })
    }

    /// `DISTINCT ON (exprs)` over the projected `rel` (`on` holds the expressions' positions
    /// among `columns`): the first row of each set of rows equal on them, in ORDER BY's order.
    /// ORDER BY must begin with those expressions (42P10 otherwise); any it leaves out are
    /// sorted on after its leading ones. Run as PostgreSQL's result would be read: number the
    /// rows of each set in that order (`row_number()`), keep the first. Returns the plan and
    /// the sort its output takes.
    fn distinct_on(
        &mut self,
        rel: Rel,
        columns: &[OutColumn],
        on: &[usize],
        keys: Vec<SortKey>,
    ) -> Result<(Rel, Vec<SortKey>)> {
        let column = |pos: usize| Expr::Column { index: columns[pos].id, ty: columns[pos].ty };
        let on_exprs: Vec<Expr> = on.iter().map(|&p| column(p)).collect();
        let leading = keys.iter().take_while(|k| on_exprs.contains(&k.expr)).count();
        let missing: Vec<&Expr> = on_exprs.iter().filter(|e| !keys[..leading].iter().any(|k| k.expr == **e)).collect();
        if !missing.is_empty() && leading < keys.len() {
            return Err(DbError::sql(
                SqlState::InvalidColumnReference,
                "SELECT DISTINCT ON expressions must match initial ORDER BY expressions",
            ));
        }
        let mut sort = keys;
        for e in missing {
            if !sort.iter().any(|k| k.expr == *e) {
                sort.push(SortKey { expr: e.clone(), descending: false, nulls_first: false });
            }
        }
        let (windowed, ids) = self.numbered(rel, &[WindowFunc::RowNumber], on_exprs, &sort);
        let first = bind_expr::binary(
            crate::expr::BinaryOp::Eq,
            Expr::Column { index: ids[0], ty: DataType::Int8 },
            Expr::literal(Value::Int8(1)),
        )?;
        Ok((Rel::Filter { input: Box::new(windowed), predicate: first }, sort))
    }

    /// `rel` with a column for each of `funcs` (row_number(), rank(): int8, no arguments) over
    /// `partition` in `order`, and the ids of those columns.
    fn numbered(
        &mut self,
        rel: Rel,
        funcs: &[WindowFunc],
        partition: Vec<Expr>,
        order: &[SortKey],
    ) -> (Rel, Vec<ColumnId>) {
        let mut output = rel.output();
        let mut calls = Vec::with_capacity(funcs.len());
        let mut ids = Vec::with_capacity(funcs.len());
        for &func in funcs {
            let id = self.new_column("?column?".into(), DataType::Int8);
            calls.push(WindowCall {
                func,
                args: Vec::new(),
                partition: partition.clone(),
                order: order.to_vec(),
                frame: Frame { rows: false, start: FrameBound::UnboundedPreceding, end: FrameBound::CurrentRow },
                filter: None,
                ty: DataType::Int8,
            });
            output.push(id);
            ids.push(id);
        }
        (Rel::Window { input: Box::new(rel), calls, output }, ids)
    }

    /// The window the WINDOW clause names `name` (42704 if none).
    fn named_window(&mut self, name: &str) -> Result<ast::WindowSpec> {
        self.level()
            .named_windows
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, spec)| spec.clone())
            .ok_or_else(|| DbError::sql(SqlState::UndefinedObject, format!("window \"{name}\" does not exist")))
    }

    /// A window specification with the window it names (`OVER (w ORDER BY x)`) merged in, by
    /// PostgreSQL's rules: PARTITION BY comes from the named window only, ORDER BY from one of
    /// the two, and a named window with a frame cannot be copied (42P20).
    fn resolve_window(&mut self, spec: &ast::WindowSpec) -> Result<ast::WindowSpec> {
        let Some(base_name) = &spec.window_name else { return Ok(spec.clone()) };
        let name = ident_name(base_name);
        let base = self.named_window(&name)?;
        let refuse = |what: String| Err(DbError::sql(SqlState::WindowingError, what));
        if !spec.partition_by.is_empty() {
            return refuse(format!("cannot override PARTITION BY clause of window \"{name}\""));
        }
        if !spec.order_by.is_empty() && !base.order_by.is_empty() {
            return refuse(format!("cannot override ORDER BY clause of window \"{name}\""));
        }
        if base.window_frame.is_some() {
            return Err(DbError::sql(
                SqlState::WindowingError,
                format!("cannot copy window \"{name}\" because it has a frame clause"),
            )
            .with_hint("Omit the parentheses in this OVER clause."));
        }
        Ok(ast::WindowSpec {
            window_name: None,
            partition_by: base.partition_by,
            order_by: if spec.order_by.is_empty() { base.order_by } else { spec.order_by.clone() },
            window_frame: spec.window_frame.clone(),
        })
    }

    /// Resolves the WINDOW clause into the current level, each window after those it may name.
    fn define_windows(&mut self, definitions: &[ast::NamedWindowDefinition]) -> Result<()> {
        for ast::NamedWindowDefinition(name, expr) in definitions {
            let name = ident_name(name);
            if self.level().named_windows.iter().any(|(n, _)| *n == name) {
                return Err(DbError::sql(SqlState::WindowingError, format!("window \"{name}\" is already defined")));
            }
            let spec = match expr {
                ast::NamedWindowExpr::WindowSpec(spec) => self.resolve_window(spec)?,
                ast::NamedWindowExpr::NamedWindow(other) => self.named_window(&ident_name(other))?,
            };
            self.level().named_windows.push((name, spec));
        }
        Ok(())
    }

    /// `OFFSET m FETCH FIRST n ROWS WITH TIES` over `rel`, whose rows are to be sorted by
    /// `keys`: the rows after the first m up to row m + n and the rows tied with it, which are
    /// those numbered past m whose rank (the position of the first of their ties) is at most
    /// m + n.
    fn with_ties(&mut self, rel: Rel, keys: &[SortKey], (limit, offset): (Option<u64>, u64)) -> Result<Rel> {
        let Some(limit) = limit else { return Ok(rel) };
        if limit == 0 {
            return Ok(Rel::Limit { input: Box::new(rel), limit: Some(0), offset: 0 });
        }
        let (windowed, ids) = self.numbered(rel, &[WindowFunc::RowNumber, WindowFunc::Rank], Vec::new(), keys);
        let count = |v: u64| Expr::literal(Value::Int8(i64::try_from(v).unwrap_or(i64::MAX)));
        let column = |id| Expr::Column { index: id, ty: DataType::Int8 };
        let after_offset = bind_expr::binary(crate::expr::BinaryOp::Gt, column(ids[0]), count(offset))?;
        let within =
            bind_expr::binary(crate::expr::BinaryOp::LtEq, column(ids[1]), count(offset.saturating_add(limit)))?;
        let predicate = bind_expr::binary(crate::expr::BinaryOp::And, after_offset, within)?;
        Ok(Rel::Filter { input: Box::new(windowed), predicate })
    }

    /// A plain grouping expression: its position in `groups` (added if new).
    fn group_key(&mut self, g: &ast::Expr, projection: &[ast::SelectItem], groups: &mut Vec<Expr>) -> Result<usize> {
        let target = self.group_target(g, projection)?;
        let bound = output(bind_expr::bind(target, self)?)?;
        Ok(match groups.iter().position(|x| *x == bound) {
            Some(at) => at,
            None => {
                groups.push(bound);
                groups.len() - 1
            }
        })
    }

    /// `grouping(args)`: a column whose value each grouping set gives (a bit per argument, set
    /// when the argument is not grouped on there), where aggregates are allowed.
    pub fn grouping(&mut self, args: Vec<Expr>) -> Result<Expr> {
        if !matches!(self.level().aggregates, AggregateSlot::Allowed(_)) {
            return Err(DbError::sql(SqlState::GroupingError, "grouping operations are not allowed here"));
        }
        if args.len() > 31 {
            return Err(DbError::sql(SqlState::ProgramLimitExceeded, "GROUPING must have fewer than 32 arguments"));
        }
        let id = self.new_column("grouping".into(), DataType::Int4);
        self.level().grouping.push((id, args));
        Ok(Expr::Column { index: id, ty: DataType::Int4 })
    }

    /// GROUP BY with grouping sets: one aggregate of the input per set, each giving NULL for
    /// the keys it does not group on (and its grouping() values), joined by UNION ALL into the
    /// columns `output` (the keys, then the aggregates) and the grouping() columns. The input
    /// is read once per set; PostgreSQL reads it once and keeps a table per set.
    fn grouping_sets_union(
        &mut self,
        input: Rel,
        groups: &[Expr],
        calls: Vec<AggCall>,
        output: &[ColumnId],
        sets: &[Vec<usize>],
        grouping: &[(ColumnId, Vec<Expr>)],
    ) -> Result<Rel> {
        for (_, args) in grouping {
            check_grouping_args(args, groups)?;
        }
        let mut branches = Vec::with_capacity(sets.len());
        for set in sets {
            let keys: Vec<Expr> = set.iter().map(|&at| groups[at].clone()).collect();
            let ids: Vec<ColumnId> = keys
                .iter()
                .map(|k| k.data_type())
                .chain(calls.iter().map(|c| c.ty))
                .map(|ty| self.new_column("?column?".into(), ty))
                .collect();
            let aggregate = Rel::Aggregate {
                input: Box::new(input.clone()),
                groups: keys,
                aggregates: calls.clone(),
                output: ids.clone(),
            };
            let mut exprs = Vec::with_capacity(output.len() + grouping.len());
            for (i, g) in groups.iter().enumerate() {
                exprs.push(match set.iter().position(|&at| at == i) {
                    Some(k) => Expr::Column { index: ids[k], ty: g.data_type() },
                    None => cast(Expr::literal(Value::Null), g.data_type(), CastContext::Explicit)?,
                });
            }
            for (c, call) in calls.iter().enumerate() {
                exprs.push(Expr::Column { index: ids[set.len() + c], ty: call.ty });
            }
            for (_, args) in grouping {
                let mut bits = 0i32;
                for a in args {
                    let grouped = set.iter().any(|&at| groups[at] == *a);
                    bits = (bits << 1) | i32::from(!grouped);
                }
                exprs.push(Expr::literal(Value::Int4(bits)));
            }
            let branch_output = exprs.iter().map(|e| self.new_column("?column?".into(), e.data_type())).collect();
            branches.push(Rel::Project { input: Box::new(aggregate), exprs, output: branch_output });
        }
        let mut all_output: Vec<ColumnId> = output.to_vec();
        all_output.extend(grouping.iter().map(|(id, _)| *id));
        let mut branches = branches.into_iter();
        let mut rel = branches.next().ok_or_else(|| DbError::Internal("no grouping sets".into()))?;
        for branch in branches {
            let ids = rel.output().iter().map(|&id| self.new_column("?column?".into(), self.types[id])).collect();
            rel = Rel::SetOp {
                kind: SetOpKind::Union,
                all: true,
                left: Box::new(rel),
                right: Box::new(branch),
                output: ids,
            };
        }
        // The last union (or the only branch) gives the query's column ids.
        Ok(match rel {
            Rel::SetOp { kind, all, left, right, .. } => Rel::SetOp { kind, all, left, right, output: all_output },
            Rel::Project { input, exprs, .. } => Rel::Project { input, exprs, output: all_output },
            other => other,
        })
    }

    /// FOR SHARE / FOR UPDATE: sort the table's rows, lock them in that order (OFFSET and
    /// LIMIT count locked rows), then project.
    fn finish_locking(
        &mut self,
        mut rel: Rel,
        items: Vec<(String, Expr)>,
        targets: Vec<(OrderTarget, &ast::OrderByExpr)>,
        limits: (Option<u64>, u64),
        (lock, table, filter): (RowLockClause, TableDef, Option<Expr>),
        s: &ast::Select,
    ) -> Result<Bound> {
        if s.distinct.is_some() {
            return Err(DbError::sql(SqlState::FeatureNotSupported, "FOR UPDATE is not allowed with DISTINCT clause"));
        }
        let keys: Vec<SortKey> = targets
            .into_iter()
            .map(|(t, o)| {
                let e = match t {
                    OrderTarget::Item(i) => items[i].1.clone(),
                    OrderTarget::Expr(e) => e,
                };
                sort_key(e, o)
            })
            .collect();
        if !keys.is_empty() {
            rel = Rel::Sort { input: Box::new(rel), keys };
        }
        rel = Rel::LockRows { input: Box::new(rel), table: std::sync::Arc::new(table), filter, lock };
        rel = limit(rel, limits);
        let (rel, columns) = self.project(rel, items);
        Ok(Bound { rel, columns })
    }

    /// An expression of a grouped query rewritten over the group keys and aggregates: a
    /// subexpression equal to a group key becomes that key's column; a column of this
    /// query's FROM left over is 42803.
    fn regroup(&self, e: Expr, keys: &[(Expr, ColumnId)], level_ids: &HashSet<ColumnId>) -> Result<Expr> {
        if let Some((k, id)) = keys.iter().find(|(k, _)| *k == e) {
            return Ok(Expr::Column { index: *id, ty: k.data_type() });
        }
        match e {
            Expr::Column { index, .. } if level_ids.contains(&index) => Err(DbError::sql(
                SqlState::GroupingError,
                format!(
                    "column \"{}\" must appear in the GROUP BY clause or be used in an aggregate function",
                    self.names[index]
                ),
            )),
            mut other => {
                for child in other.children_mut() {
                    let taken = std::mem::replace(child, Expr::literal(Value::Null));
                    *child = self.regroup(taken, keys, level_ids)?;
                }
                Ok(other)
            }
        }
    }

    /// A GROUP BY item: an input expression, or a select-list position or output name.
    fn group_target<'a>(&self, g: &'a ast::Expr, projection: &'a [ast::SelectItem]) -> Result<&'a ast::Expr> {
        let item_expr = |i: usize| -> Result<&'a ast::Expr> {
            match &projection[i] {
                ast::SelectItem::UnnamedExpr(e) | ast::SelectItem::ExprWithAlias { expr: e, .. } => Ok(e),
                _ => Err(DbError::unsupported("GROUP BY a position holding *")),
            }
        };
        match g {
            ast::Expr::Value(v) if matches!(v.value, ast::Value::Number(..)) => {
                item_expr(ordinal(&v.value, projection.len(), "GROUP BY")?)
            }
            ast::Expr::Identifier(i) if self.column(None, &ident_name(i)).is_err() => {
                let name = ident_name(i);
                let aliased = projection.iter().position(
                    |p| matches!(p, ast::SelectItem::ExprWithAlias { alias, .. } if ident_name(alias) == name),
                );
                match aliased {
                    Some(pos) => item_expr(pos),
                    None => Ok(g),
                }
            }
            _ => Ok(g),
        }
    }

    fn order_target(&mut self, e: &ast::Expr, items: &[(String, Expr)]) -> Result<OrderTarget> {
        match e {
            ast::Expr::Value(v) if matches!(v.value, ast::Value::Number(..)) => {
                Ok(OrderTarget::Item(ordinal(&v.value, items.len(), "ORDER BY")?))
            }
            ast::Expr::Identifier(i) => {
                let name = ident_name(i);
                let mut found = items.iter().enumerate().filter(|(_, (n, _))| *n == name);
                match (found.next(), found.next()) {
                    (Some((pos, _)), None) => Ok(OrderTarget::Item(pos)),
                    (Some((first, (_, a))), Some((_, (_, b)))) => {
                        if a == b {
                            Ok(OrderTarget::Item(first))
                        } else {
                            Err(DbError::sql(SqlState::AmbiguousColumn, format!("ORDER BY \"{name}\" is ambiguous")))
                        }
                    }
                    _ => Ok(OrderTarget::Expr(output(bind_expr::bind(e, self)?)?)),
                }
            }
            other => Ok(OrderTarget::Expr(output(bind_expr::bind(other, self)?)?)),
        }
    }

    fn select_list(&mut self, projection: &[ast::SelectItem]) -> Result<Vec<(String, Expr)>> {
        let mut items = Vec::new();
        for item in projection {
            match item {
                ast::SelectItem::Wildcard(_) => {
                    let columns: Vec<(String, Expr)> = self
                        .level()
                        .items
                        .iter()
                        .flat_map(|i| i.columns.iter().filter(|c| c.unqualified))
                        .map(|c| (c.name.clone(), Expr::Column { index: c.id, ty: c.ty }))
                        .collect();
                    if self.level().items.is_empty() {
                        return Err(DbError::syntax("SELECT * with no tables specified is not valid"));
                    }
                    items.extend(columns);
                }
                ast::SelectItem::QualifiedWildcard(ast::SelectItemQualifiedWildcardKind::ObjectName(name), _) => {
                    let q = name.0.last().and_then(|p| p.as_ident()).map(ident_name).unwrap_or_default();
                    let level = self.level();
                    let Some(item) = level.items.iter().find(|i| i.name == q) else {
                        return Err(DbError::sql(
                            SqlState::UndefinedTable,
                            format!("missing FROM-clause entry for table \"{q}\""),
                        ));
                    };
                    items.extend(item.columns.iter().map(|c| (c.name.clone(), Expr::Column { index: c.id, ty: c.ty })));
                }
                ast::SelectItem::UnnamedExpr(e) => {
                    let bound = output(bind_expr::bind(e, self)?)?;
                    items.push((output_name(e, &bound), bound));
                }
                ast::SelectItem::ExprWithAlias { expr, alias } => {
                    let bound = output(bind_expr::bind(expr, self)?)?;
                    items.push((ident_name(alias), bound));
                }
                other => return Err(DbError::unsupported(format!("the select item {other}"))),
            }
        }
        Ok(items)
    }

    pub(crate) fn bind_from_item(&mut self, item: &ast::TableWithJoins, tid: bool) -> Result<Rel> {
        let mut rel = self.table_factor(&item.relation, tid)?;
        for join in &item.joins {
            let left_items = self.level().items.len();
            let right = self.table_factor(&join.relation, false)?;
            use ast::JoinOperator as J;
            let (kind, constraint) = match &join.join_operator {
                J::Join(c) | J::Inner(c) => (JoinKind::Inner, c),
                J::Left(c) | J::LeftOuter(c) => (JoinKind::Left, c),
                J::Right(c) | J::RightOuter(c) => (JoinKind::Right, c),
                J::FullOuter(c) => (JoinKind::Full, c),
                J::CrossJoin(c) => (JoinKind::Inner, c),
                other => return Err(DbError::unsupported(format!("the join {other:?}"))),
            };
            let condition = match constraint {
                ast::JoinConstraint::None => None,
                ast::JoinConstraint::On(e) => {
                    self.set_aggregates(AggregateSlot::Forbidden("JOIN conditions"));
                    Some(boolean(bind_expr::bind(e, self)?, "JOIN/ON")?)
                }
                ast::JoinConstraint::Using(names) => {
                    let names = names
                        .iter()
                        .map(|n| n.0.last().and_then(|p| p.as_ident()).map(ident_name).unwrap_or_default())
                        .collect::<Vec<_>>();
                    self.using(&names, left_items, kind)?
                }
                ast::JoinConstraint::Natural => {
                    let level = self.level();
                    let right_names: Vec<String> = level.items[left_items..]
                        .iter()
                        .flat_map(|i| i.columns.iter().filter(|c| c.unqualified).map(|c| c.name.clone()))
                        .collect();
                    let names: Vec<String> = level.items[..left_items]
                        .iter()
                        .flat_map(|i| i.columns.iter().filter(|c| c.unqualified).map(|c| c.name.clone()))
                        .filter(|n| right_names.contains(n))
                        .collect();
                    self.using(&names, left_items, kind)?
                }
            };
            rel = join_items(kind, rel, right, condition)?;
        }
        Ok(rel)
    }

    /// `USING (names)`: the equalities, and each name then found unqualified once (the left
    /// side's column; the right side's for a RIGHT join).
    fn using(&mut self, names: &[String], left_items: usize, kind: JoinKind) -> Result<Option<Expr>> {
        let mut condition: Option<Expr> = None;
        for name in names {
            let find = |items: &[ScopeItem], side: &str| -> Result<(ColumnId, DataType)> {
                let mut found = items.iter().flat_map(|i| &i.columns).filter(|c| c.unqualified && c.name == *name);
                match (found.next(), found.next()) {
                    (Some(c), None) => Ok((c.id, c.ty)),
                    (Some(_), Some(_)) => Err(DbError::sql(
                        SqlState::AmbiguousColumn,
                        format!("common column name \"{name}\" appears more than once in {side} table"),
                    )),
                    _ => Err(DbError::sql(
                        SqlState::UndefinedColumn,
                        format!("column \"{name}\" specified in USING clause does not exist in {side} table"),
                    )),
                }
            };
            let level = self.level();
            let (l, lt) = find(&level.items[..left_items], "left")?;
            let (r, rt) = find(&level.items[left_items..], "right")?;
            let hide = if kind == JoinKind::Right { l } else { r };
            for c in level.items.iter_mut().flat_map(|i| i.columns.iter_mut()) {
                if c.id == hide {
                    c.unqualified = false;
                }
            }
            let eq = bind_expr::binary(
                crate::expr::BinaryOp::Eq,
                Expr::Column { index: l, ty: lt },
                Expr::Column { index: r, ty: rt },
            )?;
            condition = Some(match condition {
                None => eq,
                Some(c) => bind_expr::binary(crate::expr::BinaryOp::And, c, eq)?,
            });
        }
        Ok(condition)
    }

    fn add_item(&mut self, item: ScopeItem) -> Result<()> {
        let level = self.level();
        if level.items.iter().any(|i| i.name == item.name) {
            return Err(DbError::sql(
                SqlState::DuplicateAlias,
                format!("table name \"{}\" specified more than once", item.name),
            ));
        }
        level.items.push(item);
        Ok(())
    }

    fn table_factor(&mut self, factor: &ast::TableFactor, tid: bool) -> Result<Rel> {
        match factor {
            ast::TableFactor::Table { name, alias, args: None, with_hints, version: None, sample: None, .. }
                if with_hints.is_empty() =>
            {
                if let Some(catalog_name) = catalog_relation_name(name) {
                    return self.catalog_relation(&catalog_name, alias.as_ref());
                }
                let table_name = crate::binder::table_name(name)?;
                if name.0.len() == 1
                    && let Some(rel) = self.cte_reference(&table_name.name, alias.as_ref())?
                {
                    if tid {
                        return Err(DbError::unsupported("FOR UPDATE on a WITH query"));
                    }
                    return Ok(rel);
                }
                let mode = self.table_mode;
                let Some(table) = access::open_table(self.ctx()?, &table_name, mode, WaitPolicy::Block)? else {
                    return self.view(&table_name, alias.as_ref(), tid);
                };
                let item_name = alias.as_ref().map_or_else(|| table.name.clone(), |a| ident_name(&a.name));
                let stored = table.schema.columns.iter().map(|c| (c.name.clone(), c.data_type)).collect();
                let mut output = self.add_stored_item(item_name, stored, alias.as_ref())?;
                // FOR UPDATE / FOR SHARE need UPDATE as well, as in PostgreSQL.
                let required = if tid { &[Privilege::Select, Privilege::Update][..] } else { &[Privilege::Select] };
                let mut request = RelationAccess::new(ObjectRef::table(&table), PrivilegeSet::of(required));
                request.column_ids = output.clone();
                request.check_as = self.check_as.last().cloned();
                crate::acl::note_relation(self.ctx()?, request);
                let columns: Vec<(String, ColumnId, DataType)> = table
                    .schema
                    .columns
                    .iter()
                    .zip(&output)
                    .map(|(c, id)| (c.name.clone(), *id, c.data_type))
                    .collect();
                if tid {
                    output.push(self.new_column("ctid".into(), DataType::Int8));
                }
                // Row-level security: the policies' USING, as the session's user (or the
                // owner of the view being expanded) sees them.
                let as_user = self.check_as.last().cloned();
                let policies = crate::row_security::filter_for(
                    self.ctx()?,
                    &table,
                    crate::row_security::PolicyCommand::Select,
                    false,
                    as_user.as_deref(),
                )?;
                let name = table.name.clone();
                let scan = Rel::Scan {
                    table: std::sync::Arc::new(table),
                    output,
                    filter: None,
                    access: crate::plan::Access::SeqScan,
                    tid,
                    needed: None,
                };
                match policies {
                    None => Ok(scan),
                    Some(filter) => {
                        let predicate = self.bind_policy(&name, columns, &filter)?;
                        Ok(Rel::Filter { input: Box::new(scan), predicate })
                    }
                }
            }
            ast::TableFactor::Table {
                name, alias, args: Some(args), with_hints, version: None, sample: None, ..
            } if with_hints.is_empty() && args.settings.is_none() => {
                let ordinality = matches!(factor, ast::TableFactor::Table { with_ordinality: true, .. });
                self.function_item(name, &args.args, ordinality, alias.as_ref())
            }
            ast::TableFactor::Function { name, args, with_ordinality, alias, .. } => {
                self.function_item(name, args, *with_ordinality, alias.as_ref())
            }
            ast::TableFactor::UNNEST { alias, array_exprs, with_offset: false, with_ordinality, .. } => {
                let [array] = array_exprs.as_slice() else {
                    return Err(DbError::unsupported("unnest of several arrays"));
                };
                let arg = ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(array.clone()));
                let name = ast::ObjectName::from(vec![ast::Ident::new("unnest")]);
                self.function_item(&name, &[arg], *with_ordinality, alias.as_ref())
            }
            // A LATERAL subquery reads the items before it through the enclosing level, as a
            // correlated subquery does; `join_items` makes the join LATERAL.
            ast::TableFactor::Derived { lateral: _, subquery, alias, sample: None } => {
                let Some(alias) = alias else {
                    return Err(DbError::syntax("subquery in FROM must have an alias")
                        .with_detail("For example, FROM (SELECT ...) [AS] foo."));
                };
                let bound = self.query(subquery)?;
                let names: Vec<String> = bound.columns.iter().map(|c| c.name.clone()).collect();
                self.add_query_item(ident_name(&alias.name), &bound.columns, &names, Some(alias))?;
                Ok(bound.rel)
            }
            ast::TableFactor::NestedJoin { table_with_joins, alias: None } => {
                self.bind_from_item(table_with_joins, false)
            }
            other => Err(DbError::unsupported(format!("the FROM item {other}"))),
        }
    }
}

/// `left` joined with `right`: a LATERAL join when `right` reads columns `left` makes (a
/// function in FROM, implicitly LATERAL as in PostgreSQL, or a LATERAL subquery, reading the
/// items before it). Only an inner or left join may be LATERAL (42P10 otherwise).
fn join_items(kind: JoinKind, left: Rel, right: Rel, condition: Option<Expr>) -> Result<Rel> {
    let left_ids: HashSet<ColumnId> = left.output().into_iter().collect();
    let reads_left = crate::optimize::rel_free_columns(&right).iter().any(|id| left_ids.contains(id));
    let (left, right) = (Box::new(left), Box::new(right));
    match kind {
        _ if !reads_left => Ok(Rel::Join { kind, left, right, equi: Vec::new(), condition }),
        JoinKind::Inner | JoinKind::Left => Ok(Rel::Lateral { kind, left, right, condition }),
        JoinKind::Right | JoinKind::Full => Err(DbError::sql(
            SqlState::InvalidColumnReference,
            "invalid reference to FROM-clause entry in a LATERAL item",
        )
        .with_detail("The combining JOIN type must be INNER or LEFT for a LATERAL reference.")),
    }
}

/// The `pg_catalog` relation `name` names (`pg_class` or `pg_catalog.pg_class`), if any.
fn catalog_relation_name(name: &ast::ObjectName) -> Option<String> {
    let parts: Vec<String> = name.0.iter().filter_map(|p| p.as_ident().map(ident_name)).collect();
    match parts.as_slice() {
        [schema, n] if schema == "pg_catalog" => Some(n.clone()),
        [schema, n] if schema == "information_schema" => Some(format!("information_schema.{n}")),
        [n] if crate::pg_catalog::is_relation(n) => Some(n.clone()),
        _ => None,
    }
}

impl QueryBinder<'_, '_> {
    /// A set-returning function in FROM: `generate_series(...)`, `unnest(...)`, with their
    /// column named by the alias (or the function) and the ordinal column `ordinality`.
    fn function_item(
        &mut self,
        name: &ast::ObjectName,
        args: &[ast::FunctionArg],
        ordinality: bool,
        alias: Option<&ast::TableAlias>,
    ) -> Result<Rel> {
        let parts: Vec<String> = name.0.iter().filter_map(|p| p.as_ident().map(ident_name)).collect();
        let fname = match parts.as_slice() {
            [n] => n.clone(),
            [schema, n] if schema == "pg_catalog" => n.clone(),
            _ => String::new(),
        };
        let Some(func) = crate::table_function::TableFunc::lookup(&fname) else {
            return Err(DbError::unsupported(format!("the function {name} in FROM")));
        };
        let saved = self.set_aggregates(AggregateSlot::Forbidden("functions in FROM"));
        let bound = args
            .iter()
            .map(|a| match a {
                ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => bind_expr::bind(e, self),
                other => Err(DbError::unsupported(format!("the argument {other}"))),
            })
            .collect::<Result<Vec<_>>>();
        self.set_aggregates(saved);
        let call = func.bind(bound?)?;
        let item_name = alias.map_or_else(|| fname.clone(), |a| ident_name(&a.name));
        // A function returning one column names it after the alias, as PostgreSQL does, unless
        // PostgreSQL declares its columns' names (json_each's key and value).
        let column = alias.map_or_else(|| fname.clone(), |a| ident_name(&a.name));
        let mut stored: Vec<(String, DataType)> = call
            .columns()
            .into_iter()
            .map(|(name, ty)| (name.map_or_else(|| column.clone(), str::to_string), ty))
            .collect();
        if ordinality {
            stored.push(("ordinality".to_string(), DataType::Int8));
        }
        let output = self.add_stored_item(item_name, stored, alias)?;
        Ok(Rel::Function { calls: vec![call], ordinality, output })
    }

    /// A `pg_catalog` relation named in FROM: its rows, computed now from the catalog.
    fn catalog_relation(&mut self, name: &str, alias: Option<&ast::TableAlias>) -> Result<Rel> {
        if !crate::pg_catalog::is_relation(name) {
            let qualified = if name.contains('.') { name.to_string() } else { format!("pg_catalog.{name}") };
            return Err(DbError::undefined_table(&qualified));
        }
        let ctx = self.ctx()?;
        // Rows of the moment (activity, statistics): a plan holding them is not kept.
        ctx.plan_volatile = true;
        let relation = ctx.with_catalog_snapshot(|ctx| crate::pg_catalog::relation(ctx, name))?;
        let unqualified = name.rsplit('.').next().unwrap_or(name);
        let item_name = alias.map_or_else(|| unqualified.to_string(), |a| ident_name(&a.name));
        let stored = relation.columns.iter().map(|(n, t)| (n.to_string(), *t)).collect();
        let output = self.add_stored_item(item_name, stored, alias)?;
        let types: Vec<DataType> = relation.columns.iter().map(|(_, t)| *t).collect();
        let rows = relation
            .rows
            .into_iter()
            .map(|row| row.into_iter().zip(&types).map(|(value, ty)| Expr::Literal { value, ty: *ty }).collect())
            .collect();
        Ok(Rel::Values { rows, output })
    }

    /// A row-level security filter over a table's columns (`columns`: name, the scan's id,
    /// type), bound in a level of its own so only those columns are in scope.
    fn bind_policy(
        &mut self,
        table: &str,
        columns: Vec<(String, ColumnId, DataType)>,
        filter: &crate::row_security::RowFilter,
    ) -> Result<Expr> {
        let mut level = Level::new();
        let columns =
            columns.into_iter().map(|(name, id, ty)| ScopeColumn { name, id, ty, unqualified: true }).collect();
        level.items.push(ScopeItem { name: table.to_string(), columns });
        self.levels.push(level);
        let bound = crate::binder::combine_filter(filter, |clause| {
            let parsed = crate::parser::parse_expr(&clause.sql)?;
            // The policy's names resolve along its own search path, not the querying user's.
            let saved = self.ctx()?.swap_view_search_path(Some(clause.search_path.as_slice().into()));
            let bound = bind_expr::bind(&parsed, self);
            if let Ok(ctx) = self.ctx() {
                ctx.swap_view_search_path(saved);
            }
            boolean(bound?, "POLICY")
        });
        self.levels.pop();
        bound
    }

    /// A view named in FROM: its stored query, bound as a subquery in FROM with the view's
    /// name (or the alias) and column names.
    fn view(&mut self, named: &QualifiedName, alias: Option<&ast::TableAlias>, tid: bool) -> Result<Rel> {
        let found = self.ctx()?.with_catalog_snapshot(|ctx| crate::catalog::find_view(ctx, named))?;
        let Some((_, view)) = found else { return Err(DbError::undefined_table(named)) };
        let name = view.name.as_str();
        if tid {
            return Err(DbError::unsupported("FOR UPDATE on a view"));
        }
        if self.views_expanding >= MAX_VIEW_DEPTH {
            return Err(DbError::sql(
                SqlState::InvalidRecursion,
                format!("infinite recursion detected in rules for relation \"{name}\""),
            ));
        }
        let statements = crate::parser::parse(&view.definition)?;
        let [ast::Statement::Query(q)] = statements.as_slice() else {
            return Err(DbError::Corruption(format!("view {name} stores something other than a query")));
        };
        let object = ObjectRef::view(&view);
        let mut request = RelationAccess::new(object.clone(), PrivilegeSet::of(&[Privilege::Select]));
        request.check_as = self.check_as.last().cloned();
        let ctx = self.ctx()?;
        crate::acl::note_relation(ctx, request);
        let owner = match ctx.engine.access_control() {
            Some(_) => crate::acl::load(ctx)?.owner(&object).to_string(),
            None => String::new(),
        };
        self.views_expanding += 1;
        self.check_as.push(owner);
        // The view's names resolve along the search path of its CREATE VIEW.
        let saved = self.ctx()?.swap_view_search_path(Some(view.search_path.as_slice().into()));
        let bound = self.query(q);
        if let Ok(ctx) = self.ctx() {
            ctx.swap_view_search_path(saved);
        }
        self.check_as.pop();
        self.views_expanding -= 1;
        let bound = bound?;
        let item_name = alias.map_or_else(|| name.to_string(), |a| ident_name(&a.name));
        let names: Vec<String> = bound
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| view.columns.get(i).cloned().unwrap_or_else(|| c.name.clone()))
            .collect();
        self.add_query_item(item_name, &bound.columns, &names, alias)?;
        Ok(bound.rel)
    }
}

/// Views expanded inside views, at most (a view redefined to read itself would recurse).
const MAX_VIEW_DEPTH: usize = 32;

/// 42P10 when an alias or WITH query names more columns than `what` has.
fn too_many_names(what: &str, available: usize, named: usize) -> Result<()> {
    if named > available {
        return Err(DbError::sql(
            SqlState::InvalidColumnReference,
            format!("{what} has {available} columns available but {named} columns specified"),
        ));
    }
    Ok(())
}

fn check_select_clauses(s: &ast::Select) -> Result<()> {
    if s.into.is_some() || s.qualify.is_some() || !s.connect_by.is_empty() {
        return Err(DbError::unsupported("SELECT INTO, QUALIFY and CONNECT BY"));
    }
    if s.top.is_some()
        || !s.lateral_views.is_empty()
        || s.prewhere.is_some()
        || !s.cluster_by.is_empty()
        || !s.distribute_by.is_empty()
        || !s.sort_by.is_empty()
        || s.value_table_mode.is_some()
        || s.exclude.is_some()
    {
        return Err(DbError::unsupported("this SELECT form"));
    }
    Ok(())
}

/// The table a FOR UPDATE query reads: exactly one, without joins.
fn lockable_table(s: &ast::Select) -> Result<()> {
    match s.from.as_slice() {
        [item] if item.joins.is_empty() && matches!(item.relation, ast::TableFactor::Table { .. }) => Ok(()),
        [] => Err(DbError::sql(SqlState::FeatureNotSupported, "FOR UPDATE needs a table to lock rows of")),
        _ => Err(DbError::unsupported("FOR UPDATE with joins or subqueries in FROM")),
    }
}

fn row_lock(locks: &[ast::LockClause]) -> Result<Option<RowLockClause>> {
    Ok(match locks {
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
    })
}

fn ordinal(v: &ast::Value, len: usize, clause: &str) -> Result<usize> {
    let ast::Value::Number(n, _) = v else { return Err(DbError::Internal("an ordinal that is not a number".into())) };
    n.parse::<usize>().ok().filter(|p| (1..=len).contains(p)).map(|p| p - 1).ok_or_else(|| {
        DbError::sql(SqlState::InvalidColumnReference, format!("{clause} position {n} is not in select list"))
    })
}

/// The result type of a window function over arguments of these types (None: no such).
fn window_result_type(func: WindowFunc, args: &[DataType]) -> Option<DataType> {
    match (func, args) {
        (WindowFunc::RowNumber | WindowFunc::Rank | WindowFunc::DenseRank, []) => Some(DataType::Int8),
        (WindowFunc::PercentRank | WindowFunc::CumeDist, []) => Some(DataType::Float8),
        (WindowFunc::Ntile, [t]) if t.is_integer() => Some(DataType::Int4),
        (WindowFunc::Lag | WindowFunc::Lead, [t]) => Some(*t),
        (WindowFunc::Lag | WindowFunc::Lead, [t, o, ..]) if o.is_integer() => Some(*t),
        (WindowFunc::FirstValue | WindowFunc::LastValue, [t]) => Some(*t),
        (WindowFunc::NthValue, [t, n]) if n.is_integer() => Some(*t),
        _ => None,
    }
}

/// A window's frame: the one given, or PostgreSQL's default (RANGE UNBOUNDED PRECEDING to
/// CURRENT ROW, which is the whole partition without ORDER BY).
fn window_frame(frame: Option<&ast::WindowFrame>, ordered: bool) -> Result<Frame> {
    let Some(frame) = frame else {
        let end = if ordered { FrameBound::CurrentRow } else { FrameBound::UnboundedFollowing };
        return Ok(Frame { rows: false, start: FrameBound::UnboundedPreceding, end });
    };
    let rows = match frame.units {
        ast::WindowFrameUnits::Rows => true,
        ast::WindowFrameUnits::Range => false,
        ast::WindowFrameUnits::Groups => return Err(DbError::unsupported("GROUPS frames")),
    };
    let bound = |b: &ast::WindowFrameBound, start: bool| -> Result<FrameBound> {
        let offset = |e: &ast::Expr| -> Result<u64> {
            if !rows {
                return Err(DbError::unsupported("RANGE frames with an offset"));
            }
            let v = cast(bind_expr::bind(e, &mut QueryBinder::constant())?, DataType::Int8, CastContext::Assignment)?
                .eval(&[], &EvalEnv::new("", ""))?;
            match v {
                Value::Int8(n) if n >= 0 => Ok(n as u64),
                Value::Null => {
                    Err(DbError::sql(SqlState::NullValueNotAllowed, "frame starting offset must not be null"))
                }
                _ => Err(DbError::sql(
                    SqlState::InvalidPrecedingOrFollowingSize,
                    "frame starting offset must not be negative",
                )),
            }
        };
        Ok(match b {
            ast::WindowFrameBound::CurrentRow => FrameBound::CurrentRow,
            ast::WindowFrameBound::Preceding(None) if start => FrameBound::UnboundedPreceding,
            ast::WindowFrameBound::Following(None) if !start => FrameBound::UnboundedFollowing,
            ast::WindowFrameBound::Preceding(None) => {
                return Err(DbError::syntax("frame end cannot be UNBOUNDED PRECEDING"));
            }
            ast::WindowFrameBound::Following(None) => {
                return Err(DbError::syntax("frame start cannot be UNBOUNDED FOLLOWING"));
            }
            ast::WindowFrameBound::Preceding(Some(e)) => FrameBound::Preceding(offset(e)?),
            ast::WindowFrameBound::Following(Some(e)) => FrameBound::Following(offset(e)?),
        })
    };
    let start = bound(&frame.start_bound, true)?;
    let end = match &frame.end_bound {
        Some(b) => bound(b, false)?,
        None => FrameBound::CurrentRow,
    };
    Ok(Frame { rows, start, end })
}

/// The grouping sets of one GROUP BY item: ROLLUP (`kind` 1) of its elements, their CUBE (2),
/// or the GROUPING SETS (3) listed; each a list of key positions.
fn grouping_sets(kind: u8, elements: Vec<Vec<usize>>) -> Vec<Vec<usize>> {
    match kind {
        // ROLLUP (a, b, c): (a, b, c), (a, b), (a), ().
        1 => (0..=elements.len()).rev().map(|n| elements[..n].concat()).collect(),
        // CUBE (a, b): every subset, the larger first, in PostgreSQL's order.
        2 => {
            let n = elements.len();
            let mut subsets: Vec<Vec<usize>> = (0..1u32 << n)
                .rev()
                .map(|mask| {
                    (0..n).filter(|i| mask & (1 << (n - 1 - i)) != 0).flat_map(|i| elements[i].clone()).collect()
                })
                .collect();
            subsets.sort_by_key(|s: &Vec<usize>| std::cmp::Reverse(s.len()));
            subsets
        }
        _ => elements,
    }
}

/// 42803 unless each argument of grouping() is one of the query's grouping expressions.
fn check_grouping_args(args: &[Expr], groups: &[Expr]) -> Result<()> {
    if args.iter().all(|a| groups.contains(a)) {
        return Ok(());
    }
    Err(DbError::sql(
        SqlState::GroupingError,
        "arguments to GROUPING must be grouping expressions of the associated query level",
    ))
}

fn sort_key(expr: Expr, item: &ast::OrderByExpr) -> SortKey {
    let descending = matches!(item.options.sort, Some(ast::OrderBySort::Desc));
    SortKey { expr, descending, nulls_first: item.options.nulls_first.unwrap_or(descending) }
}

fn limit(rel: Rel, (limit, offset): (Option<u64>, u64)) -> Rel {
    if limit.is_none() && offset == 0 { rel } else { Rel::Limit { input: Box::new(rel), limit, offset } }
}

/// The first few words of some SQL (for "not supported" messages).
pub fn first_words(sql: &str) -> String {
    sql.split_whitespace().take(4).collect::<Vec<_>>().join(" ")
}

/// Untyped literals in the output become text, as PostgreSQL resolves them.
pub fn output(expr: Expr) -> Result<Expr> {
    coerce_unknown(expr, DataType::Text)
}

/// True if `e` gives its column a name of PostgreSQL's strongest rank (a column's, a
/// function's), which a CASE passes on from its ELSE result; constants and casts of them rank
/// lower.
fn strong_name(e: &ast::Expr) -> bool {
    match e {
        ast::Expr::Value(_) | ast::Expr::TypedString(_) => false,
        ast::Expr::Cast { expr, .. } | ast::Expr::Nested(expr) => strong_name(expr),
        ast::Expr::Case { else_result, .. } => else_result.as_deref().is_some_and(strong_name),
        other => output_name(other, &Expr::literal(Value::Null)) != "?column?",
    }
}

/// The column name PostgreSQL gives an unaliased output expression.
pub fn output_name(e: &ast::Expr, bound: &Expr) -> String {
    match e {
        ast::Expr::Identifier(i) => ident_name(i),
        ast::Expr::CompoundIdentifier(parts) => parts.last().map(ident_name).unwrap_or_default(),
        ast::Expr::Nested(inner) => output_name(inner, bound),
        ast::Expr::Function(f) => f.name.0.last().and_then(|p| p.as_ident()).map(ident_name).unwrap_or_default(),
        ast::Expr::Cast { expr, .. } => match output_name(expr, bound).as_str() {
            "?column?" => type_name(bound.data_type()).to_string(),
            name => name.to_string(),
        },
        // The ELSE result's name if it has a strong one (a column's, a function's), as
        // PostgreSQL's FigureColname ranks them.
        ast::Expr::Case { else_result: Some(e), .. } if strong_name(e) => output_name(e, bound),
        ast::Expr::Case { .. } => "case".into(),
        ast::Expr::TypedString(_) => type_name(bound.data_type()).to_string(),
        ast::Expr::Exists { .. } => "exists".into(),
        ast::Expr::Substring { .. } => "substring".into(),
        ast::Expr::Trim { .. } => "btrim".into(),
        ast::Expr::Position { .. } => "position".into(),
        ast::Expr::Ceil { .. } => "ceil".into(),
        ast::Expr::Floor { .. } => "floor".into(),
        ast::Expr::Subquery(q) => match q.body.as_ref() {
            ast::SetExpr::Select(s) => match s.projection.as_slice() {
                [ast::SelectItem::ExprWithAlias { alias, .. }] => ident_name(alias),
                [ast::SelectItem::UnnamedExpr(inner)] => output_name(inner, bound),
                _ => "?column?".into(),
            },
            _ => "?column?".into(),
        },
        _ => "?column?".into(),
    }
}

impl QueryBinder<'_, '_> {
    /// LIMIT / OFFSET / FETCH FIRST: constants (or parameters), not negative.
    fn limit(&mut self, clause: Option<&ast::LimitClause>, fetch: Option<&ast::Fetch>) -> Result<(Option<u64>, u64)> {
        let (limit, offset) = match clause {
            None => (None, None),
            Some(ast::LimitClause::LimitOffset { limit, offset, limit_by }) if limit_by.is_empty() => {
                (limit.as_ref(), offset.as_ref().map(|o| &o.value))
            }
            Some(ast::LimitClause::OffsetCommaLimit { .. }) => {
                return Err(DbError::syntax("LIMIT #,# syntax is not supported"));
            }
            Some(_) => return Err(DbError::unsupported("LIMIT BY")),
        };
        let mut limit = self.row_count(limit, SqlState::InvalidRowCountInLimitClause, "LIMIT")?;
        if let Some(f) = fetch {
            if f.percent {
                return Err(DbError::unsupported("FETCH ... PERCENT"));
            }
            if limit.is_some() {
                return Err(DbError::syntax("multiple LIMIT clauses not allowed"));
            }
            limit = match &f.quantity {
                None => Some(1),
                Some(q) => self.row_count(Some(q), SqlState::InvalidRowCountInLimitClause, "FETCH FIRST")?,
            };
        }
        let offset = self.row_count(offset, SqlState::InvalidRowCountInResultOffsetClause, "OFFSET")?.unwrap_or(0);
        Ok((limit, offset))
    }

    /// One LIMIT or OFFSET count. While preparing, a parameter's count is not known: its type
    /// (bigint) is noted for the statement's description, and the plan, which gets no limit,
    /// is marked never to be cached (`plan_cache.rs`: the count is a number in the plan, with
    /// no parameter left to fill).
    fn row_count(&mut self, e: Option<&ast::Expr>, state: SqlState, what: &str) -> Result<Option<u64>> {
        let Some(e) = e else { return Ok(None) };
        let mut binder = QueryBinder::constant();
        binder.params = self.params.clone();
        let bound = cast(bind_expr::bind(e, &mut binder)?, DataType::Int8, CastContext::Assignment)?;
        if self.params.is_preparing() && !bound.is_constant() {
            if let Some(ctx) = self.ctx.as_deref_mut() {
                ctx.plan_volatile = true;
                bound.walk(&mut |e| {
                    if let Expr::Param { index, ty } = e {
                        ctx.params.note(*index, *ty);
                    }
                });
            }
            return Ok(None);
        }
        match bound.eval(&[], &EvalEnv::new("", ""))? {
            Value::Null => Ok(None),
            Value::Int8(n) if n >= 0 => Ok(Some(n as u64)),
            _ => Err(DbError::sql(state, format!("{what} must not be negative"))),
        }
    }
}

impl QueryBinder<'static, 'static> {
    /// A binder with no catalog and no tables in scope (constants: LIMIT counts, defaults).
    pub fn constant() -> Self {
        Self::reading(None)
    }
}

/// The window-only function called `name` (`row_number`, `rank`, ...).
fn window_function(name: &str) -> Option<WindowFunc> {
    Some(match name {
        "row_number" => WindowFunc::RowNumber,
        "rank" => WindowFunc::Rank,
        "dense_rank" => WindowFunc::DenseRank,
        "percent_rank" => WindowFunc::PercentRank,
        "cume_dist" => WindowFunc::CumeDist,
        "ntile" => WindowFunc::Ntile,
        "lag" => WindowFunc::Lag,
        "lead" => WindowFunc::Lead,
        "first_value" => WindowFunc::FirstValue,
        "last_value" => WindowFunc::LastValue,
        "nth_value" => WindowFunc::NthValue,
        _ => return None,
    })
}

/// True for the window-only functions.
pub fn is_window_function(name: &str) -> bool {
    window_function(name).is_some()
}
