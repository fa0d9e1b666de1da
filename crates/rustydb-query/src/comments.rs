//! COMMENT ON and the description functions (`obj_description`, `col_description`,
//! `shobj_description`), which psql's `\d+`, `\dt+`, `\dn+` and `\l+` show.
//!
//! Descriptions are rows of the catalog `rustydb_descriptions` — (object oid, catalog oid,
//! sub-id, text), PostgreSQL's `pg_description` and `pg_shdescription` in one — written in the
//! statement's transaction, so a COMMENT rolls back with it. A column's sub-id is its number
//! (`attnum`); every other object's is 0. COMMENT ... IS NULL, or IS '', removes the text.
//!
//! Oids are never reused, so the description of a dropped object is never seen again: it
//! stays behind as PostgreSQL's would not (no reader can tell).

use crate::access;
use crate::acl::{self, ObjectKind, ObjectRef};
use crate::catalog::{self, QualifiedName};
use crate::context::ExecContext;
use crate::result::StatementResult;
use rustydb_foundation::{DbError, Result, SqlState, TableId, Value};

/// `pg_class`'s oid: the catalog of relations (tables, views, indexes, sequences).
pub const PG_CLASS: i32 = 1259;
/// `pg_namespace`'s oid.
pub const PG_NAMESPACE: i32 = 2615;
/// `pg_database`'s oid.
pub const PG_DATABASE: i32 = 1262;

/// What a COMMENT names.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// A relation of the kind the statement said (`r` table, `v` view, `i` index, `S` sequence).
    Relation {
        /// Its name.
        name: QualifiedName,
        /// `pg_class.relkind` the statement names.
        kind: &'static str,
    },
    /// A column of a table or view.
    Column {
        /// The relation.
        table: QualifiedName,
        /// The column.
        column: String,
    },
    /// A schema.
    Schema(String),
    /// A database.
    Database(String),
}

/// A bound COMMENT ON.
#[derive(Debug, Clone, PartialEq)]
pub struct CommentOn {
    /// The object.
    pub target: Target,
    /// The text (`None`: remove it).
    pub text: Option<String>,
}

/// Binds `COMMENT ON object_type object_name IS comment`.
pub fn bind(
    object_type: &sqlparser::ast::CommentObject,
    name: &sqlparser::ast::ObjectName,
    comment: &Option<String>,
) -> Result<CommentOn> {
    use sqlparser::ast::CommentObject as O;
    let parts: Vec<String> = name.0.iter().filter_map(|p| p.as_ident().map(crate::bind_expr::ident_name)).collect();
    let relation = |kind| Ok(Target::Relation { name: crate::binder::table_name(name)?, kind });
    let single = || match parts.as_slice() {
        [one] => Ok(one.clone()),
        _ => Err(DbError::syntax(format!("improper qualified name (too many dotted names): {name}"))),
    };
    let target = match object_type {
        O::Table => relation("r")?,
        O::View => relation("v")?,
        O::Index => relation("i")?,
        O::Sequence => relation("S")?,
        O::Column => match parts.as_slice() {
            [table, column] => Target::Column { table: QualifiedName::bare(table.clone()), column: column.clone() },
            [schema, table, column] => Target::Column {
                table: QualifiedName::qualified(schema.clone(), table.clone()),
                column: column.clone(),
            },
            _ => return Err(DbError::syntax(format!("column name must be qualified: {name}"))),
        },
        O::Schema => Target::Schema(single()?),
        O::Database => Target::Database(single()?),
        other => return Err(DbError::unsupported(format!("COMMENT ON {other}"))),
    };
    Ok(CommentOn { target, text: comment.clone().filter(|t| !t.is_empty()) })
}

/// Runs a COMMENT ON: the object's owner may describe it.
pub fn execute(ctx: &mut ExecContext<'_>, c: &CommentOn) -> Result<StatementResult> {
    if let Target::Database(name) = &c.target
        && crate::databases::find(ctx, name)?.is_none()
    {
        // PostgreSQL only warns here (pg_dump's output restored elsewhere names its database).
        let message = format!("database \"{name}\" does not exist");
        return Ok(StatementResult::tag("COMMENT").with_notice(crate::result::Notice::warning("3D000", message)));
    }
    let key = resolve(ctx, &c.target)?;
    let table = catalog::descriptions_table();
    let _ddl = ctx.engine.ddl_lock().lock();
    for (tid, row) in access::scan_unscoped(ctx, table)? {
        if same_object(&row, key) {
            access::delete(ctx, table, tid)?;
        }
    }
    if let Some(text) = &c.text {
        let row = [Value::Int4(key.0), Value::Int4(key.1), Value::Int4(key.2), Value::Text(text.clone())];
        access::insert_raw(ctx, table, &row)?;
    }
    Ok(StatementResult::tag("COMMENT"))
}

fn same_object(row: &[Value], (oid, class, sub): (i32, i32, i32)) -> bool {
    row.len() >= 3 && row[0] == Value::Int4(oid) && row[1] == Value::Int4(class) && row[2] == Value::Int4(sub)
}

