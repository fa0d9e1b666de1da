//! The log device: the write-ahead log as one logical byte stream, split into segment files
//! `wal/<start-lsn as 16 hex digits>` of [`SEGMENT_SIZE`] bytes, appended in memory and made
//! durable by [`LogDevice::flush_to`] with group commit.
//!
//! A record's LSN is the stream position just past its end, so "the log is durable to LSN n"
//! covers every record whose LSN is at most n. Record framing, little-endian:
//!
//! | bytes | field |
//! |---|---|
//! | 0..4 | payload length `n` (u32, never 0; bit 31 set when the payload is sealed) |
//! | 4..8 | CRC-32C of the record's start position (u64) followed by the payload (u32) |
//! | 8..8+n | payload (meaning belongs to the caller) |
//!
//! **Sealed records**: a record changing pages of a file whose page cipher encrypts (see
//! [`crate::cipher`]) is stored sealed: its payload is the file id (u32) followed by what the
//! cipher's `seal_record` made of the caller's payload, bound to the file id and the record's
//! start position (so a sealed record copied elsewhere in the log fails to open). Full-page
//! images of such pages are sealed the same way. [`LogDevice::replay`] opens them again, so
//! callers only ever see their own payloads; the checksum covers the stored (sealed) bytes.
//!
//! Records may straddle segment boundaries. On open the log is scanned to the last complete
//! record with a good checksum; anything after it (a torn tail from a crash mid-write) is cut
//! off, so later appends never sit in front of stale bytes.
//!
//! **Recycling**: once a checkpoint makes the log before some LSN unnecessary,
//! [`LogDevice::recycle_before`] renames the segments before it to become the next segments to
//! be written (so writing them allocates nothing and changes no file size, which keeps each
//! fdatasync to the data alone), removing those beyond a few spares. A recycled file still holds
//! old records; because every checksum covers the record's own position, an old record can never
//! pass for a new one at its new position, and the scan stops where the new log ends.
//!
//! **Group commit**: appends only copy into a buffer. In `flush_to`, one caller at a time is the
//! leader: it takes *everything* appended so far, writes it and fsyncs once, then wakes the
//! others. Everyone else sleeps on a condition variable until the durable LSN passes their
//! record (or until they can lead the next flush, carrying everything appended meanwhile). So a
//! crowd of committers shares each fdatasync instead of queueing for a lock to find out.
//!
//! **Full-page images**: a torn page write leaves a page that no record can be replayed onto,
//! so the first change to each page after a checkpoint's redo point is preceded in the log by
//! an image of the whole page ([`LogDevice::append_for_pages`]). Whether a page needs one is
//! decided under the same lock that appends the record and that [`LogDevice::begin_checkpoint`]
//! takes to fix the redo point, so no change can slip past a checkpoint's start without its
//! image (PostgreSQL rechecks its `RedoRecPtr` under the insert lock for the same reason).
//!
//! A failed write or fsync poisons the device: every later append or flush fails with
//! `WritesStopped` — the kernel may have dropped the dirty pages, so a retry could report
//! success for data that is gone.

use crate::cipher::{CipherMap, PageCipher};
use crate::io::{FileHandle, Vfs};
use parking_lot::{Condvar, Mutex};
use rustydb_foundation::metric_names::{WAL_BYTES, WAL_FSYNCS, WAL_IMAGES};
use rustydb_foundation::{DbError, FileId, Lsn, PageId, Result, checksum};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// A record's payload must be non-empty and at most [`MAX_RECORD`] bytes.
fn check_size(payload: &[u8]) -> Result<()> {
    if payload.is_empty() || payload.len() > MAX_RECORD {
        return Err(DbError::Internal(format!("log record of {} bytes", payload.len())));
    }
    Ok(())
}

/// Bytes per segment file.
pub const SEGMENT_SIZE: u64 = 16 * 1024 * 1024;
const FRAME_HEADER: usize = 8;
/// The length field's bit that marks a sealed payload.
const SEALED: u32 = 1 << 31;
/// Freed segments kept (renamed) for reuse by [`LogDevice::recycle_before`]; more are removed.
pub const SPARE_SEGMENTS: usize = 4;
/// Extension of a segment being zero-filled before it takes its real name.
const TEMP_SUFFIX: &str = "init";
/// Bytes of zeros written at a time when a segment is created or its stale tail cleared.
const ZERO_CHUNK: usize = 1 << 20;
/// The largest record payload accepted.
pub const MAX_RECORD: usize = 64 * 1024 * 1024;

/// One record read back from the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRecord {
    /// The record's LSN (the stream position just past it).
    pub lsn: Lsn,
    /// The caller's bytes.
    pub payload: Vec<u8>,
}

#[derive(Debug)]
struct Tail {
    /// Bytes appended but not yet written, starting at stream position `buffered_from`.
    buffer: Vec<u8>,
    buffered_from: u64,
    /// Stream position after the last appended record.
    next: u64,
    /// A leader is writing and syncing; others wait on `LogDevice::flushed`.
    flushing: bool,
    /// Why writes stopped, once an fsync or write failed.
    poisoned: Option<String>,
    /// The redo point of the checkpoint in progress or last completed: a page whose LSN is at
    /// or below it gets a full-page image before its next change.
    redo: u64,
}

/// Builds the log record of a full-page image (the layer above owns record formats).
pub type ImageEncoder = fn(PageId, &[u8]) -> Vec<u8>;

/// The open segment; only the flush leader touches it.
#[derive(Debug)]
struct Writer {
    segment: Option<(u64, Arc<dyn FileHandle>)>,
}

