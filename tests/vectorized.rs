//! The vectorized executor against the row executor: random aggregate queries over filters,
//! projections and hash joins, and ORDER BY ... LIMIT queries, run twice in one session, with `rustydb.vectorize` on and off,
//! and must give the same rows (to the last digit of every float) or the same SQLSTATE.

#![allow(clippy::unwrap_used)]

use rustydb_tests::{TestServer, ok};
use tokio_postgres::{Client, SimpleQueryMessage};

/// The outcome of a query: its rows as text, sorted (hash aggregation's order is not part of
/// the answer), or its SQLSTATE.
async fn outcome(client: &Client, sql: &str, ordered: bool) -> Result<Vec<String>, String> {
    match client.simple_query(sql).await {
        Ok(messages) => {
            let mut rows: Vec<String> = messages
                .iter()
                .filter_map(|m| match m {
                    SimpleQueryMessage::Row(row) => {
                        Some((0..row.len()).map(|i| row.get(i).unwrap_or("NULL")).collect::<Vec<_>>().join("|"))
                    }
                    _ => None,
                })
                .collect();
            if !ordered {
                rows.sort();
            }
            Ok(rows)
        }
        Err(e) => Err(e.code().map_or_else(|| e.to_string(), |c| c.code().to_string())),
    }
}

/// A small deterministic generator (xorshift), so a failure names a reproducible query.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

const AGGREGATES: &[&str] = &[
    "count(*)",
    "count(a)",
    "sum(a)",
    "sum(b)",
    "avg(a)",
    "avg(f)",
    "sum(f)",
    "min(f)",
    "max(f)",
    "sum(r)",
    "min(r)",
    "max(b)",
    "min(a)",
    "bool_and(p)",
    "bool_or(p)",
    "count(*) FILTER (WHERE a > 10)",
    "sum(100 / a) FILTER (WHERE a <> 0)",
    "avg(f * 2 + a)",
    "sum(a * b)",
    "max(-f)",
    "sum(a::float8 / 7)",
    "count(f) FILTER (WHERE p)",
];

const GROUPS: &[&str] = &["", "a % 5", "p", "a % 3, b % 2", "b IS NULL", "a", "a > 20, p"];

const CONDITIONS: &[&str] = &[
    "",
    "a > 3",
    "a <> 0 AND 100 / a > 20",
    "f < 0.5 OR a IS NULL",
    "NOT p",
    "a::float8 / 3 < b",
    "b % 7 = 2 AND f >= 0",
    "a BETWEEN 5 AND 30",
    "-a < -40 OR p IS NULL",
];

const SOURCES: &[&str] = &[
    "t",
    "t",
    "(SELECT a * 2 AS a, b, f + 1 AS f, r, p FROM t WHERE a IS NOT NULL) t",
    "(SELECT t.a, u.b, t.f, u.r, t.p FROM t JOIN u ON t.a = u.a) t",
    "(SELECT t.a, t.b, u.f, t.r, u.p FROM t LEFT JOIN u ON t.b = u.b) t",
    "(SELECT t.a, u.b, t.f, t.r, t.p FROM t JOIN u ON t.a = u.a AND t.p = u.p WHERE u.f < 0.7) t",
    "(SELECT t.a, t.b, t.f, u.r, u.p FROM t JOIN u ON t.a = u.b AND t.f < u.f) t",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vectorized_and_row_execution_agree_on_random_aggregates() {
    let server = TestServer::start();
    let client = server.connect().await;
    ok(
        &client,
        "CREATE TABLE t (a int, b bigint, f float8, r real, p boolean, s text);
         INSERT INTO t SELECT g % 47, g * 31 % 1009, ((g * 7919) % 1000) / 999.0, (g % 11)::real / 7,
                              CASE WHEN g % 13 = 0 THEN NULL ELSE g % 2 = 0 END, 'row ' || g
           FROM generate_series(1, 6000) g;
         INSERT INTO t VALUES (NULL, NULL, NULL, NULL, NULL, NULL), (0, 0, '-0', '-0', false, ''),
                              (-5, -1, 'NaN', 'Infinity', true, 'x');
         CREATE TABLE u (a int, b bigint, f float8, r real, p boolean);
         INSERT INTO u SELECT g % 60, g % 300, (g % 10) / 10.0, g::real / 3, g % 3 = 0 FROM generate_series(1, 900) g;
         INSERT INTO u VALUES (NULL, NULL, NULL, NULL, NULL), (7, NULL, 0.5, 1, NULL);",
    )
    .await;
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..300 {
        let aggregates: Vec<&str> = (0..1 + rng.next() % 3).map(|_| rng.pick(AGGREGATES)).collect();
        let group = rng.pick(GROUPS);
        let condition = rng.pick(CONDITIONS);
        let source = rng.pick(SOURCES);
        let mut sql = String::from("SELECT ");
        if !group.is_empty() {
            sql.push_str(group);
            sql.push_str(", ");
        }
        sql.push_str(&aggregates.join(", "));
        sql.push_str(" FROM ");
        sql.push_str(source);
        if !condition.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(condition);
        }
        if !group.is_empty() {
            sql.push_str(" GROUP BY ");
            sql.push_str(group);
        }
        ok(&client, "SET rustydb.vectorize = on").await;
        let vectorized = outcome(&client, &sql, false).await;
        ok(&client, "SET rustydb.vectorize = off").await;
        let rows = outcome(&client, &sql, false).await;
        assert_eq!(vectorized, rows, "{sql}");
    }
    // ORDER BY ... LIMIT: the same rows in the same order, ties included (both sorts are
    // stable over the same input order).
    const KEYS: &[&str] = &["f", "a DESC", "b NULLS FIRST", "p, f DESC", "a % 4, r", "f + a DESC NULLS LAST", "-b"];
    for _ in 0..60 {
        let keys = rng.pick(KEYS);
        let condition = rng.pick(CONDITIONS);
        let source = rng.pick(SOURCES);
        let limit = 1 + rng.next() % 40;
        let offset = rng.next() % 3 * 5;
        let filter = if condition.is_empty() { String::new() } else { format!(" WHERE {condition}") };
        let sql = format!("SELECT a, b, f, r, p FROM {source}{filter} ORDER BY {keys} LIMIT {limit} OFFSET {offset}");
        ok(&client, "SET rustydb.vectorize = on").await;
        let vectorized = outcome(&client, &sql, true).await;
        ok(&client, "SET rustydb.vectorize = off").await;
        let rows = outcome(&client, &sql, true).await;
        assert_eq!(vectorized, rows, "{sql}");
    }
    // The setting reads back, and resets to on.
    let show = |m: Vec<SimpleQueryMessage>| match &m[1] {
        SimpleQueryMessage::Row(r) => r.get(0).unwrap().to_string(),
        _ => String::new(),
    };
    assert_eq!(show(client.simple_query("SHOW rustydb.vectorize").await.unwrap()), "off");
    ok(&client, "RESET rustydb.vectorize").await;
    assert_eq!(show(client.simple_query("SHOW rustydb.vectorize").await.unwrap()), "on");
    assert_eq!(rustydb_tests::sqlstate(&client, "SET rustydb.vectorize = maybe").await.code(), "22023");
}

