//! Row access for the executor and the catalog: tables as rows of [`Value`]s, with MVCC
//! visibility from txn, the row codec from foundation, and the constraints and index maintenance
//! every write must respect (NOT NULL, uniqueness of primary keys and unique indexes).

use crate::catalog::TableDef;
use crate::context::ExecContext;
use crate::plan::Arbiters;
use rustydb_foundation::row::{decode_row, encode_row};
use rustydb_foundation::{DbError, Result, SqlState, TupleId, TxnId, Value};
use rustydb_index::{Index, keycode};
use rustydb_txn::{Delete, Liveness, LockMode, LockTarget, Predicate, WaitPolicy, tuple};

/// Visible rows on one page of `table`.
pub fn scan_page(ctx: &mut ExecContext<'_>, table: &TableDef, page: u32) -> Result<Vec<(TupleId, Vec<Value>)>> {
    scan_page_decoding(ctx, table, page, None)
}

/// Visible rows on one page of `table`, decoding only the columns `needed` marks.
pub fn scan_page_decoding(
    ctx: &mut ExecContext<'_>,
    table: &TableDef,
    page: u32,
    needed: Option<&[bool]>,
) -> Result<Vec<(TupleId, Vec<Value>)>> {
    load_visible(ctx, table, page)?;
    match needed {
        None => ctx.scan.iter().map(|(tid, t)| Ok((tid, decode(table, tuple::body(t))?))).collect(),
        Some(mask) => {
            let mask = physical_mask(table, mask);
            ctx.scan
                .iter()
                .map(|(tid, t)| {
                    let width = if table.plain_layout() { table.schema.len() } else { table.slot_count() };
                    let stored = rustydb_foundation::row::decode_row_projected(tuple::body(t), width, &mask)?;
                    Ok((tid, logical(table, stored)))
                })
                .collect()
        }
    }
}

/// A stored row of `table` decoded into its columns (see [`crate::catalog::Layout`]).
pub fn decode(table: &TableDef, body: &[u8]) -> Result<Vec<Value>> {
    if table.plain_layout() {
        let mut row = decode_row(body, table.schema.len())?;
        // A dropped last column's values are still there, unread.
        row.truncate(table.schema.len());
        return Ok(row);
    }
    Ok(logical(table, decode_row(body, table.slot_count())?))
}

/// The columns of a stored row (its slots, decoded).
fn logical(table: &TableDef, mut stored: Vec<Value>) -> Vec<Value> {
    if table.plain_layout() {
        stored.truncate(table.schema.len());
        return stored;
    }
    table
        .layout
        .slots
        .iter()
        .map(|&slot| stored.get_mut(slot).map_or(Value::Null, |v| std::mem::replace(v, Value::Null)))
        .collect()
}

/// A mask over columns as a mask over `table`'s slots.
pub fn physical_mask(table: &TableDef, needed: &[bool]) -> Vec<bool> {
    if table.plain_layout() {
        return needed.to_vec();
    }
    let mut mask = vec![false; table.slot_count()];
    for (position, &slot) in table.layout.slots.iter().enumerate() {
        if let Some(m) = mask.get_mut(slot) {
            *m = needed.get(position).copied().unwrap_or(true);
        }
    }
    mask
}

/// A row of `table` as stored: each column in its slot, dropped columns' slots NULL.
fn stored(table: &TableDef, row: &[Value]) -> Option<Vec<Value>> {
    if table.plain_layout() {
        return None;
    }
    let width = table.layout.slots.iter().max().map_or(0, |m| m + 1);
    let mut out = vec![Value::Null; width];
    for (value, &slot) in row.iter().zip(&table.layout.slots) {
        out[slot] = value.clone();
    }
    Some(out)
}

