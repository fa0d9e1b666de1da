//! Heap files: unordered tuples addressed by `(page, slot)` ([`TupleId`]).
//!
//! Every change takes a `log` closure, called with the page latch held and *before* the page is
//! changed; it returns the LSN of the log record describing the change, which becomes the
//! page's LSN. If logging fails nothing is changed. Recovery replays the same changes through
//! the `redo_*` methods, which apply a record only if the page has not seen it yet
//! (page LSN < record LSN), so replay is idempotent.
//!
//! Space: a new tuple goes to the last page if it fits, else to a page the free-space map knows
//! has room (pages enter the map when [`HeapFile::remove`] frees space in them), else to a new
//! page. The map lives in memory: after a restart, space freed earlier is found again when
//! vacuum next visits the page.

use crate::buffer_pool::BufferPool;
use crate::page::{KIND_HEAP, MAX_TUPLE, Page, read};
use parking_lot::Mutex;
use rustydb_foundation::{DbError, FileId, Lsn, PageId, Result, SqlState, TupleId};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Pages with less reclaimable space than this leave the free-space map.
const FSM_MIN_FREE: usize = 64;
use std::sync::atomic::{AtomicU32, Ordering};

/// A table's tuples in one data file.
#[derive(Debug)]
pub struct HeapFile {
    file: FileId,
    pool: Arc<BufferPool>,
    /// Logical page count, including pages so far only in the buffer pool.
    pages: AtomicU32,
    /// Serialises the choice of insertion page.
    insert_lock: Mutex<()>,
    /// Pages known to have reclaimable space, with that space (approximate, rechecked under the
    /// page latch).
    free_space: Mutex<BTreeMap<u32, usize>>,
    /// Bytes new pages keep free at their end for the file's page cipher.
    cipher_tail: usize,
}

impl HeapFile {
    /// Opens the heap stored in `file` (empty if the file does not exist yet).
    pub fn open(pool: Arc<BufferPool>, file: FileId) -> Result<Self> {
        let pages = pool.disk().page_count(file)?;
        let cipher_tail = pool.disk().cipher(file).reserved_bytes();
        Ok(HeapFile {
            cipher_tail,
            file,
            pool,
            pages: AtomicU32::new(pages),
            insert_lock: Mutex::new(()),
            free_space: Mutex::new(BTreeMap::new()),
        })
    }

    /// The data file.
    pub fn file(&self) -> FileId {
        self.file
    }

    /// Number of pages.
    pub fn page_count(&self) -> u32 {
        self.pages.load(Ordering::Acquire)
    }

    /// Inserts `tuple`, logging through `log(tid)` first, and returns its address.
    pub fn insert(&self, tuple: &[u8], log: impl FnOnce(TupleId) -> Result<Lsn>) -> Result<TupleId> {
        let max = MAX_TUPLE - self.cipher_tail;
        if tuple.len() > max {
            return Err(DbError::sql(
                SqlState::ProgramLimitExceeded,
                format!("row is too big: size {}, maximum size {max}", tuple.len()),
            ));
        }
        let _choosing = self.insert_lock.lock();
        let number = self.choose_page(tuple.len())?;
        let id = PageId::new(self.file, number);
        let mut guard = self.pool.write(id)?;
        let mut page = Page::new(&mut guard);
        if read::kind(page.bytes()) == 0 {
            page.init_reserving(KIND_HEAP, self.cipher_tail);
        }
        // Checked before logging: a logged insert that did not fit would fail again at redo.
        if !page.fits(tuple.len()) {
            return Err(DbError::Internal(format!("tuple no longer fits on page {id}")));
        }
        let tid = TupleId { page: id, slot: page.insertion_slot() };
        let lsn = log(tid)?;
        if !page.insert_at(tid.slot, tuple) {
            return Err(DbError::Internal(format!("tuple no longer fits on page {id}")));
        }
        page.set_lsn(lsn);
        self.note_free_space(number, page.reclaimable_space());
        Ok(tid)
    }

