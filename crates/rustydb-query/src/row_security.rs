//! Row-level security: `ALTER TABLE ... ENABLE | DISABLE | FORCE | NO FORCE ROW LEVEL SECURITY`
//! and `CREATE | ALTER | DROP POLICY`, stored in the catalog, and the row filters they add to
//! statements — PostgreSQL's model:
//!
//! - With RLS enabled on a table, a role it applies to sees (and may change) only the rows the
//!   policies allow; with no policy for the command, none (default deny). It does not apply to
//!   superusers, nor to the table's owner unless the table FORCEs it.
//! - A policy is for ALL commands or one of SELECT, INSERT, UPDATE, DELETE, and for PUBLIC or
//!   named roles (a role counts if the user has its privileges). Permissive policies combine
//!   with OR, restrictive ones with AND, and a restrictive one alone allows nothing.
//! - USING filters existing rows (SELECT, UPDATE, DELETE); WITH CHECK (or USING where a policy
//!   has none) must hold for rows INSERT and UPDATE write, else 42501 "new row violates
//!   row-level security policy".
//!
//! The decision which policies apply is the security layer's ([`crate::acl::AccessControl::
//! row_filter`]); this module stores policies and turns the SQL texts it returns into filters.
//! The binder adds them where it binds each table (`bind_query.rs`, `binder.rs`), so they apply
//! from every interface, and a view's tables get the filters of the view's owner.
//!
//! Known gap (see the issue note): the filters are ordinary conjuncts, so a user's predicate
//! may be evaluated before them (PostgreSQL orders them first, "security barrier" quals); a
//! predicate that fails on hidden rows can reveal that such rows exist.

use crate::acl::{self, ObjectKind, ObjectRef};
use crate::bind_expr::ident_name;
use crate::catalog::{self, PrivilegeTable, QualifiedName, TableDef};
use crate::context::ExecContext;
use crate::result::StatementResult;
use rustydb_foundation::{DbError, Result, SqlState, Value};
use sqlparser::ast;

/// The command a policy is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyCommand {
    /// Every command.
    All,
    /// SELECT (and the reads of UPDATE and DELETE).
    Select,
    /// INSERT.
    Insert,
    /// UPDATE.
    Update,
    /// DELETE.
    Delete,
}

impl PolicyCommand {
    fn name(self) -> &'static str {
        match self {
            PolicyCommand::All => "ALL",
            PolicyCommand::Select => "SELECT",
            PolicyCommand::Insert => "INSERT",
            PolicyCommand::Update => "UPDATE",
            PolicyCommand::Delete => "DELETE",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "ALL" => PolicyCommand::All,
            "SELECT" => PolicyCommand::Select,
            "INSERT" => PolicyCommand::Insert,
            "UPDATE" => PolicyCommand::Update,
            "DELETE" => PolicyCommand::Delete,
            other => return Err(DbError::Corruption(format!("unknown policy command {other:?} in the catalog"))),
        })
    }
}

/// A policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Its table.
    pub table: String,
    /// The table's namespace.
    pub namespace: u32,
    /// Its name (unique per table).
    pub name: String,
    /// The command it is for.
    pub command: PolicyCommand,
    /// PERMISSIVE (OR) rather than RESTRICTIVE (AND).
    pub permissive: bool,
    /// The roles it is for (empty: PUBLIC).
    pub roles: Vec<String>,
    /// USING, as SQL text.
    pub using: Option<String>,
    /// WITH CHECK, as SQL text.
    pub with_check: Option<String>,
    /// The search path the expressions' names resolve along: that of the CREATE or ALTER
    /// POLICY that wrote them (whoever's statement the policy filters, a name in it means
    /// what it meant to the table's owner).
    pub search_path: Vec<u32>,
}

/// One clause of a row filter: a policy's expression, and the search path it is bound under.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyClause {
    /// The expression, as SQL text.
    pub sql: String,
    /// Its policy's search path.
    pub search_path: Vec<u32>,
}

/// The row filter for one table, command and role: the clauses of the policies that apply.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RowFilter {
    /// Combined with OR; none allows no row at all.
    pub permissive: Vec<PolicyClause>,
    /// Combined with AND with the rest.
    pub restrictive: Vec<PolicyClause>,
}

