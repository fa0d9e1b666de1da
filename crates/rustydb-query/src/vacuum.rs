//! VACUUM: reclaiming the versions no snapshot can see any more, in the heap and in every
//! index, so a table updated in a loop stays within a small multiple of its live size.
//!
//! The transaction layer decides which versions are dead ([`TxnManager::dead_on_page`]) and
//! frees their heap tuples; this layer knows the table's indexes and the row layout, so it
//! removes each dead version's index entries (keys computed from the version's row) before its
//! tuple goes — an entry never points at a freed slot. A freed slot is reused by the next
//! insert that fits the page: the free-space map learns of it as the tuple is freed.
//!
//! A table is vacuumed in a transaction of its own holding SHARE UPDATE EXCLUSIVE on it, as in
//! PostgreSQL: two vacuums of one table never run at once (a second one could otherwise free a
//! slot the first had already freed and an insert had since reused), while reads and writes go
//! on. DROP TABLE and other DDL wait for it.
//!
//! The catalog is vacuumed too (by a VACUUM naming no table), except for the row recording the
//! highest table or index id ever handed out ([`crate::catalog::id_high_water`]).
//!
//! Known costs: a serializable transaction's SIREAD lock on a removed version's address can
//! meet a new tuple in the reused slot and report a conflict that was not one (a spurious
//! 40001, never a missed one); and a dead version is read whole, large values included, to
//! compute its index keys.
//!
//! [`Activity`] counts, per table, the dead versions and inserts statements made since the
//! table's last vacuum; the autovacuum thread ([`crate::autovacuum`]) visits a table once they
//! pass PostgreSQL's thresholds.
//!
//! [`TxnManager::dead_on_page`]: rustydb_txn::TxnManager::dead_on_page

use crate::catalog::{IndexDef, TableDef};
use crate::context::ExecContext;
use crate::engine::{OpenIndex, PrimaryKey};
use parking_lot::{Condvar, Mutex};
use rustydb_foundation::row::decode_row;
use rustydb_foundation::{DbError, Result, SqlState, TableId, TupleId, TxnId, Value};
use rustydb_index::{Index, keycode};
use rustydb_storage::TupleArena;
use rustydb_txn::{DeadVersion, LockMode, LockTarget, WaitPolicy};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What vacuuming one table did (VACUUM VERBOSE's report, autovacuum's log line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VacuumReport {
    /// Heap pages scanned (every page of the table).
    pub pages: u32,
    /// Dead versions removed from the heap.
    pub removed: u64,
    /// Versions left that some snapshot may see.
    pub remain: u64,
    /// Versions deleted by committed transactions that a running snapshot may still see.
    pub recently_dead: u64,
    /// Index entries removed with the dead versions.
    pub index_entries_removed: u64,
    /// The horizon used: deletes committed below it were removable.
    pub horizon: TxnId,
    /// Wall time taken.
    pub elapsed: Duration,
}

/// Whether [`vacuum_table`] waits for a table another session holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Busy {
    /// Wait for it (plain VACUUM).
    Wait,
    /// Pass over it (SKIP_LOCKED, and autovacuum, which must not queue in front of DDL).
    Skip,
}

/// Vacuums `table` in `ctx`'s transaction (which should do nothing else, or its own versions
/// hold the horizon back). Returns `None` if the table was passed over as busy, or dropped
/// while the lock was waited for.
pub fn vacuum_table(ctx: &mut ExecContext<'_>, table: &TableDef, busy: Busy) -> Result<Option<VacuumReport>> {
    let started = Instant::now();
    let tm = ctx.engine.txn_manager();
    let policy = match busy {
        Busy::Wait => WaitPolicy::Block,
        Busy::Skip => WaitPolicy::NoWait,
    };
    match tm.lock(ctx.txn, LockTarget::Relation(table.file()), LockMode::ShareUpdateExclusive, policy) {
        Ok(_) => {}
        Err(e) if busy == Busy::Skip && e.sqlstate() == SqlState::LockNotAvailable => return Ok(None),
        Err(e) => return Err(e),
    }
    // The table as it is now that it is locked: it may have gained an index, or gone.
    let table = if table.is_system() {
        table.clone()
    } else {
        match ctx.with_catalog_snapshot(|ctx| crate::catalog::find_table_by_id(ctx, table.id))? {
            Some(t) => t,
            None => return Ok(None),
        }
    };
    let heap = tm.storage().heap(table.file())?;
    let indexes = Indexes::open(ctx, &table)?;
    let keep_id = crate::catalog::id_high_water(ctx, &table)?;
    // Taken after the lock: a later horizon only removes more.
    let horizon = tm.vacuum_horizon();
    let mut report = VacuumReport {
        pages: heap.page_count(),
        removed: 0,
        remain: 0,
        recently_dead: 0,
        index_entries_removed: 0,
        horizon,
        elapsed: Duration::ZERO,
    };
    let mut arena = TupleArena::new();
    for page in 0..report.pages {
        if busy == Busy::Skip && ctx.engine.activity().stopping() {
            // Autovacuum at shutdown: what is left waits for the next start.
            break;
        }
        let sweep = tm.dead_on_page(&heap, page, horizon, &mut arena)?;
        report.remain += sweep.live;
        report.recently_dead += sweep.recently_dead;
        for dead in &sweep.dead {
            if keep_id.is_some_and(|(column, id)| holds_id(&table, dead, column, id)) {
                report.remain += 1;
                continue;
            }
            report.index_entries_removed += indexes.remove_entries(&table, dead)?;
            if tm.remove_dead(&heap, dead)? {
                report.removed += 1;
            }
        }
    }
    report.elapsed = started.elapsed();
    ctx.engine.activity().vacuumed(table.id, report.remain);
    Ok(Some(report))
}

