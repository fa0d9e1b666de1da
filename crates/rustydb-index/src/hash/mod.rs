//! A hash index: linear hashing (Litwin) on buffer-pool pages, for equality lookups.
//!
//! ```text
//!   page 0: meta (level, split pointer, map pages)   map pages: bucket -> primary page
//!   bucket b: primary page ──next──► overflow page ──► ...
//! ```
//!
//! A key's bucket is `h mod 2^level`, or `h mod 2^(level+1)` if that bucket has already been
//! split this round (it is below the split pointer). When the index grows past its load factor,
//! the bucket at the split pointer is split: its entries are rehashed between it and a new
//! bucket at the end. Unlike extendible hashing there is no directory to double: the bucket
//! map only ever grows by one entry, and each split touches one bucket.
//!
//! Pages are storage's slotted pages, logged and redone exactly as the B+tree's (see
//! [`crate::btree::change`]): an insert or delete is one small change; a split, or a new
//! overflow page, is one record of page images.
//!
//! | page | slot 0 | items |
//! |---|---|---|
//! | meta (kind 5) | magic, level, split, buckets, pages, free head, counts | map page numbers (u32) |
//! | map (kind 6) | its place among the map pages (u32) | primary page of each bucket (u32) |
//! | bucket (kind 7) | bucket number (u32), next overflow page (u32) | hash (u32 BE) ‖ key ‖ tid |
//!
//! ## Concurrency
//! Lookups, inserts and deletes hold the structure lock shared and latch a bucket's pages in
//! chain order; a split holds it exclusively (it moves entries between buckets). Readers never
//! block readers. Latch order: bucket pages in chain order, then the meta page, then free pages.

use crate::btree::change::{Change, Op};
use crate::btree::node::{NO_PAGE, SLOT, TID_LEN, free_next, free_page};
use crate::kernels::mix64;
use crate::paged::PageBatch;
use crate::{Index, IndexStats, PageLog};
use parking_lot::RwLock;
use rustydb_foundation::le::LeReader;
use rustydb_foundation::{DbError, FileId, PageId, Result, SqlState, TupleId};
use rustydb_storage::BufferPool;
use rustydb_storage::page::{HEADER_SIZE, Page, read};
use std::ops::Bound;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

const KIND_META: u16 = 5;
const KIND_MAP: u16 = 6;
const KIND_BUCKET: u16 = 7;
const MAGIC: u32 = 0x5248_5831; // "RHX1"
const META_PAGE: u32 = 0;
const HASH_LEN: usize = 4;
/// Split when the entries would fill this share of the buckets' primary pages.
const LOAD_FACTOR: f64 = 0.75;

/// The hash of a key: 64-bit, the same on every machine and run (it is stored).
pub fn hash_key(key: &[u8]) -> u64 {
    let mut h = mix64(key.len() as u64);
    for chunk in key.chunks(8) {
        let mut word = [0u8; 8];
        word[..chunk.len()].copy_from_slice(chunk);
        h = mix64(h ^ u64::from_le_bytes(word));
    }
    h
}

/// The structure, as the meta page records it and the index caches it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct State {
    level: u8,
    split: u32,
    /// Primary page of each bucket.
    buckets: Vec<u32>,
    /// The pages holding the bucket map, in order.
    map_pages: Vec<u32>,
    unique: bool,
    heap_file: u32,
    entries: u64,
    bytes: u64,
    distinct: u64,
}

impl State {
    fn bucket_of(&self, hash: u64) -> usize {
        let low = hash % (1u64 << self.level);
        if low < u64::from(self.split) { (hash % (1u64 << (self.level + 1))) as usize } else { low as usize }
    }

