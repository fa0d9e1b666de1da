//! The executor: runs bound statements against the heap through MVCC. Rows flow a page at a
//! time from the access path through the filter; a query without ORDER BY stops reading as
//! soon as its LIMIT is met. UPDATE and DELETE first collect their targets and then change
//! them, so a statement never sees its own new versions (no Halloween problem).

use crate::access;
use crate::catalog::{self, IndexDef, IndexMethod, TableDef};
use crate::context::ExecContext;
use crate::expr::{EvalEnv, Expr, passes};
use crate::plan::{Access, InsertSource, RangeEnd, SelectPlan, SortKey, Source, Statement};
use crate::result::{Notice, StatementResult};
use crate::vacuum;
use rustydb_foundation::{DbError, FileId, Result, Schema, SqlState, TupleId, Value};
use rustydb_index::{Index, keycode};
use rustydb_txn::{Delete, LockMode, Predicate, RowLock, WaitPolicy};
use std::cmp::Ordering;

/// Runs a bound statement (not transaction control, which the session handles).
pub fn execute(ctx: &mut ExecContext<'_>, stmt: &Statement) -> Result<StatementResult> {
    match stmt {
        Statement::Select(plan) => {
            let rows = select(ctx, plan)?;
            Ok(StatementResult {
                tag: format!("SELECT {}", rows.len()),
                columns: Some(plan.columns.clone()),
                rows,
                notices: Vec::new(),
            })
        }
        Statement::Insert { table, source } => insert(ctx, table, source),
        Statement::Update { table, assignments, filter, access } => {
            update(ctx, table, assignments, filter.as_ref(), access)
        }
        Statement::Delete { table, filter, access } => delete(ctx, table, filter.as_ref(), access),
        Statement::CreateTable { name, columns, primary_key, compression, if_not_exists } => {
            create_table(ctx, name, columns, primary_key, *compression, *if_not_exists)
        }
        Statement::DropTable { names, if_exists } => drop_tables(ctx, names, *if_exists),
        Statement::CreateIndex { name, table, columns, descending, unique, method, if_not_exists } => {
            let spec =
                IndexSpec { name: name.as_deref(), table, columns, descending, unique: *unique, method: *method };
            create_index(ctx, &spec, *if_not_exists)
        }
        Statement::DropIndex { names, if_exists } => drop_indexes(ctx, names, *if_exists),
        Statement::LockTable { names, mode, nowait } => lock_tables(ctx, names, *mode, *nowait),
        Statement::Begin { .. }
        | Statement::Commit
        | Statement::Rollback
        | Statement::Savepoint { .. }
        | Statement::ReleaseSavepoint { .. }
        | Statement::RollbackToSavepoint { .. }
        | Statement::SetTransaction { .. }
        | Statement::Set { .. }
        | Statement::Show { .. } => Err(DbError::Internal("transaction control reached the executor".into())),
    }
}

fn env<'a>(ctx: &'a ExecContext<'_>) -> EvalEnv<'a> {
    EvalEnv { user: ctx.user, database: ctx.database }
}

