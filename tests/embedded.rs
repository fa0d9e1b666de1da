//! The embedded API runs the same statements as the server, in-process.

#![allow(clippy::unwrap_used)] // Tests assert by unwrapping; a panic is the failure report.

use rustydb_api::{Database, SqlState, TransactionStatus, Value};

#[test]
fn statements_errors_and_persistence_in_process() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Database::open(dir.path()).unwrap();
        let mut c = db.connect().unwrap();
        c.execute("CREATE TABLE t (id INT PRIMARY KEY, name TEXT, score DOUBLE PRECISION)").unwrap();
        assert_eq!(
            c.execute("INSERT INTO t VALUES (1, 'a', 1.5), (2, 'b', 2.5), (3, 'c', NULL)").unwrap().tag,
            "INSERT 0 3"
        );
        assert_eq!(
            c.query("SELECT name FROM t WHERE score > 2 ORDER BY id").unwrap(),
            vec![vec![Value::Text("b".into())]]
        );
        assert_eq!(c.execute("UPDATE t SET score = 0 WHERE id = 3").unwrap().tag, "UPDATE 1");
        assert_eq!(c.execute("DELETE FROM t WHERE id = 1").unwrap().tag, "DELETE 1");
        let dup = c.execute("INSERT INTO t VALUES (2, 'dup', 0)").unwrap_err();
        assert_eq!(dup.sqlstate(), SqlState::UniqueViolation);
        c.execute("BEGIN").unwrap();
        c.execute("INSERT INTO t VALUES (9, 'rolled back', 0)").unwrap();
        assert_eq!(c.transaction_status(), TransactionStatus::InBlock);
        c.execute("ROLLBACK").unwrap();
        db.close().unwrap();
    }
    let db = Database::open(dir.path()).unwrap();
    let mut c = db.connect().unwrap();
    let rows = c.query("SELECT id, score FROM t ORDER BY id").unwrap();
    assert_eq!(rows, vec![vec![Value::Int4(2), Value::Float8(2.5)], vec![Value::Int4(3), Value::Float8(0.0)]]);
    assert_eq!(db.connect_as("nobody", "rustydb").unwrap_err().sqlstate(), SqlState::InvalidAuthorization);
}

