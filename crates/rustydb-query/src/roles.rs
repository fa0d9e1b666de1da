//! Roles: `CREATE ROLE` / `CREATE USER`, `ALTER ROLE` / `ALTER USER`, `DROP ROLE` / `DROP USER`,
//! with PostgreSQL's options, defaults, permission rules and SQLSTATEs.
//!
//! A role lives in the `rustydb_roles` catalog table, so role DDL is transactional like every
//! other catalog change. Passwords never reach the catalog: a [`PasswordEncoder`] turns each into
//! a SCRAM-SHA-256 verifier first. The encoder is the security layer's (layer 6, above this
//! one); the server hands it to the engine in [`crate::EngineOptions`], the contract pointing
//! upward the design prescribes. An engine opened without one refuses passwords rather than
//! storing them in a form the wire layer could not check.

use crate::bind_expr::ident_name;
use crate::catalog::{self, RoleDef};
use crate::context::ExecContext;
use crate::result::{Notice, StatementResult};
use rustydb_foundation::{DbError, Result, SqlState};
use sqlparser::ast;

/// Turns a password given in SQL into what the catalog keeps. Implemented by the security
/// layer; an already-encoded SCRAM verifier is kept as it is, as PostgreSQL does.
pub trait PasswordEncoder: Send + Sync + std::fmt::Debug {
    /// The verifier to store for `password` of role `role` (an error if the password policy
    /// refuses the password).
    fn encode(&self, role: &str, password: &str) -> Result<String>;

    /// A second hash kept for checks outside the wire protocol (REST, embedded), where no
    /// SCRAM exchange is needed and a memory-hard hash serves better; `None`: none.
    fn outside_hash(&self, _password: &str) -> Result<Option<String>> {
        Ok(None)
    }

    /// How many earlier passwords a new one may not repeat (0: no rule).
    fn reuse_window(&self) -> usize {
        0
    }

    /// Whether `password` is the one the stored verifier `stored` was made from.
    fn matches(&self, _stored: &str, _password: &str) -> bool {
        false
    }
}

/// What a role statement sets; `None` leaves an attribute as it is (or at its default).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleOptions {
    /// SUPERUSER / NOSUPERUSER.
    pub superuser: Option<bool>,
    /// LOGIN / NOLOGIN.
    pub login: Option<bool>,
    /// CREATEDB / NOCREATEDB.
    pub create_db: Option<bool>,
    /// CREATEROLE / NOCREATEROLE.
    pub create_role: Option<bool>,
    /// INHERIT / NOINHERIT.
    pub inherit: Option<bool>,
    /// CONNECTION LIMIT n.
    pub connection_limit: Option<i32>,
    /// VALID UNTIL 'timestamp' (`Some(None)`: 'infinity').
    pub valid_until: Option<Option<i64>>,
    /// PASSWORD 'text' (`Some(None)`: PASSWORD NULL).
    pub password: Option<Option<String>>,
}

/// A bound role statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleStatement {
    /// CREATE ROLE / CREATE USER.
    Create {
        /// The new role's name.
        name: String,
        /// Its attributes.
        options: RoleOptions,
    },
    /// ALTER ROLE ... [WITH] options.
    Alter {
        /// The role.
        name: String,
        /// What changes.
        options: RoleOptions,
    },
    /// ALTER ROLE ... RENAME TO.
    Rename {
        /// The role.
        name: String,
        /// Its new name.
        to: String,
    },
    /// DROP ROLE [IF EXISTS].
    Drop {
        /// The roles.
        names: Vec<String>,
        /// IF EXISTS.
        if_exists: bool,
    },
}

