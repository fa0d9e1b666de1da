//! The catalog relations and functions psql's `\d TABLE` and `\du` read beyond those of
//! [`crate::pg_catalog`]: column defaults (`pg_attrdef`), types (`pg_type`), collations,
//! constraints (`pg_constraint`), role memberships (`pg_auth_members`), and the relations of
//! features RustyDB does not have — extended statistics, publications, inheritance — which
//! exist with PostgreSQL's columns and no rows, so the queries psql sends for them run and
//! find nothing.
//!
//! The `pg_get_*def` functions answer from the catalog: a call binds to a CASE over every
//! object's oid (the catalog is small, and bind time is when it is read), the way
//! `pg_get_userbyid` binds.

use crate::catalog::{self, FkAction, INDEX_FILES, IndexDef, TableDef};
use crate::context::ExecContext;
use crate::expr::{BinaryOp, Expr};
use crate::pg_catalog::{BOOTSTRAP_SUPERUSER, PG_CATALOG_NAMESPACE, Relation, role_oid};
use rustydb_foundation::{DataType, ElementType, Result, Value};

/// The relations this module provides.
pub const RELATIONS: [&str; 12] = [
    "pg_attrdef",
    "pg_indexes",
    "pg_stats",
    "pg_type",
    "pg_collation",
    "pg_constraint",
    "pg_auth_members",
    "pg_statistic_ext",
    "pg_publication",
    "pg_publication_namespace",
    "pg_publication_rel",
    "pg_inherits",
];

/// Where constraint oids start: a key constraint's oid is its index's with this bit set.
const CONSTRAINT_OIDS: u32 = 1 << 27;
/// Where CHECK constraint oids start (numbered in catalog order, stable within a statement).
const CHECK_OIDS: u32 = 1 << 26;
/// Where `pg_attrdef` oids start.
const ATTRDEF_OIDS: i32 = 0x0200_0000;
/// The collation oid of `default`.
const DEFAULT_COLLATION: i32 = 100;

fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}

fn oid(v: u32) -> Value {
    Value::Int4(v as i32)
}

