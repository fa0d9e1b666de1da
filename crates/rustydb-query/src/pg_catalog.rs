//! The `pg_catalog` relations and functions that psql and drivers read, computed from
//! RustyDB's own catalog when a query names them.
//!
//! RustyDB keeps its catalog in its own system tables (`rustydb_tables`, ...); PostgreSQL's
//! tools expect `pg_class`, `pg_namespace` and the rest with PostgreSQL's column names and
//! codes. Each is built as a VALUES list at bind time, from the committed catalog, so a
//! tool's query (with its joins, filters and CASEs) runs through the ordinary engine.
//! Relations are looked up in `pg_catalog` first, as PostgreSQL's search path does.
//!
//! Object ids: a table's id is its oid; an index's is its id, and the primary key declared by
//! CREATE TABLE has the table's id with bit 30 set (its file id); a view's is derived from its
//! catalog row. The bootstrap superuser is role 10, as in PostgreSQL, and every object is
//! owned by it (ownership comes with privileges).

use crate::acl::{ObjectKind, ObjectRef};
use crate::catalog::{self, INDEX_FILES, IndexMethod};
use crate::context::ExecContext;
use crate::expr::{BinaryOp, Expr};
use rustydb_foundation::{DataType, DbError, Result, SqlState, Value};
use std::collections::HashMap;

/// `pg_catalog`'s namespace oid.
pub const PG_CATALOG_NAMESPACE: i32 = 11;
/// `public`'s namespace oid.
pub const PUBLIC_NAMESPACE: i32 = 2200;
/// The bootstrap superuser's role oid.
pub const BOOTSTRAP_SUPERUSER: i32 = 10;
/// The first oid of other roles.
const FIRST_ROLE: i32 = 16_384;
/// The bit that marks a view's oid.
const VIEW_OIDS: u32 = 1 << 29;

/// The oid a view is known by: its catalog row's address, above the table oids.
pub(crate) fn view_oid(tid: rustydb_foundation::TupleId) -> u32 {
    VIEW_OIDS | (tid.page.number << 8) | u32::from(tid.slot & 0xff)
}

const AM_HEAP: i32 = 2;
const AM_BTREE: i32 = 403;
const AM_HASH: i32 = 405;
const AM_LSM: i32 = 4_000;

/// A catalog relation's columns and rows.
#[derive(Debug)]
pub struct Relation {
    /// Column names and types.
    pub columns: Vec<(&'static str, DataType)>,
    /// The rows.
    pub rows: Vec<Vec<Value>>,
}

/// `pg_default`'s oid: the tablespace of every database.
const DEFAULT_TABLESPACE: u32 = 1663;

/// The relations this module provides (`information_schema`'s by their qualified names).
const RELATIONS: [&str; 15] = [
    "pg_namespace",
    "pg_tablespace",
    "pg_class",
    "pg_attribute",
    "pg_policy",
    "pg_am",
    "pg_index",
    "pg_database",
    "pg_roles",
    "pg_user",
    "pg_authid",
    "information_schema.tables",
    "information_schema.columns",
    "information_schema.schemata",
    "information_schema.views",
];

/// True if `name` is a relation of `pg_catalog` RustyDB provides.
pub fn is_relation(name: &str) -> bool {
    RELATIONS.contains(&name)
        || crate::pg_stat::RELATIONS.contains(&name)
        || name == "pg_settings"
        || name == "pg_prepared_statements"
        || crate::pg_describe::RELATIONS.contains(&name)
}

fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}

fn oid(v: u32) -> Value {
    Value::Int4(v as i32)
}

