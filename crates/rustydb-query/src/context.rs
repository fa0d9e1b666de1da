//! The context a statement runs in: the engine, the session's transaction and the statement's
//! snapshot, and who is asking.

use crate::engine::Engine;
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
}
