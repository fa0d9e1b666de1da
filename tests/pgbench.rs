//! pgbench, unmodified, against the server: `pgbench -i` (CREATE TABLE ... WITH (fillfactor),
//! COPY FROM STDIN, VACUUM, ALTER TABLE ... ADD PRIMARY KEY) and then the built-in
//! tpcb-like, simple-update and select-only scripts in each protocol mode (simple, extended,
//! prepared) with several clients. Afterwards the TPC-B bookkeeping must balance: every
//! transaction added the same delta to one account, teller and branch and logged it in
//! history, so the four sums agree. Skipped where pgbench is not installed.

#![allow(clippy::unwrap_used)] // Tests assert by unwrapping; a panic is the failure report.

use rustydb_tests::{TestServer, which};
use std::process::Command;

fn pgbench(bin: &std::path::Path, port: u16, args: &[&str]) -> String {
    let out = Command::new(bin)
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-U", "rustydb"])
        .args(args)
        .arg("rustydb")
        .env("PGCONNECT_TIMEOUT", "10")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "pgbench {args:?} failed:\n{stdout}\n{stderr}");
    stdout + &stderr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pgbench_initialises_and_runs_every_builtin_script_in_every_mode() {
    let Some(bin) = which("pgbench") else {
        eprintln!("pgbench is not installed here; skipping the pgbench check");
        return;
    };
    let server = TestServer::start();
    let port = server.addr.port();
    let init = pgbench(&bin, port, &["-i", "-s", "1", "-q"]);
    assert!(init.contains("done in"), "{init}");
    for mode in ["simple", "extended", "prepared"] {
        for script in [&["-b", "tpcb-like"][..], &["-N"], &["-S"]] {
            let mut args = vec!["-M", mode, "-c", "3", "-j", "1", "-t", "40", "-n"];
            args.extend_from_slice(script);
            let out = pgbench(&bin, port, &args);
            assert!(out.contains("number of transactions actually processed: 120/120"), "{mode} {script:?}:\n{out}");
            assert!(out.contains("number of failed transactions: 0"), "{mode} {script:?}:\n{out}");
        }
    }
    let c = server.connect().await;
    let sum = |sql: &'static str| {
        let c = &c;
        async move { c.query_one(sql, &[]).await.unwrap().get::<_, i64>(0) }
    };
    let accounts = sum("SELECT sum(abalance) FROM pgbench_accounts").await;
    let history = sum("SELECT sum(delta) FROM pgbench_history").await;
    assert_eq!(accounts, history, "account balances and history disagree");
    assert_eq!(
        sum("SELECT sum(tbalance) FROM pgbench_tellers").await,
        sum("SELECT sum(bbalance) FROM pgbench_branches").await
    );
    let logged = sum("SELECT count(*) FROM pgbench_history").await;
    assert_eq!(logged, 3 * 2 * 120, "one history row per tpcb-like and simple-update transaction");
    assert_eq!(sum("SELECT count(*) FROM pgbench_accounts").await, 100_000);
}
