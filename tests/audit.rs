//! Login throttling and lockout, the hash-chained audit log (what it records, that passwords
//! never reach it or the server log, and `rustydb-server audit verify` catching an edited or
//! removed record), and the statement size limit — all through the real server binary.

#![allow(clippy::unwrap_used)] // Tests assert by unwrapping; a panic is the failure report.

use rustydb_tests::{TestServer, server_binary, sqlstate};
use std::path::Path;
use std::time::{Duration, Instant};
use tokio_postgres::NoTls;
use tokio_postgres::error::SqlState;

const CONFIG: &str = r#"
audit_log = true
audit_events = ["login", "ddl", "grant", "role", "dml"]
audit_tables = ["accounts"]
auth_failure_limit = 3
auth_lockout_s = 2
auth_failure_delay_ms = 50
max_statement_bytes = 4096

[[hba]]
address = "127.0.0.1/32"
user = "rustydb"
method = "trust"

[[hba]]
address = "all"
method = "scram-sha-256"
"#;

async fn login(server: &TestServer, user: &str, password: &str) -> Result<tokio_postgres::Client, SqlState> {
    let conn = format!("{} password={password}", server.conn_str(user, "rustydb"));
    match tokio_postgres::connect(&conn, NoTls).await {
        Ok((client, connection)) => {
            tokio::spawn(async move {
                let _ = connection.await;
            });
            Ok(client)
        }
        Err(e) => Err(e.code().cloned().unwrap_or_else(|| panic!("no SQLSTATE: {e}"))),
    }
}

fn verify(data_dir: &Path, expect_head: Option<&str>) -> (bool, String) {
    let mut cmd = std::process::Command::new(server_binary());
    cmd.arg("--data-dir").arg(data_dir).args(["audit", "verify"]);
    if let Some(h) = expect_head {
        cmd.args(["--expect-head", h]);
    }
    let out = cmd.output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned())
}

#[tokio::test]
async fn lockout_after_failed_logins_then_recovery() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_in_with_config(&dir.path().join("data"), CONFIG);
    let admin = server.connect().await;
    admin.batch_execute("CREATE ROLE mallory LOGIN PASSWORD 'right-one'").await.unwrap();
    // Each failure is answered after a pause that grows: 50, 100, 200 ms.
    let started = Instant::now();
    for _ in 0..3 {
        assert_eq!(login(&server, "mallory", "guess").await.err(), Some(SqlState::INVALID_PASSWORD));
    }
    assert!(started.elapsed() >= Duration::from_millis(350), "{:?}", started.elapsed());
    // Locked: even the right password is refused, at once.
    assert_eq!(login(&server, "mallory", "right-one").await.err(), Some(SqlState::INVALID_AUTHORIZATION_SPECIFICATION));
    // A name that does not exist is throttled and locked the same way.
    for _ in 0..3 {
        assert_eq!(login(&server, "ghost", "guess").await.err(), Some(SqlState::INVALID_PASSWORD));
    }
    assert_eq!(login(&server, "ghost", "guess").await.err(), Some(SqlState::INVALID_AUTHORIZATION_SPECIFICATION));
    // Other roles are unaffected; the lock ends by itself.
    admin.batch_execute("CREATE ROLE carol LOGIN PASSWORD 'carols'").await.unwrap();
    login(&server, "carol", "carols").await.unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let mallory = login(&server, "mallory", "right-one").await.unwrap();
    mallory.simple_query("SELECT 1").await.unwrap();
    // The server went on serving throughout.
    admin.simple_query("SELECT 1").await.unwrap();
}

