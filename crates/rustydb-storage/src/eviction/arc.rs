//! ARC (Megiddo & Modha, FAST 2003): T1 holds pages seen once recently, T2 pages seen at least
//! twice; ghosts B1 and B2 remember what each recently evicted. A hit on a B1 ghost means T1
//! was too small, on a B2 ghost that T2 was: the target size `p` of T1 adapts accordingly.

use super::EvictionPolicy;
use super::list::{FrameList, Ghosts};
use rustydb_foundation::PageId;

/// The ARC policy.
#[derive(Debug)]
pub struct Arc {
    t1: FrameList,
    t2: FrameList,
    b1: Ghosts,
    b2: Ghosts,
    page_of: Vec<Option<PageId>>,
    capacity: usize,
    /// Target size of T1.
    p: usize,
}

impl Arc {
    /// ARC over `capacity` frames.
    pub fn new(capacity: usize) -> Self {
        Arc {
            t1: FrameList::new(capacity),
            t2: FrameList::new(capacity),
            b1: Ghosts::default(),
            b2: Ghosts::default(),
            page_of: vec![None; capacity],
            capacity,
            p: 0,
        }
    }

    fn evict(&mut self, from_t1: bool, evictable: &dyn Fn(usize) -> bool) -> Option<usize> {
        let (list, ghosts) = if from_t1 { (&mut self.t1, &mut self.b1) } else { (&mut self.t2, &mut self.b2) };
        let v = list.pop_oldest_where(evictable)?;
        if let Some(page) = self.page_of[v].take() {
            ghosts.push(page);
        }
        Some(v)
    }

    /// Keeps the directory within ARC's bounds: |T1|+|B1| <= c and the whole <= 2c.
    fn trim_ghosts(&mut self) {
        while self.t1.len() + self.b1.len() > self.capacity && self.b1.len() > 0 {
            self.b1.drop_oldest();
        }
        while self.t1.len() + self.t2.len() + self.b1.len() + self.b2.len() > 2 * self.capacity && self.b2.len() > 0 {
            self.b2.drop_oldest();
        }
    }
}

impl EvictionPolicy for Arc {
    fn on_hit(&mut self, frame: usize) {
        if self.t1.remove(frame) || self.t2.remove(frame) {
            self.t2.push_front(frame);
        }
    }

    fn on_load(&mut self, frame: usize, page: PageId) {
        self.t1.remove(frame);
        self.t2.remove(frame);
        self.page_of[frame] = Some(page);
        if self.b1.contains(page) {
            let step = (self.b2.len() / self.b1.len().max(1)).max(1);
            self.p = (self.p + step).min(self.capacity);
            self.b1.take(page);
            self.t2.push_front(frame);
        } else if self.b2.contains(page) {
            let step = (self.b1.len() / self.b2.len().max(1)).max(1);
            self.p = self.p.saturating_sub(step);
            self.b2.take(page);
            self.t2.push_front(frame);
        } else {
            self.t1.push_front(frame);
        }
        self.trim_ghosts();
    }

    fn victim(&mut self, incoming: PageId, evictable: &dyn Fn(usize) -> bool) -> Option<usize> {
        let t1_len = self.t1.len();
        let prefer_t1 = t1_len > 0 && (t1_len > self.p || (self.b2.contains(incoming) && t1_len == self.p));
        self.evict(prefer_t1, evictable).or_else(|| self.evict(!prefer_t1, evictable))
    }

    fn on_discard(&mut self, frame: usize) {
        self.t1.remove(frame);
        self.t2.remove(frame);
        self.page_of[frame] = None;
    }
}
