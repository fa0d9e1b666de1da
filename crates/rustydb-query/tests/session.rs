//! The SQL engine in-process: statements, errors with their SQLSTATEs, transaction blocks, and
//! data surviving a reopen.

#![allow(clippy::unwrap_used)] // Tests assert by unwrapping; a panic is the failure report.

use rustydb_foundation::Value;
use rustydb_index::{Index, keycode};
use rustydb_query::{Engine, EngineOptions, Session, StatementResult, TransactionStatus};
use std::path::Path;
use std::sync::Arc;

fn open(dir: &Path) -> Arc<Engine> {
    Engine::open(dir, &EngineOptions::with_pool_pages(64)).unwrap()
}

fn ok(s: &mut Session, sql: &str) -> StatementResult {
    let mut results = s.execute(sql);
    assert_eq!(results.len(), 1, "{sql}");
    results.pop().unwrap().unwrap_or_else(|e| panic!("{sql}: {e}"))
}

fn code(s: &mut Session, sql: &str) -> &'static str {
    match s.execute(sql).pop().unwrap() {
        Ok(r) => panic!("{sql} succeeded: {r:?}"),
        Err(e) => e.sqlstate().code(),
    }
}

/// The messages of a result's notices, one per line.
fn notices(r: &StatementResult) -> String {
    r.notices.iter().map(|n| n.message.as_str()).collect::<Vec<_>>().join("\n")
}

fn texts(r: &StatementResult) -> Vec<Vec<String>> {
    r.rows.iter().map(|row| row.iter().map(|v| v.to_pg_text().unwrap_or_else(|| "NULL".into())).collect()).collect()
}

#[test]
fn the_first_path_statements() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path());
    let mut s = engine.session("rustydb", "rustydb");
    assert_eq!(
        ok(&mut s, "CREATE TABLE t (id INT PRIMARY KEY, name TEXT, score DOUBLE PRECISION)").tag,
        "CREATE TABLE"
    );
    let r = ok(&mut s, "INSERT INTO t VALUES (1, 'ann', 9.5), (2, 'bob', 7.25), (3, 'cy', NULL)");
    assert_eq!(r.tag, "INSERT 0 3");
    let r =
        ok(&mut s, "SELECT id, name, score * 2 AS double FROM t WHERE score > 7 OR id = 3 ORDER BY id DESC LIMIT 2");
    assert_eq!(r.tag, "SELECT 2");
    let cols: Vec<&str> = r.columns.as_ref().unwrap().iter().map(|c| c.name.as_str()).collect();
    assert_eq!(cols, ["id", "name", "double"]);
    assert_eq!(texts(&r), vec![vec!["3", "cy", "NULL"], vec!["2", "bob", "14.5"]]);
    assert_eq!(ok(&mut s, "UPDATE t SET score = score + 1 WHERE id = 2").tag, "UPDATE 1");
    assert_eq!(texts(&ok(&mut s, "SELECT score FROM t WHERE id = 2")), vec![vec!["8.25"]]);
    assert_eq!(ok(&mut s, "DELETE FROM t WHERE name = 'ann'").tag, "DELETE 1");
    assert_eq!(ok(&mut s, "SELECT * FROM t").rows.len(), 2);
    assert_eq!(texts(&ok(&mut s, "SELECT 1")), vec![vec!["1"]]);
    let v = ok(&mut s, "SELECT version()");
    assert!(matches!(&v.rows[0][0], Value::Text(t) if t.starts_with("PostgreSQL 15")));
    assert_eq!(ok(&mut s, "DROP TABLE t").tag, "DROP TABLE");
    assert_eq!(code(&mut s, "SELECT * FROM t"), "42P01");
}

#[test]
fn bad_input_gets_postgres_sqlstates_and_the_session_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path());
    let mut s = engine.session("rustydb", "rustydb");
    ok(&mut s, "CREATE TABLE t (id INT PRIMARY KEY, name TEXT)");
    ok(&mut s, "INSERT INTO t VALUES (1, 'a')");
    assert_eq!(code(&mut s, "SELEC 1"), "42601");
    assert_eq!(code(&mut s, "SELECT * FROM nope"), "42P01");
    assert_eq!(code(&mut s, "INSERT INTO t VALUES (1, 'dup')"), "23505");
    assert_eq!(code(&mut s, "INSERT INTO t VALUES ('abc', 'x')"), "22P02");
    assert_eq!(code(&mut s, "INSERT INTO t VALUES (true, 'x')"), "42804");
    assert_eq!(code(&mut s, "SELECT * FROM t WHERE name"), "42804");
    assert_eq!(code(&mut s, "SELECT 1/0"), "22012");
    assert_eq!(code(&mut s, "SELECT nosuch FROM t"), "42703");
    assert_eq!(code(&mut s, "INSERT INTO t (id, nosuch) VALUES (5, 1)"), "42703");
    assert_eq!(code(&mut s, "UPDATE t SET nosuch = 1"), "42703");
    assert_eq!(code(&mut s, "INSERT INTO t (id, id) VALUES (5, 6)"), "42701");
    assert_eq!(code(&mut s, "INSERT INTO t (name) VALUES ('no id')"), "23502");
    assert_eq!(code(&mut s, "CREATE TABLE t (x INT)"), "42P07");
    assert_eq!(code(&mut s, "SELECT 2147483647 + 1"), "22003");
}

/// The deepest statements the parser admits run even on a 2 MiB thread (a spawned thread's
/// default): the session grows its stack rather than overflow and abort the process. One past
/// the limit is 54001, and the session goes on.
#[test]
fn the_deepest_admitted_statements_run_on_a_small_thread() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path());
    let run = move || {
        let mut s = engine.session("rustydb", "rustydb");
        let max = rustydb_query::parser::MAX_OPERATOR_CHAIN;
        let sum = ok(&mut s, &format!("SELECT 1{}", "+1".repeat(max)));
        assert_eq!(texts(&sum), vec![vec![(max + 1).to_string()]]);
        ok(&mut s, &format!("SELECT true{}", " AND true".repeat(max)));
        ok(&mut s, &format!("SELECT 1 IN ({})", vec!["2"; 100_000].join(",")));
        assert_eq!(code(&mut s, &format!("SELECT 1{}", "+1".repeat(max + 1))), "54001");
        assert_eq!(code(&mut s, &format!("SELECT 1{}", "+1".repeat(200_000))), "54001");
        assert_eq!(texts(&ok(&mut s, "SELECT 1")), vec![vec!["1"]]);
    };
    std::thread::Builder::new().stack_size(2 << 20).spawn(run).unwrap().join().unwrap();
}

