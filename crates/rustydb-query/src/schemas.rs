//! Schemas: the namespaces of one database, and the search path unqualified names resolve
//! along.
//!
//! Every catalog row naming an object of a database (a table, index, view, sequence, ACL,
//! owner or policy) carries the namespace the object lives in (see `databases.rs`). A
//! database's namespaces are its schemas: `public`, created with the database, and those
//! CREATE SCHEMA adds, all recorded in the shared `rustydb_namespaces`. So:
//!
//! - [`access::scan`] returns the rows of any of the session's database's namespaces
//!   ([`SchemaSet::contains`]), and a lookup by name picks the namespace it wants.
//! - A qualified name `s.t` is looked up in `s` only; an unqualified one in each schema of
//!   the session's `search_path` in turn ([`search_path`]), after the system catalogs, which
//!   PostgreSQL's implicit `pg_catalog` puts first. A new object goes in the first schema
//!   of the path that exists, or 3F000 when none does.
//! - A view's query was written against the search path of its CREATE VIEW; it is stored
//!   with that path and bound under it (PostgreSQL binds it once and keeps object ids).
//!
//! `pg_catalog` and `information_schema` are not rows here: the system tables are found by
//! name before any schema, and the catalog views are built by `pg_catalog.rs`.
//!
//! Each database's `public` shows as oid 2200, as in PostgreSQL, whatever its internal id
//! ([`SchemaSet::oid`]).
//!
//! **Temporary tables** live in a schema of their session's own, `pg_temp_N`, made by the
//! session's first CREATE TEMP TABLE (in that statement's transaction) and dropped with
//! everything in it when the session ends; what a crash leaves behind goes at the next start
//! ([`orphan_temp_schemas`]). As in PostgreSQL, it is searched before the search path (unless
//! the path names `pg_temp` elsewhere), never receives an unqualified CREATE that is not TEMP,
//! is `pg_temp` to its own session, and cannot be reached from another.

use crate::access;
use crate::acl::{self, ObjectKind, ObjectRef};
use crate::bind_expr::ident_name;
use crate::catalog::{self, PUBLIC_NAMESPACE};
use crate::context::ExecContext;
use crate::result::{Notice, StatementResult};
use rustydb_foundation::{DbError, Result, SqlState, TupleId, Value};
use rustydb_txn::{LockMode, WaitPolicy};
use sqlparser::ast;
use std::sync::Arc;

/// Stands for the session's temporary schema before it exists: a CREATE TEMP TABLE bound
/// with it makes the schema when it runs ([`ensure_temp_namespace`]).
pub const SESSION_TEMP: u32 = u32::MAX;

/// The prefix of temporary schemas' names.
const TEMP_PREFIX: &str = "pg_temp_";

/// A session's temporary schema: its name, and whether the session ever made it (so a
/// session that never did has nothing to drop when it ends).
#[derive(Debug)]
pub struct TempSchema {
    /// `pg_temp_N`.
    pub name: String,
    /// Set once the session has made it.
    pub made: std::sync::atomic::AtomicBool,
}

impl TempSchema {
    /// The temporary schema of the session with backend key `key`.
    pub fn for_session(key: u64) -> Self {
        TempSchema { name: format!("{TEMP_PREFIX}{key}"), made: Default::default() }
    }
}

/// Whether namespace `namespace` is another session's temporary schema (whose tables
/// database-wide ANALYZE and VACUUM pass over, as PostgreSQL's do).
pub(crate) fn is_others_temp(ctx: &mut ExecContext<'_>, namespace: u32) -> Result<bool> {
    let schemas = ctx.schemas()?;
    let Some(name) = schemas.name(namespace) else { return Ok(false) };
    Ok(is_temp_name(name) && ctx.temp_schema.as_ref().is_none_or(|t| t.name != name))
}

/// Whether `name` is a temporary schema's.
pub fn is_temp_name(name: &str) -> bool {
    name.strip_prefix(TEMP_PREFIX).is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// The namespace of the session's temporary schema, if the session has made it.
pub(crate) fn temp_namespace(ctx: &mut ExecContext<'_>) -> Result<Option<u32>> {
    let Some(temp) = ctx.temp_schema.clone() else { return Ok(None) };
    if !temp.made.load(std::sync::atomic::Ordering::Acquire) {
        return Ok(None);
    }
    Ok(ctx.schemas()?.by_name(&temp.name).map(|s| s.id))
}

/// `pg_catalog`'s oid: the namespace the system tables and built-ins are in.
pub const PG_CATALOG_NAMESPACE: u32 = 11;

/// `information_schema`'s oid.
pub const INFORMATION_SCHEMA_NAMESPACE: u32 = 13_000;

/// One schema of a database, as `rustydb_namespaces` records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaDef {
    /// Its namespace id: the value of the namespace column of its objects' catalog rows.
    pub id: u32,
    /// Its name.
    pub name: String,
    /// Its owner's name.
    pub owner: String,
}

/// The schemas of one database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaSet {
    /// The database's id.
    pub database_id: u32,
    /// The namespace id of its `public` schema: the key of what is cached per database.
    pub public: u32,
    schemas: Vec<SchemaDef>,
}

impl SchemaSet {
    /// Whether namespace `id` is one of this database's schemas.
    pub fn contains(&self, id: u32) -> bool {
        self.schemas.iter().any(|s| s.id == id)
    }

    /// The schema called `name`.
    pub fn by_name(&self, name: &str) -> Option<&SchemaDef> {
        self.schemas.iter().find(|s| s.name == name)
    }

    /// The schema of namespace `id`.
    pub fn by_id(&self, id: u32) -> Option<&SchemaDef> {
        self.schemas.iter().find(|s| s.id == id)
    }

