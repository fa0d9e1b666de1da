//! Heap files: unordered tuples addressed by `(page, slot)` ([`TupleId`]).
//!
//! ## Storing a tuple
//! A tuple is kept as a *head piece* in its slot (see [`piece`] for the bytes). Small tuples are
//! stored whole. A tuple of at least [`HeapFile::compress_threshold`] bytes has everything after
//! its first [`PREFIX`] bytes compressed with the table's [`Compression`] method when that makes
//! it smaller; one whose head would still exceed a quarter of a page keeps only its prefix and a
//! pointer in the head and moves the rest into *chunks* — full-page pieces linked in a chain
//! (PostgreSQL's TOAST, kept in the same file). Values of up to [`MAX_TUPLE_BYTES`] fit.
//!
//! ## Changing a tuple
//! - [`HeapFile::patch`] overwrites bytes of the prefix in place (a transaction's xmax).
//! - [`HeapFile::update`] replaces a tuple, keeping its address: in place if the new head fits
//!   its page, otherwise the head moves to another page and the slot keeps a *forward pointer*
//!   to it (never more than one hop: a second move re-points the origin).
//! - [`HeapFile::remove`] frees the slot, its moved head and its chunks (vacuum's job).
//!
//! ## Logging
//! Every page change is described by a [`HeapChange`] passed to the caller's `log` closure while
//! the page latch is held and before the page changes; the returned LSN becomes the page's LSN.
//! If logging fails the page is unchanged. A change touches one slot of one page, and recovery
//! re-applies it with [`HeapFile::redo`] only where the page LSN shows it missing — redo never
//! reads another page, so it is correct whatever state other pages were flushed in. A change
//! spanning pages (a chained insert, a move) is several records, ordered so that a crash between
//! them leaves at worst unreachable pieces (chunks without a head, a moved head nobody points
//! to), never a pointer to nothing; scans skip such pieces.
//!
//! ## Concurrency
//! The *structure lock* serialises everything that places, moves or frees pieces (insert,
//! update, remove), and patches of moved tuples; reads and patches of tuples at home do not
//! take it. Page latches are held one at a time, except that an update holding its tuple's page
//! may latch one other page of the same heap — safe because only updates nest and they are
//! serialised. A patch of a tuple at home is atomic under that page's latch, which an update
//! holds from its check to its switch; a moved tuple's head is on another page, so its patch
//! takes the structure lock, lest an update check the old head, the patch change it, and the
//! update then free it with the change. Readers follow pointers after
//! letting go of the page that held them and check what they find (a chunk's value id, a moved
//! head's origin); a mismatch means the tuple changed meanwhile, and the read starts over.
//!
//! ## Space
//! A new piece goes to the last page if it fits, else to a page the free-space map knows has
//! room, else to a new page. The map lives in memory: after a restart, space freed earlier is
//! found again when vacuum next visits the page.

mod change;
mod compression;
mod free_space;
pub mod piece;

pub use change::HeapChange;
pub use compression::Compression;
pub use piece::PREFIX;

use crate::arena::TupleArena;
use crate::buffer_pool::BufferPool;
use crate::page::{KIND_HEAP, Page, max_tuple, read};
use parking_lot::Mutex;
use piece::{Addr, External, HeadForm, Piece, Rest};
use rustydb_foundation::{DbError, FileId, Lsn, PageId, Result, SqlState, TupleId};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU32, AtomicU64, Ordering};

/// Pages with less reclaimable space than this leave the free-space map.
const FSM_MIN_FREE: usize = 64;
/// The largest tuple a heap stores (PostgreSQL's limit for one field).
pub const MAX_TUPLE_BYTES: usize = 1 << 30;
/// The shortest tuple a heap stores: its head is then never shorter than a forward pointer,
/// so an update can always leave one behind, however full the page. (A transaction's tuples
/// start with a 16-byte header, so this costs nothing in practice.)
pub const MIN_TUPLE_BYTES: usize = piece::FORWARD_LEN - 1;
/// How often a read starts over because the tuple changed under it before giving up.
const READ_RETRIES: usize = 1000;

/// A table's tuples in one data file.
#[derive(Debug)]
pub struct HeapFile {
    file: FileId,
    pool: Arc<BufferPool>,
    /// Logical page count, including pages so far only in the buffer pool.
    pages: AtomicU32,
    /// Serialises placing, moving and freeing pieces.
    structure: Mutex<()>,
    /// Pages known to have reclaimable space, with that space (approximate, rechecked under the
    /// page latch).
    free_space: Mutex<free_space::FreeSpaceMap>,
    /// Bytes new pages keep free at their end for the file's page cipher.
    cipher_tail: usize,
    /// The table's compression method (its [`Compression::code`]).
    compression: AtomicU8,
    /// Tests: runs inside a patch between reading the tuple's address and latching its head.
    #[cfg(test)]
    patch_pause: Mutex<Hook>,
}

/// A function tests run at a chosen point.
#[cfg(test)]
#[derive(Clone, Default)]
struct Hook(Option<Arc<dyn Fn() + Send + Sync>>);

#[cfg(test)]
impl std::fmt::Debug for Hook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "Hook(set)" } else { "Hook(none)" })
    }
}

/// What reading a tuple found.
enum Found {
    Tuple(Vec<u8>),
    Nothing,
    /// The tuple changed while it was being read: read again.
    Changed,
}

/// What an update made unreachable: the old tuple's moved head and chunks.
struct OldPieces {
    moved_head: Option<Addr>,
    external: Option<External>,
}

/// A tuple made ready to store: its head's form, chunks already written if external.
struct Prepared<'t> {
    tuple: &'t [u8],
    form: HeadForm,
}

