//! The object size functions: `pg_relation_size`, `pg_table_size`, `pg_indexes_size`,
//! `pg_total_relation_size` and `pg_database_size`, in bytes, as psql's `\dt+` and `\l+` and
//! monitoring queries read them.
//!
//! A relation is named by its oid (`c.oid`, an integer) or by text (`'t'`, `'s.t'`), which
//! is looked up as `regclass` input is (42P01 if there is no such relation); an oid that names
//! no relation gives NULL, as in PostgreSQL. What each counts:
//!
//! | function | a table | an index |
//! |---|---|---|
//! | `pg_relation_size` | its heap | its file |
//! | `pg_table_size` | its heap (RustyDB stores large values in the heap itself: no TOAST) | its file |
//! | `pg_indexes_size` | its indexes, the primary key's included | 0 |
//! | `pg_total_relation_size` | heap and indexes | its file |
//!
//! An index's size is its file's pages as the disk has them, plus the files of an LSM index's
//! directory: pages an index grew by since the last checkpoint count once they are written.
//! Views have no storage and count 0.

use crate::catalog::{IndexDef, TableDef};
use crate::context::ExecContext;
use rustydb_foundation::{DbError, FileId, Result, SqlState, Value};

/// Which size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SizeOf {
    /// `pg_relation_size(regclass [, fork])`.
    Relation,
    /// `pg_table_size(regclass)`.
    Table,
    /// `pg_indexes_size(regclass)`.
    Indexes,
    /// `pg_total_relation_size(regclass)`.
    Total,
    /// `pg_database_size(name | oid)`.
    Database,
}

/// What an oid names.
enum Relation {
    Table(Box<TableDef>),
    Index(FileId),
    NoStorage,
}

/// Runs `what` with its evaluated arguments: the relation, and for `pg_relation_size` an
/// optional fork name (only `main` has data here; `fsm`, `vm` and `init` are empty).
pub fn call(ctx: &mut ExecContext<'_>, what: SizeOf, args: &[Value]) -> Result<Value> {
    if what == SizeOf::Database {
        return database_size(ctx, args.first().unwrap_or(&Value::Null));
    }
    let oid = match args.first() {
        None | Some(Value::Null) => return Ok(Value::Null),
        Some(Value::Text(name)) => {
            let named = crate::schemas::parse_qualified(name, ctx.database)?;
            match crate::pg_catalog::relation_oid(ctx, &named)? {
                Some(oid) => oid as u32,
                None => return Err(DbError::undefined_table(name)),
            }
        }
        Some(other) => match other.as_i64().and_then(|n| u32::try_from(n).ok()) {
            Some(oid) => oid,
            None => return Ok(Value::Null),
        },
    };
    let main_fork = match args.get(1) {
        None => true,
        Some(Value::Null) => return Ok(Value::Null),
        Some(Value::Text(fork)) => match fork.as_str() {
            "main" => true,
            "fsm" | "vm" | "init" => false,
            _ => {
                return Err(DbError::sql(SqlState::InvalidParameterValue, "invalid fork name")
                    .with_hint("Valid fork names are \"main\", \"fsm\", \"vm\", and \"init\"."));
            }
        },
        Some(_) => true,
    };
    let Some(relation) = find(ctx, oid)? else { return Ok(Value::Null) };
    if !main_fork {
        return Ok(Value::Int8(0));
    }
    let bytes = match (relation, what) {
        (Relation::NoStorage, _) | (Relation::Index(_), SizeOf::Indexes) => 0,
        (Relation::Index(file), _) => index_bytes(ctx, file)?,
        (Relation::Table(t), SizeOf::Relation | SizeOf::Table) => heap_bytes(ctx, &t)?,
        (Relation::Table(t), SizeOf::Indexes) => indexes_bytes(ctx, &t)?,
        (Relation::Table(t), SizeOf::Total | SizeOf::Database) => heap_bytes(ctx, &t)? + indexes_bytes(ctx, &t)?,
    };
    Ok(Value::Int8(bytes))
}

