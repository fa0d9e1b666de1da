//! Second-chance CLOCK: a hand sweeps the frames; a referenced frame loses its bit and is
//! spared once.

use super::EvictionPolicy;
use rustydb_foundation::PageId;

/// The CLOCK policy.
#[derive(Debug)]
pub struct Clock {
    referenced: Vec<bool>,
    hand: usize,
}

impl Clock {
    /// CLOCK over `capacity` frames.
    pub fn new(capacity: usize) -> Self {
        Clock { referenced: vec![false; capacity], hand: 0 }
    }
}

impl EvictionPolicy for Clock {
    fn on_hit(&mut self, frame: usize) {
        self.referenced[frame] = true;
    }

    fn on_load(&mut self, frame: usize, _page: PageId) {
        self.referenced[frame] = true;
    }

    fn victim(&mut self, _incoming: PageId, evictable: &dyn Fn(usize) -> bool) -> Option<usize> {
        let n = self.referenced.len();
        for _ in 0..2 * n + 1 {
            let f = self.hand;
            self.hand = (self.hand + 1) % n;
            if !evictable(f) {
                continue;
            }
            if std::mem::take(&mut self.referenced[f]) {
                continue;
            }
            return Some(f);
        }
        None
    }

    fn on_discard(&mut self, frame: usize) {
        self.referenced[frame] = false;
    }
}