#[tokio::test]
async fn the_audit_log_records_and_verify_catches_tampering() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = TestServer::start_in_with_config(&data, CONFIG);
    let admin = server.connect().await;
    admin
        .batch_execute(
            "CREATE TABLE accounts (id int PRIMARY KEY, balance int);
             CREATE TABLE scratch (x int);
             INSERT INTO accounts VALUES (1, 100);
             INSERT INTO scratch VALUES (1);
             CREATE ROLE teller LOGIN PASSWORD 'sekret-pass';
             GRANT SELECT ON accounts TO teller;",
        )
        .await
        .unwrap();
    // COPY FROM into an audited table is DML too, recorded when it ends.
    {
        use futures::SinkExt;
        let sink = admin.copy_in("COPY accounts (id, balance) FROM STDIN").await.unwrap();
        futures::pin_mut!(sink);
        sink.send(bytes::Bytes::from_static(b"2\t200\n")).await.unwrap();
        assert_eq!(sink.finish().await.unwrap(), 1);
    }
    let teller = login(&server, "teller", "sekret-pass").await.unwrap();
    assert_eq!(sqlstate(&teller, "UPDATE accounts SET balance = 0").await, SqlState::INSUFFICIENT_PRIVILEGE);
    assert!(login(&server, "teller", "wrong").await.is_err());
    // A statement past max_statement_bytes is refused before parsing; the session goes on.
    let long = format!("SELECT '{}'", "x".repeat(5000));
    assert_eq!(sqlstate(&admin, &long).await, SqlState::PROGRAM_LIMIT_EXCEEDED);
    admin.simple_query("SELECT 1").await.unwrap();
    let server_log = server.log();
    drop(server);

    let log = std::fs::read_to_string(data.join("audit/audit.log")).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    let has = |event: &str, needle: &str| {
        lines.iter().any(|l| l.contains(&format!("\"event\":\"{event}\"")) && l.contains(needle))
    };
    assert!(has("ddl", "CREATE TABLE accounts"), "{log}");
    assert!(has("dml", "INSERT INTO accounts"), "{log}");
    assert!(!log.contains("INSERT INTO scratch"), "only audited tables' DML: {log}");
    assert!(has("dml", "COPY accounts (id, balance) FROM STDIN"), "{log}");
    assert!(has("role", "CREATE ROLE teller LOGIN PASSWORD (set)"), "{log}");
    assert!(has("grant", "GRANT SELECT ON accounts TO teller"), "{log}");
    assert!(has("login", "\"user\":\"teller\""), "{log}");
    assert!(has("login_failed", "28P01"), "{log}");
    assert!(has("dml", "42501"), "a refused statement is recorded with its SQLSTATE: {log}");
    for text in [&log, &server_log] {
        assert!(!text.contains("sekret-pass"), "a password leaked: {text}");
    }

    // Intact: verify passes and prints the head hash.
    let (ok, out) = verify(&data, None);
    assert!(ok, "{out}");
    let head = out.split_whitespace().last().unwrap().to_string();
    assert!(out.contains(&format!("{} records", lines.len())), "{out}");
    assert!(verify(&data, Some(&head)).0);

    // An edited record.
    let path = data.join("audit/audit.log");
    std::fs::write(&path, log.replacen("balance", "balance2", 1)).unwrap();
    let (ok, out) = verify(&data, None);
    assert!(!ok && out.contains("changed"), "{out}");
    // A removed record.
    let without: String = lines.iter().enumerate().filter(|(i, _)| *i != 2).map(|(_, l)| format!("{l}\n")).collect();
    std::fs::write(&path, without).unwrap();
    let (ok, out) = verify(&data, None);
    assert!(!ok && out.contains("removed"), "{out}");
    // The last record removed.
    let truncated: String = lines[..lines.len() - 1].iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&path, truncated).unwrap();
    let (ok, out) = verify(&data, None);
    assert!(!ok && out.contains("removed from the end"), "{out}");
    // Restored, it verifies again, and the chain continues after a restart.
    std::fs::write(&path, &log).unwrap();
    assert!(verify(&data, None).0);
    let server = TestServer::start_in_with_config(&data, CONFIG);
    server.connect().await.batch_execute("DROP TABLE scratch").await.unwrap();
    drop(server);
    let (ok, out) = verify(&data, Some(&head));
    assert!(ok, "{out}");
}

#[tokio::test]
async fn password_policy_and_argon2_hashes() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // Top-level keys go before CONFIG's [[hba]] tables.
    let config = format!("password_min_length = 8\npassword_reuse_history = 2\n{CONFIG}");
    let server = TestServer::start_in_with_config(&data, &config);
    let admin = server.connect().await;
    assert_eq!(sqlstate(&admin, "CREATE ROLE pat LOGIN PASSWORD 'short'").await, SqlState::INVALID_PARAMETER_VALUE);
    admin.batch_execute("CREATE ROLE pat LOGIN PASSWORD 'first-pass'").await.unwrap();
    assert_eq!(sqlstate(&admin, "ALTER ROLE pat PASSWORD 'first-pass'").await, SqlState::INVALID_PARAMETER_VALUE);
    admin.batch_execute("ALTER ROLE pat PASSWORD 'second-pass'").await.unwrap();
    assert_eq!(sqlstate(&admin, "ALTER ROLE pat PASSWORD 'first-pass'").await, SqlState::INVALID_PARAMETER_VALUE);
    admin.batch_execute("ALTER ROLE pat PASSWORD 'third-pass'").await.unwrap();
    // Two back is outside the window of 2 (the current password and the one before).
    admin.batch_execute("ALTER ROLE pat PASSWORD 'first-pass'").await.unwrap();
    login(&server, "pat", "first-pass").await.unwrap();
    // The catalog keeps a SCRAM verifier and an Argon2id hash, never the password.
    let row =
        admin.query_one("SELECT password, password_outside FROM rustydb_roles WHERE name = 'pat'", &[]).await.unwrap();
    let (scram, argon): (String, String) = (row.get(0), row.get(1));
    assert!(scram.starts_with("SCRAM-SHA-256$4096:"), "{scram}");
    assert!(argon.starts_with("$argon2id$v=19$"), "{argon}");
    drop(server);
    // Password logins outside the wire protocol check the Argon2 hash.
    let db = rustydb_api::Database::open(&data).unwrap();
    assert!(db.connect_with_password("pat", "first-pass", "rustydb").is_ok());
    let err = db.connect_with_password("pat", "third-pass", "rustydb").err().unwrap();
    assert_eq!(err.sqlstate().code(), "28P01");
}
