//! An intrusive doubly-linked list of frame numbers (O(1) push, remove, move) and a bounded
//! ordered set of ghost page ids, the building blocks of LRU, 2Q and ARC.

use rustydb_foundation::PageId;
use std::collections::{BTreeMap, HashMap};

const NIL: usize = usize::MAX;

/// Frames in recency order: front is most recent.
#[derive(Debug)]
pub(super) struct FrameList {
    prev: Vec<usize>,
    next: Vec<usize>,
    member: Vec<bool>,
    head: usize,
    tail: usize,
    len: usize,
}

impl FrameList {
    pub(super) fn new(capacity: usize) -> Self {
        FrameList {
            prev: vec![NIL; capacity],
            next: vec![NIL; capacity],
            member: vec![false; capacity],
            head: NIL,
            tail: NIL,
            len: 0,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.len
    }

    pub(super) fn push_front(&mut self, frame: usize) {
        debug_assert!(!self.member[frame]);
        self.member[frame] = true;
        self.prev[frame] = NIL;
        self.next[frame] = self.head;
        if self.head != NIL {
            self.prev[self.head] = frame;
        } else {
            self.tail = frame;
        }
        self.head = frame;
        self.len += 1;
    }

    pub(super) fn remove(&mut self, frame: usize) -> bool {
        if !self.member[frame] {
            return false;
        }
        let (p, n) = (self.prev[frame], self.next[frame]);
        if p != NIL {
            self.next[p] = n
        } else {
            self.head = n
        }
        if n != NIL {
            self.prev[n] = p
        } else {
            self.tail = p
        }
        self.member[frame] = false;
        self.len -= 1;
        true
    }

    pub(super) fn touch(&mut self, frame: usize) {
        if self.remove(frame) {
            self.push_front(frame);
        }
    }

    /// Removes and returns the least recent frame that `ok` accepts, searching from the back.
    pub(super) fn pop_oldest_where(&mut self, ok: &dyn Fn(usize) -> bool) -> Option<usize> {
        let mut f = self.tail;
        while f != NIL && !ok(f) {
            f = self.prev[f];
        }
        (f != NIL && self.remove(f)).then_some(f)
    }
}

/// Recently evicted page ids, oldest dropped first, with O(log n) membership removal.
#[derive(Debug, Default)]
pub(super) struct Ghosts {
    order: BTreeMap<u64, PageId>,
    seq_of: HashMap<PageId, u64>,
    next_seq: u64,
}

impl Ghosts {
    pub(super) fn len(&self) -> usize {
        self.seq_of.len()
    }

    pub(super) fn push(&mut self, page: PageId) {
        self.take(page);
        self.order.insert(self.next_seq, page);
        self.seq_of.insert(page, self.next_seq);
        self.next_seq += 1;
    }

    /// Removes `page`; true if it was a ghost.
    pub(super) fn take(&mut self, page: PageId) -> bool {
        match self.seq_of.remove(&page) {
            Some(seq) => {
                self.order.remove(&seq);
                true
            }
            None => false,
        }
    }

    pub(super) fn contains(&self, page: PageId) -> bool {
        self.seq_of.contains_key(&page)
    }

    pub(super) fn drop_oldest(&mut self) {
        if let Some((_, page)) = self.order.pop_first() {
            self.seq_of.remove(&page);
        }
    }
}