impl RoleStatement {
    /// What the statement does, for the audit log: names and attributes, never a password
    /// (only that one was set or removed).
    pub fn audit_text(&self) -> String {
        let options = |o: &RoleOptions| {
            let mut parts = Vec::new();
            let flag = |v: Option<bool>, yes: &str, no: &str| v.map(|b| if b { yes } else { no }.to_string());
            parts.extend(flag(o.superuser, "SUPERUSER", "NOSUPERUSER"));
            parts.extend(flag(o.login, "LOGIN", "NOLOGIN"));
            parts.extend(flag(o.create_db, "CREATEDB", "NOCREATEDB"));
            parts.extend(flag(o.create_role, "CREATEROLE", "NOCREATEROLE"));
            parts.extend(flag(o.inherit, "INHERIT", "NOINHERIT"));
            parts.extend(o.connection_limit.map(|n| format!("CONNECTION LIMIT {n}")));
            parts.extend(o.valid_until.map(|_| "VALID UNTIL".to_string()));
            parts.extend(
                o.password.as_ref().map(|p| if p.is_some() { "PASSWORD (set)" } else { "PASSWORD NULL" }.to_string()),
            );
            parts.join(" ")
        };
        match self {
            RoleStatement::Create { name, options: o } => {
                format!("CREATE ROLE {name} {}", options(o)).trim_end().to_string()
            }
            RoleStatement::Alter { name, options: o } => {
                format!("ALTER ROLE {name} {}", options(o)).trim_end().to_string()
            }
            RoleStatement::Rename { name, to } => format!("ALTER ROLE {name} RENAME TO {to}"),
            RoleStatement::Drop { names, .. } => format!("DROP ROLE {}", names.join(", ")),
        }
    }

    /// The command tag.
    pub fn command_name(&self) -> &'static str {
        match self {
            RoleStatement::Create { .. } => "CREATE ROLE",
            RoleStatement::Alter { .. } | RoleStatement::Rename { .. } => "ALTER ROLE",
            RoleStatement::Drop { .. } => "DROP ROLE",
        }
    }
}

fn role_name(name: &ast::ObjectName) -> Result<String> {
    match name.0.as_slice() {
        [part] => {
            part.as_ident().map(ident_name).ok_or_else(|| DbError::syntax(format!("invalid role name \"{name}\"")))
        }
        _ => Err(DbError::syntax(format!("role name \"{name}\" may not be qualified"))),
    }
}

/// Binds CREATE ROLE (and CREATE USER, which the parser turns into CREATE ROLE with LOGIN
/// defaulting to true).
pub fn bind_create(create: &ast::CreateRole) -> Result<RoleStatement> {
    if !create.in_role.is_empty()
        || !create.in_group.is_empty()
        || !create.role.is_empty()
        || !create.user.is_empty()
        || !create.admin.is_empty()
    {
        return Err(DbError::unsupported("role membership clauses (IN ROLE, ROLE, ADMIN); use GRANT"));
    }
    if create.if_not_exists {
        return Err(DbError::syntax("syntax error at or near \"IF\""));
    }
    if create.replication == Some(true) || create.bypassrls == Some(true) {
        return Err(DbError::unsupported("REPLICATION and BYPASSRLS roles"));
    }
    let [name] = create.names.as_slice() else {
        return Err(DbError::syntax("CREATE ROLE takes one role name"));
    };
    let options = RoleOptions {
        superuser: create.superuser,
        login: create.login,
        create_db: create.create_db,
        create_role: create.create_role,
        inherit: create.inherit,
        connection_limit: create.connection_limit.as_ref().map(connection_limit).transpose()?,
        valid_until: create.valid_until.as_ref().map(valid_until).transpose()?,
        password: create.password.as_ref().map(password).transpose()?,
    };
    Ok(RoleStatement::Create { name: role_name(name)?, options })
}

