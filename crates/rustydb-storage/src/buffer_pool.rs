//! The buffer pool: a fixed set of in-memory frames caching pages, with pin counts, per-frame
//! read/write latches and a pluggable eviction policy (CLOCK by default; see [`crate::eviction`]).
//!
//! A page is used through a guard ([`PageReadGuard`], [`PageWriteGuard`]) that pins its frame
//! and holds its latch; dropping the guard unlatches and unpins. A pinned frame is never evicted.
//!
//! Eviction writes a dirty victim only after [`LogDevice::flush_to`] has made the log durable up
//! to the page's LSN: the WAL-before-data rule. Victim selection and its write-out happen under
//! the table lock (the background writer keeps most victims clean); the read of the new page
//! does not. The loader claims the frame, takes its latch exclusively and publishes the page as
//! resident before it lets the table lock go, then reads: a concurrent reader of the same page
//! pins the frame and waits on that frame's latch, and readers of other pages do not wait at all.
//! (With the read under the table lock, every pin in the server queued behind each miss: with
//! four pgbench clients, a third of the CPU time went to spinning on that lock.) A read that
//! fails marks the frame, so a reader that pinned it meanwhile tries again instead of seeing
//! zeros.

use crate::aligned::AlignedBuf;
use crate::disk::DiskManager;
use crate::eviction::{self, EvictionPolicy, PolicyKind};
use crate::log_device::LogDevice;
use crate::page::read;
use crate::page_map::PageMap;
use parking_lot::{Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use rustydb_foundation::metric_names::{
    BUFFER_POOL_EVICTIONS, BUFFER_POOL_HITS, BUFFER_POOL_MISSES, BUFFER_POOL_PAGE_WRITES,
};
use rustydb_foundation::{DbError, FileId, Lsn, PageId, Result, SqlState};
use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

type PageBytes = AlignedBuf;

#[derive(Debug)]
struct Frame {
    data: RwLock<PageBytes>,
    pins: AtomicU32,
    dirty: AtomicBool,
    /// The last read into this frame failed: its contents are not the page.
    failed: AtomicBool,
}

#[derive(Debug)]
struct Table {
    resident: PageMap,
    owner: Vec<Option<PageId>>,
    free: Vec<usize>,
    policy: Box<dyn EvictionPolicy>,
    /// Pins that found their page resident, and those that read it: counted here under the
    /// lock the pin holds anyway, published by [`BufferPool::publish_metrics`] (a metrics call
    /// per pin cost a tenth of a resident B+tree lookup).
    hits: u64,
    misses: u64,
}

/// Caches pages in memory between the heap/index code and the disk manager.
#[derive(Debug)]
pub struct BufferPool {
    disk: Arc<DiskManager>,
    log: Arc<LogDevice>,
    /// Declared before `region`: the frames' buffers are pieces of it.
    frames: Vec<Frame>,
    table: Mutex<Table>,
    /// Where the background writer's next sweep starts.
    sweep_hand: std::sync::atomic::AtomicUsize,
    /// The memory of every frame: one anonymous mapping, so a large pool costs nothing until
    /// its frames are used (the kernel supplies zeroed pages on first touch).
    region: memmap2::MmapMut,
}

/// Shared access to a pinned page.
#[derive(Debug)]
pub struct PageReadGuard<'a> {
    latch: RwLockReadGuard<'a, PageBytes>,
    _pin: Pin<'a>,
}

/// Exclusive access to a pinned page; the page is marked dirty.
#[derive(Debug)]
pub struct PageWriteGuard<'a> {
    latch: RwLockWriteGuard<'a, PageBytes>,
    _pin: Pin<'a>,
}

#[derive(Debug)]
struct Pin<'a> {
    frame: &'a Frame,
}

impl Drop for Pin<'_> {
    fn drop(&mut self) {
        self.frame.pins.fetch_sub(1, Ordering::Release);
    }
}

impl Deref for PageReadGuard<'_> {
    type Target = [u8];
    fn deref(&self) -> &Self::Target {
        &self.latch
    }
}