/// The rows of relation `name` (one of [`RELATIONS`]).
pub fn relation(ctx: &mut ExecContext<'_>, name: &str) -> Result<Relation> {
    use DataType::{Bool, Float4, Int2, Int4, Text, TimestampTz};
    let acl_list = DataType::Array(rustydb_foundation::ElementType::Text);
    let rel = |columns: Vec<(&'static str, DataType)>, rows| Relation { columns, rows };
    Ok(match name {
        "pg_namespace" => {
            rel(vec![("oid", Int4), ("nspname", Text), ("nspowner", Int4), ("nspacl", acl_list)], namespace_rows(ctx)?)
        }
        "pg_am" => rel(
            vec![("oid", Int4), ("amname", Text), ("amtype", Text)],
            [(AM_HEAP, "heap", "t"), (AM_BTREE, "btree", "i"), (AM_HASH, "hash", "i"), (AM_LSM, "lsm", "i")]
                .into_iter()
                .map(|(id, n, t)| vec![Value::Int4(id), text(n), text(t)])
                .collect(),
        ),
        "pg_class" => rel(
            vec![
                ("oid", Int4),
                ("relname", Text),
                ("relnamespace", Int4),
                ("relkind", Text),
                ("relowner", Int4),
                ("relam", Int4),
                ("relpages", Int4),
                ("reltuples", Float4),
                ("relhasindex", Bool),
                ("relpersistence", Text),
                ("relnatts", Int2),
                ("relchecks", Int2),
                ("relhasrules", Bool),
                ("relhastriggers", Bool),
                ("relrowsecurity", Bool),
                ("relforcerowsecurity", Bool),
                ("relispartition", Bool),
                ("reltablespace", Int4),
                ("reloftype", Int4),
                ("relreplident", Text),
                ("reltoastrelid", Int4),
                ("relacl", acl_list),
                ("reloptions", acl_list),
                ("relpartbound", Text),
            ],
            class_rows(ctx)?,
        ),
        "pg_attribute" => rel(
            vec![
                ("attrelid", Int4),
                ("attname", Text),
                ("atttypid", Int4),
                ("attlen", Int2),
                ("attnum", Int2),
                ("atttypmod", Int4),
                ("attnotnull", Bool),
                ("atthasdef", Bool),
                ("attidentity", Text),
                ("attgenerated", Text),
                ("attisdropped", Bool),
                ("attcollation", Int4),
                ("attacl", acl_list),
                ("attstattarget", Int4),
                ("attstorage", Text),
                ("attcompression", Text),
            ],
            attribute_rows(ctx)?,
        ),
        "pg_policy" => rel(
            vec![
                ("oid", Int4),
                ("polname", Text),
                ("polrelid", Int4),
                ("polcmd", Text),
                ("polpermissive", Bool),
                ("polroles", DataType::Array(rustydb_foundation::ElementType::Int4)),
                ("polqual", Text),
                ("polwithcheck", Text),
            ],
            policy_rows(ctx)?,
        ),
        "pg_index" => rel(
            vec![
                ("indexrelid", Int4),
                ("indrelid", Int4),
                ("indnatts", Int2),
                ("indisunique", Bool),
                ("indisprimary", Bool),
                ("indisclustered", Bool),
                ("indisvalid", Bool),
                ("indisreplident", Bool),
                ("indkey", Text),
                ("indnkeyatts", Int2),
                ("indimmediate", Bool),
                ("indnullsnotdistinct", Bool),
                ("indpred", Text),
                ("indexprs", Text),
            ],
            index_rows(ctx)?,
        ),
        "pg_database" => rel(
            vec![
                ("oid", Int4),
                ("datname", Text),
                ("datdba", Int4),
                ("encoding", Int4),
                ("datlocprovider", Text),
                ("datistemplate", Bool),
                ("datallowconn", Bool),
                ("datconnlimit", Int4),
                ("datcollate", Text),
                ("datctype", Text),
                ("daticulocale", Text),
                ("datacl", acl_list),
                ("dattablespace", Int4),
            ],
            database_rows(ctx)?,
        ),
        // One tablespace holds everything (the data directory); pg_global is PostgreSQL's
        // shared catalogs' and is listed as there.
        "pg_tablespace" => rel(
            vec![("oid", Int4), ("spcname", Text), ("spcowner", Int4), ("spcacl", acl_list), ("spcoptions", acl_list)],
            [(DEFAULT_TABLESPACE, "pg_default"), (1664, "pg_global")]
                .into_iter()
                .map(|(id, name)| vec![oid(id), text(name), Value::Int4(BOOTSTRAP_SUPERUSER), Value::Null, Value::Null])
                .collect(),
        ),
        "pg_roles" | "pg_user" | "pg_authid" => {
            // pg_authid holds the verifiers: PostgreSQL lets only superusers read it.
            let authid = name == "pg_authid";
            if authid && !catalog::find_role(ctx, ctx.user)?.is_some_and(|r| r.superuser) {
                return Err(DbError::sql(SqlState::InsufficientPrivilege, "permission denied for table pg_authid"));
            }
            let roles = catalog::list_roles(ctx)?;
            let rows = roles
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    let password = match (&r.password, authid) {
                        (Some(p), true) => text(p),
                        (None, true) => Value::Null,
                        (_, false) => text("********"),
                    };
                    vec![
                        text(&r.name),
                        Value::Bool(r.superuser),
                        Value::Bool(r.inherit),
                        Value::Bool(r.create_role),
                        Value::Bool(r.create_db),
                        Value::Bool(r.can_login),
                        Value::Bool(false),
                        Value::Bool(r.superuser),
                        Value::Int4(r.connection_limit),
                        password,
                        r.valid_until.map_or(Value::Null, Value::TimestampTz),
                        Value::Int4(role_oid(i)),
                    ]
                })
                .collect();
            rel(
                vec![
                    ("rolname", Text),
                    ("rolsuper", Bool),
                    ("rolinherit", Bool),
                    ("rolcreaterole", Bool),
                    ("rolcreatedb", Bool),
                    ("rolcanlogin", Bool),
                    ("rolreplication", Bool),
                    ("rolbypassrls", Bool),
                    ("rolconnlimit", Int4),
                    ("rolpassword", Text),
                    ("rolvaliduntil", TimestampTz),
                    ("oid", Int4),
                ],
                rows,
            )
        }
        "information_schema.tables" => rel(
            vec![
                ("table_catalog", Text),
                ("table_schema", Text),
                ("table_name", Text),
                ("table_type", Text),
                ("is_insertable_into", Text),
                ("is_typed", Text),
            ],
            information_tables(ctx)?,
        ),
        "information_schema.columns" => rel(
            vec![
                ("table_catalog", Text),
                ("table_schema", Text),
                ("table_name", Text),
                ("column_name", Text),
                ("ordinal_position", Int4),
                ("column_default", Text),
                ("is_nullable", Text),
                ("data_type", Text),
                ("character_maximum_length", Int4),
                ("numeric_precision", Int4),
                ("numeric_precision_radix", Int4),
                ("numeric_scale", Int4),
                ("datetime_precision", Int4),
                ("udt_name", Text),
                ("is_updatable", Text),
            ],
            information_columns(ctx)?,
        ),
        "information_schema.schemata" => {
            rel(vec![("catalog_name", Text), ("schema_name", Text), ("schema_owner", Text)], {
                let security = crate::acl::load(ctx)?;
                let bootstrap = catalog::list_roles(ctx)?.first().map(|r| r.name.clone()).unwrap_or_default();
                let mut rows = vec![vec![text(ctx.database), text("pg_catalog"), text(&bootstrap)]];
                for s in ctx.schemas()?.iter() {
                    let owner = security.owner(&ObjectRef::new(ObjectKind::Schema, s.name.as_str()));
                    rows.push(vec![text(ctx.database), text(&s.name), text(owner)]);
                }
                rows.push(vec![text(ctx.database), text("information_schema"), text(&bootstrap)]);
                rows
            })
        }
        "information_schema.views" => rel(
            vec![("table_catalog", Text), ("table_schema", Text), ("table_name", Text), ("view_definition", Text)],
            {
                let schemas = ctx.schemas()?;
                catalog::list_views(ctx)?
                    .into_iter()
                    .map(|(_, v)| {
                        let schema = schemas.name(v.namespace).unwrap_or_default();
                        vec![text(ctx.database), text(schema), text(&v.name), text(&v.definition)]
                    })
                    .collect()
            },
        ),
        other if crate::pg_stat::RELATIONS.contains(&other) => crate::pg_stat::relation(ctx, other)?,
        "pg_settings" => crate::pg_settings::relation(ctx),
        "pg_prepared_statements" => ctx
            .prepared
            .as_ref()
            .map(|p| p.relation())
            .unwrap_or_else(|| crate::prepared_statements::PreparedStatements::default().relation()),
        other if crate::pg_describe::RELATIONS.contains(&other) => crate::pg_describe::relation(ctx, other)?,
        other => return Err(DbError::Internal(format!("no catalog relation {other}"))),
    })
}