/// The write-ahead log's device.
#[derive(Debug)]
pub struct LogDevice {
    vfs: Arc<dyn Vfs>,
    dir: PathBuf,
    segment_size: u64,
    tail: Mutex<Tail>,
    flushed: Condvar,
    writer: Mutex<Writer>,
    durable: AtomicU64,
    /// Set once by the layer that owns the record format; without it no images are logged.
    image_encoder: std::sync::OnceLock<ImageEncoder>,
    /// A copy of `Tail::redo` for the check made before taking the lock.
    redo_hint: AtomicU64,
    /// The data files' ciphers (set by the storage engine): records of encrypted files are
    /// sealed with them.
    ciphers: std::sync::OnceLock<Arc<CipherMap>>,
}

impl LogDevice {
    /// Opens (creating if needed) the log in `dir`, cutting off any torn tail.
    pub fn open(vfs: Arc<dyn Vfs>, dir: &Path) -> Result<Self> {
        Self::open_with_segment_size(vfs, dir, SEGMENT_SIZE)
    }

    /// As [`LogDevice::open`] with a chosen segment size (small ones exercise segment switches).
    pub fn open_with_segment_size(vfs: Arc<dyn Vfs>, dir: &Path, segment_size: u64) -> Result<Self> {
        Self::open_at(vfs, dir, segment_size, Lsn(0))
    }

    /// Opens the log whose records start at `start`: 0 for a log never recycled, else the
    /// restart point the caller passed to [`LogDevice::recycle_before`] (a record boundary).
    pub fn open_at(vfs: Arc<dyn Vfs>, dir: &Path, segment_size: u64, start: Lsn) -> Result<Self> {
        vfs.create_dir_all(dir).map_err(|e| DbError::io(format!("creating {}", dir.display()), e))?;
        remove_temporary_segments(&*vfs, dir)?;
        let segments = list_segments(&*vfs, dir, segment_size)?;
        let first = segments.first().copied().unwrap_or(0);
        if start.0 < first || (segments.is_empty() && start.0 > 0) {
            return Err(DbError::Corruption(format!(
                "write-ahead log in {} starts at {first:016x}; the records from {start} on are missing",
                dir.display()
            )));
        }
        let mut end = start.0;
        scan(&*vfs, dir, &segments, segment_size, start.0, |record| {
            end = record.lsn.0;
            Ok(())
        })?;
        cut_after(&*vfs, dir, &segments, segment_size, end)?;
        sync_recovered_tail(&*vfs, dir, segment_size, end)?;
        Ok(LogDevice {
            vfs,
            dir: dir.to_path_buf(),
            segment_size,
            tail: Mutex::new(Tail {
                buffer: Vec::new(),
                buffered_from: end,
                next: end,
                flushing: false,
                poisoned: None,
                redo: start.0,
            }),
            flushed: Condvar::new(),
            writer: Mutex::new(Writer { segment: None }),
            durable: AtomicU64::new(end),
            image_encoder: std::sync::OnceLock::new(),
            redo_hint: AtomicU64::new(start.0),
            ciphers: std::sync::OnceLock::new(),
        })
    }

    /// Appends a record (in memory) and returns its LSN. It is durable once `flush_to(lsn)`
    /// returns.
    pub fn append(&self, payload: &[u8]) -> Result<Lsn> {
        check_size(payload)?;
        let mut tail = self.tail.lock();
        Self::push(&mut tail, payload, false)
    }

    /// The cipher that seals records of `file`'s pages, if the file is encrypted.
    fn sealer(&self, file: FileId) -> Option<(FileId, Arc<dyn PageCipher>)> {
        self.ciphers.get().and_then(|c| c.encrypting(file)).map(|c| (file, c))
    }

    /// Appends a record that changes `pages` (each with its bytes as they are before the change,
    /// its latch held by the caller). A page whose LSN is at or below the redo point gets a
    /// full-page image record first, if an image encoder is set (see the module docs).
    pub fn append_for_pages(&self, pages: &[(PageId, &[u8])], payload: &[u8]) -> Result<Lsn> {
        check_size(payload)?;
        let sealer = pages.iter().find_map(|(id, _)| self.sealer(id.file));
        let Some(encode) = self.image_encoder.get() else {
            let mut tail = self.tail.lock();
            return Self::push_sealed(&mut tail, sealer.as_ref(), payload);
        };
        let needs = |bytes: &[u8], redo: u64| crate::page::read::lsn(bytes).0 <= redo;
        // Compressed before the lock when the hint says so; the decision is made under it.
        let hint = self.redo_hint.load(Ordering::Acquire);
        let mut images: Vec<Option<Vec<u8>>> =
            pages.iter().map(|(id, bytes)| needs(bytes, hint).then(|| encode(*id, bytes))).collect();
        let mut tail = self.tail.lock();
        for ((id, bytes), image) in pages.iter().zip(&mut images) {
            if needs(bytes, tail.redo) {
                let image = image.take().unwrap_or_else(|| encode(*id, bytes));
                check_size(&image)?;
                Self::push_sealed(&mut tail, self.sealer(id.file).as_ref(), &image)?;
                metrics::counter!(WAL_IMAGES).increment(1);
            }
        }
        Self::push_sealed(&mut tail, sealer.as_ref(), payload)
    }

