//! The lock manager: table, row and transaction locks, waits with timeouts, and deadlock
//! detection.
//!
//! MVCC means readers never lock rows; locks order writers. Three kinds of target:
//!
//! - **Relations** (and pages): every statement locks the tables it touches for the rest of its
//!   transaction — ACCESS SHARE to read, ROW EXCLUSIVE to write, ACCESS EXCLUSIVE to drop — so
//!   DDL waits for the transactions using a table, and `LOCK TABLE` means what it does in
//!   PostgreSQL ([`LockMode`] maps its eight modes onto IS, IX, S, SIX, X).
//! - **Rows**: a row's writer is recorded in the tuple itself (its `xmax`), so updating a million
//!   rows costs no lock-table memory. Only `SELECT ... FOR SHARE/UPDATE` puts row locks here (S
//!   or X); a writer probes for them under the page latch before stamping `xmax`.
//! - **Transactions**: a transaction holds X on its own id from its first write until it ends.
//!   Waiting for a row's writer is asking for S on the writer's id, so all waits — for tables,
//!   rows or writers — are edges of one wait-for graph.
//!
//! [`LockTable`] is the deterministic core; [`LockManager`] blocks on it. A waiter that has
//! waited `deadlock_timeout` looks for a cycle through itself and, if there is one, aborts its
//! youngest member (the highest id: it has done the least work) with 40P01. `lock_timeout`
//! ends a wait with 55P03. Both are measured on the [`Clock`](rustydb_foundation::Clock) the
//! manager was given: the real one in the server, a manual one in tests, which then decide
//! exactly when a timeout passes.
//!
//! Lock order: the lock table's mutex is innermost. It may be taken under a page latch (the
//! writer's probe), and nothing is latched or locked while holding it.

mod manager;
mod mode;
mod table;

pub use manager::{LockManager, LockWait, WaitPolicy};
pub use mode::{LockMode, ModeSet};
pub use table::{Acquire, LockTable};

use rustydb_foundation::{FileId, PageId, TupleId, TxnId};
use std::fmt;

/// What a lock is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LockTarget {
    /// A table (by its heap file).
    Relation(FileId),
    /// One page of a table.
    Page(PageId),
    /// One row version (by its address).
    Row(TupleId),
    /// A transaction: held X by itself while it writes; waited on (S) by whoever needs it over.
    Transaction(TxnId),
}

impl fmt::Display for LockTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LockTarget::Relation(file) => write!(f, "relation {}", file.0),
            LockTarget::Page(page) => write!(f, "page {page}"),
            LockTarget::Row(tid) => write!(f, "tuple {tid}"),
            LockTarget::Transaction(txn) => write!(f, "transaction {}", txn.0),
        }
    }
}