/// A bound policy or RLS statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyStatement {
    /// CREATE POLICY.
    Create {
        /// The table, as named.
        table: QualifiedName,
        /// The policy (its table's namespace is filled in when it runs).
        policy: Policy,
    },
    /// ALTER POLICY: what is given changes.
    Alter {
        /// The table.
        table: QualifiedName,
        /// The policy.
        name: String,
        /// RENAME TO.
        rename: Option<String>,
        /// TO roles.
        roles: Option<Vec<String>>,
        /// USING.
        using: Option<String>,
        /// WITH CHECK.
        with_check: Option<String>,
    },
    /// DROP POLICY.
    Drop {
        /// The table.
        table: QualifiedName,
        /// The policy.
        name: String,
        /// IF EXISTS.
        if_exists: bool,
    },
    /// ALTER TABLE ... [ENABLE | DISABLE | FORCE | NO FORCE] ROW LEVEL SECURITY.
    Table {
        /// The table.
        table: QualifiedName,
        /// ENABLE / DISABLE.
        enabled: Option<bool>,
        /// FORCE / NO FORCE.
        forced: Option<bool>,
    },
}

impl PolicyStatement {
    /// The command tag.
    pub fn command_name(&self) -> &'static str {
        match self {
            PolicyStatement::Create { .. } => "CREATE POLICY",
            PolicyStatement::Alter { .. } => "ALTER POLICY",
            PolicyStatement::Drop { .. } => "DROP POLICY",
            PolicyStatement::Table { .. } => "ALTER TABLE",
        }
    }
}

fn roles(to: &Option<Vec<ast::Owner>>) -> Result<Option<Vec<String>>> {
    let Some(to) = to else { return Ok(None) };
    let mut out = Vec::new();
    for owner in to {
        match owner {
            ast::Owner::Ident(i) if i.quote_style.is_none() && i.value.eq_ignore_ascii_case("public") => {}
            ast::Owner::Ident(i) => out.push(ident_name(i)),
            ast::Owner::CurrentUser | ast::Owner::SessionUser => out.push("current_user".into()),
            ast::Owner::CurrentRole => return Err(DbError::unsupported("TO CURRENT_ROLE")),
        }
    }
    Ok(Some(out))
}

/// Binds CREATE POLICY.
pub fn bind_create(p: &ast::CreatePolicy) -> Result<PolicyStatement> {
    let command = match p.command {
        None | Some(ast::CreatePolicyCommand::All) => PolicyCommand::All,
        Some(ast::CreatePolicyCommand::Select) => PolicyCommand::Select,
        Some(ast::CreatePolicyCommand::Insert) => PolicyCommand::Insert,
        Some(ast::CreatePolicyCommand::Update) => PolicyCommand::Update,
        Some(ast::CreatePolicyCommand::Delete) => PolicyCommand::Delete,
    };
    // PostgreSQL's rules on which clauses each command takes.
    if command == PolicyCommand::Insert && p.using.is_some() {
        return Err(DbError::syntax("only WITH CHECK expression allowed for INSERT"));
    }
    if matches!(command, PolicyCommand::Select | PolicyCommand::Delete) && p.with_check.is_some() {
        return Err(DbError::syntax("WITH CHECK cannot be applied to SELECT or DELETE"));
    }
    let table = crate::binder::table_name(&p.table_name)?;
    Ok(PolicyStatement::Create {
        policy: Policy {
            table: table.name.clone(),
            namespace: 0,
            name: ident_name(&p.name),
            command,
            permissive: !matches!(p.policy_type, Some(ast::CreatePolicyType::Restrictive)),
            roles: roles(&p.to)?.unwrap_or_default(),
            using: p.using.as_ref().map(ToString::to_string),
            with_check: p.with_check.as_ref().map(ToString::to_string),
            search_path: Vec::new(),
        },
        table,
    })
}

/// Binds ALTER POLICY.
pub fn bind_alter(p: &ast::AlterPolicy) -> Result<PolicyStatement> {
    let table = crate::binder::table_name(&p.table_name)?;
    let name = ident_name(&p.name);
    Ok(match &p.operation {
        ast::AlterPolicyOperation::Rename { new_name } => PolicyStatement::Alter {
            table,
            name,
            rename: Some(ident_name(new_name)),
            roles: None,
            using: None,
            with_check: None,
        },
        ast::AlterPolicyOperation::Apply { to, using, with_check } => PolicyStatement::Alter {
            table,
            name,
            rename: None,
            roles: roles(to)?,
            using: using.as_ref().map(ToString::to_string),
            with_check: with_check.as_ref().map(ToString::to_string),
        },
    })
}