/// The (object oid, catalog oid, sub-id) of `target`, after checking it exists, is of the
/// kind named, and is the session user's to describe.
fn resolve(ctx: &mut ExecContext<'_>, target: &Target) -> Result<(i32, i32, i32)> {
    match target {
        Target::Relation { name, kind } => {
            let (oid, found) = relation(ctx, name)?;
            if found != *kind {
                let noun = match *kind {
                    "r" => "a table",
                    "v" => "a view",
                    "i" => "an index",
                    _ => "a sequence",
                };
                return Err(DbError::sql(SqlState::WrongObjectType, format!("\"{}\" is not {noun}", name.name)));
            }
            require_relation_owner(ctx, oid, &found)?;
            Ok((oid, PG_CLASS, 0))
        }
        Target::Column { table, column } => {
            let (oid, kind) = relation(ctx, table)?;
            let columns: Vec<String> = match kind.as_str() {
                "r" => catalog::find_table_by_id(ctx, TableId(oid as u32))?
                    .map(|t| t.schema.columns.iter().map(|c| c.name.clone()).collect())
                    .unwrap_or_default(),
                "v" => catalog::find_view(ctx, table)?.map(|(_, v)| v.columns.clone()).unwrap_or_default(),
                _ => {
                    return Err(DbError::sql(
                        SqlState::WrongObjectType,
                        format!(
                            "\"{}\" is not a table, view, materialized view, composite type, or foreign table",
                            table.name
                        ),
                    ));
                }
            };
            let Some(position) = columns.iter().position(|c| c == column) else {
                return Err(DbError::sql(
                    SqlState::UndefinedColumn,
                    format!("column \"{column}\" of relation \"{}\" does not exist", table.name),
                ));
            };
            require_relation_owner(ctx, oid, &kind)?;
            Ok((oid, PG_CLASS, position as i32 + 1))
        }
        Target::Schema(name) => {
            let schemas = ctx.schemas()?;
            let Some(schema) = schemas.by_name(name) else {
                return Err(DbError::sql(SqlState::InvalidSchemaName, format!("schema \"{name}\" does not exist")));
            };
            let oid = schemas.oid(schema.id) as i32;
            acl::require_owner(ctx, ObjectRef::new(ObjectKind::Schema, name.as_str()))?;
            Ok((oid, PG_NAMESPACE, 0))
        }
        Target::Database(name) => {
            let Some((_, db)) = crate::databases::find(ctx, name)? else {
                return Err(crate::databases::undefined_database(name));
            };
            acl::require_owner(ctx, ObjectRef::new(ObjectKind::Database, name.as_str()))?;
            Ok((db.id as i32, PG_DATABASE, 0))
        }
    }
}

/// The oid and `relkind` of relation `name` (42P01 if there is none).
fn relation(ctx: &mut ExecContext<'_>, name: &QualifiedName) -> Result<(i32, String)> {
    match crate::pg_catalog::relation_oid_and_kind(ctx, name)? {
        Some(found) => Ok(found),
        None => Err(DbError::undefined_table(name)),
    }
}

/// Only a relation's owner may describe it (a system catalog: nobody here).
fn require_relation_owner(ctx: &mut ExecContext<'_>, oid: i32, kind: &str) -> Result<()> {
    let object = match kind {
        "r" => match catalog::find_table_by_id(ctx, TableId(oid as u32))? {
            Some(t) if t.is_system() => {
                return Err(DbError::sql(
                    SqlState::InsufficientPrivilege,
                    format!("permission denied: \"{}\" is a system catalog", t.name),
                ));
            }
            Some(t) => ObjectRef::table(&t),
            None => return Ok(()),
        },
        "v" => {
            match catalog::list_views(ctx)?.into_iter().find(|(tid, _)| crate::pg_catalog::view_oid(*tid) == oid as u32)
            {
                Some((_, v)) => ObjectRef::view(&v),
                None => return Ok(()),
            }
        }
        // An index is its table's owner's; a sequence's owner, its creator's (checked as
        // the relation it belongs to, when that is found).
        _ => match catalog::list_tables(ctx)?.into_iter().find(|t| {
            t.indexes.iter().any(|i| i.id.0 as i32 == oid)
                || (!t.primary_key.is_empty() && t.primary_index_file().0 as i32 == oid)
        }) {
            Some(t) => ObjectRef::table(&t),
            None => return Ok(()),
        },
    };
    acl::require_owner(ctx, object)
}

/// Which description function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DescriptionOf {
    /// `obj_description(oid [, catalog])`.
    Object,
    /// `col_description(table oid, column number)`.
    Column,
    /// `shobj_description(oid, catalog)`.
    Shared,
}

/// A description function with its evaluated arguments: the text, or NULL.
pub fn describe(ctx: &mut ExecContext<'_>, what: DescriptionOf, args: &[Value]) -> Result<Value> {
    if args.iter().any(Value::is_null) {
        return Ok(Value::Null);
    }
    let oid = args.first().and_then(Value::as_i64).unwrap_or(-1) as i32;
    let (class, sub) = match what {
        DescriptionOf::Column => (Some(PG_CLASS), args.get(1).and_then(Value::as_i64).unwrap_or(-1) as i32),
        DescriptionOf::Object | DescriptionOf::Shared => {
            let class = match args.get(1) {
                None => None,
                Some(Value::Text(catalog)) => Some(match catalog.as_str() {
                    "pg_class" | "pg_catalog.pg_class" => PG_CLASS,
                    "pg_namespace" | "pg_catalog.pg_namespace" => PG_NAMESPACE,
                    "pg_database" | "pg_catalog.pg_database" => PG_DATABASE,
                    // A catalog nothing here describes (pg_proc, pg_type, ...).
                    _ => return Ok(Value::Null),
                }),
                Some(_) => return Ok(Value::Null),
            };
            (class, 0)
        }
    };
    for (_, row) in access::scan_unscoped(ctx, catalog::descriptions_table())? {
        let matches =
            row[0] == Value::Int4(oid) && class.is_none_or(|c| row[1] == Value::Int4(c)) && row[2] == Value::Int4(sub);
        if matches {
            return Ok(row[3].clone());
        }
    }
    Ok(Value::Null)
}
