//! An ordered index held in memory (a `BTreeMap` from key to tuple addresses), rebuilt from the
//! heap when the database opens. It serves primary keys until the persistent B+tree lands; it
//! needs no logging because it is derived entirely from logged heap data.

use crate::{Index, IndexStats};
use parking_lot::RwLock;
use rustydb_foundation::{Result, TupleId};
use std::collections::BTreeMap;
use std::ops::Bound;

/// A memory-resident ordered index.
#[derive(Debug, Default)]
pub struct ResidentIndex {
    map: RwLock<BTreeMap<Vec<u8>, Vec<TupleId>>>,
}

impl ResidentIndex {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Index for ResidentIndex {
    fn insert(&self, key: &[u8], tid: TupleId) -> Result<()> {
        let mut map = self.map.write();
        let tids = map.entry(key.to_vec()).or_default();
        if !tids.contains(&tid) {
            tids.push(tid);
        }
        Ok(())
    }

    fn delete(&self, key: &[u8], tid: TupleId) -> Result<()> {
        let mut map = self.map.write();
        if let Some(tids) = map.get_mut(key) {
            tids.retain(|t| *t != tid);
            if tids.is_empty() {
                map.remove(key);
            }
        }
        Ok(())
    }

    fn lookup(&self, key: &[u8]) -> Result<Vec<TupleId>> {
        Ok(self.map.read().get(key).cloned().unwrap_or_default())
    }

    fn range(&self, lower: Bound<&[u8]>, upper: Bound<&[u8]>, reverse: bool) -> Result<Vec<(Vec<u8>, TupleId)>> {
        let map = self.map.read();
        let entries = map.range::<[u8], _>((lower, upper)).flat_map(|(k, tids)| tids.iter().map(|t| (k.clone(), *t)));
        let mut out: Vec<_> = entries.collect();
        if reverse {
            out.reverse();
        }
        Ok(out)
    }

    fn stats(&self) -> IndexStats {
        let map = self.map.read();
        IndexStats { entries: map.values().map(|t| t.len() as u64).sum(), distinct_keys: map.len() as u64, height: 1 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rustydb_foundation::{FileId, PageId};
    use std::collections::BTreeSet;

    fn tid(n: u16) -> TupleId {
        TupleId { page: PageId::new(FileId(1), u32::from(n / 10)), slot: n % 10 }
    }

    proptest! {
        /// The index agrees with a model set of (key, tid) pairs after any operation sequence.
        #[test]
        fn matches_a_model(ops in proptest::collection::vec((any::<bool>(), 0u8..20, 0u16..30), 0..200)) {
            let index = ResidentIndex::new();
            let mut model = BTreeSet::new();
            for (insert, k, t) in ops {
                if insert {
                    index.insert(&[k], tid(t)).unwrap();
                    model.insert((vec![k], tid(t)));
                } else {
                    index.delete(&[k], tid(t)).unwrap();
                    model.remove(&(vec![k], tid(t)));
                }
            }
            let mut got = index.range(Bound::Unbounded, Bound::Unbounded, false).unwrap();
            got.sort();
            prop_assert_eq!(got, model.iter().cloned().collect::<Vec<_>>());
            prop_assert_eq!(index.stats().entries, model.len() as u64);
            let lo = [5u8];
            let hi = [9u8];
            let ranged = index.range(Bound::Included(&lo[..]), Bound::Excluded(&hi[..]), true).unwrap();
            prop_assert!(ranged.windows(2).all(|w| w[0].0 >= w[1].0));
            prop_assert_eq!(ranged.len(), model.iter().filter(|(k, _)| k[0] >= 5 && k[0] < 9).count());
        }
    }
}
