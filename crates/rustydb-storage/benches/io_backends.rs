//! I/O backends: random 4 KiB reads at queue depth 1 (one thread) and 32 (32 threads), through
//! pread (PosixVfs) and io_uring (UringVfs), on a 64 MiB file that sits in the page cache: this
//! measures per-I/O overhead and batching, not the device.
//!
//! `cargo bench -p rustydb-storage --bench io_backends`

#![allow(clippy::unwrap_used, missing_docs)] // A benchmark that cannot set up should stop loudly.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rustydb_storage::{FileHandle, PosixVfs, UringVfs, Vfs};
use std::sync::Arc;
use std::time::Duration;

mod common;

const FILE_BYTES: u64 = 64 * 1024 * 1024;
const BLOCK: usize = 4096;

fn prepare(vfs: &dyn Vfs, path: &std::path::Path) -> Arc<dyn FileHandle> {
    let file = vfs.open(path).unwrap();
    let chunk = vec![0xA5u8; 1 << 20];
    for i in 0..FILE_BYTES / chunk.len() as u64 {
        file.write_all_at(&chunk, i * chunk.len() as u64).unwrap();
    }
    file.sync_data().unwrap();
    file
}

fn reads(file: &Arc<dyn FileHandle>, threads: usize, iters: u64) -> Duration {
    let file = file.clone();
    common::timed_threads(threads, iters, move |t, count| {
        let mut buf = vec![0u8; BLOCK];
        let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ t as u64;
        for _ in 0..count {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let offset = (x % (FILE_BYTES / BLOCK as u64)) * BLOCK as u64;
            assert_eq!(file.read_at(&mut buf, offset).unwrap(), BLOCK);
        }
    })
}

fn random_reads(c: &mut Criterion) {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let mut backends: Vec<(&str, Arc<dyn Vfs>)> = vec![("pread", Arc::new(PosixVfs))];
    match UringVfs::new() {
        Ok(v) => backends.push(("io_uring", Arc::new(v))),
        Err(e) => eprintln!("io_uring unavailable here ({e}); benchmarking pread only"),
    }
    let mut group = c.benchmark_group("io_backends");
    group.throughput(Throughput::Elements(1));
    for (name, vfs) in backends {
        let file = prepare(&*vfs, &dir.path().join(name));
        for depth in [1usize, 32] {
            group.bench_function(format!("random_4k_read_qd{depth}_{name}"), |b| {
                b.iter_custom(|iters| reads(&file, depth, iters))
            });
        }
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(4));
    targets = random_reads
}
criterion_main!(benches);
