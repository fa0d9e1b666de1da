//! Embedded point lookups, RustyDB beside SQLite in the same run: the SQLite-like use the
//! embedded API exists for.
//!
//! Both open a file-backed database in a temporary directory, load the same 100,000 rows
//! `(id BIGINT PRIMARY KEY, v TEXT)`, and then look rows up by a pseudo-random key through a
//! cached prepared statement (`query_with` here, `prepare_cached` there), reading the text
//! value. Run with `cargo bench -p rustydb-api --bench point_lookup`; the ratio of the two
//! times is the figure to report.

#![allow(clippy::unwrap_used)] // A benchmark that cannot set up has nothing to report.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

const ROWS: i64 = 100_000;

/// The same key sequence for both: a multiplicative walk over 1..=ROWS.
fn key(i: u64) -> i64 {
    (i.wrapping_mul(2_654_435_761) % ROWS as u64) as i64 + 1
}

fn rustydb(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let db = rustydb_api::Database::open(dir.path()).unwrap();
    let mut conn = db.connect().unwrap();
    conn.execute("CREATE TABLE kv (id BIGINT PRIMARY KEY, v TEXT)").unwrap();
    let data: String = (1..=ROWS).map(|i| format!("{i}\tvalue-{i}\n")).collect();
    assert_eq!(conn.copy_in("COPY kv FROM STDIN", data.as_bytes()).unwrap(), ROWS as u64);
    let mut i = 0u64;
    c.bench_function("point_lookup/rustydb", |b| {
        b.iter(|| {
            i += 1;
            let rows = conn.query_with("SELECT v FROM kv WHERE id = $1", &[&key(i)]).unwrap();
            black_box(rows[0].get::<String>(0).unwrap());
        })
    });
}

fn sqlite(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let conn = rusqlite::Connection::open(dir.path().join("bench.db")).unwrap();
    conn.execute_batch("CREATE TABLE kv (id INTEGER PRIMARY KEY, v TEXT); BEGIN").unwrap();
    {
        let mut insert = conn.prepare("INSERT INTO kv VALUES (?1, ?2)").unwrap();
        for i in 1..=ROWS {
            insert.execute(rusqlite::params![i, format!("value-{i}")]).unwrap();
        }
    }
    conn.execute_batch("COMMIT").unwrap();
    let mut i = 0u64;
    c.bench_function("point_lookup/sqlite", |b| {
        b.iter(|| {
            i += 1;
            let mut stmt = conn.prepare_cached("SELECT v FROM kv WHERE id = ?1").unwrap();
            let v: String = stmt.query_row([key(i)], |r| r.get(0)).unwrap();
            black_box(v);
        })
    });
}

criterion_group!(benches, rustydb, sqlite);
criterion_main!(benches);
