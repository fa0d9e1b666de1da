//! Runs sqllogictest files over the wire, each on a fresh server, and prints one line per file
//! in the format of `../shared/conformance/pg15-baseline.txt`.
//!
//! `cargo run -p rustydb-tests --bin slt -- [--method btree|hash|lsm] [--verbose | --all-failures]
//! [--connect CONNINFO] FILE...`
//!
//! `--connect` runs the files against another server instead (PostgreSQL 15, to check an
//! expected result): each file then starts with the `public` schema dropped and made again.

#![allow(clippy::unwrap_used, clippy::expect_used)] // A tool: a failure to start is reported by panicking.

use std::path::PathBuf;
use std::time::Instant;

use rustydb_tests::TestServer;
use rustydb_tests::slt::{Options, run_file};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut options = Options::default();
    let mut verbose = false;
    let mut files: Vec<PathBuf> = Vec::new();
    let mut connect: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--method" => options.index_method = args.next(),
            "--verbose" => verbose = true,
            "--connect" => connect = args.next(),
            "--all-failures" => {
                verbose = true;
                options.max_reported = usize::MAX;
            }
            _ => files.push(arg.into()),
        }
    }
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    for file in &files {
        let (_server, client) = match &connect {
            None => {
                let server = TestServer::start();
                let client = server.connect().await;
                (Some(server), client)
            }
            Some(conninfo) => {
                let (client, connection) = tokio_postgres::connect(conninfo, tokio_postgres::NoTls).await.unwrap();
                tokio::spawn(connection);
                client.batch_execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public").await.unwrap();
                (None, client)
            }
        };
        let started = Instant::now();
        match run_file(&client, file, &options).await {
            Ok(result) => {
                println!(
                    "FILE {}: {} (records) in {:.2}s",
                    display_name(file),
                    result,
                    started.elapsed().as_secs_f64()
                );
                if result.failed > 0 {
                    println!("  failures by kind: {:?}", result.failure_kinds);
                }
                if verbose {
                    for failure in &result.failures {
                        println!("  {failure}");
                    }
                }
                passed += result.passed;
                failed += result.failed;
                skipped += result.skipped;
            }
            Err(e) => println!("FILE {}: cannot run: {e}", display_name(file)),
        }
    }
    println!("TOTAL: {passed} passed, {failed} failed, {skipped} skipped");
}

/// The path below the corpus root (`.../sqlite/index/x/y.test` → `index/x/y.test`), as the
/// baseline names files.
fn display_name(file: &std::path::Path) -> String {
    let text = file.to_string_lossy();
    match text.split_once("/sqlite/") {
        Some((_, rest)) => rest.to_string(),
        None => text.into_owned(),
    }
}
