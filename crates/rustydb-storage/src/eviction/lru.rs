//! Least recently used.

use super::EvictionPolicy;
use super::list::FrameList;
use rustydb_foundation::PageId;

/// The LRU policy.
#[derive(Debug)]
pub struct Lru {
    list: FrameList,
}

impl Lru {
    /// LRU over `capacity` frames.
    pub fn new(capacity: usize) -> Self {
        Lru { list: FrameList::new(capacity) }
    }
}

impl EvictionPolicy for Lru {
    fn on_hit(&mut self, frame: usize) {
        self.list.touch(frame);
    }

    fn on_load(&mut self, frame: usize, _page: PageId) {
        self.list.remove(frame);
        self.list.push_front(frame);
    }

    fn victim(&mut self, _incoming: PageId, evictable: &dyn Fn(usize) -> bool) -> Option<usize> {
        self.list.pop_oldest_where(evictable)
    }

    fn on_discard(&mut self, frame: usize) {
        self.list.remove(frame);
    }
}
