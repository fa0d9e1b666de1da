//! Encryption at rest through the real server: an encrypted table's rows reach no file of the
//! data directory in the clear (pages, indexes, write-ahead log) while a plaintext table's do;
//! crash recovery opens the sealed log records; a wrong master key stops the server; data and
//! master keys rotate while other sessions keep writing.

#![allow(clippy::unwrap_used)] // Tests assert by unwrapping; a panic is the failure report.

use rustydb_tests::{TestServer, ok, server_binary, sqlstate};
use std::path::{Path, PathBuf};
use tokio_postgres::error::SqlState;

const SECRET: &str = "TOPSECRET-MARKER-7f3a";
const PLAIN: &str = "PLAINTEXT-MARKER-9b2c";

/// 32 random bytes as 64 hex digits.
fn new_master_key() -> String {
    let mut bytes = [0u8; 32];
    std::io::Read::read_exact(&mut std::fs::File::open("/dev/urandom").unwrap(), &mut bytes).unwrap();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Inserts rows `ids` into `table` as `(id, <extra>, '<note>-<id>')`, 500 to a statement.
async fn insert_rows(
    client: &tokio_postgres::Client,
    table: &str,
    ids: std::ops::RangeInclusive<i32>,
    extra: &str,
    note: &str,
) {
    let ids: Vec<i32> = ids.collect();
    for chunk in ids.chunks(500) {
        let rows: Vec<String> = chunk.iter().map(|i| format!("({i}, {extra}'{note}-{i}')")).collect();
        ok(client, &format!("INSERT INTO {table} VALUES {}", rows.join(", "))).await;
    }
}

/// A configuration naming `key_file` as the master key file.
fn config(key_file: &Path) -> String {
    format!("tde_master_key_file = {:?}\n", key_file.display().to_string())
}

/// Every file under `dir` holding `needle`.
fn files_containing(dir: &Path, needle: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if std::fs::read(&path).unwrap().windows(needle.len()).any(|w| w == needle.as_bytes()) {
                found.push(path);
            }
        }
    }
    found
}

async fn count(client: &tokio_postgres::Client, sql: &str) -> i64 {
    client.query_one(sql, &[]).await.unwrap().get(0)
}

#[tokio::test]
async fn an_encrypted_tables_marker_reaches_no_file_while_a_plaintext_ones_does() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let key_file = dir.path().join("master.key");
    std::fs::write(&key_file, new_master_key()).unwrap();
    let server = TestServer::start_in_with_config(&data, &config(&key_file));
    let client = server.connect().await;
    ok(&client, "CREATE TABLE secret (id int PRIMARY KEY, note text) WITH (encrypted = true)").await;
    ok(&client, "CREATE INDEX secret_note ON secret (note)").await;
    ok(&client, "CREATE INDEX secret_note_hash ON secret USING hash (note)").await;
    ok(&client, "CREATE TABLE plain (id int PRIMARY KEY, note text)").await;
    ok(&client, "CREATE INDEX plain_note ON plain (note)").await;
    for (table, marker) in [("secret", SECRET), ("plain", PLAIN)] {
        insert_rows(&client, table, 1..=2000, "", marker).await;
        ok(&client, &format!("UPDATE {table} SET note = note || '-updated' WHERE id % 7 = 0")).await;
        ok(&client, &format!("DELETE FROM {table} WHERE id % 11 = 0")).await;
    }
    ok(&client, "CHECKPOINT").await;
    // Rows written after the checkpoint sit only in the log (and in pool pages).
    ok(&client, &format!("INSERT INTO secret VALUES (5000, '{SECRET}-after-checkpoint')")).await;
    ok(&client, &format!("INSERT INTO plain VALUES (5000, '{PLAIN}-after-checkpoint')")).await;

    // Reads and index lookups see the rows.
    assert_eq!(count(&client, "SELECT count(*) FROM secret").await, 1820);
    let found = format!("SELECT count(*) FROM secret WHERE note = '{SECRET}-700-updated'");
    assert_eq!(count(&client, &found).await, 1);
    assert_eq!(count(&client, "SELECT rustydb_table_key_id('secret')").await, 1);
    assert!(
        client.query_one("SELECT rustydb_table_key_id('plain')", &[]).await.unwrap().get::<_, Option<i64>>(0).is_none()
    );

    // What cannot be: an LSM index on an encrypted table.
    assert_eq!(
        sqlstate(&client, "CREATE INDEX secret_lsm ON secret USING lsm (id)").await,
        SqlState::FEATURE_NOT_SUPPORTED
    );

    // Crash: the last rows are only in the log, sealed; recovery opens them.
    drop(client);
    server.kill9();
    let leaked = files_containing(&data, SECRET);
    assert!(leaked.is_empty(), "the encrypted table's marker is in {leaked:?}");
    let plain_files = files_containing(&data, PLAIN);
    assert!(plain_files.iter().any(|p| p.starts_with(data.join("base"))), "plaintext pages: {plain_files:?}");
    assert!(plain_files.iter().any(|p| p.starts_with(data.join("wal"))), "plaintext log: {plain_files:?}");

    let server = TestServer::start_in_with_config(&data, &config(&key_file));
    let client = server.connect().await;
    assert_eq!(count(&client, "SELECT count(*) FROM secret").await, 1820);
    let after = format!("SELECT count(*) FROM secret WHERE note = '{SECRET}-after-checkpoint'");
    assert_eq!(count(&client, &after).await, 1);
    assert_eq!(count(&client, "SELECT count(*) FROM plain").await, 1820);
    drop(client);
    assert!(server.terminate().success());
    assert!(files_containing(&data, SECRET).is_empty());

    // A wrong master key: the server refuses to start and says why; no key at all, likewise.
    std::fs::write(&key_file, new_master_key()).unwrap();
    for toml in [config(&key_file), String::new()] {
        let config_path = dir.path().join("wrong.toml");
        std::fs::write(&config_path, toml).unwrap();
        let out = std::process::Command::new(server_binary())
            .arg("--config")
            .arg(&config_path)
            .args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(&data)
            .env_remove("RUSTYDB_MASTER_KEY")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success());
        assert!(stderr.contains("master key"), "{stderr}");
    }
}

