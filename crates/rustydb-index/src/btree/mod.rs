//! A persistent B+tree on buffer-pool pages.
//!
//! ```text
//!   page 0: meta (free chain, page count, statistics)    page 1: the root, always
//!   inner nodes ── separators route by key ──► leaves ──right links──► leaves ...
//! ```
//!
//! Entries are `key ‖ tid` (see [`node`]), so an entry is unique even when keys repeat and a
//! non-unique index needs no posting lists; keys must be prefix-free (as [`crate::keycode`]'s
//! are) so that byte order of entries is (key, tid) order.
//!
//! ## Concurrency: latch coupling
//! - **Readers** descend holding a shared latch on a node until the child's is taken, and walk
//!   the leaf chain left to right the same way. Readers never block readers.
//! - **Writers** first try optimistically: shared latches down to the leaf's parent, an
//!   exclusive one on the leaf. Most inserts and deletes end there. One that must split, merge
//!   or redistribute starts again *pessimistically*: exclusive latches from the root down,
//!   letting go of every ancestor above a node that is *safe* (one that cannot split or
//!   underflow whatever happens below), so only the part of the path that may change stays held.
//! - **Latch order**: parent before child; left sibling before right; tree pages before the meta
//!   page; the meta page before free pages. Backward scans would break "left before right", so
//!   they never take a left sibling while holding a leaf: they let go and descend again from the
//!   root to the leaf before the current one's low fence.
//! - The root never moves (a root split moves the root's items down into two new pages; a root
//!   with one child takes the child's items back up), so nothing needs to latch a root pointer.
//!
//! ## Logging
//! Every change is logged before the pages change, through [`PageLog`] (see [`change`]): a
//! single-leaf insert or delete as one small change, a structure change as one record of whole
//! page images, so that recovery never sees half a split.
//!
//! Structure changes compute every new page from the pages as they were, log, and only then
//! apply: a failure before the log append (a full buffer pool, say) leaves the tree untouched.

mod bulk;
pub mod change;
pub mod node;

use crate::paged::{PageBatch, key_part};
use crate::{Index, IndexStats};
use change::{Change, Op, apply, encode};
use node::{Item, Meta, NO_PAGE, Node, SLOT, Shape, TID_LEN, free_next, free_page, items_size, shortest_separator};
use rustydb_foundation::{DbError, FileId, Lsn, PageId, Result, SqlState, TupleId};
use rustydb_storage::page::{HEADER_SIZE, Page};
use rustydb_storage::{BufferPool, LogDevice, PageWriteGuard};
use std::cmp::Ordering;
use std::ops::Bound;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering as AtomicOrdering};

/// The meta page.
pub const META_PAGE: u32 = 0;
/// The root page (it never moves).
pub const ROOT_PAGE: u32 = 1;

/// Where an index appends its log records. The transaction layer implements it with its own
/// record framing; the log device itself serves standalone use.
pub trait PageLog: Send + Sync + std::fmt::Debug {
    /// Appends one record changing `pages` (each with its bytes before the change, latched by
    /// the caller, for a full-page image if it needs one) and returns its LSN (it need not be
    /// durable yet: commit flushes).
    fn append(&self, record: &[u8], pages: &[(PageId, &[u8])]) -> Result<Lsn>;
}

impl PageLog for LogDevice {
    fn append(&self, record: &[u8], pages: &[(PageId, &[u8])]) -> Result<Lsn> {
        LogDevice::append_for_pages(self, pages, record)
    }
}

/// A B+tree index in one file of the buffer pool.
#[derive(Debug)]
pub struct BTree {
    pool: Arc<BufferPool>,
    file: FileId,
    heap_file: FileId,
    unique: bool,
    log: Arc<dyn PageLog>,
    page_size: usize,
    tail: usize,
    max_entry: usize,
    min_fill: usize,
    entries: AtomicI64,
    distinct: AtomicI64,
}

/// A node's contents, owned (so the structure code can plan while pages stay unchanged).
#[derive(Debug, Clone)]
struct Owned {
    level: u8,
    right: u32,
    low: Option<Vec<u8>>,
    high: Option<Vec<u8>>,
    items: Vec<Item>,
}

impl Owned {
    fn shape(&self) -> Shape<'_> {
        Shape { level: self.level, right: self.right, low: self.low.as_deref(), high: self.high.as_deref() }
    }
}

fn shape<'k>(level: u8, right: u32, low: Option<&'k [u8]>, high: Option<&'k [u8]>) -> Shape<'k> {
    Shape { level, right, low, high }
}

/// The pages a structure change holds, and the changes it will log.
struct Smo<'a> {
    tree: &'a BTree,
    batch: PageBatch<'a>,
    meta: Option<Meta>,
}