fn information_tables(ctx: &mut ExecContext<'_>) -> Result<Vec<Vec<Value>>> {
    let database = ctx.database.to_string();
    let row = |schema: &str, name: &str, kind: &str| {
        let insertable = if kind == "BASE TABLE" { "YES" } else { "NO" };
        vec![text(&database), text(schema), text(name), text(kind), text(insertable), text("NO")]
    };
    let mut rows: Vec<Vec<Value>> =
        catalog::system_tables().iter().map(|t| row("pg_catalog", &t.name, "BASE TABLE")).collect();
    let schemas = ctx.schemas()?;
    let schema = |namespace: u32| schemas.name(namespace).unwrap_or_default().to_string();
    rows.extend(catalog::list_tables(ctx)?.iter().map(|t| row(&schema(t.namespace), &t.name, "BASE TABLE")));
    rows.extend(catalog::list_views(ctx)?.iter().map(|(_, v)| row(&schema(v.namespace), &v.name, "VIEW")));
    Ok(rows)
}

/// `information_schema.columns`: each column with its type as the SQL standard names it.
fn information_columns(ctx: &mut ExecContext<'_>) -> Result<Vec<Vec<Value>>> {
    let database = ctx.database.to_string();
    let mut rows = Vec::new();
    let mut add = |schema: &str, table: &str, position: usize, column: &rustydb_foundation::Column| {
        let (name, ty, nullable) = (&column.name, column.data_type, column.nullable);
        let int = |v: Option<i32>| v.map_or(Value::Null, Value::Int4);
        let (precision, scale) = match ty {
            DataType::Int2 => (Some(16), Some(0)),
            DataType::Int4 => (Some(32), Some(0)),
            DataType::Int8 => (Some(64), Some(0)),
            DataType::Float4 => (Some(24), None),
            DataType::Float8 => (Some(53), None),
            DataType::Numeric(Some((p, s))) => (Some(i32::from(p)), Some(i32::from(s))),
            _ => (None, None),
        };
        // Binary digits for the integers and floats, decimal for numeric (NULL unconstrained).
        let radix = match ty {
            DataType::Numeric(_) => Some(10),
            _ => precision.map(|_| 2),
        };
        let length = match ty {
            DataType::Varchar(n) => n.map(|n| n as i32),
            DataType::Char(n) => Some(n as i32),
            _ => None,
        };
        let datetime = match ty {
            DataType::Date => Some(0),
            DataType::Timestamp | DataType::TimestampTz => Some(6),
            _ => None,
        };
        rows.push(vec![
            text(&database),
            text(schema),
            text(table),
            text(name),
            Value::Int4(position as i32 + 1),
            column.default.as_deref().map_or(Value::Null, |d| text(&crate::pg_describe::shown_default(d, ty))),
            text(if nullable { "YES" } else { "NO" }),
            // information_schema names every array type ARRAY (udt_name says which).
            text(if matches!(ty, DataType::Array(_)) { "ARRAY" } else { ty.sql_name() }),
            int(length),
            int(precision),
            int(radix),
            int(scale),
            int(datetime),
            text(crate::types::type_name(ty)),
            text("YES"),
        ]);
    };
    let schemas = ctx.schemas()?;
    for t in catalog::list_tables(ctx)? {
        for (i, c) in t.schema.columns.iter().enumerate() {
            add(schemas.name(t.namespace).unwrap_or_default(), &t.name, i, c);
        }
    }
    for (_, view) in catalog::list_views(ctx)? {
        let Some(types) = view_column_types(ctx, &view) else { continue };
        for (i, (name, ty)) in view.columns.iter().zip(types).enumerate() {
            let column = rustydb_foundation::Column::new(name.as_str(), ty);
            add(schemas.name(view.namespace).unwrap_or_default(), &view.name, i, &column);
        }
    }
    Ok(rows)
}

