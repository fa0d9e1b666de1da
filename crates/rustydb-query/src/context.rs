//! The context a statement runs in: the engine, the session's transaction and the statement's
//! snapshot, who is asking, and the statement's memory — the arena its scans copy tuples into
//! and the budget for the rows it materialises (see `rustydb_storage::arena`).

use crate::engine::Engine;
use rustydb_foundation::Value;
use rustydb_storage::{MemoryBudget, TupleArena};
use rustydb_txn::{Snapshot, Transaction};

/// Everything a statement needs while it runs.
#[derive(Debug)]
pub struct ExecContext<'a> {
    /// The engine (storage, transactions, indexes).
    pub engine: &'a Engine,
    /// The transaction the statement belongs to.
    pub txn: &'a mut Transaction,
    /// The statement's snapshot.
    pub snapshot: Snapshot,
    /// The session's user.
    pub user: &'a str,
    /// The session's database.
    pub database: &'a str,
    /// Where scans copy each page's tuples, reused page after page.
    pub scan: TupleArena,
    /// What the statement may hold, and holds, in materialised rows.
    pub memory: MemoryBudget,
}

impl<'a> ExecContext<'a> {
    /// A context for one statement, with a fresh arena and the engine's memory limit.
    pub fn new(
        engine: &'a Engine,
        txn: &'a mut Transaction,
        snapshot: Snapshot,
        user: &'a str,
        database: &'a str,
    ) -> Self {
        let memory = MemoryBudget::new(engine.statement_memory_limit());
        ExecContext { engine, txn, snapshot, user, database, scan: TupleArena::new(), memory }
    }

    /// Counts `row` against the statement's memory, held for `what`.
    pub fn hold_row(&mut self, row: &[Value], what: &str) -> rustydb_foundation::Result<()> {
        let bytes = std::mem::size_of::<Vec<Value>>() + row.iter().map(Value::footprint).sum::<usize>();
        self.memory.charge(bytes, what)
    }
}
