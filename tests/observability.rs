//! What the server tells about itself over SQL and in its log: `pg_stat_activity`,
//! `pg_stat_statements` and the slow-statement log (`log_min_duration_statement`).

#![allow(clippy::unwrap_used)] // Tests assert by unwrapping; a panic is the failure report.

use rustydb_tests::TestServer;

#[tokio::test]
async fn activity_statements_and_the_slow_log() {
    let dir = tempfile::tempdir().unwrap();
    // Every statement of 0 ms or more is logged: all of them.
    let server = TestServer::start_in_with_config(&dir.path().join("data"), "log_min_duration_statement_ms = 0\n");
    let admin = server.connect().await;
    admin.batch_execute("CREATE ROLE watcher LOGIN; CREATE TABLE t (id INT PRIMARY KEY, v TEXT)").await.unwrap();
    let conn = format!("{} application_name=busy_app", server.conn_str("rustydb", "rustydb"));
    let (busy, connection) = tokio_postgres::connect(&conn, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    busy.batch_execute("BEGIN; INSERT INTO t VALUES (1, 'a')").await.unwrap();

    // The other session, idle in its transaction, seen from here; this one is active.
    let rows = admin
        .query(
            "SELECT application_name, state, query, client_addr, usename, datname, xact_start IS NOT NULL \
             FROM pg_stat_activity ORDER BY backend_start",
            &[],
        )
        .await
        .unwrap();
    let busy_row = rows.iter().find(|r| r.get::<_, String>(0) == "busy_app").unwrap();
    assert_eq!(busy_row.get::<_, String>(1), "idle in transaction");
    assert_eq!(busy_row.get::<_, String>(2), "BEGIN; INSERT INTO t VALUES (1, 'a')");
    assert_eq!(busy_row.get::<_, String>(3), "127.0.0.1");
    assert_eq!((busy_row.get::<_, String>(4), busy_row.get::<_, String>(5)), ("rustydb".into(), "rustydb".into()));
    assert!(busy_row.get::<_, bool>(6));
    let me = rows.iter().find(|r| r.get::<_, String>(2).contains("FROM pg_stat_activity")).unwrap();
    assert_eq!(me.get::<_, String>(1), "active");
    busy.batch_execute("COMMIT").await.unwrap();
    let state: String = admin
        .query_one("SELECT state FROM pg_stat_activity WHERE application_name = 'busy_app'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(state, "idle");
    // SET application_name shows too.
    busy.batch_execute("SET application_name = 'renamed'").await.unwrap();
    let n: i64 = admin
        .query_one("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'renamed'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 1);
    // A closed session leaves.
    drop(busy);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let n: i64 = admin.query_one("SELECT count(*) FROM pg_stat_activity", &[]).await.unwrap().get(0);
        if n == 1 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{n} sessions remain");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    // pg_stat_statements groups statements by shape.
    for id in [1, 2, 3] {
        admin.batch_execute(&format!("SELECT v FROM t WHERE id = {id}")).await.unwrap();
    }
    let row = admin
        .query_one("SELECT calls, rows, total_exec_time >= max_exec_time FROM pg_stat_statements WHERE query = 'SELECT v FROM t WHERE id = $1'", &[])
        .await
        .unwrap();
    assert_eq!((row.get::<_, i64>(0), row.get::<_, i64>(1), row.get::<_, bool>(2)), (3, 1, true));
    let prepared = admin.prepare("SELECT v FROM t WHERE id = $1 AND v <> 'zz'").await.unwrap();
    for id in 0..4 {
        admin.query(&prepared, &[&id]).await.unwrap();
    }
    let calls: i64 = admin
        .query_one(
            "SELECT calls FROM pg_stat_statements WHERE query = 'SELECT v FROM t WHERE id = $1 AND v <> $2'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(calls, 4);

    // A role that is not a superuser sees others' text hidden, its own in full.
    let watcher = server.connect_as("watcher", "rustydb").await.unwrap();
    watcher.batch_execute("SELECT 1").await.unwrap();
    let hidden: i64 = watcher
        .query_one("SELECT count(*) FROM pg_stat_statements WHERE query = '<insufficient privilege>'", &[])
        .await
        .unwrap()
        .get(0);
    assert!(hidden >= 2, "{hidden}");
    let own: i64 = watcher
        .query_one("SELECT count(*) FROM pg_stat_statements WHERE query = 'SELECT $1'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(own, 1);
    let others: Vec<String> = watcher
        .query("SELECT query FROM pg_stat_activity WHERE usename <> 'watcher'", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(others, ["<insufficient privilege>"]);

    // The slow log, in PostgreSQL's words.
    let log = server.log();
    assert!(log.contains("duration: ") && log.contains(" ms  statement: SELECT v FROM t WHERE id = 2"), "{log}");
    // SHOW and SET work on it.
    let shown: String = admin.query_one("SHOW log_min_duration_statement", &[]).await.unwrap().get(0);
    assert_eq!(shown, "0");
    admin.batch_execute("SET log_min_duration_statement = -1; SELECT 'not logged'").await.unwrap();
    assert!(!server.log().contains("not logged"));
}