/// The oid of the `i`th role (in creation order).
pub(crate) fn role_oid(i: usize) -> i32 {
    if i == 0 { BOOTSTRAP_SUPERUSER } else { FIRST_ROLE + i as i32 - 1 }
}

fn am_of(method: IndexMethod) -> i32 {
    match method {
        IndexMethod::BTree => AM_BTREE,
        IndexMethod::Hash => AM_HASH,
        IndexMethod::Lsm => AM_LSM,
    }
}

fn class_row(id: u32, name: &str, namespace: i32, kind: &str, am: i32, has_index: bool, columns: usize) -> Vec<Value> {
    vec![
        oid(id),
        text(name),
        Value::Int4(namespace),
        text(kind),
        Value::Int4(BOOTSTRAP_SUPERUSER),
        Value::Int4(am),
        Value::Int4(0),
        Value::Float4(-1.0),
        Value::Bool(has_index),
        text("p"),
        Value::Int2(columns as i16),
        Value::Int2(0),
        Value::Bool(false),
        Value::Bool(false),
        Value::Bool(false),
        Value::Bool(false),
        Value::Bool(false),
        Value::Int4(0),
        Value::Int4(0),
        text(if kind == "r" { "d" } else { "n" }),
        Value::Int4(0),
        Value::Null,
        Value::Null,
        Value::Null,
    ]
}

/// An object's ACL as `aclitem[]` text items, or NULL while it has the default one (as
/// PostgreSQL keeps `relacl` NULL until the first GRANT or REVOKE).
fn acl_value(security: &crate::acl::SecurityCatalog, object: ObjectRef, column: Option<usize>) -> Value {
    match security.acls.get(&crate::acl::AclKey { object, column }) {
        None => Value::Null,
        Some(items) => Value::Array(
            rustydb_foundation::ElementType::Text,
            items.iter().filter(|i| !i.privileges.is_empty()).map(|i| Value::Text(i.to_string())).collect(),
        ),
    }
}

/// Index of `reltuples` in a `pg_class` row (-1 until ANALYZE, as in PostgreSQL).
const RELTUPLES: usize = 7;
/// Index of `relchecks` in a `pg_class` row.
const RELCHECKS: usize = 11;
/// Index of `relpersistence` in a `pg_class` row.
const RELPERSISTENCE: usize = 9;
/// Index of `relacl` in a `pg_class` row.
const RELACL: usize = 21;
/// Indexes of `relrowsecurity` and `relforcerowsecurity`.
const RELROWSECURITY: usize = 14;

