//! The I/O seam: every byte storage reads or writes goes through a [`Vfs`] and its
//! [`FileHandle`]s. The product uses [`PosixVfs`] (positioned `pread`/`pwrite`, `fdatasync`);
//! tests substitute backends that simulate crashes or fail after N operations (the
//! `rustydb-testkit` crate), so durability is proven against the same code that runs in
//! production rather than against mocks of it.
//!
//! The contract a backend must honour, and what the engine assumes:
//! - `write_all_at` may be lost in a crash until `sync_data` returns for that file;
//! - a new file's name may be lost until `sync_dir` returns for its directory;
//! - an error from `sync_data` means the written data may be gone (the engine stops writing).

use std::fmt::Debug;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;

/// An open file.
pub trait FileHandle: Send + Sync + Debug {
    /// Reads up to `buf.len()` bytes at `offset`; fewer at the end of the file.
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize>;
    /// Writes all of `buf` at `offset`, growing the file if needed.
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()>;
    /// Makes every completed write durable (`fdatasync`).
    fn sync_data(&self) -> io::Result<()>;
    /// The file size in bytes.
    fn size(&self) -> io::Result<u64>;
    /// Truncates or extends the file.
    fn set_len(&self, len: u64) -> io::Result<()>;

    /// Reserves disk space for `len` bytes at `offset` without changing the file's size, so the
    /// file grows in large extents (fewer metadata updates, less fragmentation). A backend or
    /// file system that cannot do this may ignore it.
    fn preallocate(&self, _offset: u64, _len: u64) -> io::Result<()> {
        Ok(())
    }

    /// Reads exactly `buf.len()` bytes unless the file ends first; returns the bytes read.
    fn read_full_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let mut done = 0;
        while done < buf.len() {
            match self.read_at(&mut buf[done..], offset + done as u64) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(done)
    }
}

/// A file system: opens, lists and removes files.
pub trait Vfs: Send + Sync + Debug {
    /// A short name for logs (`posix`, `io_uring`, `sim`).
    fn name(&self) -> &'static str;
    /// Opens `path` for reading and writing, creating it if missing.
    fn open(&self, path: &Path) -> io::Result<Arc<dyn FileHandle>>;
    /// Opens `path` only if it exists.
    fn open_existing(&self, path: &Path) -> io::Result<Option<Arc<dyn FileHandle>>>;
    /// Removes a file (missing is not an error).
    fn remove(&self, path: &Path) -> io::Result<()>;
    /// The names of the files in `dir` (empty if it does not exist).
    fn list(&self, dir: &Path) -> io::Result<Vec<String>>;
    /// Creates `dir` and its parents.
    fn create_dir_all(&self, dir: &Path) -> io::Result<()>;
    /// Renames a file, replacing any file at `to` (durable once `sync_dir` returns). Backends
    /// without renames may refuse; callers then fall back to something else.
    fn rename(&self, _from: &Path, _to: &Path) -> io::Result<()> {
        Err(io::Error::new(io::ErrorKind::Unsupported, "rename is not supported by this backend"))
    }

    /// Makes the directory's entries (created, removed files) durable.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
    /// Whether [`Vfs::open_direct`] bypasses the OS page cache on this backend.
    fn supports_direct(&self) -> bool {
        false
    }

    /// Opens a data file for page I/O that bypasses the OS page cache (`O_DIRECT`), creating it
    /// if `create`; `None` if it is missing and not to be created. Every read and write through
    /// the handle must then use block-aligned memory, offsets and lengths (pages do). Backends
    /// without direct I/O open the file normally.
    fn open_direct(&self, path: &Path, create: bool) -> io::Result<Option<Arc<dyn FileHandle>>> {
        if create { self.open(path).map(Some) } else { self.open_existing(path) }
    }

    /// Takes an exclusive lock named by `path`, held until the guard is dropped; fails at once
    /// if another holder has it (two servers must never share a data directory).
    fn lock(&self, path: &Path) -> io::Result<DirLock>;
}

/// An exclusive lock from [`Vfs::lock`], released on drop.
pub type DirLock = Box<dyn Send + Sync + Debug>;

/// The portable backend: std files with positioned I/O.
#[derive(Debug, Default, Clone, Copy)]
pub struct PosixVfs;

#[derive(Debug)]
struct PosixFile(File);

impl FileHandle for PosixFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        self.0.read_at(buf, offset)
    }
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        self.0.write_all_at(buf, offset)
    }
    fn sync_data(&self) -> io::Result<()> {
        self.0.sync_data()
    }
    fn size(&self) -> io::Result<u64> {
        Ok(self.0.metadata()?.len())
    }
    fn set_len(&self, len: u64) -> io::Result<()> {
        self.0.set_len(len)
    }
    fn preallocate(&self, offset: u64, len: u64) -> io::Result<()> {
        preallocate_fd(&self.0, offset, len)
    }
}

/// `fallocate(FALLOC_FL_KEEP_SIZE)`; file systems without it are not an error.
pub(crate) fn preallocate_fd(file: &File, offset: u64, len: u64) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: fallocate on a valid, owned descriptor with plain integer arguments.
    let rc = unsafe { libc::fallocate(file.as_raw_fd(), libc::FALLOC_FL_KEEP_SIZE, offset as i64, len as i64) };
    if rc == 0 {
        return Ok(());
    }
    let e = io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::EOPNOTSUPP) | Some(libc::ENOSYS) => Ok(()),
        _ => Err(e),
    }
}

impl Vfs for PosixVfs {
    fn name(&self) -> &'static str {
        "posix"
    }

    fn open(&self, path: &Path) -> io::Result<Arc<dyn FileHandle>> {
        let file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path)?;
        Ok(Arc::new(PosixFile(file)))
    }

    fn open_existing(&self, path: &Path) -> io::Result<Option<Arc<dyn FileHandle>>> {
        match OpenOptions::new().read(true).write(true).open(path) {
            Ok(f) => Ok(Some(Arc::new(PosixFile(f)))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn supports_direct(&self) -> bool {
        true
    }

    fn open_direct(&self, path: &Path, create: bool) -> io::Result<Option<Arc<dyn FileHandle>>> {
        use std::os::unix::fs::OpenOptionsExt;
        let opened = OpenOptions::new()
            .read(true)
            .write(true)
            .create(create)
            .truncate(false)
            .custom_flags(libc::O_DIRECT)
            .open(path);
        match opened {
            Ok(f) => Ok(Some(Arc::new(PosixFile(f)))),
            Err(e) if !create && e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        match std::fs::remove_file(path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut names = Vec::new();
        for entry in entries {
            if let Some(name) = entry?.file_name().to_str() {
                names.push(name.to_string());
            }
        }
        Ok(names)
    }

    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        std::fs::create_dir_all(dir)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        std::fs::rename(from, to)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        File::open(dir)?.sync_all()
    }

    fn lock(&self, path: &Path) -> io::Result<DirLock> {
        use std::os::fd::AsRawFd;
        let file = File::create(path)?;
        // SAFETY: flock on a valid, owned file descriptor; no memory is involved.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            return Err(io::Error::last_os_error());
        }
        // The lock lives as long as the open file.
        Ok(Box::new(file))
    }
}