/// Leaves in the statement's scan arena (`ctx.scan`) the tuples of `table`'s page `page`
/// visible to the statement; [`tuple::body`] finds each one's row.
pub fn load_visible(ctx: &mut ExecContext<'_>, table: &TableDef, page: u32) -> Result<()> {
    let heap = ctx.engine.txn_manager().storage().heap(table.file())?;
    let footprint = ctx.scan.footprint();
    ctx.engine.txn_manager().visible_on_page_into(ctx.txn, &ctx.snapshot, &heap, page, &mut ctx.scan)?;
    // The arena keeps what it grew to for the rest of the statement: count it (a page of large
    // values can be far larger than the page).
    ctx.memory.charge(ctx.scan.footprint().saturating_sub(footprint), "a page of tuples")
}

/// The heap file holding `table`'s rows.
pub fn heap(ctx: &ExecContext<'_>, table: &TableDef) -> Result<std::sync::Arc<rustydb_storage::heap::HeapFile>> {
    ctx.engine.txn_manager().storage().heap(table.file())
}

/// Calls `visit` with the body of each row version on page `page` of `table` that the
/// statement sees, reading it in place where the page allows (see
/// `TxnManager::visit_visible_on_page`): `visit` runs under the page's latch, so it only
/// decodes.
/// `heap` is the table's ([`heap`]), found once per scan rather than once per page.
pub fn visit_visible(
    ctx: &mut ExecContext<'_>,
    heap: &rustydb_storage::heap::HeapFile,
    page: u32,
    visit: impl FnMut(&[u8]) -> Result<()>,
) -> Result<()> {
    let footprint = ctx.scan.footprint();
    ctx.engine.txn_manager().visit_visible_on_page(ctx.txn, &ctx.snapshot, heap, page, &mut ctx.scan, visit)?;
    ctx.memory.charge(ctx.scan.footprint().saturating_sub(footprint), "a page of tuples")
}

/// Locks `table` in `mode` until the transaction ends. Returns `true` if that meant waiting:
/// the table may have changed or gone meanwhile, and the caller resolves it again.
pub fn lock_table(ctx: &mut ExecContext<'_>, table: &TableDef, mode: LockMode, policy: WaitPolicy) -> Result<bool> {
    let lock = TakenLock { target: LockTarget::Relation(table.file()), mode, policy, relation: table.name.clone() };
    let waited = relock(ctx, &lock)?;
    ctx.locks_taken.push(lock);
    Ok(waited)
}

/// Takes `lock` again (a cached plan's tables, see `plan_cache.rs`). Returns `true` if that
/// meant waiting.
pub fn relock(ctx: &mut ExecContext<'_>, lock: &TakenLock) -> Result<bool> {
    let tm = ctx.engine.txn_manager();
    if tm.locks().try_lock(ctx.txn.id(), lock.target, lock.mode) {
        return Ok(false);
    }
    match tm.lock(ctx.txn, lock.target, lock.mode, lock.policy) {
        Ok(_) => {
            ctx.waited_for_lock = true;
            Ok(true)
        }
        Err(e) if lock.policy == WaitPolicy::NoWait && e.sqlstate() == SqlState::LockNotAvailable => Err(DbError::sql(
            SqlState::LockNotAvailable,
            format!("could not obtain lock on relation \"{}\"", lock.relation),
        )),
        Err(e) => Err(e),
    }
}

/// A table lock a statement took while it was bound.
#[derive(Debug, Clone, PartialEq)]
pub struct TakenLock {
    /// What was locked.
    pub target: LockTarget,
    /// In which mode.
    pub mode: LockMode,
    /// Whether a conflicting holder was waited for.
    pub policy: WaitPolicy,
    /// The table's name, for the message of a lock not obtained.
    pub relation: String,
}

