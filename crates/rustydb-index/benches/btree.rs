//! The B+tree beside redb (a well-known embedded B-tree store), same keys, same run.
//!
//! - `point_lookup`: one key of 200,000, pages resident (ours: buffer pool; redb: its cache),
//!   one lookup per iteration, inside one read transaction for redb; also our hash index.
//! - `insert_1000`: 1,000 random keys into a tree of 200,000 (ours: logged to the WAL buffer,
//!   no fsync; redb: one write transaction, no durability).
//! - `range_1000`: 1,000 consecutive entries from a random key (ours: the streaming scan the
//!   `Index::range` collection is built on).
//! - `bulk_load_100k`: 100,000 sorted entries into an empty tree (redb: inserted in order).
//! - `lsm_put_1000`: 1,000 random puts into the LSM tree (memtable and its own buffered log,
//!   flushes and compactions in the background) beside fjall (an LSM store; journal buffered,
//!   no fsync, as ours), with write amplification printed after.
//! - `lsm_memtable_put_1000`: the same puts into the memtable path alone (a fresh tree whose
//!   memtable holds them all: its log append and skip-list insert, no flush or compaction), the
//!   rate the aim names.
//! - `lsm_get`: point lookups of keys put before, with the tree's read amplification (tables
//!   read per lookup) printed after.
//!
//! `cargo bench -p rustydb-index --bench btree -- --warm-up-time 1 --measurement-time 3`

#![allow(clippy::unwrap_used, missing_docs)] // A benchmark that cannot set up should stop loudly.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use redb::{Database, Durability, ReadableDatabase, TableDefinition};
use rustydb_foundation::{FileId, PageId, TupleId, Value};
use rustydb_index::lsm::LsmOptions;
use rustydb_index::{BTree, HashIndex, Index, LsmTree, kernels::mix64, keycode};
use rustydb_storage::StorageEngine;
use std::hint::black_box;

const N: u64 = 200_000;
const HEAP: FileId = FileId(1);
const TABLE: TableDefinition<'static, u64, u64> = TableDefinition::new("t");

fn key(n: u64) -> Vec<u8> {
    keycode::encode_key(&[Value::Int8(n as i64)])
}

fn tid(n: u64) -> TupleId {
    TupleId { page: PageId::new(HEAP, (n / 100) as u32), slot: (n % 100) as u16 }
}

struct Ours {
    _dir: tempfile::TempDir,
    storage: StorageEngine,
    next_file: u32,
}

impl Ours {
    fn new() -> Ours {
        let dir = tempfile::tempdir().unwrap();
        let storage = StorageEngine::open(dir.path(), 65_536).unwrap();
        Ours { _dir: dir, storage, next_file: 100 }
    }

    fn tree(&mut self) -> BTree {
        self.next_file += 1;
        let (pool, log) = (self.storage.pool().clone(), self.storage.log().clone());
        BTree::create(pool, FileId(self.next_file), HEAP, false, log).unwrap()
    }

    fn loaded(&mut self, n: u64) -> BTree {
        let tree = self.tree();
        tree.bulk_load((0..n).map(|i| (key(i * 2), tid(i)))).unwrap();
        tree
    }
}

fn redb_loaded(n: u64) -> (tempfile::TempDir, Database) {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::create(dir.path().join("redb")).unwrap();
    let mut w = db.begin_write().unwrap();
    w.set_durability(Durability::None).unwrap();
    {
        let mut t = w.open_table(TABLE).unwrap();
        for i in 0..n {
            t.insert(i * 2, i).unwrap();
        }
    }
    w.commit().unwrap();
    (dir, db)
}