impl<'a> Smo<'a> {
    fn new(tree: &'a BTree) -> Self {
        Smo { tree, batch: PageBatch::new(&tree.pool, tree.file), meta: None }
    }

    fn latch(&mut self, page: u32) -> Result<()> {
        self.batch.latch(page)
    }

    fn release(&mut self, page: u32) {
        self.batch.release(page);
    }

    fn bytes(&self, page: u32) -> Result<&[u8]> {
        self.batch.bytes(page)
    }

    fn node(&self, page: u32) -> Result<Node<'_>> {
        let bytes = self.bytes(page)?;
        Node::parse(bytes).map_err(|e| self.tree.context(page, e))
    }

    fn owned(&self, page: u32) -> Result<Owned> {
        let n = self.node(page)?;
        Ok(Owned {
            level: n.level,
            right: n.right,
            low: n.low.map(<[u8]>::to_vec),
            high: n.high.map(<[u8]>::to_vec),
            items: n.items()?,
        })
    }

    fn load_meta(&mut self) -> Result<Meta> {
        if let Some(meta) = self.meta {
            return Ok(meta);
        }
        self.latch(META_PAGE)?;
        let meta = Meta::parse(self.bytes(META_PAGE)?).map_err(|e| self.tree.context(META_PAGE, e))?;
        self.meta = Some(meta);
        Ok(meta)
    }

    /// A page for a new node: the head of the free chain, or a new one at the file's end.
    fn allocate(&mut self) -> Result<u32> {
        let mut meta = self.load_meta()?;
        let page = if meta.free_head != NO_PAGE {
            let page = meta.free_head;
            self.latch(page)?;
            meta.free_head = free_next(self.bytes(page)?).map_err(|e| self.tree.context(page, e))?;
            page
        } else {
            let page = meta.pages;
            meta.pages = page
                .checked_add(1)
                .filter(|p| *p != NO_PAGE)
                .ok_or_else(|| DbError::sql(SqlState::ProgramLimitExceeded, "index is too large"))?;
            self.latch(page)?;
            page
        };
        self.meta = Some(meta);
        Ok(page)
    }

    /// Puts a (latched) page on the free chain.
    fn free(&mut self, page: u32) -> Result<()> {
        let mut meta = self.load_meta()?;
        let image = free_page(meta.free_head, self.tree.page_size, self.tree.tail);
        meta.free_head = page;
        self.meta = Some(meta);
        self.image(page, image);
        Ok(())
    }

    fn image(&mut self, page: u32, bytes: Vec<u8>) {
        self.batch.image(page, bytes);
    }

    fn build(&self, shape: Shape<'_>, items: &[Item]) -> Result<Vec<u8>> {
        shape
            .build(items, self.tree.page_size, self.tree.tail)
            .ok_or_else(|| DbError::Internal(format!("B+tree: {} items do not fit a node", items.len())))
    }

    /// Logs every change as one record, then applies them.
    fn finish(mut self) -> Result<()> {
        if let Some(mut meta) = self.meta {
            meta.entries = self.tree.entries.load(AtomicOrdering::Relaxed).max(0) as u64;
            meta.distinct = self.tree.distinct.load(AtomicOrdering::Relaxed).max(0) as u64;
            let image = meta.build(self.tree.page_size, self.tree.tail);
            self.image(META_PAGE, image);
        }
        self.batch.commit(self.tree.log.as_ref())
    }
}

/// Where a balanced split of `items` puts its first right-hand item.
fn balanced_split(items: &[Item], level: u8) -> usize {
    let total = items_size(level, 0, items);
    let mut acc = 0;
    for (i, item) in items.iter().enumerate() {
        acc += items_size(level, 0, std::slice::from_ref(item));
        if acc * 2 >= total {
            return (i + 1).clamp(1, items.len() - 1);
        }
    }
    items.len() - 1
}

/// The separator between `items[m - 1]` and `items[m]`: the shortest that divides them in a
/// leaf (suffix truncation), the right-hand item's own in an inner node.
fn separator(items: &[Item], m: usize, level: u8) -> Vec<u8> {
    if level == 0 { shortest_separator(&items[m - 1].key, &items[m].key) } else { items[m].key.clone() }
}

impl BTree {
    /// Creates an empty index in `file` (which must hold no pages yet) over heap `heap_file`.
    pub fn create(
        pool: Arc<BufferPool>,
        file: FileId,
        heap_file: FileId,
        unique: bool,
        log: Arc<dyn PageLog>,
    ) -> Result<BTree> {
        let tree = Self::new(pool, file, heap_file, unique, log);
        let mut smo = Smo::new(&tree);
        smo.latch(META_PAGE)?;
        smo.latch(ROOT_PAGE)?;
        if rustydb_storage::page::read::kind(smo.bytes(META_PAGE)?) != 0 {
            return Err(DbError::Internal(format!("index file {file} already exists")));
        }
        let root = smo.build(shape(0, NO_PAGE, None, None), &[])?;
        smo.image(ROOT_PAGE, root);
        smo.meta = Some(Meta { unique, heap_file: heap_file.0, pages: 2, free_head: NO_PAGE, entries: 0, distinct: 0 });
        smo.finish()?;
        Ok(tree)
    }