/// Resolves table `name` as the catalog holds it now and locks it in `mode` (system tables
/// are not locked); if the lock had to be waited for, resolves it again.
pub fn open_table(
    ctx: &mut ExecContext<'_>,
    name: &crate::catalog::QualifiedName,
    mode: LockMode,
    policy: WaitPolicy,
) -> Result<Option<TableDef>> {
    let Some(table) = ctx.with_catalog_snapshot(|ctx| crate::catalog::find_table_named(ctx, name))? else {
        return Ok(None);
    };
    if table.is_system() || !lock_table(ctx, &table, mode, policy)? {
        return Ok(Some(table));
    }
    // Looked up again in the namespace it was found in: what the name meant when it was locked.
    ctx.with_catalog_snapshot(|ctx| crate::catalog::find_table_in(ctx, table.namespace, &table.name))
}

/// Resolves table `name` of namespace `namespace` and locks it, as [`open_table`] does.
pub fn open_table_in(
    ctx: &mut ExecContext<'_>,
    namespace: u32,
    name: &str,
    mode: LockMode,
    policy: WaitPolicy,
) -> Result<Option<TableDef>> {
    let Some(table) = ctx.with_catalog_snapshot(|ctx| crate::catalog::find_table_in(ctx, namespace, name))? else {
        return Ok(None);
    };
    if table.is_system() || !lock_table(ctx, &table, mode, policy)? {
        return Ok(Some(table));
    }
    ctx.with_catalog_snapshot(|ctx| crate::catalog::find_table_in(ctx, namespace, name))
}

/// Number of pages in `table`'s heap.
pub fn page_count(ctx: &ExecContext<'_>, table: &TableDef) -> Result<u32> {
    Ok(ctx.engine.txn_manager().storage().heap(table.file())?.page_count())
}

/// Every visible row of `table`. For a catalog whose rows belong to one database (see
/// [`crate::catalog::namespace_column`]), only the rows of the context's database: this is
/// what keeps databases apart.
pub fn scan(ctx: &mut ExecContext<'_>, table: &TableDef) -> Result<Vec<(TupleId, Vec<Value>)>> {
    let mut out = scan_unscoped(ctx, table)?;
    if let Some(column) = scoped(table) {
        let schemas = ctx.schemas()?;
        out.retain(|(_, row)| crate::catalog::row_namespace(table, row, column).is_none_or(|n| schemas.contains(n)));
    }
    Ok(out)
}

/// Every visible row of `table`, whatever database a catalog row belongs to (for lookups by a
/// table id, unique across databases, and for what spans databases: roles, DROP DATABASE).
/// A catalog row's NULL namespace reads as [`crate::catalog::PUBLIC_NAMESPACE`], so a row
/// rewritten from here keeps the namespace it had.
pub fn scan_unscoped(ctx: &mut ExecContext<'_>, table: &TableDef) -> Result<Vec<(TupleId, Vec<Value>)>> {
    let mut out = Vec::new();
    for page in 0..page_count(ctx, table)? {
        out.extend(scan_page(ctx, table, page)?);
    }
    if let Some(column) = scoped(table) {
        for (_, row) in &mut out {
            if !matches!(row.get(column), Some(Value::Int4(_))) {
                row.resize(row.len().max(column + 1), Value::Null);
                row[column] = Value::Int4(crate::catalog::PUBLIC_NAMESPACE as i32);
            }
        }
    }
    Ok(out)
}

/// The namespace column of a catalog whose rows belong to one database.
fn scoped(table: &TableDef) -> Option<usize> {
    if table.is_system() { crate::catalog::namespace_column(table) } else { None }
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
                out.push((tid, decode(table, tuple::body(&bytes))?));
            }
        }
    }
    Ok(out)
}

/// The row at `tid` if visible.
pub fn fetch(ctx: &mut ExecContext<'_>, table: &TableDef, tid: TupleId) -> Result<Option<Vec<Value>>> {
    let heap = ctx.engine.txn_manager().storage().heap(table.file())?;
    let body = ctx.engine.txn_manager().fetch_visible(ctx.txn, &ctx.snapshot, &heap, tid)?;
    body.map(|b| decode(table, &b)).transpose()
}

