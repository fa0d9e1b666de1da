//! Secondary indexes over the wire: the same queries give the same answers with and without
//! each kind of index, through inserts, updates, deletes, rollbacks and restarts; unique
//! indexes refuse duplicates with PostgreSQL's errors; the DDL errors are PostgreSQL's.

#![allow(clippy::unwrap_used)] // Tests assert by unwrapping; a panic is the failure report.

use rustydb_tests::{TestServer, sqlstate};
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, SimpleQueryMessage};

async fn rows(c: &Client, sql: &str) -> Vec<String> {
    c.simple_query(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .into_iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => {
                Some((0..r.len()).map(|i| r.get(i).unwrap_or("NULL").to_string()).collect::<Vec<_>>().join("|"))
            }
            _ => None,
        })
        .collect()
}

/// Each query once as written (an index may serve it) and once with the indexed comparison
/// hidden from the planner (`+ 0`, `|| ''`), which must scan: the answers must agree.
const QUERIES: [(&str, &str); 10] = [
    ("SELECT id FROM t WHERE a > 45 ORDER BY id", "SELECT id FROM t WHERE a + 0 > 45 ORDER BY id"),
    (
        "SELECT id FROM t WHERE a BETWEEN 3 AND 5 ORDER BY id",
        "SELECT id FROM t WHERE a + 0 BETWEEN 3 AND 5 ORDER BY id",
    ),
    ("SELECT id FROM t WHERE 2 >= a ORDER BY id", "SELECT id FROM t WHERE 2 >= a + 0 ORDER BY id"),
    (
        "SELECT id FROM t WHERE id < 20 AND id >= 10 ORDER BY id",
        "SELECT id FROM t WHERE id + 0 < 20 AND id + 0 >= 10 ORDER BY id",
    ),
    ("SELECT id FROM t WHERE b < 'v2' ORDER BY id", "SELECT id FROM t WHERE b || '' < 'v2' ORDER BY id"),
    ("SELECT id FROM t WHERE a = 7 ORDER BY id", "SELECT id FROM t WHERE a + 0 = 7 ORDER BY id"),
    ("SELECT id, a FROM t WHERE b = 'v3' ORDER BY id", "SELECT id, a FROM t WHERE b || '' = 'v3' ORDER BY id"),
    (
        "SELECT id FROM t WHERE a = 7 AND b = 'v3' ORDER BY id",
        "SELECT id FROM t WHERE a + 0 = 7 AND b || '' = 'v3' ORDER BY id",
    ),
    (
        "SELECT id FROM t WHERE a = 49 AND id > 1000 ORDER BY id",
        "SELECT id FROM t WHERE a + 0 = 49 AND id > 1000 ORDER BY id",
    ),
    ("SELECT id FROM t WHERE b = 'nothing'", "SELECT id FROM t WHERE b || '' = 'nothing'"),
];

async fn same_answers(c: &Client, when: &str) {
    for (indexed, scanned) in QUERIES {
        assert_eq!(rows(c, indexed).await, rows(c, scanned).await, "{when}: {indexed}");
    }
    assert!(!rows(c, QUERIES[0].0).await.is_empty(), "{when}: the data is there");
}

