use super::*;
use proptest::prelude::*;
use rustydb_storage::StorageEngine;
use std::collections::BTreeSet;

const INDEX: FileId = FileId(900);
const HEAP: FileId = FileId(901);

fn tid(n: u32) -> TupleId {
    TupleId { page: PageId::new(HEAP, n / 7), slot: (n % 7) as u16 }
}

/// A key of `len` bytes that sorts as `n` does (prefix-free: fixed width per length class).
fn key(n: u32, len: usize) -> Vec<u8> {
    let mut k = vec![0x41; len.max(4)];
    k[..4].copy_from_slice(&n.to_be_bytes());
    k
}

/// A key of `len` bytes whose order is decided by its last four bytes: separators cannot be
/// truncated short, so inner nodes fill fast and trees grow tall, and prefixes compress.
fn late_key(n: u32, len: usize) -> Vec<u8> {
    let mut k = vec![0x41; len - 4];
    k.extend_from_slice(&n.to_be_bytes());
    k
}

struct Fixture {
    dir: tempfile::TempDir,
    storage: StorageEngine,
}

impl Fixture {
    fn new(pool_pages: usize) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let storage = StorageEngine::open(dir.path(), pool_pages).unwrap();
        Fixture { dir, storage }
    }

    fn create(&self) -> BTree {
        BTree::create(self.storage.pool().clone(), INDEX, HEAP, false, self.storage.log().clone()).unwrap()
    }

    fn open(&self) -> BTree {
        BTree::open(self.storage.pool().clone(), INDEX, self.storage.log().clone()).unwrap()
    }

    /// Simulates a crash: the log is durable, the pool's pages are lost except those it had
    /// written; the directory is opened again and the log replayed.
    fn crash_and_recover(self, pool_pages: usize) -> Fixture {
        self.storage.log().flush_all().unwrap();
        let Fixture { dir, storage } = self;
        std::mem::forget(storage); // no clean shutdown: dirty pages die with the process
        let storage = reopen_after_crash(dir.path(), pool_pages);
        Fixture { dir, storage }
    }
}

fn reopen_after_crash(path: &std::path::Path, pool_pages: usize) -> StorageEngine {
    // The forgotten engine still holds the directory lock (a real crash would have released it).
    std::fs::remove_file(path.join("rustydb.lock")).ok();
    let storage = StorageEngine::open(path, pool_pages).unwrap();
    storage.log().replay(Lsn(0), |rec| change::redo(storage.pool(), &rec.payload, rec.lsn)).unwrap();
    storage
}

fn all(tree: &BTree) -> Vec<(Vec<u8>, TupleId)> {
    tree.range(Bound::Unbounded, Bound::Unbounded, false).unwrap()
}

#[test]
fn ascending_inserts_fill_leaves_and_everything_is_found() {
    let f = Fixture::new(256);
    let tree = f.create();
    for n in 0..5000 {
        tree.insert(&key(n, 40), tid(n)).unwrap();
    }
    assert_eq!(tree.check().unwrap(), 5000);
    let stats = tree.stats();
    assert_eq!((stats.entries, stats.distinct_keys), (5000, 5000));
    assert!(stats.height >= 2, "{stats:?}");
    let (pages, _) = tree.page_usage().unwrap();
    // 46-byte entries, ~85 to a 4 KiB leaf when full: ascending splits keep leaves full.
    assert!(pages < 5000 / 80 + 5, "{pages} pages for 5000 entries");
    for n in (0..5000).step_by(97) {
        assert_eq!(tree.lookup(&key(n, 40)).unwrap(), [tid(n)]);
    }
    assert!(tree.lookup(&key(5000, 40)).unwrap().is_empty());
    let got: Vec<u32> = all(&tree).iter().map(|(k, _)| u32::from_be_bytes([k[0], k[1], k[2], k[3]])).collect();
    assert_eq!(got, (0..5000).collect::<Vec<_>>());
}