    /// The meta page; `pages` and `free_head` are the allocator's, which only the meta page
    /// itself holds (allocation happens under a shared structure lock, serialised by the meta
    /// page's latch).
    fn meta_image(&self, pages: u32, free_head: u32, page_size: usize, tail: usize) -> Vec<u8> {
        let mut tuple = Vec::with_capacity(48);
        tuple.extend_from_slice(&MAGIC.to_le_bytes());
        tuple.push(self.level);
        tuple.push(u8::from(self.unique));
        tuple.extend_from_slice(&self.heap_file.to_le_bytes());
        tuple.extend_from_slice(&self.split.to_le_bytes());
        tuple.extend_from_slice(&(self.buckets.len() as u32).to_le_bytes());
        tuple.extend_from_slice(&pages.to_le_bytes());
        tuple.extend_from_slice(&free_head.to_le_bytes());
        tuple.extend_from_slice(&self.entries.to_le_bytes());
        tuple.extend_from_slice(&self.bytes.to_le_bytes());
        tuple.extend_from_slice(&self.distinct.to_le_bytes());
        let items: Vec<Vec<u8>> = self.map_pages.iter().map(|p| p.to_le_bytes().to_vec()).collect();
        page_of(KIND_META, &tuple, &items, page_size, tail)
    }
}

/// Reads the meta page written by [`State::meta_image`]: the structure (its bucket map still
/// empty; it lives on the map pages) and the allocator's page count and free chain.
fn parse_meta(bytes: &[u8]) -> Result<(State, Allocator)> {
    if read::kind(bytes) != KIND_META {
        return Err(corrupt("page 0 is not a hash meta page".into()));
    }
    let tuple = read::tuple(bytes, 0).ok_or_else(|| corrupt("empty meta page".into()))?;
    let mut r = LeReader::new(tuple, "hash meta page");
    if r.u32()? != MAGIC {
        return Err(corrupt("wrong magic number".into()));
    }
    let level = r.u8()?;
    let unique = r.u8()? != 0;
    let heap_file = r.u32()?;
    let split = r.u32()?;
    let count = r.u32()? as usize;
    let allocator = Allocator { pages: r.u32()?, free_head: r.u32()? };
    let (entries, stored_bytes, distinct) = (r.u64()?, r.u64()?, r.u64()?);
    let map_pages = (1..read::slot_count(bytes)).map(|s| u32_item(bytes, s)).collect::<Result<_>>()?;
    let buckets = Vec::with_capacity(count);
    let state = State { level, split, buckets, map_pages, unique, heap_file, entries, bytes: stored_bytes, distinct };
    Ok((state, allocator))
}

fn page_of(kind: u16, header: &[u8], items: &[Vec<u8>], page_size: usize, tail: usize) -> Vec<u8> {
    let mut bytes = vec![0; page_size];
    let mut page = Page::new(&mut bytes);
    page.init_reserving(kind, tail);
    page.insert_ordered(0, header);
    for (i, item) in items.iter().enumerate() {
        page.insert_ordered((i + 1) as u16, item);
    }
    bytes
}

fn corrupt(what: String) -> DbError {
    DbError::Corruption(format!("hash index: {what}"))
}

fn u32_item(bytes: &[u8], slot: u16) -> Result<u32> {
    let item = read::tuple(bytes, slot).ok_or_else(|| corrupt(format!("slot {slot} is missing")))?;
    LeReader::new(item, "hash index page number").u32()
}

/// A bucket page's header: its bucket and the next page of its chain.
fn bucket_header(bytes: &[u8]) -> Result<(u32, u32)> {
    if read::kind(bytes) != KIND_BUCKET {
        return Err(corrupt(format!("page kind {} is not a bucket", read::kind(bytes))));
    }
    let header = read::tuple(bytes, 0).ok_or_else(|| corrupt("bucket page without a header".into()))?;
    let mut r = LeReader::new(header, "hash bucket header");
    Ok((r.u32()?, r.u32()?))
}

fn bucket_page(bucket: u32, next: u32, items: &[Vec<u8>], page_size: usize, tail: usize) -> Vec<u8> {
    let mut header = bucket.to_le_bytes().to_vec();
    header.extend_from_slice(&next.to_le_bytes());
    page_of(KIND_BUCKET, &header, items, page_size, tail)
}