/// Binds DROP POLICY.
pub fn bind_drop(p: &ast::DropPolicy) -> Result<PolicyStatement> {
    Ok(PolicyStatement::Drop {
        table: crate::binder::table_name(&p.table_name)?,
        name: ident_name(&p.name),
        if_exists: p.if_exists,
    })
}

fn policy_from_row(row: &[Value]) -> Result<Policy> {
    let text = |i: usize| match &row[i] {
        Value::Text(s) => Ok(s.clone()),
        other => Err(DbError::Corruption(format!("policy catalog expected text, found {other:?}"))),
    };
    let optional = |i: usize| text(i).map(|s| (!s.is_empty()).then_some(s));
    let def = catalog::privilege_table(PrivilegeTable::Policies);
    let namespace = catalog::row_namespace(def, row, 7).unwrap_or_default();
    let search_path = match row.get(8) {
        Some(Value::Text(path)) => path
            .split(',')
            .filter(|n| !n.is_empty())
            .map(|n| n.parse().map_err(|_| DbError::Corruption(format!("bad policy search path {path:?}"))))
            .collect::<Result<Vec<u32>>>()?,
        // Written before schemas: its table's namespace, the only one there was.
        _ => vec![namespace],
    };
    Ok(Policy {
        table: text(0)?,
        namespace,
        search_path,
        name: text(1)?,
        command: PolicyCommand::parse(&text(2)?)?,
        permissive: row[3] == Value::Bool(true),
        roles: text(4)?.split(',').filter(|r| !r.is_empty()).map(str::to_string).collect(),
        using: optional(5)?,
        with_check: optional(6)?,
    })
}

/// A table's RLS flags: (table, enabled, forced).
pub(crate) type TableFlags = (ObjectRef, bool, bool);

/// Every policy, and every table's RLS flags.
pub(crate) fn read(ctx: &mut ExecContext<'_>) -> Result<(Vec<Policy>, Vec<TableFlags>)> {
    let mut policies = Vec::new();
    for (_, row) in crate::access::scan(ctx, catalog::privilege_table(PrivilegeTable::Policies))? {
        policies.push(policy_from_row(&row)?);
    }
    let mut flags = Vec::new();
    let def = catalog::privilege_table(PrivilegeTable::RowSecurity);
    for (_, row) in crate::access::scan(ctx, def)? {
        if let Value::Text(t) = &row[0] {
            let namespace = catalog::row_namespace(def, &row, 3).unwrap_or_default();
            let table = ObjectRef::relation(ObjectKind::Table, namespace, t.as_str());
            flags.push((table, row[1] == Value::Bool(true), row[2] == Value::Bool(true)));
        }
    }
    Ok((policies, flags))
}

fn write_policy(ctx: &mut ExecContext<'_>, p: &Policy) -> Result<()> {
    let row = [
        Value::Text(p.table.clone()),
        Value::Text(p.name.clone()),
        Value::Text(p.command.name().into()),
        Value::Bool(p.permissive),
        // Role names hold no comma unquoted; a quoted one with a comma is refused at CREATE.
        Value::Text(p.roles.join(",")),
        Value::Text(p.using.clone().unwrap_or_default()),
        Value::Text(p.with_check.clone().unwrap_or_default()),
        Value::Int4(p.namespace as i32),
        Value::Text(p.search_path.iter().map(u32::to_string).collect::<Vec<_>>().join(",")),
    ];
    crate::access::insert_raw(ctx, catalog::privilege_table(PrivilegeTable::Policies), &row)?;
    Ok(())
}

/// Whether `row` of `table` (the policies or the RLS flags) is about table `name` of
/// `namespace`: the name first, then the namespace column.
fn row_of_table(table: PrivilegeTable, row: &[Value], namespace: u32, name: &str) -> bool {
    let def = catalog::privilege_table(table);
    row[0] == Value::Text(name.into())
        && catalog::namespace_column(def).and_then(|c| catalog::row_namespace(def, row, c)) == Some(namespace)
}