    /// The page a tuple of `len` bytes goes to: the last page, a page from the free-space map,
    /// or a new page.
    fn choose_page(&self, len: usize) -> Result<u32> {
        if let Some(last) = self.page_count().checked_sub(1)
            && self.page_fits(last, len)?
        {
            return Ok(last);
        }
        let candidates: Vec<u32> =
            self.free_space.lock().iter().filter(|(_, free)| **free >= len + 4).map(|(p, _)| *p).collect();
        for number in candidates {
            if self.page_fits(number, len)? {
                return Ok(number);
            }
        }
        Ok(self.pages.fetch_add(1, Ordering::AcqRel))
    }

    fn note_free_space(&self, number: u32, free: usize) {
        let mut map = self.free_space.lock();
        if free >= FSM_MIN_FREE {
            map.insert(number, free);
        } else {
            map.remove(&number);
        }
    }

    /// Whether a tuple fits on page `number`: a probe under the shared latch, so it neither
    /// blocks readers nor dirties the page (the insert rechecks under the exclusive latch).
    fn page_fits(&self, number: u32, len: usize) -> Result<bool> {
        let guard = self.pool.read(PageId::new(self.file, number))?;
        let fits = read::fits(&guard, len);
        if !fits {
            self.note_free_space(number, read::reclaimable_space(&guard));
        }
        Ok(fits)
    }

    /// Recovery: true if the page already has the change logged at `lsn`. Read under the shared
    /// latch so that skipped records do not dirty pages (a page dirtied for nothing would be
    /// written back with whatever LSN it carries).
    fn redo_done(&self, page: PageId, lsn: Lsn) -> Result<bool> {
        self.pages.fetch_max(page.number + 1, Ordering::AcqRel);
        let guard = self.pool.read(page)?;
        Ok(read::lsn(&guard) >= lsn)
    }

    /// Physically removes the tuple at `tid` (vacuum's job: no snapshot may still see it),
    /// logging first. Its slot and space become reusable. Returns false if the slot was empty.
    pub fn remove(&self, tid: TupleId, log: impl FnOnce() -> Result<Lsn>) -> Result<bool> {
        let mut guard = self.pool.write(tid.page)?;
        let mut page = Page::new(&mut guard);
        if page.tuple_mut(tid.slot).is_none() {
            return Ok(false);
        }
        let lsn = log()?;
        page.remove(tid.slot);
        page.set_lsn(lsn);
        self.note_free_space(tid.page.number, page.reclaimable_space());
        Ok(true)
    }

    /// Recovery: re-applies a removal logged at `lsn` unless the page already has it.
    pub fn redo_remove(&self, tid: TupleId, lsn: Lsn) -> Result<()> {
        if self.redo_done(tid.page, lsn)? {
            return Ok(());
        }
        let mut guard = self.pool.write(tid.page)?;
        let mut page = Page::new(&mut guard);
        page.remove(tid.slot);
        page.set_lsn(lsn);
        self.note_free_space(tid.page.number, page.reclaimable_space());
        Ok(())
    }

    /// Overwrites `bytes` at `offset` within the tuple at `tid` (same length), logging first.
    /// `check` sees the current tuple under the page latch and decides atomically: `Ok(true)`
    /// applies the change, `Ok(false)` leaves the tuple alone, an error refuses it (this is where
    /// a transaction detects a concurrent writer). Returns whether the change was applied.
    pub fn patch(
        &self,
        tid: TupleId,
        offset: usize,
        bytes: &[u8],
        check: impl FnOnce(&[u8]) -> Result<bool>,
        log: impl FnOnce() -> Result<Lsn>,
    ) -> Result<bool> {
        let mut guard = self.pool.write(tid.page)?;
        let mut page = Page::new(&mut guard);
        if !check(page.tuple_mut(tid.slot).ok_or_else(|| DbError::Internal(format!("no tuple at {tid}")))?)? {
            return Ok(false);
        }
        tuple_range(&mut page, tid, offset, bytes.len())?;
        let lsn = log()?;
        tuple_range(&mut page, tid, offset, bytes.len())?.copy_from_slice(bytes);
        page.set_lsn(lsn);
        Ok(true)
    }

    /// A copy of the tuple at `tid`, or `None` if there is none.
    pub fn get(&self, tid: TupleId) -> Result<Option<Vec<u8>>> {
        if tid.page.file != self.file || tid.page.number >= self.page_count() {
            return Ok(None);
        }
        let guard = self.pool.read(tid.page)?;
        Ok(read::tuple(&guard, tid.slot).map(<[u8]>::to_vec))
    }