/// The rows of relation `name` (one of [`RELATIONS`]).
pub fn relation(ctx: &mut ExecContext<'_>, name: &str) -> Result<Relation> {
    use DataType::{Bool, Int2, Int4, Text};
    let int2s = DataType::Array(ElementType::Int2);
    let texts = DataType::Array(ElementType::Text);
    let rel = |columns: Vec<(&'static str, DataType)>, rows| Relation { columns, rows };
    Ok(match name {
        "pg_attrdef" => rel(vec![("oid", Int4), ("adrelid", Int4), ("adnum", Int2), ("adbin", Text)], {
            let mut rows = Vec::new();
            for t in catalog::list_tables(ctx)? {
                for (i, c) in t.schema.columns.iter().enumerate() {
                    if let Some(d) = &c.default {
                        rows.push(vec![
                            Value::Int4(ATTRDEF_OIDS + rows.len() as i32),
                            oid(t.id.0),
                            Value::Int2(i as i16 + 1),
                            text(&shown_default(d, c.data_type)),
                        ]);
                    }
                }
            }
            rows
        }),
        "pg_stats" => rel(
            vec![
                ("schemaname", Text),
                ("tablename", Text),
                ("attname", Text),
                ("inherited", Bool),
                ("null_frac", DataType::Float4),
                ("avg_width", Int4),
                ("n_distinct", DataType::Float4),
                ("most_common_vals", texts),
                ("most_common_freqs", DataType::Array(ElementType::Float4)),
                ("histogram_bounds", texts),
                ("correlation", DataType::Float4),
            ],
            {
                let stats = crate::statistics::load(ctx)?;
                let rls = crate::acl::load(ctx)?.rls.clone();
                let mut rows = Vec::new();
                for t in catalog::list_tables(ctx)? {
                    let Some(table_stats) = stats.get(&t.id) else { continue };
                    // As PostgreSQL's view: only columns the user may read, and no table whose
                    // row-level security applies to the user (the values are the table's data).
                    let object = crate::acl::ObjectRef::table(&t);
                    let owner = crate::acl::require_owner(ctx, crate::acl::ObjectRef::table(&t)).is_ok();
                    if rls.get(&object).is_some_and(|(enabled, _)| *enabled) && !owner {
                        continue;
                    }
                    for (position, column) in t.schema.columns.iter().enumerate() {
                        let Some(c) = table_stats.column(position) else { continue };
                        let mut read = crate::acl::RelationAccess::new(
                            object.clone(),
                            crate::acl::PrivilegeSet::of(&[crate::acl::Privilege::Select]),
                        );
                        read.selected.insert(position);
                        if crate::acl::require(ctx, crate::acl::AccessRequest::Relation(read)).is_err() {
                            continue;
                        }
                        let values = |list: &[Value]| {
                            if list.is_empty() {
                                return Value::Null;
                            }
                            let items = list.iter().map(|v| Value::Text(v.to_pg_text().unwrap_or_default()));
                            Value::Array(ElementType::Text, items.collect())
                        };
                        let freqs = if c.mcf.is_empty() {
                            Value::Null
                        } else {
                            Value::Array(ElementType::Float4, c.mcf.iter().map(|f| Value::Float4(*f as f32)).collect())
                        };
                        rows.push(vec![
                            text(ctx.schemas()?.name(t.namespace).unwrap_or_default()),
                            text(&t.name),
                            text(&column.name),
                            Value::Bool(false),
                            Value::Float4(c.null_frac as f32),
                            Value::Int4(c.avg_width),
                            Value::Float4(c.n_distinct as f32),
                            values(&c.mcv),
                            freqs,
                            values(&c.histogram),
                            Value::Null,
                        ]);
                    }
                }
                rows
            },
        ),
        "pg_indexes" => rel(
            vec![
                ("schemaname", Text),
                ("tablename", Text),
                ("indexname", Text),
                ("tablespace", Text),
                ("indexdef", Text),
            ],
            {
                let mut rows = Vec::new();
                let schemas = ctx.schemas()?;
                for t in catalog::list_tables(ctx)? {
                    let schema = schemas.name(t.namespace).unwrap_or_default();
                    let mut add = |name: &str, index: Option<&IndexDef>| {
                        let definition = index_definition(&t, schema, name, index);
                        rows.push(vec![text(schema), text(&t.name), text(name), Value::Null, text(&definition)]);
                    };
                    if !t.primary_key.is_empty() {
                        add(&t.primary_key_name(), None);
                    }
                    for i in &t.indexes {
                        add(&i.name, Some(i));
                    }
                }
                rows
            },
        ),
        "pg_type" => rel(
            vec![
                ("oid", Int4),
                ("typname", Text),
                ("typnamespace", Int4),
                ("typowner", Int4),
                ("typlen", Int2),
                ("typbyval", Bool),
                ("typtype", Text),
                ("typcategory", Text),
                ("typisdefined", Bool),
                ("typdelim", Text),
                ("typrelid", Int4),
                ("typelem", Int4),
                ("typarray", Int4),
                ("typnotnull", Bool),
                ("typbasetype", Int4),
                ("typtypmod", Int4),
                ("typndims", Int4),
                ("typcollation", Int4),
            ],
            type_rows(),
        ),
        "pg_collation" => rel(
            vec![("oid", Int4), ("collname", Text), ("collnamespace", Int4), ("collprovider", Text)],
            [(DEFAULT_COLLATION, "default", "d"), (950, "C", "c"), (951, "POSIX", "c")]
                .into_iter()
                .map(|(id, n, p)| vec![Value::Int4(id), text(n), Value::Int4(PG_CATALOG_NAMESPACE), text(p)])
                .collect(),
        ),
        "pg_constraint" => rel(
            vec![
                ("oid", Int4),
                ("conname", Text),
                ("connamespace", Int4),
                ("contype", Text),
                ("condeferrable", Bool),
                ("condeferred", Bool),
                ("convalidated", Bool),
                ("conrelid", Int4),
                ("contypid", Int4),
                ("conindid", Int4),
                ("conparentid", Int4),
                ("confrelid", Int4),
                ("confupdtype", Text),
                ("confdeltype", Text),
                ("confmatchtype", Text),
                ("conislocal", Bool),
                ("coninhcount", Int4),
                ("connoinherit", Bool),
                ("conkey", int2s),
                ("confkey", int2s),
                ("conbin", Text),
            ],
            constraints(ctx)?
                .into_iter()
                .map(|c| {
                    let key = c.columns.iter().map(|&k| Value::Int2(k as i16 + 1)).collect();
                    vec![
                        oid(c.oid),
                        text(&c.name),
                        Value::Int4(c.namespace),
                        text(c.kind.code()),
                        Value::Bool(false),
                        Value::Bool(false),
                        Value::Bool(true),
                        oid(c.table),
                        Value::Int4(0),
                        oid(c.index),
                        Value::Int4(0),
                        oid(c.reference.as_ref().map_or(0, |r| r.0)),
                        text(c.reference.as_ref().map_or(" ", |r| r.2.code())),
                        text(c.reference.as_ref().map_or(" ", |r| r.3.code())),
                        text(if c.reference.is_some() { "s" } else { " " }),
                        Value::Bool(true),
                        Value::Int4(0),
                        Value::Bool(true),
                        Value::Array(ElementType::Int2, key),
                        c.reference.as_ref().map_or(Value::Null, |r| {
                            Value::Array(ElementType::Int2, r.1.iter().map(|&k| Value::Int2(k as i16 + 1)).collect())
                        }),
                        c.predicate.as_deref().map_or(Value::Null, text),
                    ]
                })
                .collect(),
        ),
        "pg_auth_members" => {
            rel(vec![("roleid", Int4), ("member", Int4), ("grantor", Int4), ("admin_option", Bool)], {
                let roles = catalog::list_roles(ctx)?;
                let oid_of = |name: &str| roles.iter().position(|r| r.name == name).map_or(0, role_oid);
                crate::acl::load(ctx)?
                    .members
                    .iter()
                    .map(|m| {
                        vec![
                            Value::Int4(oid_of(&m.role)),
                            Value::Int4(oid_of(&m.member)),
                            Value::Int4(oid_of(&m.grantor)),
                            Value::Bool(m.admin_option),
                        ]
                    })
                    .collect()
            })
        }
        "pg_statistic_ext" => rel(
            vec![
                ("oid", Int4),
                ("stxrelid", Int4),
                ("stxname", Text),
                ("stxnamespace", Int4),
                ("stxowner", Int4),
                ("stxstattarget", Int4),
                ("stxkeys", int2s_type()),
                ("stxkind", texts),
                ("stxexprs", Text),
            ],
            Vec::new(),
        ),
        "pg_publication" => rel(
            vec![
                ("oid", Int4),
                ("pubname", Text),
                ("pubowner", Int4),
                ("puballtables", Bool),
                ("pubinsert", Bool),
                ("pubupdate", Bool),
                ("pubdelete", Bool),
                ("pubtruncate", Bool),
                ("pubviaroot", Bool),
            ],
            Vec::new(),
        ),
        "pg_publication_namespace" => rel(vec![("oid", Int4), ("pnpubid", Int4), ("pnnspid", Int4)], Vec::new()),
        "pg_publication_rel" => rel(
            vec![("oid", Int4), ("prpubid", Int4), ("prrelid", Int4), ("prqual", Text), ("prattrs", int2s_type())],
            Vec::new(),
        ),
        "pg_inherits" => rel(
            vec![("inhrelid", Int4), ("inhparent", Int4), ("inhseqno", Int4), ("inhdetachpending", Bool)],
            Vec::new(),
        ),
        other => return Err(rustydb_foundation::DbError::Internal(format!("no catalog relation {other}"))),
    })
}

fn int2s_type() -> DataType {
    DataType::Array(ElementType::Int2)
}

/// Every type RustyDB has, and its array type, as `pg_type` rows.
fn type_rows() -> Vec<Vec<Value>> {
    use DataType::*;
    let scalars = [
        Bool,
        Int2,
        Int4,
        Int8,
        Float4,
        Float8,
        Numeric(None),
        Text,
        Varchar(None),
        Char(1),
        Date,
        Timestamp,
        TimestampTz,
        Interval,
        Time,
        Uuid,
        Bytea,
        Json,
        Jsonb,
    ];
    let mut rows = Vec::new();
    let row = |ty: DataType, elem: u32, array: u32, category: &str| {
        let collation = if ty.is_string() { DEFAULT_COLLATION } else { 0 };
        vec![
            oid(ty.oid()),
            text(crate::types::type_name(ty)),
            Value::Int4(PG_CATALOG_NAMESPACE),
            Value::Int4(BOOTSTRAP_SUPERUSER),
            Value::Int2(ty.type_len()),
            Value::Bool(ty.type_len() > 0),
            text("b"),
            text(category),
            Value::Bool(true),
            text(","),
            Value::Int4(0),
            oid(elem),
            oid(array),
            Value::Bool(false),
            Value::Int4(0),
            Value::Int4(-1),
            Value::Int4(0),
            Value::Int4(collation),
        ]
    };
    for ty in scalars {
        let category = match ty {
            Bool => "B",
            Int2 | Int4 | Int8 | Float4 | Float8 | Numeric(_) => "N",
            Date | Timestamp | TimestampTz | Time => "D",
            Interval => "T",
            Uuid | Bytea | Json | Jsonb => "U",
            _ => "S",
        };
        let element = ElementType::of(ty);
        rows.push(row(ty, 0, element.map_or(0, ElementType::array_oid), category));
        if let Some(e) = element {
            rows.push(row(DataType::Array(e), ty.oid(), 0, "A"));
        }
    }
    rows
}

/// A stored DEFAULT as PostgreSQL's `pg_get_expr` shows it: a string literal carries its cast
/// to the column's type (`'b'::text`), a negative number its own type (`'-1'::integer`), a
/// sequence name its `regclass` (`nextval('t_id_seq'::regclass)`); anything else as written.
pub fn shown_default(default: &str, ty: DataType) -> String {
    let quoted = default.len() >= 2 && default.starts_with('\'') && default.ends_with('\'');
    if quoted && !default[1..default.len() - 1].replace("''", "").contains('\'') {
        let name = match ty {
            DataType::Varchar(_) => "character varying",
            DataType::Char(_) => "bpchar",
            other => other.sql_name(),
        };
        return format!("{default}::{name}");
    }
    if let Some(digits) = default.strip_prefix('-')
        && !digits.is_empty()
    {
        if digits.bytes().all(|b| b.is_ascii_digit()) {
            let name = if digits.parse::<i32>().is_ok() { "integer" } else { "bigint" };
            return format!("'{default}'::{name}");
        }
        if digits.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            return format!("'{default}'::numeric");
        }
    }
    if let Some(seq) = default.strip_prefix("nextval('").and_then(|s| s.strip_suffix("')"))
        && !seq.contains('\'')
    {
        // A SERIAL column's default is stored qualified; PostgreSQL shows a `public` one bare.
        let seq = seq.strip_prefix("public.").unwrap_or(seq);
        return format!("nextval('{seq}'::regclass)");
    }
    default.to_string()
}