#[test]
fn transaction_blocks_rollback_and_failed_state() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path());
    let mut s = engine.session("rustydb", "rustydb");
    let mut other = engine.session("rustydb", "rustydb");
    ok(&mut s, "CREATE TABLE t (id INT PRIMARY KEY)");
    ok(&mut s, "BEGIN");
    assert_eq!(s.transaction_status(), TransactionStatus::InBlock);
    ok(&mut s, "INSERT INTO t VALUES (1)");
    assert_eq!(ok(&mut other, "SELECT * FROM t").rows.len(), 0, "uncommitted row is invisible to others");
    assert_eq!(ok(&mut s, "SELECT * FROM t").rows.len(), 1);
    assert_eq!(ok(&mut s, "ROLLBACK").tag, "ROLLBACK");
    assert_eq!(ok(&mut s, "SELECT * FROM t").rows.len(), 0);

    ok(&mut s, "BEGIN");
    ok(&mut s, "INSERT INTO t VALUES (2)");
    assert_eq!(code(&mut s, "SELECT 1/0"), "22012");
    assert_eq!(s.transaction_status(), TransactionStatus::Failed);
    assert_eq!(code(&mut s, "SELECT 1"), "25P02");
    assert_eq!(ok(&mut s, "COMMIT").tag, "ROLLBACK", "COMMIT of a failed block rolls back");
    assert_eq!(s.transaction_status(), TransactionStatus::Idle);
    assert_eq!(ok(&mut s, "SELECT * FROM t").rows.len(), 0);

    ok(&mut s, "BEGIN");
    ok(&mut s, "INSERT INTO t VALUES (3)");
    assert_eq!(ok(&mut s, "COMMIT").tag, "COMMIT");
    assert_eq!(texts(&ok(&mut other, "SELECT id FROM t")), vec![vec!["3"]]);

    // Several statements in one string share an implicit transaction.
    let results = s.execute("INSERT INTO t VALUES (4); SELECT 1/0");
    assert!(results[0].is_ok() && results[1].is_err());
    assert_eq!(ok(&mut s, "SELECT * FROM t WHERE id = 4").rows.len(), 0);
    // Two sessions cannot both create a table: the second sees the first's uncommitted row.
    ok(&mut s, "BEGIN");
    ok(&mut s, "CREATE TABLE racing (x INT)");
    assert_eq!(code(&mut other, "CREATE TABLE racing (y INT)"), "42P07");
    ok(&mut s, "ROLLBACK");
    ok(&mut other, "CREATE TABLE racing (y INT)");
    // Dropping and re-creating a name in one transaction is fine.
    ok(&mut other, "BEGIN");
    ok(&mut other, "DROP TABLE racing");
    ok(&mut other, "CREATE TABLE racing (z INT)");
    ok(&mut other, "COMMIT");
    // A rolled-back DDL leaves nothing behind.
    ok(&mut s, "BEGIN");
    ok(&mut s, "CREATE TABLE gone (x INT)");
    ok(&mut s, "ROLLBACK");
    assert_eq!(code(&mut s, "SELECT * FROM gone"), "42P01");
}

#[test]
fn data_survives_reopen_and_the_index_is_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    {
        let engine = open(dir.path());
        let mut s = engine.session("rustydb", "rustydb");
        ok(&mut s, "CREATE TABLE t (id INT PRIMARY KEY, v TEXT)");
        for i in 0..200 {
            ok(&mut s, &format!("INSERT INTO t VALUES ({i}, 'v{i}')"));
        }
        ok(&mut s, "UPDATE t SET v = 'changed' WHERE id = 7");
        ok(&mut s, "DELETE FROM t WHERE id >= 100");
        drop(s);
        engine.shutdown().unwrap();
    }
    let engine = open(dir.path());
    let mut s = engine.session("rustydb", "rustydb");
    assert_eq!(ok(&mut s, "SELECT * FROM t").rows.len(), 100);
    assert_eq!(texts(&ok(&mut s, "SELECT v FROM t WHERE id = 7")), vec![vec!["changed"]]);
    assert_eq!(code(&mut s, "INSERT INTO t VALUES (5, 'dup')"), "23505");
    ok(&mut s, "INSERT INTO t VALUES (150, 'reused key of a deleted row')");
}

/// The statement budget counts the tuples a scan holds as well as the rows it returns: a scan
/// of values larger than the budget fails with 53200 even when it returns nothing, and a budget
/// large enough lets the same statements through.
#[test]
fn the_statement_budget_covers_scanned_values_and_results() {
    let dir = tempfile::tempdir().unwrap();
    let options = EngineOptions { statement_memory_limit: 256 << 10, ..EngineOptions::with_pool_pages(64) };
    let engine = Engine::open(dir.path(), &options).unwrap();
    let mut s = engine.session("rustydb", "rustydb");
    ok(&mut s, "CREATE TABLE big (id INT, v TEXT) WITH (compression = none)");
    let value = "x".repeat(300_000);
    ok(&mut s, &format!("INSERT INTO big VALUES (1, '{value}')"));
    assert_eq!(code(&mut s, "SELECT id FROM big WHERE id < 0"), "53200");
    assert_eq!(code(&mut s, "SELECT v FROM big"), "53200");
    ok(&mut s, "CREATE TABLE small (id INT)");
    ok(&mut s, "INSERT INTO small VALUES (1), (2)");
    assert_eq!(texts(&ok(&mut s, "SELECT id FROM small ORDER BY id")), [["1"], ["2"]]);
    drop(s);
    drop(engine);
    let options = EngineOptions { statement_memory_limit: 4 << 20, ..EngineOptions::with_pool_pages(64) };
    let engine = Engine::open(dir.path(), &options).unwrap();
    let mut s = engine.session("rustydb", "rustydb");
    assert_eq!(ok(&mut s, "SELECT v FROM big").rows.len(), 1);
}

