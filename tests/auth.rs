//! Authentication over the wire: roles with passwords (CREATE/ALTER/DROP ROLE), hba rules choosing
//! trust, cleartext password, SCRAM-SHA-256 or reject, TLS with rustls, and SCRAM-SHA-256-PLUS
//! channel binding, driven by tokio-postgres (and psql where installed).

#![allow(clippy::unwrap_used)] // Tests assert by unwrapping; a panic is the failure report.

use rustydb_tests::{TestServer, sqlstate, which};
use std::path::PathBuf;
use std::sync::Arc;
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, NoTls};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/tls")
}

/// hba rules: the bootstrap superuser is trusted from loopback; `clear` sends its password in
/// clear text; `tlsonly` must come over TLS; `shut` is rejected; everyone else passes SCRAM.
fn config(ssl: bool) -> String {
    let dir = fixtures();
    format!(
        r#"
ssl = {ssl}
ssl_cert_file = "{cert}"
ssl_key_file = "{key}"

[[hba]]
address = "127.0.0.1/32"
user = "rustydb"
method = "trust"

[[hba]]
address = "127.0.0.1"
user = "clear"
method = "password"

[[hba]]
connection = "hostssl"
address = "all"
user = "tlsonly"
method = "scram-sha-256"

[[hba]]
connection = "hostnossl"
address = "all"
user = "tlsonly"
method = "reject"

[[hba]]
address = "all"
user = "shut"
method = "reject"

[[hba]]
address = "all"
method = "scram-sha-256"
"#,
        cert = dir.join("server.crt").display(),
        key = dir.join("server.key").display(),
    )
}

fn start(ssl: bool) -> (TestServer, tempfile::TempDir) {
    let temp = tempfile::tempdir().unwrap();
    let server = TestServer::start_in_with_config(&temp.path().join("data"), &config(ssl));
    (server, temp)
}