/// Feeds every source row passing `filter` to `each`, until `each` returns `false`.
fn for_each_row(
    ctx: &mut ExecContext<'_>,
    source: &Source,
    filter: Option<&Expr>,
    mut each: impl FnMut(&mut ExecContext<'_>, TupleId, Vec<Value>) -> Result<bool>,
) -> Result<()> {
    let (table, access) = match source {
        Source::Nothing => {
            let row = Vec::new();
            if passes(filter, &row, &env(ctx))? {
                each(ctx, dummy_tid(), row)?;
            }
            return Ok(());
        }
        Source::Table { table, access } => (table, access),
    };
    match access {
        Access::SeqScan => {
            for page in 0..access::page_count(ctx, table)? {
                for (tid, row) in access::scan_page(ctx, table, page)? {
                    if passes(filter, &row, &env(ctx))? && !each(ctx, tid, row)? {
                        return Ok(());
                    }
                }
            }
        }
        Access::PrimaryKey(key) => {
            let Some(pk) = ctx.engine.primary_index(table) else {
                return Err(DbError::Internal(format!("table {} has no primary key index", table.name)));
            };
            for (tid, row) in index_rows(ctx, table, (&pk.index, table.primary_index_file()), key, &[])? {
                if passes(filter, &row, &env(ctx))? && !each(ctx, tid, row)? {
                    return Ok(());
                }
            }
        }
        Access::Index { index, key } => {
            let open = ctx.engine.open_index(index)?;
            for (tid, row) in index_rows(ctx, table, (open.index.as_ref(), index.file()), key, &index.descending)? {
                if passes(filter, &row, &env(ctx))? && !each(ctx, tid, row)? {
                    return Ok(());
                }
            }
        }
        Access::IndexRange { index, lower, upper } => {
            // A serializable reader of a range reads the predicate: the whole relation stands
            // for it (a key-range lock would be finer).
            ctx.engine.txn_manager().predicate_lock(ctx.txn, Predicate::Relation(table.file()));
            let tids = match index {
                None => {
                    let Some(pk) = ctx.engine.primary_index(table) else {
                        return Err(DbError::Internal(format!("table {} has no primary key index", table.name)));
                    };
                    range_tids(ctx, &pk.index, lower.as_ref(), upper.as_ref(), false)?
                }
                Some(def) => {
                    let open = ctx.engine.open_index(def)?;
                    range_tids(ctx, open.index.as_ref(), lower.as_ref(), upper.as_ref(), def.first_descending())?
                }
            };
            for tid in tids {
                let Some(row) = access::fetch(ctx, table, tid)? else { continue };
                if passes(filter, &row, &env(ctx))? && !each(ctx, tid, row)? {
                    return Ok(());
                }
            }
        }
    }
    Ok(())
}

fn dummy_tid() -> TupleId {
    TupleId { page: rustydb_foundation::PageId::new(rustydb_foundation::FileId(0), 0), slot: 0 }
}

/// The tuples a range of an index's first column holds, in key order (the bounds are
/// constants; a NULL bound holds nothing).
fn range_tids(
    ctx: &mut ExecContext<'_>,
    index: &dyn Index,
    lower: Option<&RangeEnd>,
    upper: Option<&RangeEnd>,
    descending: bool,
) -> Result<Vec<TupleId>> {
    let eval = |end: Option<&RangeEnd>| -> Result<Option<(Value, bool)>> {
        end.map(|e| Ok((e.value.eval(&[], &env(ctx))?, e.inclusive))).transpose()
    };
    let (lower, upper) = (eval(lower)?, eval(upper)?);
    let bounds = keycode::first_column_range(
        lower.as_ref().map(|(v, i)| (v, *i)),
        upper.as_ref().map(|(v, i)| (v, *i)),
        descending,
    );
    let Some((low, high)) = bounds else { return Ok(Vec::new()) };
    let entries = index.range(low.as_ref().map(Vec::as_slice), high.as_ref().map(Vec::as_slice), false)?;
    Ok(entries.into_iter().map(|(_, tid)| tid).collect())
}

/// The visible rows whose key in `index` (with its file) equals the constant `key`.
fn index_rows(
    ctx: &mut ExecContext<'_>,
    table: &TableDef,
    (index, file): (&dyn Index, FileId),
    key: &[Expr],
    descending: &[bool],
) -> Result<Vec<(TupleId, Vec<Value>)>> {
    let values = key.iter().map(|e| e.eval(&[], &env(ctx))).collect::<Result<Vec<_>>>()?;
    if values.iter().any(Value::is_null) {
        return Ok(Vec::new());
    }
    let key = keycode::encode_key_directed(&values, descending);
    // A serializable reader reads the key, found or not: a concurrent insert of it conflicts.
    ctx.engine.txn_manager().predicate_lock(ctx.txn, Predicate::Key(file, key.clone()));
    let mut rows = Vec::new();
    for tid in index.lookup(&key)? {
        if let Some(row) = access::fetch(ctx, table, tid)? {
            rows.push((tid, row));
        }
    }
    Ok(rows)
}

fn project(exprs: &[Expr], row: &[Value], env: &EvalEnv<'_>) -> Result<Vec<Value>> {
    exprs.iter().map(|e| e.eval(row, env)).collect()
}

/// Runs a SELECT and returns its output rows.
pub fn select(ctx: &mut ExecContext<'_>, plan: &SelectPlan) -> Result<Vec<Vec<Value>>> {
    if plan.limit == Some(0) {
        return Ok(Vec::new());
    }
    if plan.row_lock.is_some() {
        return select_locking(ctx, plan);
    }
    if plan.order_by.is_empty() {
        let mut skipped = 0;
        let mut out = Vec::new();
        for_each_row(ctx, &plan.source, plan.filter.as_ref(), |ctx, _, row| {
            if skipped < plan.offset {
                skipped += 1;
                return Ok(true);
            }
            let projected = project(&plan.projection, &row, &env(ctx))?;
            ctx.hold_row(&projected, "the result set")?;
            out.push(projected);
            Ok(plan.limit.is_none_or(|l| (out.len() as u64) < l))
        })?;
        return Ok(out);
    }
    let mut keyed: Vec<(Vec<Value>, Vec<Value>)> = Vec::new();
    for_each_row(ctx, &plan.source, plan.filter.as_ref(), |ctx, _, row| {
        let env = env(ctx);
        let keys = plan.order_by.iter().map(|k| k.expr.eval(&row, &env)).collect::<Result<Vec<_>>>()?;
        let projected = project(&plan.projection, &row, &env)?;
        ctx.hold_row(&keys, "a sort")?;
        ctx.hold_row(&projected, "a sort")?;
        keyed.push((keys, projected));
        Ok(true)
    })?;
    keyed.sort_by(|a, b| compare_keys(&plan.order_by, &a.0, &b.0));
    let take = plan.limit.map_or(usize::MAX, |l| l as usize);
    Ok(keyed.into_iter().skip(plan.offset as usize).take(take).map(|(_, row)| row).collect())
}

/// SELECT ... FOR SHARE/UPDATE: rows are found and sorted, then locked one by one in output
/// order, as PostgreSQL's LockRows node does; OFFSET and LIMIT count locked rows only, so
/// SKIP LOCKED fills the limit from rows further on.
fn select_locking(ctx: &mut ExecContext<'_>, plan: &SelectPlan) -> Result<Vec<Vec<Value>>> {
    let (Some(lock), Source::Table { table, .. }) = (plan.row_lock, &plan.source) else {
        return Err(DbError::Internal("a locking SELECT without a table".into()));
    };
    let mut found: Vec<(Vec<Value>, TupleId, Vec<Value>)> = Vec::new();
    for_each_row(ctx, &plan.source, plan.filter.as_ref(), |ctx, tid, row| {
        let keys = plan.order_by.iter().map(|k| k.expr.eval(&row, &env(ctx))).collect::<Result<Vec<_>>>()?;
        ctx.hold_row(&row, "the rows to lock")?;
        found.push((keys, tid, row));
        Ok(true)
    })?;
    found.sort_by(|a, b| compare_keys(&plan.order_by, &a.0, &b.0));
    let heap = ctx.engine.txn_manager().storage().heap(table.file())?;
    let mode = if lock.exclusive { LockMode::Exclusive } else { LockMode::Share };
    let (mut skipped, mut out) = (0, Vec::new());
    for (_, tid, row) in found {
        let mut current = Some((tid, row));
        while let Some((tid, _)) = &current {
            let tm = ctx.engine.txn_manager();
            match tm.lock_row(ctx.txn, &heap, *tid, mode, lock.policy, &table.name)? {
                RowLock::Locked => break,
                RowLock::Skipped | RowLock::Gone => current = None,
                // READ COMMITTED: lock the newest version instead, if it still qualifies.
                RowLock::Updated(newer) => {
                    current = match access::fetch_newer(ctx, table, newer)? {
                        Some(newer_row) if passes(plan.filter.as_ref(), &newer_row, &env(ctx))? => {
                            Some((newer, newer_row))
                        }
                        _ => None,
                    }
                }
            }
        }
        let Some((_, row)) = current else { continue };
        if skipped < plan.offset {
            skipped += 1;
            continue;
        }
        let projected = project(&plan.projection, &row, &env(ctx))?;
        out.push(projected);
        if plan.limit.is_some_and(|l| out.len() as u64 >= l) {
            break;
        }
    }
    Ok(out)
}

/// 42501 for DDL or LOCK TABLE on a system catalog.
fn system_catalog(name: &str) -> DbError {
    DbError::sql(SqlState::InsufficientPrivilege, format!("permission denied: \"{name}\" is a system catalog"))
}

/// LOCK TABLE: only in a transaction block, where the locks last until it ends.
fn lock_tables(ctx: &mut ExecContext<'_>, names: &[String], mode: LockMode, nowait: bool) -> Result<StatementResult> {
    if !ctx.in_block {
        return Err(DbError::sql(
            SqlState::NoActiveSqlTransaction,
            "LOCK TABLE can only be used in transaction blocks",
        ));
    }
    let policy = if nowait { WaitPolicy::NoWait } else { WaitPolicy::Block };
    for name in names {
        match access::open_table(ctx, name, mode, policy)? {
            Some(t) if t.is_system() => return Err(system_catalog(name)),
            Some(_) => {}
            None => return Err(DbError::undefined_table(name)),
        }
    }
    Ok(StatementResult::tag("LOCK TABLE"))
}

fn compare_keys(keys: &[SortKey], a: &[Value], b: &[Value]) -> Ordering {
    for (k, (x, y)) in keys.iter().zip(a.iter().zip(b)) {
        let ord = match (x.is_null(), y.is_null()) {
            (true, true) => Ordering::Equal,
            (true, false) => {
                if k.nulls_first {
                    Ordering::Less
                } else {
                    Ordering::Greater
                }
            }
            (false, true) => {
                if k.nulls_first {
                    Ordering::Greater
                } else {
                    Ordering::Less
                }
            }
            _ => {
                let o = x.sql_cmp(y).unwrap_or(Ordering::Equal);
                if k.descending { o.reverse() } else { o }
            }
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    Ordering::Equal
}

fn insert(ctx: &mut ExecContext<'_>, table: &TableDef, source: &InsertSource) -> Result<StatementResult> {
    let rows: Vec<Vec<Value>> = match source {
        InsertSource::Values(rows) => {
            let env = env(ctx);
            rows.iter().map(|r| project(r, &[], &env)).collect::<Result<_>>()?
        }
        InsertSource::Query(query, row) => {
            let input = select(ctx, query)?;
            let env = env(ctx);
            input.iter().map(|r| project(row, r, &env)).collect::<Result<_>>()?
        }
    };
    let mut inserted = 0;
    let done = rows.iter().try_for_each(|row| {
        access::insert(ctx, table, row)?;
        inserted += 1;
        Ok(())
    });
    // Counted whether or not the statement completes: a failed one leaves dead versions.
    vacuum::note_changes(ctx, table, inserted, 0);
    done?;
    Ok(StatementResult::tag(format!("INSERT 0 {}", rows.len())))
}

fn targets(
    ctx: &mut ExecContext<'_>,
    table: &TableDef,
    filter: Option<&Expr>,
    access: &Access,
) -> Result<Vec<(TupleId, Vec<Value>)>> {
    let source = Source::Table { table: Box::new(table.clone()), access: access.clone() };
    let mut out = Vec::new();
    for_each_row(ctx, &source, filter, |ctx, tid, row| {
        ctx.hold_row(&row, "the rows to change")?;
        out.push((tid, row));
        Ok(true)
    })?;
    Ok(out)
}

fn update(
    ctx: &mut ExecContext<'_>,
    table: &TableDef,
    assignments: &[(usize, Expr)],
    filter: Option<&Expr>,
    access: &Access,
) -> Result<StatementResult> {
    let mut count = 0;
    let mut each = |ctx: &mut ExecContext<'_>, tid, old| -> Result<()> {
        let Some((tid, old)) = claim(ctx, table, filter, tid, old)? else { return Ok(()) };
        let mut new = old.clone();
        for (pos, expr) in assignments {
            new[*pos] = expr.eval(&old, &env(ctx))?;
        }
        count += 1;
        let new_tid = access::insert(ctx, table, &new)?;
        access::link_update(ctx, table, tid, new_tid)
    };
    let done = targets(ctx, table, filter, access)?.into_iter().try_for_each(|(tid, old)| each(ctx, tid, old));
    // An update leaves one dead version per row, whether it commits (the old one) or not.
    vacuum::note_changes(ctx, table, count, count);
    done?;
    Ok(StatementResult::tag(format!("UPDATE {count}")))
}

/// Deletes the version at `tid` for an UPDATE or DELETE, and returns the version deleted: the
/// one found, or under READ COMMITTED the newest version of the row if a concurrent update
/// committed meanwhile and that version still passes `filter` (PostgreSQL's re-check). `None`
/// if the row is no longer there to change.
fn claim(
    ctx: &mut ExecContext<'_>,
    table: &TableDef,
    filter: Option<&Expr>,
    mut tid: TupleId,
    mut row: Vec<Value>,
) -> Result<Option<(TupleId, Vec<Value>)>> {
    loop {
        match access::delete(ctx, table, tid)? {
            Delete::Done => return Ok(Some((tid, row))),
            Delete::AlreadyMine | Delete::Gone => return Ok(None),
            Delete::Updated(newer) => {
                let Some(newer_row) = access::fetch_newer(ctx, table, newer)? else { return Ok(None) };
                if !passes(filter, &newer_row, &env(ctx))? {
                    return Ok(None);
                }
                (tid, row) = (newer, newer_row);
            }
        }
    }
}

fn delete(
    ctx: &mut ExecContext<'_>,
    table: &TableDef,
    filter: Option<&Expr>,
    access: &Access,
) -> Result<StatementResult> {
    let mut count = 0;
    let done = targets(ctx, table, filter, access)?.into_iter().try_for_each(|(tid, row)| {
        if claim(ctx, table, filter, tid, row)?.is_some() {
            count += 1;
        }
        Ok(())
    });
    vacuum::note_changes(ctx, table, 0, count);
    done?;
    Ok(StatementResult::tag(format!("DELETE {count}")))
}

fn create_table(
    ctx: &mut ExecContext<'_>,
    name: &str,
    columns: &[rustydb_foundation::Column],
    primary_key: &[usize],
    compression: rustydb_storage::Compression,
    if_not_exists: bool,
) -> Result<StatementResult> {
    let _ddl = ctx.engine.ddl_lock().lock();
    if catalog::name_in_use(ctx, name)? {
        let message = format!("relation \"{name}\" already exists");
        if if_not_exists {
            return Ok(StatementResult::tag("CREATE TABLE").with_notice(Notice::plain(format!("{message}, skipping"))));
        }
        return Err(DbError::sql(SqlState::DuplicateTable, message));
    }
    let table = TableDef {
        id: ctx.engine.allocate_table_id(),
        name: name.to_string(),
        schema: Schema::new(columns.to_vec()),
        primary_key: primary_key.to_vec(),
        compression,
        indexes: Vec::new(),
    };
    catalog::create_table(ctx, &table)?;
    access::apply_storage_settings(ctx, &table)?;
    if !table.primary_key.is_empty() {
        ctx.engine.create_primary_index(&table)?;
    }
    Ok(StatementResult::tag("CREATE TABLE"))
}

fn drop_tables(ctx: &mut ExecContext<'_>, names: &[String], if_exists: bool) -> Result<StatementResult> {
    // The tables' locks first: waiting for them while holding the DDL lock could deadlock
    // with a transaction that holds one and wants the DDL lock, unseen by the lock manager.
    let mut opened = Vec::with_capacity(names.len());
    for name in names {
        opened.push(access::open_table(ctx, name, LockMode::AccessExclusive, WaitPolicy::Block)?);
    }
    let _ddl = ctx.engine.ddl_lock().lock();
    let mut result = StatementResult::tag("DROP TABLE");
    let mut found = Vec::new();
    for (name, table) in names.iter().zip(opened) {
        match table {
            Some(t) if t.is_system() => return Err(system_catalog(name)),
            Some(t) => found.push(t),
            None if if_exists => {
                result.notices.push(Notice::plain(format!("table \"{name}\" does not exist, skipping")))
            }
            None => return Err(DbError::sql(SqlState::UndefinedTable, format!("table \"{name}\" does not exist"))),
        }
    }
    for table in found {
        catalog::drop_table(ctx, &table)?;
        ctx.engine.drop_table_on_commit(ctx.txn, &table);
    }
    Ok(result)
}

/// What CREATE INDEX asks for.
struct IndexSpec<'a> {
    name: Option<&'a str>,
    table: &'a TableDef,
    columns: &'a [usize],
    descending: &'a [bool],
    unique: bool,
    method: IndexMethod,
}

/// PostgreSQL's name for an unnamed index: table, columns, `idx`, joined by underscores.
fn default_index_name(table: &TableDef, columns: &[usize]) -> String {
    let mut parts = vec![table.name.clone()];
    parts.extend(columns.iter().map(|&c| table.schema.columns[c].name.clone()));
    parts.push("idx".into());
    parts.join("_")
}

fn create_index(ctx: &mut ExecContext<'_>, spec: &IndexSpec<'_>, if_not_exists: bool) -> Result<StatementResult> {
    let _ddl = ctx.engine.ddl_lock().lock();
    let table = spec.table;
    let name = match spec.name {
        Some(n) => n.to_string(),
        None => {
            // An unnamed index takes the first free name of table_col_idx, table_col_idx1, ...
            let base = default_index_name(table, spec.columns);
            let mut candidate = base.clone();
            let mut n = 0;
            while catalog::name_in_use(ctx, &candidate)? {
                n += 1;
                candidate = format!("{base}{n}");
            }
            candidate
        }
    };
    if catalog::name_in_use(ctx, &name)? {
        let message = format!("relation \"{name}\" already exists");
        if if_not_exists {
            return Ok(StatementResult::tag("CREATE INDEX").with_notice(Notice::plain(format!("{message}, skipping"))));
        }
        return Err(DbError::sql(SqlState::DuplicateTable, message));
    }
    let def = IndexDef {
        id: ctx.engine.allocate_table_id(),
        name,
        table: table.id,
        columns: spec.columns.to_vec(),
        descending: spec.descending.to_vec(),
        unique: spec.unique,
        method: spec.method,
    };
    let key_of = |row: &[Value]| -> Vec<Value> { def.columns.iter().map(|&c| row[c].clone()).collect() };
    if def.unique {
        // Only rows this transaction can see must be unique; older versions stay indexed.
        let mut keys: Vec<Vec<Value>> = access::scan(ctx, table)?
            .iter()
            .map(|(_, row)| key_of(row))
            .filter(|k| !k.iter().any(Value::is_null))
            .collect();
        keys.sort_by_key(|k| keycode::encode_key(k));
        if let Some(pair) = keys.windows(2).find(|w| w[0] == w[1]) {
            return Err(access::duplicate_in_build(table, &def.name, &def.columns, &pair[0]));
        }
    }
    let mut entries: Vec<(Vec<u8>, TupleId)> =
        access::scan_all_versions(ctx, table)?.into_iter().map(|(tid, row)| (def.key(&key_of(&row)), tid)).collect();
    entries.sort_unstable();
    let open = ctx.engine.create_index(&def, table)?;
    open.index.build(entries)?;
    catalog::create_index(ctx, &def)?;
    Ok(StatementResult::tag("CREATE INDEX"))
}

fn drop_indexes(ctx: &mut ExecContext<'_>, names: &[String], if_exists: bool) -> Result<StatementResult> {
    // Each index is resolved as the catalog holds it now and its table locked before the DDL
    // lock (see drop_tables); one whose lock was waited for is resolved again.
    let mut resolved = Vec::with_capacity(names.len());
    for name in names {
        let mut index = ctx.with_catalog_snapshot(|ctx| catalog::find_index(ctx, name))?;
        if let Some(def) = &index
            && let Some(table) = ctx.with_catalog_snapshot(|ctx| catalog::find_table_by_id(ctx, def.table))?
            && access::lock_table(ctx, &table, LockMode::AccessExclusive, WaitPolicy::Block)?
        {
            index = ctx.with_catalog_snapshot(|ctx| catalog::find_index(ctx, name))?;
        }
        resolved.push(index);
    }
    let _ddl = ctx.engine.ddl_lock().lock();
    let mut result = StatementResult::tag("DROP INDEX");
    let mut found = Vec::new();
    for (name, index) in names.iter().zip(resolved) {
        match index {
            Some(index) => found.push(index),
            None if if_exists => {
                result.notices.push(Notice::plain(format!("index \"{name}\" does not exist, skipping")))
            }
            None => return Err(DbError::sql(SqlState::UndefinedObject, format!("index \"{name}\" does not exist"))),
        }
    }
    for index in found {
        catalog::drop_index(ctx, &index)?;
        ctx.engine.drop_index_on_commit(ctx.txn, &index);
    }
    Ok(result)
}
