//! The server's memory stays within its configuration: the buffer pool is as large as
//! `buffer_pool_pages` says however large the tables it reads, a statement that would hold
//! more than `statement_memory_limit_mb` in rows fails with 53200 while the server goes on, and
//! a sort larger than that spills to temporary files instead.

#![allow(clippy::unwrap_used)] // Tests assert by unwrapping; a panic is the failure report.

use rustydb_tests::{TestServer, sqlstate};
use tokio_postgres::error::SqlState;

/// The resident set of process `pid`, in bytes.
fn rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scans_stay_within_the_pool_and_statements_within_their_budget() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    // 1 MiB of buffer pool; about 26 MB of table, loaded by doubling.
    let server = TestServer::start_in_with_config(&data_dir, "buffer_pool_pages = 256\n");
    let c = server.connect().await;
    c.simple_query("CREATE TABLE t (id INT, v TEXT) WITH (compression = none)").await.unwrap();
    let values: Vec<String> = (0..100).map(|i| format!("({i}, '{}')", format!("{i:04}").repeat(250))).collect();
    c.simple_query(&format!("INSERT INTO t VALUES {}", values.join(", "))).await.unwrap();
    for _ in 0..8 {
        c.simple_query("INSERT INTO t SELECT id, v FROM t").await.unwrap();
    }
    drop(c);
    assert!(server.terminate().success());
    let table_bytes = std::fs::metadata(data_dir.join("base").join("16384")).unwrap().len();
    assert!(table_bytes > 25 << 20, "the table holds {table_bytes} bytes");

    // Restarted with a 1 MiB statement budget: full scans of a table 26 times the pool.
    let server =
        TestServer::start_in_with_config(&data_dir, "buffer_pool_pages = 256\nstatement_memory_limit_mb = 1\n");
    let c = server.connect().await;
    c.simple_query("SELECT id FROM t WHERE id < 0").await.unwrap();
    let before = rss(server.pid());
    assert!(before < 64 << 20, "a server with a 1 MiB pool holds {before} bytes after a full scan");
    for _ in 0..3 {
        c.simple_query("SELECT id FROM t WHERE id < 0").await.unwrap();
    }
    let growth = rss(server.pid()).saturating_sub(before);
    assert!(growth < 4 << 20, "scanning {table_bytes} bytes through a 1 MiB pool grew the server by {growth} bytes");

    // A value that would hold every row: refused with 53200, and the session goes on.
    assert_eq!(sqlstate(&c, "SELECT length(string_agg(v, '')) FROM t").await, SqlState::OUT_OF_MEMORY);
    // A result of every row: past work_mem it waits in a temporary file and goes out from
    // there, over the simple protocol, the extended one (all at once, or max_rows at a time
    // from a portal) and COPY TO, and the file is gone once it is sent.
    let all = c.simple_query("SELECT * FROM t").await.unwrap();
    let rows = all.iter().filter(|m| matches!(m, tokio_postgres::SimpleQueryMessage::Row(_))).count();
    assert_eq!(rows, 25_600);
    assert!(matches!(all.last(), Some(tokio_postgres::SimpleQueryMessage::CommandComplete(25_600))));
    let extended = c.query("SELECT id, v FROM t WHERE id >= $1", &[&0i32]).await.unwrap();
    assert_eq!(extended.len(), 25_600);
    assert_eq!(extended.iter().map(|r| i64::from(r.get::<_, i32>(0))).sum::<i64>(), 256 * (0..100).sum::<i64>());
    {
        let mut c2 = server.connect().await;
        let txn = c2.transaction().await.unwrap();
        let portal = txn.bind("SELECT id FROM t", &[]).await.unwrap();
        let (mut fetched, mut batches) = (0, 0);
        loop {
            let batch = txn.query_portal(&portal, 10_000).await.unwrap();
            if batch.is_empty() {
                break;
            }
            fetched += batch.len();
            batches += 1;
        }
        assert_eq!((fetched, batches), (25_600, 3));
        txn.commit().await.unwrap();
    }
    {
        // A cursor over every row: declared with a parameter, its rows spooled to disk at
        // DECLARE, fetched 500 (about 500 kB) at a time over the extended protocol. A FETCH's
        // rows go out from memory: one of more than the budget is 53200.
        let mut c2 = server.connect().await;
        let txn = c2.transaction().await.unwrap();
        txn.execute("DECLARE big CURSOR FOR SELECT id, v FROM t WHERE id >= $1", &[&0i32]).await.unwrap();
        let (mut fetched, mut sum) = (0, 0i64);
        loop {
            let batch = txn.query("FETCH FORWARD 500 FROM big", &[]).await.unwrap();
            if batch.is_empty() {
                break;
            }
            fetched += batch.len();
            sum += batch.iter().map(|r| i64::from(r.get::<_, i32>(0))).sum::<i64>();
        }
        assert_eq!((fetched, sum), (25_600, 256 * (0..100).sum::<i64>()));
        txn.execute("MOVE ABSOLUTE 0 IN big", &[]).await.unwrap_err();
        txn.rollback().await.unwrap();
        let txn = c2.transaction().await.unwrap();
        txn.execute("DECLARE big CURSOR FOR SELECT id, v FROM t", &[]).await.unwrap();
        let e = txn.query("FETCH 10000 FROM big", &[]).await.unwrap_err();
        assert_eq!(e.code(), Some(&SqlState::OUT_OF_MEMORY));
        txn.rollback().await.unwrap();
    }
    assert_eq!(std::fs::read_dir(data_dir.join("tmp")).unwrap().count(), 0);
    let copied = c.copy_out("COPY t TO STDOUT").await.unwrap();
    futures::pin_mut!(copied);
    let (mut lines, mut bytes) = (0usize, 0usize);
    while let Some(chunk) = futures::TryStreamExt::try_next(&mut copied).await.unwrap() {
        lines += chunk.iter().filter(|b| **b == b'\n').count();
        bytes += chunk.len();
    }
    assert_eq!(lines, 25_600);
    assert!(bytes > 25_000_000, "COPY sent {bytes} bytes");
    assert_eq!(std::fs::read_dir(data_dir.join("tmp")).unwrap().count(), 0);
    // Statements that write what they read stream it or spool it to disk past work_mem: an
    // UPDATE or DELETE of every row, INSERT ... SELECT (from its own target too), CREATE TABLE
    // AS, MERGE; EXPLAIN ANALYZE lets go of the rows it counts.
    let changed = [
        ("UPDATE t SET id = id + 1", 25_600),
        ("CREATE TABLE u WITH (compression = none) AS SELECT id, v FROM t", 25_600),
        ("INSERT INTO u SELECT id, v FROM t", 25_600),
        ("INSERT INTO u SELECT id, v FROM u", 51_200),
        ("MERGE INTO u USING t ON u.id = t.id + 1000 WHEN NOT MATCHED THEN INSERT VALUES (t.id, t.v)", 25_600),
        ("DELETE FROM u WHERE id > 0", 128_000),
    ];
    for (sql, rows) in changed {
        assert_eq!(c.execute(sql, &[]).await.unwrap_or_else(|e| panic!("{sql}: {e:?}")), rows, "{sql}");
        assert_eq!(std::fs::read_dir(data_dir.join("tmp")).unwrap().count(), 0, "{sql}");
    }
    let explained = c.simple_query("EXPLAIN ANALYZE SELECT * FROM t").await.unwrap();
    assert!(explained.len() > 2);
    let left = c.query_one("SELECT count(*), min(id) FROM t", &[]).await.unwrap();
    assert_eq!((left.get::<_, i64>(0), left.get::<_, i32>(1)), (25_600, 1));
    // A sort of every row holds at most work_mem (or what the budget leaves) and merges the
    // rest from temporary files: it fits, and leaves no file behind.
    let full_sort = "SELECT count(*), min(v) = max(v) FROM (SELECT id, v FROM t ORDER BY v OFFSET 0) s";
    let sorted = c.simple_query(full_sort).await.unwrap();
    let row = sorted.iter().find_map(|m| match m {
        tokio_postgres::SimpleQueryMessage::Row(r) => {
            Some((r.get(0).unwrap().to_string(), r.get(1).unwrap().to_string()))
        }
        _ => None,
    });
    assert_eq!(row, Some(("25600".into(), "f".into())));
    assert_eq!(std::fs::read_dir(data_dir.join("tmp")).unwrap().count(), 0);
    // So does a hash aggregate of groups 50 times the budget: past work_mem × hash_mem_multiplier
    // (or what the budget leaves), rows of new groups go to hash partitions on disk.
    let grouped = "SELECT count(*), sum(n) FROM (SELECT lpad(g::text, 2000, 'x') AS k, count(*) AS n \
                   FROM generate_series(1, 25000) g GROUP BY 1) s";
    let row = c.simple_query(grouped).await.unwrap().iter().find_map(|m| match m {
        tokio_postgres::SimpleQueryMessage::Row(r) => {
            Some((r.get(0).unwrap().to_string(), r.get(1).unwrap().to_string()))
        }
        _ => None,
    });
    assert_eq!(row, Some(("25000".into(), "25000".into())));
    assert_eq!(std::fs::read_dir(data_dir.join("tmp")).unwrap().count(), 0);
    // A sort under a LIMIT keeps only the rows the limit returns (top-N): it fits.
    let top = c.simple_query("SELECT id FROM t ORDER BY v LIMIT 1").await.unwrap();
    assert_eq!(top.iter().filter(|m| matches!(m, tokio_postgres::SimpleQueryMessage::Row(_))).count(), 1);
    let few = c.simple_query("SELECT id FROM t WHERE id = 7").await.unwrap();
    assert_eq!(few.iter().filter(|m| matches!(m, tokio_postgres::SimpleQueryMessage::Row(_))).count(), 256);
    let limited = c.simple_query("SELECT v FROM t LIMIT 3").await.unwrap();
    assert_eq!(limited.iter().filter(|m| matches!(m, tokio_postgres::SimpleQueryMessage::Row(_))).count(), 3);
    drop(c);
    assert!(server.terminate().success());
}
