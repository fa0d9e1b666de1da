//! Log device: commits per second (append + flush_to, one fdatasync shared by whoever is
//! waiting) at 1, 8 and 64 concurrent committers, beside the machine's raw fdatasync floor in
//! the same run. Group commit should make 64 committers at least 10x the single-committer rate.
//!
//! `cargo bench -p rustydb-storage --bench log_device`

#![allow(clippy::unwrap_used, missing_docs)] // A benchmark that cannot set up should stop loudly.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rustydb_storage::{LogDevice, PosixVfs, Vfs};
use std::sync::Arc;
use std::time::Duration;

mod common;

const RECORD: [u8; 100] = [7; 100];

fn fdatasync_floor(c: &mut Criterion) {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let file = PosixVfs.open(&dir.path().join("floor")).unwrap();
    let mut offset = 0u64;
    let mut group = c.benchmark_group("log_device");
    group.throughput(Throughput::Elements(1));
    group.bench_function("fdatasync_floor_write_100b", |b| {
        b.iter(|| {
            file.write_all_at(&RECORD, offset).unwrap();
            offset += RECORD.len() as u64;
            file.sync_data().unwrap();
        })
    });
    group.finish();
}

/// Time for `iters` commits spread over `committers` threads.
fn run_commits(log: &Arc<LogDevice>, committers: usize, iters: u64) -> Duration {
    let log = log.clone();
    common::timed_threads(committers, iters, move |_, commits| {
        for _ in 0..commits {
            let lsn = log.append(&RECORD).unwrap();
            log.flush_to(lsn).unwrap();
        }
    })
}

fn group_commit(c: &mut Criterion) {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let vfs: Arc<dyn Vfs> = Arc::new(PosixVfs);
    let log = Arc::new(LogDevice::open(vfs, dir.path()).unwrap());
    let mut group = c.benchmark_group("log_device");
    group.throughput(Throughput::Elements(1));
    for committers in [1usize, 8, 64] {
        group.bench_function(format!("commits_{committers}_committers"), |b| {
            b.iter_custom(|iters| run_commits(&log, committers, iters))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(5));
    targets = fdatasync_floor, group_commit
}
criterion_main!(benches);
