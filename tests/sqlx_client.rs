//! sqlx (Rust) against the real server: parameters and results of every supported type (sqlx
//! prepares every statement and uses the binary format), transactions, and errors with their
//! SQLSTATE.

#![allow(clippy::unwrap_used)] // Tests assert by unwrapping; a panic is the failure report.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use rustydb_tests::TestServer;
use sqlx::{Connection, Row};

type Types = (
    i32,
    Option<bool>,
    Option<i16>,
    Option<i64>,
    Option<f32>,
    Option<f64>,
    Option<String>,
    Option<NaiveDate>,
    Option<NaiveDateTime>,
    Option<DateTime<Utc>>,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlx_prepares_binds_every_type_and_reports_sqlstates() {
    let server = TestServer::start();
    let url = format!("postgres://rustydb@{}/rustydb", server.addr);
    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    sqlx::query(
        "CREATE TABLE sx (id int PRIMARY KEY, b boolean, s smallint, l bigint, r real, d double precision,
                          t text, day date, at timestamp, atz timestamptz)",
    )
    .execute(&mut conn)
    .await
    .unwrap();

    let day = NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
    let at = day.and_hms_micro_opt(12, 34, 56, 789_012).unwrap();
    let atz = DateTime::<Utc>::from_naive_utc_and_offset(at, Utc);
    let rows: Vec<Types> = vec![
        (
            1,
            Some(true),
            Some(-7),
            Some(1 << 40),
            Some(1.5),
            Some(-2.25),
            Some("héllo".into()),
            Some(day),
            Some(at),
            Some(atz),
        ),
        (2, None, None, None, None, None, None, None, None, None),
        (
            3,
            Some(false),
            Some(i16::MIN),
            Some(i64::MAX),
            Some(-0.5),
            Some(1e300),
            Some(String::new()),
            Some(NaiveDate::from_ymd_opt(1999, 12, 31).unwrap()),
            Some(NaiveDate::from_ymd_opt(2000, 1, 1).unwrap().and_hms_opt(0, 0, 0).unwrap()),
            Some(DateTime::<Utc>::UNIX_EPOCH),
        ),
    ];
    for row in &rows {
        let done = sqlx::query("INSERT INTO sx VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
            .bind(row.0)
            .bind(row.1)
            .bind(row.2)
            .bind(row.3)
            .bind(row.4)
            .bind(row.5)
            .bind(&row.6)
            .bind(row.7)
            .bind(row.8)
            .bind(row.9)
            .execute(&mut conn)
            .await
            .unwrap();
        assert_eq!(done.rows_affected(), 1);
    }
    let got: Vec<Types> =
        sqlx::query_as("SELECT * FROM sx WHERE id >= $1 ORDER BY id").bind(1).fetch_all(&mut conn).await.unwrap();
    assert_eq!(got, rows);

    // The same prepared statement (sqlx caches it) with other parameters.
    for id in 1..=3 {
        let row = sqlx::query("SELECT t, l - $2 AS diff FROM sx WHERE id = $1")
            .bind(id)
            .bind(1i64)
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(row.get::<Option<String>, _>("t"), rows[id as usize - 1].6);
        assert_eq!(row.get::<Option<i64>, _>("diff"), rows[id as usize - 1].3.map(|l| l - 1));
    }

    // Transactions.
    let mut tx = conn.begin().await.unwrap();
    sqlx::query("INSERT INTO sx (id) VALUES ($1)").bind(10).execute(&mut *tx).await.unwrap();
    tx.rollback().await.unwrap();
    let mut tx = conn.begin().await.unwrap();
    sqlx::query("INSERT INTO sx (id) VALUES ($1)").bind(11).execute(&mut *tx).await.unwrap();
    tx.commit().await.unwrap();
    let ids: Vec<i32> = sqlx::query_scalar("SELECT id FROM sx WHERE id >= 10").fetch_all(&mut conn).await.unwrap();
    assert_eq!(ids, [11]);

    // Errors carry their SQLSTATE and the connection goes on.
    for (sql, code) in [
        ("INSERT INTO sx (id) VALUES ($1)", "23505"),
        ("SELECT * FROM missing WHERE x = $1", "42P01"),
        ("SELECT $1::int / 0", "22012"),
    ] {
        let e = sqlx::query(sql).bind(1).execute(&mut conn).await.unwrap_err();
        let db = e.as_database_error().unwrap_or_else(|| panic!("{sql}: {e}"));
        assert_eq!(db.code().as_deref(), Some(code), "{sql}: {db}");
    }
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM sx").fetch_one(&mut conn).await.unwrap();
    assert_eq!(n, 4);
    conn.close().await.unwrap();
}
