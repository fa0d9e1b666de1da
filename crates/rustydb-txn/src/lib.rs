//! # rustydb-txn — layer 4
//!
//! Transactions over the heap: who may see which tuple version (MVCC), what the write-ahead log
//! records mean, and how the database comes back after a crash.
//!
//! ```text
//!   query ──begin/commit/abort──► TxnManager ──status──► StatusTable (next id, active, aborted)
//!     │        insert/delete           │ WAL records (record.rs) ──► storage LogDevice
//!     └── visible_on_page/fetch ──► heap tuples: [xmin | xmax | row]  (tuple.rs)
//! ```
//!
//! ## Model
//! - Every tuple version carries `xmin` (the transaction that created it) and `xmax` (the one that
//!   deleted it, or 0). An UPDATE is a delete plus an insert.
//! - A [`Snapshot`] records the next transaction id and the set in progress when it was taken; a
//!   version is visible if its creator committed before the snapshot (or is the reader itself)
//!   and its deleter did not. READ COMMITTED takes a snapshot per statement, REPEATABLE READ one per
//!   transaction.
//! - A transaction's status is *committed* unless it is in progress or in the aborted set, so the
//!   status table stays small. Commit appends a commit record and returns only after the log is
//!   fsynced to it (group commit batches concurrent committers); only then does the transaction
//!   stop being in progress, so nobody sees data that a crash could take back.
//! - Writers order themselves through the tuple: a version whose `xmax` belongs to a running
//!   transaction is waited for (on that transaction's lock in [`lock`]); then READ COMMITTED
//!   follows the version's `next` link to the row's newest version and re-checks it, while
//!   REPEATABLE READ and SERIALIZABLE fail with 40001 if the other committed (first updater
//!   wins). An insert whose unique key a running transaction holds waits for it the same way.
//! - A savepoint's writes carry a subtransaction id of their own, in progress until the whole
//!   transaction ends: ROLLBACK TO aborts those ids (their versions void, their writers' lock
//!   released), and the commit record lists the surviving ones, which commit at the same instant.
//! - Pages may reach the disk before their transaction commits (steal) and need not at commit
//!   (no force): an uncommitted version is invisible because its creator is aborted after a
//!   crash, so recovery is redo-only.
//!
//! ## Recovery
//! [`TxnManager::checkpoint`] is fuzzy, as PostgreSQL's: it fixes a redo point, writes every
//! dirty page while transactions go on, saves the statuses of the transactions that ended in the
//! status file ([`status_file`]), records the checkpoint in the control file and frees the log
//! before it. The first change to a page after the redo point logs the whole page first, so a
//! torn page write is repaired by replaying that image.
//! [`recover`] reads the saved statuses and replays the log from the last checkpoint: page
//! changes after the redo point are re-applied where the page LSN shows them missing, commit
//! records mark transactions committed (and remove the files of tables they dropped), and every
//! transaction with no commit record ends up aborted.
//!
//! ## Vacuum
//! A version whose creator aborted, or whose deleter committed below the
//! [horizon](StatusTable::horizon), is dead: no snapshot now or later can see it.
//! [`TxnManager::dead_on_page`] finds such versions and [`TxnManager::remove_dead`] frees them
//! once the layer above has removed their index entries (see [`vacuum`] for why the freed
//! slots are safe to reuse at once).
//!
//! ## What it must never know
//! SQL, catalogs, sessions or sockets. A row is bytes; a table is a heap file.

#![deny(missing_docs)]

pub mod lock;
pub mod manager;
pub mod record;
pub mod recovery;
pub mod snapshot;
pub mod ssi;
pub mod status;
pub mod status_file;
pub mod tuple;
pub mod vacuum;

pub use lock::{LockManager, LockMode, LockTarget, LockWait, WaitPolicy};
pub use manager::{CheckpointReport, Delete, IsolationLevel, Liveness, RowLock, Transaction, TxnGuard, TxnManager};
pub use record::{IndexLog, Record};
pub use recovery::{Recovered, RecoveryReport, recover};
pub use snapshot::Snapshot;
pub use ssi::Predicate;
pub use status::StatusTable;
pub use vacuum::{DeadVersion, PageSweep};