/// Removes the policies of `table` named `name` (all of them for `None`); how many went.
fn delete_policies(ctx: &mut ExecContext<'_>, table: &TableDef, name: Option<&str>) -> Result<usize> {
    catalog::note_change(ctx);
    let def = catalog::privilege_table(PrivilegeTable::Policies);
    let mut n = 0;
    for (tid, row) in crate::access::scan(ctx, def)? {
        if row_of_table(PrivilegeTable::Policies, &row, table.namespace, &table.name)
            && name.is_none_or(|n| row[1] == Value::Text(n.into()))
        {
            crate::access::delete(ctx, def, tid)?;
            n += 1;
        }
    }
    Ok(n)
}

/// A table's name changed: its policies and flags follow, and policy expressions that name it
/// are rewritten.
pub(crate) fn rename_table(ctx: &mut ExecContext<'_>, namespace: u32, from: &str, to: &str) -> Result<()> {
    let readers = policies_reading(ctx, &catalog::Relation::new(namespace, from))?;
    let to_v = Value::Text(to.into());
    catalog::rewrite_rows(ctx, catalog::privilege_table(PrivilegeTable::RowSecurity), |row| {
        Ok(row_of_table(PrivilegeTable::RowSecurity, row, namespace, from) && {
            row[0] = to_v.clone();
            true
        })
    })?;
    let renaming = crate::sql_names::Renaming::Table { from, to };
    catalog::rewrite_rows(ctx, catalog::privilege_table(PrivilegeTable::Policies), |row| {
        let own = row_of_table(PrivilegeTable::Policies, row, namespace, from);
        let reads = readers.contains(&policy_key(row));
        if own {
            row[0] = to_v.clone();
        }
        // A policy of the table itself changes (its table's name) even if its text does not.
        let rewritten = (own || reads) && rewrite_expressions(row, renaming)?;
        Ok(rewritten || own)
    })?;
    Ok(())
}

/// A policy row's identity: its table's namespace and name, and its own name.
fn policy_key(row: &[Value]) -> (u32, Value, Value) {
    let def = catalog::privilege_table(PrivilegeTable::Policies);
    (catalog::row_namespace(def, row, 7).unwrap_or_default(), row[0].clone(), row[1].clone())
}

/// The policies of other tables whose expressions read `relation` (in a subquery), as their
/// own search paths resolve names: only those a rename of it rewrites.
fn policies_reading(ctx: &mut ExecContext<'_>, relation: &catalog::Relation) -> Result<Vec<(u32, Value, Value)>> {
    let mut out = Vec::new();
    for p in read(ctx)?.0 {
        let mut reads = false;
        for sql in p.using.iter().chain(&p.with_check) {
            reads |= crate::dependents::text_reads(ctx, sql, &p.search_path, relation)?;
        }
        if reads {
            out.push((p.namespace, Value::Text(p.table.clone()), Value::Text(p.name.clone())));
        }
    }
    Ok(out)
}

/// Column `from` of table `table` is now `to`: the expressions of the table's policies, and
/// of other policies reading the table, are rewritten.
pub(crate) fn rename_column(ctx: &mut ExecContext<'_>, table: &TableDef, from: &str, to: &str) -> Result<()> {
    let readers = policies_reading(ctx, &catalog::Relation::new(table.namespace, &table.name))?;
    let renaming = crate::sql_names::Renaming::Column { table: &table.name, from, to };
    catalog::rewrite_rows(ctx, catalog::privilege_table(PrivilegeTable::Policies), |row| {
        let concerned = row_of_table(PrivilegeTable::Policies, row, table.namespace, &table.name)
            || readers.contains(&policy_key(row));
        Ok(concerned && rewrite_expressions(row, renaming)?)
    })?;
    Ok(())
}

/// Applies `renaming` to a policy row's USING and WITH CHECK texts; whether either changed.
fn rewrite_expressions(row: &mut [Value], renaming: crate::sql_names::Renaming<'_>) -> Result<bool> {
    let mut changed = false;
    for c in [5, 6] {
        if let Value::Text(sql) = &row[c]
            && !sql.is_empty()
            && let Some(new) = crate::sql_names::rename(sql, renaming)?
        {
            row[c] = Value::Text(new);
            changed = true;
        }
    }
    Ok(changed)
}

