//! Databases: CREATE, DROP and ALTER DATABASE, and what keeps databases apart.
//!
//! PostgreSQL gives each database its own copy of the catalogs; a session sees only its
//! database's tables because it opens only its database's files. RustyDB keeps one catalog
//! (one log, one buffer pool, one set of system tables) and tags each row that names an
//! object of one database with the *namespace* the object lives in:
//!
//! - `rustydb_databases` and `rustydb_namespaces` are shared. Every database has a `public`
//!   namespace, created with it. The bootstrap database's is [`PUBLIC_NAMESPACE`], which every
//!   row written before namespaces existed (a NULL namespace) belongs to.
//! - The catalogs of named objects (tables, indexes, views, sequences, owners, ACLs, policies)
//!   carry the namespace column [`catalog::namespace_column`] names. [`access::scan`] returns a
//!   session only its database's rows, so every lookup by name is confined to one database
//!   without knowing it. Lookups by table id (ids
//!   are unique across databases) and what spans databases (roles, the engine's startup,
//!   DROP DATABASE's sweep) read through [`access::scan_unscoped`].
//! - The catalog cache keys its entries by namespace.
//!
//! A database's schemas are its namespaces, `public` among them (see `schemas.rs`): a scan
//! returns the rows of any of them, and a lookup by name picks one along the search path.
//!
//! DROP DATABASE drops the database's tables and sequences (their files go at commit, as DROP
//! TABLE's do) and sweeps its remaining rows, in one transaction: all or nothing.

use crate::access;
use crate::acl::{self, ObjectKind, ObjectRef};
use crate::catalog::{self, PUBLIC_NAMESPACE};
use crate::context::ExecContext;
use crate::parser::{CreateOption, DatabaseCommand};
use crate::result::{Notice, StatementResult};
use rustydb_foundation::{DbError, Result, SqlState, TupleId, Value};
use rustydb_txn::{LockMode, WaitPolicy};

/// The bootstrap database's id (and `pg_database.oid`): PostgreSQL's `postgres` has 5.
pub const BOOTSTRAP_DATABASE: u32 = 5;

/// How long DROP DATABASE ... WITH (FORCE) waits for the sessions it ended to go.
const FORCE_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Ids handed out to databases and namespaces created later start here.
const FIRST_CREATED_ID: u32 = 16_384;

/// A database, as `rustydb_databases` records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseDef {
    /// Its id, which `pg_database.oid` shows.
    pub id: u32,
    /// Its name.
    pub name: String,
    /// Its owner's name.
    pub owner: String,
}

fn database_from_row(row: &[Value]) -> Result<DatabaseDef> {
    Ok(DatabaseDef {
        id: match row.get(2) {
            Some(Value::Int4(id)) => *id as u32,
            _ => BOOTSTRAP_DATABASE,
        },
        name: catalog::text(&row[0])?,
        owner: catalog::text(&row[1])?,
    })
}

/// Every database, with where its catalog row is, in id order.
pub fn list(ctx: &mut ExecContext<'_>) -> Result<Vec<(TupleId, DatabaseDef)>> {
    let mut out = access::scan(ctx, catalog::databases_table())?
        .into_iter()
        .map(|(tid, row)| Ok((tid, database_from_row(&row)?)))
        .collect::<Result<Vec<_>>>()?;
    out.sort_by_key(|(_, d)| d.id);
    Ok(out)
}

/// The database called `name`, with where its catalog row is.
pub fn find(ctx: &mut ExecContext<'_>, name: &str) -> Result<Option<(TupleId, DatabaseDef)>> {
    Ok(list(ctx)?.into_iter().find(|(_, d)| d.name == name))
}

/// The name of the database namespace `namespace` belongs to.
pub(crate) fn database_of_namespace(ctx: &mut ExecContext<'_>, namespace: u32) -> Result<Option<String>> {
    let mut database = None;
    for (_, row) in access::scan(ctx, catalog::namespaces_table())? {
        if row[0] == Value::Int4(namespace as i32) {
            database = row.get(2).cloned();
        }
    }
    let id = match database {
        Some(Value::Int4(id)) => id as u32,
        // A data directory from before namespaces: `public` of the bootstrap database.
        _ if namespace == PUBLIC_NAMESPACE => BOOTSTRAP_DATABASE,
        _ => return Ok(None),
    };
    Ok(list(ctx)?.into_iter().find(|(_, d)| d.id == id).map(|(_, d)| d.name))
}