fn class_rows(ctx: &mut ExecContext<'_>) -> Result<Vec<Vec<Value>>> {
    let security = crate::acl::load(ctx)?;
    let mut rows = Vec::new();
    for t in catalog::system_tables() {
        rows.push(class_row(t.id.0, &t.name, PG_CATALOG_NAMESPACE, "r", AM_HEAP, false, t.schema.len()));
    }
    let stats = crate::statistics::load(ctx)?;
    let schemas = ctx.schemas()?;
    for t in catalog::list_tables(ctx)? {
        let has_index = !t.primary_key.is_empty() || !t.indexes.is_empty();
        let namespace = schemas.oid(t.namespace) as i32;
        let mut row = class_row(t.id.0, &t.name, namespace, "r", AM_HEAP, has_index, t.schema.len());
        if let Some(s) = stats.get(&t.id) {
            row[RELTUPLES] = Value::Float4(s.rows as f32);
        }
        row[RELCHECKS] = Value::Int2(t.checks.len() as i16);
        if schemas.name(t.namespace).is_some_and(crate::schemas::is_temp_name) {
            row[RELPERSISTENCE] = text("t");
        }
        row[RELACL] = acl_value(&security, ObjectRef::table(&t), None);
        let (enabled, forced) = security.rls.get(&ObjectRef::table(&t)).copied().unwrap_or_default();
        row[RELROWSECURITY] = Value::Bool(enabled);
        row[RELROWSECURITY + 1] = Value::Bool(forced);
        rows.push(row);
        if !t.primary_key.is_empty() {
            let pk = t.primary_index_file().0;
            rows.push(class_row(pk, &t.primary_key_name(), namespace, "i", AM_BTREE, false, t.primary_key.len()));
        }
        for i in &t.indexes {
            rows.push(class_row(i.id.0, &i.name, namespace, "i", am_of(i.method), false, i.columns.len()));
        }
    }
    for (tid, view) in catalog::list_views(ctx)? {
        let id = view_oid(tid);
        let namespace = schemas.oid(view.namespace) as i32;
        let mut row = class_row(id, &view.name, namespace, "v", 0, false, view.columns.len());
        row[RELACL] = acl_value(&security, ObjectRef::view(&view), None);
        rows.push(row);
    }
    Ok(rows)
}

/// The oid of the relation `name` stands for (a table, index or view), if there is one: a
/// system table first, then along the search path (or in the schema named).
pub(crate) fn relation_oid(ctx: &mut ExecContext<'_>, name: &crate::catalog::QualifiedName) -> Result<Option<i32>> {
    Ok(relation_oid_and_kind(ctx, name)?.map(|(oid, _)| oid))
}

/// [`relation_oid`], with the relation's `relkind`.
pub(crate) fn relation_oid_and_kind(
    ctx: &mut ExecContext<'_>,
    name: &crate::catalog::QualifiedName,
) -> Result<Option<(i32, String)>> {
    let schemas = ctx.schemas()?;
    let mut namespaces: Vec<i32> = match name.namespace(ctx)? {
        crate::catalog::Lookup::Nowhere => return Ok(None),
        crate::catalog::Lookup::Catalog => Vec::new(),
        _ => name.namespaces(ctx)?.into_iter().map(|n| schemas.oid(n) as i32).collect(),
    };
    if name.schema.is_none() || name.namespace(ctx)? == crate::catalog::Lookup::Catalog {
        namespaces.insert(0, PG_CATALOG_NAMESPACE);
    }
    let rows = class_rows(ctx)?;
    let wanted = Value::Text(name.name.clone());
    for namespace in namespaces {
        let found = rows.iter().find(|row| row[1] == wanted && row[2] == Value::Int4(namespace));
        if let Some(row) = found
            && let (Value::Int4(id), Value::Text(kind)) = (&row[0], &row[3])
        {
            return Ok(Some((*id, kind.clone())));
        }
    }
    Ok(None)
}

/// The oids of the relations an unqualified name cannot reach: those outside the search
/// path, and those a relation of the same name earlier on the path hides.
fn invisible_relations(ctx: &mut ExecContext<'_>) -> Result<Vec<i32>> {
    let schemas = ctx.schemas()?;
    let mut path: Vec<i32> = vec![PG_CATALOG_NAMESPACE];
    path.extend(ctx.search_path()?.iter().map(|n| schemas.oid(*n) as i32));
    let rows = class_rows(ctx)?;
    let id = |row: &Vec<Value>| match row[0] {
        Value::Int4(id) => id,
        _ => 0,
    };
    let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut visible: std::collections::HashSet<i32> = std::collections::HashSet::new();
    for namespace in &path {
        for row in rows.iter().filter(|row| row[2] == Value::Int4(*namespace)) {
            if let Value::Text(name) = &row[1]
                && seen.insert(name.clone())
            {
                visible.insert(id(row));
            }
        }
    }
    Ok(rows.iter().map(id).filter(|oid| !visible.contains(oid)).collect())
}