/// Applies the table's storage settings from the catalog (its compression) to its heap: when
/// the table is created, and for every table when the engine opens. The catalog is the truth;
/// the heap only follows it, so nothing per row needs to check.
pub fn apply_storage_settings(ctx: &ExecContext<'_>, table: &TableDef) -> Result<()> {
    let heap = ctx.engine.txn_manager().storage().heap(table.file())?;
    heap.set_compression(table.compression);
    Ok(())
}

/// Writes a row with no constraint checks (the catalog's own rows, and the heap write of
/// [`insert`]).
pub fn insert_raw(ctx: &mut ExecContext<'_>, table: &TableDef, row: &[Value]) -> Result<TupleId> {
    // A new catalog row of one database's object belongs to the context's database.
    let placed;
    let row = match scoped(table) {
        Some(column) if !matches!(row.get(column), Some(Value::Int4(_))) => {
            let mut full = row.to_vec();
            full.resize(full.len().max(column + 1), Value::Null);
            full[column] = Value::Int4(ctx.namespace()? as i32);
            placed = full;
            &placed[..]
        }
        _ => row,
    };
    let heap = ctx.engine.txn_manager().storage().heap(table.file())?;
    let mut body = Vec::with_capacity(64);
    let stored = stored(table, row);
    encode_row(stored.as_deref().unwrap_or(row), &mut body);
    ctx.engine.txn_manager().insert(ctx.txn, &heap, &body)
}

/// Inserts a row, enforcing NOT NULL and the uniqueness of the primary key and of unique
/// indexes, and adding the row's entries to every index of the table.
pub fn insert(ctx: &mut ExecContext<'_>, table: &TableDef, row: &[Value]) -> Result<TupleId> {
    match insert_arbitrated(ctx, table, row, &Arbiters::default())? {
        Insertion::Inserted(tid) => Ok(tid),
        Insertion::Conflict(_) => Err(DbError::Internal("a conflict with no arbiter".into())),
    }
}

/// What [`insert_arbitrated`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Insertion {
    /// The row went in, here.
    Inserted(TupleId),
    /// It would have duplicated the key of this live row in an arbiter; nothing was written.
    Conflict(TupleId),
}