#[test]
fn duplicate_keys_keep_every_tuple_and_ranges_run_both_ways() {
    let f = Fixture::new(256);
    let tree = f.create();
    for n in 0..3000u32 {
        tree.insert(&key(n % 10, 100), tid(n)).unwrap();
    }
    tree.insert(&key(3, 100), tid(3)).unwrap(); // the same entry twice is one entry
    assert_eq!(tree.check().unwrap(), 3000);
    assert_eq!(tree.stats().entries, 3000);
    let threes = tree.lookup(&key(3, 100)).unwrap();
    assert_eq!(threes.len(), 300);
    assert!(threes.windows(2).all(|w| w[0] < w[1]), "a key's tuples come in tuple order");
    let (lo, hi) = (key(2, 100), key(5, 100));
    let forward = tree.range(Bound::Excluded(&lo), Bound::Included(&hi), false).unwrap();
    assert_eq!(forward.len(), 900, "keys 3, 4 and 5");
    let mut backward = tree.range(Bound::Excluded(&lo), Bound::Included(&hi), true).unwrap();
    backward.reverse();
    assert_eq!(forward, backward);
    let below = tree.range(Bound::Unbounded, Bound::Excluded(&lo), true).unwrap();
    assert_eq!(below.len(), 600);
    assert!(below.windows(2).all(|w| w[0] > w[1]));
}

#[test]
fn deleting_everything_merges_back_to_one_leaf_and_frees_the_pages() {
    let f = Fixture::new(256);
    let tree = f.create();
    let n = 4000;
    for i in 0..n {
        tree.insert(&late_key(i * 7919 % n, 200), tid(i)).unwrap();
    }
    let (grown, _) = tree.page_usage().unwrap();
    assert!(tree.stats().height >= 3, "{:?}", tree.stats());
    for i in 0..n {
        assert!(tree.delete_entry(&tree.entry(&late_key(i * 7919 % n, 200), tid(i)).unwrap()).unwrap());
        if i % 500 == 0 {
            assert_eq!(tree.check().unwrap(), u64::from(n - i - 1));
        }
    }
    assert!(!tree.delete_entry(&tree.entry(&late_key(1, 200), tid(1)).unwrap()).unwrap(), "already gone");
    assert_eq!(tree.check().unwrap(), 0);
    assert_eq!(tree.stats().height, 1, "the root took its last child back");
    let (pages, free) = tree.page_usage().unwrap();
    assert_eq!(pages, grown);
    assert_eq!(free, pages - 2, "every page but meta and root is on the free chain");
    // The free pages are used again before the file grows: the same inserts again need no
    // new page.
    for i in 0..n {
        tree.insert(&late_key(i * 7919 % n, 200), tid(i)).unwrap();
    }
    assert_eq!(tree.page_usage().unwrap().0, grown);
    assert_eq!(tree.check().unwrap(), u64::from(n));
}

#[test]
fn oversized_keys_are_refused_with_54000() {
    let f = Fixture::new(64);
    let tree = f.create();
    let err = tree.insert(&vec![1; tree.max_key_len() + 1], tid(1)).unwrap_err();
    assert_eq!(err.sqlstate(), SqlState::ProgramLimitExceeded);
    tree.insert(&vec![1; tree.max_key_len()], tid(1)).unwrap();
    for n in 0..200 {
        tree.insert(&key(n, tree.max_key_len()), tid(n)).unwrap();
    }
    assert_eq!(tree.check().unwrap(), 201);
}

#[test]
fn the_tree_survives_a_clean_reopen_and_a_crash() {
    let f = Fixture::new(64);
    let tree = f.create();
    for n in 0..3000 {
        tree.insert(&key(n * 31 % 3000, 80), tid(n)).unwrap();
    }
    for n in (0..3000).step_by(3) {
        tree.delete(&key(n * 31 % 3000, 80), tid(n)).unwrap();
    }
    let expected = all(&tree);
    tree.save_stats().unwrap();
    drop(tree);
    f.storage.flush().unwrap();
    let tree = f.open();
    assert_eq!(all(&tree), expected);
    assert_eq!(tree.stats().entries, 2000);
    drop(tree);
    // Crash with a small pool (many pages written, many not), then recover from the log.
    let tree = f.open();
    for n in 3000..6000 {
        tree.insert(&key(n, 80), tid(n)).unwrap();
    }
    let expected = all(&tree);
    drop(tree);
    let f = f.crash_and_recover(64);
    let tree = f.open();
    assert_eq!(tree.check().unwrap(), 5000);
    assert_eq!(all(&tree), expected);
}