/// The indexes' auxiliary directories (an LSM tree's files) in `data_dir`.
fn aux_dirs(data_dir: &std::path::Path) -> usize {
    std::fs::read_dir(data_dir.join("aux")).map_or(0, |d| d.count())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn btree_and_hash_indexes_answer_as_a_scan_does_through_changes_and_restarts() {
    same_answers_through_changes_and_restarts(
        "CREATE INDEX t_a ON t (a); CREATE INDEX ON t USING hash (b); CREATE INDEX t_ab ON t USING btree (a, b)",
        "DROP INDEX t_a, t_ab; DROP INDEX t_b_idx",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lsm_indexes_answer_as_a_scan_does_through_changes_and_restarts() {
    let (_dir, data_dir) = same_answers_through_changes_and_restarts(
        "CREATE INDEX t_a ON t USING lsm (a); CREATE INDEX t_b ON t USING lsm (b); CREATE INDEX t_ab ON t USING lsm (a, b)",
        "DROP INDEX t_a, t_ab; DROP TABLE t",
    )
    .await;
    assert_eq!(aux_dirs(&data_dir), 0, "dropping an LSM index removes its files");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn descending_indexes_answer_as_a_scan_does_through_changes_and_restarts() {
    same_answers_through_changes_and_restarts(
        "CREATE INDEX t_a ON t (a DESC); CREATE INDEX t_b ON t USING lsm (b DESC NULLS FIRST); CREATE INDEX t_ab ON t (a DESC, b)",
        "DROP INDEX t_a, t_ab, t_b",
    )
    .await;
}

/// Loads a table, creates indexes with `create`, then checks [`QUERIES`] through updates,
/// deletes, a rollback, a clean restart, a `kill -9`, and `drop`. Returns the data directory
/// (and what keeps it alive).
async fn same_answers_through_changes_and_restarts(
    create: &str,
    drop: &str,
) -> (Option<tempfile::TempDir>, std::path::PathBuf) {
    let mut server = TestServer::start();
    let dir = server.keep_dir();
    let data_dir = server.data_dir.clone();
    {
        let c = server.connect().await;
        c.batch_execute("CREATE TABLE t (id INT PRIMARY KEY, a INT, b TEXT)").await.unwrap();
        let inserts: String =
            (0..2000).map(|i| format!("INSERT INTO t VALUES ({i}, {}, 'v{}');", i % 50, i % 7)).collect();
        c.batch_execute(&inserts).await.unwrap();
        c.batch_execute(create).await.unwrap();
        same_answers(&c, "after CREATE INDEX").await;
        c.batch_execute(
            "UPDATE t SET a = 7 WHERE id < 100; UPDATE t SET b = 'v3' WHERE a = 8; DELETE FROM t WHERE a = 49 AND id < 1500;
             INSERT INTO t VALUES (5000, 7, 'v3'), (5001, NULL, NULL)",
        )
        .await
        .unwrap();
        same_answers(&c, "after updates and deletes").await;
        c.batch_execute("BEGIN; UPDATE t SET a = 49 WHERE a = 7; DELETE FROM t WHERE b = 'v3'; ROLLBACK")
            .await
            .unwrap();
        same_answers(&c, "after a rolled-back change").await;
        server.terminate();
    }
    let server = TestServer::start_in(&data_dir);
    {
        let c = server.connect().await;
        same_answers(&c, "after a clean restart").await;
        c.batch_execute("INSERT INTO t VALUES (6001, 7, 'v2'); UPDATE t SET a = 7 WHERE id > 1900").await.unwrap();
        server.kill9();
    }
    let server = TestServer::start_in(&data_dir);
    let c = server.connect().await;
    same_answers(&c, "after kill -9").await;
    assert!(rows(&c, "SELECT id FROM t WHERE a = 7").await.contains(&"6001".to_string()));
    c.batch_execute(drop).await.unwrap();
    if !drop.contains("DROP TABLE") {
        same_answers(&c, "after DROP INDEX").await;
    }
    (dir, data_dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unique_indexes_refuse_duplicates_but_not_nulls() {
    let server = TestServer::start();
    let c = server.connect().await;
    c.batch_execute(
        "CREATE TABLE u (id INT PRIMARY KEY, email TEXT, n INT); INSERT INTO u VALUES (1, 'a', 1), (2, 'a', 2)",
    )
    .await
    .unwrap();
    let err = c.batch_execute("CREATE UNIQUE INDEX u_email ON u (email)").await.unwrap_err();
    let db = err.as_db_error().unwrap();
    assert_eq!((db.code(), db.message()), (&SqlState::UNIQUE_VIOLATION, "could not create unique index \"u_email\""));
    assert_eq!(db.detail(), Some("Key (email)=(a) is duplicated."));
    c.batch_execute("UPDATE u SET email = 'b' WHERE id = 2; CREATE UNIQUE INDEX u_email ON u (email)").await.unwrap();
    let err = c.batch_execute("INSERT INTO u VALUES (3, 'a', 3)").await.unwrap_err();
    let db = err.as_db_error().unwrap();
    assert_eq!(db.message(), "duplicate key value violates unique constraint \"u_email\"");
    assert_eq!(db.detail(), Some("Key (email)=(a) already exists."));
    assert_eq!(sqlstate(&c, "UPDATE u SET email = 'a' WHERE id = 2").await, SqlState::UNIQUE_VIOLATION);
    c.batch_execute("INSERT INTO u VALUES (4, NULL, 4), (5, NULL, 5)").await.unwrap();
    c.batch_execute("DELETE FROM u WHERE id = 1; INSERT INTO u VALUES (6, 'a', 6)").await.unwrap();
    assert_eq!(rows(&c, "SELECT id FROM u WHERE email = 'a'").await, ["6"]);
    // A duplicate inside a transaction that rolls back leaves the key free.
    c.batch_execute("BEGIN; DELETE FROM u WHERE id = 6; INSERT INTO u VALUES (7, 'a', 7); ROLLBACK").await.unwrap();
    assert_eq!(sqlstate(&c, "INSERT INTO u VALUES (8, 'a', 8)").await, SqlState::UNIQUE_VIOLATION);
    // Composite unique keys.
    c.batch_execute("CREATE UNIQUE INDEX u_n_email ON u (n, email); INSERT INTO u VALUES (9, 'z', 6)").await.unwrap();
    assert_eq!(sqlstate(&c, "INSERT INTO u VALUES (10, 'z', 6)").await, SqlState::UNIQUE_VIOLATION);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn index_ddl_errors_are_postgres_errors() {
    let server = TestServer::start();
    let c = server.connect().await;
    c.batch_execute("CREATE TABLE e (id INT, v TEXT); CREATE INDEX e_v ON e (v)").await.unwrap();
    assert_eq!(sqlstate(&c, "CREATE INDEX e_v ON e (id)").await, SqlState::DUPLICATE_TABLE);
    assert_eq!(sqlstate(&c, "CREATE TABLE e_v (x INT)").await, SqlState::DUPLICATE_TABLE, "one namespace");
    c.batch_execute("CREATE INDEX IF NOT EXISTS e_v ON e (id)").await.unwrap();
    assert_eq!(sqlstate(&c, "CREATE INDEX ON e (nope)").await, SqlState::UNDEFINED_COLUMN);
    assert_eq!(sqlstate(&c, "CREATE INDEX ON nope (v)").await, SqlState::UNDEFINED_TABLE);
    assert_eq!(sqlstate(&c, "CREATE INDEX ON e USING gin (v)").await, SqlState::UNDEFINED_OBJECT);
    assert_eq!(sqlstate(&c, "CREATE UNIQUE INDEX ON e USING hash (v)").await, SqlState::FEATURE_NOT_SUPPORTED);
    assert_eq!(sqlstate(&c, "CREATE INDEX ON e USING hash (v DESC)").await, SqlState::FEATURE_NOT_SUPPORTED);
    assert_eq!(sqlstate(&c, "CREATE INDEX ON e (v DESC NULLS LAST)").await, SqlState::FEATURE_NOT_SUPPORTED);
    assert_eq!(sqlstate(&c, "DROP INDEX nope").await, SqlState::UNDEFINED_OBJECT);
    c.batch_execute("DROP INDEX IF EXISTS nope").await.unwrap();
    // Unnamed indexes take PostgreSQL's names, numbered when taken.
    c.batch_execute("CREATE INDEX ON e (id); CREATE INDEX ON e (id); DROP INDEX e_id_idx, e_id_idx1").await.unwrap();
    // A rolled-back CREATE INDEX leaves no index behind.
    c.batch_execute("BEGIN; CREATE INDEX gone ON e (id); ROLLBACK").await.unwrap();
    assert_eq!(sqlstate(&c, "DROP INDEX gone").await, SqlState::UNDEFINED_OBJECT);
    // An LSM index, unique too, refuses duplicates like any other.
    c.batch_execute("CREATE UNIQUE INDEX e_lsm ON e USING lsm (id); INSERT INTO e VALUES (1, 'x')").await.unwrap();
    assert_eq!(sqlstate(&c, "INSERT INTO e VALUES (1, 'y')").await, SqlState::UNIQUE_VIOLATION);
    // Dropping the table drops its indexes and frees their names.
    c.batch_execute("DROP TABLE e; CREATE TABLE e_v (x INT)").await.unwrap();
}