    /// Opens the index stored in `file`.
    pub fn open(pool: Arc<BufferPool>, file: FileId, log: Arc<dyn PageLog>) -> Result<BTree> {
        let meta = {
            let guard = pool.read(PageId::new(file, META_PAGE))?;
            Meta::parse(&guard).map_err(|e| DbError::Corruption(format!("index file {file}: {e}")))?
        };
        let tree = Self::new(pool, file, FileId(meta.heap_file), meta.unique, log);
        tree.entries.store(meta.entries as i64, AtomicOrdering::Relaxed);
        tree.distinct.store(meta.distinct as i64, AtomicOrdering::Relaxed);
        Ok(tree)
    }

    fn new(pool: Arc<BufferPool>, file: FileId, heap_file: FileId, unique: bool, log: Arc<dyn PageLog>) -> BTree {
        let page_size = pool.page_size();
        let tail = pool.disk().cipher(file).reserved_bytes();
        let usable = page_size - HEADER_SIZE - tail;
        BTree {
            pool,
            file,
            heap_file,
            unique,
            log,
            page_size,
            tail,
            // At least four of the longest entries, and two fences as long, fit any node.
            max_entry: usable / 8 - 16,
            min_fill: usable / 4,
            entries: AtomicI64::new(0),
            distinct: AtomicI64::new(0),
        }
    }

    /// Records the entry and distinct-key counts in the meta page (logged). They are kept there
    /// at every structure change anyway; the engine calls this at checkpoints and shutdown so
    /// that a reopened index starts from exact figures. After a crash they are an estimate.
    pub fn save_stats(&self) -> Result<()> {
        let mut smo = Smo::new(self);
        smo.load_meta()?;
        smo.finish()
    }

    /// The index file.
    pub fn file(&self) -> FileId {
        self.file
    }

    /// True if the index was created unique.
    pub fn is_unique(&self) -> bool {
        self.unique
    }

    /// The longest key the index takes.
    pub fn max_key_len(&self) -> usize {
        self.max_entry - TID_LEN
    }

    fn pid(&self, page: u32) -> PageId {
        PageId::new(self.file, page)
    }

    fn context(&self, page: u32, e: DbError) -> DbError {
        crate::paged::page_context(self.file, page, e)
    }

    fn max_item(&self) -> usize {
        self.max_entry + 4
    }

    /// Where to split `items` of a node with fences `low`..`high`, and the separator: balanced,
    /// or for an insert at the end of the rightmost node (ascending keys) as full on the left
    /// as fits, so that sequential loads leave full leaves. `None` if no split point fits both
    /// halves (only possible for redistribution, where the caller then leaves things be).
    fn choose_split(
        &self,
        items: &[Item],
        level: u8,
        append: bool,
        low: Option<&[u8]>,
        high: Option<&[u8]>,
    ) -> Option<(usize, Vec<u8>)> {
        let balanced = balanced_split(items, level);
        let mut order: Vec<usize> = if append { (balanced..items.len()).rev().collect() } else { vec![balanced] };
        for d in 1..items.len() {
            order.extend(
                [balanced.checked_sub(d), Some(balanced + d)]
                    .into_iter()
                    .flatten()
                    .filter(|m| (1..items.len()).contains(m)),
            );
        }
        order.into_iter().find_map(|m| {
            let sep = separator(items, m, level);
            let fits = shape(level, 0, low, Some(&sep)).fits(&items[..m], self.page_size, self.tail)
                && shape(level, 0, Some(&sep), high).fits(&items[m..], self.page_size, self.tail);
            fits.then_some((m, sep))
        })
    }

    fn entry(&self, key: &[u8], tid: TupleId) -> Result<Vec<u8>> {
        if key.len() > self.max_key_len() {
            return Err(DbError::sql(
                SqlState::ProgramLimitExceeded,
                format!(
                    "index row size {} exceeds btree maximum {} for index file {}",
                    key.len(),
                    self.max_key_len(),
                    self.file
                ),
            )
            .with_detail("Values larger than 1/8 of a page cannot be indexed."));
        }
        if tid.page.file != self.heap_file {
            return Err(DbError::Internal(format!("tuple {tid:?} is not in heap file {}", self.heap_file)));
        }
        let mut entry = Vec::with_capacity(key.len() + TID_LEN);
        entry.extend_from_slice(key);
        crate::paged::push_tid(&mut entry, tid);
        Ok(entry)
    }