    /// Every schema, in id order.
    pub fn iter(&self) -> impl Iterator<Item = &SchemaDef> {
        self.schemas.iter()
    }

    /// The name of namespace `id` (the two virtual schemas included), `None` if it is not
    /// this database's.
    pub fn name(&self, id: u32) -> Option<&str> {
        match id {
            PG_CATALOG_NAMESPACE => Some("pg_catalog"),
            INFORMATION_SCHEMA_NAMESPACE => Some("information_schema"),
            _ => self.by_id(id).map(|s| s.name.as_str()),
        }
    }

    /// The oid `pg_namespace` shows for namespace `id`: 2200 for `public`, as every
    /// PostgreSQL database's `public` has.
    pub fn oid(&self, id: u32) -> u32 {
        if id == self.public { PUBLIC_NAMESPACE } else { id }
    }

    /// The namespace `pg_namespace` oid `oid` stands for.
    pub fn from_oid(&self, oid: u32) -> u32 {
        if oid == PUBLIC_NAMESPACE { self.public } else { oid }
    }
}

/// An object's name as a statement gives it: `t` or `s.t`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QualifiedName {
    /// The schema named, if one is.
    pub schema: Option<String>,
    /// The object's own name.
    pub name: String,
}

/// Where a [`QualifiedName`] is looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// Unqualified: the system catalogs, then along the search path.
    Path,
    /// In this namespace only.
    In(u32),
    /// In `pg_catalog` (or `information_schema`): the system tables only.
    Catalog,
    /// In a schema that does not exist: nowhere.
    Nowhere,
}

impl QualifiedName {
    /// An unqualified name.
    pub fn bare(name: impl Into<String>) -> Self {
        QualifiedName { schema: None, name: name.into() }
    }

    /// `name` in schema `schema`.
    pub fn qualified(schema: impl Into<String>, name: impl Into<String>) -> Self {
        QualifiedName { schema: Some(schema.into()), name: name.into() }
    }

    /// Where the name is looked up.
    pub fn namespace(&self, ctx: &mut ExecContext<'_>) -> Result<Lookup> {
        let Some(schema) = &self.schema else { return Ok(Lookup::Path) };
        if schema == "pg_catalog" || schema == "information_schema" {
            return Ok(Lookup::Catalog);
        }
        if schema == "pg_temp" {
            return Ok(temp_namespace(ctx)?.map_or(Lookup::Nowhere, Lookup::In));
        }
        // Another session's temporary schema cannot be reached (its tables are its own).
        if is_temp_name(schema) && ctx.temp_schema.as_ref().is_none_or(|t| t.name != *schema) {
            return Ok(Lookup::Nowhere);
        }
        Ok(ctx.schemas()?.by_name(schema).map_or(Lookup::Nowhere, |s| Lookup::In(s.id)))
    }

    /// The namespaces the name is looked up in, in order (the system catalogs apart).
    pub fn namespaces(&self, ctx: &mut ExecContext<'_>) -> Result<Vec<u32>> {
        Ok(match self.namespace(ctx)? {
            Lookup::Path => ctx.search_path()?.to_vec(),
            Lookup::In(namespace) => vec![namespace],
            Lookup::Catalog | Lookup::Nowhere => Vec::new(),
        })
    }

    /// The namespace a new object of this name goes in: the schema named (3F000 if it does not
    /// exist), or the first of the search path.
    pub fn creation_namespace(&self, ctx: &mut ExecContext<'_>) -> Result<u32> {
        if self.schema.as_deref() == Some("pg_temp") && ctx.temp_schema.is_some() {
            return Ok(temp_namespace(ctx)?.unwrap_or(SESSION_TEMP));
        }
        match self.namespace(ctx)? {
            Lookup::Path => creation_namespace(ctx),
            Lookup::In(namespace) => Ok(namespace),
            Lookup::Catalog => {
                Err(DbError::sql(SqlState::InsufficientPrivilege, format!("permission denied to create \"{self}\""))
                    .with_detail("System catalog modifications are currently disallowed."))
            }
            Lookup::Nowhere => Err(undefined_schema(self.schema.as_deref().unwrap_or_default())),
        }
    }

    /// 3F000 if the name names a schema that does not exist (DROP and ALTER say so rather
    /// than that the object does not exist).
    pub fn check_schema(&self, ctx: &mut ExecContext<'_>) -> Result<()> {
        match self.namespace(ctx)? {
            Lookup::Nowhere => Err(undefined_schema(self.schema.as_deref().unwrap_or_default())),
            _ => Ok(()),
        }
    }
}

impl std::fmt::Display for QualifiedName {
    /// `s.t`, as PostgreSQL's messages print a qualified name (unquoted).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.schema {
            Some(schema) => write!(f, "{schema}.{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

impl From<&str> for QualifiedName {
    fn from(name: &str) -> Self {
        QualifiedName::bare(name)
    }
}

/// A relation name given as text (`regclass` input, `nextval('s.seq')`, the privilege
/// functions): dot-separated parts, unquoted ones folded to lower case, `"quoted"` ones kept
/// with `""` read as `"`. 42602 for an empty part or more than three; three parts name the
/// current database first (0A000 for another).
pub fn parse_qualified(text: &str, database: &str) -> Result<QualifiedName> {
    let invalid = || DbError::sql(SqlState::InvalidName, format!("invalid name syntax: \"{text}\""));
    let mut parts = Vec::new();
    let mut chars = text.trim().chars().peekable();
    loop {
        let mut part = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        part.push('"');
                    }
                    Some('"') => break,
                    Some(c) => part.push(c),
                    None => return Err(invalid()),
                }
            }
        } else {
            while let Some(c) = chars.peek().copied().filter(|c| *c != '.') {
                chars.next();
                part.push(c);
            }
            part = part.trim().to_lowercase();
        }
        if part.is_empty() {
            return Err(invalid());
        }
        parts.push(part);
        match chars.next() {
            None => break,
            Some('.') => {}
            Some(_) => return Err(invalid()),
        }
    }
    match parts.len() {
        1 => Ok(QualifiedName::bare(parts.remove(0))),
        2 => Ok(QualifiedName::qualified(parts.remove(0), parts.remove(0))),
        3 if parts[0] == database => Ok(QualifiedName::qualified(parts.remove(1), parts.remove(1))),
        3 => Err(DbError::unsupported(format!("cross-database references: \"{text}\""))),
        _ => {
            Err(DbError::sql(SqlState::InvalidName, format!("improper qualified name (too many dotted names): {text}")))
        }
    }
}

