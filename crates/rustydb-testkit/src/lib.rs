//! # rustydb-testkit — test support (a dev-dependency only, never shipped)
//!
//! File systems that make durability testable, plugged in through storage's [`Vfs`] trait so
//! the code under test is the production code:
//!
//! - [`SimVfs`]: files in memory that keep *written* and *durable* bytes apart. [`SimVfs::crash`]
//!   returns the file system a power cut would leave: each file's durable bytes plus a random,
//!   seeded subset of the writes made since its last `sync_data` (a kernel may write back any
//!   dirty page at any time, in any order), and only the names a directory sync made durable.
//! - [`FaultyVfs`]: wraps another backend and fails every write, sync and truncate after the
//!   first N with ENOSPC or EIO.
//!
//! Simplification, stated: removing a file is durable at once.

#![deny(missing_docs)]

mod faulty;
mod sim;

pub use faulty::{FaultKind, FaultyVfs};
pub use sim::SimVfs;

use rustydb_storage::Vfs;
pub use rustydb_storage::io::{DirLock, FileHandle};
use std::sync::Arc;

/// Shorthand: a [`Vfs`] trait object.
pub fn shared<V: Vfs + 'static>(vfs: V) -> Arc<dyn Vfs> {
    Arc::new(vfs)
}