async fn login(server: &TestServer, user: &str, password: &str) -> Result<Client, tokio_postgres::Error> {
    let conn = format!("{} password='{password}'", server.conn_str(user, "rustydb"));
    let (client, connection) = tokio_postgres::connect(&conn, NoTls).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

async fn login_code(server: &TestServer, user: &str, password: &str) -> (SqlState, String) {
    let e = login(server, user, password).await.err().unwrap_or_else(|| panic!("{user} logged in"));
    let db = e.as_db_error().unwrap_or_else(|| panic!("{user}: not a server error: {e}"));
    (db.code().clone(), db.message().to_string())
}

async fn one(client: &Client, sql: &str) -> String {
    client.query_one(sql, &[]).await.unwrap_or_else(|e| panic!("{sql}: {e}")).get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passwords_are_checked_by_scram_and_cleartext_as_the_rules_say() {
    let (server, _dir) = start(false);
    let admin = server.connect().await;
    admin
        .batch_execute(
            "CREATE ROLE alice LOGIN PASSWORD 'wonderland';
             CREATE USER clear PASSWORD 'plain';
             CREATE USER nopass;
             CREATE ROLE grp PASSWORD 'x';
             CREATE USER expired PASSWORD 'p' VALID UNTIL '2001-01-01';
             CREATE USER later PASSWORD 'p' VALID UNTIL 'infinity' CONNECTION LIMIT 5;
             CREATE USER shut PASSWORD 'p';",
        )
        .await
        .unwrap();

    // SCRAM-SHA-256.
    let alice = login(&server, "alice", "wonderland").await.unwrap();
    assert_eq!(one(&alice, "SELECT current_user").await, "alice");
    let wrong = login_code(&server, "alice", "Wonderland").await;
    assert_eq!(wrong, (SqlState::INVALID_PASSWORD, "password authentication failed for user \"alice\"".into()));
    // A role that does not exist, or has no password, fails the same way (nothing leaks).
    assert_eq!(
        login_code(&server, "nobody", "x").await,
        (SqlState::INVALID_PASSWORD, "password authentication failed for user \"nobody\"".into())
    );
    assert_eq!(login_code(&server, "nopass", "").await.0, SqlState::INVALID_PASSWORD);
    assert_eq!(login_code(&server, "expired", "p").await.0, SqlState::INVALID_PASSWORD);
    assert!(login(&server, "later", "p").await.is_ok());
    // The right password for a role without LOGIN.
    assert_eq!(
        login_code(&server, "grp", "x").await,
        (SqlState::INVALID_AUTHORIZATION_SPECIFICATION, "role \"grp\" is not permitted to log in".into())
    );

    // Cleartext password.
    let clear = login(&server, "clear", "plain").await.unwrap();
    assert_eq!(one(&clear, "SELECT current_user").await, "clear");
    assert_eq!(login_code(&server, "clear", "plai").await.0, SqlState::INVALID_PASSWORD);

    // reject, and a rule that needs TLS on a plain connection.
    let (code, message) = login_code(&server, "shut", "p").await;
    assert_eq!(code, SqlState::INVALID_AUTHORIZATION_SPECIFICATION);
    assert!(message.contains("pg_hba.conf rejects connection for host \"127.0.0.1\", user \"shut\""), "{message}");

    // A user changes their own password; the old one stops working.
    alice.batch_execute("ALTER ROLE alice PASSWORD 'looking-glass'").await.unwrap();
    assert_eq!(login_code(&server, "alice", "wonderland").await.0, SqlState::INVALID_PASSWORD);
    assert!(login(&server, "alice", "looking-glass").await.is_ok());

    // The server is still serving.
    assert_eq!(one(&admin, "SELECT 'up'").await, "up");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn role_statements_behave_as_in_postgresql() {
    let (server, _dir) = start(false);
    let admin = server.connect().await;
    admin
        .batch_execute("CREATE ROLE alice LOGIN PASSWORD 'pw'; CREATE ROLE boss CREATEROLE LOGIN PASSWORD 'pw'")
        .await
        .unwrap();
    assert_eq!(sqlstate(&admin, "CREATE ROLE alice").await, SqlState::DUPLICATE_OBJECT);
    assert_eq!(sqlstate(&admin, "ALTER ROLE nobody LOGIN").await, SqlState::UNDEFINED_OBJECT);
    assert_eq!(sqlstate(&admin, "DROP ROLE nobody").await, SqlState::UNDEFINED_OBJECT);
    assert_eq!(sqlstate(&admin, "DROP ROLE rustydb").await, SqlState::OBJECT_IN_USE);

    // The catalog keeps a SCRAM verifier, never the password; pg_roles hides even that.
    let verifier = one(&admin, "SELECT rolpassword FROM pg_authid WHERE rolname = 'alice'").await;
    assert!(verifier.starts_with("SCRAM-SHA-256$4096:"), "{verifier}");
    assert!(!verifier.contains("pw$") && verifier.len() > 100, "{verifier}");
    let row = admin
        .query_one(
            "SELECT rolcanlogin, rolcreaterole, rolsuper, rolconnlimit, rolpassword FROM pg_roles WHERE rolname = 'boss'",
            &[],
        )
        .await
        .unwrap();
    assert!(row.get::<_, bool>(0) && row.get::<_, bool>(1) && !row.get::<_, bool>(2));
    assert_eq!((row.get::<_, i32>(3), row.get::<_, String>(4)), (-1, "********".to_string()));

    // A verifier given as the password is kept as it is (pg_dump's way of restoring roles).
    admin.batch_execute(&format!("CREATE ROLE copy LOGIN PASSWORD '{verifier}'")).await.unwrap();
    assert_eq!(one(&admin, "SELECT rolpassword FROM pg_authid WHERE rolname = 'copy'").await, verifier);
    assert!(login(&server, "copy", "pw").await.is_ok());

    // Ordinary roles may not manage roles nor read verifiers; CREATEROLE may, but not superusers.
    let alice = login(&server, "alice", "pw").await.unwrap();
    assert_eq!(sqlstate(&alice, "CREATE ROLE y").await, SqlState::INSUFFICIENT_PRIVILEGE);
    assert_eq!(sqlstate(&alice, "ALTER ROLE alice CREATEDB").await, SqlState::INSUFFICIENT_PRIVILEGE);
    assert_eq!(sqlstate(&alice, "SELECT * FROM pg_authid").await, SqlState::INSUFFICIENT_PRIVILEGE);
    let boss = login(&server, "boss", "pw").await.unwrap();
    boss.batch_execute("CREATE ROLE minion; ALTER ROLE minion LOGIN; ALTER ROLE minion RENAME TO henchman")
        .await
        .unwrap();
    assert_eq!(sqlstate(&boss, "CREATE ROLE su SUPERUSER").await, SqlState::INSUFFICIENT_PRIVILEGE);
    assert_eq!(sqlstate(&boss, "ALTER ROLE rustydb NOLOGIN").await, SqlState::INSUFFICIENT_PRIVILEGE);
    assert_eq!(sqlstate(&boss, "DROP ROLE boss").await, SqlState::OBJECT_IN_USE);

    // Role DDL is transactional.
    admin.batch_execute("BEGIN; CREATE ROLE ghost; ROLLBACK").await.unwrap();
    assert_eq!(one(&admin, "SELECT count(*)::text FROM pg_roles WHERE rolname = 'ghost'").await, "0");
    admin.batch_execute("BEGIN; DROP ROLE henchman; ROLLBACK").await.unwrap();
    assert_eq!(one(&admin, "SELECT count(*)::text FROM pg_roles WHERE rolname = 'henchman'").await, "1");

    // DROP ROLE IF EXISTS notices what it skips.
    let messages = admin.simple_query("DROP ROLE IF EXISTS ghost, henchman").await.unwrap();
    assert!(matches!(messages.last(), Some(tokio_postgres::SimpleQueryMessage::CommandComplete(_))));
    assert_eq!(one(&admin, "SELECT count(*)::text FROM pg_roles WHERE rolname IN ('ghost', 'henchman')").await, "0");

    // Roles survive a restart (they are catalog rows, logged like any other).
    let mut server = server;
    let keep = server.keep_dir();
    let dir = server.data_dir.clone();
    drop(admin);
    assert!(server.terminate().success());
    let config = dir.with_extension("toml");
    let server = TestServer::start_in_with_config(&dir, &std::fs::read_to_string(config).unwrap());
    let boss = login(&server, "boss", "pw").await.unwrap();
    assert_eq!(one(&boss, "SELECT current_user").await, "boss");
    drop(keep);
}

fn tls_connector() -> tokio_postgres_rustls::MakeRustlsConnect {
    let mut roots = rustls::RootCertStore::empty();
    let ca = std::fs::read(fixtures().join("ca.crt")).unwrap();
    for cert in rustls::pki_types::CertificateDer::pem_slice_iter(&ca) {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    tokio_postgres_rustls::MakeRustlsConnect::new(config)
}

use rustls::pki_types::pem::PemObject;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_scram_channel_binding() {
    let (server, _dir) = start(true);
    let admin = server.connect().await;
    admin
        .batch_execute(
            "CREATE USER tlsonly PASSWORD 'secure'; CREATE USER alice PASSWORD 'pw';
             GRANT CREATE ON SCHEMA public TO tlsonly",
        )
        .await
        .unwrap();
    let base = |user: &str, password: &str| {
        format!(
            "host=localhost hostaddr=127.0.0.1 port={} user={user} password={password} dbname=rustydb",
            server.addr.port()
        )
    };

    // sslmode=require with SCRAM-SHA-256-PLUS bound to the server certificate.
    let conn = format!("{} sslmode=require channel_binding=require", base("tlsonly", "secure"));
    let (client, connection) = tokio_postgres::connect(&conn, tls_connector()).await.unwrap();
    tokio::spawn(async move {
        let _ = connection.await;
    });
    assert_eq!(one(&client, "SELECT current_user").await, "tlsonly");
    client.batch_execute("CREATE TABLE over_tls (x int); INSERT INTO over_tls VALUES (1)").await.unwrap();
    assert_eq!(one(&client, "SELECT count(*)::text FROM over_tls").await, "1");

    // A wrong password over TLS is still 28P01.
    let conn = format!("{} sslmode=require", base("tlsonly", "insecure"));
    let e = tokio_postgres::connect(&conn, tls_connector()).await.err().unwrap();
    assert_eq!(e.code(), Some(&SqlState::INVALID_PASSWORD));

    // The hostssl rule does not cover a plain connection; hostnossl rejects it.
    let (code, message) = login_code(&server, "tlsonly", "secure").await;
    assert_eq!(code, SqlState::INVALID_AUTHORIZATION_SPECIFICATION);
    assert!(message.contains("no encryption"), "{message}");

    // Plain SCRAM still works beside TLS on the same listener.
    assert!(login(&server, "alice", "pw").await.is_ok());

    // psql with sslmode=require (libpq prefers channel binding).
    if let Some(psql) = which("psql") {
        let out = std::process::Command::new(psql)
            .args(["-X", "-A", "-t", "-c", "SELECT current_user"])
            .arg(format!("{} sslmode=require", base("tlsonly", "secure")))
            .output()
            .unwrap();
        assert!(out.status.success(), "psql: {}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "tlsonly");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_without_tls_refuses_sslmode_require() {
    let (server, _dir) = start(false);
    let conn = format!("{} sslmode=require", server.conn_str("rustydb", "rustydb"));
    let e = tokio_postgres::connect(&conn, tls_connector()).await.err().unwrap();
    assert!(e.to_string().contains("TLS") || e.to_string().contains("tls") || e.to_string().contains("SSL"), "{e}");
    // sslmode=prefer falls back to plain.
    let conn = format!("{} sslmode=prefer", server.conn_str("rustydb", "rustydb"));
    let (client, connection) = tokio_postgres::connect(&conn, tls_connector()).await.unwrap();
    tokio::spawn(async move {
        let _ = connection.await;
    });
    assert_eq!(one(&client, "SELECT current_user").await, "rustydb");
}
