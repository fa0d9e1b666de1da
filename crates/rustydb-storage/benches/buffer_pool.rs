//! Buffer pool: pin/unpin of a resident page (aim: under 100 ns), the miss path (page read from
//! the OS cache through pread and checksum verification), and the hit ratio of each eviction
//! policy on a hot set with interleaved scans (printed; 2Q and ARC should beat LRU and CLOCK).
//!
//! `cargo bench -p rustydb-storage --bench buffer_pool`

#![allow(clippy::unwrap_used, missing_docs)] // A benchmark that cannot set up should stop loudly.

use criterion::{Criterion, criterion_group, criterion_main};
use rustydb_foundation::{FileId, Lsn, PageId};
use rustydb_storage::eviction::{self, PolicyKind};
use rustydb_storage::page::{KIND_HEAP, Page};
use rustydb_storage::{StorageEngine, StorageOptions};
use std::hint::black_box;

/// A storage engine with a pool of `frames` pages and no background writer (nothing else
/// touches the pool while it is measured).
fn engine(dir: &std::path::Path, frames: usize) -> StorageEngine {
    StorageEngine::open_with(dir, StorageOptions { background_writer: None, ..StorageOptions::with_pool_pages(frames) })
        .unwrap()
}

fn pin_unpin(c: &mut Criterion) {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let engine = engine(dir.path(), 64);
    let pool = engine.pool();
    let id = PageId::new(FileId(1), 0);
    Page::new(&mut pool.write(id).unwrap()).init(KIND_HEAP);
    c.bench_function("buffer_pool/pin_unpin_resident_read", |b| {
        b.iter(|| black_box(pool.read(black_box(id)).unwrap()[0]))
    });
    c.bench_function("buffer_pool/pin_unpin_resident_write", |b| {
        b.iter(|| black_box(pool.write(black_box(id)).unwrap()[0]))
    });
}

fn miss_path(c: &mut Criterion) {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let engine = engine(dir.path(), 16);
    let pool = engine.pool();
    let file = FileId(2);
    for n in 0..256 {
        let mut g = pool.write(PageId::new(file, n)).unwrap();
        let mut page = Page::new(&mut g);
        page.init(KIND_HEAP);
        page.set_lsn(Lsn(0));
    }
    pool.flush_all().unwrap();
    let mut n = 0u32;
    c.bench_function("buffer_pool/miss_read_from_os_cache", |b| {
        b.iter(|| {
            n = (n + 17) % 256;
            black_box(pool.read(PageId::new(file, n)).unwrap()[0])
        })
    });
}

fn policy_hit_ratios(c: &mut Criterion) {
    let trace = eviction::hot_set_with_scans_trace(600, 4000, 20);
    for kind in PolicyKind::ALL {
        let ratio = eviction::simulate(kind, 1000, &trace);
        eprintln!("hit ratio, hot set 600 + interleaved scans, 1000 frames, {kind:?}: {ratio:.3}");
    }
    c.bench_function("buffer_pool/policy_simulation_arc_100k_accesses", |b| {
        let short = &trace[..100_000.min(trace.len())];
        b.iter(|| black_box(eviction::simulate(PolicyKind::Arc, 1000, short)))
    });
}

criterion_group!(benches, pin_unpin, miss_path, policy_hit_ratios);
criterion_main!(benches);
