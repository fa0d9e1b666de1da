//! The B+tree's page formats, on storage's slotted pages (so the buffer pool's checksum and
//! bounds checks cover index pages as they do heap pages). Slot order is key order.
//!
//! **Node page** (kind [`KIND_NODE`]): slot 0 is the node header, slots 1.. the items.
//!
//! | header bytes | field |
//! |---|---|
//! | 0 | level (u8): 0 for a leaf |
//! | 1 | flags (u8): bit 0 the low fence is finite, bit 1 the high fence is finite |
//! | 2..6 | right sibling's page (u32; [`NO_PAGE`] at the right edge) |
//! | 6..8 | low fence length (u16) |
//! | 8.. | low fence, then high fence |
//!
//! Every entry `e` in a node satisfies `low <= e < high` (the *fence keys*, after Graefe's
//! "Modern B-Tree Techniques"). Entries between two finite fences share the fences' common
//! prefix, so items store only what follows it: prefix compression that never needs a page
//! rewrite, because fences change only when the node is rebuilt by a split or merge.
//!
//! - A leaf item is an *entry*: `key ‖ tid` minus the prefix, the tid being the heap page (u32)
//!   and slot (u16) big-endian, so equal keys order by tuple and every entry is unique.
//! - An inner item is `child page (u32 LE) ‖ separator minus the prefix`; child `i` holds
//!   entries in `[separator i, separator i+1)`. Item 0's separator is the node's low fence and
//!   is not stored.
//!
//! **Meta page** (page 0, kind [`KIND_META`]): slot 0 holds [`Meta`]. **Free page** (kind
//! [`KIND_FREE`]): slot 0 holds the next free page (u32), a chain headed in the meta page.

use rustydb_foundation::le::LeReader;
use rustydb_foundation::{DbError, Result};
use rustydb_storage::page::{HEADER_SIZE, Page, read};
use std::cmp::Ordering;

/// Page kind of a B+tree node.
pub const KIND_NODE: u16 = 2;
/// Page kind of a B+tree meta page.
pub const KIND_META: u16 = 3;
/// Page kind of a freed B+tree page.
pub const KIND_FREE: u16 = 4;
/// "No page": the right edge, the end of the free chain.
pub const NO_PAGE: u32 = u32::MAX;
/// Bytes of a tuple id at the end of every entry.
pub const TID_LEN: usize = 6;
/// Bytes a slot costs.
pub const SLOT: usize = 4;
const FIXED_HEADER: usize = 8;
const LOW_FINITE: u8 = 1;
const HIGH_FINITE: u8 = 2;
const META_MAGIC: u32 = 0x5242_5431; // "RBT1"

/// An item as the tree's algorithms see it: a whole key (no prefix removed) and, in inner
/// nodes, the child it leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// The entry (leaf) or separator (inner; ignored for item 0).
    pub key: Vec<u8>,
    /// The child page (inner nodes only).
    pub child: u32,
}

/// A parsed view of a node page.
#[derive(Debug, Clone, Copy)]
pub struct Node<'a> {
    bytes: &'a [u8],
    /// 0 for a leaf.
    pub level: u8,
    /// The right sibling, or [`NO_PAGE`].
    pub right: u32,
    /// The low fence (`None`: minus infinity).
    pub low: Option<&'a [u8]>,
    /// The high fence (`None`: plus infinity).
    pub high: Option<&'a [u8]>,
    prefix_len: usize,
    /// Number of items.
    pub count: usize,
}

fn corrupt(what: &str) -> DbError {
    DbError::Corruption(format!("B+tree node: {what}"))
}

impl<'a> Node<'a> {
    /// Parses a node page image.
    pub fn parse(bytes: &'a [u8]) -> Result<Node<'a>> {
        if read::kind(bytes) != KIND_NODE {
            return Err(corrupt(&format!("page kind {} is not a node", read::kind(bytes))));
        }
        let header = read::tuple(bytes, 0).ok_or_else(|| corrupt("no header"))?;
        let mut r = LeReader::new(header, "B+tree node header");
        let level = r.u8()?;
        let flags = r.u8()?;
        let right = r.u32()?;
        let low_len = r.u16()? as usize;
        let fences = r.take(r.remaining())?;
        if low_len > fences.len() {
            return Err(corrupt("low fence runs past the header"));
        }
        let (low, high) = fences.split_at(low_len);
        let low = (flags & LOW_FINITE != 0).then_some(low);
        let high = (flags & HIGH_FINITE != 0).then_some(high);
        let prefix_len = match (low, high) {
            (Some(l), Some(h)) => common_prefix(l, h),
            _ => 0,
        };
        let count = (read::slot_count(bytes) as usize).saturating_sub(1);
        Ok(Node { bytes, level, right, low, high, prefix_len, count })
    }

    /// True for a leaf.
    pub fn is_leaf(&self) -> bool {
        self.level == 0
    }

    /// The bytes every entry of the node starts with (not stored in items).
    pub fn prefix(&self) -> &'a [u8] {
        self.low.map_or(&[][..], |l| &l[..self.prefix_len])
    }

