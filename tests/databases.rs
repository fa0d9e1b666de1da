//! Databases over the wire: each database has its own tables, sequences, views and privileges
//! under the same names; DROP DATABASE removes a database's objects and files and refuses
//! while others are connected; all of it survives a crash.

#![allow(clippy::unwrap_used)]

use rustydb_tests::{TestServer, sqlstate};
use tokio_postgres::error::SqlState;

/// The bytes under the data directory's `base/`, where table and index files live.
fn base_bytes(server: &TestServer) -> u64 {
    std::fs::read_dir(server.data_dir.join("base")).unwrap().map(|e| e.unwrap().metadata().unwrap().len()).sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn databases_keep_their_objects_apart() {
    let server = TestServer::start();
    let main = server.connect().await;
    // psql -l and most tools connect to `postgres`, which exists from the start.
    let postgres = server.connect_as("rustydb", "postgres").await.unwrap();
    let listed: Vec<String> = postgres
        .query("select datname from pg_database order by 1", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(listed, ["postgres", "rustydb"]);

    main.batch_execute(
        "create table t (id int primary key, who text);
         insert into t values (1, 'main');
         create sequence s start 100;
         create view v as select who from t;",
    )
    .await
    .unwrap();
    // Not in a block, not even the implicit one of a multi-statement query (as PostgreSQL).
    assert_eq!(sqlstate(&main, "select 1; create database sales").await, SqlState::ACTIVE_SQL_TRANSACTION);
    main.batch_execute("create database sales").await.unwrap();
    let sales = server.connect_as("rustydb", "sales").await.unwrap();
    // Nothing of `rustydb` is visible in `sales`…
    assert_eq!(sqlstate(&sales, "select * from t").await, SqlState::UNDEFINED_TABLE);
    assert_eq!(sqlstate(&sales, "select nextval('s')").await, SqlState::UNDEFINED_TABLE);
    let tables: i64 = sales.query_one("select count(*) from pg_class where relkind = 'r'", &[]).await.unwrap().get(0);
    let system: i64 = main.query_one("select count(*) from pg_class where relkind = 'r'", &[]).await.unwrap().get(0);
    assert_eq!(tables + 1, system, "sales sees one table fewer than rustydb (t)");
    // …so the same names can be used again, for different objects.
    sales
        .batch_execute(
            "create table t (id int primary key, who text, extra int);
             insert into t values (1, 'sales', 7), (2, 'sales', 8);
             create sequence s start 5;
             create view v as select who, extra from t;
             create index t_who on t (who);",
        )
        .await
        .unwrap();
    let n: i64 = sales.query_one("select nextval('s')", &[]).await.unwrap().get(0);
    assert_eq!(n, 5);
    let n: i64 = main.query_one("select nextval('s')", &[]).await.unwrap().get(0);
    assert_eq!(n, 100);
    let rows = sales.query("select who, extra from v order by extra", &[]).await.unwrap();
    assert_eq!(rows.len(), 2);
    let who: String = main.query_one("select who from v", &[]).await.unwrap().get(0);
    assert_eq!(who, "main");
    // A unique violation in one database says nothing about the other's keys.
    assert_eq!(sqlstate(&sales, "insert into t values (2, 'again', 0)").await, SqlState::UNIQUE_VIOLATION);
    main.execute("insert into t values (2, 'main')", &[]).await.unwrap();
    // Privileges are per database too.
    main.batch_execute("create role clerk login; grant select on t to clerk").await.unwrap();
    let clerk_main = server.connect_as("clerk", "rustydb").await.unwrap();
    let clerk_sales = server.connect_as("clerk", "sales").await.unwrap();
    clerk_main.query("select * from t", &[]).await.unwrap();
    // Creating databases takes CREATEDB; dropping or renaming one, ownership.
    for sql in ["create database mine", "drop database sales", "alter database sales rename to mine"] {
        assert_eq!(sqlstate(&clerk_main, sql).await, SqlState::INSUFFICIENT_PRIVILEGE, "{sql}");
    }
    assert_eq!(sqlstate(&clerk_sales, "select * from t").await, SqlState::INSUFFICIENT_PRIVILEGE);
    // A role that owns objects in another database cannot be dropped.
    sales.batch_execute("create table owned (a int); alter table owned owner to clerk").await.unwrap();
    drop((clerk_main, clerk_sales));
    let err = main.batch_execute("revoke select on t from clerk; drop role clerk").await.unwrap_err();
    let db = err.as_db_error().unwrap();
    assert_eq!(db.code(), &SqlState::DEPENDENT_OBJECTS_STILL_EXIST);
    assert_eq!(db.detail(), Some("1 object in database sales"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drop_database_removes_its_files_and_waits_for_no_one() {
    let mut server = TestServer::start();
    let main = server.connect().await;
    main.batch_execute("create table keep (a int primary key); insert into keep values (1)").await.unwrap();
    main.batch_execute("create database scratch").await.unwrap();
    let before = base_bytes(&server);
    let scratch = server.connect_as("rustydb", "scratch").await.unwrap();
    scratch
        .batch_execute(
            "create table big (a int primary key, b text);
             insert into big select g, repeat('x', 200) || g from generate_series(1, 20000) g;
             create index big_b on big using hash (b);
             create sequence big_seq;
             checkpoint;",
        )
        .await
        .unwrap();
    assert!(base_bytes(&server) > before + 2_000_000, "the table's files were written");
    // Not while a session is connected to it, nor the session's own database.
    let err = main.batch_execute("drop database scratch").await.unwrap_err();
    let db = err.as_db_error().unwrap();
    assert_eq!(db.code(), &SqlState::OBJECT_IN_USE);
    assert_eq!(db.detail(), Some("There is 1 other session using the database."));
    assert_eq!(sqlstate(&main, "alter database scratch rename to gone").await, SqlState::OBJECT_IN_USE);
    assert_eq!(sqlstate(&scratch, "drop database scratch").await, SqlState::OBJECT_IN_USE);
    // Not in a transaction block, where a failed DROP could not be undone.
    assert_eq!(sqlstate(&scratch, "begin; drop database rustydb").await, SqlState::ACTIVE_SQL_TRANSACTION);
    // WITH (FORCE) ends the sessions on it first, idle or busy.
    main.batch_execute("create database forced").await.unwrap();
    let idle = server.connect_as("rustydb", "forced").await.unwrap();
    let busy = server.connect_as("rustydb", "forced").await.unwrap();
    let sleeping = tokio::spawn(async move { busy.simple_query("select pg_sleep(60)").await });
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    main.batch_execute("drop database forced with (force)").await.unwrap();
    assert!(tokio::time::timeout(std::time::Duration::from_secs(10), sleeping).await.unwrap().unwrap().is_err());
    assert!(idle.query_one("select 1", &[]).await.is_err(), "a session on a dropped database still answers");
    drop(scratch);
    // The session's end is noticed a moment after the client closes.
    let mut dropped = false;
    for _ in 0..100 {
        match main.batch_execute("drop database scratch").await {
            Ok(()) => {
                dropped = true;
                break;
            }
            Err(e) if e.code() == Some(&SqlState::OBJECT_IN_USE) => {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert!(dropped, "the database stayed in use");
    main.batch_execute("checkpoint").await.unwrap();
    assert!(base_bytes(&server) < before + 500_000, "the dropped tables' files are gone");
    let err = server.connect_as("rustydb", "scratch").await.unwrap_err();
    assert_eq!(err.as_db_error().unwrap().code(), &SqlState::INVALID_CATALOG_NAME);
    // A new database of the same name starts empty.
    main.batch_execute("create database scratch").await.unwrap();
    let again = server.connect_as("rustydb", "scratch").await.unwrap();
    assert_eq!(sqlstate(&again, "select * from big").await, SqlState::UNDEFINED_TABLE);
    again.batch_execute("create table big (x text); insert into big values ('new')").await.unwrap();
    drop((again, main));

    // A crash keeps every committed database and none of the dropped one.
    let temp = server.keep_dir();
    let dir = server.data_dir.clone();
    server.kill9();
    server = TestServer::start_in(&dir);
    let main = server.connect().await;
    let n: i32 = main.query_one("select a from keep", &[]).await.unwrap().get(0);
    assert_eq!(n, 1);
    let again = server.connect_as("rustydb", "scratch").await.unwrap();
    let x: String = again.query_one("select x from big", &[]).await.unwrap().get(0);
    assert_eq!(x, "new");
    assert_eq!(sqlstate(&again, "select nextval('big_seq')").await, SqlState::UNDEFINED_TABLE);
    let names: Vec<String> =
        main.query("select datname from pg_database order by 1", &[]).await.unwrap().iter().map(|r| r.get(0)).collect();
    assert_eq!(names, ["postgres", "rustydb", "scratch"]);
    drop(temp);
}
