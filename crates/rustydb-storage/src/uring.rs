//! The io_uring backend: a [`Vfs`] whose reads, writes and fdatasyncs go through one ring owned
//! by a dedicated thread. Callers hand requests over a channel and wait for their reply; the
//! ring thread drains every queued request into one batched submission, so concurrent callers
//! (queue depth > 1) share system calls. Directory operations, sizes and truncation are rare and
//! go through std.
//!
//! Safety argument for the ring: each in-flight operation's buffer (a `Vec<u8>`, whose heap
//! allocation never moves) and an `Arc` of its file are parked in the in-flight table until its
//! completion arrives, so the kernel never writes into freed memory or a closed descriptor.
//!
//! [`choose_vfs`] picks the backend at start-up: io_uring when the kernel and sandbox allow it
//! (Docker's default seccomp profile forbids it), pread/pwrite otherwise, and says which.

use crate::io::{DirLock, FileHandle, PosixVfs, Vfs};
use crossbeam::channel::{Receiver, Sender, TryRecvError};
use io_uring::{IoUring, opcode, types};
use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc;
use std::thread::JoinHandle;

/// Submission queue entries; also the most operations in flight at once.
const RING_ENTRIES: u32 = 256;

enum Op {
    Read { len: usize },
    Write { data: Vec<u8> },
    Fsync,
}

struct Request {
    file: Arc<File>,
    offset: u64,
    op: Op,
    reply: mpsc::SyncSender<io::Result<Vec<u8>>>,
}

struct InFlight {
    _file: Arc<File>,
    buffer: Vec<u8>,
    is_read: bool,
    reply: mpsc::SyncSender<io::Result<Vec<u8>>>,
}

/// The ring and its thread; the thread ends when the last sender is dropped.
#[derive(Debug)]
struct Ring {
    sender: Option<Sender<Request>>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Ring {
    fn drop(&mut self) {
        self.sender.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Ring {
    fn start() -> io::Result<Ring> {
        let ring = IoUring::new(RING_ENTRIES)?;
        let (sender, receiver) = crossbeam::channel::unbounded();
        let thread = std::thread::Builder::new().name("rustydb-io-uring".into()).spawn(move || run(ring, receiver))?;
        Ok(Ring { sender: Some(sender), thread: Some(thread) })
    }

    fn call(&self, file: &Arc<File>, offset: u64, op: Op) -> io::Result<Vec<u8>> {
        let (reply, answer) = mpsc::sync_channel(1);
        let request = Request { file: file.clone(), offset, op, reply };
        let sender = self.sender.as_ref().ok_or_else(|| io::Error::other("io_uring thread stopped"))?;
        sender.send(request).map_err(|_| io::Error::other("io_uring thread stopped"))?;
        answer.recv().map_err(|_| io::Error::other("io_uring thread stopped"))?
    }
}

/// The ring thread: batch, submit, reap, reply, until every sender is gone and nothing is in
/// flight.
fn run(mut ring: IoUring, requests: Receiver<Request>) {
    let mut in_flight: Vec<Option<InFlight>> = Vec::new();
    let mut free: Vec<usize> = Vec::new();
    let mut pending = 0usize;
    let mut closed = false;
    loop {
        // Block for work only when nothing is in flight.
        if pending == 0 {
            if closed {
                return;
            }
            match requests.recv() {
                Ok(r) => pending += push(&mut ring, r, &mut in_flight, &mut free),
                Err(_) => return,
            }
        }
        while pending < RING_ENTRIES as usize {
            match requests.try_recv() {
                Ok(r) => pending += push(&mut ring, r, &mut in_flight, &mut free),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    closed = true;
                    break;
                }
            }
        }
        if pending == 0 {
            continue;
        }
        if let Err(e) = ring.submit_and_wait(1) {
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            // The ring itself failed: fail everything in flight rather than hang the callers.
            for slot in in_flight.iter_mut() {
                if let Some(op) = slot.take() {
                    let _ = op.reply.send(Err(io::Error::new(e.kind(), e.to_string())));
                }
            }
            return;
        }
        for cqe in ring.completion() {
            let index = cqe.user_data() as usize;
            let Some(op) = in_flight.get_mut(index).and_then(Option::take) else { continue };
            free.push(index);
            pending -= 1;
            let result = cqe.result();
            let answer = if result < 0 {
                Err(io::Error::from_raw_os_error(-result))
            } else if op.is_read {
                let mut buffer = op.buffer;
                buffer.truncate(result as usize);
                Ok(buffer)
            } else {
                // For writes the reply carries the byte count, little-endian.
                Ok((result as u64).to_le_bytes().to_vec())
            };
            let _ = op.reply.send(answer);
        }
    }
}

/// Queues one request on the ring; returns 1 if it is now in flight, 0 if it was answered at once.
fn push(ring: &mut IoUring, request: Request, in_flight: &mut Vec<Option<InFlight>>, free: &mut Vec<usize>) -> usize {
    let Request { file, offset, op, reply } = request;
    let fd = types::Fd(file.as_raw_fd());
    let (mut buffer, is_read) = match op {
        Op::Read { len } => (vec![0u8; len], true),
        Op::Write { data } => (data, false),
        Op::Fsync => (Vec::new(), false),
    };
    let index = free.pop().unwrap_or_else(|| {
        in_flight.push(None);
        in_flight.len() - 1
    });
    let entry = if is_read {
        opcode::Read::new(fd, buffer.as_mut_ptr(), buffer.len() as u32).offset(offset).build()
    } else if buffer.is_empty() {
        opcode::Fsync::new(fd).flags(types::FsyncFlags::DATASYNC).build()
    } else {
        opcode::Write::new(fd, buffer.as_ptr(), buffer.len() as u32).offset(offset).build()
    };
    let entry = entry.user_data(index as u64);
    in_flight[index] = Some(InFlight { _file: file, buffer, is_read, reply });
    // SAFETY: the buffer and the file stay in `in_flight[index]` until this entry's completion
    // is reaped in `run`; the submission queue has room because `run` keeps at most
    // RING_ENTRIES operations in flight and submits before pushing more.
    let pushed = unsafe { ring.submission().push(&entry) };
    if pushed.is_err() {
        if let Some(op) = in_flight[index].take() {
            let _ = op.reply.send(Err(io::Error::other("io_uring submission queue full")));
        }
        free.push(index);
        return 0;
    }
    1
}

/// A file whose I/O goes through the ring.
#[derive(Debug)]
struct UringFile {
    file: Arc<File>,
    ring: Arc<Ring>,
}

impl FileHandle for UringFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let data = self.ring.call(&self.file, offset, Op::Read { len: buf.len() })?;
        buf[..data.len()].copy_from_slice(&data);
        Ok(data.len())
    }