/// VACUUM removes dead versions from the heap and every index (entries per key drop back to
/// one), keeps those an open snapshot may still read, and lets new rows reuse the space.
#[test]
fn vacuum_cleans_heap_and_indexes_and_spares_what_a_snapshot_still_reads() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path());
    let mut s = engine.session("rustydb", "rustydb");
    ok(&mut s, "CREATE TABLE t (id INT PRIMARY KEY, a INT, b INT, c INT, v TEXT)");
    ok(&mut s, "CREATE INDEX t_a ON t (a)");
    ok(&mut s, "CREATE INDEX t_b ON t USING hash (b)");
    ok(&mut s, "CREATE INDEX t_c ON t USING lsm (c)");
    for i in 0..200 {
        ok(&mut s, &format!("INSERT INTO t VALUES ({i}, {i}, {i}, {i}, 'row {i} {}')", "x".repeat(60)));
    }
    // An old snapshot that reads row 1 as first written.
    let mut old = engine.session("rustydb", "rustydb");
    ok(&mut old, "BEGIN ISOLATION LEVEL REPEATABLE READ");
    assert_eq!(texts(&ok(&mut old, "SELECT v FROM t WHERE id = 1"))[0][0], format!("row 1 {}", "x".repeat(60)));
    for round in 0..5 {
        ok(&mut s, &format!("UPDATE t SET v = 'round {round}'"));
    }
    ok(&mut s, "DELETE FROM t WHERE id >= 100");
    // 200 x 5 old versions and 100 deleted ones, all still visible to the old snapshot.
    let verbose = ok(&mut s, "VACUUM VERBOSE t");
    let report = notices(&verbose);
    assert!(report.contains("tuples: 0 removed, 100 remain, 1100 are dead but not yet removable"), "{report}");
    assert_eq!(texts(&ok(&mut old, "SELECT v FROM t WHERE id = 1"))[0][0], format!("row 1 {}", "x".repeat(60)));
    assert_eq!(ok(&mut old, "SELECT id FROM t WHERE b = 150").rows.len(), 1, "deleted, but not for this snapshot");
    ok(&mut old, "COMMIT");

    let table = engine
        .with_transaction("rustydb", "rustydb", |ctx| rustydb_query::catalog::find_table(ctx, "t"))
        .unwrap()
        .unwrap();
    let entries = |key: i32| -> Vec<usize> {
        let pk = engine.primary_index(&table).unwrap();
        let mut counts = vec![pk.index.lookup(&keycode::encode_key(&[Value::Int4(key)])).unwrap().len()];
        for def in &table.indexes {
            let open = engine.open_index(def).unwrap();
            counts.push(open.index.lookup(&def.key(&[Value::Int4(key)])).unwrap().len());
        }
        counts
    };
    assert_eq!(entries(7), vec![6; 4], "every version of row 7 is in every index");
    let verbose = ok(&mut s, "VACUUM (VERBOSE) t");
    let report = notices(&verbose);
    assert!(report.contains("tuples: 1100 removed, 100 remain, 0 are dead but not yet removable"), "{report}");
    assert!(report.contains("index entries: 4400 removed"), "{report}");
    assert_eq!(entries(7), vec![1; 4], "only the live version is left in each index");
    assert_eq!(entries(150), vec![0; 4], "a deleted row leaves no entry");
    // Reads through every access path agree, and new rows fill the freed space.
    for (filter, rows) in [("id = 7", 1), ("a = 7", 1), ("b = 7", 1), ("c = 7", 1), ("a >= 50", 50), ("b = 150", 0)] {
        assert_eq!(ok(&mut s, &format!("SELECT v FROM t WHERE {filter}")).rows.len(), rows, "{filter}");
    }
    let heap = engine.txn_manager().storage().heap(table.file()).unwrap();
    let pages = heap.page_count();
    for i in 100..1000 {
        ok(&mut s, &format!("INSERT INTO t VALUES ({i}, {i}, {i}, {i}, 'new {i}')"));
    }
    assert_eq!(heap.page_count(), pages, "the inserts went into the space vacuum freed");
    assert_eq!(ok(&mut s, "SELECT id FROM t WHERE c = 999").rows.len(), 1);

    // Where VACUUM may not run, and what it does with bad names.
    ok(&mut s, "BEGIN");
    assert_eq!(code(&mut s, "VACUUM t"), "25001");
    assert_eq!(s.transaction_status(), TransactionStatus::Failed);
    ok(&mut s, "ROLLBACK");
    assert_eq!(s.execute("SELECT 1; VACUUM t").pop().unwrap().unwrap_err().sqlstate().code(), "25001");
    // The string runs as one implicit transaction: what came before the VACUUM is rolled back.
    let results = s.execute("INSERT INTO t VALUES (5000, 0, 0, 0, 'x'); VACUUM t");
    assert_eq!(results.last().unwrap().as_ref().unwrap_err().sqlstate().code(), "25001");
    assert!(ok(&mut s, "SELECT v FROM t WHERE id = 5000").rows.is_empty(), "the INSERT before it was committed");
    assert_eq!(code(&mut s, "VACUUM ANALYZE t (nosuch)"), "42703");
    // VACUUM waits for its table lock as lock_timeout says.
    let mut holder = engine.session("rustydb", "rustydb");
    ok(&mut holder, "BEGIN");
    ok(&mut holder, "LOCK TABLE t IN SHARE MODE");
    ok(&mut s, "SET lock_timeout = '50ms'");
    assert_eq!(code(&mut s, "VACUUM t"), "55P03");
    ok(&mut holder, "COMMIT");
    ok(&mut s, "VACUUM t");
    // A row whose key was too big for its index left a dead version without an entry.
    ok(&mut s, "CREATE TABLE big (k TEXT PRIMARY KEY)");
    assert_eq!(code(&mut s, &format!("INSERT INTO big VALUES ('{}')", "k".repeat(5000))), "54000");
    let verbose = ok(&mut s, "VACUUM VERBOSE big");
    let report = notices(&verbose);
    assert!(report.contains("tuples: 1 removed, 0 remain"), "{report}");
    assert_eq!(code(&mut s, "VACUUM t, nosuch"), "42P01");
    assert_eq!(code(&mut s, "VACUUM (nosuch) t"), "42601");
    assert_eq!(ok(&mut s, "VACUUM").tag, "VACUUM", "every table, the catalog's too");
    assert_eq!(ok(&mut s, "VACUUM ANALYZE t").tag, "VACUUM");
}

