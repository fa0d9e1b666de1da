//! The storage engine of one data directory: its disk manager, log device, buffer pool and the
//! open heap files, plus an exclusive lock on the directory so two servers never share it.
//!
//! Layout of a data directory:
//!
//! ```text
//! <data-dir>/
//!   rustydb.control   what the directory was created with (page size, system id); see control
//!   rustydb.lock      held with flock(LOCK_EX) while a server has the directory open
//!   base/<file-id>    data files (heap and index pages)
//!   aux/<file-id>/    files of a structure that keeps its own (an LSM tree's tables); removed
//!                     with the file id, so dropping it at commit or in recovery needs no more
//!   wal/<segment>     write-ahead log segments
//!   xact/status       the transactions' saved commit statuses (the transaction layer's)
//! ```

use crate::control::ControlFile;
use crate::io::{DirLock, PosixVfs, Vfs};
use crate::{BackgroundWriter, BufferPool, DiskManager, HeapFile, LogDevice};
use parking_lot::RwLock;
use rustydb_foundation::{Config, DbError, FileId, Result};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// How to open a storage engine.
#[derive(Debug, Clone)]
pub struct StorageOptions {
    /// Buffer pool size in pages; 0 sizes it from the machine's memory (see `pool_size.rs`).
    pub pool_pages: usize,
    /// The file system everything goes through.
    pub vfs: Arc<dyn Vfs>,
    /// The buffer pool's eviction policy.
    pub eviction: crate::eviction::PolicyKind,
    /// How often the background writer runs (`None`: no background writer).
    pub background_writer: Option<Duration>,
    /// The page size of a directory created by this open (an existing one keeps its own).
    pub page_size: usize,
    /// Whether data files bypass the OS page cache (`O_DIRECT`).
    pub direct_io: bool,
}

/// Pages the background writer writes per round at most (PostgreSQL's bgwriter_lru_maxpages).
const BACKGROUND_WRITER_BATCH: usize = 100;

impl StorageOptions {
    /// The options a server configuration asks for, on real files (the caller substitutes the
    /// `vfs` it chose). The configuration holds the defaults; nothing here restates them.
    pub fn from_config(config: &Config) -> Self {
        StorageOptions {
            pool_pages: config.buffer_pool_pages,
            vfs: Arc::new(PosixVfs),
            eviction: config.buffer_pool_policy,
            background_writer: (config.bgwriter_delay_ms > 0).then(|| Duration::from_millis(config.bgwriter_delay_ms)),
            page_size: config.page_size,
            direct_io: config.direct_io,
        }
    }

    /// The defaults, with a pool of `pool_pages`.
    pub fn with_pool_pages(pool_pages: usize) -> Self {
        StorageOptions { pool_pages, ..Self::default() }
    }
}

impl Default for StorageOptions {
    fn default() -> Self {
        Self::from_config(&Config::default())
    }
}

/// Disk, log, buffer pool and heap files of one data directory.
#[derive(Debug)]
pub struct StorageEngine {
    dir: PathBuf,
    vfs: Arc<dyn Vfs>,
    control: parking_lot::Mutex<ControlFile>,
    disk: Arc<DiskManager>,
    log: Arc<LogDevice>,
    pool: Arc<BufferPool>,
    heaps: RwLock<HashMap<FileId, Arc<HeapFile>>>,
    // Declared before `_lock`: the writer stops before the directory is unlocked.
    _background_writer: Option<BackgroundWriter>,
    _lock: DirLock,
}

impl StorageEngine {
    /// Opens (creating if needed) the data directory with a pool of `pool_pages` pages, on real
    /// files.
    pub fn open(dir: &Path, pool_pages: usize) -> Result<Self> {
        Self::open_with(dir, StorageOptions::with_pool_pages(pool_pages))
    }