/// What kind of constraint a `pg_constraint` row is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ConstraintKind {
    Primary,
    Unique,
    Check,
    Foreign,
}

impl ConstraintKind {
    /// `contype`.
    fn code(self) -> &'static str {
        match self {
            ConstraintKind::Primary => "p",
            ConstraintKind::Unique => "u",
            ConstraintKind::Check => "c",
            ConstraintKind::Foreign => "f",
        }
    }
}

/// A constraint, as `pg_constraint` lists it.
struct Constraint {
    oid: u32,
    name: String,
    kind: ConstraintKind,
    table: u32,
    /// The `pg_namespace` oid of the table's schema.
    namespace: i32,
    /// The index of a key constraint (0 for CHECK).
    index: u32,
    columns: Vec<usize>,
    /// A CHECK constraint's predicate.
    predicate: Option<String>,
    /// A foreign key's referenced table, columns and actions.
    reference: Option<(u32, Vec<usize>, FkAction, FkAction)>,
}

fn constraints(ctx: &mut ExecContext<'_>) -> Result<Vec<Constraint>> {
    let schemas = ctx.schemas()?;
    let mut out = Vec::new();
    let mut checks = 0;
    for t in catalog::list_tables(ctx)? {
        if !t.primary_key.is_empty() {
            let index = t.id.0 | INDEX_FILES;
            out.push(Constraint {
                oid: CONSTRAINT_OIDS | index,
                name: t.primary_key_name(),
                kind: ConstraintKind::Primary,
                table: t.id.0,
                namespace: schemas.oid(t.namespace) as i32,
                index,
                columns: t.primary_key.clone(),
                predicate: None,
                reference: None,
            });
        }
        for i in t.indexes.iter().filter(|i| i.constraint || i.primary) {
            out.push(Constraint {
                oid: CONSTRAINT_OIDS | i.id.0,
                name: i.name.clone(),
                kind: if i.primary { ConstraintKind::Primary } else { ConstraintKind::Unique },
                table: t.id.0,
                namespace: schemas.oid(t.namespace) as i32,
                index: i.id.0,
                columns: i.columns.clone(),
                predicate: None,
                reference: None,
            });
        }
        for k in &t.foreign_keys {
            out.push(Constraint {
                oid: CHECK_OIDS + checks,
                name: k.name.clone(),
                kind: ConstraintKind::Foreign,
                table: t.id.0,
                namespace: schemas.oid(t.namespace) as i32,
                index: 0,
                columns: k.columns.clone(),
                predicate: None,
                reference: Some((k.parent.0, k.parent_columns.clone(), k.on_update, k.on_delete)),
            });
            checks += 1;
        }
        for c in &t.checks {
            out.push(Constraint {
                oid: CHECK_OIDS + checks,
                name: c.name.clone(),
                kind: ConstraintKind::Check,
                table: t.id.0,
                namespace: schemas.oid(t.namespace) as i32,
                index: 0,
                columns: Vec::new(),
                predicate: Some(c.predicate.clone()),
                reference: None,
            });
            checks += 1;
        }
    }
    Ok(out)
}

