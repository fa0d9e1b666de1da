//! The disk manager: data files under `<data-dir>/base/`, one per [`FileId`], read and written a
//! page at a time through the [`Vfs`]. Writes seal (checksum) then encrypt with the file's
//! [`PageCipher`]; reads decrypt then verify.

use crate::cipher::{IdentityCipher, PageCipher};
use crate::io::{FileHandle, Vfs};
use crate::page::{PAGE_SIZE, seal, verify};
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
    ciphers: RwLock<HashMap<FileId, Arc<dyn PageCipher>>>,
    /// Bytes of each open file known to be allocated (preallocated extents included).
    allocated: parking_lot::Mutex<HashMap<FileId, u64>>,
}

impl DiskManager {
    /// Uses (creating if needed) `dir` for data files.
    pub fn open(vfs: Arc<dyn Vfs>, dir: &Path) -> Result<Self> {
        vfs.create_dir_all(dir).map_err(|e| DbError::io(format!("creating {}", dir.display()), e))?;
        Ok(DiskManager {
            vfs,
            dir: dir.to_path_buf(),
            files: RwLock::new(HashMap::new()),
            ciphers: RwLock::new(HashMap::new()),
            allocated: parking_lot::Mutex::new(HashMap::new()),
        })
    }

    /// Protects `file`'s pages with `cipher` from now on (set before the file's first page is
    /// read or written).
    pub fn set_cipher(&self, file: FileId, cipher: Arc<dyn PageCipher>) {
        self.ciphers.write().insert(file, cipher);
    }

    /// The cipher protecting `file` (the identity cipher if none was set).
    pub fn cipher(&self, file: FileId) -> Arc<dyn PageCipher> {
        self.ciphers.read().get(&file).cloned().unwrap_or_else(|| Arc::new(IdentityCipher))
    }

    fn path(&self, file: FileId) -> PathBuf {
        self.dir.join(file.0.to_string())
    }

    fn handle(&self, file: FileId) -> Result<Arc<dyn FileHandle>> {
        if let Some(f) = self.files.read().get(&file) {
            return Ok(f.clone());
        }
        let path = self.path(file);
        let f = self.vfs.open(&path).map_err(|e| DbError::io(format!("opening {}", path.display()), e))?;
        Ok(self.files.write().entry(file).or_insert(f).clone())
    }

    /// Number of whole pages in `file` on disk (0 if it does not exist yet).
    pub fn page_count(&self, file: FileId) -> Result<u32> {
        let path = self.path(file);
        let io = |e| DbError::io(format!("reading the size of {}", path.display()), e);
        let handle = match self.files.read().get(&file) {
            Some(h) => Some(h.clone()),
            None => self.vfs.open_existing(&path).map_err(io)?,
        };
        match handle {
            Some(h) => Ok((h.size().map_err(io)? / PAGE_SIZE as u64) as u32),
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
        let found = self.vfs.open_existing(&path).map_err(|e| DbError::io(format!("opening {}", path.display()), e))?;
        Ok(found.map(|f| self.files.write().entry(file).or_insert(f).clone()))
    }

    /// Reads a page, verifying its checksum. Pages past the end of the file, or of a file that
    /// does not exist yet, read as zeros.
    pub fn read_page(&self, id: PageId, buf: &mut [u8; PAGE_SIZE]) -> Result<()> {
        let Some(f) = self.existing_handle(id.file)? else {
            buf.fill(0);
            return Ok(());
        };
        let offset = u64::from(id.number) * PAGE_SIZE as u64;
        let done = f.read_full_at(&mut buf[..], offset).map_err(|e| DbError::io(format!("reading page {id}"), e))?;
        buf[done..].fill(0);
        if buf.iter().any(|&b| b != 0) {
            self.cipher(id.file).decrypt(id, buf)?;
        }
        verify(buf, || format!("{} page {}", self.path(id.file).display(), id.number))
    }

    /// Seals (checksums) and writes a page image.
    pub fn write_page(&self, id: PageId, buf: &mut [u8; PAGE_SIZE]) -> Result<()> {
        seal(buf);
        self.cipher(id.file).encrypt(id, buf)?;
        let f = self.handle(id.file)?;
        let offset = u64::from(id.number) * PAGE_SIZE as u64;
        self.ensure_allocated(id.file, &f, offset + PAGE_SIZE as u64)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::PosixVfs;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn files_grow_in_preallocated_extents_without_changing_their_size() {
        let dir = tempfile::tempdir().unwrap();
        let disk = DiskManager::open(Arc::new(PosixVfs), dir.path()).unwrap();
        let mut page = Box::new([0u8; PAGE_SIZE]);
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
}
