//! The project's own sqllogictest files (`tests/sql/*.slt`), each on a fresh server: every
//! record must pass, errors included (`statement error (SQLSTATE)` checks the code). Each file
//! was checked against PostgreSQL 15 when written
//! (`cargo run -p rustydb-tests --bin slt -- --connect "host=... user=..." tests/sql/FILE.slt`).

#![allow(clippy::unwrap_used)] // Tests assert by unwrapping; a panic is the failure report.

use rustydb_tests::TestServer;
use rustydb_tests::slt::{Options, run_file};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_sql_file_passes_every_record() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sql");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "slt"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .slt files in {}", dir.display());
    let mut report = Vec::new();
    for path in &files {
        let server = TestServer::start();
        let client = server.connect().await;
        let options = Options { max_reported: usize::MAX, ..Options::default() };
        let result = run_file(&client, path, &options).await.unwrap();
        assert!(result.passed > 0, "{}: nothing ran", path.display());
        if result.failed > 0 {
            report.push(format!("{}: {result}\n{}", path.display(), result.failures.join("\n")));
        }
    }
    assert!(report.is_empty(), "{}", report.join("\n\n"));
}
