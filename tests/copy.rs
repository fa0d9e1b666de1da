//! COPY over the wire with tokio-postgres: FROM STDIN and TO STDOUT in the text, CSV and binary
//! formats, data cut anywhere across messages, errors with SQLSTATE and line, CopyFail, and
//! COPY inside a transaction block. Expected outputs were checked against PostgreSQL 15.

#![allow(clippy::unwrap_used)] // Tests assert by unwrapping; a panic is the failure report.

use bytes::Bytes;
use futures::{SinkExt, TryStreamExt};
use rustydb_tests::TestServer;
use tokio_postgres::Client;
use tokio_postgres::error::SqlState;

/// Streams `chunks` into `COPY ...`, returning the row count or the error.
async fn copy_in(c: &Client, sql: &str, chunks: &[&[u8]]) -> Result<u64, tokio_postgres::Error> {
    let sink = c.copy_in::<_, Bytes>(sql).await?;
    futures::pin_mut!(sink);
    for chunk in chunks {
        sink.send(Bytes::copy_from_slice(chunk)).await?;
    }
    sink.finish().await
}

async fn copy_out(c: &Client, sql: &str) -> String {
    let stream = c.copy_out(sql).await.unwrap();
    let chunks: Vec<Bytes> = stream.try_collect().await.unwrap();
    String::from_utf8(chunks.concat()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_moves_rows_both_ways_in_text_and_csv() {
    let server = TestServer::start();
    let c = server.connect().await;
    c.batch_execute("CREATE TABLE t (id INT PRIMARY KEY, name TEXT, score FLOAT8, day DATE)").await.unwrap();
    // One row cut across three messages, escapes, NULLs, and the end marker.
    let n = copy_in(
        &c,
        "COPY t FROM STDIN",
        &[b"1\tann\t1.5\t2024-01-0", b"2\n2\ttab\\there\t\\N\t\\N\n3\tback\\\\sl", b"ash\t-2\t2024-02-29\n\\.\n"],
    )
    .await
    .unwrap();
    assert_eq!(n, 3);
    assert_eq!(
        copy_out(&c, "COPY t TO STDOUT").await,
        "1\tann\t1.5\t2024-01-02\n2\ttab\\there\t\\N\t\\N\n3\tback\\\\slash\t-2\t2024-02-29\n"
    );
    // CSV with a header, quoted delimiters and newlines, and a column list.
    let csv = b"name,id\n\"a, \"\"quoted\"\"\nname\",10\n,11\n\"\",12\n";
    let n = copy_in(&c, "COPY t (name, id) FROM STDIN WITH (FORMAT csv, HEADER on)", &[csv]).await.unwrap();
    assert_eq!(n, 3);
    assert_eq!(
        copy_out(
            &c,
            "COPY (SELECT id, name, name IS NULL FROM t WHERE id >= 10 ORDER BY id) TO STDOUT WITH (FORMAT csv, HEADER)"
        )
        .await,
        "id,name,?column?\n10,\"a, \"\"quoted\"\"\nname\",f\n11,,t\n12,\"\",f\n"
    );
    let count: i64 = c.query_one("SELECT count(*) FROM t", &[]).await.unwrap().get(0);
    assert_eq!(count, 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_copy_data_fails_the_whole_copy_with_its_line() {
    let server = TestServer::start();
    let c = server.connect().await;
    c.batch_execute("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(3))").await.unwrap();
    let cases: [(&[u8], SqlState, &str); 5] = [
        (b"1\ta\n2\tb\nx\tc\n", SqlState::INVALID_TEXT_REPRESENTATION, "line 3"),
        (b"1\ta\n2\n", SqlState::BAD_COPY_FILE_FORMAT, "line 2"),
        (b"1\ta\textra\n", SqlState::BAD_COPY_FILE_FORMAT, "line 1"),
        (b"1\ta\n1\tb\n", SqlState::UNIQUE_VIOLATION, "line 2"),
        (b"1\ttoo long\n", SqlState::STRING_DATA_RIGHT_TRUNCATION, "line 1"),
    ];
    for (data, state, line) in cases {
        let e = copy_in(&c, "COPY t FROM STDIN", &[data]).await.unwrap_err();
        let db = e.as_db_error().unwrap_or_else(|| panic!("{e}"));
        assert_eq!(db.code(), &state, "{db}");
        assert_eq!(db.where_(), Some(format!("COPY t, {line}").as_str()), "{db}");
        let count: i64 = c.query_one("SELECT count(*) FROM t", &[]).await.unwrap().get(0);
        assert_eq!(count, 0, "a failed COPY left rows behind");
    }
    assert_eq!(
        copy_in(&c, "COPY t FROM STDIN WITH (FORMAT binary)", &[b"PGCOPY\n\xff\r\n\0"]).await.unwrap_err().code(),
        Some(&SqlState::BAD_COPY_FILE_FORMAT),
        "binary data that stops early"
    );
    let e = copy_in(&c, "COPY nope FROM STDIN", &[]).await.unwrap_err();
    assert_eq!(e.code(), Some(&SqlState::UNDEFINED_TABLE), "{e:?}");
    assert_eq!(
        copy_in(&c, "COPY t (id, nope) FROM STDIN", &[]).await.unwrap_err().code(),
        Some(&SqlState::UNDEFINED_COLUMN)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_in_a_block_commits_and_rolls_back_with_it() {
    let server = TestServer::start();
    let c = server.connect().await;
    c.batch_execute("CREATE TABLE t (id INT PRIMARY KEY)").await.unwrap();
    c.batch_execute("BEGIN").await.unwrap();
    assert_eq!(copy_in(&c, "COPY t FROM STDIN", &[b"1\n2\n"]).await.unwrap(), 2);
    c.batch_execute("ROLLBACK").await.unwrap();
    let count: i64 = c.query_one("SELECT count(*) FROM t", &[]).await.unwrap().get(0);
    assert_eq!(count, 0);
    c.batch_execute("BEGIN").await.unwrap();
    assert_eq!(copy_in(&c, "COPY t FROM STDIN", &[b"1\n2\n"]).await.unwrap(), 2);
    let e = copy_in(&c, "COPY t FROM STDIN", &[b"2\n"]).await.unwrap_err();
    assert_eq!(e.code(), Some(&SqlState::UNIQUE_VIOLATION));
    assert_eq!(c.query("SELECT 1", &[]).await.unwrap_err().code(), Some(&SqlState::IN_FAILED_SQL_TRANSACTION));
    c.batch_execute("ROLLBACK").await.unwrap();
    // Many rows, one message each (as pgbench sends them).
    let sink = c.copy_in::<_, Bytes>("COPY t FROM STDIN").await.unwrap();
    futures::pin_mut!(sink);
    for i in 0..5000 {
        sink.feed(Bytes::from(format!("{i}\n"))).await.unwrap();
    }
    assert_eq!(sink.finish().await.unwrap(), 5000);
    let max: i32 = c.query_one("SELECT max(id) FROM t", &[]).await.unwrap().get(0);
    assert_eq!(max, 4999);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_copy_round_trips_every_type() {
    use tokio_postgres::binary_copy::{BinaryCopyInWriter, BinaryCopyOutStream};
    use tokio_postgres::types::{ToSql, Type};
    let server = TestServer::start();
    let c = server.connect().await;
    c.batch_execute(
        "CREATE TABLE b (id int PRIMARY KEY, flag boolean, small smallint, big bigint, r real, d double precision,
                         t text, day date, at timestamp)",
    )
    .await
    .unwrap();
    // No Rust type of tokio-postgres's (without features) takes a date: `day` stays NULL.
    let types =
        [Type::INT4, Type::BOOL, Type::INT2, Type::INT8, Type::FLOAT4, Type::FLOAT8, Type::TEXT, Type::TIMESTAMP];
    let sink = c.copy_in("COPY b (id, flag, small, big, r, d, t, at) FROM STDIN (FORMAT binary)").await.unwrap();
    let writer = BinaryCopyInWriter::new(sink, &types);
    futures::pin_mut!(writer);
    let day = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(86_400 * 19_000);
    for i in 0..1000i32 {
        let text = format!("row {i} é");
        let flag = (i % 3 == 0).then_some(true);
        let row: [&(dyn ToSql + Sync); 8] =
            [&i, &flag, &(i as i16), &(i64::from(i) << 33), &(i as f32 / 2.0), &(f64::from(i) / 3.0), &text, &day];
        writer.as_mut().write(&row).await.unwrap();
    }
    assert_eq!(writer.finish().await.unwrap(), 1000);
    let r = c.query_one("SELECT count(*), max(t), max(big), min(r) FROM b WHERE flag IS NULL", &[]).await.unwrap();
    assert_eq!(r.get::<_, i64>(0), 666);
    assert_eq!(r.get::<_, String>(1), "row 998 é");
    assert_eq!(r.get::<_, i64>(2), 998i64 << 33);
    assert_eq!(r.get::<_, f32>(3), 0.5);

    // Out again in binary: the same values.
    let stream =
        c.copy_out("COPY (SELECT id, t, at FROM b WHERE id < 3 ORDER BY id) TO STDOUT (FORMAT binary)").await.unwrap();
    let rows = BinaryCopyOutStream::new(stream, &[Type::INT4, Type::TEXT, Type::TIMESTAMP]);
    let rows: Vec<_> = rows.try_collect().await.unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[2].get::<i32>(0), 2);
    assert_eq!(rows[2].get::<String>(1), "row 2 é");
    assert_eq!(rows[2].get::<std::time::SystemTime>(2), day);
    // Binary COPY TO and back FROM reproduce the table.
    let stream = c.copy_out("COPY b TO STDOUT (FORMAT binary)").await.unwrap();
    let chunks: Vec<Bytes> = stream.try_collect().await.unwrap();
    c.batch_execute("CREATE TABLE b2 (id int, flag boolean, small smallint, big bigint, r real, d double precision, t text, day date, at timestamp)")
        .await
        .unwrap();
    let all = chunks.concat();
    let pieces: Vec<&[u8]> = all.chunks(777).collect();
    assert_eq!(copy_in(&c, "COPY b2 FROM STDIN WITH (FORMAT binary)", &pieces).await.unwrap(), 1000);
    let same: i64 = c
        .query_one("SELECT count(*) FROM b JOIN b2 USING (id) WHERE b.t = b2.t AND b.d = b2.d AND b.at = b2.at AND b.big = b2.big", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(same, 1000);
    // The text options are refused in binary mode, as PostgreSQL refuses them.
    let e = c.copy_out("COPY b TO STDOUT (FORMAT binary, HEADER)").await.err().unwrap();
    assert_eq!(e.code(), Some(&SqlState::FEATURE_NOT_SUPPORTED));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_fills_the_columns_it_does_not_name_with_their_defaults() {
    let server = TestServer::start();
    let c = server.connect().await;
    c.batch_execute("CREATE TABLE dflt (id int, label text DEFAULT 'none', n int DEFAULT 40 + 2, plain int)")
        .await
        .unwrap();
    assert_eq!(copy_in(&c, "COPY dflt (id) FROM STDIN", &[b"1\n2\n"]).await.unwrap(), 2);
    assert_eq!(copy_in(&c, "COPY dflt (id, label) FROM STDIN (FORMAT csv)", &[b"3,given\n"]).await.unwrap(), 1);
    let rows = c.query("SELECT id, label, n, plain FROM dflt ORDER BY id", &[]).await.unwrap();
    let got: Vec<(i32, String, i32, Option<i32>)> =
        rows.iter().map(|r| (r.get(0), r.get(1), r.get(2), r.get(3))).collect();
    assert_eq!(got, [(1, "none".into(), 42, None), (2, "none".into(), 42, None), (3, "given".into(), 42, None)]);
}