#[test]
fn a_crash_between_the_pages_of_structure_changes_recovers_to_a_whole_tree() {
    // Each round writes a random part of the dirty pages before crashing, so some pages of a
    // split or merge reach disk and others do not; redo must complete every change.
    for round in 0..6u32 {
        let f = Fixture::new(512);
        let tree = f.create();
        let mut model = BTreeSet::new();
        for i in 0..2500u32 {
            let n = i.wrapping_mul(2654435761u32.wrapping_add(round)) % 1500;
            if i % 4 == 3 {
                tree.delete(&key(n, 120), tid(n)).unwrap();
                model.remove(&n);
            } else {
                tree.insert(&key(n, 120), tid(n)).unwrap();
                model.insert(n);
            }
            if i % 400 == 0 {
                f.storage.log().flush_all().unwrap();
                f.storage.pool().write_some_dirty((i as usize * 7 + round as usize) % 40).unwrap();
            }
        }
        drop(tree);
        let f = f.crash_and_recover(512);
        let tree = f.open();
        assert_eq!(tree.check().unwrap(), model.len() as u64, "round {round}");
        let keys: Vec<u32> = all(&tree).iter().map(|(k, _)| u32::from_be_bytes([k[0], k[1], k[2], k[3]])).collect();
        assert_eq!(keys, model.into_iter().collect::<Vec<_>>(), "round {round}");
    }
}

#[test]
fn concurrent_writers_and_readers_lose_and_duplicate_nothing() {
    let f = Fixture::new(1024);
    let tree = Arc::new(f.create());
    let writers = 4u32;
    let per = 3000u32;
    std::thread::scope(|s| {
        for w in 0..writers {
            let tree = tree.clone();
            s.spawn(move || {
                for i in 0..per {
                    let n = i * writers + w;
                    tree.insert(&late_key(n, 120), tid(n)).unwrap();
                    // Every third entry written is deleted again, so merges run concurrently too.
                    if i % 3 == 2 {
                        let gone = (i - 2) * writers + w;
                        tree.delete(&late_key(gone, 120), tid(gone)).unwrap();
                    }
                }
            });
        }
        for r in 0..2 {
            let tree = tree.clone();
            s.spawn(move || {
                for _ in 0..60 {
                    let seen = tree.range(Bound::Unbounded, Bound::Unbounded, r == 1).unwrap();
                    let keys: Vec<&Vec<u8>> = seen.iter().map(|(k, _)| k).collect();
                    let ordered = if r == 1 {
                        keys.windows(2).all(|w| w[0] > w[1])
                    } else {
                        keys.windows(2).all(|w| w[0] < w[1])
                    };
                    assert!(ordered, "a scan saw entries out of order or twice");
                }
            });
        }
    });
    let expected: Vec<u32> = (0..per * writers).filter(|n| !(n / writers).is_multiple_of(3)).collect();
    let keys: Vec<u32> = all(&tree).iter().map(|(k, _)| u32::from_be_bytes([k[116], k[117], k[118], k[119]])).collect();
    assert_eq!(keys, expected);
    assert_eq!(tree.check().unwrap(), expected.len() as u64);
}