/// The schemas of the context's database: from the catalog cache when it holds them.
pub(crate) fn load(ctx: &mut ExecContext<'_>) -> Result<Arc<SchemaSet>> {
    if ctx.txn.catalog_changed {
        return read(ctx).map(Arc::new);
    }
    let cache = ctx.engine.catalog_cache().clone();
    if let Some(set) = cache.schemas(ctx.database) {
        return Ok(set);
    }
    let generation = cache.generation();
    let set = Arc::new(ctx.with_catalog_snapshot(read)?);
    cache.insert_schemas(generation, ctx.database, set.clone());
    Ok(set)
}

fn read(ctx: &mut ExecContext<'_>) -> Result<SchemaSet> {
    let name = ctx.database.to_string();
    let Some((_, db)) = crate::databases::find(ctx, &name)? else {
        return Err(crate::databases::undefined_database(&name));
    };
    let mut schemas = Vec::new();
    for (_, row) in access::scan(ctx, catalog::namespaces_table())? {
        if row[2] == Value::Int4(db.id as i32) {
            schemas.push(schema_from_row(&row)?);
        }
    }
    schemas.sort_by_key(|s| s.id);
    let public = match schemas.iter().find(|s| s.name == "public") {
        Some(s) => s.id,
        // A data directory from before namespaces: its one database owns every row.
        None if db.id == crate::databases::BOOTSTRAP_DATABASE => {
            schemas.insert(0, SchemaDef { id: PUBLIC_NAMESPACE, name: "public".into(), owner: db.owner.clone() });
            PUBLIC_NAMESPACE
        }
        None => return Err(DbError::Corruption(format!("database \"{name}\" has no public namespace"))),
    };
    Ok(SchemaSet { database_id: db.id, public, schemas })
}

fn schema_from_row(row: &[Value]) -> Result<SchemaDef> {
    Ok(SchemaDef {
        id: match row[0] {
            Value::Int4(n) => n as u32,
            ref other => return Err(DbError::Corruption(format!("bad namespace id {other:?}"))),
        },
        name: catalog::text(&row[1])?,
        owner: catalog::text(&row[3])?,
    })
}

/// The `rustydb_namespaces` row of the context's database's schema `id`.
pub(crate) fn schema_row(ctx: &mut ExecContext<'_>, id: u32) -> Result<Option<(TupleId, Vec<Value>)>> {
    Ok(access::scan(ctx, catalog::namespaces_table())?.into_iter().find(|(_, row)| row[0] == Value::Int4(id as i32)))
}

/// The schemas of `search_path`'s text, in order: names unquoted (`"$user"` stays `$user`),
/// unquoted ones folded to lower case.
pub fn parse_search_path(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut name = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                if c == '"' {
                    if chars.peek() == Some(&'"') {
                        chars.next();
                        name.push('"');
                    } else {
                        break;
                    }
                } else {
                    name.push(c);
                }
            }
            while chars.peek().is_some_and(|c| *c != ',') {
                chars.next();
            }
        } else {
            while let Some(c) = chars.peek().copied().filter(|c| *c != ',') {
                chars.next();
                name.push(c);
            }
            name = name.trim().to_lowercase();
        }
        if !name.is_empty() {
            out.push(name);
        }
        if chars.next().is_none() {
            return out;
        }
    }
}

/// The namespaces of the session's search path that exist, in order (`$user` is the schema
/// named as the current user, if there is one; `pg_catalog`, where named, is left out: the
/// system tables are found first anyway). The session's temporary schema, once made, comes
/// first unless the path names `pg_temp` elsewhere; other temporary schemas never count.
pub(crate) fn search_path(ctx: &mut ExecContext<'_>) -> Result<Vec<u32>> {
    let text = ctx.settings.map_or_else(|| crate::settings::DEFAULT_SEARCH_PATH.to_string(), |s| s.search_path());
    let set = ctx.schemas()?;
    let temp = temp_namespace(ctx)?;
    let mut out = Vec::new();
    let mut temp_placed = false;
    for name in parse_search_path(&text) {
        if name == "pg_temp" {
            out.extend(temp);
            temp_placed = true;
            continue;
        }
        let name = if name == "$user" { ctx.user.to_string() } else { name };
        if let Some(s) = set.by_name(&name)
            && !is_temp_name(&s.name)
            && !out.contains(&s.id)
        {
            out.push(s.id);
        }
    }
    if !temp_placed && let Some(temp) = temp {
        out.insert(0, temp);
    }
    Ok(out)
}

/// The search path a view or policy keeps for its stored text: the session's, without its
/// temporary schema (other sessions bind the text too, and must not reach into it).
pub(crate) fn stored_search_path(ctx: &mut ExecContext<'_>) -> Result<Vec<u32>> {
    let temp = temp_namespace(ctx)?;
    Ok(ctx.search_path()?.iter().copied().filter(|n| Some(*n) != temp).collect())
}

