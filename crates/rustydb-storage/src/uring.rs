//! The io_uring backend: a [`Vfs`] whose reads, writes and fdatasyncs go through io_uring.
//!
//! Storage calls I/O synchronously from many threads, so each calling thread owns a small ring
//! (created on its first I/O): it submits its operation and waits for the completion itself.
//! A first version handed requests to one dedicated ring thread for batching; measured here it
//! cost two cross-thread wake-ups per I/O and was two orders of magnitude slower than pread for
//! page-cache reads (see the io_backends bench), so batching waits for asynchronous callers
//! (read-ahead, WAL writes linked to their fsync) that can keep several operations in flight.
//!
//! Safety argument: the kernel reads from or writes into a buffer owned by the thread's ring
//! state, which lives until the completion is reaped. If waiting ever fails, the buffer is
//! leaked and the ring dropped, so the kernel can never write into memory that was reused.
//!
//! [`choose_vfs`] sets the backend up at start-up: when io_uring is asked for but the kernel or
//! the sandbox forbids it (Docker's default seccomp profile does), it falls back to pread/pwrite
//! and says why.

use crate::io::{DirLock, FileHandle, PosixVfs, Vfs};
use io_uring::{IoUring, opcode, squeue, types};
use std::cell::RefCell;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::sync::Arc;

/// Entries of each thread's ring (one operation is in flight at a time).
const RING_ENTRIES: u32 = 4;

struct ThreadRing {
    ring: IoUring,
    buffer: Vec<u8>,
}

thread_local! {
    static RING: RefCell<Option<ThreadRing>> = const { RefCell::new(None) };
}

/// Runs one operation on this thread's ring: `build` gets the ring's buffer (sized `len`, holding
/// `input` for writes) and returns the entry; `finish` gets the completion's result and the
/// buffer, which the ring keeps for the next operation (no allocation per I/O once it is big
/// enough).
fn submit<T>(
    len: usize,
    input: Option<&[u8]>,
    build: impl FnOnce(*mut u8) -> squeue::Entry,
    finish: impl FnOnce(i32, &[u8]) -> io::Result<T>,
) -> io::Result<T> {
    RING.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot = Some(ThreadRing { ring: IoUring::new(RING_ENTRIES)?, buffer: Vec::new() });
        }
        let Some(state) = slot.as_mut() else { return Err(io::Error::other("io_uring ring missing")) };
        match input {
            Some(data) => {
                state.buffer.clear();
                state.buffer.extend_from_slice(data);
            }
            // A read overwrites the bytes it returns, so only the length matters: no zero-fill
            // once the buffer has grown to the largest read.
            None => state.buffer.resize(len, 0),
        }
        let entry = build(state.buffer.as_mut_ptr());
        // SAFETY: the buffer belongs to this thread's ring state and is not touched again until
        // the completion below is reaped (or is leaked if waiting fails).
        unsafe { state.ring.submission().push(&entry) }.map_err(|_| io::Error::other("io_uring queue full"))?;
        loop {
            match state.ring.submit_and_wait(1) {
                Ok(_) => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    // The operation may still be in flight: never reuse its buffer or ring.
                    if let Some(broken) = slot.take() {
                        std::mem::forget(broken.buffer);
                    }
                    return Err(e);
                }
            }
        }
        let result = state.ring.completion().next().map(|c| c.result());
        let result = result.ok_or_else(|| io::Error::other("io_uring completion missing"))?;
        finish(result, &state.buffer)
    })
}

fn check(result: i32) -> io::Result<usize> {
    if result < 0 { Err(io::Error::from_raw_os_error(-result)) } else { Ok(result as usize) }
}

/// A file whose I/O goes through the calling thread's ring.
#[derive(Debug)]
struct UringFile {
    file: File,
}

impl FileHandle for UringFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let fd = types::Fd(self.file.as_raw_fd());
        let len = buf.len();
        let build = |ptr: *mut u8| opcode::Read::new(fd, ptr, len as u32).offset(offset).build();
        submit(len, None, build, |result, data| {
            let n = check(result)?;
            buf[..n].copy_from_slice(&data[..n]);
            Ok(n)
        })
    }

    fn write_all_at(&self, mut buf: &[u8], mut offset: u64) -> io::Result<()> {
        let fd = types::Fd(self.file.as_raw_fd());
        while !buf.is_empty() {
            let len = buf.len();
            let build = |ptr: *mut u8| opcode::Write::new(fd, ptr, len as u32).offset(offset).build();
            let written = submit(len, Some(buf), build, |result, _| check(result))?;
            if written == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            buf = &buf[written..];
            offset += written as u64;
        }
        Ok(())
    }

    fn sync_data(&self) -> io::Result<()> {
        let fd = types::Fd(self.file.as_raw_fd());
        let build = |_| opcode::Fsync::new(fd).flags(types::FsyncFlags::DATASYNC).build();
        submit(0, None, build, |result, _| check(result).map(|_| ()))
    }

    fn size(&self) -> io::Result<u64> {
        Ok(self.file.metadata()?.len())
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        self.file.set_len(len)
    }

    fn preallocate(&self, offset: u64, len: u64) -> io::Result<()> {
        crate::io::preallocate_fd(&self.file, offset, len)
    }
}

/// The io_uring file system.
#[derive(Debug, Clone, Copy)]
pub struct UringVfs;

impl UringVfs {
    /// Checks that this process may use io_uring (a probe ring is set up and dropped); fails
    /// where io_uring is unavailable or forbidden.
    pub fn new() -> io::Result<UringVfs> {
        IoUring::new(RING_ENTRIES)?;
        Ok(UringVfs)
    }

    fn wrap(&self, file: File) -> Arc<dyn FileHandle> {
        Arc::new(UringFile { file })
    }
}

impl Vfs for UringVfs {
    fn name(&self) -> &'static str {
        "io_uring"
    }

    fn open(&self, path: &Path) -> io::Result<Arc<dyn FileHandle>> {
        let file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path)?;
        Ok(self.wrap(file))
    }

    fn open_existing(&self, path: &Path) -> io::Result<Option<Arc<dyn FileHandle>>> {
        match OpenOptions::new().read(true).write(true).open(path) {
            Ok(f) => Ok(Some(self.wrap(f))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        PosixVfs.remove(path)
    }
    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        PosixVfs.list(dir)
    }
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        PosixVfs.create_dir_all(dir)
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        PosixVfs.rename(from, to)
    }
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        PosixVfs.sync_dir(dir)
    }
    fn lock(&self, path: &Path) -> io::Result<DirLock> {
        PosixVfs.lock(path)
    }
}

pub use rustydb_foundation::config::IoBackend;

/// Builds the file system for `backend`, with the reason when io_uring was asked for but had
/// to fall back to pread/pwrite.
pub fn choose_vfs(backend: IoBackend) -> (Arc<dyn Vfs>, Option<String>) {
    match backend {
        IoBackend::Posix => (Arc::new(PosixVfs), None),
        IoBackend::IoUring => match UringVfs::new() {
            Ok(v) => (Arc::new(v), None),
            Err(e) => (Arc::new(PosixVfs), Some(format!("io_uring unavailable ({e}); using pread/pwrite"))),
        },
    }
}