#[test]
fn bulk_load_builds_a_full_valid_tree_that_takes_later_changes_and_survives_a_crash() {
    let f = Fixture::new(256);
    let tree = f.create();
    let n = 20_000u32;
    // Sorted (key, tid) with every key twice.
    let entries: Vec<(Vec<u8>, TupleId)> = (0..n).map(|i| (key(i / 2, 24), tid(i))).collect();
    // Short keys make inner nodes of hundreds of items.
    let short = f.storage.pool().clone();
    let other = BTree::create(short, FileId(902), HEAP, false, f.storage.log().clone()).unwrap();
    other.bulk_load((0..200_000).map(|i| (key(i, 4), tid(i)))).unwrap();
    assert_eq!(other.check().unwrap(), 200_000);
    assert!(other.stats().height >= 3);
    assert_eq!(tree.bulk_load(entries.clone()).unwrap(), u64::from(n));
    assert_eq!(tree.check().unwrap(), u64::from(n));
    assert_eq!(all(&tree), entries);
    let stats = tree.stats();
    assert_eq!((stats.entries, stats.distinct_keys), (u64::from(n), u64::from(n / 2)));
    // 30-byte entries at 90%: ~107 a leaf.
    let (pages, _) = tree.page_usage().unwrap();
    assert!(pages <= n / 100 + 3, "{pages} pages");
    let err = tree.bulk_load(vec![(key(1, 24), tid(1))]).unwrap_err();
    assert!(err.to_string().contains("not empty"), "{err}");
    for i in (0..n).step_by(5) {
        tree.delete(&key(i / 2, 24), tid(i)).unwrap();
        tree.insert(&key(i / 2 + n, 24), tid(i)).unwrap();
    }
    assert_eq!(tree.check().unwrap(), u64::from(n));
    let expected = all(&tree);
    drop(tree);
    let f = f.crash_and_recover(256);
    let tree = f.open();
    assert_eq!(all(&tree), expected);
    assert_eq!(tree.check().unwrap(), u64::from(n));
}

#[test]
fn bulk_load_refuses_unsorted_input_and_loads_nothing_or_one_leaf() {
    let f = Fixture::new(64);
    let tree = f.create();
    assert!(tree.bulk_load(vec![(key(2, 8), tid(1)), (key(1, 8), tid(1))]).is_err());
    let f = Fixture::new(64);
    let tree = f.create();
    assert_eq!(tree.bulk_load(Vec::new()).unwrap(), 0);
    assert_eq!(tree.bulk_load(vec![(key(1, 8), tid(1)), (key(1, 8), tid(1))]).unwrap(), 1, "duplicates fold");
    assert_eq!((tree.check().unwrap(), tree.stats().height), (1, 1));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Any sequence of inserts and deletes leaves the tree equal to a model set, valid, and the
    /// same after the pages are written and read back.
    #[test]
    fn matches_a_model(ops in proptest::collection::vec((0u8..4, 0u32..600, 0usize..3), 1..1500)) {
        let f = Fixture::new(128);
        let tree = f.create();
        let mut model = BTreeSet::new();
        let lens = [8, 90, 300];
        for (op, n, len) in ops {
            let k = key(n, lens[len]);
            let t = tid(n % 50);
            if op == 0 {
                tree.delete(&k, t).unwrap();
                model.remove(&(k, t));
            } else {
                tree.insert(&k, t).unwrap();
                model.insert((k, t));
            }
        }
        prop_assert_eq!(tree.check().unwrap(), model.len() as u64);
        let expected: Vec<_> = model.iter().cloned().collect();
        prop_assert_eq!(all(&tree), expected.clone());
        let mut backward = tree.range(Bound::Unbounded, Bound::Unbounded, true).unwrap();
        backward.reverse();
        prop_assert_eq!(&backward, &expected);
        if let Some((probe, _)) = expected.get(expected.len() / 2) {
            let want: Vec<TupleId> = model.iter().filter(|(k, _)| k == probe).map(|(_, t)| *t).collect();
            prop_assert_eq!(tree.lookup(probe).unwrap(), want);
            let from: Vec<_> = expected.iter().filter(|(k, _)| k >= probe).cloned().collect();
            prop_assert_eq!(tree.range(Bound::Included(probe), Bound::Unbounded, false).unwrap(), from);
        }
        drop(tree);
        f.storage.flush().unwrap();
        let tree = f.open();
        prop_assert_eq!(all(&tree), expected);
    }
}