/// A table's indexes, open for removing entries.
struct Indexes {
    primary: Option<Arc<PrimaryKey>>,
    secondary: Vec<(IndexDef, Arc<OpenIndex>)>,
}

impl Indexes {
    fn open(ctx: &ExecContext<'_>, table: &TableDef) -> Result<Indexes> {
        let primary = if table.primary_key.is_empty() { None } else { ctx.engine.primary_index(table) };
        let secondary = table
            .indexes
            .iter()
            .map(|def| Ok((def.clone(), ctx.engine.open_index(def)?)))
            .collect::<Result<Vec<_>>>()?;
        Ok(Indexes { primary, secondary })
    }

    /// Removes the entries the dead version's row gave each index (the keys [`crate::access::insert`]
    /// added). Returns how many were looked for.
    fn remove_entries(&self, table: &TableDef, dead: &DeadVersion) -> Result<u64> {
        if self.primary.is_none() && self.secondary.is_empty() {
            return Ok(0);
        }
        let row = crate::access::decode(table, &dead.body).map_err(|e| damaged(table, dead.tid, e))?;
        let key_of = |columns: &[usize]| -> Vec<Value> { columns.iter().map(|&i| row[i].clone()).collect() };
        let mut removed = 0;
        if let Some(pk) = &self.primary {
            removed += absent_if_too_big(pk.index.delete(&keycode::encode_key(&key_of(&table.primary_key)), dead.tid))?;
        }
        for (def, open) in &self.secondary {
            removed += absent_if_too_big(open.index.delete(&def.key(&key_of(&def.columns)), dead.tid))?;
        }
        Ok(removed)
    }
}

/// The outcome of removing one index entry, counted. A key too big for the index (54000) was
/// never entered — the insert that wrote the version failed on it — so there is nothing to
/// remove, and the version must still go.
fn absent_if_too_big(deleted: Result<()>) -> Result<u64> {
    match deleted {
        Ok(()) => Ok(1),
        Err(e) if e.sqlstate() == SqlState::ProgramLimitExceeded => Ok(0),
        Err(e) => Err(e),
    }
}

/// True if the dead catalog row `dead` holds the id `id` in its first column.
fn holds_id(table: &TableDef, dead: &DeadVersion, column: usize, id: i32) -> bool {
    decode_row(&dead.body, table.schema.len()).is_ok_and(|row| row.get(column) == Some(&Value::Int4(id)))
}

fn damaged(table: &TableDef, tid: TupleId, e: DbError) -> DbError {
    DbError::Corruption(format!("vacuum of \"{}\" cannot read the row at {tid}: {e}", table.name))
}

/// The tables named by a VACUUM, each with the columns its ANALYZE list names (all tables
/// when `names` is empty: the catalog's and the users'), as visible now. An unknown table is
/// 42P01 and an unknown column 42703, before anything is vacuumed.
pub fn targets(
    ctx: &mut ExecContext<'_>,
    names: &[(crate::catalog::QualifiedName, Vec<String>)],
) -> Result<Vec<TableDef>> {
    if names.is_empty() {
        let mut all: Vec<TableDef> = crate::catalog::system_tables().to_vec();
        for t in crate::catalog::list_tables(ctx)? {
            if !crate::schemas::is_others_temp(ctx, t.namespace)? {
                all.push(t);
            }
        }
        return Ok(all);
    }
    names
        .iter()
        .map(|(name, columns)| {
            let table = ctx
                .with_catalog_snapshot(|ctx| crate::catalog::find_table_named(ctx, name))?
                .ok_or_else(|| DbError::undefined_table(name))?;
            if let Some(missing) = columns.iter().find(|c| table.schema.columns.iter().all(|col| &col.name != *c)) {
                return Err(DbError::sql(
                    SqlState::UndefinedColumn,
                    format!("column \"{missing}\" of relation \"{}\" does not exist", table.name),
                ));
            }
            Ok(table)
        })
        .collect()
}