/// The first start's databases: `database` (the bootstrap one) and, as every PostgreSQL
/// cluster has one and tools connect to it by default, `postgres`.
pub(crate) fn bootstrap(ctx: &mut ExecContext<'_>, superuser: &str, database: &str) -> Result<()> {
    write_database(ctx, BOOTSTRAP_DATABASE, PUBLIC_NAMESPACE, database, superuser)?;
    if database != "postgres" {
        write_database(ctx, FIRST_CREATED_ID, FIRST_CREATED_ID, "postgres", superuser)?;
    }
    Ok(())
}

fn write_database(ctx: &mut ExecContext<'_>, id: u32, namespace: u32, name: &str, owner: &str) -> Result<()> {
    catalog::note_change(ctx);
    let row = [Value::Text(name.into()), Value::Text(owner.into()), Value::Int4(id as i32)];
    access::insert_raw(ctx, catalog::databases_table(), &row)?;
    let row = [
        Value::Int4(namespace as i32),
        Value::Text("public".into()),
        Value::Int4(id as i32),
        Value::Text(owner.into()),
    ];
    access::insert_raw(ctx, catalog::namespaces_table(), &row)?;
    Ok(())
}

/// The next free id for a database and its namespace: past every id any version of any row
/// holds, committed or not, so none is handed out twice.
pub(crate) fn next_id(ctx: &mut ExecContext<'_>) -> Result<u32> {
    let mut max = FIRST_CREATED_ID;
    for (table, column) in [(catalog::databases_table(), 2), (catalog::namespaces_table(), 0)] {
        for (_, row) in access::scan_all_versions(ctx, table)? {
            if let Some(Value::Int4(id)) = row.get(column) {
                max = max.max(*id as u32 + 1);
            }
        }
    }
    Ok(max)
}