    /// Logs a full-page image of `page` (its bytes `bytes`, latch held by the caller) whatever
    /// the redo point: for a page about to be written again unchanged under a new key, which
    /// must survive a torn write like any other. `None` without an image encoder.
    pub fn append_image(&self, page: PageId, bytes: &[u8]) -> Result<Option<Lsn>> {
        let Some(encode) = self.image_encoder.get() else { return Ok(None) };
        let image = encode(page, bytes);
        check_size(&image)?;
        let sealer = self.sealer(page.file);
        let mut tail = self.tail.lock();
        metrics::counter!(WAL_IMAGES).increment(1);
        Self::push_sealed(&mut tail, sealer.as_ref(), &image).map(Some)
    }

    /// Seals `payload` for `sealer`'s file (if any) at the position it is about to take, and
    /// appends it.
    fn push_sealed(tail: &mut Tail, sealer: Option<&(FileId, Arc<dyn PageCipher>)>, payload: &[u8]) -> Result<Lsn> {
        let Some((file, cipher)) = sealer else { return Self::push(tail, payload, false) };
        let mut sealed = Vec::with_capacity(payload.len() + 64);
        sealed.extend_from_slice(&file.0.to_le_bytes());
        cipher.seal_record(&seal_aad(*file, tail.next), payload, &mut sealed)?;
        check_size(&sealed)?;
        Self::push(tail, &sealed, true)
    }

    fn push(tail: &mut Tail, payload: &[u8], sealed: bool) -> Result<Lsn> {
        if let Some(reason) = &tail.poisoned {
            return Err(DbError::WritesStopped(reason.clone()));
        }
        let crc = record_crc(tail.next, payload);
        let len = payload.len() as u32 | if sealed { SEALED } else { 0 };
        tail.buffer.extend_from_slice(&len.to_le_bytes());
        tail.buffer.extend_from_slice(&crc.to_le_bytes());
        tail.buffer.extend_from_slice(payload);
        tail.next += (FRAME_HEADER + payload.len()) as u64;
        Ok(Lsn(tail.next))
    }

    /// Sets how full-page image records are built; from then on [`LogDevice::append_for_pages`]
    /// logs them. Only the first call counts.
    pub fn set_image_encoder(&self, encoder: ImageEncoder) {
        let _ = self.image_encoder.set(encoder);
    }

    /// Sets the data files' ciphers, which seal the records of encrypted files. Only the first
    /// call counts (the storage engine makes it as it opens).
    pub fn set_ciphers(&self, ciphers: Arc<CipherMap>) {
        let _ = self.ciphers.set(ciphers);
    }

    /// Fixes a checkpoint's redo point at the current end of the log and returns it: every page
    /// changed after it gets a full-page image before its first change.
    pub fn begin_checkpoint(&self) -> Lsn {
        let mut tail = self.tail.lock();
        tail.redo = tail.next;
        self.redo_hint.store(tail.next, Ordering::Release);
        Lsn(tail.next)
    }

    /// Makes the log durable at least up to `lsn` (group commit: one fsync serves every record
    /// appended before it started).
    pub fn flush_to(&self, lsn: Lsn) -> Result<()> {
        loop {
            if self.durable.load(Ordering::Acquire) >= lsn.0 {
                return Ok(());
            }
            let mut tail = self.tail.lock();
            if let Some(reason) = &tail.poisoned {
                return Err(DbError::WritesStopped(reason.clone()));
            }
            if self.durable.load(Ordering::Acquire) >= lsn.0 {
                return Ok(());
            }
            if lsn.0 > tail.next {
                // Only a page whose LSN lies beyond the log's end asks this (its log was lost to
                // corruption): no flush can satisfy it, so say so rather than wait for ever.
                return Err(DbError::Corruption(format!(
                    "write-ahead log flush request to {lsn} is beyond the end of the log ({})",
                    tail.next
                )));
            }
            if tail.flushing {
                self.flushed.wait(&mut tail);
                continue;
            }
            tail.flushing = true;
            let start = tail.buffered_from;
            tail.buffered_from = tail.next;
            let bytes = std::mem::take(&mut tail.buffer);
            drop(tail);
            self.lead_flush(&bytes, start)?;
        }
    }

    /// The leader's part: write and sync `bytes` (stream position `start`), publish the new
    /// durable LSN or the poison, and wake every waiter.
    fn lead_flush(&self, bytes: &[u8], start: u64) -> Result<()> {
        let result = self.write_and_sync(&mut self.writer.lock(), bytes, start);
        let mut tail = self.tail.lock();
        tail.flushing = false;
        let outcome = match result {
            Ok(()) => {
                self.durable.store(start + bytes.len() as u64, Ordering::Release);
                metrics::counter!(WAL_BYTES).increment(bytes.len() as u64);
                metrics::counter!(WAL_FSYNCS).increment(1);
                Ok(())
            }
            Err(e) => {
                let reason = format!("write-ahead log flush failed: {e}");
                tail.poisoned = Some(reason.clone());
                Err(DbError::WritesStopped(reason))
            }
        };
        self.flushed.notify_all();
        outcome
    }

    /// Flushes everything appended so far.
    pub fn flush_all(&self) -> Result<()> {
        let next = self.tail.lock().next;
        self.flush_to(Lsn(next))
    }

    /// Why writes stopped, if a write or fsync of the log failed (health checks report it).
    pub fn writes_stopped(&self) -> Option<String> {
        self.tail.lock().poisoned.clone()
    }

    /// The LSN up to which the log is known durable.
    pub fn durable_lsn(&self) -> Lsn {
        Lsn(self.durable.load(Ordering::Acquire))
    }

    /// The LSN the next record will end after (the current end of the stream).
    pub fn end_lsn(&self) -> Lsn {
        Lsn(self.tail.lock().next)
    }

