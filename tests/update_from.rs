//! UPDATE ... FROM and DELETE ... USING under concurrency, as PostgreSQL's READ COMMITTED
//! behaves: a row another session updated and committed meanwhile is changed from its newest
//! version (the SET values computed from it), or skipped when that version no longer meets the
//! joined WHERE; a prepared UPDATE ... FROM takes parameters in the join's condition.

#![allow(clippy::unwrap_used)]

use rustydb_tests::TestServer;
use std::time::Duration;

async fn setup(server: &TestServer) -> tokio_postgres::Client {
    let client = server.connect().await;
    client
        .batch_execute(
            "create table accounts (id int primary key, owner text, balance int);
             insert into accounts values (1, 'ann', 100), (2, 'bob', 50);
             create table payments (account int, amount int);
             insert into payments values (1, 7), (2, 3);",
        )
        .await
        .unwrap();
    client
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_updated_meanwhile_is_changed_from_its_newest_version() {
    let server = TestServer::start();
    let first = setup(&server).await;
    let second = server.connect().await;
    first.batch_execute("begin; update accounts set balance = 500 where id = 1").await.unwrap();
    let waiting = tokio::spawn(async move {
        let n = second
            .execute(
                "update accounts set balance = balance + p.amount from payments p where p.account = accounts.id",
                &[],
            )
            .await
            .unwrap();
        (second, n)
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!waiting.is_finished(), "the UPDATE ... FROM should wait for the row's writer");
    first.batch_execute("commit").await.unwrap();
    let (_second, n) = waiting.await.unwrap();
    assert_eq!(n, 2);
    let rows = first.query("select id, balance from accounts order by id", &[]).await.unwrap();
    let balances: Vec<(i32, i32)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(balances, [(1, 507), (2, 53)], "the committed 500 was the base for +7");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_that_no_longer_joins_is_skipped() {
    let server = TestServer::start();
    let first = setup(&server).await;
    let second = server.connect().await;
    first.batch_execute("begin; update accounts set owner = 'zed' where id = 1").await.unwrap();
    let waiting = tokio::spawn(async move {
        let n = second
            .execute(
                "delete from accounts a using payments p where p.account = a.id and a.owner in ('ann', 'bob')",
                &[],
            )
            .await
            .unwrap();
        (second, n)
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    first.batch_execute("commit").await.unwrap();
    let (_second, n) = waiting.await.unwrap();
    assert_eq!(n, 1, "only bob's row still met the WHERE");
    let left: Vec<String> =
        first.query("select owner from accounts", &[]).await.unwrap().iter().map(|r| r.get(0)).collect();
    assert_eq!(left, ["zed"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prepared_update_from_takes_parameters() {
    let server = TestServer::start();
    let client = setup(&server).await;
    let update = client
        .prepare("update accounts set balance = balance * $1 from payments p where p.account = accounts.id and p.amount > $2 returning accounts.id, balance")
        .await
        .unwrap();
    let rows = client.query(&update, &[&2i32, &5i32]).await.unwrap();
    let got: Vec<(i32, i32)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(got, [(1, 200)]);
}