/// `pg_namespace`: the system schemas and the database's own.
fn namespace_rows(ctx: &mut ExecContext<'_>) -> Result<Vec<Vec<Value>>> {
    let security = crate::acl::load(ctx)?;
    let roles = catalog::list_roles(ctx)?;
    let owner = |name: &str| roles.iter().position(|r| r.name == name).map_or(BOOTSTRAP_SUPERUSER, role_oid);
    let system = |id: i32, name: &str| vec![Value::Int4(id), text(name), Value::Int4(BOOTSTRAP_SUPERUSER), Value::Null];
    let mut rows = vec![system(PG_CATALOG_NAMESPACE, "pg_catalog"), system(99, "pg_toast")];
    let schemas = ctx.schemas()?;
    for s in schemas.iter() {
        let object = ObjectRef::new(ObjectKind::Schema, s.name.as_str());
        rows.push(vec![
            Value::Int4(schemas.oid(s.id) as i32),
            text(&s.name),
            Value::Int4(owner(security.owner(&object))),
            acl_value(&security, object, None),
        ]);
    }
    rows.push(system(crate::schemas::INFORMATION_SCHEMA_NAMESPACE as i32, "information_schema"));
    Ok(rows)
}

/// `pg_attribute`: the user tables' columns, with their column privileges.
fn attribute_rows(ctx: &mut ExecContext<'_>) -> Result<Vec<Vec<Value>>> {
    let security = crate::acl::load(ctx)?;
    let mut rows = Vec::new();
    for t in catalog::list_tables(ctx)? {
        for (i, c) in t.schema.columns.iter().enumerate() {
            rows.push(vec![
                oid(t.id.0),
                text(&c.name),
                oid(c.data_type.oid()),
                Value::Int2(c.data_type.type_len()),
                Value::Int2(i as i16 + 1),
                Value::Int4(c.data_type.type_modifier()),
                Value::Bool(!c.nullable),
                Value::Bool(c.default.is_some()),
                text(""),
                text(""),
                Value::Bool(false),
                Value::Int4(0),
                acl_value(&security, ObjectRef::table(&t), Some(i)),
            ]);
        }
        // An index's own attributes: its key columns, in key order.
        let mut indexes: Vec<(u32, &[usize])> = t.indexes.iter().map(|i| (i.id.0, &i.columns[..])).collect();
        if !t.primary_key.is_empty() {
            indexes.push((t.primary_index_file().0, &t.primary_key));
        }
        for (index, columns) in indexes {
            for (k, &c) in columns.iter().enumerate() {
                let column = &t.schema.columns[c];
                rows.push(vec![
                    oid(index),
                    text(&column.name),
                    oid(column.data_type.oid()),
                    Value::Int2(column.data_type.type_len()),
                    Value::Int2(k as i16 + 1),
                    Value::Int4(column.data_type.type_modifier()),
                    Value::Bool(false),
                    Value::Bool(false),
                    text(""),
                    text(""),
                    Value::Bool(false),
                    Value::Int4(0),
                    Value::Null,
                ]);
            }
        }
    }
    // A view's columns, with the types its query gives them now (bound afresh; a view
    // whose query no longer binds shows none, as its use would fail).
    for (tid, view) in catalog::list_views(ctx)? {
        let id = view_oid(tid);
        let Some(types) = view_column_types(ctx, &view) else { continue };
        for (i, (name, ty)) in view.columns.iter().zip(types).enumerate() {
            rows.push(vec![
                oid(id),
                text(name),
                oid(ty.oid()),
                Value::Int2(ty.type_len()),
                Value::Int2(i as i16 + 1),
                Value::Int4(ty.type_modifier()),
                Value::Bool(false),
                Value::Bool(false),
                text(""),
                text(""),
                Value::Bool(false),
                Value::Int4(0),
                acl_value(&security, ObjectRef::view(&view), Some(i)),
            ]);
        }
    }
    // The statistics target (-1: the default), and the storage strategy as the type's
    // `typstorage` gives it: plain for fixed-length types, main for numeric, extended for the
    // other variable-length ones; no column sets a compression method of its own.
    for row in &mut rows {
        let storage = match (&row[3], &row[2]) {
            (Value::Int2(len), _) if *len > 0 => "p",
            (_, Value::Int4(1700)) => "m",
            _ => "x",
        };
        row.extend([Value::Int4(-1), text(storage), text("")]);
    }
    Ok(rows)
}

/// The types of `view`'s columns, from binding its query now (`None` if it does not bind).
pub(crate) fn view_column_types(ctx: &mut ExecContext<'_>, view: &catalog::ViewDef) -> Option<Vec<DataType>> {
    let statements = crate::parser::parse(&view.definition).ok()?;
    let [sqlparser::ast::Statement::Query(q)] = statements.as_slice() else { return None };
    // Describing the view is not reading it: no privilege checks are recorded.
    let first_request = ctx.access_requests.len();
    let plan = crate::binder::bind_select(ctx, q);
    ctx.access_requests.truncate(first_request);
    Some(plan.ok()?.columns.into_iter().map(|c| c.data_type).collect())
}

