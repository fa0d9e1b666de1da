//! Nothing committed is lost: not across a clean restart, not across `kill -9` right after
//! COMMIT returned. Work that had not committed is gone after the crash.

#![allow(clippy::unwrap_used)] // Tests assert by unwrapping; a panic is the failure report.

use rustydb_tests::TestServer;
use tokio_postgres::SimpleQueryMessage;

async fn ids(client: &tokio_postgres::Client, sql: &str) -> Vec<i64> {
    client
        .simple_query(sql)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => r.get(0).map(|v| v.parse().unwrap()),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_rows_survive_kill_9_and_uncommitted_ones_do_not() {
    let mut server = TestServer::start();
    let _dir = server.keep_dir();
    let data_dir = server.data_dir.clone();
    {
        let c = server.connect().await;
        c.simple_query("CREATE TABLE t (id INT PRIMARY KEY, v TEXT)").await.unwrap();
        for i in 0..50 {
            c.simple_query(&format!("INSERT INTO t VALUES ({i}, 'row {i}')")).await.unwrap();
        }
        c.simple_query("UPDATE t SET v = 'updated' WHERE id = 7").await.unwrap();
        c.simple_query("DELETE FROM t WHERE id >= 40").await.unwrap();
        // ADD COLUMN with a default rewrites every row.
        c.simple_query("ALTER TABLE t ADD COLUMN w INT NOT NULL DEFAULT 42").await.unwrap();
        c.simple_query("BEGIN").await.unwrap();
        c.simple_query("INSERT INTO t VALUES (1000, 'in flight')").await.unwrap();
        c.simple_query("DELETE FROM t WHERE id = 0").await.unwrap();
        // A second session commits after the first's uncommitted work, so the log holds both.
        let d = server.connect().await;
        d.simple_query("INSERT INTO t VALUES (500, 'last commit')").await.unwrap();
        server.kill9();
    }
    let server = TestServer::start_in(&data_dir);
    let c = server.connect().await;
    let got = ids(&c, "SELECT id FROM t ORDER BY id").await;
    let mut want: Vec<i64> = (0..40).collect();
    want.push(500);
    assert_eq!(got, want, "server log:\n{}", server.log());
    let v = c.simple_query("SELECT v FROM t WHERE id = 7").await.unwrap();
    assert!(matches!(&v[1], SimpleQueryMessage::Row(r) if r.get(0) == Some("updated")));
    assert_eq!(ids(&c, "SELECT count(*) FROM t WHERE w = 42").await, vec![41]);
    assert!(server.log().contains("recovery replayed the write-ahead log"));
    // The primary key index was rebuilt: duplicates are still refused, freed keys reusable.
    assert!(c.simple_query("INSERT INTO t VALUES (7, 'dup')").await.is_err());
    c.simple_query("INSERT INTO t VALUES (1000, 'now committed')").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clean_restart_keeps_everything_and_exits_zero() {
    let mut server = TestServer::start();
    let _dir = server.keep_dir();
    let data_dir = server.data_dir.clone();
    {
        let c = server.connect().await;
        c.simple_query("CREATE TABLE a (id INT PRIMARY KEY CHECK (id < 100))").await.unwrap();
        c.simple_query("ALTER TABLE a ADD CONSTRAINT a_small CHECK (id < 10)").await.unwrap();
        c.simple_query("CREATE TABLE b (id INT)").await.unwrap();
        c.simple_query("INSERT INTO a VALUES (1), (2), (3)").await.unwrap();
        c.simple_query("INSERT INTO b VALUES (9)").await.unwrap();
        c.simple_query("DROP TABLE b").await.unwrap();
    }
    let status = server.terminate();
    assert!(status.success(), "server exited with {status}");
    let server = TestServer::start_in(&data_dir);
    let c = server.connect().await;
    assert_eq!(ids(&c, "SELECT id FROM a ORDER BY id").await, vec![1, 2, 3]);
    // CHECK constraints are catalog state too.
    let err = c.simple_query("INSERT INTO a VALUES (50)").await.unwrap_err();
    let message = err.as_db_error().map(|e| e.message().to_string()).unwrap_or_default();
    assert!(message.contains("\"a_small\""), "{err:?}");
    assert!(c.simple_query("SELECT * FROM b").await.is_err(), "dropped table came back");
    c.simple_query("CREATE TABLE b (id INT)").await.unwrap();
    assert!(ids(&c, "SELECT id FROM b").await.is_empty(), "a new table must not see the dropped one's rows");
}

/// Values far larger than a page (stored in chunks, compressed or not) come back byte for byte,
/// before and after a crash.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_larger_than_a_page_survive_kill_9() {
    let mut server = TestServer::start();
    let _dir = server.keep_dir();
    let data_dir = server.data_dir.clone();
    // Incompressible-looking text (hex of a multiplicative hash) and very compressible text.
    let hex: String = (0..40_000u64).map(|i| format!("{:08x}", i.wrapping_mul(2_654_435_761) >> 7)).collect();
    let values = [("a".repeat(10), 1), (hex[..5_000].to_string(), 2), (hex.clone(), 3), ("abc".repeat(200_000), 4)];
    let read_all = |c: tokio_postgres::Client| async move {
        let mut out = Vec::new();
        for id in 1..=4 {
            let rows = c.simple_query(&format!("SELECT v FROM big WHERE id = {id}")).await.unwrap();
            out.push(rows.iter().find_map(|m| match m {
                SimpleQueryMessage::Row(r) => r.get(0).map(str::to_string),
                _ => None,
            }));
        }
        out
    };
    {
        let c = server.connect().await;
        c.simple_query("CREATE TABLE big (id INT PRIMARY KEY, v TEXT)").await.unwrap();
        for (v, id) in &values {
            c.simple_query(&format!("INSERT INTO big VALUES ({id}, '{v}')")).await.unwrap();
        }
        let got = read_all(c).await;
        for (g, (v, id)) in got.iter().zip(&values) {
            assert_eq!(g.as_deref().map(str::len), Some(v.len()), "value {id} before the crash");
            assert!(g.as_deref() == Some(v.as_str()), "value {id} differs before the crash");
        }
        server.kill9();
    }
    let server = TestServer::start_in(&data_dir);
    let got = read_all(server.connect().await).await;
    for (g, (v, id)) in got.iter().zip(&values) {
        assert!(g.as_deref() == Some(v.as_str()), "value {id} differs after the crash; log:\n{}", server.log());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_primary_key_index_is_stored_and_recovered_from_the_log_after_kill_9() {
    let key = |k: i32| format!("{}-{k:05}", "x".repeat(150));
    // Long keys in random order: thousands of entries, many splits, a tree three deep.
    let inserts = |range: std::ops::Range<i32>| {
        range
            .map(|i| (i * 7919) % 3000)
            .map(|k| format!("INSERT INTO wide VALUES ('{}', {k});", key(k)))
            .collect::<String>()
    };
    let mut server = TestServer::start();
    let _dir = server.keep_dir();
    let data_dir = server.data_dir.clone();
    {
        let c = server.connect().await;
        c.simple_query("CREATE TABLE wide (k TEXT PRIMARY KEY, n INT)").await.unwrap();
        c.batch_execute(&inserts(0..1500)).await.unwrap();
        server.terminate();
    }
    // The index lives in its own file (table files are numbered by table id; the index's has
    // bit 30 set): it is stored, not rebuilt from the heap at each start.
    let index_files = std::fs::read_dir(data_dir.join("base"))
        .unwrap()
        .filter_map(|e| e.unwrap().file_name().to_str().and_then(|n| n.parse::<u32>().ok()))
        .filter(|id| id & (1 << 30) != 0)
        .count();
    assert_eq!(index_files, 1, "no index file in {}", data_dir.display());
    let server = TestServer::start_in(&data_dir);
    {
        let c = server.connect().await;
        c.batch_execute(&inserts(1500..3000)).await.unwrap();
        c.simple_query("DELETE FROM wide WHERE n % 10 = 0").await.unwrap();
        server.kill9();
    }
    // The second half reached the index only through the log.
    let server = TestServer::start_in(&data_dir);
    let c = server.connect().await;
    let mut all = ids(&c, "SELECT n FROM wide").await;
    all.sort_unstable();
    assert_eq!(all, (0..3000).filter(|n| n % 10 != 0).collect::<Vec<i64>>(), "server log:\n{}", server.log());
    for k in [1, 777, 1501, 2999] {
        let sql = format!("SELECT n FROM wide WHERE k = '{}'", key(k));
        assert_eq!(ids(&c, &sql).await, [i64::from(k)], "{sql}");
    }
    let dup = format!("INSERT INTO wide VALUES ('{}', 0)", key(2345));
    assert_eq!(rustydb_tests::sqlstate(&c, &dup).await, tokio_postgres::error::SqlState::UNIQUE_VIOLATION);
    c.simple_query(&format!("INSERT INTO wide VALUES ('{}', 10)", key(10))).await.unwrap();
}

/// The write-ahead log segments' start positions, ascending.
fn wal_segments(data_dir: &std::path::Path) -> Vec<u64> {
    let mut starts: Vec<u64> = std::fs::read_dir(data_dir.join("wal"))
        .unwrap()
        .filter_map(|e| u64::from_str_radix(e.unwrap().file_name().to_str()?, 16).ok())
        .collect();
    starts.sort_unstable();
    starts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoint_frees_the_log_and_recovery_replays_only_what_follows_it() {
    let mut server = TestServer::start();
    let _dir = server.keep_dir();
    let data_dir = server.data_dir.clone();
    let c = server.connect().await;
    c.batch_execute("create table big (id int primary key, pad text)").await.unwrap();
    // About 24 MiB of log (of pads that do not compress): more than one 16 MiB segment.
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut pad = || {
        (0..1000)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                char::from(b'a' + (seed % 26) as u8)
            })
            .collect::<String>()
    };
    for chunk in 0..48 {
        let rows: Vec<String> = (0..500).map(|i| format!("({}, '{}')", chunk * 500 + i, pad())).collect();
        c.batch_execute(&format!("insert into big values {}", rows.join(","))).await.unwrap();
    }
    assert_eq!(wal_segments(&data_dir)[0], 0, "the log's head is freed only by a checkpoint");
    let tag = c.simple_query("CHECKPOINT").await.unwrap();
    assert!(matches!(&tag[0], SimpleQueryMessage::CommandComplete(0)), "{tag:?}");
    assert!(wal_segments(&data_dir)[0] > 0, "the checkpoint freed no segment: {:?}", wal_segments(&data_dir));
    // Work after the checkpoint, a transaction left open across it, then a crash.
    c.batch_execute("begin; insert into big values (-1, 'open across the crash')").await.unwrap();
    let d = server.connect().await;
    d.batch_execute("update big set pad = 'after' where id = 7; delete from big where id = 8").await.unwrap();
    server.kill9();

    let server = TestServer::start_in(&data_dir);
    let c = server.connect().await;
    assert_eq!(ids(&c, "select id from big").await.len(), 23_999);
    let v = c.simple_query("select pad from big where id = 7").await.unwrap();
    assert!(matches!(&v[1], SimpleQueryMessage::Row(r) if r.get(0) == Some("after")));
    assert!(ids(&c, "select id from big where id < 0").await.is_empty());
    let log = server.log();
    let line = log.lines().find(|l| l.contains("recovery replayed")).unwrap_or_else(|| panic!("{log}"));
    let replayed: u64 = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("wal_bytes=").and_then(|n| n.parse().ok()))
        .unwrap_or_else(|| panic!("no wal_bytes in {line}"));
    assert!(replayed < 1 << 20, "recovery replayed {replayed} bytes, not just what followed the checkpoint: {line}");
}