/// The names of table `table`'s policies whose expressions mention `column`.
pub(crate) fn policies_mentioning(ctx: &mut ExecContext<'_>, table: &TableDef, column: &str) -> Result<Vec<String>> {
    let (policies, _) = read(ctx)?;
    let mut out = Vec::new();
    for p in policies.into_iter().filter(|p| p.table == table.name && p.namespace == table.namespace) {
        let texts = [p.using.as_deref(), p.with_check.as_deref()];
        if texts
            .into_iter()
            .flatten()
            .map(|sql| crate::sql_names::mentions(sql, column, false))
            .any(|m| m.unwrap_or(true))
        {
            out.push(p.name);
        }
    }
    Ok(out)
}

/// Drops policy `name` of table `table` (a dependent of a dropped column).
pub(crate) fn drop_policy(ctx: &mut ExecContext<'_>, table: &TableDef, name: &str) -> Result<()> {
    delete_policies(ctx, table, Some(name)).map(drop)
}

/// Forgets a dropped table's policies and flags.
pub(crate) fn forget_table(ctx: &mut ExecContext<'_>, namespace: u32, table: &str) -> Result<()> {
    catalog::note_change(ctx);
    let policies = catalog::privilege_table(PrivilegeTable::Policies);
    for (tid, row) in crate::access::scan(ctx, policies)? {
        if row_of_table(PrivilegeTable::Policies, &row, namespace, table) {
            crate::access::delete(ctx, policies, tid)?;
        }
    }
    let def = catalog::privilege_table(PrivilegeTable::RowSecurity);
    for (tid, row) in crate::access::scan(ctx, def)? {
        if row_of_table(PrivilegeTable::RowSecurity, &row, namespace, table) {
            crate::access::delete(ctx, def, tid)?;
        }
    }
    Ok(())
}

/// Runs a policy or RLS statement: the table's owner only.
pub fn execute(ctx: &mut ExecContext<'_>, statement: &PolicyStatement) -> Result<StatementResult> {
    let _ddl = ctx.engine.ddl_lock().lock();
    let named = match statement {
        PolicyStatement::Create { table, .. }
        | PolicyStatement::Alter { table, .. }
        | PolicyStatement::Drop { table, .. }
        | PolicyStatement::Table { table, .. } => table,
    };
    let def = catalog::find_table_named(ctx, named)?.ok_or_else(|| DbError::undefined_table(named.to_string()))?;
    let table = &def.name;
    if def.is_system() {
        return Err(DbError::sql(
            SqlState::InsufficientPrivilege,
            format!("permission denied: \"{table}\" is a system catalog"),
        ));
    }
    acl::require_owner(ctx, ObjectRef::table(&def))?;
    let existing: Vec<Policy> =
        read(ctx)?.0.into_iter().filter(|p| p.table == *table && p.namespace == def.namespace).collect();
    let find = |name: &str| existing.iter().find(|p| p.name == name).cloned();
    let missing = |name: &str| {
        DbError::sql(SqlState::UndefinedObject, format!("policy \"{name}\" for table \"{table}\" does not exist"))
    };
    let mut result = StatementResult::tag(statement.command_name());
    match statement {
        PolicyStatement::Create { policy: p, .. } => {
            if find(&p.name).is_some() {
                return Err(DbError::sql(
                    SqlState::DuplicateObject,
                    format!("policy \"{}\" for table \"{table}\" already exists", p.name),
                ));
            }
            let search_path = crate::schemas::stored_search_path(ctx)?;
            let p = Policy { roles: resolve_roles(ctx, &p.roles)?, namespace: def.namespace, search_path, ..p.clone() };
            validate(ctx, &def, &p)?;
            catalog::note_change(ctx);
            write_policy(ctx, &p)?;
        }
        PolicyStatement::Alter { name, rename, roles, using, with_check, .. } => {
            let mut p = find(name).ok_or_else(|| missing(name))?;
            if let Some(new) = rename {
                if find(new).is_some() {
                    return Err(DbError::sql(
                        SqlState::DuplicateObject,
                        format!("policy \"{new}\" for table \"{table}\" already exists"),
                    ));
                }
                p.name = new.clone();
            }
            if let Some(r) = roles {
                p.roles = resolve_roles(ctx, r)?;
            }
            if using.is_some() {
                p.using = using.clone();
            }
            if with_check.is_some() {
                p.with_check = with_check.clone();
            }
            // New expressions are read as their ALTER POLICY's search path reads them.
            if using.is_some() || with_check.is_some() {
                p.search_path = crate::schemas::stored_search_path(ctx)?;
            }
            validate(ctx, &def, &p)?;
            delete_policies(ctx, &def, Some(name))?;
            write_policy(ctx, &p)?;
        }
        PolicyStatement::Drop { name, if_exists, .. } => {
            if delete_policies(ctx, &def, Some(name))? == 0 {
                if !*if_exists {
                    return Err(missing(name));
                }
                result.notices.push(crate::result::Notice::plain(format!(
                    "policy \"{name}\" for relation \"{table}\" does not exist, skipping"
                )));
            }
        }
        PolicyStatement::Table { enabled, forced, .. } => {
            let (_, flags) = read(ctx)?;
            let object = ObjectRef::table(&def);
            let (mut e, mut f) =
                flags.iter().find(|(t, _, _)| *t == object).map_or((false, false), |(_, e, f)| (*e, *f));
            e = enabled.unwrap_or(e);
            f = forced.unwrap_or(f);
            let flags_table = catalog::privilege_table(PrivilegeTable::RowSecurity);
            catalog::note_change(ctx);
            for (tid, row) in crate::access::scan(ctx, flags_table)? {
                if row_of_table(PrivilegeTable::RowSecurity, &row, def.namespace, table) {
                    crate::access::delete(ctx, flags_table, tid)?;
                }
            }
            let row = [Value::Text(table.clone()), Value::Bool(e), Value::Bool(f), Value::Int4(def.namespace as i32)];
            crate::access::insert_raw(ctx, flags_table, &row)?;
        }
    }
    Ok(result)
}