/// True if a database called `name` exists for anyone: committed, or being created by a
/// transaction still in progress. Asked under the DDL lock, as [`catalog::name_in_use`] is.
fn name_taken(ctx: &mut ExecContext<'_>, name: &str) -> Result<bool> {
    let table = catalog::databases_table();
    let heap = ctx.engine.txn_manager().storage().heap(table.file())?;
    for (tid, row) in access::scan_all_versions(ctx, table)? {
        if row[0] == Value::Text(name.into())
            && ctx.engine.txn_manager().liveness(ctx.txn, &heap, tid)? != rustydb_txn::Liveness::Dead
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Runs a database command in the context's transaction (CREATE and DROP in one of their
/// own: the session sees to that). `sessions_on` counts the other sessions connected to a
/// database; for DROP, a count of 0 also claims the database until the command's transaction
/// ends (see `Backends::try_claim`).
pub fn execute(
    ctx: &mut ExecContext<'_>,
    command: &DatabaseCommand,
    sessions_on: &dyn Fn(&str) -> usize,
) -> Result<StatementResult> {
    match command {
        DatabaseCommand::Create { name, options } => create(ctx, &crate::bind_expr::ident_name(name), options),
        DatabaseCommand::Drop { name, if_exists, force } => {
            drop(ctx, &crate::bind_expr::ident_name(name), *if_exists, *force, sessions_on)
        }
        DatabaseCommand::Rename { name, to } => {
            rename(ctx, &crate::bind_expr::ident_name(name), &crate::bind_expr::ident_name(to), sessions_on)
        }
        DatabaseCommand::Owner { name, to } => {
            let keyword = to.quote_style.is_none()
                && ["current_user", "session_user", "current_role"].iter().any(|k| to.value.eq_ignore_ascii_case(k));
            let to = if keyword { ctx.user.to_string() } else { crate::bind_expr::ident_name(to) };
            set_owner(ctx, &crate::bind_expr::ident_name(name), &to)
        }
    }
}

/// What the session's user may do, when privileges are checked at all.
struct Caller {
    superuser: bool,
    create_db: bool,
}

fn caller(ctx: &mut ExecContext<'_>) -> Result<Option<Caller>> {
    if ctx.engine.access_control().is_none() {
        return Ok(None);
    }
    let user = ctx.user.to_string();
    let me = catalog::find_role(ctx, &user)?;
    Ok(Some(Caller {
        superuser: me.as_ref().is_some_and(|r| r.superuser),
        create_db: me.as_ref().is_some_and(|r| r.create_db || r.superuser),
    }))
}

fn create(ctx: &mut ExecContext<'_>, name: &str, options: &[CreateOption]) -> Result<StatementResult> {
    let me = caller(ctx)?;
    if me.as_ref().is_some_and(|c| !c.create_db) {
        return Err(denied("permission denied to create database"));
    }
    let mut owner = ctx.user.to_string();
    for option in options {
        let value = option.value.as_ref().map(|v| v.text());
        let value = value.as_deref();
        match (option.name.as_str(), value) {
            (_, None) => {}
            ("owner", Some(role)) => {
                owner = role.to_string();
                check_new_owner(ctx, me.as_ref(), &owner)?;
            }
            ("template", Some("template0" | "template1")) => {}
            ("template", Some(template)) => {
                return Err(if find(ctx, template)?.is_some() {
                    DbError::sql(
                        SqlState::FeatureNotSupported,
                        format!(
                            "copying database \"{template}\" is not supported: a new database starts empty \
                             (TEMPLATE template0 or template1)"
                        ),
                    )
                } else {
                    DbError::sql(
                        SqlState::InvalidCatalogName,
                        format!("template database \"{template}\" does not exist"),
                    )
                });
            }
            ("encoding", Some(encoding)) => check_encoding(encoding)?,
            ("locale" | "lc_collate" | "lc_ctype", Some(locale)) => check_locale(locale)?,
            ("locale_provider", Some(p)) if p.eq_ignore_ascii_case("libc") => {}
            ("locale_provider", Some(p)) if p.eq_ignore_ascii_case("icu") => {
                return Err(unsupported(
                    "ICU collations are not supported: text compares bytewise, as in locale \"C\"",
                ));
            }
            ("locale_provider", Some(p)) => {
                return Err(DbError::sql(
                    SqlState::InvalidParameterValue,
                    format!("unrecognized locale provider: {p}"),
                ));
            }
            ("icu_locale", Some(_)) => {
                return Err(unsupported(
                    "ICU collations are not supported: text compares bytewise, as in locale \"C\"",
                ));
            }
            ("collation_version", Some(_)) => {}
            ("tablespace", Some("pg_default")) => {}
            ("tablespace", Some(t)) => {
                return Err(DbError::sql(SqlState::UndefinedObject, format!("tablespace \"{t}\" does not exist")));
            }
            ("strategy", Some(s)) if s.eq_ignore_ascii_case("wal_log") || s.eq_ignore_ascii_case("file_copy") => {}
            ("strategy", Some(s)) => {
                return Err(DbError::sql(
                    SqlState::InvalidParameterValue,
                    format!("invalid create database strategy \"{s}\""),
                )
                .with_hint("Valid strategies are \"wal_log\", and \"file_copy\"."));
            }
            ("allow_connections", Some(v)) => {
                if !boolean(&option.name, v)? {
                    return Err(unsupported(
                        "databases that refuse connections (ALLOW_CONNECTIONS false) are not supported",
                    ));
                }
            }
            ("is_template", Some(v)) => {
                if boolean(&option.name, v)? {
                    return Err(unsupported("template databases (IS_TEMPLATE true) are not supported"));
                }
            }
            ("connection_limit", Some(v)) => match v.parse::<i64>() {
                Ok(-1) => {}
                Ok(n) if n < -1 => {
                    return Err(DbError::sql(
                        SqlState::InvalidParameterValue,
                        format!("invalid connection limit: {n}"),
                    ));
                }
                Ok(_) => return Err(unsupported("a per-database CONNECTION LIMIT is not supported")),
                Err(_) => return Err(DbError::syntax(format!("{} requires an integer value", option.name))),
            },
            (_, Some(_)) => {
                return Err(unsupported(format!("CREATE DATABASE option {} is not supported", option.name)));
            }
        }
    }
    let _ddl = ctx.engine.ddl_lock().lock();
    if name_taken(ctx, name)? {
        return Err(DbError::sql(SqlState::DuplicateDatabase, format!("database \"{name}\" already exists")));
    }
    let id = next_id(ctx)?;
    write_database(ctx, id, id, name, &owner)?;
    Ok(StatementResult::tag("CREATE DATABASE"))
}

/// The new owner must exist, and a non-superuser must be a member of it.
fn check_new_owner(ctx: &mut ExecContext<'_>, me: Option<&Caller>, owner: &str) -> Result<()> {
    if catalog::find_role(ctx, owner)?.is_none() {
        return Err(DbError::sql(SqlState::UndefinedObject, format!("role \"{owner}\" does not exist")));
    }
    if me.is_some_and(|c| !c.superuser) && owner != ctx.user {
        let control = ctx.engine.access_control().cloned();
        let security = acl::load(ctx)?;
        if control.is_some_and(|c| !c.is_member_of(&security, ctx.user, owner)) {
            return Err(denied(format!("must be member of role \"{owner}\"")));
        }
    }
    Ok(())
}

fn drop(
    ctx: &mut ExecContext<'_>,
    name: &str,
    if_exists: bool,
    force: bool,
    sessions_on: &dyn Fn(&str) -> usize,
) -> Result<StatementResult> {
    let mut result = StatementResult::tag("DROP DATABASE");
    let Some((tid, db)) = find(ctx, name)? else {
        if if_exists {
            result.notices.push(Notice::plain(format!("database \"{name}\" does not exist, skipping")));
            return Ok(result);
        }
        return Err(undefined_database(name));
    };
    acl::require_owner(ctx, ObjectRef::new(ObjectKind::Database, name))?;
    if name == ctx.database {
        return Err(DbError::sql(SqlState::ObjectInUse, "cannot drop the currently open database"));
    }
    let mut others = sessions_on(name);
    if others > 0 && force {
        // FORCE: end them (if this role may), then wait up to 5 seconds for them to go, as
        // PostgreSQL does.
        // Exactly the sessions checked are ended: one starting meanwhile is counted below.
        let doomed = ctx.engine.backends().sessions_on(name);
        for backend in &doomed {
            crate::admin_functions::may_signal(ctx, &backend.user, crate::admin_functions::AdminCall::Terminate)?;
        }
        for backend in &doomed {
            backend.terminate();
        }
        let until = std::time::Instant::now() + FORCE_WAIT;
        while others > 0 && std::time::Instant::now() < until {
            ctx.interrupt.check()?;
            std::thread::sleep(std::time::Duration::from_millis(10));
            others = sessions_on(name);
        }
    }
    if others > 0 {
        return Err(being_accessed(name, others));
    }
    // Its tables' locks first, then the DDL lock (the order DROP TABLE takes them in).
    let tables = {
        let engine = ctx.engine;
        let snapshot = ctx.snapshot.clone();
        let user = ctx.user;
        let mut inner = ExecContext::new(engine, &mut *ctx.txn, snapshot, user, name);
        let tables = catalog::list_tables(&mut inner)?;
        for table in &tables {
            access::lock_table(&mut inner, table, LockMode::AccessExclusive, WaitPolicy::Block)?;
        }
        tables
    };
    let _ddl = ctx.engine.ddl_lock().lock();
    {
        let engine = ctx.engine;
        let snapshot = ctx.snapshot.clone();
        let user = ctx.user;
        let mut inner = ExecContext::new(engine, &mut *ctx.txn, snapshot, user, name);
        for table in &tables {
            catalog::drop_table(&mut inner, table)?;
            engine.drop_table_on_commit(inner.txn, table);
        }
        for (seq_tid, seq) in catalog::list_sequences(&mut inner)? {
            crate::sequence::drop(&mut inner, seq_tid, &seq)?;
        }
        catalog::delete_namespace_rows(&mut inner)?;
    }
    catalog::note_change(ctx);
    let namespaces = catalog::namespaces_table();
    for (ns_tid, row) in access::scan(ctx, namespaces)? {
        if row[2] == Value::Int4(db.id as i32) {
            access::delete(ctx, namespaces, ns_tid)?;
        }
    }
    gone(access::delete(ctx, catalog::databases_table(), tid)?)?;
    acl::forget(ctx, &ObjectRef::new(ObjectKind::Database, name))?;
    Ok(result)
}

fn rename(
    ctx: &mut ExecContext<'_>,
    name: &str,
    to: &str,
    sessions_on: &dyn Fn(&str) -> usize,
) -> Result<StatementResult> {
    let Some((tid, db)) = find(ctx, name)? else { return Err(undefined_database(name)) };
    // PostgreSQL's order: the privileges, then the new name (so a name's existence is not
    // told to whoever may not rename).
    acl::require_owner(ctx, ObjectRef::new(ObjectKind::Database, name))?;
    if caller(ctx)?.is_some_and(|c| !c.create_db) {
        return Err(denied("permission denied to rename database"));
    }
    let _ddl = ctx.engine.ddl_lock().lock();
    if name_taken(ctx, to)? {
        return Err(DbError::sql(SqlState::DuplicateDatabase, format!("database \"{to}\" already exists")));
    }
    if name == ctx.database {
        return Err(unsupported("current database cannot be renamed"));
    }
    let others = sessions_on(name);
    if others > 0 {
        return Err(being_accessed(name, others));
    }
    catalog::note_change(ctx);
    gone(access::delete(ctx, catalog::databases_table(), tid)?)?;
    let row = [Value::Text(to.into()), Value::Text(db.owner.clone()), Value::Int4(db.id as i32)];
    access::insert_raw(ctx, catalog::databases_table(), &row)?;
    acl::rename_object(ctx, &ObjectRef::new(ObjectKind::Database, name), to)?;
    Ok(StatementResult::tag("ALTER DATABASE"))
}

fn set_owner(ctx: &mut ExecContext<'_>, name: &str, to: &str) -> Result<StatementResult> {
    let Some((tid, db)) = find(ctx, name)? else { return Err(undefined_database(name)) };
    if db.owner == to {
        return Ok(StatementResult::tag("ALTER DATABASE"));
    }
    let me = caller(ctx)?;
    if me.as_ref().is_some_and(|c| !c.superuser) {
        acl::require_owner(ctx, ObjectRef::new(ObjectKind::Database, name))?;
        check_new_owner(ctx, me.as_ref(), to)?;
        if me.as_ref().is_some_and(|c| !c.create_db) {
            return Err(denied("permission denied to change owner of database"));
        }
    } else if catalog::find_role(ctx, to)?.is_none() {
        return Err(DbError::sql(SqlState::UndefinedObject, format!("role \"{to}\" does not exist")));
    }
    catalog::note_change(ctx);
    gone(access::delete(ctx, catalog::databases_table(), tid)?)?;
    let row = [Value::Text(name.into()), Value::Text(to.into()), Value::Int4(db.id as i32)];
    access::insert_raw(ctx, catalog::databases_table(), &row)?;
    Ok(StatementResult::tag("ALTER DATABASE"))
}

/// A database row about to be replaced or removed must be deleted by this transaction now; one
/// changed meanwhile by another is a serialization failure.
fn gone(outcome: rustydb_txn::Delete) -> Result<()> {
    match outcome {
        rustydb_txn::Delete::Done | rustydb_txn::Delete::AlreadyMine => Ok(()),
        _ => Err(DbError::serialization_failure()),
    }
}

/// UTF8 under any of the spellings PostgreSQL accepts; another real encoding is refused as
/// unsupported, a name that is none as PostgreSQL refuses it.
fn check_encoding(encoding: &str) -> Result<()> {
    let folded: String = encoding.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_lowercase();
    if matches!(folded.as_str(), "utf8" | "unicode" | "6") {
        return Ok(());
    }
    const KNOWN: &[&str] = &[
        "sqlascii",
        "eucjp",
        "euccn",
        "euckr",
        "euctw",
        "eucjis2004",
        "mulcinternal",
        "muleinternal",
        "koi8r",
        "koi8u",
        "gbk",
        "gb18030",
        "sjis",
        "big5",
        "uhc",
        "johab",
        "shiftjis2004",
        "iso88595",
        "iso88596",
        "iso88597",
        "iso88598",
    ];
    let latin =
        |p: &str| folded.strip_prefix(p).is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
    if KNOWN.contains(&folded.as_str()) || latin("latin") || latin("win") {
        return Err(unsupported(format!("encoding \"{encoding}\" is not supported: RustyDB stores text as UTF8")));
    }
    Err(DbError::sql(SqlState::UndefinedObject, format!("{encoding} is not a valid encoding name")))
}

/// The locales whose collation is bytewise, which is how RustyDB compares text.
fn check_locale(locale: &str) -> Result<()> {
    let bytewise = ["c", "posix", "c.utf8", "c.utf-8"];
    if bytewise.contains(&locale.to_lowercase().as_str()) {
        return Ok(());
    }
    Err(unsupported(format!(
        "locale \"{locale}\" is not supported: RustyDB compares text bytewise, as locale \"C\" does"
    )))
}

fn boolean(option: &str, value: &str) -> Result<bool> {
    match value.to_lowercase().as_str() {
        "true" | "on" | "1" | "yes" => Ok(true),
        "false" | "off" | "0" | "no" => Ok(false),
        _ => Err(DbError::syntax(format!("{option} requires a Boolean value"))),
    }
}

pub(crate) fn undefined_database(name: &str) -> DbError {
    DbError::sql(SqlState::InvalidCatalogName, format!("database \"{name}\" does not exist"))
}

fn being_accessed(name: &str, others: usize) -> DbError {
    DbError::sql(SqlState::ObjectInUse, format!("database \"{name}\" is being accessed by other users"))
        .with_detail(others_detail(others))
}

fn others_detail(others: usize) -> String {
    if others == 1 {
        "There is 1 other session using the database.".into()
    } else {
        format!("There are {others} other sessions using the database.")
    }
}

fn denied(message: impl Into<String>) -> DbError {
    DbError::sql(SqlState::InsufficientPrivilege, message)
}

fn unsupported(message: impl Into<String>) -> DbError {
    DbError::sql(SqlState::FeatureNotSupported, message)
}