    /// Frees the segments wholly before the one holding `lsn`: the caller has made `lsn` (a record
    /// boundary, typically a checkpoint's redo point) durable as the place recovery starts from,
    /// and opens the log with [`LogDevice::open_at`] from it. Up to [`SPARE_SEGMENTS`] freed
    /// segments are renamed to follow the newest one and be written next; the rest are removed.
    /// Returns how many segments were freed.
    pub fn recycle_before(&self, lsn: Lsn) -> Result<usize> {
        if lsn.0 > self.durable.load(Ordering::Acquire) {
            return Err(DbError::Internal(format!("cannot recycle the log before {lsn}: it is not durable yet")));
        }
        // Under the writer lock no segment switch happens meanwhile.
        let writer = self.writer.lock();
        let segments = list_segments(&*self.vfs, &self.dir, self.segment_size)?;
        let keep_from = lsn.0 - lsn.0 % self.segment_size;
        let end = self.durable.load(Ordering::Acquire);
        let end_segment = end - end % self.segment_size;
        let mut spares = segments.iter().filter(|s| **s > end_segment).count();
        let mut newest = segments.last().copied().unwrap_or(0);
        let mut freed = 0;
        for &start in segments.iter().filter(|s| **s < keep_from) {
            if writer.segment.as_ref().is_some_and(|(open, _)| *open == start) {
                break;
            }
            let path = segment_path(&self.dir, start);
            let io = |e| DbError::io(format!("recycling {}", path.display()), e);
            let renamed = spares < SPARE_SEGMENTS && {
                let next = segment_path(&self.dir, newest + self.segment_size);
                match self.vfs.rename(&path, &next) {
                    Ok(()) => true,
                    Err(e) if e.kind() == std::io::ErrorKind::Unsupported => false,
                    Err(e) => return Err(io(e)),
                }
            };
            if renamed {
                newest += self.segment_size;
                spares += 1;
            } else {
                self.vfs.remove(&path).map_err(io)?;
            }
            freed += 1;
        }
        if freed > 0 {
            self.vfs.sync_dir(&self.dir).map_err(|e| DbError::io(format!("syncing {}", self.dir.display()), e))?;
        }
        Ok(freed)
    }

    /// Calls `apply` for every durable record from stream position `from`, in order.
    /// Sealed records are opened with their file's cipher, which must be set by then.
    pub fn replay(&self, from: Lsn, apply: impl FnMut(LogRecord) -> Result<()>) -> Result<()> {
        self.replay_opening_after(from, Lsn(0), apply)
    }

    /// As [`LogDevice::replay`], but sealed records at or before `open_after` are passed over
    /// unopened. Recovery gives its redo point: sealed records only ever change pages, and the
    /// changes before the redo point are on disk already, so the keys that sealed them (retired
    /// by a key rotation, or a dropped table's) are not needed to start.
    pub fn replay_opening_after(
        &self,
        from: Lsn,
        open_after: Lsn,
        mut apply: impl FnMut(LogRecord) -> Result<()>,
    ) -> Result<()> {
        let segments = list_segments(&*self.vfs, &self.dir, self.segment_size)?;
        scan(&*self.vfs, &self.dir, &segments, self.segment_size, from.0, |frame| {
            if frame.sealed && frame.lsn <= open_after {
                return Ok(());
            }
            let payload = if frame.sealed { self.open_sealed(&frame)? } else { frame.payload };
            apply(LogRecord { lsn: frame.lsn, payload })
        })
    }

    fn open_sealed(&self, frame: &Frame) -> Result<Vec<u8>> {
        let start = frame.lsn.0 - (FRAME_HEADER + frame.payload.len()) as u64;
        let bad = |why: String| DbError::Corruption(format!("log record at {start:x}: {why}"));
        let (file, sealed) =
            frame.payload.split_first_chunk::<4>().ok_or_else(|| bad("a sealed record too short".into()))?;
        let file = FileId(u32::from_le_bytes(*file));
        let cipher = self
            .sealer(file)
            .ok_or_else(|| bad(format!("it is encrypted for data file {file}, whose key is not loaded")))?;
        cipher
            .1
            .open_record(&seal_aad(file, start), sealed)
            .map_err(|e| bad(format!("it failed authentication for data file {file} ({e})")))
    }

    fn write_and_sync(&self, writer: &mut Writer, mut bytes: &[u8], mut pos: u64) -> std::io::Result<()> {
        while !bytes.is_empty() {
            let seg_start = pos - pos % self.segment_size;
            let room = (seg_start + self.segment_size - pos) as usize;
            let (now, rest) = bytes.split_at(room.min(bytes.len()));
            let file = self.segment_file(writer, seg_start)?;
            file.write_all_at(now, pos - seg_start)?;
            if !rest.is_empty() {
                file.sync_data()?;
            }
            pos += now.len() as u64;
            bytes = rest;
        }
        match &writer.segment {
            Some((_, file)) => file.sync_data(),
            None => Ok(()),
        }
    }

    fn segment_file<'w>(&self, writer: &'w mut Writer, seg_start: u64) -> std::io::Result<&'w Arc<dyn FileHandle>> {
        if writer.segment.as_ref().is_none_or(|(s, _)| *s != seg_start) {
            let path = segment_path(&self.dir, seg_start);
            let file = match self.vfs.open_existing(&path)? {
                Some(f) => f,
                None => create_segment(&*self.vfs, &self.dir, seg_start, self.segment_size)?,
            };
            writer.segment = Some((seg_start, file));
        }
        match &writer.segment {
            Some((_, file)) => Ok(file),
            None => Err(std::io::Error::other("no open segment")),
        }
    }
}

