//! # rustydb-storage — layer 2
//!
//! Bytes on disk, made safe to share: fixed-size slotted pages with checksums, a buffer pool
//! that caches them in memory, the write-ahead log device, and heap files of tuples.
//!
//! ```text
//!   HeapFile ──(page, slot)──► BufferPool ──► DiskManager ──► base/<file-id>   (pread/pwrite)
//!       │                         │ before writing a page: "is the log durable to its LSN?"
//!       └── log closure ──►    LogDevice ──► wal/<segment>  (append, group commit, fsync)
//! ```
//!
//! ## Invariants
//! - **WAL before data**: the buffer pool writes a dirty page only after the log device says the
//!   log is durable up to the page's LSN ([`BufferPool`] calls [`LogDevice::flush_to`]).
//! - Every page carries a CRC-32C; a page that fails it is reported as corruption naming the file
//!   and page, never returned as data. An all-zero page is a page never written.
//! - A failed fsync poisons the log device: every later write fails with
//!   `DbError::WritesStopped` instead of retrying (the data may already be gone from the OS cache).
//! - Heap changes are logged through a closure the caller supplies, called while the page latch
//!   is held and before the page is changed; storage never learns what a log record means.
//!
//! ## What it must never know
//! SQL, transactions, visibility, record types. A tuple is bytes; a log record is bytes.
//!
//! ## Lock order
//! heap structure lock → page latch (one at a time, but for an update's second page; see
//! `heap`) → buffer-pool table lock → frame latch; log-device flush lock → log-device state lock. No lock
//! is held across a call into another component except the page latch around the log closure
//! (the log device never calls back into the pool).

#![deny(missing_docs)]

pub mod aligned;
pub mod arena;
pub mod bgwriter;
pub mod buffer_pool;
pub mod check;
pub mod cipher;
pub mod control;
pub mod disk;
pub mod engine;
pub mod eviction;
pub mod heap;
pub mod io;
pub mod log_device;
pub mod page;
pub mod page_map;
pub mod pool_size;
pub mod uring;

#[cfg(test)]
mod test_support;

pub use aligned::AlignedBuf;
pub use arena::{MemoryBudget, TupleArena};
pub use bgwriter::BackgroundWriter;
pub use buffer_pool::{BufferPool, PageReadGuard, PageWriteGuard};
pub use cipher::{CipherMap, IdentityCipher, PageCipher};
pub use control::{CheckpointInfo, ControlFile};
pub use disk::DiskManager;
pub use engine::{StorageEngine, StorageOptions};
pub use heap::{Compression, HeapChange, HeapFile};
pub use io::{FileHandle, PosixVfs, Vfs};
pub use log_device::{LogDevice, LogRecord};
pub use page::{DEFAULT_PAGE_SIZE, Page};
pub use uring::{IoBackend, UringVfs, choose_vfs};
