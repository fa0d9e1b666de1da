//! Connection limits and endings: max_connections (53300), a role's CONNECTION LIMIT,
//! idle_in_transaction_session_timeout (25P03), and a graceful shutdown that lets a running
//! statement finish, ends idle connections with 57P01, and cancels what outlasts the grace
//! period.

#![allow(clippy::unwrap_used)] // Tests assert by unwrapping; a panic is the failure report.

use rustydb_tests::TestServer;
use rustydb_tests::raw::RawClient;
use std::time::{Duration, Instant};
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, NoTls};

async fn connect(server: &TestServer, user: &str, password: &str) -> Result<Client, tokio_postgres::Error> {
    let conn = format!("{} password={password}", server.conn_str(user, "rustydb"));
    let (client, connection) = tokio_postgres::connect(&conn, NoTls).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

fn start(toml: &str) -> (TestServer, tempfile::TempDir) {
    let temp = tempfile::tempdir().unwrap();
    let server = TestServer::start_in_with_config(&temp.path().join("data"), toml);
    (server, temp)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_connections_and_role_connection_limits_refuse_with_53300() {
    let (server, _dir) = start("max_connections = 3\n");
    let first = server.connect().await;
    first.batch_execute("CREATE USER lim PASSWORD 'p' CONNECTION LIMIT 1").await.unwrap();
    let lim = connect(&server, "lim", "p").await.unwrap();
    let e = connect(&server, "lim", "p").await.err().unwrap();
    assert_eq!(e.code(), Some(&SqlState::TOO_MANY_CONNECTIONS));
    assert_eq!(e.as_db_error().unwrap().message(), "too many connections for role \"lim\"");
    let third = server.connect().await;
    let e = server.connect_as("rustydb", "rustydb").await.err().unwrap();
    assert_eq!(e.code(), Some(&SqlState::TOO_MANY_CONNECTIONS));
    assert_eq!(e.as_db_error().unwrap().message(), "sorry, too many clients already");
    // A slot (and the role's count) comes back when a connection ends.
    drop(lim);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let again = connect(&server, "lim", "p").await.unwrap();
    let n: i64 = again.query_one("SELECT 1::int8", &[]).await.unwrap().get(0);
    assert_eq!(n, 1);
    drop((first, third));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_in_transaction_sessions_are_cut_off_and_rolled_back() {
    let (server, _dir) = start("");
    let admin = server.connect().await;
    admin.batch_execute("CREATE TABLE t (x int)").await.unwrap();
    let mut raw = RawClient::connect(server.addr, "rustydb").await.unwrap();
    raw.query("SET idle_in_transaction_session_timeout = '300ms'").await.unwrap();
    // Idle outside a transaction: not cut off.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(raw.query("SELECT 1").await.unwrap().tags, ["SELECT 1"]);
    // Busy in a transaction, each pause shorter than the timeout: not cut off either.
    raw.query("BEGIN").await.unwrap();
    for i in 0..4 {
        raw.query(&format!("INSERT INTO t VALUES ({i})")).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Idle in it: FATAL 25P03, the connection closes, the transaction rolls back.
    let started = Instant::now();
    let said = raw.read_until_closed().await.unwrap();
    assert_eq!(said, ["Error 25P03: terminating connection due to idle-in-transaction timeout"]);
    assert!(started.elapsed() < Duration::from_secs(5));
    let n: i64 = admin.query_one("SELECT count(*) FROM t", &[]).await.unwrap().get(0);
    assert_eq!(n, 0);
    // SHOW reports the setting as PostgreSQL does.
    let mut raw = RawClient::connect(server.addr, "rustydb").await.unwrap();
    raw.query("SET idle_in_transaction_session_timeout = 5000").await.unwrap();
    assert_eq!(raw.query("SHOW idle_in_transaction_session_timeout").await.unwrap().rows, [[Some("5s".to_string())]]);
}

/// Counts to `n` with a recursive CTE: seconds of work, checked for cancels at every batch.
fn count_to(n: u64) -> String {
    format!("WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < {n}) SELECT count(*) FROM r")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_lets_a_running_statement_finish_and_ends_idle_connections() {
    let (server, _dir) = start("shutdown_grace_s = 60\n");
    let busy = server.connect().await;
    let mut idle = RawClient::connect(server.addr, "rustydb").await.unwrap();
    // Time a statement, so the shutdown surely lands while the next one runs.
    let started = Instant::now();
    busy.simple_query(&count_to(200_000)).await.unwrap();
    let per_row = started.elapsed().as_secs_f64() / 200_000.0;
    let n = ((2.0 / per_row) as u64).clamp(200_000, 20_000_000);
    let running = tokio::spawn(async move { busy.query_one(&count_to(n), &[]).await.map(|r| r.get::<_, i64>(0)) });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let pid = server.pid();
    // SAFETY: kill(2) on the pid of the test's own child process.
    unsafe { libc::kill(pid as libc::pid_t, libc::SIGTERM) };
    let said = idle.read_until_closed().await.unwrap();
    assert_eq!(said, ["Error 57P01: terminating connection due to administrator command"]);
    // The running statement completes with its full answer.
    assert_eq!(running.await.unwrap().unwrap(), n as i64);
    let status = server.terminate();
    assert!(status.success(), "{status:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_cancels_statements_that_outlast_the_grace_period() {
    let (mut server, dir) = start("shutdown_grace_s = 1\n");
    let busy = server.connect().await;
    busy.batch_execute("CREATE TABLE kept (x int); INSERT INTO kept VALUES (1)").await.unwrap();
    let endless = "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r";
    let running = tokio::spawn(async move { busy.simple_query(endless).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    let data_dir = server.data_dir.clone();
    let _keep = server.keep_dir();
    let status = server.terminate();
    assert!(status.success(), "{status:?}");
    assert!(started.elapsed() < Duration::from_secs(15), "shutdown took {:?}", started.elapsed());
    let e = running.await.unwrap().unwrap_err();
    assert!(e.code() == Some(&SqlState::QUERY_CANCELED) || e.is_closed(), "{e}");
    // The data directory was shut down cleanly and reopens with its data.
    let server = TestServer::start_in_with_config(&data_dir, "");
    let c = server.connect().await;
    let n: i64 = c.query_one("SELECT count(*) FROM kept", &[]).await.unwrap().get(0);
    assert_eq!(n, 1);
    drop(dir);
}