/// A linear-hashing index in one file of the buffer pool.
#[derive(Debug)]
pub struct HashIndex {
    pool: Arc<BufferPool>,
    file: FileId,
    log: Arc<dyn PageLog>,
    page_size: usize,
    tail: usize,
    max_key: usize,
    state: RwLock<State>,
    entries: AtomicI64,
    bytes: AtomicI64,
    /// Keys with at least one entry, estimated: an insert counts a key new if its bucket holds
    /// no entry of it; a delete counts it gone if the page it leaves holds no other.
    distinct: AtomicI64,
}

/// Where an insert stopped in a bucket's chain.
enum Place {
    Present,
    Fits { page: u32, pos: u16 },
    Full { last: u32 },
}

impl HashIndex {
    /// Creates an empty index with two buckets in `file` (which must hold no pages yet).
    pub fn create(
        pool: Arc<BufferPool>,
        file: FileId,
        heap_file: FileId,
        unique: bool,
        log: Arc<dyn PageLog>,
    ) -> Result<HashIndex> {
        let state = State {
            level: 1,
            split: 0,
            buckets: vec![2, 3],
            map_pages: vec![1],
            unique,
            heap_file: heap_file.0,
            entries: 0,
            bytes: 0,
            distinct: 0,
        };
        let index = Self::new(pool, file, log, state.clone());
        let mut batch = PageBatch::new(&index.pool, file);
        for page in 0..4 {
            batch.latch(page)?;
        }
        if read::kind(batch.bytes(META_PAGE)?) != 0 {
            return Err(DbError::Internal(format!("index file {file} already exists")));
        }
        let (size, tail) = (index.page_size, index.tail);
        let map: Vec<Vec<u8>> = state.buckets.iter().map(|p| p.to_le_bytes().to_vec()).collect();
        batch.image(1, page_of(KIND_MAP, &0u32.to_le_bytes(), &map, size, tail));
        batch.image(2, bucket_page(0, NO_PAGE, &[], size, tail));
        batch.image(3, bucket_page(1, NO_PAGE, &[], size, tail));
        batch.image(META_PAGE, state.meta_image(4, NO_PAGE, size, tail));
        batch.commit(index.log.as_ref())?;
        Ok(index)
    }

    /// Opens the index stored in `file`, reading its bucket map.
    pub fn open(pool: Arc<BufferPool>, file: FileId, log: Arc<dyn PageLog>) -> Result<HashIndex> {
        let context = |e: DbError| match e {
            DbError::Corruption(m) => DbError::Corruption(format!("index file {file}: {m}")),
            other => other,
        };
        let (mut state, _allocator) = {
            let guard = pool.read(PageId::new(file, META_PAGE))?;
            parse_meta(&guard).map_err(context)?
        };
        let expected = (1usize << state.level) + state.split as usize;
        for &map_page in &state.map_pages {
            let guard = pool.read(PageId::new(file, map_page))?;
            for slot in 1..read::slot_count(&guard) {
                state.buckets.push(u32_item(&guard, slot).map_err(context)?);
            }
        }
        if state.buckets.len() != expected {
            let found = format!("{} buckets in the map, {expected} by level and split", state.buckets.len());
            return Err(context(corrupt(found)));
        }
        let (entries, bytes, distinct) = (state.entries as i64, state.bytes as i64, state.distinct as i64);
        let index = Self::new(pool, file, log, state);
        index.entries.store(entries, Ordering::Relaxed);
        index.bytes.store(bytes, Ordering::Relaxed);
        index.distinct.store(distinct, Ordering::Relaxed);
        Ok(index)
    }

    fn new(pool: Arc<BufferPool>, file: FileId, log: Arc<dyn PageLog>, state: State) -> HashIndex {
        let page_size = pool.page_size();
        let tail = pool.disk().cipher(file).reserved_bytes();
        let usable = page_size - HEADER_SIZE - tail;
        HashIndex {
            pool,
            file,
            log,
            page_size,
            tail,
            max_key: usable / 4 - HASH_LEN - TID_LEN - SLOT,
            state: RwLock::new(state),
            entries: AtomicI64::new(0),
            bytes: AtomicI64::new(0),
            distinct: AtomicI64::new(0),
        }
    }

