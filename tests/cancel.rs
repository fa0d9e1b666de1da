//! Stopping statements: statement_timeout and CancelRequest (what psql sends on Ctrl-C),
//! both 57014, with the session going on afterwards.

#![allow(clippy::unwrap_used)] // Tests assert by unwrapping; a panic is the failure report.

use rustydb_tests::TestServer;
use std::time::{Duration, Instant};
use tokio_postgres::NoTls;
use tokio_postgres::error::SqlState;

/// Never ends on its own.
const ENDLESS: &str = "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statement_timeout_stops_a_statement_and_the_session_goes_on() {
    let server = TestServer::start();
    let c = server.connect().await;
    c.batch_execute("CREATE TABLE t (id INT PRIMARY KEY); SET statement_timeout = '200ms'").await.unwrap();
    let started = Instant::now();
    let e = c.simple_query(ENDLESS).await.unwrap_err();
    assert_eq!(e.code(), Some(&SqlState::QUERY_CANCELED));
    assert!(e.as_db_error().unwrap().message().contains("statement timeout"), "{e:?}");
    assert!(started.elapsed() < Duration::from_secs(10), "took {:?}", started.elapsed());
    // The extended protocol too, and in a block, which fails as after any error.
    c.batch_execute("BEGIN").await.unwrap();
    assert_eq!(c.query(ENDLESS, &[]).await.unwrap_err().code(), Some(&SqlState::QUERY_CANCELED));
    assert_eq!(c.query("SELECT 1", &[]).await.unwrap_err().code(), Some(&SqlState::IN_FAILED_SQL_TRANSACTION));
    c.batch_execute("ROLLBACK").await.unwrap();
    // A lock wait ends at the statement's deadline with 57014 rather than waiting on.
    let holder = server.connect().await;
    holder.batch_execute("BEGIN; LOCK TABLE t").await.unwrap();
    let e = c.simple_query("SELECT * FROM t").await.unwrap_err();
    assert_eq!(e.code(), Some(&SqlState::QUERY_CANCELED), "{e}");
    holder.batch_execute("ROLLBACK").await.unwrap();
    c.batch_execute("SET statement_timeout = 0").await.unwrap();
    let n: i64 = c.query_one("SELECT count(*) FROM t", &[]).await.unwrap().get(0);
    assert_eq!(n, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_request_stops_the_running_statement_only() {
    let server = TestServer::start();
    let c = server.connect().await;
    let other = server.connect().await;
    let token = c.cancel_token();
    let canceller = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        token.cancel_query(NoTls).await.unwrap();
    });
    let started = Instant::now();
    let e = c.simple_query(ENDLESS).await.unwrap_err();
    canceller.await.unwrap();
    assert_eq!(e.code(), Some(&SqlState::QUERY_CANCELED));
    assert!(e.as_db_error().unwrap().message().contains("user request"), "{e:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
    // The connection answers again, and the other session was never touched.
    let one: i32 = c.query_one("SELECT 1", &[]).await.unwrap().get(0);
    assert_eq!(one, 1);
    let two: i32 = other.query_one("SELECT 2", &[]).await.unwrap().get(0);
    assert_eq!(two, 2);
    // A cancel with nothing running does not touch the next statement.
    c.cancel_token().cancel_query(NoTls).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let three: i32 = c.query_one("SELECT 3", &[]).await.unwrap().get(0);
    assert_eq!(three, 3);
}
