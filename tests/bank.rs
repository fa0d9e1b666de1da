//! Invariants under concurrency, over the wire: clients move money between accounts under
//! REPEATABLE READ and SERIALIZABLE, retrying on 40001 and 40P01 as applications must, and the
//! total never changes; under SERIALIZABLE a write-skew workload (the on-call doctors) never
//! commits the anomaly that snapshot isolation alone allows.

#![allow(clippy::unwrap_used)]

use rustydb_tests::TestServer;
use std::sync::Arc;
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, SimpleQueryMessage};

const ACCOUNTS: i64 = 10;
const CLIENTS: usize = 8;
const TRANSFERS: usize = 25;

async fn values(client: &Client, sql: &str) -> Result<Vec<i64>, tokio_postgres::Error> {
    Ok(client
        .simple_query(sql)
        .await?
        .into_iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => Some(r.get(0).unwrap().parse().unwrap()),
            _ => None,
        })
        .collect())
}

fn retryable(e: &tokio_postgres::Error) -> bool {
    matches!(e.code(), Some(c) if *c == SqlState::T_R_SERIALIZATION_FAILURE || *c == SqlState::T_R_DEADLOCK_DETECTED)
}

/// Runs `body` in a transaction at `level` until it commits; returns how many attempts failed.
async fn retrying<F, Fut>(client: &Client, level: &str, body: F) -> usize
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<(), tokio_postgres::Error>>,
{
    let mut failures = 0;
    loop {
        client.batch_execute(&format!("begin isolation level {level}")).await.unwrap();
        let outcome = match body().await {
            Ok(()) => client.batch_execute("commit").await,
            Err(e) => Err(e),
        };
        match outcome {
            Ok(()) => return failures,
            Err(e) if retryable(&e) => {
                failures += 1;
                client.batch_execute("rollback").await.unwrap();
            }
            Err(e) => panic!("a transfer failed with a non-retryable error: {e}"),
        }
    }
}

async fn transfers_keep_the_total(level: &'static str) {
    let server = TestServer::start();
    let setup = server.connect().await;
    setup.batch_execute("create table acct (id int primary key, balance int)").await.unwrap();
    let rows: Vec<String> = (0..ACCOUNTS).map(|i| format!("({i}, 1000)")).collect();
    setup.batch_execute(&format!("insert into acct values {}", rows.join(", "))).await.unwrap();
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let client = Arc::new(server.connect().await);
        client.batch_execute("set deadlock_timeout = '50ms'").await.unwrap();
        tasks.push(tokio::spawn(async move {
            let mut failures = 0;
            for t in 0..TRANSFERS {
                // Deterministic, overlapping pairs in both directions (so deadlocks happen too).
                let from = ((c * 7 + t * 3) as i64) % ACCOUNTS;
                let to = (from + 1 + (t as i64 % (ACCOUNTS - 1))) % ACCOUNTS;
                let amount = 1 + (c + t) as i64 % 50;
                failures += retrying(&client, level, || {
                    let client = client.clone();
                    async move {
                        let have = values(&client, &format!("select balance from acct where id = {from}")).await?;
                        let amount = amount.min(have[0].max(0));
                        client
                            .batch_execute(&format!("update acct set balance = balance - {amount} where id = {from}"))
                            .await?;
                        client
                            .batch_execute(&format!("update acct set balance = balance + {amount} where id = {to}"))
                            .await
                    }
                })
                .await;
            }
            failures
        }));
    }
    let mut retried = 0;
    for task in tasks {
        retried += task.await.unwrap();
    }
    let balances = values(&setup, "select balance from acct").await.unwrap();
    assert_eq!(balances.len(), ACCOUNTS as usize);
    assert_eq!(balances.iter().sum::<i64>(), ACCOUNTS * 1000, "money was made or lost under {level}: {balances:?}");
    assert!(balances.iter().all(|b| *b >= 0), "an account went negative under {level}: {balances:?}");
    eprintln!("{level}: {} transfers committed, {retried} attempts retried", CLIENTS * TRANSFERS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfers_under_repeatable_read_keep_the_total() {
    transfers_keep_the_total("repeatable read").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfers_under_serializable_keep_the_total() {
    transfers_keep_the_total("serializable").await;
}

/// Two doctors on call; each goes off call only if the other is still on. Under snapshot
/// isolation both can go (write skew); under SERIALIZABLE one of each pair must fail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serializable_never_commits_write_skew() {
    let server = TestServer::start();
    let setup = server.connect().await;
    setup.batch_execute("create table doctors (id int primary key, on_call boolean)").await.unwrap();
    let a = Arc::new(server.connect().await);
    let b = Arc::new(server.connect().await);
    let mut skews_prevented = 0;
    for round in 0..20 {
        setup.batch_execute("delete from doctors; insert into doctors values (1, true), (2, true)").await.unwrap();
        let barrier = Arc::new(tokio::sync::Barrier::new(2));
        let go_off = |client: Arc<Client>, me: i64, barrier: Arc<tokio::sync::Barrier>| async move {
            client.batch_execute("begin isolation level serializable").await.unwrap();
            let on_call = values(&client, "select id from doctors where on_call = true").await;
            barrier.wait().await; // both have read before either writes
            let result = match on_call {
                Ok(ids) if ids.len() >= 2 => {
                    match client.batch_execute(&format!("update doctors set on_call = false where id = {me}")).await {
                        Ok(()) => client.batch_execute("commit").await,
                        Err(e) => Err(e),
                    }
                }
                Ok(_) => client.batch_execute("commit").await,
                Err(e) => Err(e),
            };
            if let Err(e) = &result {
                assert!(retryable(e), "round {round}: {e}");
                client.batch_execute("rollback").await.unwrap();
            }
            result.is_ok()
        };
        let (ra, rb) = tokio::join!(go_off(a.clone(), 1, barrier.clone()), go_off(b.clone(), 2, barrier.clone()));
        let on_call = values(&setup, "select id from doctors where on_call = true").await.unwrap();
        assert!(!on_call.is_empty(), "round {round}: both doctors went off call (write skew committed)");
        if !(ra && rb) {
            skews_prevented += 1;
        }
    }
    assert_eq!(skews_prevented, 20, "every round had both transactions read before writing, so one must fail");
}