    /// Copies of every tuple on page `number`, in slot order.
    pub fn scan_page(&self, number: u32) -> Result<Vec<(TupleId, Vec<u8>)>> {
        let id = PageId::new(self.file, number);
        let guard = self.pool.read(id)?;
        let slots = read::slot_count(&guard);
        Ok((0..slots)
            .filter_map(|slot| read::tuple(&guard, slot).map(|t| (TupleId { page: id, slot }, t.to_vec())))
            .collect())
    }

    /// Recovery: re-applies an insert logged at `lsn` unless the page already has it.
    pub fn redo_insert(&self, tid: TupleId, tuple: &[u8], lsn: Lsn) -> Result<()> {
        if self.redo_done(tid.page, lsn)? {
            return Ok(());
        }
        let mut guard = self.pool.write(tid.page)?;
        let mut page = Page::new(&mut guard);
        if read::kind(page.bytes()) == 0 {
            page.init_reserving(KIND_HEAP, self.cipher_tail);
        }
        if !page.insert_at(tid.slot, tuple) {
            return Err(DbError::Corruption(format!("redo of insert at {tid} does not fit the page")));
        }
        page.set_lsn(lsn);
        Ok(())
    }

    /// Recovery: re-applies a patch logged at `lsn` unless the page already has it.
    pub fn redo_patch(&self, tid: TupleId, offset: usize, bytes: &[u8], lsn: Lsn) -> Result<()> {
        if self.redo_done(tid.page, lsn)? {
            return Ok(());
        }
        let mut guard = self.pool.write(tid.page)?;
        let mut page = Page::new(&mut guard);
        tuple_range(&mut page, tid, offset, bytes.len())?.copy_from_slice(bytes);
        page.set_lsn(lsn);
        Ok(())
    }
}