/// `pg_get_indexdef`'s text: `CREATE [UNIQUE] INDEX name ON public.table USING method (keys)`.
fn index_definition(table: &TableDef, schema: &str, name: &str, index: Option<&IndexDef>) -> String {
    let (columns, descending, unique, method) = match index {
        Some(i) => (&i.columns[..], &i.descending[..], i.unique, i.method.name()),
        None => (&table.primary_key[..], &[][..], true, "btree"),
    };
    let keys: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(k, &c)| {
            let column = &table.schema.columns[c].name;
            if descending.get(k) == Some(&true) { format!("{column} DESC") } else { column.clone() }
        })
        .collect();
    let unique = if unique { "UNIQUE " } else { "" };
    format!("CREATE {unique}INDEX {name} ON {schema}.{} USING {method} ({})", table.name, keys.join(", "))
}

/// A CASE on `arg` mapping each oid to its text, NULL for any other.
fn case_of(arg: &Expr, entries: Vec<(u32, String)>) -> Result<Expr> {
    let mut branches = Vec::with_capacity(entries.len());
    for (id, value) in entries {
        let is = crate::bind_expr::binary(BinaryOp::Eq, arg.clone(), Expr::literal(oid(id)))?;
        branches.push((is, Expr::literal(Value::Text(value))));
    }
    if branches.is_empty() {
        return Ok(Expr::Literal { value: Value::Null, ty: DataType::Text });
    }
    Ok(Expr::Case { branches, otherwise: None, ty: DataType::Text })
}

