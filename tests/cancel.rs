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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_are_signalled_by_pid_and_sleep_is_interruptible() {
    let server = TestServer::start();
    let admin = server.connect().await;
    // pg_sleep sleeps, and statement_timeout cuts it short.
    let started = Instant::now();
    admin.batch_execute("select pg_sleep(0.2)").await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(200));
    admin.batch_execute("set statement_timeout = '100ms'").await.unwrap();
    let e = admin.simple_query("select pg_sleep(30)").await.unwrap_err();
    assert_eq!(e.code(), Some(&SqlState::QUERY_CANCELED));
    admin.batch_execute("reset statement_timeout; create role plain login").await.unwrap();

    // pg_cancel_backend stops another session's statement; the session goes on.
    let sleeper = server.connect().await;
    let pid: i32 = sleeper.query_one("select pg_backend_pid()", &[]).await.unwrap().get(0);
    let listed: i64 =
        admin.query_one("select count(*) from pg_stat_activity where pid = $1", &[&pid]).await.unwrap().get(0);
    assert_eq!(listed, 1, "pg_backend_pid() is the pid pg_stat_activity shows");
    let sleeping = tokio::spawn(async move {
        let result = sleeper.simple_query("select pg_sleep(30)").await;
        (sleeper, result)
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let cancelled: bool = admin.query_one("select pg_cancel_backend($1)", &[&pid]).await.unwrap().get(0);
    assert!(cancelled);
    let (sleeper, result) = tokio::time::timeout(Duration::from_secs(10), sleeping).await.unwrap().unwrap();
    assert_eq!(result.unwrap_err().code(), Some(&SqlState::QUERY_CANCELED));
    sleeper.query_one("select 1", &[]).await.unwrap();

    // A plain role may not signal a superuser's session.
    let plain = server.connect_as("plain", "rustydb").await.unwrap();
    let e = plain.query_one("select pg_terminate_backend($1)", &[&pid]).await.unwrap_err();
    assert_eq!(e.code(), Some(&SqlState::INSUFFICIENT_PRIVILEGE));
    // No such session: false.
    let found: bool = admin.query_one("select pg_cancel_backend(2000000000)", &[]).await.unwrap().get(0);
    assert!(!found);

    // pg_terminate_backend ends the session (with a timeout: true once it is gone).
    let ended: bool = admin.query_one("select pg_terminate_backend($1, 5000)", &[&pid]).await.unwrap().get(0);
    assert!(ended);
    assert!(sleeper.query_one("select 1", &[]).await.is_err(), "the terminated session still answers");
    let listed: i64 =
        admin.query_one("select count(*) from pg_stat_activity where pid = $1", &[&pid]).await.unwrap().get(0);
    assert_eq!(listed, 0);
}