/// Creates the segment starting at `start` already at its full size, zero-filled and durable, as
/// PostgreSQL's `wal_init_zero`: later commits then overwrite allocated blocks, and each
/// fdatasync flushes data alone instead of also journaling a new file size (a third faster on
/// ext4 here). The zeros are written to a temporary name and renamed, so a segment under its
/// real name is always whole; zeros read as the end of the log (no record is 0 bytes long).
fn create_segment(vfs: &dyn Vfs, dir: &Path, start: u64, segment_size: u64) -> std::io::Result<Arc<dyn FileHandle>> {
    let path = segment_path(dir, start);
    let temp = path.with_extension(TEMP_SUFFIX);
    let file = vfs.open(&temp)?;
    file.set_len(0)?;
    zero_fill(&*file, segment_size)?;
    file.sync_data()?;
    match vfs.rename(&temp, &path) {
        Ok(()) => {}
        // A backend without renames gets the zeros under the real name: still safe, since no
        // record is written before this returns and a half-filled segment is short, which
        // ends the stream at open (and is zeroed or removed there).
        Err(e) if e.kind() == std::io::ErrorKind::Unsupported => {
            vfs.remove(&temp)?;
            return create_segment_in_place(vfs, dir, &path, segment_size);
        }
        Err(e) => return Err(e),
    }
    // The new directory entry must be durable too, or a crash could lose the file.
    vfs.sync_dir(dir)?;
    Ok(file)
}

fn create_segment_in_place(
    vfs: &dyn Vfs,
    dir: &Path,
    path: &Path,
    segment_size: u64,
) -> std::io::Result<Arc<dyn FileHandle>> {
    let file = vfs.open(path)?;
    zero_fill(&*file, segment_size)?;
    file.sync_data()?;
    vfs.sync_dir(dir)?;
    Ok(file)
}

/// Writes `len` zero bytes from the start of `file`.
fn zero_fill(file: &dyn FileHandle, len: u64) -> std::io::Result<()> {
    let zeros = vec![0u8; ZERO_CHUNK.min(len as usize)];
    let mut at = 0;
    while at < len {
        let n = (len - at).min(zeros.len() as u64) as usize;
        file.write_all_at(&zeros[..n], at)?;
        at += n as u64;
    }
    Ok(())
}

/// Removes segments a crash left half-initialised under their temporary names.
fn remove_temporary_segments(vfs: &dyn Vfs, dir: &Path) -> Result<()> {
    let io = |e| DbError::io(format!("cleaning {}", dir.display()), e);
    for name in vfs.list(dir).map_err(io)? {
        if name.ends_with(&format!(".{TEMP_SUFFIX}")) {
            vfs.remove(&dir.join(name)).map_err(io)?;
        }
    }
    Ok(())
}

fn segment_path(dir: &Path, start: u64) -> PathBuf {
    dir.join(format!("{start:016x}"))
}

/// Segment start positions present in `dir`, sorted, and checked to be contiguous (from 0, or
/// from the first segment kept after recycling).
fn list_segments(vfs: &dyn Vfs, dir: &Path, segment_size: u64) -> Result<Vec<u64>> {
    let names = vfs.list(dir).map_err(|e| DbError::io(format!("listing {}", dir.display()), e))?;
    let mut starts: Vec<u64> = names.iter().filter_map(|n| u64::from_str_radix(n, 16).ok()).collect();
    starts.sort_unstable();
    let first = starts.first().copied().unwrap_or(0);
    for (i, start) in starts.iter().enumerate() {
        let expected = first + i as u64 * segment_size;
        if *start != expected || start % segment_size != 0 {
            return Err(DbError::Corruption(format!(
                "write-ahead log in {} is missing the segment at {expected:016x}",
                dir.display()
            )));
        }
    }
    Ok(starts)
}

/// What a sealed record is bound to: its file and its start position.
fn seal_aad(file: FileId, start: u64) -> [u8; 12] {
    let mut aad = [0u8; 12];
    aad[..4].copy_from_slice(&file.0.to_le_bytes());
    aad[4..].copy_from_slice(&start.to_le_bytes());
    aad
}

/// One record as stored: its payload sealed or not.
struct Frame {
    lsn: Lsn,
    payload: Vec<u8>,
    sealed: bool,
}

/// A record's checksum: over its start position, then its payload.
fn record_crc(start: u64, payload: &[u8]) -> u32 {
    checksum::crc32c_parts(&[&start.to_le_bytes(), payload])
}

/// Reads records from the concatenation of the segments, from position `from`, stopping at the
/// first incomplete or corrupt record (the end of the log), as PostgreSQL does.
fn scan(
    vfs: &dyn Vfs,
    dir: &Path,
    segments: &[u64],
    segment_size: u64,
    from: u64,
    mut apply: impl FnMut(Frame) -> Result<()>,
) -> Result<()> {
    let mut stream = SegmentStream::open(vfs, dir, segments, segment_size, from)?;
    let mut pos = from;
    while let Some((payload, sealed)) = stream.next_record(pos)? {
        pos += (FRAME_HEADER + payload.len()) as u64;
        apply(Frame { lsn: Lsn(pos), payload, sealed })?;
    }
    Ok(())
}

/// Makes the records found at open durable before they count as such: a crash may have left
/// them written but never fsynced, and recovery is about to replay them into pages that may reach
/// the disk; if the log tail then vanished in a power cut, new records would reuse its LSNs.
fn sync_recovered_tail(vfs: &dyn Vfs, dir: &Path, segment_size: u64, end: u64) -> Result<()> {
    if end == 0 {
        return Ok(());
    }
    let start = (end - 1) - (end - 1) % segment_size;
    let path = segment_path(dir, start);
    let io = |e| DbError::WritesStopped(format!("fsync of the recovered log {} failed: {e}", path.display()));
    if let Some(file) = vfs.open_existing(&path).map_err(io)? {
        file.sync_data().map_err(io)?;
    }
    vfs.sync_dir(dir).map_err(io)
}

