//! Bulk loading: building a B+tree bottom-up from sorted entries (what CREATE INDEX does after
//! sorting the heap's keys), instead of inserting one by one.
//!
//! Leaves are filled to 90% and inner nodes to 70% (PostgreSQL's defaults, which leave room for
//! later inserts without immediate splits), written left to right, each logged as one page
//! image. One builder per level holds the node being filled; closing a node hands its low
//! fence and page up to the level above. The root is written last, into the root page.
//!
//! A crash part-way leaves pages past the meta page's count that nothing points to; they are
//! overwritten when allocated later (and the index of an uncommitted CREATE INDEX is dropped).

use super::change::{Change, Op, apply, encode};
use super::node::{Item, Meta, NO_PAGE, Node, SLOT, Shape, TID_LEN, shortest_separator};
use super::{BTree, META_PAGE, ROOT_PAGE};
use rustydb_foundation::{DbError, Result, TupleId};
use rustydb_storage::page::{HEADER_SIZE, Page};
use std::sync::atomic::Ordering;

/// The node being filled at one level.
#[derive(Debug, Default)]
struct LevelBuilder {
    items: Vec<Item>,
    bytes: usize,
    low: Option<Vec<u8>>,
    /// The page the node goes to, allocated when the node before it closed.
    page: Option<u32>,
    closed: u32,
}

struct Loader<'a> {
    tree: &'a BTree,
    next_page: u32,
    levels: Vec<LevelBuilder>,
}

impl Loader<'_> {
    fn allocate(&mut self) -> Result<u32> {
        let page = self.next_page;
        self.next_page = page
            .checked_add(1)
            .filter(|p| *p != NO_PAGE)
            .ok_or_else(|| DbError::sql(rustydb_foundation::SqlState::ProgramLimitExceeded, "index is too large"))?;
        Ok(page)
    }

    fn limit(&self, level: u8) -> usize {
        let usable = self.tree.page_size - HEADER_SIZE - self.tree.tail;
        if level == 0 { usable * 9 / 10 } else { usable * 7 / 10 }
    }

    fn push(&mut self, depth: usize, item: Item) -> Result<()> {
        if self.levels.len() == depth {
            self.levels.push(LevelBuilder::default());
        }
        let level = depth as u8;
        // Counted in full (no prefix, and a first inner item's separator too): an upper bound.
        let size = item.key.len() + if level > 0 { 4 } else { 0 } + SLOT;
        let limit = self.limit(level);
        let lb = &self.levels[depth];
        // The header's worst case: the low fence, and a high fence no longer than this item.
        let header = 8 + SLOT + lb.low.as_ref().map_or(0, Vec::len) + item.key.len();
        if !lb.items.is_empty() && lb.bytes + size + header > limit {
            let last = &lb.items[lb.items.len() - 1];
            let sep = if level == 0 { shortest_separator(&last.key, &item.key) } else { item.key.clone() };
            let page = match self.levels[depth].page {
                Some(p) => p,
                None => self.allocate()?,
            };
            let next = self.allocate()?;
            let lb = &mut self.levels[depth];
            let items = std::mem::take(&mut lb.items);
            let low = lb.low.replace(sep.clone());
            lb.page = Some(next);
            lb.bytes = 0;
            lb.closed += 1;
            let image = Shape { level, right: next, low: low.as_deref(), high: Some(&sep) }.build(
                &items,
                self.tree.page_size,
                self.tree.tail,
            );
            self.write(page, image)?;
            self.push(depth + 1, Item { key: low.unwrap_or_default(), child: page })?;
        }
        let lb = &mut self.levels[depth];
        lb.bytes += size;
        lb.items.push(item);
        Ok(())
    }

    /// Closes the last node of every level; the first level with one node is the root.
    fn finish(&mut self) -> Result<()> {
        let mut depth = 0;
        loop {
            if self.levels.len() == depth {
                self.levels.push(LevelBuilder::default());
            }
            let level = depth as u8;
            let lb = std::mem::take(&mut self.levels[depth]);
            if lb.closed == 0 {
                let image = Shape { level, right: NO_PAGE, low: None, high: None }.build(
                    &lb.items,
                    self.tree.page_size,
                    self.tree.tail,
                );
                return self.write(ROOT_PAGE, image);
            }
            let page = lb.page.ok_or_else(|| DbError::Internal("bulk load: a closed level without a page".into()))?;
            let image = Shape { level, right: NO_PAGE, low: lb.low.as_deref(), high: None }.build(
                &lb.items,
                self.tree.page_size,
                self.tree.tail,
            );
            self.write(page, image)?;
            self.push(depth + 1, Item { key: lb.low.unwrap_or_default(), child: page })?;
            depth += 1;
        }
    }

    fn write(&self, page: u32, image: Option<Vec<u8>>) -> Result<()> {
        let bytes = image.ok_or_else(|| DbError::Internal(format!("bulk load: node for page {page} does not fit")))?;
        self.tree.write_image(page, bytes)
    }
}

impl BTree {
    /// Logs and writes one page image.
    fn write_image(&self, page: u32, bytes: Vec<u8>) -> Result<()> {
        let mut guard = self.pool.write(self.pid(page))?;
        let change = Change { page, op: Op::Image { bytes } };
        let lsn = self.log.append(&encode(self.file, std::slice::from_ref(&change)), &[(self.pid(page), &guard)])?;
        apply(&mut guard, &change.op)?;
        Page::new(&mut guard).set_lsn(lsn);
        Ok(())
    }

    /// Builds the tree from `entries` sorted by (key, tuple); the index must be empty and
    /// unused by anyone else meanwhile (CREATE INDEX publishes it only afterwards). Returns the
    /// number of entries loaded.
    pub fn bulk_load(&self, entries: impl IntoIterator<Item = (Vec<u8>, TupleId)>) -> Result<u64> {
        {
            let root = self.pool.read(self.pid(ROOT_PAGE))?;
            let node = Node::parse(&root).map_err(|e| self.context(ROOT_PAGE, e))?;
            if !node.is_leaf() || node.count != 0 {
                return Err(DbError::Internal(format!("bulk load into index file {}, which is not empty", self.file)));
            }
        }
        let mut meta = {
            let guard = self.pool.read(self.pid(META_PAGE))?;
            Meta::parse(&guard).map_err(|e| self.context(META_PAGE, e))?
        };
        let mut loader = Loader { tree: self, next_page: meta.pages, levels: Vec::new() };
        let (mut count, mut distinct) = (0u64, 0u64);
        let mut previous: Option<Vec<u8>> = None;
        for (key, tid) in entries {
            let entry = self.entry(&key, tid)?;
            if let Some(prev) = &previous {
                match prev.as_slice().cmp(&entry) {
                    std::cmp::Ordering::Equal => continue,
                    std::cmp::Ordering::Greater => {
                        return Err(DbError::Internal("bulk load: entries are not sorted".into()));
                    }
                    std::cmp::Ordering::Less => {}
                }
            }
            if previous.as_ref().is_none_or(|p| p[..p.len() - TID_LEN] != key[..]) {
                distinct += 1;
            }
            count += 1;
            loader.push(0, Item { key: entry.clone(), child: 0 })?;
            previous = Some(entry);
        }
        loader.finish()?;
        self.entries.store(count as i64, Ordering::Relaxed);
        self.distinct.store(distinct as i64, Ordering::Relaxed);
        meta.pages = loader.next_page;
        meta.entries = count;
        meta.distinct = distinct;
        self.write_image(META_PAGE, meta.build(self.page_size, self.tail))?;
        Ok(count)
    }
}