/// Settings are transactional as in PostgreSQL 15 (each expected value checked there): a SET
/// in a block is undone by ROLLBACK and by ROLLBACK TO an earlier savepoint, kept by COMMIT and
/// RELEASE; SET LOCAL lasts until the block ends, and outside one only warns (25P01).
#[test]
fn set_and_set_local_follow_the_transaction_as_in_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path());
    let mut s = engine.session("rustydb", "rustydb");
    let show = |s: &mut Session| texts(&ok(s, "SHOW lock_timeout"))[0][0].clone();
    let warned = ok(&mut s, "SET LOCAL lock_timeout = '5s'");
    assert_eq!(warned.notices[0].code, "25P01");
    assert_eq!(warned.notices[0].message, "SET LOCAL can only be used in transaction blocks");
    assert_eq!(show(&mut s), "0");
    for sql in ["BEGIN", "SET lock_timeout = '7s'", "ROLLBACK"] {
        ok(&mut s, sql);
    }
    assert_eq!(show(&mut s), "0", "a rolled-back SET is undone");
    for sql in ["BEGIN", "SET lock_timeout = '7s'", "SET LOCAL lock_timeout = '9s'"] {
        ok(&mut s, sql);
    }
    assert_eq!(show(&mut s), "9s");
    ok(&mut s, "COMMIT");
    assert_eq!(show(&mut s), "7s", "the SET is kept, the SET LOCAL ends with the block");
    for sql in ["BEGIN", "SET LOCAL lock_timeout = '3s'", "SAVEPOINT a", "SET lock_timeout = '4s'"] {
        ok(&mut s, sql);
    }
    assert_eq!(show(&mut s), "4s");
    ok(&mut s, "ROLLBACK TO a");
    assert_eq!(show(&mut s), "3s", "ROLLBACK TO undoes the SETs after the savepoint");
    for sql in ["RELEASE a", "COMMIT"] {
        ok(&mut s, sql);
    }
    assert_eq!(show(&mut s), "7s");
    for sql in ["BEGIN", "SAVEPOINT a", "SET lock_timeout = '11s'", "RELEASE a", "COMMIT"] {
        ok(&mut s, sql);
    }
    assert_eq!(show(&mut s), "11s", "a released savepoint's SET commits with the block");
    for sql in ["BEGIN", "SET lock_timeout = '12s'"] {
        ok(&mut s, sql);
    }
    assert_eq!(code(&mut s, "SELECT 1/0"), "22012");
    ok(&mut s, "ROLLBACK");
    assert_eq!(show(&mut s), "11s", "an error undoes the block's SETs");
    // An error inside a savepoint undoes only the SETs made since it.
    for sql in ["BEGIN", "SET lock_timeout = '13s'", "SAVEPOINT b", "SET lock_timeout = '14s'"] {
        ok(&mut s, sql);
    }
    assert_eq!(code(&mut s, "SELECT 1/0"), "22012");
    for sql in ["ROLLBACK TO b", "COMMIT"] {
        ok(&mut s, sql);
    }
    assert_eq!(show(&mut s), "13s");
    ok(&mut s, "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL SERIALIZABLE");
    for sql in ["BEGIN", "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL REPEATABLE READ", "ROLLBACK"] {
        ok(&mut s, sql);
    }
    assert_eq!(texts(&ok(&mut s, "SHOW default_transaction_isolation"))[0][0], "serializable");
}

/// The catalog's dead rows go with VACUUM, except the one recording the highest id handed out:
/// a dropped table's id is never handed out again, not even after a restart.
#[test]
fn vacuum_of_the_catalog_never_lets_a_dropped_tables_id_come_back() {
    let dir = tempfile::tempdir().unwrap();
    let id_of = |s: &mut Session, name: &str| {
        texts(&ok(s, &format!("SELECT table_id FROM rustydb_tables WHERE name = '{name}'")))[0][0].clone()
    };
    let dropped = {
        let engine = open(dir.path());
        let mut s = engine.session("rustydb", "rustydb");
        ok(&mut s, "CREATE TABLE keep (a INT)");
        ok(&mut s, "CREATE TABLE gone (a INT PRIMARY KEY)");
        let dropped: i64 = id_of(&mut s, "gone").parse().unwrap();
        ok(&mut s, "DROP TABLE gone");
        let verbose = ok(&mut s, "VACUUM VERBOSE");
        let report = notices(&verbose);
        assert!(report.contains("pg_catalog.rustydb_columns\": index scans: 0\npages: 0 removed, 1 remain, 1 scanned (100.00% of total)\ntuples: 1 removed"), "{report}");
        drop(s);
        engine.shutdown().unwrap();
        dropped
    };
    let engine = open(dir.path());
    let mut s = engine.session("rustydb", "rustydb");
    ok(&mut s, "CREATE TABLE fresh (a INT)");
    let fresh: i64 = id_of(&mut s, "fresh").parse().unwrap();
    assert!(fresh > dropped, "the dropped table's id {dropped} was handed out again ({fresh})");
}