    fn raw(&self, i: usize) -> Result<&'a [u8]> {
        read::tuple(self.bytes, (i + 1) as u16).ok_or_else(|| corrupt(&format!("item {i} is missing")))
    }

    /// Item `i`'s stored key bytes (after the prefix); empty for an inner node's item 0.
    pub fn suffix(&self, i: usize) -> Result<&'a [u8]> {
        let raw = self.raw(i)?;
        if self.is_leaf() {
            return Ok(raw);
        }
        raw.get(4..).ok_or_else(|| corrupt(&format!("inner item {i} is shorter than a child pointer")))
    }

    /// Inner item `i`'s child page.
    pub fn child(&self, i: usize) -> Result<u32> {
        let raw = self.raw(i)?;
        let bytes = raw.get(..4).ok_or_else(|| corrupt(&format!("inner item {i} has no child pointer")))?;
        Ok(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }

    /// Item `i`'s whole key, written into `out`.
    pub fn key_into(&self, i: usize, out: &mut Vec<u8>) -> Result<()> {
        out.clear();
        if !self.is_leaf() && i == 0 {
            out.extend_from_slice(self.low.unwrap_or_default());
            return Ok(());
        }
        out.extend_from_slice(self.prefix());
        out.extend_from_slice(self.suffix(i)?);
        Ok(())
    }

    /// True if leaf item `i` is an entry of `key` (its whole key, less the tuple id, is `key`),
    /// decided without building the item's key.
    pub fn item_has_key(&self, i: usize, key: &[u8]) -> Result<bool> {
        let (prefix, suffix) = (self.prefix(), self.suffix(i)?);
        if prefix.len() + suffix.len() != key.len() + TID_LEN {
            return Ok(false);
        }
        // The prefix may reach into the tuple id (a leaf of one key's entries): compare only
        // the key's length.
        let n = prefix.len().min(key.len());
        Ok(prefix[..n] == key[..n] && suffix.starts_with(&key[n..]))
    }

    /// True if leaf item `i`'s whole entry starts with `key`, decided without building it.
    pub fn item_starts_with(&self, i: usize, key: &[u8]) -> Result<bool> {
        let (prefix, suffix) = (self.prefix(), self.suffix(i)?);
        if prefix.len() + suffix.len() < key.len() {
            return Ok(false);
        }
        let n = prefix.len().min(key.len());
        Ok(prefix[..n] == key[..n] && suffix.starts_with(&key[n..]))
    }

    /// Every item, with whole keys.
    pub fn items(&self) -> Result<Vec<Item>> {
        (0..self.count)
            .map(|i| {
                let mut key = Vec::new();
                self.key_into(i, &mut key)?;
                let child = if self.is_leaf() { 0 } else { self.child(i)? };
                Ok(Item { key, child })
            })
            .collect()
    }

    /// Compares item `i`'s whole key with `target` without building the key.
    pub fn cmp_item(&self, i: usize, target: &[u8]) -> Result<Ordering> {
        let prefix = self.prefix();
        let suffix = self.suffix(i)?;
        let p = prefix.len();
        Ok(if target.len() >= p {
            prefix.cmp(&target[..p]).then_with(|| suffix.cmp(&target[p..]))
        } else {
            prefix[..target.len()].cmp(target).then(Ordering::Greater)
        })
    }

    /// Where `target` stands against the node's prefix, which every item shares: before all
    /// items, after all of them, or among them with this rest to compare with their suffixes.
    /// Comparing the prefix once per node, not once per item, halves a search's work.
    fn against_prefix<'t>(&self, target: &'t [u8]) -> std::result::Result<&'t [u8], Ordering> {
        let prefix = self.prefix();
        let p = prefix.len();
        if target.len() >= p {
            match cmp_bytes(&target[..p], prefix) {
                Ordering::Equal => Ok(&target[p..]),
                other => Err(other),
            }
        } else {
            // A target shorter than the prefix: equal so far means it is before every item.
            Err(target.cmp(&prefix[..target.len()]).then(Ordering::Less))
        }
    }

    /// The first item whose key is `>= target` (`count` if none): where a leaf entry would go.
    pub fn lower_bound(&self, target: &[u8]) -> Result<usize> {
        let first = usize::from(!self.is_leaf());
        let rest = match self.against_prefix(target) {
            Ok(rest) => rest,
            Err(Ordering::Less) => return Ok(first),
            Err(_) => return Ok(self.count),
        };
        let (mut lo, mut hi) = (first, self.count);
        while lo < hi {
            let mid = (lo + hi) / 2;
            if cmp_bytes(self.suffix(mid)?, rest) == Ordering::Less {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        Ok(lo)
    }

    /// The inner item whose child covers `target`: the last with separator `<= target`, or
    /// with `strict` the last with separator `< target` (to find entries before `target`).
    pub fn child_index(&self, target: &[u8], strict: bool) -> Result<usize> {
        let rest = match self.against_prefix(target) {
            Ok(rest) => rest,
            Err(Ordering::Less) => return Ok(0),
            Err(_) => return Ok(self.count.saturating_sub(1)),
        };
        let (mut lo, mut hi) = (1, self.count);
        while lo < hi {
            let mid = (lo + hi) / 2;
            let ord = cmp_bytes(self.suffix(mid)?, rest);
            if ord == Ordering::Less || (!strict && ord == Ordering::Equal) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        Ok(lo - 1)
    }

    /// Bytes the items take, slots included (what fill thresholds measure).
    pub fn used(&self) -> usize {
        (1..=self.count as u16).map(|s| read::tuple(self.bytes, s).map_or(0, <[u8]>::len) + SLOT).sum()
    }

    /// Free bytes, once compacted.
    pub fn free(&self) -> usize {
        read::reclaimable_space(self.bytes).saturating_sub(SLOT)
    }

    /// Item `key`'s stored form in this node (for an in-place insert).
    pub fn encode_item(&self, item: &Item) -> Vec<u8> {
        encode_item(self.level, self.prefix_len, item, false)
    }
}

/// Byte-string order, eight bytes at a time: index keys are short, and for them a call into
/// the C library's `memcmp` costs more than the comparison.
#[inline]
pub fn cmp_bytes(a: &[u8], b: &[u8]) -> Ordering {
    let n = a.len().min(b.len());
    let mut i = 0;
    while i + 8 <= n {
        let x = u64::from_be_bytes([a[i], a[i + 1], a[i + 2], a[i + 3], a[i + 4], a[i + 5], a[i + 6], a[i + 7]]);
        let y = u64::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3], b[i + 4], b[i + 5], b[i + 6], b[i + 7]]);
        if x != y {
            return x.cmp(&y);
        }
        i += 8;
    }
    while i < n {
        if a[i] != b[i] {
            return a[i].cmp(&b[i]);
        }
        i += 1;
    }
    a.len().cmp(&b.len())
}