    fn pid(&self, page: u32) -> PageId {
        PageId::new(self.file, page)
    }

    /// The stored item of (key, tid): the hash's low 32 bits first, so most mismatches are
    /// found without comparing keys.
    fn item(&self, key: &[u8], tid: TupleId, heap_file: u32) -> Result<(u64, Vec<u8>)> {
        if key.len() > self.max_key {
            return Err(DbError::sql(
                SqlState::ProgramLimitExceeded,
                format!(
                    "index row size {} exceeds hash index maximum {} for index file {}",
                    key.len(),
                    self.max_key,
                    self.file
                ),
            ));
        }
        if tid.page.file.0 != heap_file {
            return Err(DbError::Internal(format!("tuple {tid:?} is not in heap file {heap_file}")));
        }
        let hash = hash_key(key);
        let mut item = Vec::with_capacity(HASH_LEN + key.len() + TID_LEN);
        item.extend_from_slice(&(hash as u32).to_be_bytes());
        item.extend_from_slice(key);
        crate::paged::push_tid(&mut item, tid);
        Ok((hash, item))
    }

    fn tid_of(heap_file: u32, item: &[u8]) -> TupleId {
        crate::paged::tid_at_end(FileId(heap_file), item)
    }

    /// Calls `f` on every item of the chain starting at `page`, shared-latched page by page.
    fn for_each_item(&self, mut page: u32, mut f: impl FnMut(&[u8])) -> Result<()> {
        let mut guard = self.pool.read(self.pid(page))?;
        loop {
            let next = {
                let (_, next) = bucket_header(&guard).map_err(|e| self.context(page, e))?;
                for slot in 1..read::slot_count(&guard) {
                    if let Some(item) = read::tuple(&guard, slot) {
                        f(item);
                    }
                }
                next
            };
            if next == NO_PAGE {
                return Ok(());
            }
            let following = self.pool.read(self.pid(next))?;
            guard = following;
            page = next;
        }
    }

    fn context(&self, page: u32, e: DbError) -> DbError {
        crate::paged::page_context(self.file, page, e)
    }

    /// Adds (key, tid); false if it was already there.
    pub fn insert_item(&self, key: &[u8], tid: TupleId) -> Result<bool> {
        let added = {
            let state = self.state.read();
            let (hash, item) = self.item(key, tid, state.heap_file)?;
            let primary = state.buckets[state.bucket_of(hash)];
            self.insert_into_chain(&state, primary, &item)?
        };
        if let Some(new_key) = added {
            self.distinct.fetch_add(i64::from(new_key), Ordering::Relaxed);
            self.entries.fetch_add(1, Ordering::Relaxed);
            self.bytes.fetch_add((key.len() + HASH_LEN + TID_LEN + SLOT) as i64, Ordering::Relaxed);
            self.split_while_loaded()?;
        }
        Ok(added.is_some())
    }

