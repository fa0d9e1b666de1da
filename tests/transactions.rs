//! Transactions over the wire: lock waits, deadlocks, lock timeouts, unique-key waits, and the
//! transaction settings (SET TRANSACTION, default_transaction_isolation, SHOW).

#![allow(clippy::unwrap_used)]

use rustydb_tests::{TestServer, sqlstate};
use std::time::{Duration, Instant};
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, SimpleQueryMessage};

async fn one_value(client: &Client, sql: &str) -> String {
    let messages = client.simple_query(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    messages
        .into_iter()
        .find_map(|m| match m {
            SimpleQueryMessage::Row(r) => Some(r.get(0).unwrap().to_string()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("{sql} returned no row"))
}

async fn setup(server: &TestServer) -> (Client, Client) {
    let a = server.connect().await;
    a.batch_execute("create table acct (id int primary key, balance int); insert into acct values (1, 100), (2, 100)")
        .await
        .unwrap();
    (a, server.connect().await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deadlock_aborts_one_transaction_soon_after_deadlock_timeout_and_the_other_goes_on() {
    let server = TestServer::start();
    let (a, b) = setup(&server).await;
    for c in [&a, &b] {
        c.batch_execute("set deadlock_timeout = '200ms'; begin").await.unwrap();
    }
    a.batch_execute("update acct set balance = balance - 1 where id = 1").await.unwrap();
    b.batch_execute("update acct set balance = balance - 1 where id = 2").await.unwrap();
    let (a, b) = (std::sync::Arc::new(a), std::sync::Arc::new(b));
    let a2 = a.clone();
    let first =
        tokio::spawn(async move { a2.batch_execute("update acct set balance = balance + 1 where id = 2").await });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let started = Instant::now();
    let second = b.batch_execute("update acct set balance = balance + 1 where id = 1").await;
    let first =
        tokio::time::timeout(Duration::from_secs(5), first).await.expect("the survivor stayed blocked").unwrap();
    let waited = started.elapsed();
    // Exactly one is the victim; the other's update went through.
    let (victim, survivor) = match (&first, &second) {
        (Err(e), Ok(())) => (e, &a),
        (Ok(()), Err(e)) => (e, &b),
        other => panic!("expected exactly one deadlock error, got {other:?}"),
    };
    assert_eq!(victim.code(), Some(&SqlState::T_R_DEADLOCK_DETECTED), "{victim}");
    assert!(waited < Duration::from_secs(2), "the deadlock took {waited:?} to break");
    // The youngest (the second to begin) is the victim.
    assert!(second.is_err(), "the older transaction was chosen as the victim");
    survivor.batch_execute("commit").await.unwrap();
    b.batch_execute("rollback").await.unwrap();
    assert_eq!(one_value(&a, "select balance from acct where id = 1").await, "99");
    assert_eq!(one_value(&a, "select balance from acct where id = 2").await, "101");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_timeout_ends_a_wait_with_55p03_and_the_session_goes_on() {
    let server = TestServer::start();
    let (a, b) = setup(&server).await;
    a.batch_execute("begin; update acct set balance = 0 where id = 1").await.unwrap();
    b.batch_execute("set lock_timeout = '150ms'").await.unwrap();
    assert_eq!(one_value(&b, "show lock_timeout").await, "150ms");
    let started = Instant::now();
    let err = b.batch_execute("update acct set balance = 1 where id = 1").await.unwrap_err();
    assert_eq!(err.code(), Some(&SqlState::LOCK_NOT_AVAILABLE), "{err}");
    assert!(started.elapsed() >= Duration::from_millis(150));
    a.batch_execute("commit").await.unwrap();
    b.batch_execute("update acct set balance = 1 where id = 1").await.unwrap();
    assert_eq!(one_value(&b, "select balance from acct where id = 1").await, "1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_insert_of_a_key_another_transaction_is_inserting_waits_for_its_outcome() {
    let server = TestServer::start();
    let (a, b) = setup(&server).await;
    let b = std::sync::Arc::new(b);
    for (end, expect) in [("rollback", None), ("commit", Some(SqlState::UNIQUE_VIOLATION))] {
        a.batch_execute("begin; insert into acct values (3, 1)").await.unwrap();
        let b2 = b.clone();
        let waiter = tokio::spawn(async move { b2.batch_execute("insert into acct values (3, 2)").await });
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(!waiter.is_finished(), "the second insert did not wait for the first");
        a.batch_execute(end).await.unwrap();
        let result = tokio::time::timeout(Duration::from_secs(5), waiter).await.unwrap().unwrap();
        assert_eq!(result.as_ref().err().and_then(|e| e.code()), expect.as_ref(), "after {end}: {result:?}");
        if expect.is_none() {
            b.batch_execute("delete from acct where id = 3").await.unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transaction_settings_behave_as_in_postgres() {
    let server = TestServer::start();
    let (a, _) = setup(&server).await;
    assert_eq!(one_value(&a, "show transaction_isolation").await, "read committed");
    a.batch_execute("set default_transaction_isolation = 'repeatable read'").await.unwrap();
    assert_eq!(one_value(&a, "show default_transaction_isolation").await, "repeatable read");
    a.batch_execute("begin").await.unwrap();
    assert_eq!(one_value(&a, "show transaction isolation level").await, "repeatable read");
    a.batch_execute("commit; begin; set transaction isolation level serializable").await.unwrap();
    assert_eq!(one_value(&a, "show transaction_isolation").await, "serializable");
    a.batch_execute("select * from acct").await.unwrap();
    // Too late once a query has run: 25001, and the block is failed.
    assert_eq!(sqlstate(&a, "set transaction isolation level read committed").await, SqlState::ACTIVE_SQL_TRANSACTION);
    assert_eq!(sqlstate(&a, "select 1").await, SqlState::IN_FAILED_SQL_TRANSACTION);
    a.batch_execute("rollback").await.unwrap();
    a.batch_execute("begin read only").await.unwrap();
    assert_eq!(one_value(&a, "show transaction_read_only").await, "on");
    assert_eq!(sqlstate(&a, "insert into acct values (9, 9)").await, SqlState::READ_ONLY_SQL_TRANSACTION);
    a.batch_execute("rollback; begin; set transaction_read_only = on").await.unwrap();
    assert_eq!(one_value(&a, "show transaction_read_only").await, "on");
    assert_eq!(sqlstate(&a, "delete from acct").await, SqlState::READ_ONLY_SQL_TRANSACTION);
    a.batch_execute("rollback").await.unwrap();
    assert_eq!(sqlstate(&a, "set transaction_read_only = maybe").await, SqlState::INVALID_PARAMETER_VALUE);
    a.batch_execute("set session characteristics as transaction isolation level read committed").await.unwrap();
    assert_eq!(one_value(&a, "show transaction_isolation").await, "read committed");
    assert_eq!(sqlstate(&a, "set no_such_setting = 1").await, SqlState::UNDEFINED_OBJECT);
    assert_eq!(sqlstate(&a, "set lock_timeout = 'soon'").await, SqlState::INVALID_PARAMETER_VALUE);
    a.batch_execute("set lock_timeout to default; reset deadlock_timeout").await.unwrap();
    assert_eq!(one_value(&a, "show lock_timeout").await, "0");
    assert_eq!(one_value(&a, "show deadlock_timeout").await, "1s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn select_for_update_and_share_with_nowait_and_skip_locked() {
    let server = TestServer::start();
    let (a, b) = setup(&server).await;
    let b = std::sync::Arc::new(b);
    a.batch_execute("begin").await.unwrap();
    assert_eq!(one_value(&a, "select balance from acct where id = 1 for update").await, "100");
    // NOWAIT fails at once with the relation named; SKIP LOCKED passes over the row.
    b.batch_execute("begin").await.unwrap();
    let err = b.batch_execute("select * from acct where id = 1 for update nowait").await.unwrap_err();
    assert_eq!(err.code(), Some(&SqlState::LOCK_NOT_AVAILABLE));
    assert_eq!(err.as_db_error().unwrap().message(), "could not obtain lock on row in relation \"acct\"");
    b.batch_execute("rollback; begin").await.unwrap();
    assert_eq!(one_value(&b, "select id from acct order by id for update skip locked limit 1").await, "2");
    b.batch_execute("rollback").await.unwrap();
    // A writer waits for the FOR UPDATE holder, then sees its update (READ COMMITTED re-check).
    let b2 = b.clone();
    let writer =
        tokio::spawn(async move { b2.batch_execute("update acct set balance = balance + 1 where id = 1").await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!writer.is_finished(), "the update did not wait for FOR UPDATE");
    a.batch_execute("update acct set balance = 50 where id = 1; commit").await.unwrap();
    tokio::time::timeout(Duration::from_secs(5), writer).await.unwrap().unwrap().unwrap();
    assert_eq!(one_value(&a, "select balance from acct where id = 1").await, "51");
    // FOR SHARE is shared among readers but keeps writers out.
    a.batch_execute("begin; select * from acct where id = 2 for share").await.unwrap();
    b.batch_execute("begin; select * from acct where id = 2 for share nowait").await.unwrap();
    let c = server.connect().await;
    c.batch_execute("set lock_timeout = '100ms'").await.unwrap();
    let err = c.batch_execute("update acct set balance = 0 where id = 2").await.unwrap_err();
    assert_eq!(err.code(), Some(&SqlState::LOCK_NOT_AVAILABLE), "a writer got past FOR SHARE: {err}");
    a.batch_execute("rollback").await.unwrap();
    b.batch_execute("rollback").await.unwrap();
    c.batch_execute("update acct set balance = 0 where id = 2").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_table_and_ddl_wait_for_the_transactions_using_a_table() {
    let server = TestServer::start();
    let (a, b) = setup(&server).await;
    let b = std::sync::Arc::new(b);
    assert_eq!(sqlstate(&a, "lock table acct").await, SqlState::NO_ACTIVE_SQL_TRANSACTION);
    // ACCESS EXCLUSIVE keeps even readers out; NOWAIT says so at once.
    a.batch_execute("begin; lock table acct in access exclusive mode").await.unwrap();
    let err = b.batch_execute("begin; lock table acct in access share mode nowait").await.unwrap_err();
    assert_eq!(err.as_db_error().unwrap().message(), "could not obtain lock on relation \"acct\"");
    b.batch_execute("rollback").await.unwrap();
    let b2 = b.clone();
    let reader = tokio::spawn(async move { one_value(&b2, "select balance from acct where id = 1").await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!reader.is_finished(), "a reader got past ACCESS EXCLUSIVE");
    a.batch_execute("update acct set balance = 7 where id = 1; commit").await.unwrap();
    assert_eq!(tokio::time::timeout(Duration::from_secs(5), reader).await.unwrap().unwrap(), "7");
    // SHARE mode lets readers in and keeps writers out.
    a.batch_execute("begin; lock table acct in share mode").await.unwrap();
    assert_eq!(one_value(&b, "select balance from acct where id = 1").await, "7");
    b.batch_execute("set lock_timeout = '100ms'").await.unwrap();
    assert_eq!(sqlstate(&b, "delete from acct where id = 1").await, SqlState::LOCK_NOT_AVAILABLE);
    a.batch_execute("commit").await.unwrap();
    b.batch_execute("reset lock_timeout").await.unwrap();
    // DROP TABLE waits for a transaction that read the table, then the reader finds it gone.
    a.batch_execute("begin; select * from acct").await.unwrap();
    let b2 = b.clone();
    let dropper = tokio::spawn(async move { b2.batch_execute("drop table acct").await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!dropper.is_finished(), "DROP TABLE did not wait for the reader");
    assert_eq!(one_value(&a, "select balance from acct where id = 2").await, "100");
    a.batch_execute("commit").await.unwrap();
    tokio::time::timeout(Duration::from_secs(5), dropper).await.unwrap().unwrap().unwrap();
    assert_eq!(sqlstate(&a, "select * from acct").await, SqlState::UNDEFINED_TABLE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn savepoints_undo_release_and_recover_a_failed_block_as_in_postgres() {
    let server = TestServer::start();
    let (a, b) = setup(&server).await;
    for (sql, command) in
        [("savepoint s", "SAVEPOINT"), ("release s", "RELEASE SAVEPOINT"), ("rollback to s", "ROLLBACK TO SAVEPOINT")]
    {
        let err = a.batch_execute(sql).await.unwrap_err();
        assert_eq!(code(&err), "25P01", "{sql}: {err}");
        assert_eq!(err.as_db_error().unwrap().message(), format!("{command} can only be used in transaction blocks"));
    }

    // ROLLBACK TO undoes inserts, updates and later savepoints; RELEASE keeps the work.
    a.batch_execute("begin; insert into acct values (3, 1); savepoint s1; insert into acct values (4, 1)")
        .await
        .unwrap();
    a.batch_execute("update acct set balance = 0 where id = 1; savepoint s2; insert into acct values (5, 1)")
        .await
        .unwrap();
    assert_eq!(ids(&a).await, vec![1, 2, 3, 4, 5]);
    a.batch_execute("rollback to savepoint s1").await.unwrap();
    assert_eq!(ids(&a).await, vec![1, 2, 3]);
    assert_eq!(one_value(&a, "select balance from acct where id = 1").await, "100");
    let err = a.batch_execute("release s2").await.unwrap_err();
    assert_eq!(code(&err), "3B001", "s2 went with the rollback to s1: {err}");
    a.batch_execute("rollback to s1; insert into acct values (4, 2); release s1; commit").await.unwrap();
    assert_eq!(ids(&b).await, vec![1, 2, 3, 4], "the released savepoint's work committed");

    // An error inside a savepoint fails the block until ROLLBACK TO, which resumes it.
    a.batch_execute("begin; insert into acct values (7, 1); savepoint s").await.unwrap();
    let err = a.batch_execute("insert into acct values (1, 1)").await.unwrap_err();
    assert_eq!(code(&err), "23505", "{err}");
    let err = a.batch_execute("select 1").await.unwrap_err();
    assert_eq!(code(&err), "25P02", "{err}");
    let err = a.batch_execute("release s").await.unwrap_err();
    assert_eq!(code(&err), "25P02", "RELEASE does not resume a failed block: {err}");
    let err = a.batch_execute("rollback to nosuch").await.unwrap_err();
    assert_eq!(code(&err), "3B001", "{err}");
    a.batch_execute("rollback to s; insert into acct values (8, 1); commit").await.unwrap();
    assert_eq!(ids(&b).await, vec![1, 2, 3, 4, 7, 8]);

    // A unique key inserted in a rolled-back savepoint is free again; a dropped table is back.
    a.batch_execute(
        "begin; savepoint s; insert into acct values (9, 1); rollback to s; insert into acct values (9, 2)",
    )
    .await
    .unwrap();
    a.batch_execute("savepoint d; drop table acct; rollback to d; commit").await.unwrap();
    assert_eq!(one_value(&b, "select balance from acct where id = 9").await, "2");

    // A rolled-back savepoint's row write no longer blocks another writer.
    a.batch_execute("set lock_timeout = '5s'; begin; savepoint s; update acct set balance = 50 where id = 2")
        .await
        .unwrap();
    let b = std::sync::Arc::new(b);
    let b2 = b.clone();
    let waiter = tokio::spawn(async move { b2.batch_execute("update acct set balance = 60 where id = 2").await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!waiter.is_finished(), "the update in the savepoint should block the other writer");
    a.batch_execute("rollback to s").await.unwrap();
    tokio::time::timeout(Duration::from_secs(3), waiter)
        .await
        .expect("still blocked after ROLLBACK TO")
        .unwrap()
        .unwrap();
    a.batch_execute("commit").await.unwrap();
    assert_eq!(one_value(&a, "select balance from acct where id = 2").await, "60");

    // Without a savepoint, ROLLBACK TO in a failed block names none.
    a.batch_execute("begin").await.unwrap();
    a.batch_execute("select 1/0").await.unwrap_err();
    let err = a.batch_execute("rollback to s").await.unwrap_err();
    assert_eq!(code(&err), "3B001", "{err}");
    a.batch_execute("rollback").await.unwrap();
}

async fn ids(c: &Client) -> Vec<i32> {
    let messages = c.simple_query("select id from acct order by id").await.unwrap();
    messages
        .iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => Some(r.get(0).unwrap().parse().unwrap()),
            _ => None,
        })
        .collect()
}

/// The SQLSTATE of a server error.
fn code(err: &tokio_postgres::Error) -> &str {
    err.code().map_or("(not a server error)", SqlState::code)
}

/// Size in bytes of data file `file` of the server's data directory (0 if not written yet).
fn file_size(server: &TestServer, file: u32) -> u64 {
    std::fs::metadata(server.data_dir.join("base").join(file.to_string())).map_or(0, |m| m.len())
}

/// 100k updates of the same 1,000 rows leave the table's heap and primary key index within a
/// small multiple of their size after the load: autovacuum (woken as soon as the table is due,
/// although its naptime is PostgreSQL's full minute) keeps removing the dead versions, and the
/// updates reuse their space. Without vacuum both files grow about a hundredfold.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_updated_a_hundred_thousand_times_stays_within_a_small_multiple_of_its_live_size() {
    let temp = tempfile::tempdir().unwrap();
    let server = TestServer::start_in_with_config(&temp.path().join("data"), "autovacuum_naptime_s = 60\n");
    let c = server.connect().await;
    c.batch_execute("create table counters (id int primary key, n int, pad text)").await.unwrap();
    for batch in 0..10 {
        let rows: Vec<String> =
            (batch * 100..batch * 100 + 100).map(|i| format!("({i}, 0, '{}')", "x".repeat(80))).collect();
        c.batch_execute(&format!("insert into counters values {}", rows.join(", "))).await.unwrap();
    }
    let id: u32 = one_value(&c, "select table_id from rustydb_tables where name = 'counters'").await.parse().unwrap();
    let (heap, index) = (id, id | 1 << 30);
    c.batch_execute("checkpoint").await.unwrap();
    let (live_heap, live_index) = (file_size(&server, heap), file_size(&server, index));
    assert!(live_heap > 0 && live_index > 0);
    for i in 0..1000 {
        let low = (i % 10) * 100;
        c.batch_execute(&format!("update counters set n = n + 1 where id >= {low} and id < {}", low + 100))
            .await
            .unwrap();
    }
    let total: i64 = c
        .simple_query("select n from counters")
        .await
        .unwrap()
        .iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => Some(r.get(0).unwrap().parse::<i64>().unwrap()),
            _ => None,
        })
        .sum();
    assert_eq!(total, 100_000, "every update counted");
    c.batch_execute("checkpoint").await.unwrap();
    let (heap_now, index_now) = (file_size(&server, heap), file_size(&server, index));
    eprintln!("heap {live_heap} -> {heap_now} bytes, primary key index {live_index} -> {index_now} bytes");
    assert!(heap_now <= 4 * live_heap, "the heap grew from {live_heap} to {heap_now} bytes");
    assert!(index_now <= 4 * live_index, "the index grew from {live_index} to {index_now} bytes");
}