impl Deref for PageWriteGuard<'_> {
    type Target = [u8];
    fn deref(&self) -> &Self::Target {
        &self.latch
    }
}

impl DerefMut for PageWriteGuard<'_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.latch
    }
}

impl BufferPool {
    /// A pool of `capacity` frames over `disk`, honouring `log` for WAL-before-data, with the
    /// default (CLOCK) eviction policy.
    pub fn new(disk: Arc<DiskManager>, log: Arc<LogDevice>, capacity: usize) -> Self {
        Self::with_policy(disk, log, capacity, PolicyKind::default())
    }

    /// A pool with the chosen eviction policy.
    pub fn with_policy(disk: Arc<DiskManager>, log: Arc<LogDevice>, capacity: usize, policy: PolicyKind) -> Self {
        let capacity = capacity.max(8);
        let page_size = disk.page_size();
        let bytes = capacity.checked_mul(page_size).unwrap_or_else(|| panic!("a pool of {capacity} pages overflows"));
        let mut region = memmap2::MmapMut::map_anon(bytes)
            .unwrap_or_else(|e| panic!("could not map {bytes} bytes for the buffer pool: {e}"));
        // Huge pages where the kernel offers them: a scan touches a new 4 KiB page for every
        // frame it reads, and with small pages nearly every one is a TLB miss; this halved the
        // time to stream a pool's worth of frames in random order here. The mapping is filled
        // as frames are first used (in order, from the free list), so this costs little memory.
        // Without transparent huge pages the advice fails, which is harmless.
        #[cfg(target_os = "linux")]
        let _ = region.advise(memmap2::Advice::HugePage);
        let base = region.as_mut_ptr();
        let frames = (0..capacity)
            .map(|i| {
                // SAFETY: the mapping is page-aligned (so frame `i`, at a multiple of the page
                // size, is `ALIGN`-aligned), zero-filled, and outlives the frames (field
                // order); each frame's piece is its own and only reached through its latch.
                let piece = unsafe { std::ptr::NonNull::new_unchecked(base.add(i * page_size)) };
                Frame {
                    data: RwLock::new(unsafe { AlignedBuf::in_region(piece, page_size) }),
                    pins: AtomicU32::new(0),
                    dirty: AtomicBool::new(false),
                    failed: AtomicBool::new(false),
                }
            })
            .collect();
        let table = Table {
            resident: PageMap::default(),
            owner: vec![None; capacity],
            free: (0..capacity).rev().collect(),
            policy: eviction::build(policy, capacity),
            hits: 0,
            misses: 0,
        };
        BufferPool {
            disk,
            log,
            frames,
            table: Mutex::new(table),
            sweep_hand: std::sync::atomic::AtomicUsize::new(0),
            region,
        }
    }

    /// Pins so far that found their page resident, and that had to read it.
    pub fn hits_and_misses(&self) -> (u64, u64) {
        let table = self.table.lock();
        (table.hits, table.misses)
    }

    /// Publishes the hit and miss counts to the metrics recorder (the background writer does,
    /// on every round; so does a flush).
    pub fn publish_metrics(&self) {
        let (hits, misses) = self.hits_and_misses();
        metrics::counter!(BUFFER_POOL_HITS).absolute(hits);
        metrics::counter!(BUFFER_POOL_MISSES).absolute(misses);
    }

    /// The size of every page.
    pub fn page_size(&self) -> usize {
        self.disk.page_size()
    }

    /// The disk manager beneath the pool.
    pub fn disk(&self) -> &Arc<DiskManager> {
        &self.disk
    }