#[tokio::test]
async fn encryption_needs_a_master_key() {
    let server = TestServer::start();
    let client = server.connect().await;
    let err = client.batch_execute("CREATE TABLE t (a int) WITH (encrypted = true)").await.unwrap_err();
    assert_eq!(err.code(), Some(&SqlState::OBJECT_NOT_IN_PREREQUISITE_STATE));
    ok(&client, "CREATE TABLE t (a int) WITH (encrypted = false)").await;
    assert_eq!(
        sqlstate(&client, "CREATE TABLE u (a int) WITH (encrypted = maybe)").await,
        SqlState::INVALID_PARAMETER_VALUE
    );
}

#[tokio::test]
async fn data_and_master_keys_rotate_while_sessions_write() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let key_file = dir.path().join("master.key");
    let (first, second) = (new_master_key(), new_master_key());
    std::fs::write(&key_file, &first).unwrap();
    let toml = format!("{}tde_encrypt_new_tables = true\n", config(&key_file));
    let server = TestServer::start_in_with_config(&data, &toml);
    let client = server.connect().await;
    // Encrypted by default now.
    ok(&client, "CREATE TABLE ledger (id int PRIMARY KEY, n int, note text)").await;
    ok(&client, "CREATE INDEX ledger_n ON ledger (n)").await;
    insert_rows(&client, "ledger", 1..=3000, "0, ", SECRET).await;
    ok(&client, "CHECKPOINT").await;
    ok(&client, "CREATE ROLE clerk LOGIN").await;
    assert_eq!(count(&client, "SELECT rustydb_table_key_id('ledger')").await, 1);
    // An LSM index whose memtable keeps the log from before the rotations: recovery then reads
    // records sealed with keys the rotations retire.
    ok(&client, "CREATE TABLE other (id int PRIMARY KEY, v int) WITH (encrypted = false)").await;
    ok(&client, "CREATE INDEX other_v ON other USING lsm (v)").await;
    let rows: Vec<String> = (1..=50).map(|i| format!("({i}, 1)")).collect();
    ok(&client, &format!("INSERT INTO other VALUES {}", rows.join(", "))).await;

    // Two writers: inserts and updates, each statement checked, throughout the rotations.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..2i32 {
        let client = server.connect().await;
        let stop = stop.clone();
        writers.push(tokio::spawn(async move {
            let mut done = 0i32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) || done < 20 {
                let id = 10_000 + w * 100_000 + done;
                client.execute("INSERT INTO ledger VALUES ($1, 1, 'new')", &[&id]).await.unwrap();
                client
                    .execute("UPDATE ledger SET n = n + 1 WHERE id = $1", &[&(1 + (done * 7 + w) % 3000)])
                    .await
                    .unwrap();
                done += 1;
            }
            done
        }));
    }
    assert_eq!(count(&client, "SELECT rustydb_rotate_table_key('ledger')").await, 2);
    // The master key: the new one first in the file, the old one beside it, then the rotation.
    std::fs::write(&key_file, format!("{second}\n{first}\n")).unwrap();
    assert_eq!(count(&client, "SELECT rustydb_rotate_master_key()").await, 1);
    assert_eq!(count(&client, "SELECT rustydb_rotate_table_key('ledger')").await, 3);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut inserted = 0i64;
    for w in writers {
        inserted += i64::from(w.await.unwrap());
    }
    assert_eq!(count(&client, "SELECT count(*) FROM ledger").await, 3000 + inserted);
    let updates: i64 = count(&client, "SELECT sum(n)::bigint FROM ledger WHERE id <= 3000").await;
    assert_eq!(updates, inserted);

    // Only the current data key is kept; only superusers rotate.
    let keyring = std::fs::read_to_string(data.join("keys/keyring.json")).unwrap();
    let keyring: serde_json::Value = serde_json::from_str(&keyring).unwrap();
    assert_eq!(keyring["tables"][0]["keys"].as_array().unwrap().len(), 1, "{keyring}");
    let clerk = server.connect_as("clerk", "rustydb").await.unwrap();
    assert_eq!(sqlstate(&clerk, "SELECT rustydb_rotate_table_key('ledger')").await, SqlState::INSUFFICIENT_PRIVILEGE);
    assert_eq!(sqlstate(&clerk, "SELECT rustydb_rotate_master_key()").await, SqlState::INSUFFICIENT_PRIVILEGE);
    drop((client, clerk));
    server.kill9();

    // Every page was rewritten under the current key and the old master key is gone: recovery
    // with the new master key alone (passing over records sealed with retired keys) reads
    // everything.
    std::fs::write(&key_file, &second).unwrap();
    let server = TestServer::start_in_with_config(&data, &toml);
    let client = server.connect().await;
    assert_eq!(count(&client, "SELECT count(*) FROM ledger").await, 3000 + inserted);
    assert_eq!(count(&client, "SELECT count(*) FROM ledger WHERE n = 1 AND id > 3000").await, inserted);
    assert_eq!(count(&client, "SELECT count(*) FROM other WHERE v = 1").await, 50);
    drop(client);
    assert!(server.terminate().success());
    assert!(files_containing(&data, SECRET).is_empty());
}