    fn write_all_at(&self, mut buf: &[u8], mut offset: u64) -> io::Result<()> {
        while !buf.is_empty() {
            let reply = self.ring.call(&self.file, offset, Op::Write { data: buf.to_vec() })?;
            let mut count = [0u8; 8];
            count.copy_from_slice(&reply[..8]);
            let written = u64::from_le_bytes(count) as usize;
            if written == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            buf = &buf[written..];
            offset += written as u64;
        }
        Ok(())
    }

    fn sync_data(&self) -> io::Result<()> {
        self.ring.call(&self.file, 0, Op::Fsync).map(|_| ())
    }

    fn size(&self) -> io::Result<u64> {
        Ok(self.file.metadata()?.len())
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        self.file.set_len(len)
    }
}

/// The io_uring file system.
#[derive(Debug, Clone)]
pub struct UringVfs {
    ring: Arc<Ring>,
}

impl UringVfs {
    /// Sets up a ring and its thread; fails where io_uring is unavailable or forbidden.
    pub fn new() -> io::Result<UringVfs> {
        Ok(UringVfs { ring: Arc::new(Ring::start()?) })
    }

    fn wrap(&self, file: File) -> Arc<dyn FileHandle> {
        Arc::new(UringFile { file: Arc::new(file), ring: self.ring.clone() })
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
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        PosixVfs.sync_dir(dir)
    }
    fn lock(&self, path: &Path) -> io::Result<DirLock> {
        PosixVfs.lock(path)
    }
}

pub use rustydb_foundation::config::IoBackend;

/// Builds the file system for `backend`, with the reason when `Auto` had to fall back.
pub fn choose_vfs(backend: IoBackend) -> io::Result<(Arc<dyn Vfs>, Option<String>)> {
    match backend {
        IoBackend::Posix => Ok((Arc::new(PosixVfs), None)),
        IoBackend::IoUring => Ok((Arc::new(UringVfs::new()?), None)),
        IoBackend::Auto => match UringVfs::new() {
            Ok(v) => Ok((Arc::new(v), None)),
            Err(e) => Ok((Arc::new(PosixVfs), Some(format!("io_uring unavailable ({e}); using pread/pwrite")))),
        },
    }
}