/// `database.schema.table`, as VACUUM VERBOSE names a table (`schemas`: the database's).
pub fn qualified_name(database: &str, schemas: &crate::schemas::SchemaSet, table: &TableDef) -> String {
    let schema = schemas.name(table.namespace).unwrap_or("public");
    format!("{database}.{schema}.{}", table.name)
}

/// VACUUM VERBOSE's report of one table, worded as PostgreSQL 15's.
pub fn verbose_report(
    database: &str,
    schemas: &crate::schemas::SchemaSet,
    table: &TableDef,
    report: &VacuumReport,
    next: TxnId,
) -> String {
    let index_scans = u64::from(report.index_entries_removed > 0);
    format!(
        "finished vacuuming \"{name}\": index scans: {index_scans}\n\
         pages: 0 removed, {pages} remain, {pages} scanned (100.00% of total)\n\
         tuples: {removed} removed, {remain} remain, {recent} are dead but not yet removable\n\
         removable cutoff: {cutoff}, which was {age} XIDs old when operation ended\n\
         index entries: {entries} removed\n\
         system usage: elapsed: {elapsed:.2} s",
        name = qualified_name(database, schemas, table),
        pages = report.pages,
        removed = report.removed,
        remain = report.remain,
        recent = report.recently_dead,
        cutoff = report.horizon.0,
        age = next.0.saturating_sub(report.horizon.0),
        entries = report.index_entries_removed,
        elapsed = report.elapsed.as_secs_f64(),
    )
}

/// When autovacuum visits a table: PostgreSQL's thresholds.
#[derive(Debug, Clone, PartialEq)]
pub struct AutovacuumOptions {
    /// Time between looks at the tables.
    pub naptime: Duration,
    /// Dead versions that make a table due ...
    pub vacuum_threshold: u64,
    /// ... plus this fraction of the rows vacuum last left in it.
    pub vacuum_scale_factor: f64,
    /// Inserts that make a table due (rolled-back inserts leave dead versions too) ...
    pub insert_threshold: u64,
    /// ... plus this fraction of the rows vacuum last left.
    pub insert_scale_factor: f64,
}

impl Default for AutovacuumOptions {
    /// PostgreSQL 15's defaults.
    fn default() -> Self {
        AutovacuumOptions {
            naptime: Duration::from_secs(60),
            vacuum_threshold: 50,
            vacuum_scale_factor: 0.2,
            insert_threshold: 1000,
            insert_scale_factor: 0.2,
        }
    }
}

/// What statements did to one table since its last vacuum.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct TableActivity {
    /// Versions updates and deletes made dead (or will have, once they commit; an update that
    /// rolls back leaves its new version dead instead).
    dead: u64,
    /// Rows inserted.
    inserted: u64,
    /// Rows the last vacuum left (PostgreSQL's `reltuples`).
    live: u64,
}

/// Per-table counts of the changes that make work for vacuum (PostgreSQL's `n_dead_tup` and
/// `n_ins_since_vacuum`), and the signal that wakes the autovacuum thread.
///
/// Kept in memory: after a restart tables start from zero, and the first vacuum of a table
/// finds whatever it finds. Unlike PostgreSQL, which looks at the counts every naptime, a
/// statement that makes its table due wakes autovacuum at once: a table updated in a loop is
/// then vacuumed as often as it needs, whatever the machine's speed (PostgreSQL leans on
/// on-page pruning of HOT chains for the same end).
#[derive(Debug)]
pub struct Activity {
    tables: Mutex<HashMap<TableId, TableActivity>>,
    /// The thresholds, when autovacuum runs.
    options: Option<AutovacuumOptions>,
    wakeup: Arc<Wakeup>,
}

/// What the autovacuum thread waits on (shared with it, so it can wait without holding the
/// engine).
#[derive(Debug, Default)]
pub(crate) struct Wakeup {
    state: Mutex<WakeState>,
    ring: Condvar,
}

#[derive(Debug, Default)]
struct WakeState {
    /// A table became due since the thread last looked.
    due: bool,
    /// The engine is gone.
    stopped: bool,
}

/// What [`Wakeup::wait`] woke for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Woken {
    /// A table is due, or the naptime passed: look.
    Look,
    /// The engine was dropped.
    Stop,
}

impl Wakeup {
    /// Waits until a table is due, `naptime` passes, or the engine stops.
    pub(crate) fn wait(&self, naptime: Duration) -> Woken {
        let mut state = self.state.lock();
        if !state.due && !state.stopped {
            self.ring.wait_for(&mut state, naptime);
        }
        state.due = false;
        if state.stopped { Woken::Stop } else { Woken::Look }
    }