/// The namespace a new object with no schema named goes in: the first of the search path
/// that is not the temporary schema (which only CREATE TEMP puts things in).
pub(crate) fn creation_namespace(ctx: &mut ExecContext<'_>) -> Result<u32> {
    let temp = temp_namespace(ctx)?;
    ctx.search_path()?.iter().copied().find(|n| Some(*n) != temp).ok_or_else(no_schema_selected)
}

/// The namespace of the session's temporary schema, made now (in the context's transaction)
/// if the session has none: TEMPORARY on the database is needed, as in PostgreSQL.
pub(crate) fn ensure_temp_namespace(ctx: &mut ExecContext<'_>) -> Result<u32> {
    if let Some(namespace) = temp_namespace(ctx)? {
        return Ok(namespace);
    }
    let Some(temp) = ctx.temp_schema.clone() else {
        return Err(DbError::unsupported("temporary tables outside a session"));
    };
    require_on_database(ctx, acl::Privilege::Temporary)?;
    // A schema of the name left by a session before a crash went at startup; one made by a
    // statement of this session that rolled back is gone. So the name is free.
    let _ddl = ctx.engine.ddl_lock().lock();
    let owner = ctx.session_user.to_string();
    // Only its session can name it, whatever role that session takes on: PUBLIC holds all.
    let id = record_schema(ctx, &temp.name, &owner, None)?;
    temp.made.store(true, std::sync::atomic::Ordering::Release);
    Ok(id)
}

/// Records a new schema of the context's database (under the DDL lock): its namespace row,
/// its owner, and an ACL giving `grantee` (`None`: PUBLIC) every privilege on it. Returns its
/// namespace.
fn record_schema(ctx: &mut ExecContext<'_>, name: &str, owner: &str, grantee: Option<&str>) -> Result<u32> {
    catalog::note_change(ctx);
    let id = crate::databases::next_id(ctx)?;
    let database_id = ctx.schemas()?.database_id;
    let row =
        [Value::Int4(id as i32), Value::Text(name.into()), Value::Int4(database_id as i32), Value::Text(owner.into())];
    access::insert_raw(ctx, catalog::namespaces_table(), &row)?;
    ctx.forget_schemas();
    let object = ObjectRef::new(ObjectKind::Schema, name);
    acl::set_owner(ctx, &object, owner)?;
    let items = [acl::AclItem {
        grantee: grantee.map(str::to_string),
        grantor: owner.into(),
        privileges: ObjectKind::Schema.applicable(),
        grant_options: acl::PrivilegeSet::EMPTY,
    }];
    acl::write_acl(ctx, &acl::AclKey { object, column: None }, &items)?;
    Ok(id)
}

/// Drops the session's temporary schema and everything in it (the session is ending). Its
/// tables' locks are not waited for: a session's end must not hang on another's transaction
/// (what cannot go now goes at the next start).
pub(crate) fn drop_temp_schema(ctx: &mut ExecContext<'_>) -> Result<()> {
    let Some(temp) = ctx.temp_schema.clone() else { return Ok(()) };
    drop_schema_named(ctx, &temp.name, WaitPolicy::NoWait)
}

/// Drops schema `name` of the context's database with everything in it, no privilege asked
/// (a temporary schema its session or a crash left); its tables' locks are taken by `policy`.
pub(crate) fn drop_schema_named(ctx: &mut ExecContext<'_>, name: &str, policy: WaitPolicy) -> Result<()> {
    let Some(schema) = ctx.schemas()?.by_name(name).cloned() else { return Ok(()) };
    let mut tables = Vec::new();
    for t in catalog::list_tables(ctx)?.into_iter().filter(|t| t.namespace == schema.id) {
        tables.extend(access::open_table_in(ctx, schema.id, &t.name, LockMode::AccessExclusive, policy)?);
    }
    let _ddl = ctx.engine.ddl_lock().lock();
    ctx.with_catalog_snapshot(|ctx| drop_locked(ctx, &schema, tables, true)).map(|_| ())
}

/// The temporary schemas of every database, as (database, schema) names: at startup, what
/// the sessions of the run before left.
pub(crate) fn orphan_temp_schemas(ctx: &mut ExecContext<'_>) -> Result<Vec<(String, String)>> {
    let databases = crate::databases::list(ctx)?;
    let mut out = Vec::new();
    for (_, row) in access::scan_unscoped(ctx, catalog::namespaces_table())? {
        let name = catalog::text(&row[1])?;
        if !is_temp_name(&name) {
            continue;
        }
        if let Some((_, db)) = databases.iter().find(|(_, d)| Value::Int4(d.id as i32) == row[2]) {
            out.push((db.name.clone(), name));
        }
    }
    Ok(out)
}

/// Where CREATE TEMP puts `name`: the session's temporary schema ([`SESSION_TEMP`] until it
/// exists). 42P16 for another schema named; 0A000 for ON COMMIT DELETE ROWS and DROP, which
/// are not kept yet.
pub(crate) fn temp_creation_namespace(
    ctx: &mut ExecContext<'_>,
    name: &QualifiedName,
    on_commit: Option<&ast::OnCommit>,
) -> Result<u32> {
    let Some(temp) = ctx.temp_schema.clone() else {
        return Err(DbError::unsupported("temporary tables outside a session"));
    };
    if let Some(schema) = &name.schema
        && schema != "pg_temp"
        && *schema != temp.name
    {
        return Err(DbError::sql(
            SqlState::InvalidTableDefinition,
            "cannot create temporary relation in non-temporary schema",
        ));
    }
    if matches!(on_commit, Some(ast::OnCommit::DeleteRows | ast::OnCommit::Drop)) {
        return Err(DbError::unsupported("ON COMMIT DELETE ROWS and ON COMMIT DROP"));
    }
    Ok(temp_namespace(ctx)?.unwrap_or(SESSION_TEMP))
}