/// The named roles must exist (42704); CURRENT_USER is the session's user.
fn resolve_roles(ctx: &mut ExecContext<'_>, roles: &[String]) -> Result<Vec<String>> {
    let mut out = Vec::with_capacity(roles.len());
    for r in roles {
        let name = if r == "current_user" { ctx.user.to_string() } else { r.clone() };
        if catalog::find_role(ctx, &name)?.is_none() {
            return Err(DbError::sql(SqlState::UndefinedObject, format!("role \"{name}\" does not exist")));
        }
        if name.contains(',') {
            return Err(DbError::unsupported("role names with commas in policies"));
        }
        out.push(name);
    }
    Ok(out)
}

/// Binds the policy's expressions over the table now, so a bad one fails at CREATE POLICY
/// (42703, 42804) as in PostgreSQL, not at every later statement.
fn validate(ctx: &mut ExecContext<'_>, table: &crate::catalog::TableDef, p: &Policy) -> Result<()> {
    let first = ctx.access_requests.len();
    for sql in p.using.iter().chain(&p.with_check) {
        let clause = PolicyClause { sql: sql.clone(), search_path: p.search_path.clone() };
        crate::binder::bind_row_predicate(ctx, table, &clause)?;
    }
    ctx.access_requests.truncate(first);
    Ok(())
}

/// The filter `user` gets on `table` for `command` (`with_check`: for rows written), if RLS
/// applies: `None` when it does not (no access control, RLS off, superuser, owner).
pub fn filter_for(
    ctx: &mut ExecContext<'_>,
    table: &TableDef,
    command: PolicyCommand,
    with_check: bool,
    user: Option<&str>,
) -> Result<Option<RowFilter>> {
    let Some(control) = ctx.engine.access_control().cloned() else { return Ok(None) };
    let catalog = acl::load(ctx)?;
    let object = ObjectRef::table(table);
    if !catalog.rls.get(&object).is_some_and(|(enabled, _)| *enabled) {
        return Ok(None);
    }
    let user = user.unwrap_or(ctx.user);
    Ok(control.row_filter(&catalog, user, &object, command, with_check))
}

/// 42501 for a written row the policies refuse.
pub fn violation(table: &str) -> DbError {
    DbError::sql(
        SqlState::InsufficientPrivilege,
        format!("new row violates row-level security policy for table \"{table}\""),
    )
}
