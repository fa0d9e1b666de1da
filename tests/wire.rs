//! The first path through every layer, over the wire: tokio-postgres (simple query protocol)
//! against the real server binary, plus wire-level checks with a raw protocol client.

#![allow(clippy::unwrap_used)] // Tests assert by unwrapping; a panic is the failure report.

use rustydb_tests::raw::RawClient;
use rustydb_tests::{TestServer, sqlstate};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, SimpleQueryMessage};

/// Rows of a simple query as text (`None` for NULL).
async fn rows(client: &Client, sql: &str) -> Vec<Vec<Option<String>>> {
    let messages = client.simple_query(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    messages
        .into_iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => Some((0..r.len()).map(|i| r.get(i).map(str::to_string)).collect()),
            _ => None,
        })
        .collect()
}

/// The row count of the command-complete message of a single statement.
async fn count(client: &Client, sql: &str) -> u64 {
    let messages = client.simple_query(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    messages
        .into_iter()
        .find_map(|m| match m {
            SimpleQueryMessage::CommandComplete(n) => Some(n),
            _ => None,
        })
        .unwrap()
}

fn text(v: &[&str]) -> Vec<Option<String>> {
    v.iter().map(|s| if *s == "NULL" { None } else { Some(s.to_string()) }).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_path_works_over_the_wire() {
    let server = TestServer::start();
    let c = server.connect().await;
    c.simple_query("CREATE TABLE t (id INT PRIMARY KEY, name TEXT, score DOUBLE PRECISION)").await.unwrap();
    assert_eq!(count(&c, "INSERT INTO t VALUES (1, 'ann', 9.5), (2, 'bob', 7.25), (3, 'cy', NULL)").await, 3);
    assert_eq!(
        rows(&c, "SELECT id, name, score FROM t WHERE score > 7 AND NOT name = 'zed' ORDER BY score DESC LIMIT 5")
            .await,
        vec![text(&["1", "ann", "9.5"]), text(&["2", "bob", "7.25"])]
    );
    assert_eq!(
        rows(&c, "SELECT id * 10 + 1, score IS NULL, -id FROM t WHERE id <> 2 ORDER BY 1").await,
        vec![text(&["11", "f", "-1"]), text(&["31", "t", "-3"])]
    );
    assert_eq!(rows(&c, "SELECT name FROM t ORDER BY id LIMIT 1 OFFSET 1").await, vec![text(&["bob"])]);
    assert_eq!(count(&c, "UPDATE t SET score = score + 0.5, name = 'BOB' WHERE id = 2").await, 1);
    assert_eq!(rows(&c, "SELECT name, score FROM t WHERE id = 2").await, vec![text(&["BOB", "7.75"])]);
    assert_eq!(count(&c, "DELETE FROM t WHERE score IS NULL").await, 1);
    assert_eq!(rows(&c, "SELECT 1").await, vec![text(&["1"])]);
    let version = rows(&c, "SELECT version()").await;
    assert!(version[0][0].as_deref().unwrap().starts_with("PostgreSQL 15.18 (RustyDB"));

    c.simple_query("BEGIN").await.unwrap();
    c.simple_query("INSERT INTO t VALUES (10, 'tx', 1)").await.unwrap();
    c.simple_query("COMMIT").await.unwrap();
    c.simple_query("BEGIN").await.unwrap();
    c.simple_query("DELETE FROM t").await.unwrap();
    c.simple_query("ROLLBACK").await.unwrap();
    assert_eq!(rows(&c, "SELECT id FROM t ORDER BY id").await, vec![text(&["1"]), text(&["2"]), text(&["10"])]);
    c.simple_query("DROP TABLE t").await.unwrap();
    assert_eq!(sqlstate(&c, "SELECT * FROM t").await, SqlState::UNDEFINED_TABLE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_its_sqlstate_and_the_session_goes_on() {
    let server = TestServer::start();
    let c = server.connect().await;
    c.simple_query("CREATE TABLE t (id INT PRIMARY KEY, name TEXT)").await.unwrap();
    c.simple_query("INSERT INTO t VALUES (1, 'a')").await.unwrap();
    let cases = [
        ("SELEC 1", SqlState::SYNTAX_ERROR),
        ("SELECT * FROM missing", SqlState::UNDEFINED_TABLE),
        ("INSERT INTO t VALUES (1, 'again')", SqlState::UNIQUE_VIOLATION),
        ("INSERT INTO t VALUES (true, 'x')", SqlState::DATATYPE_MISMATCH),
        ("INSERT INTO t VALUES ('seven', 'x')", SqlState::INVALID_TEXT_REPRESENTATION),
        ("SELECT 1 / 0", SqlState::DIVISION_BY_ZERO),
        ("SELECT nope FROM t", SqlState::UNDEFINED_COLUMN),
        ("SELECT 2147483647 + 1", SqlState::NUMERIC_VALUE_OUT_OF_RANGE),
        ("INSERT INTO t (name) VALUES ('no key')", SqlState::NOT_NULL_VIOLATION),
    ];
    for (sql, want) in cases {
        assert_eq!(sqlstate(&c, sql).await, want, "{sql}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_are_isolated_and_a_failed_block_refuses_until_rollback() {
    let server = TestServer::start();
    let a = server.connect().await;
    let b = server.connect().await;
    a.simple_query("CREATE TABLE t (id INT PRIMARY KEY)").await.unwrap();
    a.simple_query("BEGIN").await.unwrap();
    a.simple_query("INSERT INTO t VALUES (1)").await.unwrap();
    assert!(rows(&b, "SELECT id FROM t").await.is_empty(), "uncommitted insert visible to another session");
    a.simple_query("COMMIT").await.unwrap();
    assert_eq!(rows(&b, "SELECT id FROM t").await, vec![text(&["1"])]);

    b.simple_query("BEGIN").await.unwrap();
    assert_eq!(sqlstate(&b, "SELECT 1/0").await, SqlState::DIVISION_BY_ZERO);
    assert_eq!(sqlstate(&b, "SELECT 1").await, SqlState::IN_FAILED_SQL_TRANSACTION);
    b.simple_query("ROLLBACK").await.unwrap();
    assert_eq!(rows(&b, "SELECT 1").await, vec![text(&["1"])]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wire_details_tags_type_oids_status_and_parameters() {
    let server = TestServer::start();
    let mut raw = RawClient::connect(server.addr, "rustydb").await.unwrap();
    assert!(raw.parameters["server_version"].starts_with("15."));
    assert_eq!(raw.parameters["client_encoding"], "UTF8");
    assert_eq!(raw.parameters["DateStyle"], "ISO, MDY");
    assert_eq!(raw.parameters["integer_datetimes"], "on");
    assert_eq!(raw.parameters["standard_conforming_strings"], "on");
    assert_eq!(raw.parameters["application_name"], "raw");

    let r = raw.query("CREATE TABLE t (id INT PRIMARY KEY, name TEXT, score DOUBLE PRECISION)").await.unwrap();
    assert_eq!((r.tags.as_slice(), r.status), (&["CREATE TABLE".to_string()][..], b'I'));
    let r = raw.query("INSERT INTO t VALUES (1, 'a', 0.5), (2, NULL, 1e20), (3, 'c', '-0')").await.unwrap();
    assert_eq!(r.tags, ["INSERT 0 3"]);
    let r = raw.query("SELECT id, name, score, id > 1 AS big FROM t ORDER BY id").await.unwrap();
    assert_eq!(r.type_oids, [vec![23, 25, 701, 16]]);
    assert_eq!(r.column_names, [vec!["id", "name", "score", "big"]]);
    assert_eq!(r.tags, ["SELECT 3"]);
    assert_eq!(r.rows[1], vec![Some("2".into()), None, Some("1e+20".into()), Some("t".into())]);
    assert_eq!(r.rows[2][2].as_deref(), Some("-0"));

    assert_eq!(raw.query("BEGIN").await.unwrap().status, b'T');
    assert_eq!(raw.query("UPDATE t SET name = 'b' WHERE id = 2").await.unwrap().tags, ["UPDATE 1"]);
    let failed = raw.query("SELECT 1/0").await.unwrap();
    assert_eq!((failed.errors.as_slice(), failed.status), (&["22012".to_string()][..], b'E'));
    let rolled = raw.query("COMMIT").await.unwrap();
    assert_eq!((rolled.tags.as_slice(), rolled.status), (&["ROLLBACK".to_string()][..], b'I'));

    // Several statements in one Query: each gets its own CommandComplete; an error stops the rest.
    let multi = raw.query("DELETE FROM t WHERE id = 3; SELECT 1/0; SELECT 99").await.unwrap();
    assert_eq!(multi.tags, ["DELETE 1"]);
    assert_eq!(multi.errors, ["22012"]);
    assert_eq!(raw.query("SELECT id FROM t WHERE id = 3").await.unwrap().rows.len(), 1, "implicit block rolled back");

    assert!(raw.query("").await.unwrap().empty);
    let notice = raw.query("DROP TABLE IF EXISTS nothing_here").await.unwrap();
    assert_eq!(notice.notices, ["table \"nothing_here\" does not exist, skipping"]);
    assert_eq!(notice.tags, ["DROP TABLE"]);
    let r = raw.query("SELECT 'x' || 1 AS s, 1.5::float8 * 2").await.unwrap();
    assert_eq!(r.column_names, [vec!["s", "?column?"]]);
    assert_eq!(r.rows, [vec![Some("x1".into()), Some("3".into())]]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logins_are_decided_by_security() {
    let server = TestServer::start();
    let err = server.connect_as("nobody", "rustydb").await.err().unwrap();
    assert_eq!(err.code(), Some(&SqlState::INVALID_AUTHORIZATION_SPECIFICATION));
    let err = server.connect_as("rustydb", "nodb").await.err().unwrap();
    assert_eq!(err.code(), Some(&SqlState::INVALID_CATALOG_NAME));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_startup_packet_closes_only_its_own_connection() {
    let server = TestServer::start();
    let healthy = server.connect().await;
    healthy.simple_query("CREATE TABLE t (id INT)").await.unwrap();
    for garbage in [
        &b"\x00\x00\x00\x08\x00\x09\x99\x99garbage"[..],
        &b"\xff\xff\xff\xff\x00\x03\x00\x00"[..],
        &b"\x00\x00\x00\x03"[..],
        &b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"[..],
    ] {
        let mut sock = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        sock.write_all(garbage).await.unwrap();
        let mut buf = Vec::new();
        let closed = tokio::time::timeout(std::time::Duration::from_secs(20), sock.read_to_end(&mut buf)).await;
        assert!(closed.is_ok(), "server kept a malformed connection open");
    }
    healthy.simple_query("INSERT INTO t VALUES (1)").await.unwrap();
    let fresh = server.connect().await;
    assert_eq!(rows(&fresh, "SELECT id FROM t").await, vec![text(&["1"])]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psql_works_against_the_server() {
    let Some(psql) = rustydb_tests::which("psql") else {
        eprintln!("psql is not installed here; skipping the psql check");
        return;
    };
    let server = TestServer::start();
    let out = std::process::Command::new(psql)
        .args(["-X", "-A", "-t", "-h", "127.0.0.1", "-p", &server.addr.port().to_string(), "-U", "rustydb"])
        .args(["-c", "CREATE TABLE t (id INT PRIMARY KEY, name TEXT)"])
        .args(["-c", "INSERT INTO t VALUES (2, 'two'), (1, 'one')"])
        .args(["-c", "SELECT id, name FROM t ORDER BY id"])
        .env("PGCONNECT_TIMEOUT", "10")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "psql failed: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(stdout.lines().collect::<Vec<_>>(), ["CREATE TABLE", "INSERT 0 2", "1|one", "2|two"]);
}

/// `WITH (compression = ...)` picks a table's compression; it is kept in the catalog across a
/// restart and shows in the size of the table's file. Unknown parameters get PostgreSQL's errors.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compression_is_chosen_per_table_and_kept() {
    let mut server = TestServer::start();
    let _dir = server.keep_dir();
    let data_dir = server.data_dir.clone();
    let value = "compressible text, ".repeat(5_000);
    let c = server.connect().await;
    c.simple_query("CREATE TABLE plain (id INT, v TEXT) WITH (compression = none)").await.unwrap();
    c.simple_query("CREATE TABLE packed (id INT, v TEXT) WITH (compression = 'zstd')").await.unwrap();
    for table in ["plain", "packed"] {
        for i in 0..10 {
            c.simple_query(&format!("INSERT INTO {table} VALUES ({i}, '{value}')")).await.unwrap();
        }
    }
    assert_eq!(
        sqlstate(&c, "CREATE TABLE x (id INT) WITH (compression = brotli)").await,
        SqlState::INVALID_PARAMETER_VALUE
    );
    assert_eq!(sqlstate(&c, "CREATE TABLE x (id INT) WITH (colour = 3)").await, SqlState::INVALID_PARAMETER_VALUE);
    assert_eq!(sqlstate(&c, "CREATE TABLE x (id INT) WITH (fillfactor = 70)").await, SqlState::FEATURE_NOT_SUPPORTED);
    drop(c);
    assert!(server.terminate().success());
    let size = |id: u32| std::fs::metadata(data_dir.join("base").join(id.to_string())).unwrap().len();
    let (plain, packed) = (size(16384), size(16385));
    assert!(plain >= 10 * value.len() as u64, "uncompressed table holds {plain} bytes");
    assert!(packed * 20 < plain, "zstd table {packed} bytes vs uncompressed {plain}");

    let server = TestServer::start_in(&data_dir);
    let c = server.connect().await;
    for i in 10..20 {
        c.simple_query(&format!("INSERT INTO packed VALUES ({i}, '{value}')")).await.unwrap();
    }
    let got = rows(&c, "SELECT v FROM packed WHERE id = 15").await;
    assert_eq!(got, vec![vec![Some(value.clone())]]);
    drop(c);
    assert!(server.terminate().success());
    assert!(size(16385) * 10 < plain, "after the restart the table still compresses: {}", size(16385));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_in_the_startup_options_apply_to_the_session() {
    let server = TestServer::start();
    let connect = |options: &str| {
        let conn = format!("{} options='{options}'", server.conn_str("rustydb", "rustydb"));
        async move {
            let (client, connection) = tokio_postgres::connect(&conn, tokio_postgres::NoTls).await?;
            tokio::spawn(connection);
            Ok::<_, tokio_postgres::Error>(client)
        }
    };
    // PGOPTIONS-style switches, both spellings, a dash for an underscore, an escaped space.
    let c = connect("-c work_mem=64MB --statement-timeout=5s -c application_name=with\\\\ space").await.unwrap();
    assert_eq!(rows(&c, "SHOW work_mem").await, [text(&["64MB"])]);
    assert_eq!(rows(&c, "SHOW statement_timeout").await, [text(&["5s"])]);
    assert_eq!(rows(&c, "SHOW application_name").await, [text(&["with space"])]);
    assert_eq!(
        rows(&c, "SELECT application_name FROM pg_stat_activity WHERE pid = pg_backend_pid()").await,
        [text(&["with space"])],
        "the session is listed under the name it set"
    );
    // Settings fixed for every connection are not taken from the packet.
    let c = connect("-c client_encoding=LATIN1 -c TimeZone=CET").await.unwrap();
    assert_eq!(rows(&c, "SHOW client_encoding").await, [text(&["UTF8"])]);
    // A setting PostgreSQL has and this server has not is passed over.
    let c = connect("-c geqo=off -c max_parallel_workers_per_gather=0").await.unwrap();
    assert_eq!(rows(&c, "SELECT 1").await, [text(&["1"])]);
    // A bad value refuses the connection, with the SET's SQLSTATE, as PostgreSQL does.
    let Err(e) = connect("-c work_mem=lots").await else { panic!("a bad value is refused") };
    assert_eq!(e.code(), Some(&tokio_postgres::error::SqlState::INVALID_PARAMETER_VALUE), "{e}");
    // And the server goes on.
    assert_eq!(rows(&server.connect().await, "SHOW work_mem").await, [text(&["4MB"])]);
}
