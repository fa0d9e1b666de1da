//! Test-only construction of the storage parts on real files in a temporary directory, for the
//! unit tests of the modules that need a pool (heap, buffer pool, cipher, background writer).

use crate::io::{PosixVfs, Vfs};
use crate::{BufferPool, DiskManager, LogDevice};
use std::path::Path;
use std::sync::Arc;

/// A disk manager on `dir/base` and a log device on `dir/wal`.
pub(crate) fn disk_and_log(dir: &Path) -> (Arc<DiskManager>, Arc<LogDevice>) {
    let vfs: Arc<dyn Vfs> = Arc::new(PosixVfs);
    let disk = DiskManager::open(vfs.clone(), &dir.join("base"), crate::page::DEFAULT_PAGE_SIZE)
        .expect("disk manager in a temp dir");
    let log = LogDevice::open(vfs, &dir.join("wal")).expect("log device in a temp dir");
    log.set_ciphers(disk.ciphers().clone());
    (Arc::new(disk), Arc::new(log))
}

/// The log device and a pool of `frames` pages over `dir`.
pub(crate) fn log_and_pool(dir: &Path, frames: usize) -> (Arc<LogDevice>, Arc<BufferPool>) {
    let (disk, log) = disk_and_log(dir);
    (log.clone(), Arc::new(BufferPool::new(disk, log, frames)))
}