/// Deletes bytes past `end`: zeroes the rest of its segment (which keeps its full size, see
/// [`create_segment`]) and removes later segments. Zeroing matters: a crash can leave whole,
/// valid records past a torn one, and once new records are appended in front of them they
/// would read as part of the log.
fn cut_after(vfs: &dyn Vfs, dir: &Path, segments: &[u64], segment_size: u64, end: u64) -> Result<()> {
    let mut removed = false;
    for &start in segments {
        let path = segment_path(dir, start);
        let io = |e| DbError::io(format!("cutting the torn tail of {}", path.display()), e);
        if start > end || (start == end && start != 0) {
            vfs.remove(&path).map_err(io)?;
            removed = true;
        } else if end < start + segment_size {
            let Some(file) = vfs.open_existing(&path).map_err(io)? else { continue };
            if zero_from(&*file, end - start).map_err(io)? {
                file.sync_data().map_err(io)?;
            }
        }
    }
    if removed {
        vfs.sync_dir(dir).map_err(|e| DbError::io(format!("syncing {}", dir.display()), e))?;
    }
    Ok(())
}

/// Zeroes `file` from `offset` to its end where it is not zero already; true if it wrote.
fn zero_from(file: &dyn FileHandle, offset: u64) -> std::io::Result<bool> {
    let size = file.size()?;
    let mut buf = vec![0u8; ZERO_CHUNK];
    let mut at = offset;
    let mut wrote = false;
    while at < size {
        let n = (size - at).min(ZERO_CHUNK as u64) as usize;
        let read = file.read_full_at(&mut buf[..n], at)?;
        if buf[..read].iter().any(|&b| b != 0) {
            buf[..n].fill(0);
            file.write_all_at(&buf[..n], at)?;
            wrote = true;
        }
        at += n as u64;
    }
    Ok(wrote)
}

/// Sequential reader over the segment files as one stream. A segment shorter than the segment
/// size ends the stream: bytes after a gap can never be trusted.
struct SegmentStream<'v> {
    vfs: &'v dyn Vfs,
    dir: PathBuf,
    segments: Vec<u64>,
    segment_size: u64,
    next: usize,
    current: Option<Arc<dyn FileHandle>>,
    /// Position in the current segment of the first byte not yet buffered.
    file_pos: u64,
    buffer: Vec<u8>,
    buffer_pos: usize,
    ended: bool,
}

const READ_CHUNK: usize = 256 * 1024;

impl<'v> SegmentStream<'v> {
    fn open(vfs: &'v dyn Vfs, dir: &Path, segments: &[u64], segment_size: u64, from: u64) -> Result<Self> {
        let mut stream = SegmentStream {
            vfs,
            dir: dir.to_path_buf(),
            segments: segments.to_vec(),
            segment_size,
            next: ((from - segments.first().copied().unwrap_or(0).min(from)) / segment_size) as usize,
            current: None,
            file_pos: 0,
            buffer: Vec::new(),
            buffer_pos: 0,
            ended: false,
        };
        stream.open_next(from % segment_size)?;
        Ok(stream)
    }

    fn open_next(&mut self, offset: u64) -> Result<()> {
        self.current = None;
        self.buffer.clear();
        self.buffer_pos = 0;
        let Some(&start) = self.segments.get(self.next) else {
            self.ended = true;
            return Ok(());
        };
        self.next += 1;
        let path = segment_path(&self.dir, start);
        let file = self.vfs.open_existing(&path).map_err(|e| DbError::io(format!("reading {}", path.display()), e))?;
        self.current = file;
        self.file_pos = offset;
        self.ended = self.current.is_none();
        Ok(())
    }

    /// Refills the buffer from the current segment; moves to the next one at a full segment's
    /// end. Returns false at the end of the stream.
    fn refill(&mut self) -> Result<bool> {
        while !self.ended {
            let Some(file) = &self.current else { return Ok(false) };
            self.buffer.resize(READ_CHUNK, 0);
            let n = file
                .read_full_at(&mut self.buffer, self.file_pos)
                .map_err(|e| DbError::io("reading the write-ahead log", e))?;
            self.buffer.truncate(n);
            self.buffer_pos = 0;
            if n > 0 {
                self.file_pos += n as u64;
                return Ok(true);
            }
            if self.file_pos != self.segment_size {
                self.ended = true;
                break;
            }
            self.open_next(0)?;
        }
        Ok(false)
    }

    /// Fills `buf` as far as the stream allows; returns the bytes read.
    fn read_full(&mut self, buf: &mut [u8]) -> Result<usize> {
        let mut done = 0;
        while done < buf.len() {
            if self.buffer_pos == self.buffer.len() && !self.refill()? {
                break;
            }
            let n = (buf.len() - done).min(self.buffer.len() - self.buffer_pos);
            buf[done..done + n].copy_from_slice(&self.buffer[self.buffer_pos..self.buffer_pos + n]);
            self.buffer_pos += n;
            done += n;
        }
        Ok(done)
    }