    /// True once the engine is stopping.
    pub(crate) fn stopped(&self) -> bool {
        self.state.lock().stopped
    }

    fn ring(&self, stop: bool) {
        let mut state = self.state.lock();
        state.due = true;
        state.stopped |= stop;
        self.ring.notify_all();
    }
}

impl TableActivity {
    fn due(&self, options: &AutovacuumOptions) -> bool {
        let live = self.live as f64;
        self.dead as f64 > options.vacuum_threshold as f64 + options.vacuum_scale_factor * live
            || self.inserted as f64 > options.insert_threshold as f64 + options.insert_scale_factor * live
    }
}

impl Activity {
    /// Counts for an engine whose autovacuum runs with `options` (`None`: it does not run).
    pub fn new(options: Option<AutovacuumOptions>) -> Self {
        Activity { tables: Mutex::new(HashMap::new()), options, wakeup: Arc::new(Wakeup::default()) }
    }

    /// Records that a statement inserted `inserted` rows into `table` and made `dead` versions,
    /// and wakes autovacuum if that made the table due.
    pub fn note(&self, table: TableId, inserted: u64, dead: u64) {
        if inserted == 0 && dead == 0 {
            return;
        }
        let became_due = {
            let mut tables = self.tables.lock();
            let entry = tables.entry(table).or_default();
            let before = self.options.as_ref().is_some_and(|o| entry.due(o));
            entry.inserted = entry.inserted.saturating_add(inserted);
            entry.dead = entry.dead.saturating_add(dead);
            !before && self.options.as_ref().is_some_and(|o| entry.due(o))
        };
        if became_due {
            self.wakeup.ring(false);
        }
    }

    /// The tables due for a vacuum under `options`, most dead versions first.
    pub fn due(&self, options: &AutovacuumOptions) -> Vec<TableId> {
        let tables = self.tables.lock();
        let mut due: Vec<(u64, TableId)> =
            tables.iter().filter(|(_, a)| a.due(options)).map(|(id, a)| (a.dead, *id)).collect();
        due.sort_unstable_by(|a, b| b.cmp(a));
        due.into_iter().map(|(_, id)| id).collect()
    }

    /// A vacuum of `table` finished, leaving `live` versions: its counts start again. (Changes
    /// made while it ran are forgotten too; the next vacuum finds their dead versions anyway.)
    fn vacuumed(&self, table: TableId, live: u64) {
        self.tables.lock().insert(table, TableActivity { dead: 0, inserted: 0, live });
    }

    /// Forgets `table` (it was dropped).
    pub fn forget(&self, table: TableId) {
        self.tables.lock().remove(&table);
    }

    /// What the autovacuum thread waits on.
    pub(crate) fn wakeup(&self) -> Arc<Wakeup> {
        self.wakeup.clone()
    }

    /// Stops the autovacuum thread (the engine is shutting down or being dropped).
    pub(crate) fn stop(&self) {
        self.wakeup.ring(true);
    }

    /// True once [`Activity::stop`] was called: autovacuum gives up the table it is on.
    pub fn stopping(&self) -> bool {
        self.wakeup.stopped()
    }
}

/// Statement-level counting for autovacuum, from the executor.
pub fn note_changes(ctx: &ExecContext<'_>, table: &TableDef, inserted: u64, dead: u64) {
    if !table.is_system() {
        ctx.engine.activity().note(table.id, inserted, dead);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_is_due_past_postgres_thresholds_and_starts_again_after_a_vacuum() {
        let options = AutovacuumOptions::default();
        let activity = Activity::new(Some(options.clone()));
        let wakeup = activity.wakeup();
        let (a, b) = (TableId(100), TableId(101));
        activity.note(a, 0, 50);
        assert!(activity.due(&options).is_empty(), "50 dead versions are not more than the threshold");
        assert!(!wakeup.state.lock().due);
        activity.note(a, 0, 1);
        assert!(wakeup.state.lock().due, "the statement that made a table due woke autovacuum");
        assert_eq!(wakeup.wait(Duration::from_secs(60)), Woken::Look, "a due table does not wait");
        assert!(!wakeup.state.lock().due);
        activity.note(b, 1001, 0);
        activity.note(b, 0, 0);
        assert_eq!(activity.due(&options), vec![a, b], "most dead first; inserts count on their own");
        activity.vacuumed(a, 1000);
        activity.note(a, 0, 249);
        assert_eq!(activity.due(&options), vec![b], "50 + 0.2 x 1000 live rows are needed now");
        activity.note(a, 0, 2);
        activity.forget(b);
        assert_eq!(activity.due(&options), vec![a]);
        activity.stop();
        assert_eq!(wakeup.wait(Duration::from_secs(60)), Woken::Stop);
        assert!(wakeup.stopped());
    }
}