/// Binds ALTER ROLE / ALTER USER.
pub fn bind_alter(name: &ast::Ident, operation: &ast::AlterRoleOperation) -> Result<RoleStatement> {
    let name = ident_name(name);
    match operation {
        ast::AlterRoleOperation::RenameRole { role_name } => {
            Ok(RoleStatement::Rename { name, to: ident_name(role_name) })
        }
        ast::AlterRoleOperation::WithOptions { options: list } => {
            let mut options = RoleOptions::default();
            for option in list {
                use ast::RoleOption as O;
                match option {
                    O::SuperUser(b) => options.superuser = Some(*b),
                    O::Login(b) => options.login = Some(*b),
                    O::CreateDB(b) => options.create_db = Some(*b),
                    O::CreateRole(b) => options.create_role = Some(*b),
                    O::Inherit(b) => options.inherit = Some(*b),
                    O::ConnectionLimit(e) => options.connection_limit = Some(connection_limit(e)?),
                    O::ValidUntil(e) => options.valid_until = Some(valid_until(e)?),
                    O::Password(p) => options.password = Some(password(p)?),
                    O::Replication(false) | O::BypassRLS(false) => {}
                    O::Replication(true) | O::BypassRLS(true) => {
                        return Err(DbError::unsupported("REPLICATION and BYPASSRLS roles"));
                    }
                }
            }
            Ok(RoleStatement::Alter { name, options })
        }
        other => Err(DbError::unsupported(format!("ALTER ROLE ... {other}"))),
    }
}

/// Binds DROP ROLE / DROP USER.
pub fn bind_drop(names: &[ast::ObjectName], if_exists: bool) -> Result<RoleStatement> {
    Ok(RoleStatement::Drop { names: names.iter().map(role_name).collect::<Result<_>>()?, if_exists })
}

fn string_literal(expr: &ast::Expr, what: &str) -> Result<String> {
    match expr {
        ast::Expr::Value(v) => match &v.value {
            ast::Value::SingleQuotedString(s) | ast::Value::EscapedStringLiteral(s) => Ok(s.clone()),
            other => Err(DbError::syntax(format!("syntax error at or near \"{other}\" ({what} must be a string)"))),
        },
        other => Err(DbError::syntax(format!("syntax error at or near \"{other}\" ({what} must be a string)"))),
    }
}

fn password(p: &ast::Password) -> Result<Option<String>> {
    match p {
        ast::Password::NullPassword => Ok(None),
        ast::Password::Password(e) => Ok(Some(string_literal(e, "a password")?)),
    }
}

fn valid_until(expr: &ast::Expr) -> Result<Option<i64>> {
    let text = string_literal(expr, "VALID UNTIL")?;
    let ts = rustydb_foundation::datetime::parse_timestamp(&text, true)?;
    Ok((ts != i64::MAX).then_some(ts))
}

fn connection_limit(expr: &ast::Expr) -> Result<i32> {
    let (negative, inner) = match expr {
        ast::Expr::UnaryOp { op: ast::UnaryOperator::Minus, expr } => (true, expr.as_ref()),
        other => (false, other),
    };
    let ast::Expr::Value(v) = inner else {
        return Err(DbError::syntax(format!("syntax error at or near \"{expr}\"")));
    };
    let ast::Value::Number(n, _) = &v.value else {
        return Err(DbError::syntax(format!("syntax error at or near \"{expr}\"")));
    };
    let n: i32 = n.parse().map_err(|_| DbError::syntax(format!("syntax error at or near \"{n}\"")))?;
    let n = if negative { -n } else { n };
    if n < -1 {
        return Err(DbError::sql(SqlState::InvalidParameterValue, format!("invalid connection limit: {n}")));
    }
    Ok(n)
}

/// Runs a role statement in the context's transaction.
pub fn execute(ctx: &mut ExecContext<'_>, statement: &RoleStatement) -> Result<StatementResult> {
    let _ddl = ctx.engine.ddl_lock().lock();
    let me = catalog::find_role(ctx, ctx.user)?.unwrap_or_else(|| RoleDef::new(ctx.user));
    match statement {
        RoleStatement::Create { name, options } => create(ctx, &me, name, options),
        RoleStatement::Alter { name, options } => alter(ctx, &me, name, options),
        RoleStatement::Rename { name, to } => rename(ctx, &me, name, to),
        RoleStatement::Drop { names, if_exists } => drop(ctx, &me, names, *if_exists),
    }
}

fn denied(message: impl Into<String>) -> DbError {
    DbError::sql(SqlState::InsufficientPrivilege, message)
}