#[test]
fn typed_parameters_rows_and_transactions() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    let mut c = db.connect().unwrap();
    c.execute("CREATE TABLE acct (id BIGINT PRIMARY KEY, owner TEXT, balance DOUBLE PRECISION, opened DATE)").unwrap();
    let inserted = c
        .execute_with(
            "INSERT INTO acct VALUES ($1, $2, $3, $4), ($5, $6, $7, $8)",
            &[&1i32, &"ann", &100.0f64, &"2026-01-02", &2i64, &None::<String>, &50.5f64, &None::<&str>],
        )
        .unwrap();
    assert_eq!(inserted, 2);
    let row = c.query_row("SELECT id, owner, balance, opened FROM acct WHERE id = $1", &[&1i64]).unwrap();
    assert_eq!(row.get::<i64>("id").unwrap(), 1);
    assert_eq!(row.get::<String>(1).unwrap(), "ann");
    assert_eq!(row.get::<f64>("balance").unwrap(), 100.0);
    assert_eq!(row.get::<String>("opened").unwrap(), "2026-01-02");
    let owner: Option<String> = c.query_row("SELECT owner FROM acct WHERE id = $1", &[&2i64]).unwrap().get(0).unwrap();
    assert_eq!(owner, None);
    // Misuse gets SQLSTATEs, and the connection goes on.
    assert_eq!(
        c.query_row("SELECT id FROM acct WHERE id = $1", &[&9i64]).unwrap_err().sqlstate(),
        SqlState::NoDataFound
    );
    assert_eq!(
        c.query_with("SELECT id FROM acct WHERE id = $1", &[]).unwrap_err().sqlstate(),
        SqlState::ProtocolViolation
    );
    assert_eq!(
        c.query_with("SELECT id FROM acct WHERE id = $1", &[&true]).unwrap_err().sqlstate(),
        SqlState::DatatypeMismatch
    );
    assert_eq!(
        c.query_with("SELECT id FROM acct WHERE opened = $1", &[&"soon"]).unwrap_err().sqlstate(),
        SqlState::InvalidDatetimeFormat
    );
    assert_eq!(
        c.query_row("SELECT owner FROM acct WHERE id = 2", &[]).unwrap().get::<String>(0).unwrap_err().sqlstate(),
        SqlState::DatatypeMismatch
    );
    // A parameter is a value, never SQL.
    let n: i64 = c.query_value("SELECT count(*) FROM acct WHERE owner = $1", &[&"x' OR '1'='1"]).unwrap();
    assert_eq!(n, 0);

    // A committed transaction stays; a dropped one rolls back; a failed one refuses to commit.
    {
        let mut t = c.transaction().unwrap();
        t.execute_with("UPDATE acct SET balance = balance - $1 WHERE id = $2", &[&10.0f64, &1i64]).unwrap();
        t.execute_with("UPDATE acct SET balance = balance + $1 WHERE id = $2", &[&10.0f64, &2i64]).unwrap();
        t.commit().unwrap();
    }
    {
        let mut t = c.transaction().unwrap();
        t.execute("DELETE FROM acct").unwrap();
        // Dropped without commit.
    }
    assert_eq!(c.transaction_status(), TransactionStatus::Idle);
    {
        let mut t = c.transaction().unwrap();
        t.execute("UPDATE acct SET balance = 0").unwrap();
        assert!(t.execute("SELECT 1/0").is_err());
        assert_eq!(t.commit().unwrap_err().sqlstate(), SqlState::InFailedSqlTransaction);
    }
    let balances: Vec<f64> =
        c.query_with("SELECT balance FROM acct ORDER BY id", &[]).unwrap().iter().map(|r| r.get(0).unwrap()).collect();
    assert_eq!(balances, [90.0, 60.5]);

    // A prepared statement survives a change to its table (it is analysed again).
    let stmt = c.prepare("SELECT * FROM acct WHERE id = $1").unwrap();
    assert_eq!((stmt.param_count(), stmt.columns().len()), (1, 4));
    assert_eq!(c.run(&stmt, &[&1i64]).unwrap().rows.len(), 1);

    // Password logins check the role's verifier.
    c.execute("CREATE ROLE bob LOGIN PASSWORD 'builder'").unwrap();
    let mut bob = db.connect_with_password("bob", "builder", "rustydb").unwrap();
    assert_eq!(bob.query_value::<String>("SELECT current_user", &[]).unwrap(), "bob");
    for (user, password) in [("bob", "wrong"), ("nobody", "builder")] {
        let e = db.connect_with_password(user, password, "rustydb").unwrap_err();
        assert_eq!(e.sqlstate(), SqlState::InvalidPassword, "{user}");
    }
}

#[test]
fn copy_in_loads_rows_and_refuses_bad_data() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    let mut c = db.connect().unwrap();
    c.execute("CREATE TABLE kv (id BIGINT PRIMARY KEY, v TEXT)").unwrap();
    assert_eq!(c.copy_in("COPY kv FROM STDIN (FORMAT csv)", b"1,a\n2,b\n").unwrap(), 2);
    assert_eq!(
        c.copy_in("COPY kv FROM STDIN", b"3\tc\nx\ty\n").unwrap_err().sqlstate(),
        SqlState::InvalidTextRepresentation
    );
    assert_eq!(c.copy_in("SELECT 1", b"").unwrap_err().sqlstate(), SqlState::WrongObjectType);
    assert_eq!(c.query_value::<i64>("SELECT count(*) FROM kv", &[]).unwrap(), 2, "the failed COPY left nothing");
    assert_eq!(c.transaction_status(), TransactionStatus::Idle);
}