/// A sort larger than `work_mem` spills sorted runs to temporary files and merges them: it
/// fits a statement memory limit the in-memory sort would pass, its order is the in-memory
/// order (equal keys keep their input order), and no file is left behind.
#[test]
fn a_sort_past_work_mem_merges_runs_from_temporary_files() {
    let dir = tempfile::tempdir().unwrap();
    let options = EngineOptions { statement_memory_limit: 12 << 20, ..EngineOptions::with_pool_pages(256) };
    let engine = Engine::open(dir.path(), &options).unwrap();
    let mut s = engine.session("rustydb", "rustydb");
    let rows = 40_000i64;
    ok(&mut s, "CREATE TABLE t (id int, k int, s text)");
    for from in (1..=rows).step_by(5000) {
        ok(
            &mut s,
            &format!(
                "INSERT INTO t SELECT g, g % 7, lpad(((g * 7919) % 30011)::text, 8, '0') || repeat('x', 700) \
                 FROM generate_series({from}, {}) g",
                from + 4999
            ),
        );
    }
    let s_of = |g: i64| format!("{:08}{}", (g * 7919) % 30011, "x".repeat(700));
    // Held in memory, the sort would need more than the statement may hold: with a work_mem
    // beyond that limit, the limit decides when a run goes to disk.
    ok(&mut s, "SET work_mem = '1GB'");
    let scanned: Vec<i64> = texts(&ok(&mut s, "SELECT id FROM t")).into_iter().map(|r| r[0].parse().unwrap()).collect();
    // (Values of s repeat: equal ones keep the scan's order.)
    let mut by_s = scanned.clone();
    by_s.sort_by_key(|g| s_of(*g));
    let got: Vec<i64> =
        texts(&ok(&mut s, "SELECT id FROM t ORDER BY s")).into_iter().map(|r| r[0].parse().unwrap()).collect();
    assert!(got == by_s, "ORDER BY s: first difference at {:?}", got.iter().zip(&by_s).position(|(a, b)| a != b));
    ok(&mut s, "SET work_mem = '64kB'");
    // Some thousand runs: more than one merge takes at once.
    let mut expected: Vec<i64> = (1..=rows).collect();
    expected.sort_by(|a, b| (b % 7).cmp(&(a % 7)).then_with(|| s_of(*a).cmp(&s_of(*b))));
    let got: Vec<i64> =
        texts(&ok(&mut s, "SELECT id FROM t ORDER BY k DESC, s")).into_iter().map(|r| r[0].parse().unwrap()).collect();
    assert!(
        got == expected,
        "ORDER BY k DESC, s: {} rows, first difference at {:?}",
        got.len(),
        got.iter().zip(&expected).position(|(a, b)| a != b)
    );
    // Equal keys leave in input order, as the in-memory sort leaves them.
    let mut stable = scanned;
    stable.sort_by_key(|g| g % 7);
    let got: Vec<i64> =
        texts(&ok(&mut s, "SELECT id FROM t ORDER BY k")).into_iter().map(|r| r[0].parse().unwrap()).collect();
    assert!(got == stable, "ORDER BY k: first difference at {:?}", got.iter().zip(&stable).position(|(a, b)| a != b));
    // NULL keys placed as asked, through the runs on disk too.
    ok(&mut s, "UPDATE t SET k = NULL WHERE id % 1000 = 0");
    let ks: Vec<String> =
        texts(&ok(&mut s, "SELECT k FROM t ORDER BY k NULLS FIRST")).into_iter().map(|mut r| r.remove(0)).collect();
    assert_eq!(ks.len(), rows as usize);
    assert!(ks[..40].iter().all(|k| k == "NULL") && ks[40..].iter().all(|k| k != "NULL"));
    assert!(ks[40..].windows(2).all(|w| w[0] <= w[1]), "non-NULL keys ascend");
    // The files had no names; nothing is left.
    assert_eq!(std::fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0);
}

/// Counts what statements on this thread add to one of the server's counters.
struct Counted {
    name: &'static str,
    n: Arc<std::sync::atomic::AtomicU64>,
}