fn undefined(name: &str) -> DbError {
    DbError::sql(SqlState::UndefinedObject, format!("role \"{name}\" does not exist"))
}

/// Applies `options` to `role`, encoding a new password. Returns a notice if one is due.
fn apply(ctx: &ExecContext<'_>, role: &mut RoleDef, options: &RoleOptions) -> Result<Option<Notice>> {
    let mut notice = None;
    let set = |field: &mut bool, value: Option<bool>| {
        if let Some(v) = value {
            *field = v;
        }
    };
    set(&mut role.superuser, options.superuser);
    set(&mut role.can_login, options.login);
    set(&mut role.create_db, options.create_db);
    set(&mut role.create_role, options.create_role);
    set(&mut role.inherit, options.inherit);
    if let Some(n) = options.connection_limit {
        role.connection_limit = n;
    }
    if let Some(v) = options.valid_until {
        role.valid_until = v;
    }
    match &options.password {
        None => {}
        Some(None) => {
            role.password = None;
            role.password_outside = None;
        }
        Some(Some(p)) if p.is_empty() => {
            notice = Some(Notice::plain("empty string is not a valid password, clearing password"));
            role.password = None;
            role.password_outside = None;
        }
        Some(Some(p)) => {
            let encoder = ctx.engine.password_encoder().ok_or_else(|| {
                DbError::unsupported("passwords: this engine was opened without the security layer's password encoder")
            })?;
            // The password policy's reuse rule: not the current password, nor one of the
            // last `reuse_window` before it.
            let window = encoder.reuse_window();
            if window > 0
                && role.password.iter().chain(&role.password_history).take(window).any(|v| encoder.matches(v, p))
            {
                return Err(DbError::sql(
                    SqlState::InvalidParameterValue,
                    format!("password must not match any of the role's last {window} passwords"),
                ));
            }
            let verifier = encoder.encode(&role.name, p)?;
            if let Some(old) = role.password.take()
                && window > 0
            {
                role.password_history.insert(0, old);
                role.password_history.truncate(window);
            }
            role.password = Some(verifier);
            role.password_outside = encoder.outside_hash(p)?;
        }
    }
    Ok(notice)
}

fn result(tag: &str, notice: Option<Notice>) -> StatementResult {
    let mut result = StatementResult::tag(tag);
    result.notices.extend(notice);
    result
}

fn create(ctx: &mut ExecContext<'_>, me: &RoleDef, name: &str, options: &RoleOptions) -> Result<StatementResult> {
    if !me.superuser && !me.create_role {
        return Err(denied("permission denied to create role"));
    }
    if options.superuser == Some(true) && !me.superuser {
        return Err(denied("must be superuser to create superusers"));
    }
    if catalog::find_role(ctx, name)?.is_some() {
        return Err(DbError::sql(SqlState::DuplicateObject, format!("role \"{name}\" already exists")));
    }
    let mut role = RoleDef::new(name);
    let notice = apply(ctx, &mut role, options)?;
    catalog::create_role(ctx, &role)?;
    Ok(result("CREATE ROLE", notice))
}

fn alter(ctx: &mut ExecContext<'_>, me: &RoleDef, name: &str, options: &RoleOptions) -> Result<StatementResult> {
    let (tid, mut role) = catalog::find_role_row(ctx, name)?.ok_or_else(|| undefined(name))?;
    if !me.superuser {
        // PostgreSQL 15's rules: superusers are altered only by superusers; CREATEROLE may alter
        // other roles; anyone may change their own password.
        let own_password_only = me.name == role.name
            && *options == RoleOptions { password: options.password.clone(), ..RoleOptions::default() };
        if role.superuser || options.superuser.is_some() {
            return Err(denied("must be superuser to alter superuser roles or change superuser attribute"));
        }
        if !me.create_role && !own_password_only {
            return Err(denied("permission denied"));
        }
    }
    let notice = apply(ctx, &mut role, options)?;
    catalog::replace_role(ctx, tid, &role)?;
    Ok(result("ALTER ROLE", notice))
}