    fn tid_of(&self, entry: &[u8]) -> TupleId {
        crate::paged::tid_at_end(self.heap_file, entry)
    }

    // ---- reading ----------------------------------------------------------------------------

    /// The leaf covering `target` (`None`: the rightmost), read-latched, by latch coupling.
    fn leaf_for_read(&self, target: Option<&[u8]>, strict: bool) -> Result<rustydb_storage::PageReadGuard<'_>> {
        let mut page = ROOT_PAGE;
        let mut guard = self.pool.read(self.pid(page))?;
        let mut expected = None;
        loop {
            let child = {
                let node = Node::parse(&guard).map_err(|e| self.context(page, e))?;
                if expected.is_some_and(|level| level != node.level) {
                    let found = format!("level {} where level {expected:?} belongs", node.level);
                    return Err(self.context(page, DbError::Corruption(found)));
                }
                if node.is_leaf() {
                    return Ok(guard);
                }
                expected = Some(node.level - 1);
                let i = match target {
                    Some(t) => node.child_index(t, strict)?,
                    None => node.count.saturating_sub(1),
                };
                node.child(i)?
            };
            let next = self.pool.read(self.pid(child))?;
            guard = next;
            page = child;
        }
    }

    /// Calls `f` on every entry `>= start` in order until it returns false.
    pub fn scan_forward(&self, start: &[u8], mut f: impl FnMut(&[u8]) -> Result<bool>) -> Result<()> {
        let mut guard = self.leaf_for_read(Some(start), false)?;
        let mut i = None;
        let mut entry = Vec::new();
        loop {
            let right = {
                let node = Node::parse(&guard)?;
                let mut i = match i.take() {
                    Some(i) => i,
                    None => node.lower_bound(start)?,
                };
                while i < node.count {
                    node.key_into(i, &mut entry)?;
                    if !f(&entry)? {
                        return Ok(());
                    }
                    i += 1;
                }
                node.right
            };
            if right == NO_PAGE {
                return Ok(());
            }
            let next = self.pool.read(self.pid(right))?;
            guard = next;
            i = Some(0);
        }
    }

    /// Calls `f` on every entry `< end` (all if `None`) in descending order until it returns
    /// false. Each leaf is found from the root, below the previous leaf's low fence.
    pub fn scan_backward(&self, end: Option<&[u8]>, mut f: impl FnMut(&[u8]) -> Result<bool>) -> Result<()> {
        let mut bound = end.map(<[u8]>::to_vec);
        let mut entry = Vec::new();
        loop {
            let guard = self.leaf_for_read(bound.as_deref(), true)?;
            let node = Node::parse(&guard)?;
            let mut i = match &bound {
                Some(b) => node.lower_bound(b)?,
                None => node.count,
            };
            while i > 0 {
                i -= 1;
                node.key_into(i, &mut entry)?;
                if !f(&entry)? {
                    return Ok(());
                }
            }
            match node.low {
                None => return Ok(()),
                Some(low) => bound = Some(low.to_vec()),
            }
        }
    }

    // ---- inserting --------------------------------------------------------------------------

    /// The leaf covering `target`, write-latched: shared latches down to its parent.
    fn leaf_for_write(&self, target: &[u8]) -> Result<(u32, PageWriteGuard<'_>)> {
        loop {
            let mut page = ROOT_PAGE;
            let mut guard = self.pool.read(self.pid(page))?;
            if Node::parse(&guard).map_err(|e| self.context(page, e))?.is_leaf() {
                drop(guard);
                let write = self.pool.write(self.pid(ROOT_PAGE))?;
                if Node::parse(&write).map_err(|e| self.context(ROOT_PAGE, e))?.is_leaf() {
                    return Ok((ROOT_PAGE, write));
                }
                continue; // the root split meanwhile
            }
            loop {
                let (level, child) = {
                    let node = Node::parse(&guard).map_err(|e| self.context(page, e))?;
                    (node.level, node.child(node.child_index(target, false)?)?)
                };
                if level == 1 {
                    let leaf = self.pool.write(self.pid(child))?;
                    if !Node::parse(&leaf).map_err(|e| self.context(child, e))?.is_leaf() {
                        return Err(self.context(child, DbError::Corruption("expected a leaf".into())));
                    }
                    return Ok((child, leaf));
                }
                let next = self.pool.read(self.pid(child))?;
                guard = next;
                page = child;
            }
        }
    }

    /// True if `entry`'s key is not in the leaf beside position `pos` (a cheap estimate of
    /// whether the key is new or gone, for the distinct-key statistic).
    fn lone_key(node: &Node<'_>, pos: usize, skip: usize, entry: &[u8]) -> Result<bool> {
        let key = key_part(entry);
        for i in [pos.checked_sub(1), Some(pos + skip)].into_iter().flatten() {
            if i < node.count && node.item_has_key(i, key)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Adds an entry; false if it was already there.
    pub fn insert_entry(&self, entry: &[u8]) -> Result<bool> {
        {
            let (page, mut guard) = self.leaf_for_write(entry)?;
            let node = Node::parse(&guard).map_err(|e| self.context(page, e))?;
            let pos = node.lower_bound(entry)?;
            if pos < node.count && node.cmp_item(pos, entry)? == Ordering::Equal {
                return Ok(false);
            }
            let stored = node.encode_item(&Item { key: entry.to_vec(), child: 0 });
            if node.free() >= stored.len() {
                let lone = Self::lone_key(&node, pos, 0, entry)?;
                let op = Op::Insert { pos: pos as u16, bytes: stored };
                let lsn = self
                    .log
                    .append(&encode(self.file, &[Change { page, op: op.clone() }]), &[(self.pid(page), &guard)])?;
                apply(&mut guard, &op)?;
                Page::new(&mut guard).set_lsn(lsn);
                self.count(1, lone);
                return Ok(true);
            }
        }
        self.insert_restructuring(entry)
    }

    fn count(&self, delta: i64, distinct: bool) {
        self.entries.fetch_add(delta, AtomicOrdering::Relaxed);
        if distinct {
            self.distinct.fetch_add(delta, AtomicOrdering::Relaxed);
        }
    }

    /// The pessimistic path: exclusive latches from the root down, kept above unsafe nodes.
    fn latch_path(&self, smo: &mut Smo<'_>, target: &[u8], safe: impl Fn(u32, &Node<'_>) -> bool) -> Result<Vec<u32>> {
        let mut path = Vec::new();
        let mut page = ROOT_PAGE;
        loop {
            smo.latch(page)?;
            let (is_safe, next) = {
                let node = smo.node(page)?;
                let next = if node.is_leaf() { None } else { Some(node.child(node.child_index(target, false)?)?) };
                (safe(page, &node), next)
            };
            if is_safe {
                for p in path.drain(..) {
                    smo.release(p);
                }
            }
            path.push(page);
            match next {
                Some(child) => page = child,
                None => return Ok(path),
            }
        }
    }

    fn insert_restructuring(&self, entry: &[u8]) -> Result<bool> {
        let mut smo = Smo::new(self);
        let max_item = self.max_item();
        let path =
            self.latch_path(&mut smo, entry, |_, n| n.free() >= if n.is_leaf() { entry.len() } else { max_item })?;
        let leaf = *path.last().ok_or_else(|| DbError::Internal("empty B+tree path".into()))?;
        let (pos, lone) = {
            let node = smo.node(leaf)?;
            let pos = node.lower_bound(entry)?;
            if pos < node.count && node.cmp_item(pos, entry)? == Ordering::Equal {
                return Ok(false);
            }
            (pos, Self::lone_key(&node, pos, 0, entry)?)
        };
        let mut insert = (pos, Item { key: entry.to_vec(), child: 0 });
        for depth in (0..path.len()).rev() {
            let page = path[depth];
            let node = smo.owned(page)?;
            let stored = smo.node(page)?.encode_item(&insert.1);
            if smo.node(page)?.free() >= stored.len() {
                smo.batch.changes.push(Change { page, op: Op::Insert { pos: insert.0 as u16, bytes: stored } });
                break;
            }
            let append = node.right == NO_PAGE && insert.0 == node.items.len();
            let mut items = node.items.clone();
            items.insert(insert.0, insert.1.clone());
            let (m, sep) = self
                .choose_split(&items, node.level, append, node.low.as_deref(), node.high.as_deref())
                .ok_or_else(|| DbError::Internal(format!("B+tree: no split of page {page} fits")))?;
            let (left_items, right_items) = items.split_at(m);
            if page == ROOT_PAGE {
                let (a, b) = (smo.allocate()?, smo.allocate()?);
                let left = smo.build(shape(node.level, b, None, Some(&sep)), left_items)?;
                let right = smo.build(shape(node.level, NO_PAGE, Some(&sep), None), right_items)?;
                let root_items = [Item { key: Vec::new(), child: a }, Item { key: sep.clone(), child: b }];
                let root = smo.build(shape(node.level + 1, NO_PAGE, None, None), &root_items)?;
                smo.image(a, left);
                smo.image(b, right);
                smo.image(ROOT_PAGE, root);
                break;
            }
            let parent = depth
                .checked_sub(1)
                .map(|d| path[d])
                .ok_or_else(|| DbError::Internal(format!("B+tree: split of page {page} reached a released parent")))?;
            let r = smo.allocate()?;
            let left = smo.build(shape(node.level, r, node.low.as_deref(), Some(&sep)), left_items)?;
            let right = smo.build(shape(node.level, node.right, Some(&sep), node.high.as_deref()), right_items)?;
            smo.image(page, left);
            smo.image(r, right);
            let at = smo.node(parent)?.child_index(entry, false)?;
            insert = (at + 1, Item { key: sep, child: r });
        }
        smo.finish()?;
        self.count(1, lone);
        Ok(true)
    }

    // ---- deleting ---------------------------------------------------------------------------

    /// Removes an entry; false if it was not there.
    pub fn delete_entry(&self, entry: &[u8]) -> Result<bool> {
        {
            let (page, mut guard) = self.leaf_for_write(entry)?;
            let node = Node::parse(&guard).map_err(|e| self.context(page, e))?;
            let pos = node.lower_bound(entry)?;
            if pos >= node.count || node.cmp_item(pos, entry)? != Ordering::Equal {
                return Ok(false);
            }
            let stays_full = node.used() - node.suffix(pos)?.len() - SLOT >= self.min_fill;
            if page == ROOT_PAGE || stays_full {
                let lone = Self::lone_key(&node, pos, 1, entry)?;
                let op = Op::Remove { pos: pos as u16 };
                let lsn = self
                    .log
                    .append(&encode(self.file, &[Change { page, op: op.clone() }]), &[(self.pid(page), &guard)])?;
                apply(&mut guard, &op)?;
                Page::new(&mut guard).set_lsn(lsn);
                self.count(-1, lone);
                return Ok(true);
            }
        }
        self.delete_restructuring(entry)
    }

    fn delete_restructuring(&self, entry: &[u8]) -> Result<bool> {
        let mut smo = Smo::new(self);
        let (max_item, min_fill) = (self.max_item(), self.min_fill);
        let path = self.latch_path(&mut smo, entry, |page, n| {
            if page == ROOT_PAGE {
                n.is_leaf() || (n.count > 2 && n.free() >= max_item)
            } else {
                n.used() >= min_fill + max_item + SLOT && n.free() >= max_item
            }
        })?;
        let leaf = *path.last().ok_or_else(|| DbError::Internal("empty B+tree path".into()))?;
        let (pos, lone) = {
            let node = smo.node(leaf)?;
            let pos = node.lower_bound(entry)?;
            if pos >= node.count || node.cmp_item(pos, entry)? != Ordering::Equal {
                return Ok(false);
            }
            (pos, Self::lone_key(&node, pos, 1, entry)?)
        };
        let mut current = smo.owned(leaf)?;
        current.items.remove(pos);
        let mut merged: Option<Owned> = None;
        // Pages are freed only once every node is latched: the meta page comes last in the
        // latch order, so it must not be held while a sibling is latched.
        let mut to_free = Vec::new();
        for depth in (0..path.len()).rev() {
            let page = path[depth];
            if page == ROOT_PAGE {
                match merged.take() {
                    Some(child) if current.level > 0 && current.items.len() == 1 => {
                        // The root's only child comes back up into the root.
                        let root = smo.build(shape(child.level, NO_PAGE, None, None), &child.items)?;
                        smo.image(ROOT_PAGE, root);
                        to_free.push(current.items[0].child);
                    }
                    _ => {
                        let root = smo.build(current.shape(), &current.items)?;
                        smo.image(ROOT_PAGE, root);
                    }
                }
                break;
            }
            let prefix_len = match (&current.low, &current.high) {
                (Some(l), Some(h)) => node::common_prefix(l, h),
                _ => 0,
            };
            let parent = depth.checked_sub(1).map(|d| path[d]);
            let parent = match parent {
                Some(p) if items_size(current.level, prefix_len, &current.items) < min_fill => p,
                _ => {
                    let image = smo.build(current.shape(), &current.items)?;
                    smo.image(page, image);
                    break;
                }
            };
            let mut parent_node = smo.owned(parent)?;
            let at = smo.node(parent)?.child_index(entry, false)?;
            if parent_node.items.len() < 2 {
                let image = smo.build(current.shape(), &current.items)?;
                smo.image(page, image);
                break;
            }
            let (li, ri) = if at + 1 < parent_node.items.len() { (at, at + 1) } else { (at - 1, at) };
            let (lp, rp) = (parent_node.items[li].child, parent_node.items[ri].child);
            if rp == page {
                // Left before right: let go of this page (its change is only planned) first.
                smo.release(page);
                smo.latch(lp)?;
                smo.latch(page)?;
            } else {
                smo.latch(rp)?;
            }
            let left = if lp == page { current.clone() } else { smo.owned(lp)? };
            let mut right = if rp == page { current.clone() } else { smo.owned(rp)? };
            if right.level > 0 {
                right.items[0].key = parent_node.items[ri].key.clone();
            }
            let mut combined = left.items.clone();
            combined.extend(right.items.iter().cloned());
            let merged_shape = shape(left.level, right.right, left.low.as_deref(), right.high.as_deref());
            if let Some(image) = merged_shape.build(&combined, self.page_size, self.tail) {
                smo.image(lp, image);
                to_free.push(rp);
                parent_node.items.remove(ri);
                merged = Some(Owned {
                    level: left.level,
                    right: right.right,
                    low: left.low,
                    high: right.high,
                    items: combined,
                });
                current = parent_node;
                continue;
            }
            // Redistribute: the two siblings split their entries evenly under a new separator.
            let Some((m, sep)) =
                self.choose_split(&combined, left.level, false, left.low.as_deref(), right.high.as_deref())
            else {
                let image = smo.build(current.shape(), &current.items)?;
                smo.image(page, image);
                break;
            };
            parent_node.items[ri].key = sep.clone();
            let new_left =
                shape(left.level, rp, left.low.as_deref(), Some(&sep)).build(&combined[..m], self.page_size, self.tail);
            let new_right = shape(left.level, right.right, Some(&sep), right.high.as_deref()).build(
                &combined[m..],
                self.page_size,
                self.tail,
            );
            let new_parent = parent_node.shape().build(&parent_node.items, self.page_size, self.tail);
            match (new_left, new_right, new_parent) {
                (Some(l), Some(r), Some(p)) => {
                    smo.image(lp, l);
                    smo.image(rp, r);
                    smo.image(parent, p);
                }
                _ => {
                    // The new separator does not fit the parent: leave this node underfull.
                    let image = smo.build(current.shape(), &current.items)?;
                    smo.image(page, image);
                }
            }
            break;
        }
        for page in to_free {
            smo.free(page)?;
        }
        smo.finish()?;
        self.count(-1, lone);
        Ok(true)
    }

    // ---- checking ---------------------------------------------------------------------------

    /// Walks the whole tree checking its invariants — fences, order, levels, the leaf chain —
    /// and returns the number of entries. Takes shared latches; meant for tests and `check`.
    pub fn check(&self) -> Result<u64> {
        let mut leaves = Vec::new();
        let root_level = {
            let guard = self.pool.read(self.pid(ROOT_PAGE))?;
            Node::parse(&guard).map_err(|e| self.context(ROOT_PAGE, e))?.level
        };
        let entries = self.check_node(ROOT_PAGE, root_level, None, None, &mut leaves)?;
        for pair in leaves.windows(2) {
            if pair[0].1 != pair[1].0 {
                return Err(DbError::Corruption(format!("leaf chain: page {} links to {}", pair[0].0, pair[0].1)));
            }
        }
        if let Some(last) = leaves.last().filter(|l| l.1 != NO_PAGE) {
            return Err(DbError::Corruption(format!("rightmost leaf {} links to {}", last.0, last.1)));
        }
        Ok(entries)
    }

    fn check_node(
        &self,
        page: u32,
        level: u8,
        low: Option<&[u8]>,
        high: Option<&[u8]>,
        leaves: &mut Vec<(u32, u32)>,
    ) -> Result<u64> {
        let guard = self.pool.read(self.pid(page))?;
        let node = Node::parse(&guard).map_err(|e| self.context(page, e))?;
        let bad = |m: String| DbError::Corruption(format!("index file {} page {page}: {m}", self.file));
        if node.level != level || node.low != low || node.high != high {
            return Err(bad(format!(
                "level {} fences {:?}..{:?}, expected level {level} {low:?}..{high:?}",
                node.level, node.low, node.high
            )));
        }
        let items = node.items()?;
        let first = usize::from(level > 0);
        for w in items[first.min(items.len())..].windows(2) {
            if w[0].key >= w[1].key {
                return Err(bad("items out of order".into()));
            }
        }
        for item in &items[first.min(items.len())..] {
            if low.is_some_and(|l| item.key.as_slice() < l) || high.is_some_and(|h| item.key.as_slice() >= h) {
                return Err(bad("an item lies outside the fences".into()));
            }
        }
        if level == 0 {
            leaves.push((page, node.right));
            return Ok(items.len() as u64);
        }
        if items.is_empty() {
            return Err(bad("an inner node without children".into()));
        }
        drop(guard);
        let mut total = 0;
        for (i, item) in items.iter().enumerate() {
            let child_low = if i == 0 { low } else { Some(item.key.as_slice()) };
            let child_high = items.get(i + 1).map(|n| n.key.as_slice()).or(high);
            total += self.check_node(item.child, level - 1, child_low, child_high, leaves)?;
        }
        Ok(total)
    }

    /// Pages in the index file, and how many of them are free.
    pub fn page_usage(&self) -> Result<(u32, u32)> {
        let meta = {
            let guard = self.pool.read(self.pid(META_PAGE))?;
            Meta::parse(&guard)?
        };
        let mut free = 0;
        let mut next = meta.free_head;
        while next != NO_PAGE && free <= meta.pages {
            let guard = self.pool.read(self.pid(next))?;
            next = free_next(&guard).map_err(|e| self.context(next, e))?;
            free += 1;
        }
        Ok((meta.pages, free))
    }

    fn height(&self) -> Result<u32> {
        let guard = self.pool.read(self.pid(ROOT_PAGE))?;
        Ok(u32::from(Node::parse(&guard).map_err(|e| self.context(ROOT_PAGE, e))?.level) + 1)
    }
}

