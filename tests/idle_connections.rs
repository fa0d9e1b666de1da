//! Thousands of idle connections cost little: 2,000 clients connect and stay idle, the server
//! keeps answering on each of them and on a new one, and its resident memory grows by a
//! bounded amount per connection (printed, for the report).

#![allow(clippy::unwrap_used)] // Tests assert by unwrapping; a panic is the failure report.

use rustydb_tests::TestServer;
use rustydb_tests::raw::RawClient;

const IDLE: usize = 2000;

/// Raises this process's open-file limit (inherited by the server it starts) to hold `needed`
/// descriptors; returns false if the hard limit is too low.
fn raise_file_limit(needed: u64) -> bool {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit/setrlimit write or read only the struct passed.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 || limit.rlim_max < needed {
            return false;
        }
        limit.rlim_cur = limit.rlim_cur.max(needed);
        libc::setrlimit(libc::RLIMIT_NOFILE, &limit) == 0
    }
}

fn resident_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_idle_connections_cost_little_and_the_server_still_answers() {
    if !raise_file_limit(IDLE as u64 + 500) {
        eprintln!("the open-file hard limit is below {}; skipping", IDLE + 500);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let server =
        TestServer::start_in_with_config(&dir.path().join("data"), &format!("max_connections = {}\n", IDLE + 10));
    let mut first = RawClient::connect(server.addr, "rustydb").await.unwrap();
    first.query("CREATE TABLE t (id INT PRIMARY KEY)").await.unwrap();
    let before = resident_kib(server.pid());
    let mut idle = Vec::with_capacity(IDLE);
    for _ in 0..IDLE {
        idle.push(RawClient::connect(server.addr, "rustydb").await.unwrap());
    }
    let after = resident_kib(server.pid());
    let per_connection = (after.saturating_sub(before)) / IDLE as u64;
    println!("{IDLE} idle connections: {before} KiB -> {after} KiB resident, {per_connection} KiB each");
    assert!(per_connection < 512, "an idle connection costs {per_connection} KiB");
    // Every one of them still answers, and so does a new one.
    for (i, client) in idle.iter_mut().enumerate().step_by(97) {
        let reply = client.query(&format!("INSERT INTO t VALUES ({i})")).await.unwrap();
        assert_eq!(reply.tags, ["INSERT 0 1"]);
    }
    let mut fresh = RawClient::connect(server.addr, "rustydb").await.unwrap();
    let reply = fresh.query("SELECT count(*) FROM t").await.unwrap();
    assert_eq!(reply.rows, [vec![Some(IDLE.div_ceil(97).to_string())]]);
    drop(idle);
}