    /// Hints the processor to start loading page `id`'s bytes if the page is resident (no pin,
    /// no latch, no read from disk). A sequential scan calls this for its next page, which
    /// then arrives from memory while it works through the current one.
    pub fn prefetch(&self, id: PageId) {
        let Some(i) = self.table.lock().resident.get(id) else { return };
        let page_size = self.page_size();
        let start = self.region.as_ptr().wrapping_add(i * page_size);
        #[cfg(target_arch = "x86_64")]
        for offset in (0..page_size).step_by(64) {
            // SAFETY: a prefetch is a hint that never faults and reads nothing the program
            // sees, whatever the address (this one lies in the pool's own mapping).
            unsafe {
                std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(start.wrapping_add(offset).cast())
            };
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = start;
    }

    /// Pins `id` and takes its latch shared.
    pub fn read(&self, id: PageId) -> Result<PageReadGuard<'_>> {
        let mut tries = 0;
        loop {
            let frame = self.pin(id)?;
            let pin = Pin { frame };
            let latch = frame.data.read();
            // A concurrent load of this page failed after we pinned it: load it again.
            if !frame.failed.load(Ordering::Acquire) || tries == 3 {
                return Ok(PageReadGuard { latch, _pin: pin });
            }
            tries += 1;
        }
    }

