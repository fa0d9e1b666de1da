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
