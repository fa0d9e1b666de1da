//! Vectorised kernels: the AVX2 build against the portable build of the same source, over a
//! column of 64 Ki values (throughput in elements per second).
//!
//! `cargo bench -p rustydb-index --bench kernels`

#![allow(clippy::unwrap_used, missing_docs)] // A benchmark that cannot set up should stop loudly.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rustydb_index::kernels::{self, CmpOp, Isa};
use std::hint::black_box;

const N: usize = 64 * 1024;

fn column() -> Vec<i64> {
    (0..N as u64).map(|i| (kernels::mix64(i) % 1000) as i64).collect()
}

fn kernels_by_isa(c: &mut Criterion) {
    let ints = column();
    let floats: Vec<f64> = ints.iter().map(|&v| v as f64 * 0.5).collect();
    let unsigned: Vec<u64> = ints.iter().map(|&v| v as u64).collect();
    let mut group = c.benchmark_group("kernels");
    group.throughput(Throughput::Elements(N as u64));
    for isa in [Isa::Avx2, Isa::Portable] {
        let name = format!("{isa:?}").to_lowercase();
        let mut selection = Vec::with_capacity(N);
        group.bench_function(format!("select_lt_10pct/{name}"), |b| {
            b.iter(|| {
                selection.clear();
                kernels::select_i64_with(isa, black_box(&ints), CmpOp::Lt, 100, &mut selection);
                selection.len()
            })
        });
        group.bench_function(format!("sum_i64/{name}"), |b| b.iter(|| kernels::sum_i64_with(isa, black_box(&ints))));
        group.bench_function(format!("sum_f64/{name}"), |b| b.iter(|| kernels::sum_f64_with(isa, black_box(&floats))));
        group.bench_function(format!("min_max_i64/{name}"), |b| {
            b.iter(|| kernels::min_max_i64_with(isa, black_box(&ints)))
        });
        let mut hashes = Vec::with_capacity(N);
        group.bench_function(format!("hash_u64/{name}"), |b| {
            b.iter(|| kernels::hash_u64_with(isa, black_box(&unsigned), &mut hashes))
        });
    }
    group.finish();
}

criterion_group!(benches, kernels_by_isa);
criterion_main!(benches);