fn rename(ctx: &mut ExecContext<'_>, me: &RoleDef, name: &str, to: &str) -> Result<StatementResult> {
    let (tid, mut role) = catalog::find_role_row(ctx, name)?.ok_or_else(|| undefined(name))?;
    if role.name == ctx.session_user {
        return Err(DbError::sql(SqlState::FeatureNotSupported, "session user cannot be renamed"));
    }
    if role.name == ctx.user {
        return Err(DbError::sql(SqlState::FeatureNotSupported, "current user cannot be renamed"));
    }
    if role.name == ctx.engine.bootstrap_user() {
        // PostgreSQL knows its bootstrap superuser by oid and allows this; RustyDB knows it by
        // name, so it keeps the name.
        return Err(DbError::sql(
            SqlState::FeatureNotSupported,
            format!("the bootstrap superuser \"{name}\" cannot be renamed"),
        ));
    }
    if catalog::find_role(ctx, to)?.is_some() {
        return Err(DbError::sql(SqlState::DuplicateObject, format!("role \"{to}\" already exists")));
    }
    if role.superuser && !me.superuser {
        return Err(denied("must be superuser to rename superusers"));
    }
    if !me.superuser && !me.create_role {
        return Err(denied("permission denied to rename role"));
    }
    role.name = to.to_string();
    catalog::replace_role(ctx, tid, &role)?;
    catalog::rename_database_owner(ctx, name, to)?;
    crate::acl::rename_role(ctx, name, to)?;
    Ok(StatementResult::tag("ALTER ROLE"))
}

fn drop(ctx: &mut ExecContext<'_>, me: &RoleDef, names: &[String], if_exists: bool) -> Result<StatementResult> {
    if !me.superuser && !me.create_role {
        return Err(denied("permission denied to drop role"));
    }
    let mut result = StatementResult::tag("DROP ROLE");
    let bootstrap = ctx.engine.bootstrap_user().to_string();
    for name in names {
        let Some((tid, role)) = catalog::find_role_row(ctx, name)? else {
            if if_exists {
                result.notices.push(Notice::plain(format!("role \"{name}\" does not exist, skipping")));
                continue;
            }
            return Err(undefined(name));
        };
        if role.name == ctx.user {
            return Err(DbError::sql(SqlState::ObjectInUse, "current user cannot be dropped"));
        }
        if role.name == ctx.session_user {
            return Err(DbError::sql(SqlState::ObjectInUse, "session user cannot be dropped"));
        }
        if role.name == bootstrap {
            return Err(DbError::sql(
                SqlState::ObjectInUse,
                format!("cannot drop role {name} because it is required by the database system"),
            ));
        }
        if role.superuser && !me.superuser {
            return Err(denied("must be superuser to drop superusers"));
        }
        let owned = crate::acl::role_dependents(ctx, name)?;
        if !owned.is_empty() {
            return Err(DbError::sql(
                SqlState::DependentObjectsStillExist,
                format!("role \"{name}\" cannot be dropped because some objects depend on it"),
            )
            .with_detail(owned.join("\n")));
        }
        catalog::drop_role(ctx, tid)?;
        crate::acl::drop_role_memberships(ctx, name)?;
    }
    Ok(result)
}

/// May `user` (the session user) `SET ROLE role`? The role must exist, and `user` must be a
/// superuser or a member of it (directly or not, whether or not it inherits), as PostgreSQL
/// requires: 42704 or 42501 otherwise.
pub fn check_set_role(engine: &crate::engine::Engine, user: &str, database: &str, role: &str) -> Result<()> {
    let Some(control) = engine.access_control().cloned() else {
        return Ok(());
    };
    engine.with_security_catalog(database, |catalog| {
        if !catalog.roles.contains_key(role) {
            return Err(DbError::sql(SqlState::UndefinedObject, format!("role \"{role}\" does not exist")));
        }
        if role == user || catalog.is_superuser(user) || control.is_member_of(catalog, user, role) {
            return Ok(());
        }
        Err(denied(format!("permission denied to set role \"{role}\"")))
    })?
}