fn btree(c: &mut Criterion) {
    let mut ours = Ours::new();
    let tree = ours.loaded(N);
    let (_redb_dir, db) = redb_loaded(N);
    let mut group = c.benchmark_group("point_lookup");
    let mut i = 0u64;
    group.bench_function("rustydb", |b| {
        b.iter(|| {
            i += 1;
            black_box(tree.lookup(&key(mix64(i) % N * 2)).unwrap())
        })
    });
    let hash =
        HashIndex::create(ours.storage.pool().clone(), FileId(99), HEAP, false, ours.storage.log().clone()).unwrap();
    for n in 0..N {
        hash.insert(&key(n * 2), tid(n)).unwrap();
    }
    group.bench_function("rustydb_hash", |b| {
        b.iter(|| {
            i += 1;
            black_box(hash.lookup(&key(mix64(i) % N * 2)).unwrap())
        })
    });
    let read = db.begin_read().unwrap();
    let table = read.open_table(TABLE).unwrap();
    group.bench_function("redb", |b| {
        b.iter(|| {
            i += 1;
            black_box(table.get(mix64(i) % N * 2).unwrap().map(|v| v.value()))
        })
    });
    group.finish();

    let mut group = c.benchmark_group("range_1000");
    group.throughput(Throughput::Elements(1000));
    group.bench_function("rustydb", |b| {
        b.iter(|| {
            i += 1;
            let start = key(mix64(i) % (N - 2000) * 2);
            let mut n = 0;
            tree.scan_forward(&start, |entry| {
                n += black_box(entry.len());
                Ok(n < 1000 * entry.len())
            })
            .unwrap();
            n
        })
    });
    group.bench_function("redb", |b| {
        b.iter(|| {
            i += 1;
            let start = mix64(i) % (N - 2000) * 2;
            black_box(table.range(start..).unwrap().take(1000).map(|r| r.unwrap().1.value()).sum::<u64>())
        })
    });
    group.finish();
    drop(table);
    drop(read);

    let mut group = c.benchmark_group("insert_1000");
    group.throughput(Throughput::Elements(1000));
    group.sample_size(20);
    let mut next = 0u64;
    group.bench_function("rustydb", |b| {
        b.iter(|| {
            for _ in 0..1000 {
                next += 1;
                tree.insert(&key((mix64(next) % (N * 2)) | 1), tid(next)).unwrap();
            }
        })
    });
    group.bench_function("redb", |b| {
        b.iter(|| {
            let mut w = db.begin_write().unwrap();
            w.set_durability(Durability::None).unwrap();
            {
                let mut t = w.open_table(TABLE).unwrap();
                for _ in 0..1000 {
                    next += 1;
                    t.insert((mix64(next) % (N * 2)) | 1, next).unwrap();
                }
            }
            w.commit().unwrap();
        })
    });
    group.finish();

    let mut group = c.benchmark_group("lsm_put_1000");
    group.throughput(Throughput::Elements(1000));
    let lsm_dir = tempfile::tempdir().unwrap();
    let lsm = LsmTree::open(lsm_dir.path(), HEAP, LsmOptions::default()).unwrap();
    let first = next;
    group.bench_function("rustydb", |b| {
        b.iter(|| {
            for _ in 0..1000 {
                next += 1;
                lsm.insert(&key(mix64(next)), tid(next)).unwrap();
            }
        })
    });
    let fjall_dir = tempfile::tempdir().unwrap();
    let fjall_db = fjall::Database::builder(fjall_dir.path()).open().unwrap();
    let fjall_tree = fjall_db.keyspace("t", fjall::KeyspaceCreateOptions::default).unwrap();
    let mut fjall_next = 0u64;
    group.bench_function("fjall", |b| {
        b.iter(|| {
            for _ in 0..1000 {
                fjall_next += 1;
                // The same entry as ours: key and tuple id as the key, no value.
                let mut entry = key(mix64(fjall_next));
                entry.extend_from_slice(&tid(fjall_next).page.number.to_be_bytes());
                entry.extend_from_slice(&tid(fjall_next).slot.to_be_bytes());
                fjall_tree.insert(entry, b"").unwrap();
            }
        })
    });
    group.finish();
    println!("lsm write amplification so far: {:.2}, tables per level {:?}", lsm.write_amplification(), lsm.shape());

    let mut group = c.benchmark_group("lsm_memtable_put_1000");
    group.throughput(Throughput::Elements(1000));
    group.bench_function("rustydb", |b| {
        b.iter_custom(|iters| {
            // A fresh tree per measurement, its memtable large enough for every put.
            let dir = tempfile::tempdir().unwrap();
            let options = LsmOptions { memtable_bytes: usize::MAX, ..LsmOptions::default() };
            let fresh = LsmTree::open(dir.path(), HEAP, options).unwrap();
            let keys: Vec<Vec<u8>> = (0..iters * 1000).map(|n| key(mix64(n + 1))).collect();
            let started = std::time::Instant::now();
            for (n, k) in keys.iter().enumerate() {
                fresh.insert(k, tid(n as u64)).unwrap();
            }
            started.elapsed()
        })
    });
    group.finish();

    let mut group = c.benchmark_group("lsm_get");
    let mut probe = first;
    group.bench_function("rustydb", |b| {
        b.iter(|| {
            probe = if probe >= next { first + 1 } else { probe + 1 };
            black_box(lsm.lookup(&key(mix64(probe))).unwrap())
        })
    });
    group.finish();
    println!("lsm read amplification: {:.2} tables per lookup", lsm.read_amplification());
    drop(lsm);

    let mut group = c.benchmark_group("bulk_load_100k");
    group.throughput(Throughput::Elements(100_000));
    group.sample_size(10);
    group.bench_function("rustydb", |b| b.iter(|| ours.loaded(100_000)));
    group.bench_function("redb", |b| b.iter(|| redb_loaded(100_000)));
    group.finish();
}

criterion_group!(benches, btree);
criterion_main!(benches);