    /// `Some(true)` if added with a key new to the bucket, `Some(false)` if added, `None` if
    /// the entry was there.
    fn insert_into_chain(&self, state: &State, primary: u32, item: &[u8]) -> Result<Option<bool>> {
        let mut batch = PageBatch::new(&self.pool, self.file);
        let mut page = primary;
        let mut place = None;
        let mut new_key = true;
        let key_part = crate::paged::key_part(item);
        loop {
            batch.latch(page)?;
            let bytes = batch.bytes(page)?;
            let (_, next) = bucket_header(bytes).map_err(|e| self.context(page, e))?;
            let count = read::slot_count(bytes);
            if (1..count).any(|s| read::tuple(bytes, s) == Some(item)) {
                place = Some(Place::Present);
                break;
            }
            new_key &= !(1..count)
                .any(|s| read::tuple(bytes, s).is_some_and(|t| t.len() == item.len() && t.starts_with(key_part)));
            if place.is_none() && read::fits(bytes, item.len()) {
                place = Some(Place::Fits { page, pos: count - 1 });
            }
            if next == NO_PAGE {
                break;
            }
            page = next;
        }
        match place.unwrap_or(Place::Full { last: page }) {
            Place::Present => Ok(None),
            Place::Fits { page, pos } => {
                batch.changes.push(Change { page, op: Op::Insert { pos, bytes: item.to_vec() } });
                batch.commit(self.log.as_ref())?;
                Ok(Some(new_key))
            }
            Place::Full { last } => {
                // A new overflow page at the chain's end. Meta comes after the bucket pages.
                let (bucket, _) = bucket_header(batch.bytes(last)?)?;
                let last_items = items_of(batch.bytes(last)?);
                let mut alloc = Allocator::begin(&mut batch)?;
                let new = alloc.allocate(&mut batch)?;
                alloc.finish(self, &mut batch, state);
                batch.image(last, bucket_page(bucket, new, &last_items, self.page_size, self.tail));
                batch.image(new, bucket_page(bucket, NO_PAGE, &[item.to_vec()], self.page_size, self.tail));
                batch.commit(self.log.as_ref())?;
                Ok(Some(new_key))
            }
        }
    }

    /// Removes (key, tid); false if it was not there. Emptied overflow pages stay in the chain
    /// until the bucket is next split.
    pub fn delete_item(&self, key: &[u8], tid: TupleId) -> Result<bool> {
        let state = self.state.read();
        let (hash, item) = self.item(key, tid, state.heap_file)?;
        let mut page = state.buckets[state.bucket_of(hash)];
        loop {
            let mut guard = self.pool.write(self.pid(page))?;
            let (_, next) = bucket_header(&guard).map_err(|e| self.context(page, e))?;
            if let Some(slot) = (1..read::slot_count(&guard)).find(|&s| read::tuple(&guard, s) == Some(&item[..])) {
                let key_part = crate::paged::key_part(&item);
                let others = (1..read::slot_count(&guard))
                    .filter(|&s| s != slot)
                    .any(|s| read::tuple(&guard, s).is_some_and(|t| t.len() == item.len() && t.starts_with(key_part)));
                let change = Change { page, op: Op::Remove { pos: slot - 1 } };
                let record = crate::btree::change::encode(self.file, std::slice::from_ref(&change));
                let lsn = self.log.append(&record, &[(self.pid(page), &guard)])?;
                crate::btree::change::apply(&mut guard, &change.op)?;
                Page::new(&mut guard).set_lsn(lsn);
                self.entries.fetch_sub(1, Ordering::Relaxed);
                self.distinct.fetch_sub(i64::from(!others), Ordering::Relaxed);
                self.bytes.fetch_sub((key.len() + HASH_LEN + TID_LEN + SLOT) as i64, Ordering::Relaxed);
                return Ok(true);
            }
            if next == NO_PAGE {
                return Ok(false);
            }
            page = next;
        }
    }

    fn overloaded(&self, buckets: usize) -> bool {
        let usable = (self.page_size - HEADER_SIZE - self.tail) as f64;
        self.bytes.load(Ordering::Relaxed) as f64 > buckets as f64 * usable * LOAD_FACTOR
    }

    fn split_while_loaded(&self) -> Result<()> {
        if !self.overloaded(self.state.read().buckets.len()) {
            return Ok(());
        }
        let mut state = self.state.write();
        while self.overloaded(state.buckets.len()) {
            self.split(&mut state)?;
        }
        Ok(())
    }

