use super::*;
use proptest::prelude::*;
use rustydb_foundation::Lsn;
use rustydb_storage::StorageEngine;
use std::collections::BTreeSet;

const INDEX: FileId = FileId(800);
const HEAP: FileId = FileId(801);

fn tid(n: u32) -> TupleId {
    TupleId { page: PageId::new(HEAP, n / 9), slot: (n % 9) as u16 }
}

fn key(n: u32, len: usize) -> Vec<u8> {
    let mut k = vec![0x5A; len.max(4)];
    k[..4].copy_from_slice(&n.to_be_bytes());
    k
}

fn open_storage(path: &std::path::Path) -> StorageEngine {
    StorageEngine::open(path, 256).unwrap()
}

fn create(storage: &StorageEngine) -> HashIndex {
    HashIndex::create(storage.pool().clone(), INDEX, HEAP, false, storage.log().clone()).unwrap()
}

fn reopen(storage: &StorageEngine) -> HashIndex {
    HashIndex::open(storage.pool().clone(), INDEX, storage.log().clone()).unwrap()
}

#[test]
fn grows_by_splitting_and_finds_every_entry() {
    let dir = tempfile::tempdir().unwrap();
    let storage = open_storage(dir.path());
    let index = create(&storage);
    for n in 0..20_000 {
        index.insert(&key(n % 5000, 20), tid(n)).unwrap();
    }
    assert!(index.buckets() > 64, "{} buckets", index.buckets());
    for n in (0..5000).step_by(37) {
        let want: Vec<TupleId> = (0..4).map(|i| tid(n + i * 5000)).collect();
        assert_eq!(index.lookup(&key(n, 20)).unwrap(), want);
    }
    assert!(index.lookup(&key(5000, 20)).unwrap().is_empty());
    let stats = index.stats();
    assert_eq!(stats.entries, 20_000);
    assert!((4500..=5000).contains(&stats.distinct_keys), "{stats:?}");
    assert_eq!(
        index.range(Bound::Unbounded, Bound::Unbounded, false).unwrap_err().sqlstate(),
        SqlState::FeatureNotSupported
    );
    assert_eq!(index.insert(&vec![1; 2000], tid(1)).unwrap_err().sqlstate(), SqlState::ProgramLimitExceeded);
}

#[test]
fn many_equal_keys_chain_overflow_pages_and_survive_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let storage = open_storage(dir.path());
    let index = create(&storage);
    // One key 3,000 times: splits cannot spread it, so its bucket chains overflow pages.
    for n in 0..3000 {
        index.insert(&key(7, 40), tid(n)).unwrap();
    }
    for n in (0..3000).step_by(2) {
        assert!(index.delete_item(&key(7, 40), tid(n)).unwrap());
    }
    assert!(!index.delete_item(&key(7, 40), tid(0)).unwrap());
    assert_eq!(index.lookup(&key(7, 40)).unwrap().len(), 1500);
    storage.log().flush_all().unwrap();
    drop(index);
    std::mem::forget(storage);
    std::fs::remove_file(dir.path().join("rustydb.lock")).ok();
    let storage = open_storage(dir.path());
    let (pool, log) = (storage.pool().clone(), storage.log().clone());
    log.replay(Lsn(0), |rec| crate::btree::change::redo(&pool, &rec.payload, rec.lsn)).unwrap();
    let index = reopen(&storage);
    let want: Vec<TupleId> = (1..3000).step_by(2).map(tid).collect();
    assert_eq!(index.lookup(&key(7, 40)).unwrap(), want);
}

#[test]
fn concurrent_inserts_and_lookups_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let storage = StorageEngine::open(dir.path(), 2048).unwrap();
    let index = Arc::new(create(&storage));
    std::thread::scope(|s| {
        for w in 0..4u32 {
            let index = index.clone();
            s.spawn(move || {
                for i in 0..4000 {
                    let n = i * 4 + w;
                    index.insert(&key(n, 16), tid(n)).unwrap();
                    assert_eq!(index.lookup(&key(n, 16)).unwrap(), [tid(n)], "an entry just written is found");
                }
            });
        }
    });
    for n in 0..16_000 {
        assert_eq!(index.lookup(&key(n, 16)).unwrap(), [tid(n)]);
    }
    assert_eq!(index.stats().entries, 16_000);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Any sequence of inserts and deletes gives the lookups of a model set, also after the
    /// pages are written, the index reopened, and its statistics saved.
    #[test]
    fn matches_a_model(ops in proptest::collection::vec((0u8..4, 0u32..300, 0u32..8), 1..2000)) {
        let dir = tempfile::tempdir().unwrap();
        let storage = open_storage(dir.path());
        let index = create(&storage);
        let mut model = BTreeSet::new();
        for (op, k, t) in ops {
            if op == 0 {
                prop_assert_eq!(index.delete_item(&key(k, 60), tid(t)).unwrap(), model.remove(&(k, t)));
            } else {
                prop_assert_eq!(index.insert_item(&key(k, 60), tid(t)).unwrap(), model.insert((k, t)));
            }
        }
        index.save_stats().unwrap();
        drop(index);
        storage.flush().unwrap();
        let index = reopen(&storage);
        prop_assert_eq!(index.stats().entries, model.len() as u64);
        for k in 0..300 {
            let want: Vec<TupleId> = model.iter().filter(|(m, _)| *m == k).map(|(_, t)| tid(*t)).collect();
            prop_assert_eq!(index.lookup(&key(k, 60)).unwrap(), want);
        }
    }
}