    /// The record starting at stream position `pos`, if a whole one with a good checksum is there.
    fn next_record(&mut self, pos: u64) -> Result<Option<(Vec<u8>, bool)>> {
        let mut header = [0u8; FRAME_HEADER];
        if self.read_full(&mut header)? < FRAME_HEADER {
            return Ok(None);
        }
        let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
        let (len, sealed) = ((len & !SEALED) as usize, len & SEALED != 0);
        let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
        if len == 0 || len > MAX_RECORD {
            return Ok(None);
        }
        let mut payload = vec![0u8; len];
        if self.read_full(&mut payload)? < len || record_crc(pos, &payload) != crc {
            return Ok(None);
        }
        Ok(Some((payload, sealed)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::PosixVfs;

    fn posix() -> Arc<dyn Vfs> {
        Arc::new(PosixVfs)
    }

    fn records(log: &LogDevice) -> Vec<LogRecord> {
        let mut out = Vec::new();
        log.replay(Lsn(0), |r| {
            out.push(r);
            Ok(())
        })
        .unwrap();
        out
    }

    #[test]
    fn records_round_trip_across_segments_and_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let payloads: Vec<Vec<u8>> = (0..200u32).map(|i| vec![(i % 251) as u8; 1 + (i as usize * 7) % 300]).collect();
        let mut lsns = Vec::new();
        {
            let log = LogDevice::open_with_segment_size(posix(), dir.path(), 4096).unwrap();
            for p in &payloads {
                lsns.push(log.append(p).unwrap());
            }
            log.flush_to(*lsns.last().unwrap()).unwrap();
        }
        let log = LogDevice::open_with_segment_size(posix(), dir.path(), 4096).unwrap();
        let got = records(&log);
        assert_eq!(got.len(), payloads.len());
        for ((r, p), l) in got.iter().zip(&payloads).zip(&lsns) {
            assert_eq!(&r.payload, p);
            assert_eq!(r.lsn, *l);
        }
        assert_eq!(log.end_lsn(), *lsns.last().unwrap());
        // Replay from a record boundary in the middle.
        let mut tail = Vec::new();
        log.replay(lsns[99], |r| {
            tail.push(r);
            Ok(())
        })
        .unwrap();
        assert_eq!(tail.len(), 100);
    }

    #[test]
    fn torn_tail_is_cut_and_appends_continue_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let good_end = {
            let log = LogDevice::open(posix(), dir.path()).unwrap();
            log.append(b"first").unwrap();
            let end = log.append(b"second").unwrap();
            log.flush_all().unwrap();
            end
        };
        // Simulate a crash mid-write: a header promising 100 bytes, then only 3; and past it a
        // whole record with a good checksum for its position, as a crash can leave too.
        let seg = segment_path(dir.path(), 0);
        let mut bytes = std::fs::read(&seg).unwrap();
        let at = good_end.0 as usize;
        bytes[at..at + 11].copy_from_slice(&[100, 0, 0, 0, 9, 9, 9, 9, 1, 2, 3]);
        let stale_at = (at + 111) as u64;
        let stale = [&5u32.to_le_bytes()[..], &record_crc(stale_at, b"stale").to_le_bytes(), b"stale"].concat();
        bytes[stale_at as usize..stale_at as usize + stale.len()].copy_from_slice(&stale);
        std::fs::write(&seg, &bytes).unwrap();

        let log = LogDevice::open(posix(), dir.path()).unwrap();
        assert_eq!(log.end_lsn(), good_end);
        let after = std::fs::read(&seg).unwrap();
        assert_eq!(after.len() as u64, SEGMENT_SIZE, "the segment keeps its size");
        assert!(after[at..].iter().all(|&b| b == 0), "everything past the end of the log is zeroed");
        let third = log.append(b"third").unwrap();
        log.flush_to(third).unwrap();
        let got: Vec<Vec<u8>> = records(&log).into_iter().map(|r| r.payload).collect();
        assert_eq!(got, vec![b"first".to_vec(), b"second".to_vec(), b"third".to_vec()]);
    }

    #[test]
    fn a_flush_beyond_the_end_of_the_log_is_an_error_not_a_hang() {
        let dir = tempfile::tempdir().unwrap();
        let log = LogDevice::open(posix(), dir.path()).unwrap();
        let lsn = log.append(b"only").unwrap();
        let err = log.flush_to(Lsn(lsn.0 + 1)).unwrap_err();
        assert!(err.to_string().contains("beyond the end of the log"), "{err}");
        log.flush_to(lsn).unwrap();
    }

    #[test]
    fn a_segment_left_half_initialised_by_a_crash_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let temp = segment_path(dir.path(), 0).with_extension(TEMP_SUFFIX);
        std::fs::write(&temp, [0u8; 4096]).unwrap();
        let log = LogDevice::open_with_segment_size(posix(), dir.path(), 8192).unwrap();
        assert!(!temp.exists());
        // Records fill three small segments, each created whole.
        let last = (0..40).map(|i| log.append(&[i; 500]).unwrap()).last().unwrap();
        log.flush_to(last).unwrap();
        for start in [0, 8192, 16384] {
            assert_eq!(std::fs::metadata(segment_path(dir.path(), start)).unwrap().len(), 8192);
        }
        drop(log);
        let log = LogDevice::open_with_segment_size(posix(), dir.path(), 8192).unwrap();
        assert_eq!(records(&log).len(), 40);
    }

    /// The posix backend without renames, as a third-party backend may be.
    #[derive(Debug)]
    struct NoRename(PosixVfs);