/// The smallest entry after every entry of `key` (keys being prefix-free).
fn after_key(key: &[u8]) -> Vec<u8> {
    let mut end = key.to_vec();
    end.extend_from_slice(&[0xFF; TID_LEN + 1]);
    end
}

impl Index for BTree {
    fn insert(&self, key: &[u8], tid: TupleId) -> Result<()> {
        self.insert_entry(&self.entry(key, tid)?).map(|_| ())
    }

    fn delete(&self, key: &[u8], tid: TupleId) -> Result<()> {
        self.delete_entry(&self.entry(key, tid)?).map(|_| ())
    }

    /// The entries of `key` from the leaf where they start, on through right siblings while
    /// they hold more; entries are compared in place, not copied out.
    fn lookup(&self, key: &[u8]) -> Result<Vec<TupleId>> {
        let mut out = Vec::new();
        let mut scratch = Vec::new();
        let mut guard = self.leaf_for_read(Some(key), false)?;
        let mut i = None;
        loop {
            let right = {
                let node = Node::parse(&guard)?;
                let mut i = match i.take() {
                    Some(i) => i,
                    None => node.lower_bound(key)?,
                };
                while i < node.count {
                    if !node.item_starts_with(i, key)? {
                        return Ok(out);
                    }
                    if node.item_has_key(i, key)? {
                        let suffix = node.suffix(i)?;
                        // The tuple id ends the entry; a node prefix may reach into it.
                        let entry = if suffix.len() >= TID_LEN {
                            suffix
                        } else {
                            node.key_into(i, &mut scratch)?;
                            &scratch
                        };
                        out.push(self.tid_of(entry));
                    }
                    i += 1;
                }
                node.right
            };
            if right == NO_PAGE {
                return Ok(out);
            }
            guard = self.pool.read(self.pid(right))?;
            i = Some(0);
        }
    }