/// 55006: another transaction is changing what is in schema `name` (PostgreSQL would wait for
/// its lock on the schema).
fn being_changed(name: &str) -> DbError {
    DbError::sql(SqlState::ObjectInUse, format!("schema \"{name}\" is being changed by another transaction"))
}

/// Checks, under the DDL lock, that namespace `namespace` still exists for everyone, before
/// an object is created in it: a DROP SCHEMA committed or in progress since the statement
/// resolved the name means 3F000 or 55006.
pub(crate) fn require_live(ctx: &mut ExecContext<'_>, namespace: u32) -> Result<()> {
    if namespace == PG_CATALOG_NAMESPACE {
        return Ok(());
    }
    let table = catalog::namespaces_table();
    let heap = ctx.engine.txn_manager().storage().heap(table.file())?;
    let mut seen = false;
    let mut busy = None;
    for (tid, row) in access::scan_all_versions(ctx, table)? {
        if row[0] != Value::Int4(namespace as i32) {
            continue;
        }
        seen = true;
        match ctx.engine.txn_manager().liveness(ctx.txn, &heap, tid)? {
            rustydb_txn::Liveness::Live => return Ok(()),
            rustydb_txn::Liveness::Pending(_) => busy = Some(catalog::text(&row[1])?),
            rustydb_txn::Liveness::Dead => {}
        }
    }
    match busy {
        // The bootstrap database's `public` of a data directory from before namespaces.
        None if !seen && namespace == PUBLIC_NAMESPACE => Ok(()),
        Some(name) => Err(being_changed(&name)),
        None => Err(DbError::sql(SqlState::InvalidSchemaName, "the schema was dropped meanwhile")),
    }
}

/// 3F000, for creating an object when no schema of the search path exists.
pub fn no_schema_selected() -> DbError {
    DbError::sql(SqlState::InvalidSchemaName, "no schema has been selected to create in")
}

/// 3F000: `schema "name" does not exist`.
pub fn undefined_schema(name: &str) -> DbError {
    DbError::sql(SqlState::InvalidSchemaName, format!("schema \"{name}\" does not exist"))
}

/// CREATE, DROP and ALTER SCHEMA, bound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemaCommand {
    /// `CREATE SCHEMA [IF NOT EXISTS] [name] [AUTHORIZATION role]`.
    Create {
        /// The name (`None`: the role's).
        name: Option<String>,
        /// AUTHORIZATION: the owner (`current_user` for CURRENT_USER).
        owner: Option<String>,
        /// IF NOT EXISTS.
        if_not_exists: bool,
    },
    /// `DROP SCHEMA [IF EXISTS] names [CASCADE | RESTRICT]`.
    Drop {
        /// The schemas.
        names: Vec<String>,
        /// IF EXISTS.
        if_exists: bool,
        /// CASCADE: what is in them (and what depends on that) goes too.
        cascade: bool,
    },
    /// `ALTER SCHEMA name RENAME TO new`.
    Rename {
        /// The schema.
        name: String,
        /// Its new name.
        to: String,
    },
    /// `ALTER SCHEMA name OWNER TO role`.
    Owner {
        /// The schema.
        name: String,
        /// The new owner (`current_user` for CURRENT_USER).
        owner: String,
    },
}

impl SchemaCommand {
    /// The command tag.
    pub fn tag(&self) -> &'static str {
        match self {
            SchemaCommand::Create { .. } => "CREATE SCHEMA",
            SchemaCommand::Drop { .. } => "DROP SCHEMA",
            SchemaCommand::Rename { .. } | SchemaCommand::Owner { .. } => "ALTER SCHEMA",
        }
    }
}

/// Binds CREATE / DROP / ALTER SCHEMA; `None` for other statements.
pub fn bind(statement: &ast::Statement) -> Result<Option<SchemaCommand>> {
    let single = crate::grant::object_name;
    let role = |i: &ast::Ident| {
        if i.quote_style.is_none() && i.value.eq_ignore_ascii_case("current_user") {
            "current_user".to_string()
        } else {
            ident_name(i)
        }
    };
    Ok(Some(match statement {
        ast::Statement::CreateSchema {
            schema_name,
            if_not_exists,
            or_replace: false,
            with: None,
            options: None,
            default_collate_spec: None,
            clone: None,
        } => {
            let (name, owner) = match schema_name {
                ast::SchemaName::Simple(n) => (Some(single(n)?), None),
                ast::SchemaName::UnnamedAuthorization(r) => (None, Some(role(r))),
                ast::SchemaName::NamedAuthorization(n, r) => (Some(single(n)?), Some(role(r))),
            };
            SchemaCommand::Create { name, owner, if_not_exists: *if_not_exists }
        }
        ast::Statement::CreateSchema { .. } => return Err(DbError::unsupported("CREATE SCHEMA options")),
        ast::Statement::Drop { object_type: ast::ObjectType::Schema, if_exists, names, cascade, .. } => {
            SchemaCommand::Drop {
                names: names.iter().map(single).collect::<Result<_>>()?,
                if_exists: *if_exists,
                cascade: *cascade,
            }
        }
        ast::Statement::AlterSchema(alter) => {
            let name = single(&alter.name)?;
            match alter.operations.as_slice() {
                [ast::AlterSchemaOperation::Rename { name: to }] => SchemaCommand::Rename { name, to: single(to)? },
                [ast::AlterSchemaOperation::OwnerTo { owner }] => SchemaCommand::Owner {
                    name,
                    owner: match owner {
                        ast::Owner::Ident(i) => ident_name(i),
                        ast::Owner::CurrentUser | ast::Owner::SessionUser => "current_user".into(),
                        ast::Owner::CurrentRole => return Err(DbError::unsupported("OWNER TO CURRENT_ROLE")),
                    },
                },
                _ => return Err(DbError::unsupported(format!("the statement \"{alter}\""))),
            }
        }
        _ => return Ok(None),
    }))
}

