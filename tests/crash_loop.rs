//! The crash loop: clients run a write workload, the server is killed with SIGKILL at a moment
//! chosen at random, restarted on the same data directory, and checked:
//!
//! - every commit a client saw acknowledged is there (durability);
//! - no transaction is partly there: each client's transaction inserts its next log row and
//!   moves its counter in one commit, so the rows must be exactly `1..=counter` (atomicity);
//! - at most the one transaction in flight per client may have committed unacknowledged.
//!
//! The log rows carry a wide indexed text key, so B+tree splits are under way at most kills;
//! another client runs CHECKPOINT and VACUUM in turn, back to back, so many kills land in the
//! middle of one (a checkpoint's page writes, the status file, the control file, the log's
//! recycling; a vacuum's index and heap removals), and autovacuum keeps visiting the counters
//! every transaction updates.
//! 50 iterations by default; `CRASH_LOOP_ITERATIONS=5000` for a long soak, and
//! `CRASH_LOOP_SEED` to replay a run.

#![allow(clippy::unwrap_used)]

use rustydb_tests::TestServer;
use std::collections::HashMap;
use std::time::Duration;
use tokio_postgres::{Client, SimpleQueryMessage};

const CLIENTS: i64 = 4;

async fn rows(client: &Client, sql: &str) -> Vec<Vec<i64>> {
    let messages = client.simple_query(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    messages
        .into_iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => Some((0..r.len()).map(|i| r.get(i).unwrap().parse().unwrap()).collect()),
            _ => None,
        })
        .collect()
}

/// A small deterministic generator (xorshift), so that a seed replays a run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// One client's writes until its connection dies; returns the last acknowledged sequence.
async fn workload(client: Client, id: i64, mut next: i64) -> i64 {
    loop {
        let pad = format!("{id}-{next:0>6}-{}", "k".repeat(180));
        let sql = format!(
            "begin; insert into log values ({id}, {next}, '{pad}'); \
             update counters set n = {next} where client = {id}; commit"
        );
        if client.batch_execute(&sql).await.is_err() {
            return next - 1;
        }
        next += 1;
    }
}

/// CHECKPOINT and VACUUM in turn, back to back, until the connection dies (the kill); either
/// failing on the server is a test failure. Counts what completed.
async fn maintenance(client: Client, done: std::sync::Arc<[std::sync::atomic::AtomicU64; 2]>) {
    for (i, command) in ["checkpoint", "vacuum"].into_iter().cycle().enumerate() {
        match client.batch_execute(command).await {
            Ok(()) => done[i % 2].fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            Err(e) if e.as_db_error().is_some() => panic!("{command} failed: {e:?}"),
            Err(_) => return,
        };
    }
}

/// Checks the recovered state against what was acknowledged; returns each client's counter.
async fn verify(server: &TestServer, acked: &HashMap<i64, i64>, iteration: usize) -> HashMap<i64, i64> {
    let client = server.connect().await;
    let counters: HashMap<i64, i64> =
        rows(&client, "select client, n from counters").await.into_iter().map(|r| (r[0], r[1])).collect();
    let mut seqs: HashMap<i64, Vec<i64>> = HashMap::new();
    for r in rows(&client, "select client, seq from log").await {
        seqs.entry(r[0]).or_default().push(r[1]);
    }
    for c in 0..CLIENTS {
        let n = counters[&c];
        let acked = acked.get(&c).copied().unwrap_or(0);
        assert!(n >= acked, "iteration {iteration}: client {c} acknowledged {acked} but the counter is {n}");
        assert!(n <= acked + 1, "iteration {iteration}: client {c} counter {n} is beyond {acked} + the one in flight");
        let mut got = seqs.remove(&c).unwrap_or_default();
        got.sort_unstable();
        assert_eq!(got, (1..=n).collect::<Vec<_>>(), "iteration {iteration}: client {c}'s rows are not 1..={n}");
        // The index agrees with the heap.
        let by_key = rows(&client, &format!("select n from counters where client = {c}")).await;
        assert_eq!(by_key, vec![vec![n]], "iteration {iteration}: the primary key disagrees with the heap");
        let key = format!("{c}-{n:0>6}-{}", "k".repeat(180));
        let by_index = rows(&client, &format!("select seq from log where pad = '{key}'")).await;
        assert_eq!(by_index.len(), usize::from(n > 0), "iteration {iteration}: the index lost client {c}'s last row");
    }
    counters
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_commit_survives_kill_9_at_random_moments() {
    let iterations: usize = std::env::var("CRASH_LOOP_ITERATIONS").ok().and_then(|v| v.parse().ok()).unwrap_or(50);
    let seed: u64 = std::env::var("CRASH_LOOP_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(0x5eed_cafe);
    eprintln!("crash loop: {iterations} iterations, seed {seed}");
    let mut rng = Rng(seed | 1);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    {
        let server = TestServer::start_in(&data);
        let c = server.connect().await;
        c.batch_execute(
            "create table log (client int, seq int, pad text, primary key (client, seq));
             create index log_pad on log (pad);
             create table counters (client int primary key, n int)",
        )
        .await
        .unwrap();
        let rows: Vec<String> = (0..CLIENTS).map(|i| format!("({i}, 0)")).collect();
        c.batch_execute(&format!("insert into counters values {}", rows.join(", "))).await.unwrap();
        server.terminate();
    }
    let mut counters: HashMap<i64, i64> = (0..CLIENTS).map(|c| (c, 0)).collect();
    let done = std::sync::Arc::new([std::sync::atomic::AtomicU64::new(0), std::sync::atomic::AtomicU64::new(0)]);
    for iteration in 0..iterations {
        let server = TestServer::start_in(&data);
        counters = verify(&server, &counters, iteration).await;
        let mut clients = Vec::new();
        for c in 0..CLIENTS {
            let client = server.connect().await;
            clients.push(tokio::spawn(workload(client, c, counters[&c] + 1)));
        }
        let maintainer = tokio::spawn(maintenance(server.connect().await, done.clone()));
        tokio::time::sleep(Duration::from_millis(20 + rng.below(300))).await;
        server.kill9();
        tokio::time::timeout(Duration::from_secs(10), maintainer).await.unwrap().unwrap();
        for (c, task) in clients.into_iter().enumerate() {
            let acked = tokio::time::timeout(Duration::from_secs(10), task).await.unwrap().unwrap();
            counters.insert(c as i64, acked);
        }
    }
    let server = TestServer::start_in(&data);
    let last = verify(&server, &counters, iterations).await;
    let total: i64 = last.values().sum();
    let [checkpoints, vacuums] = [0, 1].map(|i| done[i].load(std::sync::atomic::Ordering::Relaxed));
    eprintln!(
        "crash loop: {total} transactions committed, {checkpoints} checkpoints and {vacuums} vacuums completed \
         across {iterations} kills"
    );
    assert!(total > iterations as i64, "the workload hardly ran ({total} commits)");
    assert!(checkpoints > iterations as u64, "checkpoints hardly ran ({checkpoints} completed)");
    assert!(vacuums > iterations as u64, "vacuums hardly ran ({vacuums} completed)");
}