impl Prepared<'_> {
    fn head(&self, origin: Option<Addr>) -> Vec<u8> {
        piece::encode_head(self.tuple, &self.form, origin)
    }
    fn external(&self) -> Option<External> {
        match &self.form {
            HeadForm::External(e) => Some(*e),
            _ => None,
        }
    }
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
            structure: Mutex::new(()),
            free_space: Mutex::new(free_space::FreeSpaceMap::default()),
            compression: AtomicU8::new(Compression::default().code()),
            #[cfg(test)]
            patch_pause: Mutex::new(Hook::default()),
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

    /// How tuples stored from now on are compressed (those stored earlier keep their form).
    pub fn set_compression(&self, method: Compression) {
        self.compression.store(method.code(), Ordering::Release);
    }

    /// The table's compression method.
    pub fn compression(&self) -> Compression {
        Compression::from_code(self.compression.load(Ordering::Acquire)).unwrap_or_default()
    }

    /// The largest piece a page of this heap takes.
    fn max_piece(&self) -> usize {
        max_tuple(self.pool.page_size()) - self.cipher_tail
    }

    /// Heads longer than this move the tuple's rest into chunks: a quarter of a page, as
    /// PostgreSQL's TOAST_TUPLE_THRESHOLD, so that at least four tuples share a page.
    pub fn inline_limit(&self) -> usize {
        (self.pool.page_size() / 4).min(self.max_piece() - 1 - piece::ADDR_LEN)
    }

    /// Tuples at least this long are offered to the table's compression method.
    pub fn compress_threshold(&self) -> usize {
        self.inline_limit() / 2
    }

    fn tid(&self, (number, slot): Addr) -> TupleId {
        TupleId { page: PageId::new(self.file, number), slot }
    }

    /// Inserts `tuple` and returns its address, logging every page change through `log` first.
    pub fn insert(&self, tuple: &[u8], mut log: impl FnMut(&HeapChange<'_>, &[u8]) -> Result<Lsn>) -> Result<TupleId> {
        let _structure = self.structure.lock();
        let prepared = self.prepare(tuple, &mut log)?;
        let head = prepared.head(None);
        let placed = self.place(&head, None, &mut log);
        if placed.is_err()
            && let Some(e) = prepared.external()
        {
            // Best effort; chunks a failed free leaves are unreachable, and vacuum's.
            let _ = self.free_chunks(e, &mut log);
        }
        placed
    }

    /// Encodes `tuple` for storage; an external one has its chunks written (last first, so each
    /// can name its successor).
    fn prepare<'t>(
        &self,
        tuple: &'t [u8],
        log: &mut impl FnMut(&HeapChange<'_>, &[u8]) -> Result<Lsn>,
    ) -> Result<Prepared<'t>> {
        if tuple.len() < MIN_TUPLE_BYTES {
            return Err(DbError::Internal(format!(
                "a tuple of {} bytes is shorter than the heap's minimum of {MIN_TUPLE_BYTES}",
                tuple.len()
            )));
        }
        if tuple.len() > MAX_TUPLE_BYTES {
            return Err(DbError::sql(
                SqlState::ProgramLimitExceeded,
                format!("row is too big: size {}, maximum size {MAX_TUPLE_BYTES}", tuple.len()),
            ));
        }
        let limit = self.inline_limit();
        if tuple.len() < self.compress_threshold() && piece::head_len(tuple.len(), &HeadForm::Inline, false) <= limit {
            return Ok(Prepared { tuple, form: HeadForm::Inline });
        }
        let split = tuple.len().min(PREFIX);
        let method = self.compression();
        let compressed = method.compress(&tuple[split..])?;
        if let Some(data) = &compressed {
            let form = HeadForm::Compressed { method, data: data.clone() };
            if piece::head_len(tuple.len(), &form, false) <= limit {
                return Ok(Prepared { tuple, form });
            }
        } else if piece::head_len(tuple.len(), &HeadForm::Inline, false) <= limit {
            return Ok(Prepared { tuple, form: HeadForm::Inline });
        }
        let (method, stored) = match &compressed {
            Some(data) => (method, &data[..]),
            None => (Compression::None, &tuple[split..]),
        };
        let value_id = next_value_id();
        let chunk_size = self.max_piece() - piece::CHUNK_HEADER;
        let mut next: Option<Addr> = None;
        let pieces: Vec<&[u8]> = stored.chunks(chunk_size).collect();
        for data in pieces.iter().rev() {
            let chunk = piece::encode_chunk(value_id, next, data);
            match self.place(&chunk, None, log) {
                Ok(tid) => next = Some((tid.page.number, tid.slot)),
                Err(e) => {
                    // Best effort: the chunks placed so far are reachable from nowhere.
                    if let Some(first) = next {
                        let placed = External { method, len: 0, stored_len: 0, value_id, first };
                        let _ = self.free_chunks(placed, log);
                    }
                    return Err(e);
                }
            }
        }
        let first = next.ok_or_else(|| DbError::Internal("external value without chunks".into()))?;
        let external = External { method, len: tuple.len() - split, stored_len: stored.len(), value_id, first };
        Ok(Prepared { tuple, form: HeadForm::External(external) })
    }

    /// Stores `piece` in a new slot — on a page other than `avoid` (whose latch the caller
    /// holds) — logging first.
    fn place(
        &self,
        piece: &[u8],
        avoid: Option<u32>,
        log: &mut impl FnMut(&HeapChange<'_>, &[u8]) -> Result<Lsn>,
    ) -> Result<TupleId> {
        let number = self.choose_page(piece.len(), avoid)?;
        let id = PageId::new(self.file, number);
        let mut guard = self.pool.write(id)?;
        let mut page = Page::new(&mut guard);
        if read::kind(page.bytes()) == 0 {
            page.init_reserving(KIND_HEAP, self.cipher_tail);
        }
        // Checked before logging: a logged insert that did not fit would fail again at redo.
        if !page.fits(piece.len()) {
            return Err(DbError::Internal(format!("piece no longer fits on page {id}")));
        }
        let tid = TupleId { page: id, slot: page.insertion_slot() };
        let lsn = log(&HeapChange::Put { tid, piece }, page.bytes())?;
        if !page.insert_at(tid.slot, piece) {
            return Err(DbError::Internal(format!("piece no longer fits on page {id}")));
        }
        page.set_lsn(lsn);
        self.note_free_space(number, page.reclaimable_space());
        Ok(tid)
    }

    /// The page a piece of `len` bytes goes to: the last page, a page from the free-space map,
    /// or a new page; never `avoid`.
    fn choose_page(&self, len: usize, avoid: Option<u32>) -> Result<u32> {
        if let Some(last) = self.page_count().checked_sub(1)
            && Some(last) != avoid
            && self.page_fits(last, len)?
        {
            return Ok(last);
        }
        // A few candidates at a time: the map lock is not held while a page is read.
        const BATCH: usize = 8;
        let mut after = None;
        loop {
            let batch = self.free_space.lock().candidates(len + 4, after, avoid, BATCH);
            for &(_, number) in &batch {
                if self.page_fits(number, len)? {
                    return Ok(number);
                }
            }
            if batch.len() < BATCH {
                return Ok(self.pages.fetch_add(1, Ordering::AcqRel));
            }
            after = batch.last().copied();
        }
    }

    fn note_free_space(&self, number: u32, free: usize) {
        let mut map = self.free_space.lock();
        if free >= FSM_MIN_FREE {
            map.insert(number, free);
        } else {
            map.remove(number);
        }
    }

    /// Whether a piece fits on page `number`: a probe under the shared latch, so it neither
    /// blocks readers nor dirties the page (the insert rechecks under the exclusive latch).
    fn page_fits(&self, number: u32, len: usize) -> Result<bool> {
        let guard = self.pool.read(PageId::new(self.file, number))?;
        let fits = read::fits(&guard, len);
        if !fits {
            self.note_free_space(number, read::reclaimable_space(&guard));
        }
        Ok(fits)
    }

    /// Replaces the tuple at `tid` by `tuple`, keeping its address. `check` sees the current
    /// tuple's prefix (its first [`PREFIX`] bytes, or all of it if shorter) under the page latch
    /// and decides: `Ok(true)` replaces, `Ok(false)` leaves it alone, an error refuses. Returns
    /// whether it was replaced; an address holding no tuple is an error.
    ///
    /// Whatever happens, nothing stays behind: if the update is refused or fails before the
    /// tuple's slot is switched, the new tuple's chunks (and a moved head) are freed again.
    pub fn update(
        &self,
        tid: TupleId,
        tuple: &[u8],
        check: impl FnOnce(&[u8]) -> Result<bool>,
        mut log: impl FnMut(&HeapChange<'_>, &[u8]) -> Result<Lsn>,
    ) -> Result<bool> {
        let _structure = self.structure.lock();
        let prepared = self.prepare(tuple, &mut log)?;
        let old = match self.switch(tid, &prepared, check, &mut log) {
            Ok(Some(old)) => old,
            outcome => {
                // Refused or failed: the new tuple's chunks are reachable from nowhere.
                if let Some(e) = prepared.external() {
                    let freed = self.free_chunks(e, &mut log);
                    // After a failure the first error is the one to report; chunks a failed
                    // free leaves are unreachable, as after a crash, and vacuum's to reclaim.
                    if outcome.is_ok() {
                        freed?;
                    }
                }
                return outcome.map(|_| false);
            }
        };
        // The old pieces are unreachable now. The update has happened whatever follows, so
        // freeing them is best effort: pieces a failure leaves (the log has stopped accepting
        // writes) are unreachable, as after a crash, and vacuum's to reclaim.
        if let Some(target) = old.moved_head {
            let _ = self.free_slot(self.tid(target), &mut log);
        }
        if let Some(e) = old.external {
            let _ = self.free_chunks(e, &mut log);
        }
        Ok(true)
    }

    /// The heart of [`HeapFile::update`]: checks the current tuple and points `tid` at the
    /// prepared one — in place, or on another page behind a forward pointer. Returns the old
    /// tuple's pieces that became unreachable, or `None` if `check` said no.
    ///
    /// Holds the tuple's page latch throughout and latches at most one other page at a time
    /// (the moved head's): safe because everything else that nests latches or touches a moved
    /// head holds the structure lock too.
    fn switch(
        &self,
        tid: TupleId,
        prepared: &Prepared<'_>,
        check: impl FnOnce(&[u8]) -> Result<bool>,
        log: &mut impl FnMut(&HeapChange<'_>, &[u8]) -> Result<Lsn>,
    ) -> Result<Option<OldPieces>> {
        let mut guard = self.pool.write(tid.page)?;
        let stored = read::tuple(&guard, tid.slot).ok_or_else(|| no_tuple(tid))?.to_vec();
        // Where the current head is: here, or moved to `moved_head`.
        let (current, moved_head) = match piece::decode(&stored)? {
            Piece::Forward { target } => {
                if target.0 == tid.page.number {
                    return Err(dangling(tid, target));
                }
                let target_guard = self.pool.read(self.tid(target).page)?;
                let moved = read::tuple(&target_guard, target.1).map(<[u8]>::to_vec);
                (moved.ok_or_else(|| dangling(tid, target))?, Some(target))
            }
            Piece::Head { origin: None, .. } => (stored, None),
            _ => return Err(no_tuple(tid)),
        };
        let Piece::Head { origin, prefix, rest } = piece::decode(&current)? else {
            return Err(dangling(tid, moved_head.unwrap_or((0, 0))));
        };
        if moved_head.is_some() && origin != Some((tid.page.number, tid.slot)) {
            return Err(DbError::Corruption(format!("the moved tuple of {tid} names another origin")));
        }
        if !check(&prefix[..prefix.len().min(PREFIX)])? {
            return Ok(None);
        }
        let old = OldPieces { moved_head, external: external_of(&rest) };
        let head = prepared.head(None);
        let mut page = Page::new(&mut guard);
        if read::fits_replacing(page.bytes(), tid.slot, head.len()) {
            let lsn = log(&HeapChange::Replace { tid, piece: &head }, page.bytes())?;
            page.replace(tid.slot, &head);
            page.set_lsn(lsn);
        } else {
            // Every stored head is at least as long as a forward pointer (see MIN_TUPLE_BYTES),
            // so the pointer always fits where the head was; checked before anything is placed.
            if !read::fits_replacing(page.bytes(), tid.slot, piece::FORWARD_LEN) {
                return Err(DbError::Internal(format!("no room for a forward pointer at {tid}")));
            }
            let moved = prepared.head(Some((tid.page.number, tid.slot)));
            let target = self.place(&moved, Some(tid.page.number), log)?;
            let forward = piece::encode_forward((target.page.number, target.slot));
            let lsn = match log(&HeapChange::Replace { tid, piece: &forward }, page.bytes()) {
                Ok(lsn) => lsn,
                Err(e) => {
                    drop(guard);
                    // Best effort, as in `update`: the first error is the one to report.
                    let _ = self.free_slot(target, log);
                    return Err(e);
                }
            };
            page.replace(tid.slot, &forward);
            page.set_lsn(lsn);
        }
        self.note_free_space(tid.page.number, page.reclaimable_space());
        Ok(Some(old))
    }

    /// Physically removes the tuple at `tid` — its slot, its moved head and its chunks — (vacuum's
    /// job: no snapshot may still see it), logging first. Returns false if there was none.
    pub fn remove(&self, tid: TupleId, log: impl FnMut(&HeapChange<'_>, &[u8]) -> Result<Lsn>) -> Result<bool> {
        self.remove_if(tid, |_| Ok(true), log)
    }

    /// [`HeapFile::remove`] if `check`, shown the tuple's prefix (as for [`HeapFile::patch`]),
    /// says so. No insert can reuse the slot between the check and the removal (both run under
    /// the structure lock), so a caller that found a tuple dead earlier can confirm here that
    /// the slot still holds that tuple and not a newer one in its place.
    pub fn remove_if(
        &self,
        tid: TupleId,
        check: impl FnOnce(&[u8]) -> Result<bool>,
        mut log: impl FnMut(&HeapChange<'_>, &[u8]) -> Result<Lsn>,
    ) -> Result<bool> {
        let _structure = self.structure.lock();
        let stored = {
            let guard = self.pool.read(tid.page)?;
            match read::tuple(&guard, tid.slot) {
                Some(bytes) => bytes.to_vec(),
                None => return Ok(false),
            }
        };
        let (external, target, prefix) = match piece::decode(&stored)? {
            Piece::Head { origin: None, rest, prefix } => (external_of(&rest), None, prefix.to_vec()),
            Piece::Forward { target } => {
                let guard = self.pool.read(self.tid(target).page)?;
                let moved = read::tuple(&guard, target.1).ok_or_else(|| dangling(tid, target))?;
                match piece::decode(moved)? {
                    Piece::Head { rest, prefix, .. } => (external_of(&rest), Some(target), prefix.to_vec()),
                    _ => return Err(dangling(tid, target)),
                }
            }
            _ => return Ok(false),
        };
        if !check(&prefix[..prefix.len().min(PREFIX)])? {
            return Ok(false);
        }
        self.free_slot(tid, &mut log)?;
        if let Some(target) = target {
            self.free_slot(self.tid(target), &mut log)?;
        }
        if let Some(e) = external {
            self.free_chunks(e, &mut log)?;
        }
        Ok(true)
    }

    /// Empties one slot, logging first.
    fn free_slot(&self, tid: TupleId, log: &mut impl FnMut(&HeapChange<'_>, &[u8]) -> Result<Lsn>) -> Result<()> {
        let mut guard = self.pool.write(tid.page)?;
        let mut page = Page::new(&mut guard);
        if page.tuple_mut(tid.slot).is_none() {
            return Ok(());
        }
        let lsn = log(&HeapChange::Remove { tid }, page.bytes())?;
        page.remove(tid.slot);
        page.set_lsn(lsn);
        self.note_free_space(tid.page.number, page.reclaimable_space());
        Ok(())
    }

    /// Frees every chunk of an external value (under the structure lock, so none is reused
    /// while the chain is walked).
    fn free_chunks(&self, value: External, log: &mut impl FnMut(&HeapChange<'_>, &[u8]) -> Result<Lsn>) -> Result<()> {
        let mut next = Some(value.first);
        while let Some(addr) = next {
            let tid = self.tid(addr);
            next = {
                let guard = self.pool.read(tid.page)?;
                let Some(stored) = read::tuple(&guard, tid.slot) else { break };
                match piece::decode(stored)? {
                    Piece::Chunk { value_id, next, .. } if value_id == value.value_id => next,
                    _ => break,
                }
            };
            self.free_slot(tid, log)?;
        }
        Ok(())
    }

    /// Overwrites `bytes` at `offset` within the tuple at `tid` (same length; the range must lie
    /// within the tuple's first [`PREFIX`] bytes unless the tuple is stored uncompressed inline),
    /// logging first. `check` sees the tuple's prefix under the page latch and decides
    /// atomically: `Ok(true)` applies the change, `Ok(false)` leaves the tuple alone, an error
    /// refuses it (this is where a transaction detects a concurrent writer). Returns whether the
    /// change was applied.
    pub fn patch(
        &self,
        tid: TupleId,
        offset: usize,
        bytes: &[u8],
        mut check: impl FnMut(&[u8]) -> Result<bool>,
        mut log: impl FnMut(&HeapChange<'_>, &[u8]) -> Result<Lsn>,
    ) -> Result<bool> {
        if let Some(done) = self.try_patch(tid, offset, bytes, false, &mut check, &mut log)? {
            return Ok(done);
        }
        // The tuple has moved (or moved between the two latches): under the structure lock no
        // update can move it again, nor free the moved head, between our check and our change.
        let _structure = self.structure.lock();
        self.try_patch(tid, offset, bytes, true, &mut check, &mut log)?.ok_or_else(|| changing(tid))
    }

    /// One attempt at [`HeapFile::patch`]: `None` if the tuple moved under it, or if it lives
    /// away from its address and the caller does not hold the structure lock (`locked`). A moved
    /// tuple is patched where it lives, its origin having been read and let go of first (one
    /// latch at a time); only the structure lock keeps an update from replacing it meanwhile.
    fn try_patch(
        &self,
        tid: TupleId,
        offset: usize,
        bytes: &[u8],
        locked: bool,
        check: &mut impl FnMut(&[u8]) -> Result<bool>,
        log: &mut impl FnMut(&HeapChange<'_>, &[u8]) -> Result<Lsn>,
    ) -> Result<Option<bool>> {
        let at = {
            let guard = self.pool.read(tid.page)?;
            let stored = read::tuple(&guard, tid.slot).ok_or_else(|| no_tuple(tid))?;
            match piece::decode(stored)? {
                Piece::Forward { .. } if !locked => return Ok(None),
                Piece::Forward { target } => self.tid(target),
                Piece::Head { origin: None, .. } => tid,
                _ => return Err(no_tuple(tid)),
            }
        };
        #[cfg(test)]
        if let Some(pause) = self.patch_pause.lock().0.clone() {
            pause();
        }
        let expected_origin = (at != tid).then_some((tid.page.number, tid.slot));
        let mut guard = self.pool.write(at.page)?;
        let mut page = Page::new(&mut guard);
        let Some(stored) = page.tuple_mut(at.slot) else { return Ok(None) };
        let verdict = match piece::decode(stored)? {
            Piece::Head { origin, prefix, .. } if origin == expected_origin => {
                check(&prefix[..prefix.len().min(PREFIX)])?
            }
            _ => return Ok(None),
        };
        if !verdict {
            return Ok(Some(false));
        }
        let range = piece::patch_range(stored, offset, bytes.len())?;
        let lsn = log(&HeapChange::Patch { tid: at, offset: range.start as u16, bytes }, page.bytes())?;
        page.tuple_mut(at.slot).ok_or_else(|| no_tuple(at))?[range].copy_from_slice(bytes);
        page.set_lsn(lsn);
        Ok(Some(true))
    }

    /// A copy of the tuple at `tid`, or `None` if there is none.
    pub fn get(&self, tid: TupleId) -> Result<Option<Vec<u8>>> {
        if tid.page.file != self.file || tid.page.number >= self.page_count() {
            return Ok(None);
        }
        for _ in 0..READ_RETRIES {
            let stored = {
                let guard = self.pool.read(tid.page)?;
                match read::tuple(&guard, tid.slot) {
                    Some(bytes) => bytes.to_vec(),
                    None => return Ok(None),
                }
            };
            match self.resolve(tid, &stored)? {
                Found::Tuple(t) => return Ok(Some(t)),
                Found::Nothing => return Ok(None),
                Found::Changed => {}
            }
        }
        Err(changing(tid))
    }

    /// The tuple a slot's stored piece stands for, reading further pages as needed.
    fn resolve(&self, tid: TupleId, stored: &[u8]) -> Result<Found> {
        match piece::decode(stored)? {
            Piece::Head { origin: None, prefix, rest } => self.materialize(prefix, &rest),
            Piece::Forward { target } => {
                let moved = {
                    let guard = self.pool.read(self.tid(target).page)?;
                    match read::tuple(&guard, target.1) {
                        Some(bytes) => bytes.to_vec(),
                        None => return Ok(Found::Changed),
                    }
                };
                match piece::decode(&moved)? {
                    Piece::Head { origin: Some(o), prefix, rest } if o == (tid.page.number, tid.slot) => {
                        self.materialize(prefix, &rest)
                    }
                    _ => Ok(Found::Changed),
                }
            }
            // Moved heads and chunks are reached through their origin and head, not directly.
            Piece::Head { origin: Some(_), .. } | Piece::Chunk { .. } => Ok(Found::Nothing),
        }
    }

    fn materialize(&self, prefix: &[u8], rest: &Rest<'_>) -> Result<Found> {
        // Lengths come from the page: bound them before allocating (a checksum proves only
        // that the page is as written, not that what was written is sane).
        let too_long = |len: usize| {
            (len > MAX_TUPLE_BYTES)
                .then(|| DbError::Corruption(format!("a stored tuple claims {len} bytes, more than any tuple has")))
        };
        let mut tuple = prefix.to_vec();
        match rest {
            Rest::None => {}
            Rest::Compressed { method, len, data } => {
                if let Some(err) = too_long(*len) {
                    return Err(err);
                }
                tuple.extend(method.decompress(data, *len)?)
            }
            Rest::External(e) => {
                if let Some(err) = too_long(e.len.max(e.stored_len)) {
                    return Err(err);
                }
                let mut stored = Vec::with_capacity(e.stored_len);
                let mut next = Some(e.first);
                while let Some(addr) = next {
                    let tid = self.tid(addr);
                    let guard = self.pool.read(tid.page)?;
                    let Some(bytes) = read::tuple(&guard, tid.slot) else { return Ok(Found::Changed) };
                    match piece::decode(bytes)? {
                        // Every chunk holds data, so the length check below ends any cycle.
                        Piece::Chunk { data: [], .. } => {
                            return Err(DbError::Corruption(format!(
                                "external value {:#x} has an empty chunk",
                                e.value_id
                            )));
                        }
                        Piece::Chunk { value_id, next: following, data } if value_id == e.value_id => {
                            stored.extend_from_slice(data);
                            next = following;
                        }
                        _ => return Ok(Found::Changed),
                    }
                    if stored.len() > e.stored_len {
                        return Err(DbError::Corruption(format!(
                            "external value {:#x} is longer than its head says",
                            e.value_id
                        )));
                    }
                }
                if stored.len() != e.stored_len {
                    return Err(DbError::Corruption(format!(
                        "external value {:#x} has {} of {} bytes",
                        e.value_id,
                        stored.len(),
                        e.stored_len
                    )));
                }
                match e.method {
                    Compression::None => tuple.extend(stored),
                    method => tuple.extend(method.decompress(&stored, e.len)?),
                }
            }
        }
        Ok(Found::Tuple(tuple))
    }

    /// Copies of every tuple whose address is on page `number`, in slot order (moved tuples
    /// appear at their address, not where they moved to; chunks are parts, not tuples).
    pub fn scan_page(&self, number: u32) -> Result<Vec<(TupleId, Vec<u8>)>> {
        let mut arena = TupleArena::new();
        self.scan_page_into(number, &mut arena)?;
        Ok(arena.iter().map(|(tid, t)| (tid, t.to_vec())).collect())
    }

    /// [`HeapFile::scan_page`] into `arena` (cleared first): a scan that reuses one arena for
    /// every page allocates nothing for tuples stored inline, the common case.
    pub fn scan_page_into(&self, number: u32, arena: &mut TupleArena) -> Result<()> {
        arena.clear();
        let id = PageId::new(self.file, number);
        let mut deferred = Vec::new();
        {
            let guard = self.pool.read(id)?;
            prefetch_page(&guard);
            for slot in 0..read::slot_count(&guard) {
                let Some(stored) = read::tuple(&guard, slot) else { continue };
                let tid = TupleId { page: id, slot };
                match piece::decode(stored)? {
                    // The common case is read straight off the latched page.
                    Piece::Head { origin: None, prefix, rest: Rest::None } => arena.push(tid, prefix),
                    Piece::Head { origin: None, .. } | Piece::Forward { .. } => deferred.push((tid, stored.to_vec())),
                    Piece::Head { origin: Some(_), .. } | Piece::Chunk { .. } => {}
                }
            }
        }
        if deferred.is_empty() {
            return Ok(());
        }
        for (tid, stored) in deferred {
            let found = match self.resolve(tid, &stored)? {
                Found::Changed => self.get(tid)?,
                Found::Tuple(t) => Some(t),
                Found::Nothing => None,
            };
            if let Some(tuple) = found {
                arena.push(tid, &tuple);
            }
        }
        arena.sort_by_slot();
        Ok(())
    }

    /// Calls `visit` for each tuple on page `number`, in slot order, reading it in place under
    /// the page's shared latch: the scan path that copies nothing. It stops at the first tuple
    /// not stored whole on the page (moved, compressed or external) and returns that tuple's
    /// slot; the caller reads the page with [`HeapFile::scan_page_into`], which reassembles
    /// those, and takes the tuples from that slot on. `None`: every tuple was visited.
    ///
    /// One pass, not a check of the whole page first: nearly every page holds only whole
    /// tuples, and a first pass over the slots cost a tenth of a sequential scan.
    ///
    /// `visit` runs with the latch held, so it must be short, and any lock it takes must be one
    /// whose holders never wait for a page latch (the transaction status table is such a lock:
    /// see the lock order in `txn`'s manager).
    pub fn visit_inline_page(
        &self,
        number: u32,
        mut visit: impl FnMut(TupleId, &[u8]) -> Result<()>,
    ) -> Result<Option<u16>> {
        let id = PageId::new(self.file, number);
        let guard = self.pool.read(id)?;
        prefetch_page(&guard);
        // A scan reads the pages in order: the one after next loads meanwhile (the next one
        // is on its way already).
        if number + 2 < self.page_count() {
            self.pool.prefetch(PageId::new(self.file, number + 2));
        }
        for slot in 0..read::slot_count(&guard) {
            let Some(stored) = read::tuple(&guard, slot) else { continue };
            if let Some(tuple) = piece::inline_tuple(stored) {
                visit(TupleId { page: id, slot }, tuple)?;
                continue;
            }
            match piece::decode(stored)? {
                // Pieces of tuples whose heads live elsewhere: those are visited from there.
                Piece::Head { origin: Some(_), .. } | Piece::Chunk { .. } => {}
                Piece::Head { origin: None, .. } | Piece::Forward { .. } => return Ok(Some(slot)),
            }
        }
        Ok(None)
    }

    /// Recovery: page `number` exists (a full-page image restored it), even if it lies past
    /// the heap's end on disk.
    pub fn note_page(&self, number: u32) {
        self.pages.fetch_max(number + 1, Ordering::AcqRel);
    }

    /// Recovery: re-applies `change` (logged at `lsn`) unless its page already has it.
    pub fn redo(&self, change: &HeapChange<'_>, lsn: Lsn) -> Result<()> {
        let tid = change.tid();
        self.pages.fetch_max(tid.page.number + 1, Ordering::AcqRel);
        // Read under the shared latch first so that skipped records do not dirty pages.
        if read::lsn(&self.pool.read(tid.page)?) >= lsn {
            return Ok(());
        }
        let mut guard = self.pool.write(tid.page)?;
        let mut page = Page::new(&mut guard);
        let applied = match change {
            HeapChange::Put { piece, .. } => {
                if read::kind(page.bytes()) == 0 {
                    page.init_reserving(KIND_HEAP, self.cipher_tail);
                }
                page.insert_at(tid.slot, piece)
            }
            HeapChange::Replace { piece, .. } => page.replace(tid.slot, piece),
            HeapChange::Remove { .. } => {
                page.remove(tid.slot);
                true
            }
            HeapChange::Patch { offset, bytes, .. } => {
                let start = *offset as usize;
                match page.tuple_mut(tid.slot).and_then(|t| t.get_mut(start..start + bytes.len())) {
                    Some(range) => {
                        range.copy_from_slice(bytes);
                        true
                    }
                    None => false,
                }
            }
        };
        if !applied {
            return Err(DbError::Corruption(format!("redo of {change:?} at {lsn} does not apply to its page")));
        }
        page.set_lsn(lsn);
        self.note_free_space(tid.page.number, page.reclaimable_space());
        Ok(())
    }
}

fn external_of(rest: &Rest<'_>) -> Option<External> {
    match rest {
        Rest::External(e) => Some(*e),
        _ => None,
    }
}

fn no_tuple(tid: TupleId) -> DbError {
    DbError::Internal(format!("no tuple at {tid}"))
}

fn dangling(tid: TupleId, target: Addr) -> DbError {
    DbError::Corruption(format!(
        "the forward pointer at {tid} leads to ({}, {}), which holds no tuple of it",
        target.0, target.1
    ))
}

fn changing(tid: TupleId) -> DbError {
    DbError::Internal(format!("the tuple at {tid} kept changing while it was read"))
}

/// A fresh identity for an external value: unique within the process, and across restarts
/// because it starts from the clock (nanoseconds) at first use.
fn next_value_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    if NEXT.load(Ordering::Relaxed) == 0 {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1)
            .max(1);
        let _ = NEXT.compare_exchange(0, seed, Ordering::Relaxed, Ordering::Relaxed);
    }
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Asks the CPU to start loading all of a page's cache lines at once, before its tuples are
/// walked one by one: a scan then waits for memory once per page rather than once per tuple.
#[inline]
fn prefetch_page(bytes: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    for line in bytes.chunks(64) {
        // SAFETY: a prefetch is a hint that never faults, whatever the address; SSE, which
        // provides it, is part of the x86_64 baseline.
        unsafe { std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(line.as_ptr().cast()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = bytes;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LogDevice;
    use crate::test_support::log_and_pool;
    use std::collections::HashMap;

    /// A log closure that appends each change's bytes to the device (as a transaction would,
    /// wrapped in its own record) and keeps them for replay.
    fn logger<'a>(
        log: &'a LogDevice,
        kept: &'a mut Vec<(Vec<u8>, Lsn)>,
    ) -> impl FnMut(&HeapChange<'_>, &[u8]) -> Result<Lsn> + 'a {
        move |change, _| {
            let mut bytes = Vec::new();
            change.encode(&mut bytes);
            let lsn = log.append(&bytes)?;
            kept.push((bytes, lsn));
            Ok(lsn)
        }
    }

    fn all(heap: &HeapFile) -> HashMap<TupleId, Vec<u8>> {
        (0..heap.page_count()).flat_map(|n| heap.scan_page(n).unwrap()).collect()
    }

    fn noise(len: usize, seed: u64) -> Vec<u8> {
        let mut x = seed | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    #[test]
    fn insert_scan_patch_and_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let tids: Vec<TupleId>;
        {
            let (log, pool) = log_and_pool(dir.path(), 16);
            let mut kept = Vec::new();
            let heap = HeapFile::open(pool.clone(), FileId(9)).unwrap();
            tids = (0..500u32).map(|i| heap.insert(&[i as u8; 50], logger(&log, &mut kept)).unwrap()).collect();
            assert!(heap.page_count() > 1);
            heap.patch(tids[7], 0, &[0xAB, 0xCD], |_| Ok(true), logger(&log, &mut kept)).unwrap();
            pool.flush_all().unwrap();
        }
        let (_log, pool) = log_and_pool(dir.path(), 16);
        let heap = HeapFile::open(pool, FileId(9)).unwrap();
        assert_eq!(all(&heap).len(), 500);
        assert_eq!(&heap.get(tids[7]).unwrap().unwrap()[..3], &[0xAB, 0xCD, 7]);
        assert_eq!(heap.get(tids[499]).unwrap().unwrap(), vec![(499 % 256) as u8; 50]);
    }

    #[test]
    fn failed_logging_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (_log, pool) = log_and_pool(dir.path(), 16);
        let heap = HeapFile::open(pool, FileId(2)).unwrap();
        let err = heap.insert(b"a longer row", |_, _| Err(DbError::WritesStopped("test".into())));
        assert!(matches!(err, Err(DbError::WritesStopped(_))), "{err:?}");
        assert!(all(&heap).is_empty());
    }

    #[test]
    fn values_larger_than_a_page_are_chained_and_compressed_per_table() {
        let dir = tempfile::tempdir().unwrap();
        let (log, pool) = log_and_pool(dir.path(), 16);
        let mut kept = Vec::new();
        let text: Vec<u8> =
            (0..200_000u32).flat_map(|i| format!("line {} of a long text\n", i % 1000).into_bytes()).collect();
        let random = noise(50_000, 7);
        let mut sizes = Vec::new();
        for (file, method) in [(30, Compression::None), (31, Compression::Lz4), (32, Compression::Zstd)] {
            let heap = HeapFile::open(pool.clone(), FileId(file)).unwrap();
            heap.set_compression(method);
            let a = heap.insert(&text, logger(&log, &mut kept)).unwrap();
            let b = heap.insert(&random, logger(&log, &mut kept)).unwrap();
            let small = heap.insert(b"small tuple", logger(&log, &mut kept)).unwrap();
            assert_eq!(heap.get(a).unwrap().unwrap(), text, "{method:?}");
            assert_eq!(heap.get(b).unwrap().unwrap(), random, "{method:?}");
            let scanned = all(&heap);
            assert_eq!(scanned.len(), 3, "chunks are not tuples: {method:?}");
            assert_eq!(scanned[&small], b"small tuple");
            sizes.push(heap.page_count());
        }
        // Uncompressed: ~4.8 MB in 4 KiB pages; lz4 and zstd shrink the text a lot.
        assert!(sizes[0] > 1150, "{sizes:?}");
        assert!(sizes[1] < sizes[0] / 4 && sizes[2] <= sizes[1], "{sizes:?}");
    }

    #[test]
    fn medium_tuples_are_compressed_inline_and_their_prefix_stays_patchable() {
        let dir = tempfile::tempdir().unwrap();
        let (log, pool) = log_and_pool(dir.path(), 16);
        let mut kept = Vec::new();
        let heap = HeapFile::open(pool.clone(), FileId(33)).unwrap();
        let tuple: Vec<u8> = (0..3000u32).map(|i| (i % 7) as u8).collect();
        let tid = heap.insert(&tuple, logger(&log, &mut kept)).unwrap();
        assert_eq!(heap.page_count(), 1, "compressed, it fits inline");
        heap.patch(tid, 8, &[9; 8], |prefix| Ok(prefix.len() == PREFIX), logger(&log, &mut kept)).unwrap();
        let mut expected = tuple.clone();
        expected[8..16].fill(9);
        assert_eq!(heap.get(tid).unwrap().unwrap(), expected);
        let err = heap.patch(tid, 100, &[1], |_| Ok(true), logger(&log, &mut kept)).unwrap_err();
        assert!(err.to_string().contains("prefix"), "{err}");
    }

    #[test]
    fn updates_stay_in_place_or_move_behind_a_forward_pointer() {
        let dir = tempfile::tempdir().unwrap();
        let (log, pool) = log_and_pool(dir.path(), 16);
        let mut kept = Vec::new();
        let heap = HeapFile::open(pool.clone(), FileId(34)).unwrap();
        heap.set_compression(Compression::None);
        // Four inline tuples fill the page to its last few bytes.
        let tids: Vec<TupleId> =
            (0..4u8).map(|i| heap.insert(&noise(1010, u64::from(i)), logger(&log, &mut kept)).unwrap()).collect();
        assert_eq!(heap.page_count(), 1);
        // Larger than the page can hold: moves, and the address still finds it.
        let big = noise(1020, 3);
        assert!(heap.update(tids[1], &big, |_| Ok(true), logger(&log, &mut kept)).unwrap());
        assert_eq!(heap.get(tids[1]).unwrap().unwrap(), big);
        assert_eq!(heap.page_count(), 2);
        // Smaller: in place.
        assert!(heap.update(tids[0], &[10; 100], |_| Ok(true), logger(&log, &mut kept)).unwrap());
        assert_eq!(heap.get(tids[0]).unwrap().unwrap(), vec![10; 100]);
        let scanned = all(&heap);
        assert_eq!(scanned.len(), 4, "a moved tuple is seen once, at its address");
        assert_eq!(scanned[&tids[1]], big);
        // A patch reaches the moved tuple.
        heap.patch(tids[1], 0, b"MOVED", |_| Ok(true), logger(&log, &mut kept)).unwrap();
        assert_eq!(&heap.get(tids[1]).unwrap().unwrap()[..5], b"MOVED");
        // A value too big to stay inline goes external; its small head fits back home, and the
        // moved copy is freed.
        let huge = noise(20_000, 4);
        assert!(heap.update(tids[1], &huge, |_| Ok(true), logger(&log, &mut kept)).unwrap());
        assert_eq!(heap.get(tids[1]).unwrap().unwrap(), huge);
        // And an inline value again, in place.
        assert!(heap.update(tids[1], b"home again", |_| Ok(true), logger(&log, &mut kept)).unwrap());
        assert_eq!(heap.get(tids[1]).unwrap().unwrap(), b"home again");
        // A refusing check changes nothing.
        assert!(!heap.update(tids[2], b"not wanted", |_| Ok(false), logger(&log, &mut kept)).unwrap());
        assert_eq!(heap.get(tids[2]).unwrap().unwrap(), noise(1010, 2));
        // A removal whose check refuses (the slot holds another tuple than the caller found)
        // leaves it; the check sees the tuple's prefix.
        let mut seen = Vec::new();
        let check = |prefix: &[u8]| {
            seen = prefix.to_vec();
            Ok(false)
        };
        assert!(!heap.remove_if(tids[1], check, logger(&log, &mut kept)).unwrap());
        assert_eq!(seen, b"home again");
        assert_eq!(heap.get(tids[1]).unwrap().unwrap(), b"home again");
        // Removing a tuple frees everything it had: only the four small tuples' pages stay used.
        assert!(heap.remove(tids[1], logger(&log, &mut kept)).unwrap());
        assert_eq!(heap.get(tids[1]).unwrap(), None);
        assert_eq!(pieces(&pool, &heap), 3, "moved heads and chunks were all freed");
    }

    #[test]
    fn the_in_place_visit_stops_at_the_first_tuple_not_stored_whole() {
        let dir = tempfile::tempdir().unwrap();
        let (log, pool) = log_and_pool(dir.path(), 16);
        let mut kept = Vec::new();
        let heap = HeapFile::open(pool.clone(), FileId(36)).unwrap();
        heap.set_compression(Compression::None);
        let tids: Vec<TupleId> =
            (0..4u8).map(|i| heap.insert(&noise(1010, u64::from(i)), logger(&log, &mut kept)).unwrap()).collect();
        let visit = |number| {
            let mut seen = Vec::new();
            let stopped = heap
                .visit_inline_page(number, |tid, bytes| {
                    seen.push((tid, bytes.to_vec()));
                    Ok(())
                })
                .unwrap();
            (seen, stopped)
        };
        let (seen, stopped) = visit(0);
        assert_eq!(stopped, None);
        assert_eq!(seen.iter().map(|(t, _)| *t).collect::<Vec<_>>(), tids);
        assert_eq!(seen[2].1, noise(1010, 2));
        // The second tuple moves to a page of its own: the visit of its home page gives the one
        // before it and stops at it; its new page holds no tuple whose home it is.
        assert!(heap.update(tids[1], &noise(1020, 9), |_| Ok(true), logger(&log, &mut kept)).unwrap());
        let (seen, stopped) = visit(0);
        assert_eq!(stopped, Some(tids[1].slot));
        assert_eq!(seen.iter().map(|(t, _)| *t).collect::<Vec<_>>(), vec![tids[0]]);
        assert_eq!(visit(1), (Vec::new(), None));
    }

    /// Replays the kept changes into a fresh directory: redo rebuilds the same heap, and applying
    /// everything twice changes nothing.
    #[test]
    fn redo_rebuilds_the_heap_from_its_changes_idempotently() {
        let dir = tempfile::tempdir().unwrap();
        let (log, pool) = log_and_pool(dir.path(), 16);
        let mut kept = Vec::new();
        let heap = HeapFile::open(pool.clone(), FileId(35)).unwrap();
        let a = heap.insert(&noise(30_000, 1), logger(&log, &mut kept)).unwrap();
        let b = heap.insert(b"short tuple", logger(&log, &mut kept)).unwrap();
        heap.update(b, &noise(3000, 2), |_| Ok(true), logger(&log, &mut kept)).unwrap();
        heap.patch(b, 0, b"xy", |_| Ok(true), logger(&log, &mut kept)).unwrap();
        heap.remove(a, logger(&log, &mut kept)).unwrap();
        let c = heap.insert(&[5; 700], logger(&log, &mut kept)).unwrap();
        let expected = all(&heap);

        let other = tempfile::tempdir().unwrap();
        let (_log2, pool2) = log_and_pool(other.path(), 64);
        let replica = HeapFile::open(pool2, FileId(35)).unwrap();
        for _ in 0..2 {
            for (bytes, lsn) in &kept {
                replica.redo(&HeapChange::decode(bytes).unwrap(), *lsn).unwrap();
            }
        }
        assert_eq!(all(&replica), expected);
        assert_eq!(replica.get(c).unwrap().unwrap(), vec![5; 700]);
        assert_eq!(&replica.get(b).unwrap().unwrap()[..2], b"xy");
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(usize, u8),
        Update(usize, usize, u8),
        Remove(usize),
        Reopen,
    }

    fn op() -> impl proptest::strategy::Strategy<Value = Op> {
        use proptest::prelude::*;
        // Lengths up to 3 pages: inline, compressed, external and moved tuples all occur.
        prop_oneof![
            5 => (MIN_TUPLE_BYTES..12_000, any::<u8>()).prop_map(|(len, b)| Op::Insert(len, b)),
            3 => (any::<usize>(), MIN_TUPLE_BYTES..12_000, any::<u8>()).prop_map(|(k, len, b)| Op::Update(k, len, b)),
            2 => any::<usize>().prop_map(Op::Remove),
            1 => Just(Op::Reopen),
        ]
    }

    /// A tuple that is half compressible, so every storage form is reached.
    fn tuple_of(len: usize, b: u8) -> Vec<u8> {
        let mut t = noise(len, u64::from(b) + len as u64);
        t[len / 2..].fill(b);
        t
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]
        /// Random inserts, updates and removals against a model, through an 8-frame pool
        /// (constant eviction), across clean close and reopen: every tuple reads back, scans see
        /// exactly the model, and nothing is left behind when tuples go.
        #[test]
        fn heap_matches_a_model_across_eviction_and_reopen(ops in proptest::collection::vec(op(), 1..80)) {
            let dir = tempfile::tempdir().unwrap();
            let file = FileId(11);
            let (mut log, mut pool) = log_and_pool(dir.path(), 8);
            let mut heap = HeapFile::open(pool.clone(), file).unwrap();
            let mut model: HashMap<TupleId, Vec<u8>> = HashMap::new();
            let mut kept = Vec::new();
            let pick = |model: &HashMap<TupleId, Vec<u8>>, k: usize| {
                let mut keys: Vec<TupleId> = model.keys().copied().collect();
                keys.sort();
                keys.get(k % keys.len().max(1)).copied()
            };
            for op in ops {
                match op {
                    Op::Insert(len, b) => {
                        let tuple = tuple_of(len, b);
                        let tid = heap.insert(&tuple, logger(&log, &mut kept)).unwrap();
                        proptest::prop_assert!(model.insert(tid, tuple).is_none(), "address {} handed out twice", tid);
                    }
                    Op::Update(k, len, b) => {
                        if let Some(tid) = pick(&model, k) {
                            let tuple = tuple_of(len, b);
                            proptest::prop_assert!(heap.update(tid, &tuple, |_| Ok(true), logger(&log, &mut kept)).unwrap());
                            model.insert(tid, tuple);
                        }
                    }
                    Op::Remove(k) => {
                        if let Some(tid) = pick(&model, k) {
                            proptest::prop_assert!(heap.remove(tid, logger(&log, &mut kept)).unwrap());
                            model.remove(&tid);
                            proptest::prop_assert!(!heap.remove(tid, logger(&log, &mut kept)).unwrap());
                        }
                    }
                    Op::Reopen => {
                        pool.flush_all().unwrap();
                        drop(heap);
                        drop(pool);
                        drop(log);
                        (log, pool) = log_and_pool(dir.path(), 8);
                        heap = HeapFile::open(pool.clone(), file).unwrap();
                    }
                }
                proptest::prop_assert_eq!(&all(&heap), &model);
            }
            for (tid, tuple) in &model {
                let got = heap.get(*tid).unwrap();
                proptest::prop_assert_eq!(got.as_ref(), Some(tuple));
            }
            if model.is_empty() {
                proptest::prop_assert_eq!(pieces(&pool, &heap), 0, "pieces left behind by removed tuples");
            }
        }
    }

    /// Pieces stored in the heap's pages, whether reachable or not.
    fn pieces(pool: &BufferPool, heap: &HeapFile) -> usize {
        (0..heap.page_count())
            .map(|n| {
                let g = pool.read(PageId::new(heap.file(), n)).unwrap();
                (0..read::slot_count(&g)).filter(|s| read::tuple(&g, *s).is_some()).count()
            })
            .sum()
    }

    #[test]
    fn a_failed_or_refused_update_leaves_no_pieces_behind() {
        let dir = tempfile::tempdir().unwrap();
        let (log, pool) = log_and_pool(dir.path(), 16);
        let mut kept = Vec::new();
        let heap = HeapFile::open(pool.clone(), FileId(40)).unwrap();
        heap.set_compression(Compression::None);
        let tids: Vec<TupleId> =
            (0..4u8).map(|i| heap.insert(&noise(1010, u64::from(i)), logger(&log, &mut kept)).unwrap()).collect();
        let before = pieces(&pool, &heap);
        let huge = noise(20_000, 5);
        // No tuple at the address: found only after the new chunks were written.
        let nowhere = TupleId { page: tids[0].page, slot: 99 };
        assert!(heap.update(nowhere, &huge, |_| Ok(true), logger(&log, &mut kept)).is_err());
        // Refused by the check, and refused with an error.
        assert!(!heap.update(tids[0], &huge, |_| Ok(false), logger(&log, &mut kept)).unwrap());
        let err = heap.update(tids[0], &huge, |_| Err(DbError::Internal("conflict".into())), logger(&log, &mut kept));
        assert!(err.unwrap_err().to_string().contains("conflict"));
        assert_eq!(pieces(&pool, &heap), before, "chunks of updates that did not happen are freed");
        // The log refuses the forward pointer after the moved head was placed: the head goes too.
        let mut refused = false;
        let err = heap.update(
            tids[1],
            &noise(1020, 6),
            |_| Ok(true),
            |change: &HeapChange<'_>, _: &[u8]| {
                if !refused && matches!(change, HeapChange::Replace { piece, .. } if piece.len() == piece::FORWARD_LEN)
                {
                    refused = true;
                    return Err(DbError::WritesStopped("test".into()));
                }
                let mut bytes = Vec::new();
                change.encode(&mut bytes);
                log.append(&bytes)
            },
        );
        assert!(refused && err.is_err());
        assert_eq!(pieces(&pool, &heap), before, "the moved head of a failed update is freed");
        assert_eq!(heap.get(tids[1]).unwrap().unwrap(), noise(1010, 1), "the tuple is unchanged");
        // Too short to leave a forward pointer behind one day: refused up front.
        assert!(heap.insert(&[1; MIN_TUPLE_BYTES - 1], logger(&log, &mut kept)).is_err());
    }

    /// The race a moved tuple's patch must not lose: the patch has found where the tuple lives
    /// when an update checks that head, lets go of it and replaces the tuple. Were the patch to
    /// land on the old head in between, the update would free it with the patch (a lost xmax).
    /// The pause hook holds the patch at exactly that point; the update's check gives it time
    /// to go on. The patch must either come first (and the update, seeing it, refuse) or not
    /// apply at all — never be applied and lost.
    #[test]
    fn a_patch_of_a_moved_tuple_is_never_lost_to_a_concurrent_update() {
        use std::sync::mpsc;
        use std::time::Duration;
        let dir = tempfile::tempdir().unwrap();
        let (log, pool) = log_and_pool(dir.path(), 32);
        let heap = HeapFile::open(pool.clone(), FileId(41)).unwrap();
        heap.set_compression(Compression::None);
        let append = |change: &HeapChange<'_>, _: &[u8]| {
            let mut bytes = Vec::new();
            change.encode(&mut bytes);
            log.append(&bytes)
        };
        // The tuple's page keeps about 600 bytes free: a 1000-byte version moves away.
        let tid = heap.insert(&[0; 100], append).unwrap();
        for i in 0..3 {
            heap.insert(&noise(1100, i), append).unwrap();
        }
        assert!(heap.update(tid, &[0; 1000], |_| Ok(true), append).unwrap());
        assert_ne!(read::tuple(&pool.read(tid.page).unwrap(), tid.slot).unwrap().len(), 1001, "moved away");
        let counter = |t: &[u8]| u64::from_le_bytes(t[..8].try_into().unwrap());

        let (paused_tx, paused_rx) = mpsc::channel::<()>();
        let (go_tx, go_rx) = mpsc::channel::<()>();
        let go_rx = Mutex::new(go_rx);
        let paused_tx = Mutex::new(paused_tx);
        *heap.patch_pause.lock() = Hook(Some(Arc::new(move || {
            let _ = paused_tx.lock().send(());
            let _ = go_rx.lock().recv_timeout(Duration::from_millis(300));
        })));
        let (patched, updated) = std::thread::scope(|scope| {
            let patcher = scope.spawn(|| heap.patch(tid, 0, &1u64.to_le_bytes(), |p| Ok(counter(p) == 0), append));
            paused_rx.recv().unwrap();
            let updated = heap.update(
                tid,
                &[0; 100],
                |p| {
                    let unchanged = counter(p) == 0;
                    // Let the patch go on, and give it time to reach the head.
                    let _ = go_tx.send(());
                    std::thread::sleep(Duration::from_millis(100));
                    Ok(unchanged)
                },
                append,
            );
            (patcher.join().unwrap().unwrap(), updated.unwrap())
        });
        *heap.patch_pause.lock() = Hook::default();
        let now = counter(&heap.get(tid).unwrap().unwrap());
        assert!(patched, "the patch applies, before or after the update");
        assert_eq!(now, 1, "the applied patch was lost (update applied: {updated})");
    }

    #[test]
    fn freed_space_is_reused_before_the_heap_grows() {
        let dir = tempfile::tempdir().unwrap();
        let (log, pool) = log_and_pool(dir.path(), 16);
        let mut kept = Vec::new();
        let heap = HeapFile::open(pool, FileId(12)).unwrap();
        let tids: Vec<TupleId> =
            (0..40).map(|_| heap.insert(&noise(500, 9), logger(&log, &mut kept)).unwrap()).collect();
        let pages = heap.page_count();
        for tid in tids.iter().step_by(2) {
            heap.remove(*tid, logger(&log, &mut kept)).unwrap();
        }
        for _ in 0..20 {
            heap.insert(&noise(500, 10), logger(&log, &mut kept)).unwrap();
        }
        assert_eq!(heap.page_count(), pages, "inserts went to new pages instead of freed space");
    }

    #[test]
    fn oversized_tuple_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let (log, pool) = log_and_pool(dir.path(), 16);
        let mut kept = Vec::new();
        let heap = HeapFile::open(pool, FileId(2)).unwrap();
        let err = heap.insert(&vec![0; MAX_TUPLE_BYTES + 1], logger(&log, &mut kept)).unwrap_err();
        assert_eq!(err.sqlstate(), SqlState::ProgramLimitExceeded);
    }
}