    fn range(&self, lower: Bound<&[u8]>, upper: Bound<&[u8]>, reverse: bool) -> Result<Vec<(Vec<u8>, TupleId)>> {
        let below_upper = |k: &[u8]| match upper {
            Bound::Included(u) => k <= u,
            Bound::Excluded(u) => k < u,
            Bound::Unbounded => true,
        };
        let above_lower = |k: &[u8]| match lower {
            Bound::Included(l) => k >= l,
            Bound::Excluded(l) => k > l,
            Bound::Unbounded => true,
        };
        let mut out = Vec::new();
        if reverse {
            let end = match upper {
                Bound::Included(u) => Some(after_key(u)),
                Bound::Excluded(u) => Some(u.to_vec()),
                Bound::Unbounded => None,
            };
            self.scan_backward(end.as_deref(), |entry| {
                let key = key_part(entry);
                if !above_lower(key) {
                    return Ok(false);
                }
                if below_upper(key) {
                    out.push((key.to_vec(), self.tid_of(entry)));
                }
                Ok(true)
            })?;
        } else {
            let start = match lower {
                Bound::Included(l) | Bound::Excluded(l) => l,
                Bound::Unbounded => &[],
            };
            self.scan_forward(start, |entry| {
                let key = key_part(entry);
                if !below_upper(key) {
                    return Ok(false);
                }
                if above_lower(key) {
                    out.push((key.to_vec(), self.tid_of(entry)));
                }
                Ok(true)
            })?;
        }
        Ok(out)
    }

    fn build(&self, sorted: Vec<(Vec<u8>, TupleId)>) -> Result<u64> {
        self.bulk_load(sorted)
    }

    fn save_stats(&self) -> Result<()> {
        BTree::save_stats(self)
    }

    fn stats(&self) -> IndexStats {
        IndexStats {
            entries: self.entries.load(AtomicOrdering::Relaxed).max(0) as u64,
            distinct_keys: self.distinct.load(AtomicOrdering::Relaxed).max(0) as u64,
            height: self.height().unwrap_or(0),
        }
    }
}

#[cfg(test)]
mod tests;