/// `pg_policy`: row-level security policies (`polqual` and `polwithcheck` hold the SQL text
/// that `pg_get_expr` hands back).
fn policy_rows(ctx: &mut ExecContext<'_>) -> Result<Vec<Vec<Value>>> {
    use crate::row_security::PolicyCommand;
    let security = crate::acl::load(ctx)?;
    let tables: HashMap<String, u32> = catalog::list_tables(ctx)?.into_iter().map(|t| (t.name, t.id.0)).collect();
    let roles = catalog::list_roles(ctx)?;
    let role_oid_of = |name: &str| roles.iter().position(|r| r.name == name).map_or(0, role_oid);
    let mut rows = Vec::new();
    for (i, p) in security.policies.iter().enumerate() {
        let Some(&table) = tables.get(&p.table) else { continue };
        let command = match p.command {
            PolicyCommand::All => "*",
            PolicyCommand::Select => "r",
            PolicyCommand::Insert => "a",
            PolicyCommand::Update => "w",
            PolicyCommand::Delete => "d",
        };
        let to: Vec<Value> = if p.roles.is_empty() {
            vec![Value::Int4(0)]
        } else {
            p.roles.iter().map(|r| Value::Int4(role_oid_of(r))).collect()
        };
        rows.push(vec![
            Value::Int4(POLICY_OIDS + i as i32),
            text(&p.name),
            oid(table),
            text(command),
            Value::Bool(p.permissive),
            Value::Array(rustydb_foundation::ElementType::Int4, to),
            p.using.as_deref().map_or(Value::Null, text),
            p.with_check.as_deref().map_or(Value::Null, text),
        ]);
    }
    Ok(rows)
}

/// Where `pg_policy` OIDs start (they are positions, stable within a catalog generation).
const POLICY_OIDS: i32 = 0x3000_0000;

fn index_rows(ctx: &mut ExecContext<'_>) -> Result<Vec<Vec<Value>>> {
    let key = |columns: &[usize]| text(&columns.iter().map(|c| (c + 1).to_string()).collect::<Vec<_>>().join(" "));
    let row = |index: u32, table: u32, columns: &[usize], unique: bool, primary: bool| {
        vec![
            oid(index),
            oid(table),
            Value::Int2(columns.len() as i16),
            Value::Bool(unique),
            Value::Bool(primary),
            Value::Bool(false),
            Value::Bool(true),
            Value::Bool(false),
            key(columns),
            Value::Int2(columns.len() as i16),
            Value::Bool(true),
            Value::Bool(false),
            Value::Null,
            Value::Null,
        ]
    };
    let mut rows = Vec::new();
    for t in catalog::list_tables(ctx)? {
        if !t.primary_key.is_empty() {
            rows.push(row(t.id.0 | INDEX_FILES, t.id.0, &t.primary_key, true, true));
        }
        for i in &t.indexes {
            rows.push(row(i.id.0, t.id.0, &i.columns, i.unique, i.primary));
        }
    }
    Ok(rows)
}

fn database_rows(ctx: &mut ExecContext<'_>) -> Result<Vec<Vec<Value>>> {
    let security = crate::acl::load(ctx)?;
    let roles = catalog::list_roles(ctx)?;
    let owner = |name: &str| roles.iter().position(|r| r.name == name).map_or(BOOTSTRAP_SUPERUSER, role_oid);
    Ok(crate::databases::list(ctx)?
        .into_iter()
        .map(|(_, db)| {
            let name = db.name;
            vec![
                Value::Int4(db.id as i32),
                text(&name),
                Value::Int4(owner(&db.owner)),
                Value::Int4(6),
                text("c"),
                Value::Bool(false),
                Value::Bool(true),
                Value::Int4(-1),
                text("C"),
                text("C"),
                Value::Null,
                acl_value(&security, ObjectRef::new(ObjectKind::Database, &name), None),
                oid(DEFAULT_TABLESPACE),
            ]
        })
        .collect())
}