    /// Splits the bucket at the split pointer into itself and a new last bucket. The caller
    /// holds the structure lock exclusively: no other operation is inside any bucket.
    fn split(&self, state: &mut State) -> Result<()> {
        let old = state.split as usize;
        let new_bucket = state.buckets.len();
        let wider = state.level + 1;
        let mut chain = vec![state.buckets[old]];
        let (mut stay, mut go) = (Vec::new(), Vec::new());
        let mut batch = PageBatch::new(&self.pool, self.file);
        loop {
            let page = chain[chain.len() - 1];
            batch.latch(page)?;
            let bytes = batch.bytes(page)?;
            let (_, next) = bucket_header(bytes).map_err(|e| self.context(page, e))?;
            for item in items_of(bytes) {
                let key = &crate::paged::key_part(&item)[HASH_LEN..];
                let target = (hash_key(key) % (1u64 << wider)) as usize;
                if target == old { stay.push(item) } else { go.push(item) }
            }
            if next == NO_PAGE {
                break;
            }
            chain.push(next);
        }
        let mut next_state = state.clone();
        let mut alloc = Allocator::begin(&mut batch)?;
        let stay_pages = self.pack(&stay);
        let go_pages = self.pack(&go);
        // The old chain's pages are reused in order; what is left over is freed.
        let mut old_pages = chain.clone();
        let mut placed = Vec::new();
        for _ in 0..stay_pages.len() {
            placed.push(if old_pages.is_empty() { alloc.allocate(&mut batch)? } else { old_pages.remove(0) });
        }
        let mut new_pages = Vec::new();
        for _ in 0..go_pages.len() {
            new_pages.push(if old_pages.is_empty() { alloc.allocate(&mut batch)? } else { old_pages.remove(0) });
        }
        let (size, tail) = (self.page_size, self.tail);
        for (pages, groups, bucket) in [(&placed, &stay_pages, old), (&new_pages, &go_pages, new_bucket)] {
            for (i, (page, items)) in pages.iter().zip(groups.iter()).enumerate() {
                let next = pages.get(i + 1).copied().unwrap_or(NO_PAGE);
                batch.image(*page, bucket_page(bucket as u32, next, items, size, tail));
            }
        }
        for page in old_pages {
            batch.image(page, free_page(alloc.free_head, size, tail));
            alloc.free_head = page;
        }
        // The map gains the new bucket's primary page; a full map page is followed by a new one.
        let map_slots = ((size - HEADER_SIZE - tail) / (4 + SLOT)).saturating_sub(2);
        let last_map = *next_state.map_pages.last().ok_or_else(|| corrupt("no map page".into()))?;
        let in_last = new_bucket - (next_state.map_pages.len() - 1) * map_slots;
        let entry = new_pages[0].to_le_bytes().to_vec();
        if in_last < map_slots {
            batch.latch(last_map)?;
            batch.changes.push(Change { page: last_map, op: Op::Insert { pos: in_last as u16, bytes: entry } });
        } else {
            let map_page = alloc.allocate(&mut batch)?;
            let ordinal = (next_state.map_pages.len() as u32).to_le_bytes();
            batch.image(map_page, page_of(KIND_MAP, &ordinal, &[entry], size, tail));
            next_state.map_pages.push(map_page);
        }
        next_state.buckets.push(new_pages[0]);
        next_state.split += 1;
        if next_state.split == 1 << next_state.level {
            next_state.level += 1;
            next_state.split = 0;
        }
        alloc.finish(self, &mut batch, &next_state);
        batch.commit(self.log.as_ref())?;
        *state = next_state;
        Ok(())
    }

    /// Groups items into pages' worth (at least one page, empty if no items).
    fn pack(&self, items: &[Vec<u8>]) -> Vec<Vec<Vec<u8>>> {
        let room = self.page_size - HEADER_SIZE - self.tail - (8 + SLOT);
        let mut pages = vec![Vec::new()];
        let mut used = 0;
        for item in items {
            let size = item.len() + SLOT;
            if used + size > room {
                pages.push(Vec::new());
                used = 0;
            }
            used += size;
            if let Some(page) = pages.last_mut() {
                page.push(item.clone());
            }
        }
        pages
    }

