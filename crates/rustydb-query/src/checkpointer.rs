//! The checkpointer: a thread that runs a checkpoint once `checkpoint_timeout` has passed since
//! the last one, or once `max_wal_size` bytes of log have been written since its redo point,
//! as PostgreSQL's does. Checkpoints bound what recovery replays and let the log's head be
//! recycled; a timed one is skipped when nothing was logged since the last.
//!
//! The thread holds the engine only weakly, between rounds: dropping the engine stops it.

use crate::engine::Engine;
use parking_lot::{Condvar, Mutex};
use rustydb_foundation::{DbError, Result};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

/// How often the thread looks at the log's growth.
const POLL: Duration = Duration::from_secs(1);

/// Starts the checkpointer of `engine`; it stops when `stop` is set (the engine's drop).
pub(crate) fn start(
    engine: &Arc<Engine>,
    stop: Arc<(Mutex<bool>, Condvar)>,
    timeout: Option<Duration>,
    max_wal_size: u64,
) -> Result<()> {
    let weak = Arc::downgrade(engine);
    std::thread::Builder::new()
        .name("rustydb-checkpointer".into())
        .spawn(move || run(&weak, &stop, timeout, max_wal_size))
        .map_err(|e| DbError::io("starting the checkpointer thread", e))?;
    Ok(())
}

fn run(engine: &Weak<Engine>, stop: &(Mutex<bool>, Condvar), timeout: Option<Duration>, max_wal_size: u64) {
    let mut last = Instant::now();
    loop {
        {
            let (stopped, wake) = stop;
            let mut stopped = stopped.lock();
            if !*stopped {
                wake.wait_for(&mut stopped, POLL);
            }
            if *stopped {
                return;
            }
        }
        let Some(engine) = engine.upgrade() else { return };
        let storage = engine.txn_manager().storage();
        let redo = storage.control().checkpoint.map_or(0, |c| c.redo.0);
        let written = storage.log().end_lsn().0.saturating_sub(redo);
        let timed = timeout.is_some_and(|t| last.elapsed() >= t) && written > 0;
        if !timed && written < max_wal_size {
            continue;
        }
        let reason = if timed { "time" } else { "wal" };
        match engine.checkpoint() {
            Ok(report) => tracing::info!(
                reason,
                redo = %report.redo,
                wal_bytes_since_last = written,
                segments_freed = report.segments_freed,
                elapsed_ms = report.elapsed.as_millis() as u64,
                "checkpoint complete"
            ),
            Err(e) => tracing::error!(reason, error = %e, "checkpoint failed"),
        }
        last = Instant::now();
    }
}