/// The catalog functions tools call, bound with their arguments: `Ok(None)` if `name` is not
/// one of them.
pub fn bind_function(mut ctx: Option<&mut ExecContext<'_>>, name: &str, args: &[Expr]) -> Result<Option<Expr>> {
    if let Some(call) = crate::acl_functions::bind(ctx.as_deref_mut(), name, args)? {
        return Ok(Some(call));
    }
    if let Some(call) = crate::pg_describe::bind_function(ctx.as_deref_mut(), name, args)? {
        return Ok(Some(call));
    }
    Ok(Some(match (name, args) {
        // Visible: an unqualified name reaches it (see `invisible_relations`).
        ("pg_table_is_visible", [arg]) => {
            let hidden = match ctx {
                Some(ctx) => invisible_relations(ctx)?,
                None => Vec::new(),
            };
            let mut any: Option<Expr> = None;
            for id in hidden {
                let is = crate::bind_expr::binary(BinaryOp::Eq, arg.clone(), Expr::literal(Value::Int4(id)))?;
                any = Some(match any {
                    None => is,
                    Some(other) => crate::bind_expr::binary(BinaryOp::Or, other, is)?,
                });
            }
            match any {
                None => Expr::literal(Value::Bool(true)),
                // NULL for a NULL oid, as PostgreSQL's strict function.
                Some(hidden) => Expr::Not(Box::new(hidden)),
            }
        }
        // Descriptions COMMENT ON wrote (see `comments.rs`), read through the context.
        ("obj_description", [_] | [_, _]) | ("col_description" | "shobj_description", [_, _]) => {
            use crate::comments::DescriptionOf;
            let what = match name {
                "obj_description" => DescriptionOf::Object,
                "col_description" => DescriptionOf::Column,
                _ => DescriptionOf::Shared,
            };
            let mut typed =
                vec![crate::bind_expr::cast(args[0].clone(), DataType::Int8, crate::types::CastContext::Implicit)?];
            if let Some(second) = args.get(1) {
                let ty = if what == DescriptionOf::Column { DataType::Int8 } else { DataType::Text };
                typed.push(crate::bind_expr::cast(second.clone(), ty, crate::types::CastContext::Implicit)?);
            }
            Expr::Call {
                func: crate::functions::Function::Admin(crate::admin_functions::AdminCall::Describe(what)),
                args: typed,
                ty: DataType::Text,
            }
        }
        ("pg_encoding_to_char", [arg]) => {
            let utf8 = crate::bind_expr::binary(BinaryOp::Eq, arg.clone(), Expr::literal(Value::Int4(6)))?;
            Expr::Case {
                branches: vec![(utf8, Expr::literal(text("UTF8")))],
                otherwise: Some(Box::new(Expr::literal(text("")))),
                ty: DataType::Text,
            }
        }
        ("pg_get_userbyid", [arg]) => {
            let roles = match ctx {
                Some(ctx) => catalog::list_roles(ctx)?,
                None => Vec::new(),
            };
            let mut branches = Vec::with_capacity(roles.len());
            for (i, role) in roles.iter().enumerate() {
                let is = crate::bind_expr::binary(BinaryOp::Eq, arg.clone(), Expr::literal(Value::Int4(role_oid(i))))?;
                branches.push((is, Expr::literal(text(&role.name))));
            }
            let unknown = Expr::literal(text("unknown (OID)"));
            Expr::Case { branches, otherwise: Some(Box::new(unknown)), ty: DataType::Text }
        }
        // Expressions are kept as SQL text, which is what pg_get_expr gives back.
        ("pg_get_expr", [expr, _] | [expr, _, _]) if expr.data_type().is_string() => {
            crate::bind_expr::cast(expr.clone(), DataType::Text, crate::types::CastContext::Implicit)?
        }
        // The first schema of the search path that exists; NULL if none does.
        ("current_schema", []) => match ctx {
            Some(ctx) => {
                let schemas = ctx.schemas()?;
                // The temporary schema is searched first but is never the current one.
                let temp = crate::schemas::temp_namespace(ctx)?;
                match ctx.search_path()?.iter().find(|n| Some(**n) != temp).and_then(|n| schemas.name(*n)) {
                    Some(name) => Expr::literal(text(name)),
                    None => Expr::Literal { value: Value::Null, ty: DataType::Text },
                }
            }
            None => Expr::literal(text("public")),
        },
        // The search path's schemas that exist, `pg_catalog` first when `implicit`.
        ("current_schemas", [Expr::Literal { value: Value::Bool(implicit), .. }]) => {
            let mut names = if *implicit { vec![Value::Text("pg_catalog".into())] } else { Vec::new() };
            if let Some(ctx) = ctx {
                let schemas = ctx.schemas()?;
                names.extend(ctx.search_path()?.iter().filter_map(|n| schemas.name(*n)).map(|n| Value::Text(n.into())));
            }
            let ty = DataType::Array(rustydb_foundation::ElementType::Text);
            Expr::Literal { value: Value::Array(rustydb_foundation::ElementType::Text, names), ty }
        }
        // current_setting(name [, missing_ok]): the session's value when the statement is
        // bound (settings do not change while a statement runs).
        ("current_setting", [name] | [name, _]) => {
            let (Expr::Literal { value: Value::Text(setting), .. }, Some(settings)) =
                (name, ctx.as_ref().and_then(|c| c.settings))
            else {
                return Err(DbError::unsupported("current_setting of a name that is not a constant"));
            };
            let missing_ok = matches!(args.get(1), Some(Expr::Literal { value: Value::Bool(true), .. }));
            match settings.show(&setting.to_ascii_lowercase(), None) {
                Ok(value) => Expr::literal(text(&value)),
                Err(_) if missing_ok => Expr::Literal { value: Value::Null, ty: DataType::Text },
                Err(e) => return Err(e),
            }
        }
        _ => return Ok(None),
    }))
}