/// Inserts a row as [`insert`] does, unless its key in one of `arbiters` (ON CONFLICT's) is
/// already a live row's: then nothing is written and that row is named. A duplicate in any
/// other unique index is 23505, as always.
///
/// Uniqueness is checked and the entry inserted under the index's lock, so two sessions
/// cannot both pass the check; locks are taken primary key first, then secondary indexes in
/// id order (the order of `table.indexes`), so two inserts never wait on each other in a cycle.
/// Arbiters are checked before the other unique indexes, as PostgreSQL's speculative insertion
/// checks them first: a row that conflicts on both takes the arbiter's action.
/// NULLs are distinct from each other, as in PostgreSQL: a key holding one is never a duplicate.
pub fn insert_arbitrated(
    ctx: &mut ExecContext<'_>,
    table: &TableDef,
    row: &[Value],
    arbiters: &Arbiters,
) -> Result<Insertion> {
    check_not_null(table, row)?;
    let pk = ctx.engine.primary_index(table);
    let secondary =
        table.indexes.iter().map(|def| Ok((def, ctx.engine.open_index(def)?))).collect::<Result<Vec<_>>>()?;
    let key_of = |columns: &[usize]| -> Vec<Value> { columns.iter().map(|&i| row[i].clone()).collect() };
    let pk_key = pk.as_ref().map(|_| key_of(&table.primary_key));
    let secondary_keys: Vec<Vec<Value>> = secondary.iter().map(|(def, _)| key_of(&def.columns)).collect();
    // The unique checks in the order they run: arbiters first.
    let mut checks: Vec<UniqueCheck<'_>> = Vec::new();
    if let (Some(pk), Some(values)) = (&pk, &pk_key) {
        checks.push(UniqueCheck {
            arbiter: arbiters.primary_key,
            name: table.primary_key_name(),
            columns: &table.primary_key,
            index: &pk.index,
            values,
            key: keycode::encode_key(values),
        });
    }
    for ((def, open), values) in secondary.iter().zip(&secondary_keys) {
        if def.unique && !values.iter().any(Value::is_null) {
            checks.push(UniqueCheck {
                arbiter: arbiters.has_index(def),
                name: def.name.clone(),
                columns: &def.columns,
                index: open.index.as_ref(),
                values,
                key: def.key(values),
            });
        }
    }
    checks.sort_by_key(|c| !c.arbiter);
    let heap = ctx.engine.txn_manager().storage().heap(table.file())?;
    loop {
        // A duplicate whose writer is still running is waited for with no index lock held;
        // then the checks start again (it may have committed, rolled back, or been followed
        // by others).
        let pending = {
            let _pk_lock = pk.as_ref().map(|pk| pk.unique.lock());
            let _index_locks: Vec<_> =
                secondary.iter().filter(|(def, _)| def.unique).map(|(_, open)| open.unique.lock()).collect();
            let mut pending = None;
            for check in &checks {
                match duplicate(ctx, &heap, check.index, &check.key)? {
                    Duplicate::Live(_) if pending.is_some() => {}
                    Duplicate::Live(existing) if check.arbiter => return Ok(Insertion::Conflict(existing)),
                    Duplicate::Live(_) => return Err(duplicate_key(table, &check.name, check.columns, check.values)),
                    Duplicate::Pending(other) => {
                        pending.get_or_insert(other);
                    }
                    Duplicate::None => {}
                }
            }
            if pending.is_none() {
                let tid = insert_raw(ctx, table, row)?;
                if let (Some(pk), Some(values)) = (&pk, &pk_key) {
                    pk.index.insert(&keycode::encode_key(values), tid)?;
                }
                for ((def, open), values) in secondary.iter().zip(&secondary_keys) {
                    open.index.insert(&def.key(values), tid)?;
                }
                // A serializable writer of these keys conflicts with concurrent readers of them:
                // checked after the entries exist, so a reader that locks a key later finds
                // the new tuple and meets this writer.
                let mut keys = Vec::with_capacity(secondary.len() + 1);
                if let (Some(_), Some(values)) = (&pk, &pk_key) {
                    keys.push(Predicate::Key(table.primary_index_file(), keycode::encode_key(values)));
                }
                for ((def, _), values) in secondary.iter().zip(&secondary_keys) {
                    keys.push(Predicate::Key(def.file(), def.key(values)));
                }
                ctx.engine.txn_manager().conflict_in(ctx.txn, &keys)?;
                return Ok(Insertion::Inserted(tid));
            }
            pending
        };
        if let Some(other) = pending {
            ctx.engine.txn_manager().wait_for(ctx.txn, other)?;
        }
    }
}

/// One uniqueness check an insert makes: a unique constraint and the row's key in it.
struct UniqueCheck<'a> {
    /// An ON CONFLICT arbiter: a live duplicate is reported, not an error.
    arbiter: bool,
    /// The constraint's name (for 23505).
    name: String,
    /// Its key columns.
    columns: &'a [usize],
    /// Its index.
    index: &'a dyn Index,
    /// The row's key values.
    values: &'a [Value],
    /// The key as the index holds it.
    key: Vec<u8>,
}

/// Whether a key is in a unique index for a version that counts for uniqueness.
enum Duplicate {
    /// This version is live (the first found).
    Live(TupleId),
    /// None is live, but this writer of one is still running.
    Pending(TxnId),
    /// None counts.
    None,
}

