//! # rustydb-index — layer 3
//!
//! Access paths that find tuples by key without scanning the heap. Every kind implements
//! [`Index`]: keys are byte strings produced by [`keycode`] (so byte order is SQL order) and
//! values are heap addresses ([`TupleId`](rustydb_foundation::TupleId)). An index stores every
//! version's address; which version a transaction may see is decided above, by MVCC.
//!
//! ```text
//!   query ── encode key (keycode) ──► dyn Index ── TupleIds ──► heap (storage)
//! ```
//!
//! Kinds today: [`BTree`], a persistent B+tree on buffer-pool pages whose changes are logged
//! (through [`PageLog`]) and replayed at recovery ([`btree::change::redo`]);
//! [`ResidentIndex`], an ordered index kept only in memory (a model in tests, and for data
//! that is rebuilt on every start); [`HashIndex`], linear hashing on pages, logged the same way;
//! and [`LsmTree`], a log-structured merge tree whose changes go to the server's log through
//! [`EntryLog`] and whose tables live in a directory of their own.
//!
//! [`kernels`] holds the vectorised loops the executor runs over columns (selection vectors,
//! sums, min/max, hashing), chosen at run time by CPU feature with an identical portable build.
//!
//! ## What it must never know
//! SQL, catalogs, transactions or visibility. A key is bytes; a value is a tuple address.

#![deny(missing_docs)]

pub mod btree;
pub mod hash;
pub mod kernels;
pub mod keycode;
pub mod lsm;
mod paged;
pub mod resident;

pub use btree::{BTree, PageLog};
pub use hash::HashIndex;
pub use lsm::{EntryLog, LsmTree};
pub use resident::ResidentIndex;

use rustydb_foundation::{Result, TupleId};
use std::ops::Bound;

/// What an index reports to the optimizer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IndexStats {
    /// Number of (key, tuple) entries.
    pub entries: u64,
    /// Number of distinct keys.
    pub distinct_keys: u64,
    /// Height of the structure (1 for a flat one).
    pub height: u32,
}

/// The operations every index kind offers.
pub trait Index: Send + Sync + std::fmt::Debug {
    /// Adds an entry. The same (key, tuple) twice is one entry.
    fn insert(&self, key: &[u8], tid: TupleId) -> Result<()>;
    /// Removes an entry if present.
    fn delete(&self, key: &[u8], tid: TupleId) -> Result<()>;
    /// Every tuple stored under exactly `key`.
    fn lookup(&self, key: &[u8]) -> Result<Vec<TupleId>>;
    /// Entries with keys in the range, in key order (reversed if `reverse`).
    fn range(&self, lower: Bound<&[u8]>, upper: Bound<&[u8]>, reverse: bool) -> Result<Vec<(Vec<u8>, TupleId)>>;
    /// Statistics for the optimizer.
    fn stats(&self) -> IndexStats;
    /// Fills an empty index from entries sorted by (key, tuple) (CREATE INDEX); kinds that can
    /// build faster than one insert at a time override it. Returns the entries added.
    fn build(&self, sorted: Vec<(Vec<u8>, TupleId)>) -> Result<u64> {
        let mut added = 0;
        for (key, tid) in sorted {
            self.insert(&key, tid)?;
            added += 1;
        }
        Ok(added)
    }
    /// Makes the statistics durable (at checkpoints and shutdown); nothing for kinds that
    /// keep none.
    fn save_stats(&self) -> Result<()> {
        Ok(())
    }
    /// The oldest position in the server's write-ahead log this index still needs to recover
    /// from (an LSM tree's memtable lives only there); `None` for kinds whose pages are
    /// written at checkpoints. A checkpoint keeps the log from here.
    fn log_needed_from(&self) -> Option<rustydb_foundation::Lsn> {
        None
    }
}
