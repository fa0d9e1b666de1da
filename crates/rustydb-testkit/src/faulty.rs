//! The fault-injecting file system.

use rustydb_storage::io::{DirLock, FileHandle, Vfs};
use std::io;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Which error the failing operations return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// ENOSPC: the disk is full.
    NoSpace,
    /// EIO: the device failed.
    Io,
}

impl FaultKind {
    fn error(self) -> io::Error {
        io::Error::from_raw_os_error(match self {
            FaultKind::NoSpace => libc::ENOSPC,
            FaultKind::Io => libc::EIO,
        })
    }
}

#[derive(Debug)]
struct Budget {
    remaining: AtomicU64,
    kind: FaultKind,
}

impl Budget {
    fn spend(&self) -> io::Result<()> {
        let ok = self.remaining.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1)).is_ok();
        if ok { Ok(()) } else { Err(self.kind.error()) }
    }
}

/// Wraps a file system; after `budget` writes, syncs and truncates, every further one fails.
#[derive(Debug, Clone)]
pub struct FaultyVfs {
    inner: Arc<dyn Vfs>,
    budget: Arc<Budget>,
}

impl FaultyVfs {
    /// Fails with `kind` once `budget` mutating operations have succeeded.
    pub fn new(inner: Arc<dyn Vfs>, budget: u64, kind: FaultKind) -> Self {
        FaultyVfs { inner, budget: Arc::new(Budget { remaining: AtomicU64::new(budget), kind }) }
    }

    /// Operations left before failures start.
    pub fn remaining(&self) -> u64 {
        self.budget.remaining.load(Ordering::Acquire)
    }
}

#[derive(Debug)]
struct FaultyFile {
    inner: Arc<dyn FileHandle>,
    budget: Arc<Budget>,
}

impl FileHandle for FaultyFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        self.inner.read_at(buf, offset)
    }
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        self.budget.spend()?;
        self.inner.write_all_at(buf, offset)
    }
    fn sync_data(&self) -> io::Result<()> {
        self.budget.spend()?;
        self.inner.sync_data()
    }
    fn size(&self) -> io::Result<u64> {
        self.inner.size()
    }
    fn set_len(&self, len: u64) -> io::Result<()> {
        self.budget.spend()?;
        self.inner.set_len(len)
    }
}

impl FaultyVfs {
    fn wrap(&self, file: Arc<dyn FileHandle>) -> Arc<dyn FileHandle> {
        Arc::new(FaultyFile { inner: file, budget: self.budget.clone() })
    }
}

impl Vfs for FaultyVfs {
    fn name(&self) -> &'static str {
        "faulty"
    }
    fn open(&self, path: &Path) -> io::Result<Arc<dyn FileHandle>> {
        Ok(self.wrap(self.inner.open(path)?))
    }
    fn open_existing(&self, path: &Path) -> io::Result<Option<Arc<dyn FileHandle>>> {
        Ok(self.inner.open_existing(path)?.map(|f| self.wrap(f)))
    }
    fn remove(&self, path: &Path) -> io::Result<()> {
        self.inner.remove(path)
    }
    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        self.inner.list(dir)
    }
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        self.inner.create_dir_all(dir)
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.budget.spend()?;
        self.inner.rename(from, to)
    }
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        self.budget.spend()?;
        self.inner.sync_dir(dir)
    }
    fn lock(&self, path: &Path) -> io::Result<DirLock> {
        self.inner.lock(path)
    }
}
