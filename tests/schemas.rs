//! Schemas over the wire: the same names in two schemas and in two databases stay apart,
//! a session's search path chooses among them, prepared statements follow it, and all of it
//! survives a crash. Temporary tables are their session's alone and go with it, or at the
//! next start after a crash.

#![allow(clippy::unwrap_used)]

use rustydb_tests::{TestServer, sqlstate};
use tokio_postgres::error::SqlState;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemas_keep_their_objects_apart_and_survive_a_crash() {
    let mut server = TestServer::start();
    let main = server.connect().await;
    main.batch_execute(
        "create schema app;
         create table t (id int primary key, who text);
         insert into t values (1, 'public');
         create table app.t (id serial primary key, who text);
         insert into app.t (who) values ('app');
         create index t_who on app.t (who);
         create view app.v as select who from app.t;
         create sequence app.s start 50;",
    )
    .await
    .unwrap();
    // The same index name in another schema is no clash.
    main.batch_execute("create index t_who on t (who)").await.unwrap();
    let who = |row: tokio_postgres::Row| row.get::<_, String>(0);
    assert_eq!(who(main.query_one("select who from t", &[]).await.unwrap()), "public");
    assert_eq!(who(main.query_one("select who from app.t", &[]).await.unwrap()), "app");

    // A prepared statement binds its names when it runs: the search path in effect then.
    let prepared = main.prepare("select who from t").await.unwrap();
    main.batch_execute("set search_path = app, public").await.unwrap();
    assert_eq!(who(main.query_one(&prepared, &[]).await.unwrap()), "app");
    let n: i64 = main.query_one("select nextval('s')", &[]).await.unwrap().get(0);
    assert_eq!(n, 50);
    main.batch_execute("reset search_path").await.unwrap();
    assert_eq!(who(main.query_one(&prepared, &[]).await.unwrap()), "public");
    assert_eq!(sqlstate(&main, "select nextval('s')").await, SqlState::UNDEFINED_TABLE);

    // Another database's `app` is its own.
    main.batch_execute("create database other").await.unwrap();
    let other = server.connect_as("rustydb", "other").await.unwrap();
    assert_eq!(sqlstate(&other, "select * from app.t").await, SqlState::UNDEFINED_TABLE);
    other
        .batch_execute("create schema app; create table app.t (who text); insert into app.t values ('other')")
        .await
        .unwrap();
    assert_eq!(who(other.query_one("select who from app.t", &[]).await.unwrap()), "other");
    drop(other);

    // A database's `public` keys what is cached per database: it stays (0A000), though its
    // owner may change.
    assert_eq!(sqlstate(&main, "drop schema public cascade").await, SqlState::FEATURE_NOT_SUPPORTED);
    assert_eq!(sqlstate(&main, "alter schema public rename to old").await, SqlState::FEATURE_NOT_SUPPORTED);
    main.batch_execute("create role keeper; alter schema public owner to keeper").await.unwrap();
    let owner: String = main
        .query_one("select pg_get_userbyid(nspowner) from pg_namespace where nspname = 'public'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(owner, "keeper");

    // An uncommitted schema is nobody else's, and a rolled-back one is gone.
    main.batch_execute("begin; create schema pending; create table pending.x (a int); rollback").await.unwrap();
    assert_eq!(sqlstate(&main, "select * from pending.x").await, SqlState::UNDEFINED_TABLE);
    drop(main);

    let temp = server.keep_dir();
    let dir = server.data_dir.clone();
    server.kill9();
    server = TestServer::start_in(&dir);
    let main = server.connect().await;
    assert_eq!(who(main.query_one("select who from app.v", &[]).await.unwrap()), "app");
    assert_eq!(who(main.query_one("select who from t", &[]).await.unwrap()), "public");
    let id: i32 = main.query_one("insert into app.t (who) values ('again') returning id", &[]).await.unwrap().get(0);
    // Past every value handed out before the crash (it logs ahead, as PostgreSQL's does).
    assert!(id >= 2, "the serial's sequence went back to {id}");
    let schemas: Vec<String> = main
        .query("select nspname from pg_namespace where nspname not like 'pg\\_%' order by 1", &[])
        .await
        .unwrap()
        .into_iter()
        .map(who)
        .collect();
    assert_eq!(schemas, ["app", "information_schema", "public"]);
    let other = server.connect_as("rustydb", "other").await.unwrap();
    assert_eq!(who(other.query_one("select who from app.t", &[]).await.unwrap()), "other");
    drop(temp);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn temporary_tables_are_their_sessions_own_and_go_with_them() {
    let mut server = TestServer::start();
    let a = server.connect().await;
    let b = server.connect().await;
    a.batch_execute("create temp table scratch (n int); insert into scratch values (1)").await.unwrap();
    b.batch_execute("create temp table scratch (n int); insert into scratch values (2), (3)").await.unwrap();
    let n = |row: tokio_postgres::Row| row.get::<_, i64>(0);
    assert_eq!(n(a.query_one("select count(*) from scratch", &[]).await.unwrap()), 1);
    assert_eq!(n(b.query_one("select count(*) from scratch", &[]).await.unwrap()), 2);
    // Another session's temporary schema cannot be reached by its name.
    let a_schema: String = a
        .query_one(
            "select n.nspname from pg_class c join pg_namespace n on n.oid = c.relnamespace \
             where c.relname = 'scratch' and pg_table_is_visible(c.oid)",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(a_schema.starts_with("pg_temp_"), "{a_schema}");
    assert_eq!(sqlstate(&b, &format!("select * from {a_schema}.scratch")).await, SqlState::UNDEFINED_TABLE);

    // A session's first temporary table may reference itself, whatever `public` holds.
    let c = server.connect().await;
    c.batch_execute(
        "create table tree (id int primary key);
         create temp table tree (id int primary key, up int references tree (id));
         insert into tree values (1, null), (2, 1);",
    )
    .await
    .unwrap();
    assert_eq!(n(c.query_one("select count(*) from public.tree", &[]).await.unwrap()), 0);
    // A view made by a session with temporary tables reads the permanent ones, for everyone,
    // even once the session has a temporary table of the name.
    c.batch_execute(
        "create table orders (n int); insert into orders values (1);
         create view report as select n from orders;
         create temp table orders (n int); insert into orders values (99);",
    )
    .await
    .unwrap();
    let n32 = |row: tokio_postgres::Row| row.get::<_, i32>(0);
    assert_eq!(n32(c.query_one("select n from report", &[]).await.unwrap()), 1);
    assert_eq!(n32(b.query_one("select n from report", &[]).await.unwrap()), 1);
    // Another session's temporary schema is no one's to drop or rename.
    assert_eq!(sqlstate(&b, &format!("drop schema {a_schema} cascade")).await, SqlState::FEATURE_NOT_SUPPORTED);
    drop(c);

    // A session's end takes its temporary tables: the schema and the table are gone.
    drop(a);
    let gone = |schema: String| async move {
        for _ in 0..100 {
            let left: i64 =
                b.query_one("select count(*) from pg_namespace where nspname = $1", &[&schema]).await.unwrap().get(0);
            if left == 0 {
                return b;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("{schema} outlived its session");
    };
    let b = gone(a_schema).await;

    // A crash ends no session cleanly: the next start drops what they left.
    let b_schema: String = b
        .query_one(
            "select n.nspname from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.relname = 'scratch'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    b.batch_execute("create table kept (n int); insert into kept values (9)").await.unwrap();
    drop(b);
    let temp = server.keep_dir();
    let dir = server.data_dir.clone();
    server.kill9();
    server = TestServer::start_in(&dir);
    let c = server.connect().await;
    let left: i64 =
        c.query_one("select count(*) from pg_namespace where nspname like 'pg\\_temp\\_%'", &[]).await.unwrap().get(0);
    assert_eq!(left, 0, "{b_schema} survived a restart");
    assert_eq!(sqlstate(&c, "select * from scratch").await, SqlState::UNDEFINED_TABLE);
    let kept: i32 = c.query_one("select n from kept", &[]).await.unwrap().get(0);
    assert_eq!(kept, 9);
    drop(temp);
}
