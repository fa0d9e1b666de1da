//! The free-space map of a heap file: which pages have room, and how much.
//!
//! An insert that does not fit on the file's last page asks for a page with at least `len`
//! bytes free. Pages are indexed by their free space as well as by number, so the answer is
//! a range lookup: a table whose pages each have a little room (an updated pgbench table: tens
//! of thousands of pages with a hundred bytes free) is not walked page by page on every insert
//! (that walk was a tenth of pgbench's tpcb-like CPU time). Among pages with room, the one with
//! the least is taken (best fit), which keeps large gaps for large rows.
//!
//! The figures are hints: each is rechecked under the page's latch before use.

use std::collections::{BTreeSet, HashMap};

/// Free bytes per page, and the same pairs ordered by free bytes.
#[derive(Debug, Default)]
pub struct FreeSpaceMap {
    by_page: HashMap<u32, usize>,
    by_space: BTreeSet<(usize, u32)>,
}

impl FreeSpaceMap {
    /// Records that page `number` has `free` bytes free.
    pub fn insert(&mut self, number: u32, free: usize) {
        if let Some(old) = self.by_page.insert(number, free) {
            self.by_space.remove(&(old, number));
        }
        self.by_space.insert((free, number));
    }

    /// Forgets page `number`.
    pub fn remove(&mut self, number: u32) {
        if let Some(old) = self.by_page.remove(&number) {
            self.by_space.remove(&(old, number));
        }
    }

    /// Up to `limit` pages with at least `needed` bytes free, fewest free bytes first, starting
    /// after `after` (a `(free, page)` pair an earlier call returned) and never `avoid`.
    pub fn candidates(
        &self,
        needed: usize,
        after: Option<(usize, u32)>,
        avoid: Option<u32>,
        limit: usize,
    ) -> Vec<(usize, u32)> {
        use std::ops::Bound::{Excluded, Included, Unbounded};
        let from = after.map_or(Included((needed, 0)), Excluded);
        self.by_space.range((from, Unbounded)).filter(|(_, p)| Some(*p) != avoid).take(limit).copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_found_by_the_room_they_have_best_fit_first() {
        let mut map = FreeSpaceMap::default();
        for page in 0..1000 {
            map.insert(page, 100);
        }
        map.insert(7, 900);
        map.insert(3, 500);
        map.insert(5, 2000);
        assert_eq!(map.candidates(400, None, None, 8), [(500, 3), (900, 7), (2000, 5)]);
        assert_eq!(map.candidates(400, None, Some(3), 1), [(900, 7)]);
        assert_eq!(map.candidates(400, Some((900, 7)), None, 8), [(2000, 5)]);
        // A page's figure is replaced, not added to.
        map.insert(3, 50);
        assert_eq!(map.candidates(400, None, None, 8), [(900, 7), (2000, 5)]);
        map.remove(7);
        assert_eq!(map.candidates(400, None, None, 8), [(2000, 5)]);
        assert_eq!(map.by_page.len(), 999);
        assert!(map.candidates(5000, None, None, 8).is_empty());
    }
}