/// Runs a schema command in the context's transaction.
pub fn execute(ctx: &mut ExecContext<'_>, command: &SchemaCommand) -> Result<StatementResult> {
    let mut result = StatementResult::tag(command.tag());
    // A session's temporary schema is its own: no statement drops, renames or gives it away
    // (its session's end does).
    let named: Vec<&String> = match command {
        SchemaCommand::Drop { names, .. } => names.iter().collect(),
        SchemaCommand::Rename { name, .. } | SchemaCommand::Owner { name, .. } => vec![name],
        SchemaCommand::Create { .. } => Vec::new(),
    };
    if let Some(temp) = named.into_iter().find(|n| is_temp_name(n)) {
        return Err(DbError::unsupported(format!("changing the temporary schema \"{temp}\"")));
    }
    match command {
        SchemaCommand::Create { name, owner, if_not_exists } => {
            if let Some(notice) = create(ctx, name.as_deref(), owner.as_deref(), *if_not_exists)? {
                result.notices.push(notice);
            }
        }
        SchemaCommand::Drop { names, if_exists, cascade } => {
            for name in names {
                result.notices.extend(drop(ctx, name, *if_exists, *cascade)?);
            }
        }
        SchemaCommand::Rename { name, to } => rename(ctx, name, to)?,
        SchemaCommand::Owner { name, owner } => change_owner(ctx, name, owner)?,
    }
    Ok(result)
}

/// 42939 for a name only system schemas may have.
fn check_name(name: &str) -> Result<()> {
    if name == "information_schema" {
        return Err(already_exists(name));
    }
    if name.starts_with("pg_") {
        return Err(DbError::sql(SqlState::ReservedName, format!("unacceptable schema name \"{name}\""))
            .with_detail("The prefix \"pg_\" is reserved for system schemas."));
    }
    Ok(())
}

/// The CREATE privilege on the session's database, which creating and renaming schemas need.
fn require_create_in_database(ctx: &mut ExecContext<'_>) -> Result<()> {
    require_on_database(ctx, acl::Privilege::Create)
}

/// `privilege` on the session's database (42501 without it).
fn require_on_database(ctx: &mut ExecContext<'_>, privilege: acl::Privilege) -> Result<()> {
    let database = ctx.database.to_string();
    acl::require(
        ctx,
        acl::AccessRequest::Object {
            object: ObjectRef::new(ObjectKind::Database, database),
            any_of: acl::PrivilegeSet::of(&[privilege]),
        },
    )
}

/// The session user must be able to act as `role` to make it an owner (superusers may).
fn require_member_of(ctx: &mut ExecContext<'_>, role: &str) -> Result<()> {
    let catalog = acl::load(ctx)?;
    if !catalog.roles.contains_key(role) {
        return Err(DbError::sql(SqlState::UndefinedObject, format!("role \"{role}\" does not exist")));
    }
    if let Some(control) = ctx.engine.access_control().cloned()
        && !catalog.is_superuser(ctx.user)
        && !control.is_member_of(&catalog, ctx.user, role)
    {
        return Err(DbError::sql(SqlState::InsufficientPrivilege, format!("must be member of role \"{role}\"")));
    }
    Ok(())
}

/// True if a schema called `name` exists in the session's database for anyone: committed, or
/// being created by a transaction still in progress. Asked under the DDL lock.
fn name_taken(ctx: &mut ExecContext<'_>, name: &str) -> Result<bool> {
    let database = Value::Int4(ctx.schemas()?.database_id as i32);
    let table = catalog::namespaces_table();
    let heap = ctx.engine.txn_manager().storage().heap(table.file())?;
    for (tid, row) in access::scan_all_versions(ctx, table)? {
        if row[1] == Value::Text(name.into())
            && row[2] == database
            && ctx.engine.txn_manager().liveness(ctx.txn, &heap, tid)? != rustydb_txn::Liveness::Dead
        {
            return Ok(true);
        }
    }
    Ok(false)
}

fn already_exists(name: &str) -> DbError {
    DbError::sql(SqlState::DuplicateSchema, format!("schema \"{name}\" already exists"))
}

fn create(
    ctx: &mut ExecContext<'_>,
    name: Option<&str>,
    owner: Option<&str>,
    if_not_exists: bool,
) -> Result<Option<Notice>> {
    let owner = match owner {
        None | Some("current_user") => ctx.user.to_string(),
        Some(role) => role.to_string(),
    };
    let name = name.map_or_else(|| owner.clone(), str::to_string);
    check_name(&name)?;
    require_create_in_database(ctx)?;
    require_member_of(ctx, &owner)?;
    let _ddl = ctx.engine.ddl_lock().lock();
    if name_taken(ctx, &name)? {
        if if_not_exists {
            return Ok(Some(Notice::plain(format!("schema \"{name}\" already exists, skipping"))));
        }
        return Err(already_exists(&name));
    }
    // A new schema's ACL is its owner's alone (PostgreSQL's default for a schema other than
    // `public`, which also lets PUBLIC use it).
    record_schema(ctx, &name, &owner, Some(&owner))?;
    Ok(None)
}

