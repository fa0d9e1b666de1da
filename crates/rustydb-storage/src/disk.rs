//! The disk manager: data files under `<data-dir>/base/`, one per [`FileId`], read and written a
//! page at a time with positioned I/O (`pread`/`pwrite`).
//!
//! An io_uring backend is planned behind the same methods; positioned I/O is the fallback that
//! works everywhere (io_uring is blocked in many container sandboxes).

use crate::page::{PAGE_SIZE, seal, verify};
use parking_lot::RwLock;
use rustydb_foundation::{DbError, FileId, PageId, Result};
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Opens, reads, writes and syncs the data files.
#[derive(Debug)]
pub struct DiskManager {
    dir: PathBuf,
    files: RwLock<HashMap<FileId, Arc<File>>>,
}

impl DiskManager {
    /// Uses (creating if needed) `dir` for data files.
    pub fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| DbError::io(format!("creating {}", dir.display()), e))?;
        Ok(DiskManager { dir: dir.to_path_buf(), files: RwLock::new(HashMap::new()) })
    }

    fn path(&self, file: FileId) -> PathBuf {
        self.dir.join(file.0.to_string())
    }

    fn handle(&self, file: FileId) -> Result<Arc<File>> {
        if let Some(f) = self.files.read().get(&file) {
            return Ok(f.clone());
        }
        let path = self.path(file);
        let f = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| DbError::io(format!("opening {}", path.display()), e))?;
        Ok(self.files.write().entry(file).or_insert_with(|| Arc::new(f)).clone())
    }

    /// Number of whole pages in `file` on disk (0 if it does not exist yet).
    pub fn page_count(&self, file: FileId) -> Result<u32> {
        let path = self.path(file);
        match std::fs::metadata(&path) {
            Ok(m) => Ok((m.len() / PAGE_SIZE as u64) as u32),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
            Err(e) => Err(DbError::io(format!("reading size of {}", path.display()), e)),
        }
    }

    /// Reads a page, verifying its checksum. Pages past the end of the file read as zeros.
    pub fn read_page(&self, id: PageId, buf: &mut [u8; PAGE_SIZE]) -> Result<()> {
        let f = self.handle(id.file)?;
        let offset = u64::from(id.number) * PAGE_SIZE as u64;
        let mut done = 0;
        while done < PAGE_SIZE {
            match f.read_at(&mut buf[done..], offset + done as u64) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(DbError::io(format!("reading page {id}"), e)),
            }
        }
        buf[done..].fill(0);
        verify(buf, || format!("{} page {}", self.path(id.file).display(), id.number))
    }

    /// Seals (checksums) and writes a page image.
    pub fn write_page(&self, id: PageId, buf: &mut [u8; PAGE_SIZE]) -> Result<()> {
        seal(buf);
        let f = self.handle(id.file)?;
        let offset = u64::from(id.number) * PAGE_SIZE as u64;
        f.write_all_at(&buf[..], offset).map_err(|e| DbError::io(format!("writing page {id}"), e))
    }

    /// fsyncs every open data file.
    pub fn sync_all(&self) -> Result<()> {
        let files: Vec<(FileId, Arc<File>)> = self.files.read().iter().map(|(k, v)| (*k, v.clone())).collect();
        for (id, f) in files {
            f.sync_all().map_err(|e| DbError::WritesStopped(format!("fsync of data file {id} failed: {e}")))?;
        }
        Ok(())
    }

    /// Deletes a data file (the caller has dropped every cached page of it).
    pub fn remove(&self, file: FileId) -> Result<()> {
        self.files.write().remove(&file);
        match std::fs::remove_file(self.path(file)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(DbError::io(format!("removing data file {file}"), e))
            }
            _ => Ok(()),
        }
    }
}