/// Whether `key` is in `index` for a version that counts for uniqueness: live if any is,
/// else pending on the first still-running writer, else none.
fn duplicate(
    ctx: &mut ExecContext<'_>,
    heap: &rustydb_storage::HeapFile,
    index: &dyn Index,
    key: &[u8],
) -> Result<Duplicate> {
    let mut verdict = Duplicate::None;
    for tid in index.lookup(key)? {
        match ctx.engine.txn_manager().liveness(ctx.txn, heap, tid)? {
            Liveness::Live => return Ok(Duplicate::Live(tid)),
            Liveness::Pending(other) if matches!(verdict, Duplicate::None) => verdict = Duplicate::Pending(other),
            _ => {}
        }
    }
    Ok(verdict)
}

/// Deletes the visible row at `tid` (see [`rustydb_txn::TxnManager::delete`] for waits and
/// what READ COMMITTED learns).
pub fn delete(ctx: &mut ExecContext<'_>, table: &TableDef, tid: TupleId) -> Result<Delete> {
    let heap = ctx.engine.txn_manager().storage().heap(table.file())?;
    ctx.engine.txn_manager().delete(ctx.txn, &heap, tid)
}

/// Replaces the version at `tid` of a row of `table` by `row`, written as `written` (the
/// table's definition after an ALTER that rewrites its rows): the update path, so indexes and
/// the log follow. The table is locked ACCESS EXCLUSIVE, so the row cannot have changed.
pub fn rewrite_version(
    ctx: &mut ExecContext<'_>,
    table: &TableDef,
    written: &TableDef,
    tid: TupleId,
    row: &[Value],
) -> Result<TupleId> {
    if delete(ctx, table, tid)? != Delete::Done {
        return Err(DbError::Internal("a row changed under ACCESS EXCLUSIVE".into()));
    }
    let new_tid = insert(ctx, written, row)?;
    link_update(ctx, written, tid, new_tid)?;
    Ok(new_tid)
}

/// Records that the version at `old`, just deleted, was updated into the one at `new`.
pub fn link_update(ctx: &mut ExecContext<'_>, table: &TableDef, old: TupleId, new: TupleId) -> Result<()> {
    let heap = ctx.engine.txn_manager().storage().heap(table.file())?;
    ctx.engine.txn_manager().link_update(ctx.txn, &heap, old, new)
}

/// The row at `tid` whatever the snapshot: the newer version a READ COMMITTED writer re-checks
/// after a concurrent update committed.
pub fn fetch_newer(ctx: &mut ExecContext<'_>, table: &TableDef, tid: TupleId) -> Result<Option<Vec<Value>>> {
    let heap = ctx.engine.txn_manager().storage().heap(table.file())?;
    let Some((_, body)) = ctx.engine.txn_manager().fetch_version(&heap, tid)? else { return Ok(None) };
    decode(table, &body).map(Some)
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

fn duplicate_key(table: &TableDef, constraint: &str, columns: &[usize], key: &[Value]) -> DbError {
    let names: Vec<&str> = columns.iter().map(|&i| table.schema.columns[i].name.as_str()).collect();
    DbError::sql(SqlState::UniqueViolation, format!("duplicate key value violates unique constraint \"{constraint}\""))
        .with_detail(format!("Key ({})=({}) already exists.", names.join(", "), format_row(key)))
}

/// The message of a unique index that cannot be built over the rows already there.
pub fn duplicate_in_build(table: &TableDef, index: &str, columns: &[usize], key: &[Value]) -> DbError {
    let names: Vec<&str> = columns.iter().map(|&i| table.schema.columns[i].name.as_str()).collect();
    DbError::sql(SqlState::UniqueViolation, format!("could not create unique index \"{index}\"")).with_detail(format!(
        "Key ({})=({}) is duplicated.",
        names.join(", "),
        format_row(key)
    ))
}

pub(crate) fn format_row(values: &[Value]) -> String {
    values.iter().map(|v| v.to_pg_text().unwrap_or_else(|| "null".into())).collect::<Vec<_>>().join(", ")
}
