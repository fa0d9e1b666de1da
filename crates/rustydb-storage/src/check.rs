//! Offline verification of a stopped data directory: every page of every data file read and
//! checked (checksum, identity, header sanity) exactly as the buffer pool checks a page it
//! reads, without starting an engine or replaying the log. `rustydb check DIR` runs it.
//!
//! It takes the directory's lock, so it refuses a directory a server is using. Run it on a
//! cleanly stopped directory: after a crash, pages torn by the crash are still torn until
//! recovery rewrites them from the log's full-page images, and would be reported here.

use crate::aligned::AlignedBuf;
use crate::control::ControlFile;
use crate::disk::DiskManager;
use crate::io::{PosixVfs, Vfs};
use rustydb_foundation::{DbError, FileId, PageId, Result};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// One damaged page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DamagedPage {
    /// The file.
    pub path: PathBuf,
    /// The page's number in it.
    pub page: u32,
    /// What is wrong.
    pub problem: String,
}

/// What a check found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckReport {
    /// Data files read.
    pub files: usize,
    /// Pages read.
    pub pages: u64,
    /// The pages that failed.
    pub damaged: Vec<DamagedPage>,
}

/// Checks every page under `dir`. `progress` is told (pages done, pages in all) as it goes.
pub fn check_directory(dir: &Path, mut progress: impl FnMut(u64, u64)) -> Result<CheckReport> {
    let vfs: Arc<dyn Vfs> = Arc::new(PosixVfs);
    let base = dir.join("base");
    if !base.is_dir() {
        return Err(DbError::Corruption(format!(
            "{} is not a RustyDB data directory (it has no base/)",
            dir.display()
        )));
    }
    let lock_path = dir.join("rustydb.lock");
    let _lock = vfs.lock(&lock_path).map_err(|e| {
        DbError::io(
            format!("data directory {} is in use by a running server (lock on {})", dir.display(), lock_path.display()),
            e,
        )
    })?;
    let (control, _) = ControlFile::open_or_create(vfs.as_ref(), dir, 0, true)?;
    let disk = DiskManager::open(vfs, &base, control.page_size)?;
    let mut files = crate::engine::list_file_ids(&base)?;
    files.sort();
    let counts: Vec<(FileId, u32)> =
        files.iter().map(|f| disk.page_count(*f).map(|n| (*f, n))).collect::<Result<_>>()?;
    let total: u64 = counts.iter().map(|(_, n)| u64::from(*n)).sum();
    let mut report = CheckReport { files: files.len(), ..CheckReport::default() };
    let mut buf = AlignedBuf::zeroed(control.page_size);
    for (file, count) in counts {
        for number in 0..count {
            match disk.read_page(PageId::new(file, number), &mut buf) {
                Ok(()) => {}
                Err(DbError::Corruption(problem)) => {
                    report.damaged.push(DamagedPage { path: base.join(file.0.to_string()), page: number, problem })
                }
                Err(e) => return Err(e),
            }
            report.pages += 1;
            if report.pages.is_multiple_of(1024) || report.pages == total {
                progress(report.pages, total);
            }
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::engine::{StorageEngine, StorageOptions};

    #[test]
    fn a_flipped_byte_is_found_and_named() {
        let dir = tempfile::tempdir().unwrap();
        let file = FileId(42);
        {
            let storage = StorageEngine::open_with(dir.path(), StorageOptions::with_pool_pages(16)).unwrap();
            let heap = storage.heap(file).unwrap();
            let log = storage.log().clone();
            for i in 0..2000u32 {
                let logged = |change: &crate::heap::HeapChange<'_>, _: &[u8]| {
                    let mut bytes = Vec::new();
                    change.encode(&mut bytes);
                    log.append(&bytes)
                };
                heap.insert(&i.to_le_bytes().repeat(8), logged).unwrap();
            }
            storage.flush().unwrap();
        }
        let clean = check_directory(dir.path(), |_, _| {}).unwrap();
        assert!(clean.pages >= 2, "{clean:?}");
        assert!(clean.damaged.is_empty(), "{clean:?}");

        let path = dir.path().join("base").join("42");
        let mut bytes = std::fs::read(&path).unwrap();
        let page_size = bytes.len() / clean.pages as usize;
        bytes[page_size + 100] ^= 0x40;
        std::fs::write(&path, &bytes).unwrap();
        let report = check_directory(dir.path(), |_, _| {}).unwrap();
        assert_eq!(report.damaged.len(), 1, "{report:?}");
        assert_eq!((report.damaged[0].page, report.damaged[0].path.clone()), (1, path));
        assert!(report.damaged[0].problem.contains("checksum mismatch"), "{report:?}");

        // A directory in use is refused.
        let _running = StorageEngine::open_with(dir.path(), StorageOptions::with_pool_pages(16)).unwrap();
        assert!(check_directory(dir.path(), |_, _| {}).is_err());
    }
}