    /// Opens (creating if needed) the data directory as `options` say.
    pub fn open_with(dir: &Path, options: StorageOptions) -> Result<Self> {
        let vfs = options.vfs;
        vfs.create_dir_all(dir).map_err(|e| DbError::io(format!("creating data directory {}", dir.display()), e))?;
        let lock_path = dir.join("rustydb.lock");
        let lock = vfs.lock(&lock_path).map_err(|e| {
            let what = format!(
                "data directory {} is in use by another server (lock on {})",
                dir.display(),
                lock_path.display()
            );
            DbError::io(what, e)
        })?;
        let (base, wal) = (dir.join("base"), dir.join("wal"));
        let listed = |d: &Path| vfs.list(d).map_err(|e| DbError::io(format!("listing {}", d.display()), e));
        let occupied = !listed(&base)?.is_empty() || !listed(&wal)?.is_empty();
        let (control, _created) = ControlFile::open_or_create(vfs.as_ref(), dir, options.page_size, occupied)?;
        let disk = Arc::new(DiskManager::open_with(vfs.clone(), &base, control.page_size, options.direct_io)?);
        // After a checkpoint recycled the log's head, it starts where that checkpoint kept it.
        let log_from = control.checkpoint.map_or(rustydb_foundation::Lsn(0), |c| c.log_from);
        let log = Arc::new(LogDevice::open_at(vfs.clone(), &wal, crate::log_device::SEGMENT_SIZE, log_from)?);
        log.set_ciphers(disk.ciphers().clone());
        let pool_pages = match options.pool_pages {
            0 => crate::pool_size::auto_pool_bytes() / control.page_size,
            pages => pages,
        };
        tracing::debug!(pages = pool_pages, mib = (pool_pages * control.page_size) >> 20, "buffer pool");
        let pool = Arc::new(BufferPool::with_policy(disk.clone(), log.clone(), pool_pages, options.eviction));
        let background_writer = match options.background_writer {
            Some(interval) => Some(
                BackgroundWriter::start(pool.clone(), interval, BACKGROUND_WRITER_BATCH)
                    .map_err(|e| DbError::io("starting the background writer", e))?,
            ),
            None => None,
        };
        Ok(StorageEngine {
            dir: dir.to_path_buf(),
            vfs,
            control: parking_lot::Mutex::new(control),
            disk,
            log,
            pool,
            heaps: RwLock::new(HashMap::new()),
            _background_writer: background_writer,
            _lock: lock,
        })
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// What the directory was created with, and its last checkpoint.
    pub fn control(&self) -> ControlFile {
        *self.control.lock()
    }

    /// The file system the directory is reached through.
    pub fn vfs(&self) -> &Arc<dyn Vfs> {
        &self.vfs
    }

    /// Records a completed checkpoint in the control file (fsynced before this returns).
    pub fn record_checkpoint(&self, checkpoint: crate::control::CheckpointInfo) -> Result<()> {
        self.control.lock().write_checkpoint(self.vfs.as_ref(), &self.dir, checkpoint)
    }

    /// The disk manager.
    pub fn disk(&self) -> &Arc<DiskManager> {
        &self.disk
    }

    /// The write-ahead log device.
    pub fn log(&self) -> &Arc<LogDevice> {
        &self.log
    }

    /// The buffer pool.
    pub fn pool(&self) -> &Arc<BufferPool> {
        &self.pool
    }

    /// The heap stored in `file`, opened on first use.
    pub fn heap(&self, file: FileId) -> Result<Arc<HeapFile>> {
        if let Some(h) = self.heaps.read().get(&file) {
            return Ok(h.clone());
        }
        let heap = Arc::new(HeapFile::open(self.pool.clone(), file)?);
        Ok(self.heaps.write().entry(file).or_insert(heap).clone())
    }

    /// Removes a data file, its auxiliary directory and everything cached of them.
    pub fn remove_file(&self, file: FileId) -> Result<()> {
        self.heaps.write().remove(&file);
        self.pool.discard_file(file);
        self.disk.remove(file)?;
        let aux = self.aux_dir(file);
        match std::fs::remove_dir_all(&aux) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(DbError::io(format!("removing {}", aux.display()), e))
            }
            _ => Ok(()),
        }
    }

    /// The directory where a structure identified by `file` keeps files of its own, outside the
    /// buffer pool (an LSM tree's sorted tables and manifest). Not created here.
    pub fn aux_dir(&self, file: FileId) -> PathBuf {
        self.dir.join("aux").join(file.0.to_string())
    }

    /// File ids that have an auxiliary directory (to remove those nothing names any more).
    pub fn aux_files(&self) -> Result<Vec<FileId>> {
        list_file_ids(&self.dir.join("aux"))
    }

    /// File ids that have a data file or an auxiliary directory: every id ever used that a
    /// drop has not removed, even by a transaction that never committed (new ids must not
    /// reuse them, or the log's records of the old use would be replayed into the new).
    pub fn stored_files(&self) -> Result<Vec<FileId>> {
        let mut files = list_file_ids(&self.dir.join("base"))?;
        files.extend(self.aux_files()?);
        Ok(files)
    }

    /// Writes every dirty page (log first) and fsyncs the data files.
    pub fn flush(&self) -> Result<()> {
        self.log.flush_all()?;
        self.pool.flush_all()
    }
}

/// The numeric names in `dir` (none if it does not exist).
pub(crate) fn list_file_ids(dir: &Path) -> Result<Vec<FileId>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(DbError::io(format!("listing {}", dir.display()), e)),
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| DbError::io(format!("listing {}", dir.display()), e))?;
        if let Some(id) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) {
            files.push(FileId(id));
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_open_of_the_same_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let first = StorageEngine::open(dir.path(), 16).unwrap();
        let err = StorageEngine::open(dir.path(), 16).unwrap_err();
        assert!(err.to_string().contains("in use"), "{err}");
        drop(first);
        assert!(StorageEngine::open(dir.path(), 16).is_ok());
    }

    #[test]
    fn the_page_size_is_chosen_at_creation_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let file = FileId(40);
        {
            let options = StorageOptions { page_size: 16384, ..StorageOptions::with_pool_pages(16) };
            let engine = StorageEngine::open_with(dir.path(), options).unwrap();
            assert_eq!(engine.pool().page_size(), 16384);
            let heap = engine.heap(file).unwrap();
            heap.insert(&[7; 10_000], |_, _| engine.log().append(b"big")).unwrap();
            engine.flush().unwrap();
        }
        // Reopened with the default page size asked for, the directory keeps 16 KiB pages.
        let engine = StorageEngine::open(dir.path(), 16).unwrap();
        assert_eq!(engine.control().page_size, 16384);
        assert_eq!(std::fs::metadata(dir.path().join("base/40")).unwrap().len(), 16384);
        let heap = engine.heap(file).unwrap();
        let rows = heap.scan_page(0).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].1, vec![7; 10_000]);
    }
}
