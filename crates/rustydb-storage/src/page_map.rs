//! Which frame holds each resident page: the buffer pool's lookup table.
//!
//! Every pin looks a page up here, and a sequential scan pins every page of a table in
//! order. A hash map from page to frame puts consecutive pages in unrelated buckets, so on a
//! large pool each lookup is a cache miss (a fifth of a scan's time, measured). This map keys
//! runs of [`RUN`] consecutive pages of a file instead, each entry holding the frames of its
//! run: a scan finds fifteen of every sixteen pages in the entry it used for the last one,
//! and the map has a sixteenth of the entries, so it mostly stays in cache.

use rustydb_foundation::{FileId, PageId};
use std::collections::HashMap;
use std::hash::BuildHasherDefault;

/// Pages per entry.
const RUN: u32 = 16;
/// A slot of a run without a resident page.
const EMPTY: u32 = u32::MAX;

/// A map from resident page to frame index.
#[derive(Debug, Default)]
pub struct PageMap {
    runs: HashMap<(FileId, u32), Run, BuildHasherDefault<rustc_hash::FxHasher>>,
    len: usize,
}

/// The frames of one run of pages, and how many of them are resident.
#[derive(Debug, Clone, Copy)]
struct Run {
    frames: [u32; RUN as usize],
    used: u32,
}

impl PageMap {
    /// The frame holding `id`, if it is resident.
    #[inline]
    pub fn get(&self, id: PageId) -> Option<usize> {
        let run = self.runs.get(&(id.file, id.number / RUN))?;
        let frame = run.frames[(id.number % RUN) as usize];
        (frame != EMPTY).then_some(frame as usize)
    }

    /// Records that `frame` holds `id` (which was not resident).
    pub fn insert(&mut self, id: PageId, frame: usize) {
        let frame = u32::try_from(frame).ok().filter(|f| *f != EMPTY).expect("a pool of fewer than 2^32 - 1 frames");
        let run = self.runs.entry((id.file, id.number / RUN)).or_insert(Run { frames: [EMPTY; RUN as usize], used: 0 });
        let slot = &mut run.frames[(id.number % RUN) as usize];
        if *slot == EMPTY {
            run.used += 1;
            self.len += 1;
        }
        *slot = frame;
    }

    /// Forgets `id`'s frame, returning it.
    pub fn remove(&mut self, id: PageId) -> Option<usize> {
        let key = (id.file, id.number / RUN);
        let run = self.runs.get_mut(&key)?;
        let slot = &mut run.frames[(id.number % RUN) as usize];
        if *slot == EMPTY {
            return None;
        }
        let frame = std::mem::replace(slot, EMPTY) as usize;
        run.used -= 1;
        self.len -= 1;
        if run.used == 0 {
            self.runs.remove(&key);
        }
        Some(frame)
    }

    /// The number of resident pages.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True if no page is resident.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The map answers as a plain hash map does under any sequence of inserts and removes.
        #[test]
        fn agrees_with_a_hash_map(ops in proptest::collection::vec((any::<bool>(), 0u32..3, 0u32..80, 0usize..1000), 0..400)) {
            let mut map = PageMap::default();
            let mut model = HashMap::new();
            for (insert, file, number, frame) in ops {
                let id = PageId::new(FileId(file), number);
                if insert {
                    map.insert(id, frame);
                    model.insert(id, frame);
                } else {
                    prop_assert_eq!(map.remove(id), model.remove(&id));
                }
                prop_assert_eq!(map.len(), model.len());
            }
            for file in 0..3 {
                for number in 0..80 {
                    let id = PageId::new(FileId(file), number);
                    prop_assert_eq!(map.get(id), model.get(&id).copied());
                }
            }
            prop_assert_eq!(map.runs.len() <= model.len(), true);
        }
    }
}