/// A database's `public` is what caches and new databases key on: it cannot go or be renamed
/// yet (PostgreSQL allows both).
fn refuse_public(ctx: &mut ExecContext<'_>, schema: &SchemaDef, what: &str) -> Result<()> {
    if schema.id == ctx.schemas()?.public {
        return Err(DbError::unsupported(format!("{what} a database's public schema")));
    }
    Ok(())
}

/// The schema called `name` of the session's database; 3F000 if there is none.
fn existing(ctx: &mut ExecContext<'_>, name: &str) -> Result<SchemaDef> {
    ctx.schemas()?.by_name(name).cloned().ok_or_else(|| undefined_schema(name))
}

fn drop(ctx: &mut ExecContext<'_>, name: &str, if_exists: bool, cascade: bool) -> Result<Vec<Notice>> {
    let schema = match ctx.schemas()?.by_name(name).cloned() {
        Some(s) => s,
        None if if_exists => return Ok(vec![Notice::plain(format!("schema \"{name}\" does not exist, skipping"))]),
        None => return Err(undefined_schema(name)),
    };
    acl::require_owner(ctx, ObjectRef::new(ObjectKind::Schema, name))?;
    refuse_public(ctx, &schema, "dropping")?;
    let namespace = schema.id;
    // The tables' locks before the DDL lock, as DROP TABLE takes them.
    let mut tables = Vec::new();
    for t in catalog::list_tables(ctx)?.into_iter().filter(|t| t.namespace == namespace) {
        tables.extend(access::open_table_in(ctx, namespace, &t.name, LockMode::AccessExclusive, WaitPolicy::Block)?);
    }
    let _ddl = ctx.engine.ddl_lock().lock();
    ctx.with_catalog_snapshot(|ctx| drop_locked(ctx, &schema, tables, cascade))
}

/// DROP SCHEMA once its tables are locked: what is in it, and what outside depends on that
/// (other tables' foreign keys, views reading it), then the schema itself.
fn drop_locked(
    ctx: &mut ExecContext<'_>,
    schema: &SchemaDef,
    tables: Vec<catalog::TableDef>,
    cascade: bool,
) -> Result<Vec<Notice>> {
    let namespace = schema.id;
    let name = &schema.name;
    // What was created in the schema meanwhile: a table committed since the locks were taken
    // (not locked), or anything another transaction is still creating in it.
    let locked: Vec<rustydb_foundation::TableId> = tables.iter().map(|t| t.id).collect();
    if catalog::list_tables(ctx)?.iter().any(|t| t.namespace == namespace && !locked.contains(&t.id))
        || catalog::namespace_has_pending_rows(ctx, namespace)?
    {
        return Err(being_changed(name));
    }
    let views: Vec<(TupleId, catalog::ViewDef)> =
        catalog::list_views(ctx)?.into_iter().filter(|(_, v)| v.namespace == namespace).collect();
    // A SERIAL column's sequence goes with its table, as an internal dependency.
    let sequences: Vec<(TupleId, catalog::SequenceDef)> = catalog::list_sequences(ctx)?
        .into_iter()
        .filter(|(_, s)| s.namespace == namespace && s.owner.is_none_or(|(t, _)| !tables.iter().any(|d| d.id.0 == t)))
        .collect();
    // What is in the schema, in creation order as PostgreSQL lists it (tables and sequences
    // by id, then views, which have none).
    let mut contents: Vec<(u32, String)> =
        tables.iter().map(|t| (t.id.0, format!("table {name}.{}", t.name))).collect();
    contents.extend(sequences.iter().map(|(_, s)| (s.id, format!("sequence {name}.{}", s.name))));
    contents.sort();
    let mut objects: Vec<String> = contents.into_iter().map(|(_, o)| o).collect();
    objects.extend(views.iter().map(|(_, v)| format!("view {name}.{}", v.name)));
    if !objects.is_empty() && !cascade {
        let detail: Vec<String> = objects.iter().map(|o| format!("{o} depends on schema {name}")).collect();
        return Err(DbError::sql(
            SqlState::DependentObjectsStillExist,
            format!("cannot drop schema {name} because other objects depend on it"),
        )
        .with_detail(detail.join("\n"))
        .with_hint("Use DROP ... CASCADE to drop the dependent objects too."));
    }
    // Outside the schema: foreign keys into its tables, views reading its relations.
    let ids: Vec<rustydb_foundation::TableId> = tables.iter().map(|t| t.id).collect();
    let mut narrowed = Vec::new();
    for other in catalog::list_tables(ctx)?.into_iter().filter(|t| t.namespace != namespace) {
        let (dependent, kept): (Vec<_>, Vec<_>) =
            other.foreign_keys.iter().cloned().partition(|k| ids.contains(&k.parent));
        if !dependent.is_empty() {
            objects.extend(dependent.iter().map(|k| format!("constraint {} on table {}", k.name, other.name)));
            narrowed.push((other, kept));
        }
    }
    let mut outside = crate::dependents::Dependents::default();
    let mut relations: Vec<(&str, catalog::Relation)> =
        tables.iter().map(|t| ("table", catalog::Relation::new(namespace, &t.name))).collect();
    relations.extend(views.iter().map(|(_, v)| ("view", catalog::Relation::new(namespace, &v.name))));
    let inside: Vec<catalog::Relation> = relations.iter().map(|(_, r)| r.clone()).collect();
    outside.add_views(ctx, &relations, &inside)?;
    objects.extend(outside.views.iter().map(|(_, v)| format!("view {}", v.name)));
    for (other, kept) in narrowed {
        catalog::set_foreign_keys(ctx, &other, &kept)?;
    }
    outside.drop_views(ctx)?;
    for (tid, view) in &views {
        catalog::drop_view(ctx, *tid)?;
        acl::forget(ctx, &ObjectRef::view(view))?;
    }
    for table in &tables {
        catalog::drop_table(ctx, table)?;
        acl::forget(ctx, &ObjectRef::table(table))?;
        ctx.engine.drop_table_on_commit(ctx.txn, table);
    }
    for (tid, seq) in catalog::list_sequences(ctx)? {
        if seq.namespace == namespace {
            crate::sequence::drop(ctx, tid, &seq)?;
        }
    }
    catalog::note_change(ctx);
    if let Some((tid, _)) = schema_row(ctx, namespace)? {
        access::delete(ctx, catalog::namespaces_table(), tid)?;
    }
    ctx.forget_schemas();
    acl::forget(ctx, &ObjectRef::new(ObjectKind::Schema, name.as_str()))?;
    Ok(match objects.as_slice() {
        [] => Vec::new(),
        [one] => vec![Notice::plain(format!("drop cascades to {one}"))],
        many => vec![
            Notice::plain(format!("drop cascades to {} other objects", many.len()))
                .with_detail(many.iter().map(|o| format!("drop cascades to {o}")).collect::<Vec<_>>().join("\n")),
        ],
    })
}

