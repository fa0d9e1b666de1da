//! The autovacuum thread: every `naptime`, and whenever a statement makes a table due, it asks
//! [`Activity`](crate::vacuum::Activity) which tables gained more dead versions (or inserts)
//! than PostgreSQL's thresholds allow since their last vacuum, and vacuums them, one table per
//! transaction. A table someone else holds (DDL,
//! a manual VACUUM) is passed over until the next round rather than waited for, so autovacuum
//! never queues in front of a DROP TABLE.
//!
//! Like the checkpointer, it holds the engine only weakly between rounds: dropping the engine
//! wakes and stops it.

use crate::engine::Engine;
use crate::vacuum::{self, AutovacuumOptions, Busy, Wakeup, Woken};
use rustydb_foundation::{DbError, Result, TableId};
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

/// A pause after each round, so that a table made due again at once by a busy workload is
/// vacuumed at most this often.
const PAUSE: Duration = Duration::from_millis(10);

/// Starts the autovacuum thread of `engine`; it stops when the engine shuts down or is
/// dropped.
pub(crate) fn start(engine: &Arc<Engine>, options: AutovacuumOptions) -> Result<JoinHandle<()>> {
    let weak = Arc::downgrade(engine);
    let wakeup = engine.activity().wakeup();
    std::thread::Builder::new()
        .name("rustydb-autovacuum".into())
        .spawn(move || run(&weak, &wakeup, &options))
        .map_err(|e| DbError::io("starting the autovacuum thread", e))
}

fn run(engine: &Weak<Engine>, wakeup: &Wakeup, options: &AutovacuumOptions) {
    while wakeup.wait(options.naptime) == Woken::Look {
        let due = match engine.upgrade() {
            Some(engine) => engine.activity().due(options),
            None => return,
        };
        // The engine is held for one table at a time, so a drop is never kept waiting long.
        for table in due {
            if wakeup.stopped() {
                return;
            }
            let Some(engine) = engine.upgrade() else { return };
            if let Err(e) = vacuum_one(&engine, table) {
                tracing::warn!(table = table.0, error = %e, "automatic vacuum failed");
            }
        }
        std::thread::sleep(PAUSE);
    }
}

/// Vacuums the table with id `id` in a transaction of its own, unless it is busy or gone.
fn vacuum_one(engine: &Engine, id: TableId) -> Result<()> {
    engine.with_transaction("autovacuum", "", |ctx| {
        let Some(table) = ctx.with_catalog_snapshot(|ctx| crate::catalog::find_table_by_id(ctx, id))? else {
            ctx.engine.activity().forget(id);
            return Ok(());
        };
        match vacuum::vacuum_table(ctx, &table, Busy::Skip)? {
            Some(report) => tracing::debug!(
                table = %table.name,
                pages = report.pages,
                removed = report.removed,
                remain = report.remain,
                recently_dead = report.recently_dead,
                index_entries_removed = report.index_entries_removed,
                elapsed_ms = report.elapsed.as_millis() as u64,
                "automatic vacuum"
            ),
            None => tracing::debug!(table = %table.name, "automatic vacuum passed over a busy table"),
        }
        Ok(())
    })
}