    impl Vfs for NoRename {
        fn name(&self) -> &'static str {
            "no-rename"
        }
        fn open(&self, path: &Path) -> std::io::Result<Arc<dyn FileHandle>> {
            self.0.open(path)
        }
        fn open_existing(&self, path: &Path) -> std::io::Result<Option<Arc<dyn FileHandle>>> {
            self.0.open_existing(path)
        }
        fn remove(&self, path: &Path) -> std::io::Result<()> {
            self.0.remove(path)
        }
        fn list(&self, dir: &Path) -> std::io::Result<Vec<String>> {
            self.0.list(dir)
        }
        fn create_dir_all(&self, dir: &Path) -> std::io::Result<()> {
            self.0.create_dir_all(dir)
        }
        fn sync_dir(&self, dir: &Path) -> std::io::Result<()> {
            self.0.sync_dir(dir)
        }
        fn lock(&self, path: &Path) -> std::io::Result<crate::io::DirLock> {
            self.0.lock(path)
        }
    }

    #[test]
    fn a_backend_without_renames_gets_whole_segments_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let vfs: Arc<dyn Vfs> = Arc::new(NoRename(PosixVfs));
        let log = LogDevice::open_with_segment_size(vfs.clone(), dir.path(), 8192).unwrap();
        let last = (0..40).map(|i| log.append(&[i; 500]).unwrap()).last().unwrap();
        log.flush_to(last).unwrap();
        drop(log);
        let names = vfs.list(dir.path()).unwrap();
        assert_eq!(names.len(), 3, "three whole segments and no temporary file: {names:?}");
        assert_eq!(std::fs::metadata(segment_path(dir.path(), 8192)).unwrap().len(), 8192);
        let log = LogDevice::open_with_segment_size(vfs, dir.path(), 8192).unwrap();
        assert_eq!(records(&log).len(), 40);
    }

    #[test]
    fn corrupt_record_ends_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let end = {
            let log = LogDevice::open(posix(), dir.path()).unwrap();
            log.append(b"aaaa").unwrap();
            let end = log.append(b"bbbb").unwrap();
            log.flush_all().unwrap();
            end
        };
        let seg = segment_path(dir.path(), 0);
        let mut bytes = std::fs::read(&seg).unwrap();
        assert_eq!(bytes.len() as u64, SEGMENT_SIZE, "segments are created whole");
        bytes[end.0 as usize - 1] ^= 0xff;
        std::fs::write(&seg, &bytes).unwrap();
        let log = LogDevice::open(posix(), dir.path()).unwrap();
        assert_eq!(records(&log).len(), 1);
    }

    #[test]
    fn concurrent_appenders_lose_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let log = Arc::new(LogDevice::open(posix(), dir.path()).unwrap());
        let threads: Vec<_> = (0..4u8)
            .map(|t| {
                let log = log.clone();
                std::thread::spawn(move || {
                    for i in 0..50u8 {
                        let lsn = log.append(&[t, i]).unwrap();
                        log.flush_to(lsn).unwrap();
                        assert!(log.durable_lsn() >= lsn);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let mut got: Vec<Vec<u8>> = records(&log).into_iter().map(|r| r.payload).collect();
        got.sort();
        let mut want: Vec<Vec<u8>> = (0..4u8).flat_map(|t| (0..50u8).map(move |i| vec![t, i])).collect();
        want.sort();
        assert_eq!(got, want);
    }

    #[test]
    fn recycled_segments_are_reused_and_their_old_records_never_resurface() {
        let dir = tempfile::tempdir().unwrap();
        let seg = 4096;
        // 128-byte frames: 32 to a segment, so the old records of a recycled file line up exactly
        // with where new ones would start (the case a position-blind checksum gets wrong).
        let payload = |i: u32| vec![(i % 251) as u8; 120];
        let log = LogDevice::open_with_segment_size(posix(), dir.path(), seg).unwrap();
        let lsns: Vec<Lsn> = (0..400).map(|i| log.append(&payload(i)).unwrap()).collect();
        log.flush_all().unwrap();
        let before = list_segments(&PosixVfs, dir.path(), seg).unwrap();
        assert!(before.len() > 12, "{} segments", before.len());
        assert!(log.recycle_before(Lsn(lsns[399].0 + 1)).is_err(), "only durable log can be recycled");
        // The restart point: the end of record 300.
        let restart = lsns[300];
        let freed = log.recycle_before(restart).unwrap();
        assert_eq!(freed as u64, restart.0 / seg);
        let after = list_segments(&PosixVfs, dir.path(), seg).unwrap();
        assert_eq!(after[0], restart.0 - restart.0 % seg, "the segment holding the restart point is kept");
        assert_eq!(after.len(), before.len() - freed + SPARE_SEGMENTS.min(freed), "spares follow the newest");
        // New records go into the recycled files, which are full of old records; the log ends
        // inside one of them.
        let more: Vec<Lsn> = (400..460).map(|i| log.append(&payload(i)).unwrap()).collect();
        let end_segment = more[59].0 - more[59].0 % seg;
        assert!(end_segment > before[before.len() - 1], "the log ends in a recycled file");
        log.flush_all().unwrap();
        drop(log);
        assert!(LogDevice::open_with_segment_size(posix(), dir.path(), seg).is_err(), "the start is gone");
        let log = LogDevice::open_at(posix(), dir.path(), seg, restart).unwrap();
        assert_eq!(log.end_lsn(), more[59]);
        let mut replayed = Vec::new();
        log.replay(restart, |r| {
            replayed.push(r);
            Ok(())
        })
        .unwrap();
        let expected: Vec<Vec<u8>> = (301..460).map(payload).collect();
        assert_eq!(replayed.iter().map(|r| r.payload.clone()).collect::<Vec<_>>(), expected);
        assert_eq!(replayed.last().unwrap().lsn, more[59]);
    }
}