/// The vectorized scan reads tuples in place and decides visibility once per run of equal
/// (xmin, xmax): on pages mixing versions of committed, aborted, in-progress and the reader's
/// own transactions, and pages holding compressed values (read through the copying path), it
/// must see exactly what the row executor sees, under READ COMMITTED and REPEATABLE READ.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vectorized_scans_see_what_row_scans_see_among_concurrent_writers() {
    let server = TestServer::start();
    let setup = server.connect().await;
    ok(
        &setup,
        "CREATE TABLE m (id int PRIMARY KEY, a int, f float8, s text);
         INSERT INTO m SELECT g, g % 17, g / 8.0, CASE WHEN g % 97 = 0 THEN repeat('compressible ', 400) ELSE 'r' || g END
           FROM generate_series(1, 3000) g;",
    )
    .await;
    // Committed: deletes and updates spread over every page.
    ok(&setup, "DELETE FROM m WHERE id % 11 = 0; UPDATE m SET f = f * 2 WHERE id % 5 = 0").await;
    // Aborted: a deletion whose xmax must be ignored.
    ok(&setup, "BEGIN; DELETE FROM m WHERE id % 13 = 0; ROLLBACK").await;
    // In progress: an update the readers must not see.
    let writer = server.connect().await;
    ok(&writer, "BEGIN; UPDATE m SET a = a + 1000 WHERE id % 7 = 0").await;

    let queries = [
        "SELECT count(*), sum(a), sum(f), count(s) FROM m",
        "SELECT a % 5, count(*), sum(f), min(id), max(id) FROM m GROUP BY 1",
        "SELECT count(*), sum(f) FROM m WHERE a < 5 OR id % 3 = 0",
    ];
    let reader = server.connect().await;
    let compare = async |client: &Client, label: &str| {
        for sql in queries {
            ok(client, "SET rustydb.vectorize = on").await;
            let vectorized = outcome(client, sql, false).await;
            ok(client, "SET rustydb.vectorize = off").await;
            let rows = outcome(client, sql, false).await;
            assert!(vectorized.is_ok(), "{label}: {sql}: {vectorized:?}");
            assert_eq!(vectorized, rows, "{label}: {sql}");
        }
        ok(client, "SET rustydb.vectorize = on").await;
    };
    // 3000 rows less the 272 deleted; the aborted deletion and the open update change nothing.
    assert_eq!(outcome(&reader, queries[0], false).await.unwrap()[0].split('|').next(), Some("2728"));
    assert_eq!(outcome(&reader, "SELECT count(*) FROM m WHERE a >= 1000", false).await.unwrap(), ["0"]);
    compare(&reader, "read committed").await;

    // A REPEATABLE READ snapshot taken before more changes commit keeps seeing the old rows.
    ok(&reader, "BEGIN ISOLATION LEVEL REPEATABLE READ").await;
    let before = outcome(&reader, queries[0], false).await.unwrap();
    // (Rows the open writer holds, id % 7 = 0, are left alone: changing them would wait for it.)
    ok(
        &setup,
        "UPDATE m SET a = a + 1 WHERE id % 4 = 0 AND id % 7 <> 0; DELETE FROM m WHERE id % 19 = 0 AND id % 7 <> 0",
    )
    .await;
    assert_eq!(outcome(&reader, queries[0], false).await.unwrap(), before);
    compare(&reader, "repeatable read").await;
    ok(&reader, "COMMIT").await;

    // The reader's own uncommitted changes, beside the other writer's.
    ok(
        &reader,
        "BEGIN; UPDATE m SET a = -a WHERE id % 3 = 0 AND id % 7 <> 0; DELETE FROM m WHERE id % 23 = 0 AND id % 7 <> 0",
    )
    .await;
    compare(&reader, "own changes").await;
    ok(&reader, "ROLLBACK").await;

    // Once the writer commits, its update is seen.
    ok(&writer, "COMMIT").await;
    compare(&reader, "after the writer's commit").await;
    assert_ne!(outcome(&reader, "SELECT count(*) FROM m WHERE a >= 1000", false).await.unwrap(), ["0"]);
}
