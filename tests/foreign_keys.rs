//! Foreign keys under concurrency, over the wire: a reference and the deletion of what it
//! references, racing from two sessions, never leave a dangling reference. The inserting
//! session locks the referenced row, so a delete waits for it and then fails (23503) if the
//! reference committed; an insert that meets an uncommitted delete waits for it and fails if
//! the delete commits, succeeds if it rolls back.

#![allow(clippy::unwrap_used)]

use rustydb_tests::{TestServer, sqlstate};
use std::sync::Arc;
use std::time::Duration;
use tokio_postgres::error::SqlState;

async fn copy_in(c: &tokio_postgres::Client, sql: &str, data: &'static [u8]) -> Result<u64, tokio_postgres::Error> {
    use futures::SinkExt;
    let sink = c.copy_in::<_, bytes::Bytes>(sql).await?;
    futures::pin_mut!(sink);
    sink.send(bytes::Bytes::from_static(data)).await?;
    sink.finish().await
}

async fn setup(server: &TestServer) -> (Arc<tokio_postgres::Client>, Arc<tokio_postgres::Client>) {
    let a = Arc::new(server.connect().await);
    let b = Arc::new(server.connect().await);
    a.batch_execute(
        "CREATE TABLE parent (id INT PRIMARY KEY);
         CREATE TABLE child (id INT PRIMARY KEY, pid INT REFERENCES parent);
         INSERT INTO parent VALUES (1), (2);",
    )
    .await
    .unwrap();
    (a, b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_waits_for_an_uncommitted_reference_and_then_fails() {
    let server = TestServer::start();
    let (a, b) = setup(&server).await;
    a.batch_execute("BEGIN; INSERT INTO child VALUES (10, 1)").await.unwrap();
    let b2 = b.clone();
    let delete = tokio::spawn(async move { b2.batch_execute("DELETE FROM parent WHERE id = 1").await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!delete.is_finished(), "the delete did not wait for the referencing insert");
    a.batch_execute("COMMIT").await.unwrap();
    let err = delete.await.unwrap().unwrap_err();
    assert_eq!(err.code(), Some(&SqlState::FOREIGN_KEY_VIOLATION), "{err:?}");
    // If the referencing insert rolls back instead, the delete goes ahead.
    a.batch_execute("BEGIN; INSERT INTO child VALUES (20, 2)").await.unwrap();
    let b2 = b.clone();
    let delete = tokio::spawn(async move { b2.batch_execute("DELETE FROM parent WHERE id = 2").await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    a.batch_execute("ROLLBACK").await.unwrap();
    delete.await.unwrap().unwrap();
    let n: i64 = a.query_one("SELECT count(*) FROM parent", &[]).await.unwrap().get(0);
    assert_eq!(n, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reference_waits_for_an_uncommitted_delete() {
    let server = TestServer::start();
    let (a, b) = setup(&server).await;
    a.batch_execute("BEGIN; DELETE FROM parent WHERE id = 1").await.unwrap();
    let b2 = b.clone();
    let insert = tokio::spawn(async move { b2.batch_execute("INSERT INTO child VALUES (10, 1)").await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!insert.is_finished(), "the insert did not wait for the uncommitted delete");
    a.batch_execute("COMMIT").await.unwrap();
    let err = insert.await.unwrap().unwrap_err();
    assert_eq!(err.code(), Some(&SqlState::FOREIGN_KEY_VIOLATION), "{err:?}");

    a.batch_execute("BEGIN; DELETE FROM parent WHERE id = 2").await.unwrap();
    let b2 = b.clone();
    let insert = tokio::spawn(async move { b2.batch_execute("INSERT INTO child VALUES (20, 2)").await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    a.batch_execute("ROLLBACK").await.unwrap();
    insert.await.unwrap().unwrap();
    // Nothing dangles, and the parent is still protected.
    let dangling: i64 =
        a.query_one("SELECT count(*) FROM child WHERE pid NOT IN (SELECT id FROM parent)", &[]).await.unwrap().get(0);
    assert_eq!(dangling, 0);
    assert_eq!(sqlstate(&a, "DELETE FROM parent WHERE id = 2").await, SqlState::FOREIGN_KEY_VIOLATION);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_checks_references_and_a_restart_keeps_them() {
    let mut server = TestServer::start();
    let _dir = server.keep_dir();
    let data_dir = server.data_dir.clone();
    {
        let (a, _b) = setup(&server).await;
        let err = copy_in(&a, "COPY child FROM STDIN", b"1\t1\n2\t9\n").await.unwrap_err();
        assert_eq!(err.code(), Some(&SqlState::FOREIGN_KEY_VIOLATION), "{err:?}");
        a.batch_execute("INSERT INTO child VALUES (1, 1)").await.unwrap();
    }
    let status = server.terminate();
    assert!(status.success());
    let server = TestServer::start_in(&data_dir);
    let c = server.connect().await;
    assert_eq!(sqlstate(&c, "INSERT INTO child VALUES (2, 9)").await, SqlState::FOREIGN_KEY_VIOLATION);
    assert_eq!(sqlstate(&c, "DELETE FROM parent WHERE id = 1").await, SqlState::FOREIGN_KEY_VIOLATION);
}
