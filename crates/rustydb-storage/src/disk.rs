//! The disk manager: data files under `<data-dir>/base/`, one per [`FileId`], read and written a
//! page at a time through the [`Vfs`]. Writes seal (checksum) then encrypt with the file's
//! [`PageCipher`]; reads decrypt then verify.
//!
//! Direct I/O: with `direct` set, data files are opened with `O_DIRECT` so pages are cached once
//! (in the buffer pool) rather than twice (pool and OS page cache). Page buffers are
//! [`AlignedBuf`]s and page offsets multiples of the page size, as `O_DIRECT` requires. A file
//! system that refuses `O_DIRECT` (tmpfs does) is detected when the disk manager opens, which
//! then falls back to buffered I/O and reports why ([`DiskManager::direct_fallback`]).

use crate::aligned::AlignedBuf;
use crate::cipher::{CipherMap, PageCipher};
use crate::io::{FileHandle, Vfs};
use crate::page::{check_page_size, seal, verify};
use parking_lot::RwLock;
use rustydb_foundation::{DbError, FileId, PageId, Result};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The smallest extent a data file grows by (preallocated, not yet part of the file size).
pub const EXTENT_MIN_BYTES: u64 = 64 * 1024;
/// The largest: extents double with the file (small tables stay small) up to this step.
pub const EXTENT_MAX_BYTES: u64 = 8 * 1024 * 1024;

/// Opens, reads, writes and syncs the data files.
#[derive(Debug)]
pub struct DiskManager {
    vfs: Arc<dyn Vfs>,
    dir: PathBuf,
    files: RwLock<HashMap<FileId, Arc<dyn FileHandle>>>,
    ciphers: Arc<CipherMap>,
    /// Bytes of each open file known to be allocated (preallocated extents included).
    allocated: parking_lot::Mutex<HashMap<FileId, u64>>,
    page_size: usize,
    direct: bool,
    direct_fallback: Option<String>,
}

impl DiskManager {
    /// Uses (creating if needed) `dir` for data files of `page_size`-byte pages, through the OS
    /// page cache.
    pub fn open(vfs: Arc<dyn Vfs>, dir: &Path, page_size: usize) -> Result<Self> {
        Self::open_with(vfs, dir, page_size, false)
    }

    /// As [`DiskManager::open`], with direct I/O if `direct` (falling back to buffered I/O where
    /// the backend or the file system cannot do it).
    pub fn open_with(vfs: Arc<dyn Vfs>, dir: &Path, page_size: usize, direct: bool) -> Result<Self> {
        check_page_size(page_size)?;
        vfs.create_dir_all(dir).map_err(|e| DbError::io(format!("creating {}", dir.display()), e))?;
        let direct_fallback = if direct { probe_direct(vfs.as_ref(), dir, page_size)? } else { None };
        Ok(DiskManager {
            vfs,
            dir: dir.to_path_buf(),
            files: RwLock::new(HashMap::new()),
            ciphers: Arc::default(),
            allocated: parking_lot::Mutex::new(HashMap::new()),
            page_size,
            direct: direct && direct_fallback.is_none(),
            direct_fallback,
        })
    }

    /// The page size of every data file.
    pub fn page_size(&self) -> usize {
        self.page_size
    }

    /// Whether data files bypass the OS page cache.
    pub fn is_direct(&self) -> bool {
        self.direct
    }

    /// Why direct I/O was asked for but is not in use, if so.
    pub fn direct_fallback(&self) -> Option<&str> {
        self.direct_fallback.as_deref()
    }

    fn open_file(&self, path: &Path, create: bool) -> std::io::Result<Option<Arc<dyn FileHandle>>> {
        match (self.direct, create) {
            (true, _) => self.vfs.open_direct(path, create),
            (false, true) => self.vfs.open(path).map(Some),
            (false, false) => self.vfs.open_existing(path),
        }
    }

    /// Protects `file`'s pages with `cipher` from now on (set before the file's first page is
    /// read or written).
    pub fn set_cipher(&self, file: FileId, cipher: Arc<dyn PageCipher>) {
        self.ciphers.set(file, cipher);
    }

    /// The cipher protecting `file` (the identity cipher if none was set).
    pub fn cipher(&self, file: FileId) -> Arc<dyn PageCipher> {
        self.ciphers.get(file)
    }

    /// Every file's cipher (the log device seals records with them).
    pub fn ciphers(&self) -> &Arc<CipherMap> {
        &self.ciphers
    }

    fn path(&self, file: FileId) -> PathBuf {
        self.dir.join(file.0.to_string())
    }