fn tuple_range<'p>(page: &'p mut Page<'_>, tid: TupleId, offset: usize, len: usize) -> Result<&'p mut [u8]> {
    let tuple = page.tuple_mut(tid.slot).ok_or_else(|| DbError::Internal(format!("no tuple at {tid}")))?;
    tuple.get_mut(offset..offset + len).ok_or_else(|| DbError::Internal(format!("patch beyond tuple {tid}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LogDevice;

    use crate::test_support::log_and_pool;

    fn setup(dir: &std::path::Path) -> (Arc<LogDevice>, Arc<BufferPool>) {
        log_and_pool(dir, 16)
    }

    fn all(heap: &HeapFile) -> Vec<Vec<u8>> {
        (0..heap.page_count()).flat_map(|n| heap.scan_page(n).unwrap()).map(|(_, t)| t).collect()
    }

    #[test]
    fn insert_scan_patch_and_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let tids: Vec<TupleId>;
        {
            let (log, pool) = setup(dir.path());
            let heap = HeapFile::open(pool.clone(), FileId(9)).unwrap();
            tids = (0..500u32).map(|i| heap.insert(&[i as u8; 50], |_| log.append(b"x")).unwrap()).collect();
            assert!(heap.page_count() > 1);
            heap.patch(tids[7], 0, &[0xAB, 0xCD], |_| Ok(true), || log.append(b"p")).unwrap();
            pool.flush_all().unwrap();
        }
        let (_log, pool) = setup(dir.path());
        let heap = HeapFile::open(pool, FileId(9)).unwrap();
        let rows = all(&heap);
        assert_eq!(rows.len(), 500);
        assert_eq!(&heap.get(tids[7]).unwrap().unwrap()[..3], &[0xAB, 0xCD, 7]);
        assert_eq!(heap.get(tids[499]).unwrap().unwrap(), vec![(499 % 256) as u8; 50]);
    }

    #[test]
    fn failed_logging_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (_log, pool) = setup(dir.path());
        let heap = HeapFile::open(pool, FileId(2)).unwrap();
        let err = heap.insert(b"row", |_| Err(DbError::WritesStopped("test".into())));
        assert!(err.is_err());
        assert!(all(&heap).is_empty());
    }

    #[test]
    fn redo_is_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let (_log, pool) = setup(dir.path());
        let heap = HeapFile::open(pool, FileId(4)).unwrap();
        let tid = TupleId { page: PageId::new(FileId(4), 0), slot: 0 };
        heap.redo_insert(tid, b"abc", Lsn(10)).unwrap();
        heap.redo_insert(tid, b"abc", Lsn(10)).unwrap();
        heap.redo_patch(tid, 1, b"Z", Lsn(20)).unwrap();
        heap.redo_patch(tid, 1, b"Q", Lsn(15)).unwrap();
        assert_eq!(all(&heap), vec![b"aZc".to_vec()]);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(usize, u8),
        Remove(usize),
        Reopen,
    }

    fn op() -> impl proptest::strategy::Strategy<Value = Op> {
        use proptest::prelude::*;
        prop_oneof![
            6 => (1usize..3000, any::<u8>()).prop_map(|(len, b)| Op::Insert(len, b)),
            3 => any::<usize>().prop_map(Op::Remove),
            1 => Just(Op::Reopen),
        ]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]
        /// Random inserts and removals against a model, through an 8-frame pool (constant
        /// eviction), across clean close and reopen: every tuple reads back, scans see exactly
        /// the model, and freed space is reused.
        #[test]
        fn heap_matches_a_model_across_eviction_and_reopen(ops in proptest::collection::vec(op(), 1..120)) {
            use std::collections::HashMap;
            let dir = tempfile::tempdir().unwrap();
            let file = FileId(11);
            let (mut log, mut pool) = setup_small(dir.path());
            let mut heap = HeapFile::open(pool.clone(), file).unwrap();
            let mut model: HashMap<TupleId, Vec<u8>> = HashMap::new();
            for op in ops {
                match op {
                    Op::Insert(len, b) => {
                        let tuple = vec![b; len];
                        let tid = heap.insert(&tuple, |_| log.append(b"i")).unwrap();
                        proptest::prop_assert!(model.insert(tid, tuple).is_none(), "address {} handed out twice", tid);
                    }
                    Op::Remove(pick) => {
                        let mut keys: Vec<TupleId> = model.keys().copied().collect();
                        keys.sort();
                        if let Some(&tid) = keys.get(pick % keys.len().max(1)) {
                            proptest::prop_assert!(heap.remove(tid, || log.append(b"r")).unwrap());
                            model.remove(&tid);
                            proptest::prop_assert!(!heap.remove(tid, || log.append(b"r")).unwrap());
                        }
                    }
                    Op::Reopen => {
                        pool.flush_all().unwrap();
                        drop(heap);
                        drop(pool);
                        drop(log);
                        (log, pool) = setup_small(dir.path());
                        heap = HeapFile::open(pool.clone(), file).unwrap();
                    }
                }
                let mut scanned: HashMap<TupleId, Vec<u8>> = HashMap::new();
                for n in 0..heap.page_count() {
                    scanned.extend(heap.scan_page(n).unwrap());
                }
                proptest::prop_assert_eq!(&scanned, &model);
            }
            for (tid, tuple) in &model {
                let got = heap.get(*tid).unwrap();
                proptest::prop_assert_eq!(got.as_ref(), Some(tuple));
            }
        }
    }

    fn setup_small(dir: &std::path::Path) -> (Arc<LogDevice>, Arc<BufferPool>) {
        log_and_pool(dir, 8)
    }

    #[test]
    fn freed_space_is_reused_before_the_heap_grows() {
        let dir = tempfile::tempdir().unwrap();
        let (log, pool) = setup(dir.path());
        let heap = HeapFile::open(pool, FileId(12)).unwrap();
        let tids: Vec<TupleId> = (0..40).map(|_| heap.insert(&[1; 1000], |_| log.append(b"x")).unwrap()).collect();
        let pages = heap.page_count();
        for tid in tids.iter().step_by(2) {
            heap.remove(*tid, || log.append(b"r")).unwrap();
        }
        for _ in 0..20 {
            heap.insert(&[2; 1000], |_| log.append(b"x")).unwrap();
        }
        assert_eq!(heap.page_count(), pages, "inserts went to new pages instead of freed space");
    }

    #[test]
    fn oversized_tuple_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let (log, pool) = setup(dir.path());
        let heap = HeapFile::open(pool, FileId(2)).unwrap();
        let err = heap.insert(&vec![0; 9000], |_| log.append(b"x")).unwrap_err();
        assert_eq!(err.sqlstate(), SqlState::ProgramLimitExceeded);
    }
}