/// Length of the longest common prefix.
pub fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// The shortest key `s` with `left < s <= right` (suffix truncation of a leaf split's separator).
pub fn shortest_separator(left: &[u8], right: &[u8]) -> Vec<u8> {
    let c = common_prefix(left, right);
    right[..(c + 1).min(right.len())].to_vec()
}

fn encode_item(level: u8, prefix_len: usize, item: &Item, first_inner: bool) -> Vec<u8> {
    let suffix: &[u8] = if first_inner { &[] } else { &item.key[prefix_len.min(item.key.len())..] };
    if level == 0 {
        return suffix.to_vec();
    }
    let mut out = Vec::with_capacity(4 + suffix.len());
    out.extend_from_slice(&item.child.to_le_bytes());
    out.extend_from_slice(suffix);
    out
}

/// What a node's items would take, slots included, given the node's prefix length.
pub fn items_size(level: u8, prefix_len: usize, items: &[Item]) -> usize {
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let suffix = if level > 0 && i == 0 { 0 } else { item.key.len().saturating_sub(prefix_len) };
            suffix + if level > 0 { 4 } else { 0 } + SLOT
        })
        .sum()
}

/// The shape of a node to build.
#[derive(Debug, Clone, Copy)]
pub struct Shape<'k> {
    /// 0 for a leaf.
    pub level: u8,
    /// Right sibling.
    pub right: u32,
    /// Low fence.
    pub low: Option<&'k [u8]>,
    /// High fence.
    pub high: Option<&'k [u8]>,
}