    /// Pins `id`, takes its latch exclusively and marks it dirty.
    pub fn write(&self, id: PageId) -> Result<PageWriteGuard<'_>> {
        let mut tries = 0;
        loop {
            let frame = self.pin(id)?;
            let pin = Pin { frame };
            let latch = frame.data.write();
            if !frame.failed.load(Ordering::Acquire) || tries == 3 {
                frame.dirty.store(true, Ordering::Release);
                return Ok(PageWriteGuard { latch, _pin: pin });
            }
            tries += 1;
        }
    }

    /// Recovery: puts a full-page image back as page `id` (logged at `lsn`), without reading
    /// what the disk holds, which may be a torn write.
    pub fn restore(&self, id: PageId, image: &[u8], lsn: Lsn) -> Result<()> {
        if image.len() != self.page_size() {
            return Err(DbError::Corruption(format!(
                "full-page image of {id} has {} bytes; pages have {}",
                image.len(),
                self.page_size()
            )));
        }
        let frame = self.pin_with(id, false)?;
        let _pin = Pin { frame };
        let mut data = frame.data.write();
        data.copy_from_slice(image);
        crate::page::Page::new(&mut data).set_lsn(lsn);
        frame.dirty.store(true, Ordering::Release);
        Ok(())
    }

    /// Marks page `id` to be written again as it is, after logging its full image: its next
    /// write goes through its file's current cipher (a key rotation rewrites every page of a
    /// table this way), and a torn write of it can still be repaired. A page never written
    /// stays as it is.
    pub fn rewrite(&self, id: PageId) -> Result<()> {
        if self.read(id)?.iter().all(|&b| b == 0) {
            return Ok(());
        }
        let mut page = self.write(id)?;
        if let Some(lsn) = self.log.append_image(id, &page)? {
            crate::page::Page::new(&mut page).set_lsn(lsn);
        }
        Ok(())
    }

    fn pin(&self, id: PageId) -> Result<&Frame> {
        self.pin_with(id, true)
    }

    /// Pins `id`, reading it from disk if it is not resident and `read` is set (else a page
    /// not resident starts as zeros).
    fn pin_with(&self, id: PageId, read: bool) -> Result<&Frame> {
        let mut table = self.table.lock();
        if let Some(i) = table.resident.get(id) {
            let frame = &self.frames[i];
            frame.pins.fetch_add(1, Ordering::Acquire);
            table.policy.on_hit(i);
            table.hits += 1;
            return Ok(frame);
        }
        table.misses += 1;
        let i = self.choose_frame(&mut table, id)?;
        let frame = &self.frames[i];
        if let Some(old) = table.owner[i] {
            if let Err(e) = self.write_out(old, frame) {
                // The victim stays resident (and dirty); the policy must track it again.
                table.policy.on_load(i, old);
                return Err(e);
            }
            table.owner[i] = None;
            table.resident.remove(old);
            metrics::counter!(BUFFER_POOL_EVICTIONS).increment(1);
        }
        // The frame is unowned and unpinned: nobody else holds its latch. Take it, publish the
        // page, and read without the table lock; pinners of this page wait on the latch.
        let mut data = frame.data.write();
        frame.failed.store(false, Ordering::Release);
        table.owner[i] = Some(id);
        table.resident.insert(id, i);
        table.policy.on_load(i, id);
        frame.pins.store(1, Ordering::Release);
        drop(table);
        let loaded = if read {
            self.disk.read_page(id, &mut data)
        } else {
            data.fill(0);
            Ok(())
        };
        if let Err(e) = loaded {
            data.fill(0);
            frame.failed.store(true, Ordering::Release);
            let mut table = self.table.lock();
            if table.owner[i] == Some(id) {
                table.owner[i] = None;
                table.resident.remove(id);
                // Reusable at once unless a reader pinned it meanwhile; then the policy keeps
                // it and evicts it (ownerless, so without a write) once it is unpinned.
                if frame.pins.load(Ordering::Acquire) == 1 {
                    table.policy.on_discard(i);
                    table.free.push(i);
                }
            }
            drop(data);
            frame.pins.fetch_sub(1, Ordering::Release);
            return Err(e);
        }
        drop(data);
        Ok(frame)
    }

    /// A free frame, or the policy's victim among unpinned ones.
    fn choose_frame(&self, table: &mut Table, incoming: PageId) -> Result<usize> {
        if let Some(i) = table.free.pop() {
            return Ok(i);
        }
        let frames = &self.frames;
        let evictable = |i: usize| frames[i].pins.load(Ordering::Acquire) == 0;
        table.policy.victim(incoming, &evictable).ok_or_else(|| {
            let n = self.frames.len();
            DbError::sql(SqlState::ProgramLimitExceeded, format!("buffer pool exhausted: all {n} pages are pinned"))
        })
    }

    /// Writes a dirty frame after making the log durable to its LSN.
    fn write_out(&self, id: PageId, frame: &Frame) -> Result<()> {
        if !frame.dirty.load(Ordering::Acquire) {
            return Ok(());
        }
        let data = frame.data.read();
        self.log.flush_to(read::lsn(&data))?;
        let mut copy = AlignedBuf::copy_of(&data);
        self.disk.write_page(id, &mut copy)?;
        frame.dirty.store(false, Ordering::Release);
        metrics::counter!(BUFFER_POOL_PAGE_WRITES).increment(1);
        Ok(())
    }

    /// Writes up to `max` dirty, unpinned pages whose log records are already durable, so that
    /// evictions find clean frames; never forces a log flush. Returns how many were written.
    /// Each page is pinned while it is written, so the table lock is not held across I/O.
    pub fn write_some_dirty(&self, max: usize) -> Result<usize> {
        let durable = self.log.durable_lsn();
        let n = self.frames.len();
        let start = self.sweep_hand.fetch_add(max, Ordering::Relaxed) % n;
        let mut written = 0;
        for k in 0..n {
            if written == max {
                break;
            }
            let i = (start + k) % n;
            let frame = &self.frames[i];
            if !frame.dirty.load(Ordering::Acquire) || frame.pins.load(Ordering::Acquire) != 0 {
                continue;
            }
            let Some(id) = self.pin_frame_if_resident(i) else { continue };
            let _pin = Pin { frame };
            let data = frame.data.read();
            if !frame.dirty.load(Ordering::Acquire) || read::lsn(&data) > durable {
                continue;
            }
            let mut copy = AlignedBuf::copy_of(&data);
            self.disk.write_page(id, &mut copy)?;
            frame.dirty.store(false, Ordering::Release);
            metrics::counter!(BUFFER_POOL_PAGE_WRITES).increment(1);
            written += 1;
        }
        Ok(written)
    }

    fn pin_frame_if_resident(&self, i: usize) -> Option<PageId> {
        let table = self.table.lock();
        let id = table.owner[i]?;
        self.frames[i].pins.fetch_add(1, Ordering::Acquire);
        Some(id)
    }

    /// Number of dirty frames (for tests and monitoring).
    pub fn dirty_count(&self) -> usize {
        self.frames.iter().filter(|f| f.dirty.load(Ordering::Acquire)).count()
    }

    /// Writes every dirty page (log first) and fsyncs the data files: a checkpoint's data half.
    ///
    /// The table lock is not held while a page is written: a writer waits for each page's latch,
    /// and a thread holding one latch may be pinning a second page (a heap update does), which
    /// needs the table lock. Each frame is pinned while it is written instead.
    pub fn flush_all(&self) -> Result<()> {
        self.publish_metrics();
        for i in 0..self.frames.len() {
            if !self.frames[i].dirty.load(Ordering::Acquire) {
                continue;
            }
            let Some(id) = self.pin_frame_if_resident(i) else { continue };
            let _pin = Pin { frame: &self.frames[i] };
            self.write_out(id, &self.frames[i])?;
        }
        self.disk.sync_all()
    }

    /// Forgets every cached page of `file` without writing it (the file is being removed).
    /// A frame someone still has pinned stays where it is, marked clean: it is evicted like any
    /// other once unpinned (without a write), and never handed out while in use.
    pub fn discard_file(&self, file: FileId) {
        let mut table = self.table.lock();
        let Table { resident, owner, free, policy, .. } = &mut *table;
        for (i, slot) in owner.iter_mut().enumerate() {
            if !slot.is_some_and(|id| id.file == file) {
                continue;
            }
            let frame = &self.frames[i];
            frame.dirty.store(false, Ordering::Release);
            if frame.pins.load(Ordering::Acquire) != 0 {
                continue;
            }
            if let Some(id) = slot.take() {
                resident.remove(id);
            }
            policy.on_discard(i);
            free.push(i);
        }
    }

    /// Number of frames.
    pub fn capacity(&self) -> usize {
        self.frames.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::page::{KIND_HEAP, Page};
    use rustydb_foundation::Lsn;

    use crate::test_support::log_and_pool as pool;

    const PAGE_SIZE: usize = crate::page::DEFAULT_PAGE_SIZE;

    #[test]
    fn pages_survive_eviction_and_wal_is_flushed_first() {
        let dir = tempfile::tempdir().unwrap();
        let (log, pool) = pool(dir.path(), 8);
        let file = FileId(5);
        let mut last_lsn = Lsn(0);
        for n in 0..40u32 {
            last_lsn = log.append(&n.to_le_bytes()).unwrap();
            let mut g = pool.write(PageId::new(file, n)).unwrap();
            let mut page = Page::new(&mut g);
            page.init(KIND_HEAP);
            page.insert(&n.to_le_bytes()).unwrap();
            page.set_lsn(last_lsn);
        }
        // Every page eviction wrote is covered by the durable log (WAL before data).
        let raw = std::fs::read(dir.path().join("base").join(file.0.to_string())).unwrap();
        assert!(raw.len() >= 30 * PAGE_SIZE, "evictions wrote only {} bytes", raw.len());
        for (n, image) in raw.chunks(PAGE_SIZE).enumerate() {
            assert!(read::lsn(image) <= log.durable_lsn(), "page {n} reached the disk ahead of its log");
        }
        for n in 0..40u32 {
            let g = pool.read(PageId::new(file, n)).unwrap();
            assert_eq!(read::tuple(&g, 0).unwrap(), &n.to_le_bytes()[..]);
        }
        pool.flush_all().unwrap();
        assert_eq!(log.durable_lsn(), last_lsn);
        assert_eq!(pool.disk().page_count(file).unwrap(), 40);
    }

    #[test]
    fn background_writes_only_pages_whose_log_is_durable() {
        let dir = tempfile::tempdir().unwrap();
        let (log, pool) = pool(dir.path(), 16);
        let file = FileId(6);
        let dirty = |n: u32| {
            let lsn = log.append(&n.to_le_bytes()).unwrap();
            let mut g = pool.write(PageId::new(file, n)).unwrap();
            let mut page = Page::new(&mut g);
            page.init(KIND_HEAP);
            page.set_lsn(lsn);
            lsn
        };
        (0..4).for_each(|n| {
            dirty(n);
        });
        assert_eq!(pool.write_some_dirty(100).unwrap(), 0, "nothing is durable in the log yet");
        log.flush_all().unwrap();
        let durable = log.durable_lsn();
        (4..10).for_each(|n| {
            dirty(n);
        });
        assert_eq!(pool.dirty_count(), 10);
        assert_eq!(pool.write_some_dirty(100).unwrap(), 4, "only pages whose log is durable");
        assert_eq!(log.durable_lsn(), durable, "the background writer must not flush the log");
        let pinned = pool.read(PageId::new(file, 9)).unwrap();
        log.flush_all().unwrap();
        assert_eq!(pool.write_some_dirty(100).unwrap(), 5, "the pinned page waits");
        drop(pinned);
        assert_eq!(pool.write_some_dirty(100).unwrap(), 1);
        assert_eq!(pool.dirty_count(), 0);
        assert_eq!(pool.disk().page_count(file).unwrap(), 10);
    }

    #[test]
    fn discarding_a_file_leaves_pinned_frames_alone() {
        let dir = tempfile::tempdir().unwrap();
        let (_log, pool) = pool(dir.path(), 8);
        let (kept, other) = (PageId::new(FileId(7), 0), PageId::new(FileId(7), 1));
        Page::new(&mut pool.write(kept).unwrap()).init(KIND_HEAP);
        Page::new(&mut pool.write(other).unwrap()).init(KIND_HEAP);
        let pinned = pool.read(kept).unwrap();
        pool.discard_file(FileId(7));
        assert_eq!(pool.dirty_count(), 0);
        // Filling the pool must never hand out the pinned frame.
        let guards: Vec<_> = (0..7).map(|n| pool.read(PageId::new(FileId(8), n)).unwrap()).collect();
        assert_eq!(read::kind(&pinned), KIND_HEAP, "a pinned frame was reused");
        drop((guards, pinned));
        pool.flush_all().unwrap();
        assert!(!dir.path().join("base/7").exists(), "a discarded page was written back");
    }

    #[test]
    fn all_pinned_is_an_error_not_a_hang() {
        let dir = tempfile::tempdir().unwrap();
        let (_log, pool) = pool(dir.path(), 8);
        let guards: Vec<_> = (0..8).map(|n| pool.read(PageId::new(FileId(1), n)).unwrap()).collect();
        let err = pool.read(PageId::new(FileId(1), 99)).unwrap_err();
        assert_eq!(err.sqlstate(), SqlState::ProgramLimitExceeded);
        drop(guards);
        assert!(pool.read(PageId::new(FileId(1), 99)).is_ok());
    }

    #[test]
    fn concurrent_misses_never_show_another_page() {
        let dir = tempfile::tempdir().unwrap();
        let (_log, pool) = pool(dir.path(), 8);
        let id = |n: u32| PageId::new(FileId(5), n);
        for n in 0..64u32 {
            let mut g = pool.write(id(n)).unwrap();
            Page::new(&mut g).init(KIND_HEAP);
            g[200..204].copy_from_slice(&n.to_le_bytes());
        }
        pool.flush_all().unwrap();
        // Four threads over eight frames and 64 pages: nearly every pin is a miss, and
        // threads often want the page another is loading.
        std::thread::scope(|s| {
            for t in 0..4u32 {
                let pool = &pool;
                s.spawn(move || {
                    for k in 0..3000u32 {
                        let n = (k * 7 + t * 13) % 64 / if k % 3 == 0 { 8 } else { 1 };
                        let g = pool.read(id(n)).unwrap();
                        assert_eq!(u32::from_le_bytes(g[200..204].try_into().unwrap()), n);
                    }
                });
            }
        });
        let (hits, misses) = pool.hits_and_misses();
        assert!(misses > 1000 && hits > 0, "hits {hits}, misses {misses}");
    }

    #[test]
    fn corrupted_page_on_disk_is_reported_not_returned() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (_log, pool) = pool(dir.path(), 8);
            let mut g = pool.write(PageId::new(FileId(3), 0)).unwrap();
            Page::new(&mut g).init(KIND_HEAP);
            drop(g);
            pool.flush_all().unwrap();
        }
        let path = dir.path().join("base/3");
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[100] ^= 1;
        std::fs::write(&path, bytes).unwrap();
        let (_log, pool) = pool(dir.path(), 8);
        let err = pool.read(PageId::new(FileId(3), 0)).unwrap_err();
        assert_eq!(err.sqlstate(), SqlState::DataCorrupted);
        assert!(err.to_string().contains("base/3 page 0"), "{err}");
    }
}