impl metrics::Recorder for Counted {
    fn describe_counter(&self, _: metrics::KeyName, _: Option<metrics::Unit>, _: metrics::SharedString) {}
    fn describe_gauge(&self, _: metrics::KeyName, _: Option<metrics::Unit>, _: metrics::SharedString) {}
    fn describe_histogram(&self, _: metrics::KeyName, _: Option<metrics::Unit>, _: metrics::SharedString) {}
    fn register_counter(&self, key: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Counter {
        if key.name() == self.name { metrics::Counter::from_arc(self.n.clone()) } else { metrics::Counter::noop() }
    }
    fn register_gauge(&self, _: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Gauge {
        metrics::Gauge::noop()
    }
    fn register_histogram(&self, _: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Histogram {
        metrics::Histogram::noop()
    }
}

/// Runs `sql` and counts what it adds to counter `name`.
fn counting(s: &mut Session, sql: &str, name: &'static str) -> (StatementResult, u64) {
    let recorder = Counted { name, n: Arc::default() };
    let result = metrics::with_local_recorder(&recorder, || ok(s, sql));
    (result, recorder.n.load(std::sync::atomic::Ordering::Relaxed))
}

/// Runs `sql` and counts the temporary files it made.
fn temp_files_of(s: &mut Session, sql: &str) -> (StatementResult, u64) {
    counting(s, sql, rustydb_foundation::metric_names::TEMP_FILES)
}

#[test]
fn a_hash_aggregate_past_hash_mem_spills_partitions_and_loses_no_row() {
    use std::collections::BTreeMap;
    let dir = tempfile::tempdir().unwrap();
    let options = EngineOptions { statement_memory_limit: 12 << 20, ..EngineOptions::with_pool_pages(256) };
    let engine = Engine::open(dir.path(), &options).unwrap();
    let mut s = engine.session("rustydb", "rustydb");
    let (rows, groups) = (40_000i64, 15_000i64);
    ok(&mut s, "CREATE TABLE t (id int, k int, v float8, s text)");
    for from in (1..=rows).step_by(5000) {
        ok(
            &mut s,
            &format!(
                "INSERT INTO t SELECT g, g % {groups}, g * 0.5, lpad((g % {groups})::text, 8, '0') || repeat('x', 700) \
                 FROM generate_series({from}, {}) g",
                from + 4999
            ),
        );
    }
    let scanned: Vec<i64> = texts(&ok(&mut s, "SELECT id FROM t")).into_iter().map(|r| r[0].parse().unwrap()).collect();
    // Per group: count, sum of ids, ids in scan order.
    let mut expected: BTreeMap<i64, (i64, i64, Vec<i64>)> = BTreeMap::new();
    for &id in &scanned {
        let e = expected.entry(id % groups).or_default();
        e.0 += 1;
        e.1 += id;
        e.2.push(id);
    }
    let sorted = |r: StatementResult| {
        let mut rows = texts(&r);
        rows.sort();
        rows
    };
    // An integer key (the vectorized first pass), a table of 64kB: thousands of partitions'
    // passes, splitting again and again.
    ok(&mut s, "SET work_mem = '64kB'");
    ok(&mut s, "SET hash_mem_multiplier = 1");
    for vectorize in ["on", "off"] {
        ok(&mut s, &format!("SET rustydb.vectorize = {vectorize}"));
        let (result, files) = temp_files_of(&mut s, "SELECT k, count(*), sum(id), max(v) FROM t GROUP BY k");
        assert_eq!(files, 1, "vectorize {vectorize}: one temporary file");
        let got = sorted(result);
        assert_eq!(got.len(), groups as usize, "vectorize {vectorize}");
        for row in &got {
            let k: i64 = row[0].parse().unwrap();
            let (n, sum, ids) = &expected[&k];
            assert_eq!((row[1].parse::<i64>().unwrap(), row[2].parse::<i64>().unwrap()), (*n, *sum), "group {k}");
            assert_eq!(row[3].parse::<f64>().unwrap(), *ids.iter().max().unwrap() as f64 * 0.5, "group {k}");
        }
    }
    // A text key of some 700 bytes (the row executor): the groups need more than the statement
    // may hold, so with a work_mem past that limit the limit decides when rows go to disk.
    ok(&mut s, "SET work_mem = '1GB'");
    let (result, files) = temp_files_of(
        &mut s,
        "SELECT substr(s, 1, 8)::int, count(*), string_agg(id::text, ','), count(DISTINCT v) FROM t GROUP BY s",
    );
    assert_eq!(files, 1);
    let got = sorted(result);
    assert_eq!(got.len(), groups as usize);
    for row in &got {
        let k: i64 = row[0].parse().unwrap();
        let (n, _, ids) = &expected[&k];
        let joined = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        assert_eq!(row[1].parse::<i64>().unwrap(), *n, "group {k}");
        assert_eq!(row[2], joined, "group {k}: rows keep their order through the partitions");
        assert_eq!(row[3].parse::<i64>().unwrap(), *n, "group {k}");
    }
    // Accumulators that keep values fill the table too: of 50 groups of 14 kB strings (whose
    // rows come one group after another), the first few fill it and the others spill.
    ok(&mut s, "SET work_mem = '64kB'");
    let (result, files) =
        temp_files_of(&mut s, "SELECT (id - 1) / 20, length(string_agg(s, '')) FROM t WHERE id <= 1000 GROUP BY 1");
    assert_eq!(files, 1, "string_agg's strings count against hash_mem");
    let got = sorted(result);
    assert_eq!(got.len(), 50);
    assert!(got.iter().all(|r| r[1] == (20 * 708).to_string()), "{:?}", &got[..3]);
    ok(&mut s, "SET work_mem = '1GB'");
    // HAVING and ORDER BY over the spilled groups, and an aggregate without keys.
    let got = texts(&ok(&mut s, "SELECT k FROM t GROUP BY k HAVING count(*) = 3 ORDER BY k LIMIT 3"));
    let want: Vec<Vec<String>> =
        expected.iter().filter(|(_, e)| e.0 == 3).take(3).map(|(k, _)| vec![k.to_string()]).collect();
    assert_eq!(got, want);
    assert_eq!(
        texts(&ok(&mut s, "SELECT count(*) FROM (SELECT s FROM t GROUP BY s) g")),
        vec![vec![groups.to_string()]]
    );
    // Within memory, nothing goes to disk.
    ok(&mut s, "SET work_mem = '4MB'");
    assert_eq!(temp_files_of(&mut s, "SELECT k % 100, count(*) FROM t GROUP BY 1").1, 0);
    assert_eq!(std::fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0);
}

#[test]
fn a_hash_join_past_hash_mem_joins_partition_pairs_from_disk() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path());
    let mut s = engine.session("rustydb", "rustydb");
    ok(&mut s, "CREATE TABLE a (id int, k int, s text)");
    ok(&mut s, "CREATE TABLE b (id int, k int, s text)");
    // Keys of a: 0..3000, some NULL; keys of b: 1500..6000 (some twice), some NULL, and a
    // thousand rows of key 7 (one key with more rows than a partition may hold).
    ok(
        &mut s,
        "INSERT INTO a SELECT g, CASE WHEN g % 97 = 0 THEN NULL ELSE g % 3000 END, \
         CASE WHEN g % 89 = 0 THEN NULL ELSE 'k' || (g % 3000) END FROM generate_series(1, 6000) g",
    );
    ok(
        &mut s,
        "INSERT INTO b SELECT g, CASE WHEN g % 101 = 0 THEN NULL ELSE 1500 + g % 4500 END, \
         CASE WHEN g % 83 = 0 THEN NULL ELSE 'k' || (1500 + g % 4500) END FROM generate_series(1, 9000) g",
    );
    ok(&mut s, "INSERT INTO b SELECT 100000 + g, 7, 'k7' FROM generate_series(1, 1000) g");
    let sorted = |r: StatementResult| {
        let mut rows = texts(&r);
        rows.sort();
        rows
    };
    let queries = [
        // Vectorized (integer keys): inner, with a further condition, and left.
        "SELECT count(*), sum(a.id), sum(b.id) FROM a JOIN b ON a.k = b.k",
        "SELECT count(*), sum(a.id + b.id) FROM a JOIN b ON a.k = b.k AND a.id < b.id",
        "SELECT count(*), sum(a.id), sum(b.id), count(b.id) FROM a LEFT JOIN b ON a.k = b.k",
        "SELECT a.k % 10, count(*), max(b.id) FROM b JOIN a ON a.k = b.k GROUP BY 1",
        "SELECT a.id, b.id FROM a JOIN b ON a.k = b.k AND a.id < b.id",
        "SELECT a.id, b.id FROM a LEFT JOIN b ON a.k = b.k",
        // On rows (text keys): every kind, NULL keys on both sides.
        "SELECT a.id, b.id FROM a JOIN b ON a.s = b.s",
        "SELECT a.id, b.id FROM a LEFT JOIN b ON a.s = b.s",
        "SELECT a.id, b.id FROM a RIGHT JOIN b ON a.s = b.s",
        "SELECT a.id, b.id FROM a FULL JOIN b ON a.s = b.s AND a.id % 2 = 0",
    ];
    ok(&mut s, "SET work_mem = '1GB'");
    let in_memory: Vec<Vec<Vec<String>>> = queries.iter().map(|q| sorted(ok(&mut s, q))).collect();
    assert_eq!(in_memory[0][0][0], "6883", "a.k meets b.k (counted in Python): {:?}", in_memory[0]);
    assert!(in_memory.iter().all(|rows| !rows.is_empty()));
    for q in &queries {
        assert_eq!(temp_files_of(&mut s, q).1, 0, "{q}: within memory");
    }
    ok(&mut s, "SET work_mem = '64kB'");
    ok(&mut s, "SET hash_mem_multiplier = 1");
    for vectorize in ["on", "off"] {
        ok(&mut s, &format!("SET rustydb.vectorize = {vectorize}"));
        for (q, want) in queries.iter().zip(&in_memory) {
            let (result, files) = temp_files_of(&mut s, q);
            assert_eq!(files, 1, "{q} (vectorize {vectorize}): one temporary file");
            let got = sorted(result);
            assert!(got == *want, "{q} (vectorize {vectorize}): {} rows, {} expected", got.len(), want.len());
        }
    }
    assert_eq!(std::fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0);
}

#[test]
fn a_nested_loop_past_work_mem_meets_its_inner_side_from_disk_a_block_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path());
    let mut s = engine.session("rustydb", "rustydb");
    ok(&mut s, "CREATE TABLE a (id int, pad text)");
    ok(&mut s, "CREATE TABLE b (lo int, hi int, pad text)");
    ok(&mut s, "INSERT INTO a SELECT g, repeat('a', 40) || g FROM generate_series(1, 3000) g");
    ok(&mut s, "INSERT INTO b SELECT g * 3, g * 3 + g % 5, repeat('b', 40) || g FROM generate_series(1, 1500) g");
    ok(&mut s, "INSERT INTO b VALUES (NULL, NULL, 'null range')");
    let sorted = |r: StatementResult| {
        let mut rows = texts(&r);
        rows.sort();
        rows
    };
    // Range conditions: no equality, so every join is a nested loop.
    let queries = [
        "SELECT count(*), sum(a.id), sum(b.lo) FROM a JOIN b ON a.id BETWEEN b.lo AND b.hi",
        "SELECT a.id, b.lo, b.pad FROM a JOIN b ON a.id BETWEEN b.lo AND b.hi AND a.pad < b.pad",
        "SELECT a.id, b.lo FROM a LEFT JOIN b ON a.id BETWEEN b.lo AND b.hi",
        "SELECT a.id, b.lo FROM a RIGHT JOIN b ON a.id BETWEEN b.lo AND b.hi AND a.id % 2 = 0",
        "SELECT a.id, b.lo FROM a FULL JOIN b ON a.id BETWEEN b.lo AND b.hi AND b.lo % 4 = 0",
        "SELECT a.id, b.lo FROM a, b WHERE a.id < 30 AND b.lo < 60 AND a.id <> b.lo",
    ];
    ok(&mut s, "SET work_mem = '1GB'");
    let in_memory: Vec<Vec<Vec<String>>> = queries.iter().map(|q| sorted(ok(&mut s, q))).collect();
    // PostgreSQL 15 counts the same pairs and sums.
    assert_eq!(in_memory[0][0], ["2999", "4505499", "4501503"]);
    for q in &queries {
        assert_eq!(temp_files_of(&mut s, q).1, 0, "{q}: within memory");
    }
    ok(&mut s, "SET work_mem = '64kB'");
    for (q, want) in queries.iter().zip(&in_memory) {
        let (result, files) = temp_files_of(&mut s, q);
        assert!(files == 1 || q.contains("< 30"), "{q}: one temporary file, {files} made");
        let got = sorted(result);
        assert!(got == *want, "{q}: {} rows, {} expected", got.len(), want.len());
    }
    assert_eq!(std::fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0);
}