impl Shape<'_> {
    fn prefix_len(&self) -> usize {
        match (self.low, self.high) {
            (Some(l), Some(h)) => common_prefix(l, h),
            _ => 0,
        }
    }

    fn header(&self) -> Vec<u8> {
        let low = self.low.unwrap_or_default();
        let high = self.high.unwrap_or_default();
        let mut out = Vec::with_capacity(FIXED_HEADER + low.len() + high.len());
        out.push(self.level);
        out.push(if self.low.is_some() { LOW_FINITE } else { 0 } | if self.high.is_some() { HIGH_FINITE } else { 0 });
        out.extend_from_slice(&self.right.to_le_bytes());
        out.extend_from_slice(&(low.len() as u16).to_le_bytes());
        out.extend_from_slice(low);
        out.extend_from_slice(high);
        out
    }

    /// True if a node of this shape holding `items` fits a page of `page_size` keeping `tail`
    /// bytes for the cipher.
    pub fn fits(&self, items: &[Item], page_size: usize, tail: usize) -> bool {
        let header = self.header().len() + SLOT;
        HEADER_SIZE + header + items_size(self.level, self.prefix_len(), items) + tail <= page_size
    }

    /// The page image of a node of this shape holding `items`, or `None` if they do not fit.
    pub fn build(&self, items: &[Item], page_size: usize, tail: usize) -> Option<Vec<u8>> {
        if !self.fits(items, page_size, tail) {
            return None;
        }
        let mut bytes = vec![0; page_size];
        let mut page = Page::new(&mut bytes);
        page.init_reserving(KIND_NODE, tail);
        let ok = page.insert_ordered(0, &self.header());
        let p = self.prefix_len();
        let all = items.iter().enumerate().all(|(i, item)| {
            let stored = encode_item(self.level, p, item, self.level > 0 && i == 0);
            page.insert_ordered((i + 1) as u16, &stored)
        });
        (ok && all).then_some(bytes)
    }
}

/// The index's meta page: what the tree is and where its free pages are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meta {
    /// True if the index was created unique (recorded for the catalog's checks).
    pub unique: bool,
    /// The heap file the tuple ids point into.
    pub heap_file: u32,
    /// Pages the index file has (the next new page's number).
    pub pages: u32,
    /// The first free page, or [`NO_PAGE`].
    pub free_head: u32,
    /// Entries, as of the last structure change (an estimate after a crash).
    pub entries: u64,
    /// Distinct keys, likewise.
    pub distinct: u64,
}

impl Meta {
    /// Reads the meta page.
    pub fn parse(bytes: &[u8]) -> Result<Meta> {
        if read::kind(bytes) != KIND_META {
            return Err(corrupt("page 0 is not a B+tree meta page"));
        }
        let tuple = read::tuple(bytes, 0).ok_or_else(|| corrupt("meta page is empty"))?;
        let mut r = LeReader::new(tuple, "B+tree meta page");
        if r.u32()? != META_MAGIC {
            return Err(corrupt("meta page has the wrong magic number"));
        }
        let _version = r.u8()?;
        Ok(Meta {
            unique: r.u8()? != 0,
            heap_file: r.u32()?,
            pages: r.u32()?,
            free_head: r.u32()?,
            entries: r.u64()?,
            distinct: r.u64()?,
        })
    }

    /// The meta page image.
    pub fn build(&self, page_size: usize, tail: usize) -> Vec<u8> {
        let mut tuple = Vec::with_capacity(34);
        tuple.extend_from_slice(&META_MAGIC.to_le_bytes());
        tuple.push(1);
        tuple.push(u8::from(self.unique));
        tuple.extend_from_slice(&self.heap_file.to_le_bytes());
        tuple.extend_from_slice(&self.pages.to_le_bytes());
        tuple.extend_from_slice(&self.free_head.to_le_bytes());
        tuple.extend_from_slice(&self.entries.to_le_bytes());
        tuple.extend_from_slice(&self.distinct.to_le_bytes());
        single_tuple_page(KIND_META, &tuple, page_size, tail)
    }
}

/// The image of a freed page that links to `next`.
pub fn free_page(next: u32, page_size: usize, tail: usize) -> Vec<u8> {
    single_tuple_page(KIND_FREE, &next.to_le_bytes(), page_size, tail)
}

/// The next free page a free page links to.
pub fn free_next(bytes: &[u8]) -> Result<u32> {
    if read::kind(bytes) != KIND_FREE {
        return Err(corrupt(&format!("free chain reaches a page of kind {}", read::kind(bytes))));
    }
    let tuple = read::tuple(bytes, 0).ok_or_else(|| corrupt("free page is empty"))?;
    LeReader::new(tuple, "B+tree free page").u32()
}