fn rename(ctx: &mut ExecContext<'_>, name: &str, to: &str) -> Result<()> {
    let schema = existing(ctx, name)?;
    acl::require_owner(ctx, ObjectRef::new(ObjectKind::Schema, name))?;
    refuse_public(ctx, &schema, "renaming")?;
    require_create_in_database(ctx)?;
    check_name(to)?;
    let _ddl = ctx.engine.ddl_lock().lock();
    if name_taken(ctx, to)? {
        return Err(already_exists(to));
    }
    // Views and column defaults keep names as text: one spelling the schema out would lose
    // what it names (PostgreSQL keeps object ids instead).
    let spelled = |sql: &str| crate::sql_names::mentions_qualifier(sql, name).unwrap_or(true);
    let mut users: Vec<String> = catalog::list_views(ctx)?
        .into_iter()
        .filter(|(_, v)| spelled(&v.definition))
        .map(|(_, v)| format!("view {}", v.name))
        .collect();
    for t in catalog::list_tables(ctx)? {
        if t.schema.columns.iter().any(|c| c.default.as_deref().is_some_and(|d| d.contains(&format!("{name}.")))) {
            users.push(format!("table {}", t.name));
        }
    }
    if let Some(user) = users.first() {
        return Err(DbError::unsupported(format!("renaming schema \"{name}\" while {user} names it in its text"))
            .with_hint("Drop and recreate what names the schema around the rename."));
    }
    catalog::note_change(ctx);
    let Some((tid, mut row)) = schema_row(ctx, schema.id)? else { return Err(undefined_schema(name)) };
    row[1] = Value::Text(to.into());
    access::delete(ctx, catalog::namespaces_table(), tid)?;
    access::insert_raw(ctx, catalog::namespaces_table(), &row)?;
    ctx.forget_schemas();
    acl::rename_object(ctx, &ObjectRef::new(ObjectKind::Schema, name), to)
}

fn change_owner(ctx: &mut ExecContext<'_>, name: &str, owner: &str) -> Result<()> {
    let schema = existing(ctx, name)?;
    let owner = if owner == "current_user" { ctx.user.to_string() } else { owner.to_string() };
    let object = ObjectRef::new(ObjectKind::Schema, name);
    let catalog = acl::load(ctx)?;
    let old = catalog.owner(&object).to_string();
    if old == owner {
        return Ok(());
    }
    acl::require_owner(ctx, object.clone())?;
    require_member_of(ctx, &owner)?;
    require_create_in_database(ctx)?;
    let _ddl = ctx.engine.ddl_lock().lock();
    catalog::note_change(ctx);
    if let Some((tid, mut row)) = schema_row(ctx, schema.id)? {
        row[3] = Value::Text(owner.clone());
        access::delete(ctx, catalog::namespaces_table(), tid)?;
        access::insert_raw(ctx, catalog::namespaces_table(), &row)?;
        ctx.forget_schemas();
    }
    acl::transfer_ownership(ctx, &catalog, &object, &owner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_path_text_is_split_unquoted_and_folded() {
        assert_eq!(parse_search_path("\"$user\", public"), vec!["$user", "public"]);
        assert_eq!(parse_search_path("A ,b,, \"C d\"\"e\""), vec!["a", "b", "C d\"e"]);
        assert_eq!(parse_search_path(""), Vec::<String>::new());
        assert_eq!(parse_search_path("''"), vec!["''"]);
    }

    #[test]
    fn relation_names_as_text_are_split_and_folded() {
        assert_eq!(parse_qualified("T", "db").unwrap(), QualifiedName::bare("t"));
        assert_eq!(parse_qualified("S.\"My.T\"", "db").unwrap(), QualifiedName::qualified("s", "My.T"));
        assert_eq!(parse_qualified("db.s.t", "db").unwrap(), QualifiedName::qualified("s", "t"));
        assert_eq!(parse_qualified("\"a\"\"b\"", "db").unwrap(), QualifiedName::bare("a\"b"));
        for bad in ["", "s.", ".t", "\"open", "a.b.c.d"] {
            assert!(parse_qualified(bad, "db").is_err(), "{bad:?} was accepted");
        }
        assert_eq!(parse_qualified("x.s.t", "db").unwrap_err().sqlstate(), SqlState::FeatureNotSupported);
    }
}