#[test]
fn distinct_and_set_operations_past_hash_mem_spill_and_keep_their_meaning() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path());
    let mut s = engine.session("rustydb", "rustydb");
    // a: 8000 rows, 4000 distinct (NULL among them); b: 6002 rows, half of them a's values.
    ok(&mut s, "CREATE TABLE a (x text, n int)");
    ok(&mut s, "CREATE TABLE b (x text, n int)");
    ok(
        &mut s,
        "INSERT INTO a SELECT CASE WHEN g % 4000 = 7 THEN NULL ELSE 'v' || (g % 4000) END, g % 3 \
         FROM generate_series(1, 8000) g",
    );
    ok(&mut s, "INSERT INTO b SELECT 'v' || (2000 + g % 3000), g % 3 FROM generate_series(1, 6000) g");
    ok(&mut s, "INSERT INTO b VALUES (NULL, 1), (NULL, 1)");
    let sorted = |r: StatementResult| {
        let mut rows = texts(&r);
        rows.sort();
        rows
    };
    let queries = [
        ("SELECT DISTINCT x FROM a", 4000),
        ("SELECT DISTINCT x, n FROM a", 8000),
        ("SELECT x FROM a UNION SELECT x FROM b", 5000),
        ("SELECT x, n FROM a INTERSECT SELECT x, n FROM b", 2001),
        ("SELECT x FROM a INTERSECT SELECT x FROM b", 2001),
        ("SELECT x FROM a INTERSECT ALL SELECT x FROM b", 4002),
        ("SELECT x FROM a EXCEPT SELECT x FROM b", 1999),
        ("SELECT x FROM a EXCEPT ALL SELECT x FROM b", 3998),
        ("SELECT x FROM b EXCEPT ALL SELECT x FROM a", 2000),
    ];
    ok(&mut s, "SET work_mem = '1GB'");
    let mut in_memory = Vec::new();
    for (q, count) in queries {
        let (result, files) = temp_files_of(&mut s, q);
        assert_eq!(files, 0, "{q}: within memory");
        let rows = sorted(result);
        assert_eq!(rows.len(), count, "{q} (counted by PostgreSQL 15)");
        in_memory.push(rows);
    }
    ok(&mut s, "SET work_mem = '64kB'");
    ok(&mut s, "SET hash_mem_multiplier = 1");
    for ((q, _), want) in queries.iter().zip(&in_memory) {
        let (result, files) = temp_files_of(&mut s, q);
        assert!(files >= 1, "{q}: spilled");
        let got = sorted(result);
        assert!(got == *want, "{q}: {} rows, {} expected", got.len(), want.len());
    }
    // DISTINCT still streams: a LIMIT over it stops early.
    assert_eq!(texts(&ok(&mut s, "SELECT count(*) FROM (SELECT DISTINCT x FROM a LIMIT 5) d")), vec![vec!["5"]]);
    assert_eq!(std::fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0);
}

