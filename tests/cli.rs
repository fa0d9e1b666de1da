//! The `rustydb` command-line client, driven as users drive it: a script on stdin (printed as
//! psql prints it, compared with psql's own output of the same script where psql is
//! installed), `-c` with CSV, `-f` with ON_ERROR_STOP, a refused connection, `dump` replayed
//! into a second server, and `init` and `check` on a data directory, with a damaged page found.

#![allow(clippy::unwrap_used)] // Tests assert by unwrapping; a panic is the failure report.

use rustydb_tests::{TestServer, cli_binary, which};
use std::io::Write;
use std::process::{Command, Output, Stdio};

fn cli(server: &TestServer, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(cli_binary())
        .args([
            "-h",
            &server.addr.ip().to_string(),
            "-p",
            &server.addr.port().to_string(),
            "-U",
            "rustydb",
            "-d",
            "rustydb",
        ])
        .args(args)
        .env_remove("PGHOST")
        .env_remove("PGPORT")
        .env_remove("PGUSER")
        .env_remove("PGDATABASE")
        .env_remove("PGPASSWORD")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const SCRIPT: &str = "CREATE TABLE t (id INT PRIMARY KEY, name TEXT, score DOUBLE PRECISION);
INSERT INTO t VALUES (1, 'ann', 9.5), (20, NULL, -1);
SELECT * FROM t ORDER BY id;
SELECT name,
       id
  FROM t WHERE id = 1;
\\x
SELECT * FROM t WHERE id = 1;
\\x
COPY t FROM STDIN;
3\tcarl\t0.25
\\.
SELECT count(*) AS n FROM t; SELECT 'two statements' AS s;
SELECT 1/0;
SELECT 'after an error' AS still;
BEGIN;
UPDATE t SET score = 0 WHERE id = 3;
ROLLBACK;
";

const EXPECTED: &str = "CREATE TABLE
INSERT 0 2
 id | name | score 
----+------+-------
  1 | ann  |   9.5
 20 |      |    -1
(2 rows)

 name | id 
------+----
 ann  |  1
(1 row)

Expanded display is on.
-[ RECORD 1 ]
id    | 1
name  | ann
score | 9.5

Expanded display is off.
COPY 1
 n 
---
 3
(1 row)

       s        
----------------
 two statements
(1 row)

     still      
----------------
 after an error
(1 row)

BEGIN
UPDATE 1
ROLLBACK
";

#[test]
fn a_script_on_stdin_prints_as_psql_does() {
    let server = TestServer::start();
    let out = cli(&server, &[], SCRIPT);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), EXPECTED);
    assert!(text(&out.stderr).contains("ERROR:  division by zero"), "{}", text(&out.stderr));

    // psql, given the same script against a fresh server, prints the same.
    if let Some(psql) = which("psql") {
        let fresh = TestServer::start();
        let mut child = Command::new(psql)
            .args([
                "-X",
                "-q",
                "-h",
                &fresh.addr.ip().to_string(),
                "-p",
                &fresh.addr.port().to_string(),
                "-U",
                "rustydb",
                "rustydb",
            ])
            .args(["-v", "QUIET=0"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(SCRIPT.as_bytes()).unwrap();
        let psql_out = child.wait_with_output().unwrap();
        assert_eq!(text(&out.stdout), text(&psql_out.stdout), "rustydb and psql differ");
    }

    // -c with CSV; an error fails the exit status.
    let out = cli(&server, &["--csv", "-c", "SELECT id, name FROM t ORDER BY id"], "");
    assert_eq!(text(&out.stdout), "id,name\n1,ann\n3,carl\n20,\n");
    let out = cli(&server, &["-c", "SELECT * FROM nope"], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("ERROR:  relation \"nope\" does not exist"), "{}", text(&out.stderr));
    let out = cli(&server, &["--format", "json", "-c", "SELECT id FROM t WHERE id < 3 ORDER BY id"], "");
    assert_eq!(text(&out.stdout), "[{\"id\":\"1\"}]\n");

    // -f with ON_ERROR_STOP: stops at the error, exit status 3.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("script.sql");
    std::fs::write(&file, "INSERT INTO t VALUES (4, 'd', 0);\nSELECT 1/0;\nINSERT INTO t VALUES (5, 'e', 0);\n")
        .unwrap();
    let out = cli(&server, &["-v", "ON_ERROR_STOP=1", "-f", file.to_str().unwrap()], "");
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let out = cli(&server, &["--csv", "-c", "SELECT id FROM t WHERE id BETWEEN 4 AND 10 ORDER BY id"], "");
    assert_eq!(text(&out.stdout), "id\n4\n");

    // No server there: exit status 2.
    let refused = Command::new(cli_binary()).args(["-h", "127.0.0.1", "-p", "1", "-c", "SELECT 1"]).output().unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        text(&refused.stderr).contains("connection to server at \"127.0.0.1\", port 1 failed"),
        "{}",
        text(&refused.stderr)
    );
}