/// The relation whose oid is `oid`, among the system tables and the current database's.
fn find(ctx: &mut ExecContext<'_>, oid: u32) -> Result<Option<Relation>> {
    let mut tables: Vec<TableDef> = crate::catalog::system_tables().to_vec();
    tables.extend(crate::catalog::list_tables(ctx)?);
    for t in tables {
        if t.id.0 == oid {
            return Ok(Some(Relation::Table(Box::new(t))));
        }
        if !t.primary_key.is_empty() && t.primary_index_file().0 == oid {
            return Ok(Some(Relation::Index(t.primary_index_file())));
        }
        if let Some(index) = t.indexes.iter().find(|i| i.id.0 == oid) {
            return Ok(Some(Relation::Index(index.file())));
        }
    }
    let is_view = crate::catalog::list_views(ctx)?.iter().any(|(tid, _)| crate::pg_catalog::view_oid(*tid) == oid);
    Ok(is_view.then_some(Relation::NoStorage))
}

/// `pg_database_size`: the heaps and indexes of the database's tables (in every schema), and
/// the system catalogs, which hold its catalog rows (a database's own directory holds its
/// catalogs in PostgreSQL too). The database is named by name (3D000 if there is none) or oid
/// (NULL if none has it).
fn database_size(ctx: &mut ExecContext<'_>, database: &Value) -> Result<Value> {
    let databases = crate::databases::list(ctx)?;
    let found = match database {
        Value::Null => return Ok(Value::Null),
        Value::Text(name) => match databases.iter().find(|(_, d)| d.name == *name) {
            Some((_, d)) => d.clone(),
            None => return Err(crate::databases::undefined_database(name)),
        },
        other => match databases.iter().find(|(_, d)| other.as_i64() == Some(i64::from(d.id))) {
            Some((_, d)) => d.clone(),
            None => return Ok(Value::Null),
        },
    };
    let mut namespaces: Vec<u32> = crate::access::scan_unscoped(ctx, crate::catalog::namespaces_table())?
        .into_iter()
        .filter(|(_, row)| row[2] == Value::Int4(found.id as i32))
        .filter_map(|(_, row)| row[0].as_i64().map(|n| n as u32))
        .collect();
    if found.id == crate::databases::BOOTSTRAP_DATABASE {
        // Rows from before namespaces belong to the bootstrap database.
        namespaces.push(crate::catalog::PUBLIC_NAMESPACE);
    }
    let mut total = 0;
    for table in crate::catalog::system_tables() {
        total += heap_bytes(ctx, table)?;
    }
    for table in crate::catalog::list_all_tables(ctx)? {
        if namespaces.contains(&table.namespace) {
            total += heap_bytes(ctx, &table)? + indexes_bytes(ctx, &table)?;
        }
    }
    Ok(Value::Int8(total))
}

fn page_bytes(ctx: &ExecContext<'_>, pages: u32) -> i64 {
    i64::from(pages) * ctx.engine.txn_manager().storage().disk().page_size() as i64
}

fn heap_bytes(ctx: &mut ExecContext<'_>, table: &TableDef) -> Result<i64> {
    let pages = ctx.engine.txn_manager().storage().heap(table.file())?.page_count();
    Ok(page_bytes(ctx, pages))
}

fn indexes_bytes(ctx: &mut ExecContext<'_>, table: &TableDef) -> Result<i64> {
    let mut total = 0;
    if !table.primary_key.is_empty() {
        total += index_bytes(ctx, table.primary_index_file())?;
    }
    for index in &table.indexes {
        total += index_bytes(ctx, IndexDef::file(index))?;
    }
    Ok(total)
}

fn index_bytes(ctx: &mut ExecContext<'_>, file: FileId) -> Result<i64> {
    let storage = ctx.engine.txn_manager().storage();
    let pages = storage.disk().page_count(file)?;
    let mut bytes = page_bytes(ctx, pages);
    // An LSM index keeps its runs in a directory of its own.
    if let Ok(entries) = std::fs::read_dir(storage.aux_dir(file)) {
        for entry in entries.flatten() {
            bytes += entry.metadata().map_or(0, |m| m.len() as i64);
        }
    }
    Ok(bytes)
}
