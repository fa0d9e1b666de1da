//! Row access for the executor and the catalog: tables as rows of [`Value`]s, with MVCC
//! visibility from txn, the row codec from foundation, and the constraints and index maintenance
//! every write must respect (NOT NULL, primary key uniqueness).

use crate::catalog::TableDef;
use crate::context::ExecContext;
use rustydb_foundation::row::{decode_row, encode_row};
use rustydb_foundation::{DbError, Result, SqlState, TupleId, Value};
use rustydb_index::{Index, keycode};
use rustydb_txn::tuple;

/// Visible rows on one page of `table`.
pub fn scan_page(ctx: &mut ExecContext<'_>, table: &TableDef, page: u32) -> Result<Vec<(TupleId, Vec<Value>)>> {
    let heap = ctx.engine.txn_manager().storage().heap(table.file())?;
    let width = table.schema.len();
    let footprint = ctx.scan.footprint();
    ctx.engine.txn_manager().visible_on_page_into(ctx.txn, &ctx.snapshot, &heap, page, &mut ctx.scan)?;
    // The arena keeps what it grew to for the rest of the statement: count it (a page of large
    // values can be far larger than the page).
    ctx.memory.charge(ctx.scan.footprint().saturating_sub(footprint), "a page of tuples")?;
    ctx.scan.iter().map(|(tid, t)| Ok((tid, decode_row(tuple::body(t), width)?))).collect()
}

/// Number of pages in `table`'s heap.
pub fn page_count(ctx: &ExecContext<'_>, table: &TableDef) -> Result<u32> {
    Ok(ctx.engine.txn_manager().storage().heap(table.file())?.page_count())
}

/// Every visible row of `table`.
pub fn scan(ctx: &mut ExecContext<'_>, table: &TableDef) -> Result<Vec<(TupleId, Vec<Value>)>> {
    let mut out = Vec::new();
    for page in 0..page_count(ctx, table)? {
        out.extend(scan_page(ctx, table, page)?);
    }
    Ok(out)
}

/// Every version of every row not created by an aborted transaction, whatever the snapshot
/// (used to rebuild indexes and to find the highest id ever handed out).
pub fn scan_all_versions(ctx: &mut ExecContext<'_>, table: &TableDef) -> Result<Vec<(TupleId, Vec<Value>)>> {
    let tm = ctx.engine.txn_manager();
    let heap = tm.storage().heap(table.file())?;
    let mut out = Vec::new();
    for page in 0..heap.page_count() {
        for (tid, bytes) in heap.scan_page(page)? {
            if !tm.created_by_aborted(&bytes)? {
                out.push((tid, decode_row(tuple::body(&bytes), table.schema.len())?));
            }
        }
    }
    Ok(out)
}

/// The row at `tid` if visible.
pub fn fetch(ctx: &mut ExecContext<'_>, table: &TableDef, tid: TupleId) -> Result<Option<Vec<Value>>> {
    let heap = ctx.engine.txn_manager().storage().heap(table.file())?;
    let body = ctx.engine.txn_manager().fetch_visible(ctx.txn, &ctx.snapshot, &heap, tid)?;
    body.map(|b| decode_row(&b, table.schema.len())).transpose()
}

/// Applies the table's storage settings from the catalog (its compression) to its heap: when
/// the table is created, and for every table when the engine opens. The catalog is the truth;
/// the heap only follows it, so nothing per row needs to check.
pub fn apply_storage_settings(ctx: &ExecContext<'_>, table: &TableDef) -> Result<()> {
    let heap = ctx.engine.txn_manager().storage().heap(table.file())?;
    heap.set_compression(table.compression);
    Ok(())
}

/// Writes a row with no constraint checks (the catalog's own rows).
pub fn insert_raw(ctx: &mut ExecContext<'_>, table: &TableDef, row: &[Value]) -> Result<TupleId> {
    let heap = ctx.engine.txn_manager().storage().heap(table.file())?;
    let mut body = Vec::with_capacity(64);
    encode_row(row, &mut body);
    ctx.engine.txn_manager().insert(ctx.txn, &heap, &body)
}

/// Inserts a row, enforcing NOT NULL and primary key uniqueness and maintaining the index.
pub fn insert(ctx: &mut ExecContext<'_>, table: &TableDef, row: &[Value]) -> Result<TupleId> {
    check_not_null(table, row)?;
    let Some(pk) = ctx.engine.primary_index(table) else { return insert_raw(ctx, table, row) };
    let index = &pk.index;
    let key_values: Vec<Value> = table.primary_key.iter().map(|&i| row[i].clone()).collect();
    let key = keycode::encode_key(&key_values);
    // Check and insert under one lock, so two sessions cannot both pass the check.
    let _unique = pk.unique.lock();
    let heap = ctx.engine.txn_manager().storage().heap(table.file())?;
    for tid in index.lookup(&key)? {
        if ctx.engine.txn_manager().may_be_live(ctx.txn, &heap, tid)? {
            return Err(duplicate_key(table, &key_values));
        }
    }
    let tid = insert_raw(ctx, table, row)?;
    index.insert(&key, tid)?;
    Ok(tid)
}

/// Deletes the visible row at `tid`; `false` if this transaction already had.
pub fn delete(ctx: &mut ExecContext<'_>, table: &TableDef, tid: TupleId) -> Result<bool> {
    let heap = ctx.engine.txn_manager().storage().heap(table.file())?;
    ctx.engine.txn_manager().delete(ctx.txn, &heap, tid)
}

fn check_not_null(table: &TableDef, row: &[Value]) -> Result<()> {
    for (col, value) in table.schema.columns.iter().zip(row) {
        if value.is_null() && !col.nullable {
            return Err(DbError::sql(
                SqlState::NotNullViolation,
                format!(
                    "null value in column \"{}\" of relation \"{}\" violates not-null constraint",
                    col.name, table.name
                ),
            )
            .with_detail(format!("Failing row contains ({}).", format_row(row))));
        }
    }
    Ok(())
}

fn duplicate_key(table: &TableDef, key: &[Value]) -> DbError {
    let names: Vec<&str> = table.primary_key.iter().map(|&i| table.schema.columns[i].name.as_str()).collect();
    DbError::sql(
        SqlState::UniqueViolation,
        format!("duplicate key value violates unique constraint \"{}\"", table.primary_key_name()),
    )
    .with_detail(format!("Key ({})=({}) already exists.", names.join(", "), format_row(key)))
}

fn format_row(values: &[Value]) -> String {
    values.iter().map(|v| v.to_pg_text().unwrap_or_else(|| "null".into())).collect::<Vec<_>>().join(", ")
}