/// The functions of this module, bound: `Ok(None)` if `name` is not one of them.
pub fn bind_function(ctx: Option<&mut ExecContext<'_>>, name: &str, args: &[Expr]) -> Result<Option<Expr>> {
    let null_text = || Expr::Literal { value: Value::Null, ty: DataType::Text };
    Ok(Some(match (name, args) {
        ("pg_get_indexdef", [arg, rest @ ..]) if rest.is_empty() || rest.len() == 2 => {
            // Column 0 (or no column argument): the whole definition; column k: its k-th key.
            let mut entries: Vec<(u32, i32, String)> = Vec::new();
            if let Some(ctx) = ctx {
                let schemas = ctx.schemas()?;
                for t in catalog::list_tables(ctx)? {
                    let schema = schemas.name(t.namespace).unwrap_or_default();
                    let mut add = |id: u32, name: &str, index: Option<&IndexDef>| {
                        entries.push((id, 0, index_definition(&t, schema, name, index)));
                        let columns = index.map_or(&t.primary_key[..], |i| &i.columns[..]);
                        for (k, &c) in columns.iter().enumerate() {
                            entries.push((id, k as i32 + 1, t.schema.columns[c].name.clone()));
                        }
                    };
                    if !t.primary_key.is_empty() {
                        add(t.id.0 | INDEX_FILES, &t.primary_key_name(), None);
                    }
                    for i in &t.indexes {
                        add(i.id.0, &i.name, Some(i));
                    }
                }
            }
            let column = rest.first().cloned().unwrap_or_else(|| Expr::literal(Value::Int4(0)));
            let mut branches = Vec::with_capacity(entries.len());
            for (id, k, value) in entries {
                let is_index = crate::bind_expr::binary(BinaryOp::Eq, arg.clone(), Expr::literal(oid(id)))?;
                let is_column = crate::bind_expr::binary(BinaryOp::Eq, column.clone(), Expr::literal(Value::Int4(k)))?;
                let both = crate::bind_expr::binary(BinaryOp::And, is_index, is_column)?;
                branches.push((both, Expr::literal(Value::Text(value))));
            }
            if branches.is_empty() { null_text() } else { Expr::Case { branches, otherwise: None, ty: DataType::Text } }
        }
        ("pg_get_constraintdef", [arg, rest @ ..]) if rest.len() <= 1 => {
            // Pretty-printed (`true`), a CHECK's predicate is not wrapped in parentheses again.
            let pretty = matches!(rest, [Expr::Literal { value: Value::Bool(true), .. }]);
            let mut entries = Vec::new();
            if let Some(ctx) = ctx {
                let tables = catalog::list_tables(ctx)?;
                for c in constraints(ctx)? {
                    let Some(t) = tables.iter().find(|t| t.id.0 == c.table) else { continue };
                    let names: Vec<&str> = c.columns.iter().map(|&k| t.schema.columns[k].name.as_str()).collect();
                    let definition = match (c.kind, &c.predicate) {
                        (ConstraintKind::Check, Some(p)) if pretty => format!("CHECK ({p})"),
                        (ConstraintKind::Check, p) => format!("CHECK (({}))", p.as_deref().unwrap_or_default()),
                        (ConstraintKind::Primary, _) => format!("PRIMARY KEY ({})", names.join(", ")),
                        (ConstraintKind::Unique, _) => format!("UNIQUE ({})", names.join(", ")),
                        (ConstraintKind::Foreign, _) => {
                            let Some((parent, parent_columns, on_update, on_delete)) = &c.reference else { continue };
                            let Some(p) = tables.iter().find(|t| t.id.0 == *parent) else { continue };
                            let referenced: Vec<&str> =
                                parent_columns.iter().map(|&k| p.schema.columns[k].name.as_str()).collect();
                            let mut def = format!(
                                "FOREIGN KEY ({}) REFERENCES {}({})",
                                names.join(", "),
                                p.name,
                                referenced.join(", ")
                            );
                            if *on_update != FkAction::NoAction {
                                def.push_str(&format!(" ON UPDATE {}", on_update.sql()));
                            }
                            if *on_delete != FkAction::NoAction {
                                def.push_str(&format!(" ON DELETE {}", on_delete.sql()));
                            }
                            def
                        }
                    };
                    entries.push((c.oid, definition));
                }
            }
            case_of(arg, entries)?
        }
        ("pg_relation_is_publishable", [_]) => Expr::literal(Value::Bool(false)),
        ("pg_get_statisticsobjdef_columns", [_]) => null_text(),
        _ => return Ok(None),
    }))
}