fn single_tuple_page(kind: u16, tuple: &[u8], page_size: usize, tail: usize) -> Vec<u8> {
    let mut bytes = vec![0; page_size];
    let mut page = Page::new(&mut bytes);
    page.init_reserving(kind, tail);
    page.insert_ordered(0, tuple);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(key: &[u8], child: u32) -> Item {
        Item { key: key.to_vec(), child }
    }

    #[test]
    fn items_round_trip_through_a_prefix_compressed_node() {
        let shape = Shape { level: 0, right: 9, low: Some(b"apple"), high: Some(b"apricot") };
        let items = [item(b"apple", 0), item(b"applesauce", 0), item(b"apply", 0)];
        let bytes = shape.build(&items, 4096, 0).unwrap();
        let node = Node::parse(&bytes).unwrap();
        assert_eq!(node.prefix(), b"ap");
        assert_eq!(node.suffix(1).unwrap(), b"plesauce", "the prefix is not stored");
        assert_eq!(node.items().unwrap(), items);
        assert_eq!((node.level, node.right, node.count), (0, 9, 3));
        assert_eq!(node.lower_bound(b"applf").unwrap(), 2);
        assert_eq!(node.lower_bound(b"a").unwrap(), 0);
        assert_eq!(node.lower_bound(b"b").unwrap(), 3);
        // Entries of key "appl" end in a 6-byte tuple id: "apply" is not one, "applesauce" is
        // "appl" followed by six bytes.
        assert!(node.item_has_key(1, b"appl").unwrap());
        assert!(!node.item_has_key(2, b"appl").unwrap());
        assert!(!node.item_has_key(1, b"apple").unwrap());
        assert!(!node.item_has_key(0, b"a").unwrap(), "a key shorter than the prefix");
        // Fences of one key's entries share the key and part of the tuple id.
        let (low, high) = (b"k\x00\x00\x00\x01\x00\x00".as_slice(), b"k\x00\x00\x00\x09\x00\x00".as_slice());
        let shape = Shape { level: 0, right: NO_PAGE, low: Some(low), high: Some(high) };
        let bytes = shape.build(&[item(b"k\x00\x00\x00\x02\x00\x05", 0)], 4096, 0).unwrap();
        let node = Node::parse(&bytes).unwrap();
        assert!(node.prefix().len() > 1);
        assert!(node.item_has_key(0, b"k").unwrap());
    }

    #[test]
    fn inner_nodes_route_by_separator() {
        let shape = Shape { level: 1, right: NO_PAGE, low: None, high: None };
        let items = [item(b"", 10), item(b"m", 11), item(b"t", 12)];
        let bytes = shape.build(&items, 4096, 0).unwrap();
        let node = Node::parse(&bytes).unwrap();
        let route = |k: &[u8], strict| node.child(node.child_index(k, strict).unwrap()).unwrap();
        assert_eq!([route(b"a", false), route(b"m", false), route(b"s", false), route(b"z", false)], [10, 11, 11, 12]);
        assert_eq!(route(b"m", true), 10, "strictly before m lies in the first child");
    }

    proptest::proptest! {
        #[test]
        fn cmp_bytes_is_slice_order(a in proptest::collection::vec(0u8..4, 0..24), b in proptest::collection::vec(0u8..4, 0..24)) {
            proptest::prop_assert_eq!(cmp_bytes(&a, &b), a.cmp(&b));
        }
    }

    #[test]
    fn separators_are_the_shortest_that_divide() {
        assert_eq!(shortest_separator(b"abcd", b"abzz"), b"abz");
        assert_eq!(shortest_separator(b"ab", b"abc"), b"abc");
        let (l, r) = (b"k\x01\x00".as_slice(), b"k\x01\x01\x07".as_slice());
        let s = shortest_separator(l, r);
        assert!(l < s.as_slice() && s.as_slice() <= r);
    }

    #[test]
    fn meta_and_free_pages_round_trip() {
        let meta = Meta { unique: true, heap_file: 7, pages: 12, free_head: 5, entries: 99, distinct: 40 };
        assert_eq!(Meta::parse(&meta.build(4096, 16)).unwrap(), meta);
        assert_eq!(free_next(&free_page(3, 4096, 0)).unwrap(), 3);
        assert!(Node::parse(&free_page(3, 4096, 0)).is_err(), "a free page is not a node");
    }
}