    fn handle(&self, file: FileId) -> Result<Arc<dyn FileHandle>> {
        if let Some(f) = self.files.read().get(&file) {
            return Ok(f.clone());
        }
        let path = self.path(file);
        let f = self
            .open_file(&path, true)
            .map_err(|e| DbError::io(format!("opening {}", path.display()), e))?
            .ok_or_else(|| DbError::Internal(format!("{} was not created", path.display())))?;
        Ok(self.files.write().entry(file).or_insert(f).clone())
    }

    /// Number of whole pages in `file` on disk (0 if it does not exist yet).
    pub fn page_count(&self, file: FileId) -> Result<u32> {
        let path = self.path(file);
        let io = |e| DbError::io(format!("reading the size of {}", path.display()), e);
        let handle = match self.files.read().get(&file) {
            Some(h) => Some(h.clone()),
            None => self.open_file(&path, false).map_err(io)?,
        };
        match handle {
            Some(h) => Ok((h.size().map_err(io)? / self.page_size as u64) as u32),
            None => Ok(0),
        }
    }

    /// The open handle of an existing file (reading never creates a file: a read of a removed
    /// table's page must not bring an empty file back).
    fn existing_handle(&self, file: FileId) -> Result<Option<Arc<dyn FileHandle>>> {
        if let Some(f) = self.files.read().get(&file) {
            return Ok(Some(f.clone()));
        }
        let path = self.path(file);
        let found = self.open_file(&path, false).map_err(|e| DbError::io(format!("opening {}", path.display()), e))?;
        Ok(found.map(|f| self.files.write().entry(file).or_insert(f).clone()))
    }

    /// Reads a page into `buf` (one page long, aligned for direct I/O), verifying its checksum
    /// and identity. Pages past the end of the file, or of a file that does not exist yet, read
    /// as zeros.
    pub fn read_page(&self, id: PageId, buf: &mut AlignedBuf) -> Result<()> {
        debug_assert_eq!(buf.len(), self.page_size);
        let Some(f) = self.existing_handle(id.file)? else {
            buf.fill(0);
            return Ok(());
        };
        let offset = u64::from(id.number) * self.page_size as u64;
        let done = f.read_full_at(&mut buf[..], offset).map_err(|e| DbError::io(format!("reading page {id}"), e))?;
        buf[done..].fill(0);
        if buf.iter().any(|&b| b != 0) {
            self.cipher(id.file).decrypt(id, buf)?;
        }
        verify(buf, id, || format!("{} page {}", self.path(id.file).display(), id.number))
    }

    /// Seals (stamps id and checksum), encrypts and writes a page image; `buf` is a scratch
    /// copy the caller no longer needs.
    pub fn write_page(&self, id: PageId, buf: &mut AlignedBuf) -> Result<()> {
        debug_assert_eq!(buf.len(), self.page_size);
        seal(buf, id);
        self.cipher(id.file).encrypt(id, buf)?;
        let f = self.handle(id.file)?;
        let offset = u64::from(id.number) * self.page_size as u64;
        self.ensure_allocated(id.file, &f, offset + self.page_size as u64)?;
        f.write_all_at(&buf[..], offset).map_err(|e| DbError::io(format!("writing page {id}"), e))
    }

    /// Grows `file`'s allocation by whole extents until it covers `end` bytes.
    fn ensure_allocated(&self, file: FileId, handle: &Arc<dyn FileHandle>, end: u64) -> Result<()> {
        let mut allocated = self.allocated.lock();
        let known = match allocated.get(&file) {
            Some(a) => *a,
            None => handle.size().map_err(|e| DbError::io(format!("sizing data file {file}"), e))?,
        };
        if end <= known {
            allocated.insert(file, known);
            return Ok(());
        }
        let step = known.clamp(EXTENT_MIN_BYTES, EXTENT_MAX_BYTES);
        let start = known - known % EXTENT_MIN_BYTES;
        let grown = end.max(known + step).div_ceil(EXTENT_MIN_BYTES) * EXTENT_MIN_BYTES;
        handle
            .preallocate(start, grown - start)
            .map_err(|e| DbError::io(format!("allocating space for data file {file}"), e))?;
        allocated.insert(file, grown);
        Ok(())
    }

    /// fsyncs every open data file and the directory holding them.
    pub fn sync_all(&self) -> Result<()> {
        let files: Vec<(FileId, Arc<dyn FileHandle>)> =
            self.files.read().iter().map(|(k, v)| (*k, v.clone())).collect();
        for (id, f) in files {
            f.sync_data().map_err(|e| DbError::WritesStopped(format!("fsync of data file {id} failed: {e}")))?;
        }
        self.vfs
            .sync_dir(&self.dir)
            .map_err(|e| DbError::WritesStopped(format!("fsync of {} failed: {e}", self.dir.display())))
    }