#[test]
fn what_a_subquery_or_lateral_item_held_is_given_back_after_each_run() {
    let dir = tempfile::tempdir().unwrap();
    let options = EngineOptions { statement_memory_limit: 12 << 20, ..EngineOptions::with_pool_pages(256) };
    let engine = Engine::open(dir.path(), &options).unwrap();
    let mut s = engine.session("rustydb", "rustydb");
    ok(&mut s, "CREATE TABLE a (id int, k int)");
    ok(&mut s, "CREATE TABLE b (id int, k int, pad text)");
    ok(&mut s, "INSERT INTO a SELECT g, g FROM generate_series(1, 300) g");
    ok(&mut s, "INSERT INTO b SELECT g, g % 400, repeat('p', 60) FROM generate_series(1, 2000) g");
    // Each run of the correlated subquery fills a DISTINCT's set with a batch of rows (some
    // 200 kB) and stops at its first row; 300 runs would hold 60 MB if nothing were given back.
    let r = ok(&mut s, "SELECT count(*) FROM a WHERE EXISTS (SELECT DISTINCT b.pad || b.id FROM b WHERE b.id > a.id)");
    assert_eq!(texts(&r), vec![vec!["300"]]);
    // Each left row's LATERAL rows (some 200 kB) are given back once joined.
    let r = ok(&mut s, "SELECT count(*) FROM a, LATERAL (SELECT * FROM b WHERE b.id > a.id) x");
    let want: i64 = (1..=300).map(|i| 2000 - i).sum();
    assert_eq!(texts(&r), vec![vec![want.to_string()]]);
}

#[test]
fn a_parallel_aggregate_gives_what_the_serial_one_gives() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path());
    let mut s = engine.session("rustydb", "rustydb");
    ok(&mut s, "CREATE TABLE t (id int, k int, v float8, b bool, pad text) WITH (compression = none)");
    // Some 25 MB (past three times 8 MB): two workers besides the statement's thread.
    for from in (1..=30_000).step_by(5000) {
        ok(
            &mut s,
            &format!(
                "INSERT INTO t SELECT g, CASE WHEN g % 101 = 0 THEN NULL ELSE g % 37 END, (g % 1000)::float8, \
                 g % 7 <> 0, repeat('x', 750) FROM generate_series({from}, {}) g",
                from + 4999
            ),
        );
    }
    let workers = rustydb_foundation::metric_names::PARALLEL_WORKERS;
    let sorted = |r: StatementResult| {
        let mut rows = texts(&r);
        rows.sort();
        rows
    };
    let queries = [
        "SELECT k, count(*), sum(id), min(v), max(v), avg(id), sum(v), bool_and(b), bool_or(b), count(v) \
         FROM t GROUP BY k",
        "SELECT k, b, count(*), max(id) FROM t WHERE id % 3 = 0 GROUP BY k, b",
        "SELECT count(*), sum(id), avg(v), min(id) FILTER (WHERE k = 5) FROM t",
        "SELECT count(*) FROM t WHERE id < 0",
        // A hash join built once and probed by every thread's share of t.
        "SELECT d.g, count(*), sum(t.id), max(t.v) FROM t JOIN d ON t.k = d.k WHERE t.b GROUP BY d.g",
        "SELECT count(*), count(d.k), sum(d.g) FROM t LEFT JOIN d ON t.k = d.k",
        // A top-N: each thread keeps the best of its share.
        "SELECT id, v, k FROM t ORDER BY v DESC, id LIMIT 7",
        "SELECT id, k FROM t WHERE b ORDER BY k NULLS FIRST, id DESC LIMIT 5 OFFSET 3",
    ];
    ok(&mut s, "CREATE TABLE d (k int, g int)");
    ok(&mut s, "INSERT INTO d SELECT g, g % 5 FROM generate_series(0, 30) g");
    ok(&mut s, "INSERT INTO d SELECT g, 9 FROM generate_series(3, 6) g");
    ok(&mut s, "SET max_parallel_workers_per_gather = 0");
    let serial: Vec<_> = queries
        .iter()
        .map(|q| {
            let (result, started) = counting(&mut s, q, workers);
            assert_eq!(started, 0, "{q}: no worker when the setting says none");
            sorted(result)
        })
        .collect();
    assert_eq!(serial[0].len(), 38, "37 keys and NULL");
    ok(&mut s, "SET max_parallel_workers_per_gather = 2");
    for (q, want) in queries.iter().zip(&serial) {
        if q.contains("ORDER BY") {
            let ordered = |s: &mut Session, n| {
                ok(s, &format!("SET max_parallel_workers_per_gather = {n}"));
                texts(&ok(s, q))
            };
            let serial_order = ordered(&mut s, 0);
            assert_eq!(ordered(&mut s, 2), serial_order, "{q}: the same rows in the same order");
        }
        let (result, started) = counting(&mut s, q, workers);
        assert_eq!(started, 2, "{q}: two workers for a table of 24 MB or more (PostgreSQL's count)");
        assert_eq!(sorted(result), *want, "{q}");
    }
    ok(&mut s, "SET max_parallel_workers_per_gather = 1");
    let (result, started) = counting(&mut s, queries[0], workers);
    assert_eq!((started, sorted(result)), (1, serial[0].clone()), "at most as many workers as the setting allows");
    ok(&mut s, "SET max_parallel_workers_per_gather = 2");
    // A small table is scanned serially.
    ok(&mut s, "CREATE TABLE small AS SELECT * FROM t WHERE id <= 100");
    assert_eq!(counting(&mut s, "SELECT k, count(*) FROM small GROUP BY k", workers).1, 0);
    // A worker whose table outgrows its share gives up, and the pass runs serially, spilling.
    ok(&mut s, "SET work_mem = '64kB'");
    let (result, started) = counting(&mut s, "SELECT id, count(*) FROM t GROUP BY id", workers);
    assert_eq!(started, 2);
    assert_eq!(texts(&result).len(), 30_000);
    assert!(texts(&result).iter().all(|r| r[1] == "1"));
}