#[test]
fn dump_replays_into_another_server() {
    let source = TestServer::start();
    let setup = "CREATE TABLE items (id SERIAL PRIMARY KEY, name VARCHAR(20) NOT NULL, note TEXT DEFAULT 'none', price DOUBLE PRECISION, added DATE);
CREATE TABLE \"Mixed Case\" (k BIGINT PRIMARY KEY, v TEXT);
CREATE UNIQUE INDEX items_name ON items (name);
INSERT INTO items (name, note, price, added) VALUES ('a', 'tab\there', 1.5, '2026-01-02'), ('b', NULL, NULL, NULL), ('c', 'line
break', -0.25, '1999-12-31');
INSERT INTO \"Mixed Case\" VALUES (1, 'x'), (2, '\\back\\slash');
CREATE VIEW cheap AS SELECT name FROM items WHERE price < 1;
";
    let out = cli(&source, &["-v", "ON_ERROR_STOP=1"], setup);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("dump.sql");
    let out = cli(&source, &["dump", "-o", dump.to_str().unwrap()], "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let sql = std::fs::read_to_string(&dump).unwrap();
    assert!(sql.contains("CREATE TABLE items (\n    id serial,"), "{sql}");

    let target = TestServer::start();
    let out = cli(&target, &["-v", "ON_ERROR_STOP=1", "-f", dump.to_str().unwrap()], "");
    assert!(out.status.success(), "replaying the dump failed: {}\n{sql}", text(&out.stderr));
    for query in [
        "SELECT id, name, note, price, added FROM items ORDER BY id",
        "SELECT k, v FROM \"Mixed Case\" ORDER BY k",
        "SELECT name FROM cheap ORDER BY name",
        "SELECT column_name, data_type, is_nullable, character_maximum_length FROM information_schema.columns WHERE table_name = 'items' ORDER BY ordinal_position",
    ] {
        let a = cli(&source, &["--csv", "-c", query], "");
        let b = cli(&target, &["--csv", "-c", query], "");
        assert_eq!(text(&a.stdout), text(&b.stdout), "{query}");
        assert!(text(&a.stdout).lines().count() > 1, "{query}: {}", text(&a.stdout));
    }
    // The sequence continues after the copied rows, and the unique index came back.
    let out = cli(
        &target,
        &["--csv", "-c", "INSERT INTO items (name) VALUES ('d')", "-c", "SELECT id FROM items WHERE name = 'd'"],
        "",
    );
    assert_eq!(text(&out.stdout), "id\n4\n", "{}", text(&out.stderr));
    let out = cli(&target, &["-c", "INSERT INTO items (name) VALUES ('a')"], "");
    assert!(text(&out.stderr).contains("duplicate key"), "{}", text(&out.stderr));
}

#[test]
fn init_then_check_finds_a_damaged_page() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = Command::new(cli_binary()).arg("init").arg(&data).output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("RustyDB data directory created"), "{}", text(&out.stdout));
    let again = Command::new(cli_binary()).arg("init").arg(&data).output().unwrap();
    assert_eq!(again.status.code(), Some(1), "init refuses an existing directory");

    let server = TestServer::start_in(&data);
    let out = cli(
        &server,
        &["-v", "ON_ERROR_STOP=1"],
        "CREATE TABLE big (id INT PRIMARY KEY, pad TEXT);\nINSERT INTO big WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 3000) SELECT n, repeat('x', 200) FROM g;\nCHECKPOINT;\n",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let running = Command::new(cli_binary()).arg("check").arg(&data).output().unwrap();
    assert_eq!(running.status.code(), Some(2), "a running server's directory is refused");
    assert!(server.terminate().success());

    let clean = Command::new(cli_binary()).arg("check").arg(&data).output().unwrap();
    assert!(clean.status.success(), "{}{}", text(&clean.stdout), text(&clean.stderr));
    assert!(text(&clean.stdout).contains(" 0 damaged"), "{}", text(&clean.stdout));

    // Damage the second page of the largest data file in a copy of the directory.
    let copy = dir.path().join("copy");
    copy_dir(&data, &copy);
    let base = copy.join("base");
    let largest = std::fs::read_dir(&base)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .max_by_key(|p| std::fs::metadata(p).unwrap().len())
        .unwrap();
    let mut bytes = std::fs::read(&largest).unwrap();
    assert!(bytes.len() >= 2 * 4096);
    bytes[4096 + 2000] ^= 0xff;
    std::fs::write(&largest, &bytes).unwrap();
    let damaged = Command::new(cli_binary()).arg("check").arg(&copy).output().unwrap();
    assert_eq!(damaged.status.code(), Some(1), "{}", text(&damaged.stdout));
    let report = text(&damaged.stdout);
    assert!(
        report.contains(&format!("DAMAGED {} page 1: ", largest.display())) && report.contains("checksum mismatch"),
        "{report}"
    );
    assert!(report.contains(" 1 damaged"), "{report}");
    // The original is untouched.
    let original = Command::new(cli_binary()).arg("check").arg(&data).output().unwrap();
    assert!(original.status.success(), "{}", text(&original.stdout));
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}