    /// Deletes a data file (the caller has dropped every cached page of it).
    pub fn remove(&self, file: FileId) -> Result<()> {
        self.files.write().remove(&file);
        self.allocated.lock().remove(&file);
        self.vfs.remove(&self.path(file)).map_err(|e| DbError::io(format!("removing data file {file}"), e))
    }
}

/// Tries `O_DIRECT` on a scratch file in `dir`: `None` if it works, else the reason it cannot be
/// used. Only an error unrelated to direct I/O itself (the directory is unwritable) fails.
fn probe_direct(vfs: &dyn Vfs, dir: &Path, page_size: usize) -> Result<Option<String>> {
    if !vfs.supports_direct() {
        return Ok(Some(format!("the {} I/O backend does not support direct I/O", vfs.name())));
    }
    let path = dir.join(".direct-io-probe");
    let outcome = match vfs.open_direct(&path, true) {
        Ok(Some(f)) => match f.write_all_at(&AlignedBuf::zeroed(page_size), 0) {
            Ok(()) => None,
            Err(e) => Some(format!("a direct write failed in {}: {e}", dir.display())),
        },
        Ok(None) => Some("the probe file was not created".to_string()),
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
            Some(format!("the file system of {} refuses O_DIRECT", dir.display()))
        }
        Err(e) => return Err(DbError::io(format!("probing direct I/O in {}", dir.display()), e)),
    };
    vfs.remove(&path).map_err(|e| DbError::io(format!("removing {}", path.display()), e))?;
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::PosixVfs;
    use std::os::unix::fs::MetadataExt;

    const PAGE_SIZE: usize = crate::page::DEFAULT_PAGE_SIZE;

    #[test]
    fn files_grow_in_preallocated_extents_without_changing_their_size() {
        let dir = tempfile::tempdir().unwrap();
        let disk = DiskManager::open(Arc::new(PosixVfs), dir.path(), PAGE_SIZE).unwrap();
        let mut page = AlignedBuf::zeroed(PAGE_SIZE);
        disk.write_page(PageId::new(FileId(5), 0), &mut page).unwrap();
        let meta = std::fs::metadata(dir.path().join("5")).unwrap();
        assert_eq!(meta.len(), PAGE_SIZE as u64, "the size is the written size");
        assert_eq!(disk.page_count(FileId(5)).unwrap(), 1);
        // Where the file system supports fallocate, a whole (first, smallest) extent is reserved.
        if meta.blocks() * 512 > PAGE_SIZE as u64 {
            assert!(meta.blocks() * 512 >= EXTENT_MIN_BYTES);
        }
        let last = (EXTENT_MAX_BYTES / PAGE_SIZE as u64) as u32;
        disk.write_page(PageId::new(FileId(5), last), &mut page).unwrap();
        assert_eq!(disk.page_count(FileId(5)).unwrap(), last + 1);
        let allocated = std::fs::metadata(dir.path().join("5")).unwrap().blocks() * 512;
        if allocated > (last as u64 + 1) * PAGE_SIZE as u64 {
            assert!(
                allocated <= (last as u64 + 1) * PAGE_SIZE as u64 + EXTENT_MAX_BYTES,
                "over-allocated: {allocated}"
            );
        }
    }

    #[test]
    fn direct_io_round_trips_pages_or_says_why_it_cannot() {
        let dir = tempfile::tempdir().unwrap();
        let disk = DiskManager::open_with(Arc::new(PosixVfs), dir.path(), 8192, true).unwrap();
        assert_eq!(disk.is_direct(), disk.direct_fallback().is_none());
        let id = PageId::new(FileId(9), 3);
        let mut page = AlignedBuf::zeroed(8192);
        crate::Page::new(&mut page).init(crate::page::KIND_HEAP);
        crate::Page::new(&mut page).insert(b"through O_DIRECT").unwrap();
        disk.write_page(id, &mut page).unwrap();
        disk.sync_all().unwrap();
        let mut back = AlignedBuf::zeroed(8192);
        disk.read_page(id, &mut back).unwrap();
        assert_eq!(crate::page::read::tuple(&back, 0).unwrap(), b"through O_DIRECT");
        assert_eq!(disk.page_count(FileId(9)).unwrap(), 4);
        assert!(!dir.path().join(".direct-io-probe").exists(), "the probe file is removed");
    }
}