    /// Records the entry counts in the meta page (logged), for an exact start after reopening.
    pub fn save_stats(&self) -> Result<()> {
        let state = self.state.read();
        let mut batch = PageBatch::new(&self.pool, self.file);
        let alloc = Allocator::begin(&mut batch)?;
        alloc.finish(self, &mut batch, &state);
        batch.commit(self.log.as_ref())
    }

    /// Number of buckets.
    pub fn buckets(&self) -> usize {
        self.state.read().buckets.len()
    }
}

/// Page allocation within one batch: the meta page latched (after the bucket pages), the
/// free chain popped or the file grown.
struct Allocator {
    pages: u32,
    free_head: u32,
}

impl Allocator {
    fn begin(batch: &mut PageBatch<'_>) -> Result<Allocator> {
        batch.latch(META_PAGE)?;
        Ok(parse_meta(batch.bytes(META_PAGE)?)?.1)
    }

    fn allocate(&mut self, batch: &mut PageBatch<'_>) -> Result<u32> {
        if self.free_head != NO_PAGE {
            let page = self.free_head;
            batch.latch(page)?;
            self.free_head = free_next(batch.bytes(page)?)?;
            return Ok(page);
        }
        let page = self.pages;
        self.pages = page
            .checked_add(1)
            .filter(|p| *p != NO_PAGE)
            .ok_or_else(|| DbError::sql(SqlState::ProgramLimitExceeded, "index is too large"))?;
        batch.latch(page)?;
        Ok(page)
    }

    /// Adds the meta page's new image to the batch.
    fn finish(&self, index: &HashIndex, batch: &mut PageBatch<'_>, state: &State) {
        let mut meta = state.clone();
        meta.entries = index.entries.load(Ordering::Relaxed).max(0) as u64;
        meta.bytes = index.bytes.load(Ordering::Relaxed).max(0) as u64;
        meta.distinct = index.distinct.load(Ordering::Relaxed).max(0) as u64;
        batch.image(META_PAGE, meta.meta_image(self.pages, self.free_head, index.page_size, index.tail));
    }
}

fn items_of(bytes: &[u8]) -> Vec<Vec<u8>> {
    (1..read::slot_count(bytes)).filter_map(|s| read::tuple(bytes, s).map(<[u8]>::to_vec)).collect()
}

impl Index for HashIndex {
    fn insert(&self, key: &[u8], tid: TupleId) -> Result<()> {
        self.insert_item(key, tid).map(|_| ())
    }

    fn delete(&self, key: &[u8], tid: TupleId) -> Result<()> {
        self.delete_item(key, tid).map(|_| ())
    }

    fn lookup(&self, key: &[u8]) -> Result<Vec<TupleId>> {
        let state = self.state.read();
        let hash = hash_key(key);
        let prefix = (hash as u32).to_be_bytes();
        let mut out = Vec::new();
        self.for_each_item(state.buckets[state.bucket_of(hash)], |item| {
            if item.len() == HASH_LEN + key.len() + TID_LEN
                && item[..HASH_LEN] == prefix
                && &crate::paged::key_part(item)[HASH_LEN..] == key
            {
                out.push(Self::tid_of(state.heap_file, item));
            }
        })?;
        out.sort_unstable();
        Ok(out)
    }

    fn save_stats(&self) -> Result<()> {
        HashIndex::save_stats(self)
    }

    fn range(&self, _: Bound<&[u8]>, _: Bound<&[u8]>, _: bool) -> Result<Vec<(Vec<u8>, TupleId)>> {
        Err(DbError::sql(SqlState::FeatureNotSupported, "hash indexes support only equality lookups"))
    }

    fn stats(&self) -> IndexStats {
        let entries = self.entries.load(Ordering::Relaxed).max(0) as u64;
        let distinct = (self.distinct.load(Ordering::Relaxed).max(0) as u64).min(entries);
        IndexStats { entries, distinct_keys: distinct, height: 1 }
    }
}

#[cfg(test)]
mod tests;
