//! The extended query protocol over the wire: tokio-postgres (which prepares every statement,
//! sends parameters and asks for results in binary) and message-level exchanges with the raw
//! client for what a driver hides (ParameterDescription, formats, PortalSuspended, messages
//! discarded after an error until Sync).

#![allow(clippy::unwrap_used)] // Tests assert by unwrapping; a panic is the failure report.

use bytes::BytesMut;
use postgres_protocol::message::frontend;
use rustydb_tests::TestServer;
use rustydb_tests::raw::RawClient;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::Type;

fn code(e: &tokio_postgres::Error) -> SqlState {
    e.code().cloned().unwrap_or_else(|| panic!("no SQLSTATE in {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prepared_statements_carry_typed_parameters_both_ways() {
    let server = TestServer::start();
    let c = server.connect().await;
    c.batch_execute("CREATE TABLE t (id INT PRIMARY KEY, big BIGINT, small SMALLINT, f REAL, d FLOAT8, b BOOL, s TEXT, v VARCHAR(5))")
        .await
        .unwrap();
    let insert = c.prepare("INSERT INTO t VALUES ($1, $2, $3, $4, $5, $6, $7, $8)").await.unwrap();
    assert_eq!(
        insert.params(),
        [Type::INT4, Type::INT8, Type::INT2, Type::FLOAT4, Type::FLOAT8, Type::BOOL, Type::TEXT, Type::VARCHAR]
    );
    for i in 1..=5i32 {
        let s = format!("row {i}");
        let n = c
            .execute(
                &insert,
                &[
                    &i,
                    &(i64::from(i) << 40),
                    &(i as i16),
                    &(i as f32 / 4.0),
                    &(f64::from(i) * 1.5),
                    &(i % 2 == 0),
                    &s,
                    &"v",
                ],
            )
            .await
            .unwrap();
        assert_eq!(n, 1);
    }
    c.execute(
        &insert,
        &[
            &6i32,
            &None::<i64>,
            &None::<i16>,
            &None::<f32>,
            &None::<f64>,
            &None::<bool>,
            &None::<String>,
            &None::<String>,
        ],
    )
    .await
    .unwrap();

    let row = c.query_one("SELECT id, big, small, f, d, b, s, v FROM t WHERE id = $1", &[&4i32]).await.unwrap();
    assert_eq!(row.get::<_, i32>(0), 4);
    assert_eq!(row.get::<_, i64>(1), 4 << 40);
    assert_eq!(row.get::<_, i16>(2), 4);
    assert_eq!(row.get::<_, f32>(3), 1.0);
    assert_eq!(row.get::<_, f64>(4), 6.0);
    assert!(row.get::<_, bool>(5));
    assert_eq!(row.get::<_, &str>(6), "row 4");
    assert_eq!(row.get::<_, &str>(7), "v");
    let nulls = c.query_one("SELECT big, s FROM t WHERE id = $1", &[&6i32]).await.unwrap();
    assert_eq!(nulls.get::<_, Option<i64>>(0), None);
    assert_eq!(nulls.get::<_, Option<&str>>(1), None);

    // Parameters in ranges, expressions, LIMIT and subqueries; results typed by the engine.
    let stmt = c
        .prepare("SELECT id, d * $1 AS scaled FROM t WHERE id BETWEEN $2 AND $3 AND s <> $4 ORDER BY id DESC LIMIT $5")
        .await
        .unwrap();
    assert_eq!(stmt.params(), [Type::FLOAT8, Type::INT4, Type::INT4, Type::TEXT, Type::INT8]);
    assert_eq!(stmt.columns().iter().map(|c| c.type_().clone()).collect::<Vec<_>>(), [Type::INT4, Type::FLOAT8]);
    let rows = c.query(&stmt, &[&2.0f64, &1i32, &5i32, &"row 5", &2i64]).await.unwrap();
    let got: Vec<(i32, f64)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(got, [(4, 12.0), (3, 9.0)]);
    let n: i64 = c
        .query_one("SELECT count(*) FROM t WHERE id IN (SELECT id FROM t WHERE big > $1)", &[&(2i64 << 40)])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 3);

    // Declared types are kept; the text of the value is the client's affair.
    let typed = c.prepare_typed("SELECT $1::text || 'x', $2", &[Type::TEXT, Type::INT8]).await.unwrap();
    assert_eq!(typed.params(), [Type::TEXT, Type::INT8]);
    let row = c.query_one(&typed, &[&"a", &7i64]).await.unwrap();
    assert_eq!((row.get::<_, &str>(0), row.get::<_, i64>(1)), ("ax", 7));

    // UPDATE and DELETE with parameters; the same statement runs again and again.
    let update = c.prepare("UPDATE t SET s = $1 WHERE id = $2").await.unwrap();
    for id in 1..=3i32 {
        assert_eq!(c.execute(&update, &[&format!("new {id}"), &id]).await.unwrap(), 1);
    }
    assert_eq!(c.execute("DELETE FROM t WHERE id > $1", &[&4i32]).await.unwrap(), 2);
    let s: String = c.query_one("SELECT s FROM t WHERE id = $1", &[&2i32]).await.unwrap().get(0);
    assert_eq!(s, "new 2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_carry_sqlstates_and_the_connection_goes_on() {
    let server = TestServer::start();
    let mut c = server.connect().await;
    c.batch_execute("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(3))").await.unwrap();
    assert_eq!(code(&c.prepare("SELECT * FROM missing WHERE id = $1").await.unwrap_err()), SqlState::UNDEFINED_TABLE);
    assert_eq!(code(&c.prepare("SELECT nope FROM t").await.unwrap_err()), SqlState::UNDEFINED_COLUMN);
    assert_eq!(code(&c.prepare("SELEC 1").await.unwrap_err()), SqlState::SYNTAX_ERROR);
    assert_eq!(code(&c.prepare("SELECT 1; SELECT 2").await.unwrap_err()), SqlState::SYNTAX_ERROR);
    assert_eq!(code(&c.query("SELECT 10 / $1", &[&0i32]).await.unwrap_err()), SqlState::DIVISION_BY_ZERO);
    let insert = c.prepare("INSERT INTO t VALUES ($1, $2)").await.unwrap();
    c.execute(&insert, &[&1i32, &"abc"]).await.unwrap();
    assert_eq!(code(&c.execute(&insert, &[&1i32, &"abc"]).await.unwrap_err()), SqlState::UNIQUE_VIOLATION);
    assert_eq!(code(&c.execute(&insert, &[&2i32, &"abcd"]).await.unwrap_err()), SqlState::STRING_DATA_RIGHT_TRUNCATION);

    // An error inside a transaction fails it until ROLLBACK, as with simple queries.
    let txn = c.transaction().await.unwrap();
    txn.execute(&insert, &[&3i32, &"x"]).await.unwrap();
    assert_eq!(code(&txn.execute(&insert, &[&3i32, &"x"]).await.unwrap_err()), SqlState::UNIQUE_VIOLATION);
    assert_eq!(code(&txn.query("SELECT 1", &[]).await.unwrap_err()), SqlState::IN_FAILED_SQL_TRANSACTION);
    txn.rollback().await.unwrap();
    let n: i64 = c.query_one("SELECT count(*) FROM t", &[]).await.unwrap().get(0);
    assert_eq!(n, 1, "the failed transaction's insert was kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn portals_hand_out_rows_in_pieces_inside_a_transaction() {
    let server = TestServer::start();
    let mut c = server.connect().await;
    c.batch_execute("CREATE TABLE t (id INT PRIMARY KEY)").await.unwrap();
    let insert = c.prepare("INSERT INTO t VALUES ($1)").await.unwrap();
    for i in 0..10i32 {
        c.execute(&insert, &[&i]).await.unwrap();
    }
    let txn = c.transaction().await.unwrap();
    let stmt = txn.prepare("SELECT id FROM t WHERE id >= $1 ORDER BY id").await.unwrap();
    let portal = txn.bind(&stmt, &[&3i32]).await.unwrap();
    let mut seen = Vec::new();
    loop {
        let batch = txn.query_portal(&portal, 3).await.unwrap();
        if batch.is_empty() {
            break;
        }
        assert!(batch.len() <= 3);
        seen.extend(batch.iter().map(|r| r.get::<_, i32>(0)));
    }
    assert_eq!(seen, (3..10).collect::<Vec<_>>());
    txn.commit().await.unwrap();
}

fn parse(name: &str, sql: &str, types: &[u32], out: &mut BytesMut) {
    frontend::parse(name, sql, types.iter().copied(), out).unwrap();
}

fn bind(portal: &str, statement: &str, params: &[Option<&[u8]>], formats: &[i16], results: &[i16], out: &mut BytesMut) {
    let param_formats = formats.to_vec();
    frontend::bind(
        portal,
        statement,
        param_formats,
        params.iter(),
        |p, buf| match p {
            Some(bytes) => {
                buf.extend_from_slice(bytes);
                Ok(postgres_protocol::IsNull::No)
            }
            None => Ok(postgres_protocol::IsNull::Yes),
        },
        results.iter().copied(),
        out,
    )
    .map_err(|_| "bind")
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_extended_protocol_message_by_message() {
    // RUSTYDB_COMPARE_WITH=127.0.0.1:5432 runs the exchanges against a PostgreSQL 15 instead
    // (trust login as `rustydb` to a database `rustydb`), to check the expectations.
    let server;
    let addr = match std::env::var("RUSTYDB_COMPARE_WITH") {
        Ok(addr) => addr.parse().unwrap(),
        Err(_) => {
            server = TestServer::start();
            server.addr
        }
    };
    let mut raw = RawClient::connect(addr, "rustydb").await.unwrap();
    raw.query("DROP TABLE IF EXISTS t").await.unwrap();
    raw.query("CREATE TABLE t (id INT PRIMARY KEY, name TEXT)").await.unwrap();
    raw.query("INSERT INTO t VALUES (1, 'ann'), (2, 'bob'), (3, 'cy')").await.unwrap();

    // Describe a named statement: parameter types inferred, row description in text format.
    let mut m = BytesMut::new();
    parse("q", "SELECT id, name FROM t WHERE id > $1 ORDER BY id", &[], &mut m);
    frontend::describe(b'S', "q", &mut m).unwrap();
    frontend::sync(&mut m);
    assert_eq!(
        raw.exchange(&m).await.unwrap(),
        ["ParseComplete", "ParameterDescription [23]", "RowDescription [id:23:0, name:25:0]", "ReadyForQuery I"]
    );

    // A portal of it: the first column in binary, then two rows at a time.
    let mut m = BytesMut::new();
    bind("p", "q", &[Some(b"0")], &[], &[1, 0], &mut m);
    frontend::describe(b'P', "p", &mut m).unwrap();
    frontend::execute("p", 2, &mut m).unwrap();
    frontend::execute("p", 2, &mut m).unwrap();
    frontend::sync(&mut m);
    assert_eq!(
        raw.exchange(&m).await.unwrap(),
        [
            "BindComplete",
            "RowDescription [id:23:1, name:25:0]",
            "DataRow [Some(\"00000001\"), Some(\"ann\")]",
            "DataRow [Some(\"00000002\"), Some(\"bob\")]",
            "PortalSuspended",
            "DataRow [Some(\"00000003\"), Some(\"cy\")]",
            "CommandComplete SELECT 1",
            "ReadyForQuery I",
        ]
    );

    // After an error everything up to Sync is skipped; the next Sync finds the session well.
    let mut m = BytesMut::new();
    parse("", "SELECT * FROM missing", &[], &mut m);
    bind("", "", &[], &[], &[], &mut m);
    frontend::execute("", 0, &mut m).unwrap();
    frontend::sync(&mut m);
    parse("", "SELECT $1::int + 1", &[0], &mut m);
    bind("", "", &[Some(b"41")], &[], &[], &mut m);
    frontend::execute("", 0, &mut m).unwrap();
    frontend::sync(&mut m);
    let got = raw.exchange(&m).await.unwrap();
    assert_eq!(got, ["Error 42P01", "ReadyForQuery I"]);
    assert_eq!(
        raw.exchange(&[]).await.unwrap(),
        ["ParseComplete", "BindComplete", "DataRow [Some(\"42\")]", "CommandComplete SELECT 1", "ReadyForQuery I"]
    );

    // Protocol errors, each with PostgreSQL's SQLSTATE.
    let cases: Vec<(BytesMut, &str)> = vec![
        (
            {
                let mut m = BytesMut::new();
                bind("", "nope", &[], &[], &[], &mut m);
                m
            },
            "Error 26000",
        ),
        (
            {
                let mut m = BytesMut::new();
                bind("", "q", &[], &[], &[], &mut m);
                m
            },
            "Error 08P01",
        ),
        (
            {
                let mut m = BytesMut::new();
                bind("", "q", &[Some(b"x")], &[], &[], &mut m);
                m
            },
            "Error 22P02",
        ),
        (
            {
                let mut m = BytesMut::new();
                bind("", "q", &[Some(b"\x00\x01")], &[1], &[], &mut m);
                m
            },
            "Error 08P01",
        ),
        (
            {
                let mut m = BytesMut::new();
                bind("", "q", &[Some(b"\x00\x00\x00\x00\x01")], &[1], &[], &mut m);
                m
            },
            "Error 22P03",
        ),
        (
            {
                let mut m = BytesMut::new();
                frontend::execute("nope", 0, &mut m).unwrap();
                m
            },
            "Error 34000",
        ),
        (
            {
                let mut m = BytesMut::new();
                parse("q", "SELECT 1", &[], &mut m);
                m
            },
            "Error 42P05",
        ),
    ];
    let mut cases = cases;
    if std::env::var("RUSTYDB_COMPARE_WITH").is_err() {
        // A type RustyDB does not have (PostgreSQL: XX000 for an OID that is no type at all).
        cases.push((
            {
                let mut m = BytesMut::new();
                parse("", "SELECT $1", &[9999], &mut m);
                m
            },
            "Error 0A000",
        ));
    }
    for (mut m, want) in cases {
        frontend::sync(&mut m);
        assert_eq!(raw.exchange(&m).await.unwrap(), [want, "ReadyForQuery I"]);
    }

    // Statements without rows answer NoData; empty queries EmptyQueryResponse; Close works.
    let mut m = BytesMut::new();
    parse("ins", "INSERT INTO t VALUES ($1, $2)", &[], &mut m);
    frontend::describe(b'S', "ins", &mut m).unwrap();
    bind("", "ins", &[Some(b"4"), None], &[], &[], &mut m);
    frontend::execute("", 0, &mut m).unwrap();
    parse("", "", &[], &mut m);
    bind("", "", &[], &[], &[], &mut m);
    frontend::execute("", 0, &mut m).unwrap();
    frontend::close(b'S', "ins", &mut m).unwrap();
    frontend::sync(&mut m);
    assert_eq!(
        raw.exchange(&m).await.unwrap(),
        [
            "ParseComplete",
            "ParameterDescription [23, 25]",
            "NoData",
            "BindComplete",
            "CommandComplete INSERT 0 1",
            "ParseComplete",
            "BindComplete",
            "EmptyQueryResponse",
            "CloseComplete",
            "ReadyForQuery I",
        ]
    );

    // Inside a block, a Bind error fails the block as any error does.
    raw.query("BEGIN").await.unwrap();
    let mut m = BytesMut::new();
    bind("", "q", &[Some(b"x")], &[], &[], &mut m);
    frontend::sync(&mut m);
    assert_eq!(raw.exchange(&m).await.unwrap(), ["Error 22P02", "ReadyForQuery E"]);
    assert_eq!(raw.query("ROLLBACK").await.unwrap().status, b'I');
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timestamps_travel_in_binary() {
    let server = TestServer::start();
    let c = server.connect().await;
    c.batch_execute("CREATE TABLE ev (id INT, at TIMESTAMPTZ, local TIMESTAMP)").await.unwrap();
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_micros(1_732_000_000_123_456);
    c.execute("INSERT INTO ev VALUES ($1, $2, $3)", &[&1i32, &at, &at]).await.unwrap();
    let row = c.query_one("SELECT at, local, at::text FROM ev WHERE at = $1", &[&at]).await.unwrap();
    assert_eq!(row.get::<_, std::time::SystemTime>(0), at);
    assert_eq!(row.get::<_, std::time::SystemTime>(1), at);
    assert_eq!(row.get::<_, &str>(2), "2024-11-19 07:06:40.123456+00");
    let before: bool = c.query_one("SELECT $1 < now()", &[&at]).await.unwrap().get(0);
    assert!(before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arrays_travel_as_parameters_and_results_in_binary() {
    let server = TestServer::start();
    let client = server.connect().await;
    client.batch_execute("CREATE TABLE tagged (id int PRIMARY KEY, tags text[], scores bigint[])").await.unwrap();
    let tags = vec![Some("a b".to_string()), None, Some(String::new())];
    let scores: Vec<i64> = vec![3, -1, 1 << 40];
    client.execute("INSERT INTO tagged VALUES (1, $1, $2)", &[&tags, &scores]).await.unwrap();
    let row = client.query_one("SELECT tags, scores, cardinality(tags) FROM tagged WHERE id = 1", &[]).await.unwrap();
    assert_eq!(row.get::<_, Vec<Option<String>>>(0), tags);
    assert_eq!(row.get::<_, Vec<i64>>(1), scores);
    assert_eq!(row.get::<_, i32>(2), 3);
    let statement = client.prepare("SELECT id FROM tagged WHERE $1 = ANY (scores)").await.unwrap();
    assert_eq!(statement.params(), &[Type::INT8]);
    assert_eq!(client.query(&statement, &[&(1i64 << 40)]).await.unwrap().len(), 1);
    assert_eq!(client.query(&statement, &[&7i64]).await.unwrap().len(), 0);
    let empty: Vec<i32> = client.query_one("SELECT '{}'::int[]", &[]).await.unwrap().get(0);
    assert!(empty.is_empty());
    // Text results (the simple protocol) use PostgreSQL's array_out.
    let rows = client.simple_query("SELECT tags FROM tagged").await.unwrap();
    let text = rows.iter().find_map(|m| match m {
        tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_string),
        _ => None,
    });
    assert_eq!(text.as_deref(), Some(r#"{"a b",NULL,""}"#));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_table_as_takes_parameters() {
    let server = TestServer::start();
    let client = server.connect().await;
    let n = client
        .execute(
            "create table picked as select g as n, $1::text as label from generate_series(1, $2::int) g",
            &[&"x", &5i32],
        )
        .await
        .unwrap();
    assert_eq!(n, 5);
    let row = client.query_one("select count(*), min(label) from picked", &[]).await.unwrap();
    assert_eq!((row.get::<_, i64>(0), row.get::<_, String>(1)), (5, "x".to_string()));
}

/// A statement prepared once and executed many times runs a cached plan (see the query
/// crate's `plan_cache.rs`), as `pg_prepared_statements` shows. That plan must still answer
/// as a fresh one would: privileges
/// checked for whoever runs it now, and a table dropped and made again while the execution
/// waited for its lock read anew.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_plans_check_privileges_and_follow_changes_made_while_they_waited() {
    let server = TestServer::start();
    let c = server.connect().await;
    c.batch_execute(
        "CREATE TABLE t (id INT PRIMARY KEY, v TEXT);
         INSERT INTO t SELECT g, 'old' || g FROM generate_series(1, 50) g;
         CREATE ROLE reader; CREATE ROLE nobody;
         GRANT SELECT ON t TO reader",
    )
    .await
    .unwrap();
    let lookup = c.prepare("SELECT v FROM t WHERE id = $1").await.unwrap();
    for id in 1..=10 {
        let v: String = c.query_one(&lookup, &[&id]).await.unwrap().get(0);
        assert_eq!(v, format!("old{id}"));
    }
    // The first two executions bound custom plans; the second kept the generic one the other
    // eight ran.
    let listed = c
        .query_one(
            "SELECT parameter_types::text, from_sql, generic_plans, custom_plans, prepare_time <= now()
             FROM pg_prepared_statements WHERE statement = 'SELECT v FROM t WHERE id = $1'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(listed.get::<_, String>(0), "{integer}");
    assert!(!listed.get::<_, bool>(1));
    assert_eq!((listed.get::<_, i64>(2), listed.get::<_, i64>(3)), (8, 2));
    assert!(listed.get::<_, bool>(4));
    c.batch_execute("SET ROLE reader").await.unwrap();
    let v: String = c.query_one(&lookup, &[&3]).await.unwrap().get(0);
    assert_eq!(v, "old3");
    c.batch_execute("SET ROLE nobody").await.unwrap();
    let err = c.query_one(&lookup, &[&3]).await.unwrap_err();
    assert_eq!(code(&err), SqlState::INSUFFICIENT_PRIVILEGE);
    c.batch_execute("RESET ROLE").await.unwrap();
    // A revoke by another session applies to the next execution.
    c.batch_execute("SET ROLE reader").await.unwrap();
    c.query_one(&lookup, &[&4]).await.unwrap();
    let admin = server.connect().await;
    admin.batch_execute("REVOKE SELECT ON t FROM reader").await.unwrap();
    assert_eq!(code(&c.query_one(&lookup, &[&4]).await.unwrap_err()), SqlState::INSUFFICIENT_PRIVILEGE);
    c.batch_execute("RESET ROLE").await.unwrap();

    // The table is replaced while an execution waits for its lock: the execution reads the
    // new table, as a statement bound after the wait would.
    c.query_one(&lookup, &[&5]).await.unwrap();
    admin
        .batch_execute(
            "BEGIN; DROP TABLE t; CREATE TABLE t (id INT PRIMARY KEY, v TEXT); INSERT INTO t VALUES (5, 'new')",
        )
        .await
        .unwrap();
    let waiting = tokio::spawn(async move { c.query_one(&lookup, &[&5]).await.map(|r| r.get::<_, String>(0)) });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!waiting.is_finished(), "the execution did not wait for the replacing transaction");
    admin.batch_execute("COMMIT").await.unwrap();
    assert_eq!(waiting.await.unwrap().unwrap(), "new");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_prepare_and_execute_work_through_the_extended_protocol() {
    let server = TestServer::start();
    let c = server.connect().await;
    // tokio-postgres sends every query below as Parse/Bind/Execute.
    c.execute("CREATE TABLE pe (id int, name text)", &[]).await.unwrap();
    c.execute("PREPARE ins (int, text) AS INSERT INTO pe VALUES ($1, $2)", &[]).await.unwrap();
    assert_eq!(c.execute("EXECUTE ins (1, 'one')", &[]).await.unwrap(), 1);
    assert_eq!(c.execute("EXECUTE ins (2, 'two')", &[]).await.unwrap(), 1);
    c.execute("PREPARE sel (int) AS SELECT name FROM pe WHERE id = $1", &[]).await.unwrap();
    let rows = c.query("EXECUTE sel (2)", &[]).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].get::<_, String>(0), "two");
    c.execute("DEALLOCATE sel", &[]).await.unwrap();
    let e = c.query("EXECUTE sel (2)", &[]).await.unwrap_err();
    assert_eq!(e.code(), Some(&tokio_postgres::error::SqlState::UNDEFINED_PSTATEMENT), "{e}");
}
