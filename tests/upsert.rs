//! INSERT ... ON CONFLICT and RETURNING over the wire, under concurrency: sessions racing to
//! insert the same keys never see a unique violation when an arbiter covers them, every
//! increment an upsert makes is kept, and a REPEATABLE READ upsert that meets a row its
//! snapshot cannot see fails with 40001 as PostgreSQL's does. RETURNING works through the
//! extended protocol: a prepared statement describes its rows and takes parameters.

#![allow(clippy::unwrap_used)]

use rustydb_tests::{TestServer, sqlstate};
use std::sync::Arc;
use tokio_postgres::error::SqlState;

const CLIENTS: usize = 6;
const ROUNDS: i64 = 25;
const KEYS: i64 = 5;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_upserts_keep_every_increment() {
    let server = TestServer::start();
    let setup = server.connect().await;
    setup.batch_execute("create table counters (k int primary key, n int not null)").await.unwrap();
    setup.batch_execute("create table seen (k int primary key, first int)").await.unwrap();
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let client = Arc::new(server.connect().await);
        tasks.push(tokio::spawn(async move {
            let upsert = client
                .prepare(
                    "insert into counters values ($1, 1) on conflict (k) do update set n = counters.n + 1 returning n",
                )
                .await
                .unwrap();
            let first = client.prepare("insert into seen values ($1, $2) on conflict do nothing").await.unwrap();
            let mut firsts = 0;
            for round in 0..ROUNDS {
                let k = (round + c as i64) % KEYS;
                let rows = client.query(&upsert, &[&(k as i32)]).await.unwrap();
                assert_eq!(rows.len(), 1, "one row returned per upsert");
                assert!(rows[0].get::<_, i32>(0) >= 1);
                firsts += client.execute(&first, &[&(k as i32), &(c as i32)]).await.unwrap();
            }
            firsts
        }));
    }
    let mut firsts = 0;
    for t in tasks {
        firsts += t.await.unwrap();
    }
    let total: i64 = setup.query_one("select sum(n)::int8 from counters", &[]).await.unwrap().get(0);
    assert_eq!(total, CLIENTS as i64 * ROUNDS, "an increment was lost");
    let keys: i64 = setup.query_one("select count(*) from counters", &[]).await.unwrap().get(0);
    assert_eq!(keys, KEYS);
    // Exactly one session inserted each key into `seen`; the others did nothing.
    assert_eq!(firsts, KEYS as u64);
    let seen: i64 = setup.query_one("select count(*) from seen", &[]).await.unwrap().get(0);
    assert_eq!(seen, KEYS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upsert_waits_for_the_inserter_and_updates_its_row() {
    let server = TestServer::start();
    let a = server.connect().await;
    let b = Arc::new(server.connect().await);
    a.batch_execute("create table kv (k int primary key, v text)").await.unwrap();
    a.batch_execute("begin; insert into kv values (1, 'a')").await.unwrap();
    // b's upsert finds a's uncommitted row: it waits for a to end, then updates a's row.
    let b2 = b.clone();
    let waiting = tokio::spawn(async move {
        b2.query_one(
            "insert into kv values (1, 'b') on conflict (k) do update set v = kv.v || excluded.v returning v",
            &[],
        )
        .await
        .unwrap()
        .get::<_, String>(0)
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!waiting.is_finished(), "the upsert did not wait for the uncommitted insert");
    a.batch_execute("commit").await.unwrap();
    assert_eq!(waiting.await.unwrap(), "ab");

    // If the inserter rolls back instead, the upsert inserts its own row.
    a.batch_execute("begin; insert into kv values (2, 'a')").await.unwrap();
    let b2 = b.clone();
    let waiting = tokio::spawn(async move {
        b2.query_one("insert into kv values (2, 'b') on conflict (k) do update set v = 'updated' returning v", &[])
            .await
            .unwrap()
            .get::<_, String>(0)
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    a.batch_execute("rollback").await.unwrap();
    assert_eq!(waiting.await.unwrap(), "b");

    // REPEATABLE READ: a row committed after the snapshot cannot be updated (40001), as in
    // PostgreSQL; DO NOTHING skips it.
    b.batch_execute("begin isolation level repeatable read; select 1").await.unwrap();
    a.batch_execute("insert into kv values (3, 'a')").await.unwrap();
    b.batch_execute("insert into kv values (3, 'b') on conflict do nothing").await.unwrap();
    let err = sqlstate(&b, "insert into kv values (3, 'b') on conflict (k) do update set v = 'x'").await;
    assert_eq!(err, SqlState::T_R_SERIALIZATION_FAILURE);
    b.batch_execute("rollback").await.unwrap();
    let v: String = a.query_one("select v from kv where k = 3", &[]).await.unwrap().get(0);
    assert_eq!(v, "a");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn returning_through_the_extended_protocol() {
    let server = TestServer::start();
    let client = server.connect().await;
    client.batch_execute("create table items (id serial primary key, name text not null, price float8)").await.unwrap();
    let insert = client.prepare("insert into items (name, price) values ($1, $2) returning id, name").await.unwrap();
    let columns: Vec<&str> = insert.columns().iter().map(|c| c.name()).collect();
    assert_eq!(columns, ["id", "name"]);
    assert_eq!(insert.params(), &[tokio_postgres::types::Type::TEXT, tokio_postgres::types::Type::FLOAT8]);
    for (i, name) in ["pen", "ink", "pad"].iter().enumerate() {
        let row = client.query_one(&insert, &[name, &1.5f64]).await.unwrap();
        assert_eq!(row.get::<_, i32>(0), i as i32 + 1);
        assert_eq!(row.get::<_, &str>(1), *name);
    }
    let update =
        client.prepare("update items set price = price * $1 where id >= $2 returning id, price").await.unwrap();
    let rows = client.query(&update, &[&2.0f64, &2i32]).await.unwrap();
    let mut got: Vec<(i32, f64)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    got.sort_by_key(|g| g.0);
    assert_eq!(got, [(2, 3.0), (3, 3.0)]);
    let deleted = client.query("delete from items where name = $1 returning *", &[&"ink"]).await.unwrap();
    assert_eq!(deleted.len(), 1);
    assert_eq!(deleted[0].get::<_, f64>(2), 3.0);
    // Without RETURNING, a write describes no rows and reports its count.
    assert_eq!(client.execute("update items set price = 0", &[]).await.unwrap(), 2);
    // A failed upsert leaves the session usable and the table unchanged.
    let err = sqlstate(&client, "insert into items values (1, null) on conflict (id) do nothing returning id").await;
    assert_eq!(err, SqlState::NOT_NULL_VIOLATION);
    let count: i64 = client.query_one("select count(*) from items", &[]).await.unwrap().get(0);
    assert_eq!(count, 2);
}
