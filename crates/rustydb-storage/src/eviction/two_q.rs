//! 2Q (Johnson & Shasha, VLDB 1994), the full version: pages seen once wait in a FIFO (A1in);
//! a page referenced again after leaving it (found among the A1out ghosts) is promoted to the
//! LRU main queue (Am). A one-pass scan flows through A1in without disturbing Am.

use super::EvictionPolicy;
use super::list::{FrameList, Ghosts};
use rustydb_foundation::PageId;

/// The 2Q policy.
#[derive(Debug)]
pub struct TwoQ {
    a1_in: FrameList,
    am: FrameList,
    a1_out: Ghosts,
    page_of: Vec<Option<PageId>>,
    k_in: usize,
    k_out: usize,
}

impl TwoQ {
    /// 2Q over `capacity` frames, with the paper's tuning: A1in a quarter of the pool, A1out
    /// remembering half a pool of page ids.
    pub fn new(capacity: usize) -> Self {
        TwoQ {
            a1_in: FrameList::new(capacity),
            am: FrameList::new(capacity),
            a1_out: Ghosts::default(),
            page_of: vec![None; capacity],
            k_in: (capacity / 4).max(1),
            k_out: (capacity / 2).max(1),
        }
    }

    fn evict_from_a1_in(&mut self, evictable: &dyn Fn(usize) -> bool) -> Option<usize> {
        let v = self.a1_in.pop_oldest_where(evictable)?;
        if let Some(page) = self.page_of[v].take() {
            self.a1_out.push(page);
            if self.a1_out.len() > self.k_out {
                self.a1_out.drop_oldest();
            }
        }
        Some(v)
    }

    fn evict_from_am(&mut self, evictable: &dyn Fn(usize) -> bool) -> Option<usize> {
        let v = self.am.pop_oldest_where(evictable)?;
        self.page_of[v] = None;
        Some(v)
    }
}

impl EvictionPolicy for TwoQ {
    fn on_hit(&mut self, frame: usize) {
        // A hit in A1in is a correlated reference: it does not promote (the paper's rule).
        self.am.touch(frame);
    }

    fn on_load(&mut self, frame: usize, page: PageId) {
        self.a1_in.remove(frame);
        self.am.remove(frame);
        self.page_of[frame] = Some(page);
        if self.a1_out.take(page) {
            self.am.push_front(frame);
        } else {
            self.a1_in.push_front(frame);
        }
    }

    fn victim(&mut self, _incoming: PageId, evictable: &dyn Fn(usize) -> bool) -> Option<usize> {
        if self.a1_in.len() > self.k_in
            && let Some(v) = self.evict_from_a1_in(evictable)
        {
            return Some(v);
        }
        self.evict_from_am(evictable).or_else(|| self.evict_from_a1_in(evictable))
    }

    fn on_discard(&mut self, frame: usize) {
        self.a1_in.remove(frame);
        self.am.remove(frame);
        self.page_of[frame] = None;
    }
}
