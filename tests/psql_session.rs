//! psql, scripted: `tests/psql/*.sql` run by the real psql against a fresh server, the output
//! compared with `tests/psql/*.out` character for character. The expected files were checked
//! against PostgreSQL 15 running the same scripts (only owner names and the database list
//! differ). Skipped where psql is not installed.

#![allow(clippy::unwrap_used)] // Tests assert by unwrapping; a panic is the failure report.

use rustydb_tests::{TestServer, which};
use std::path::Path;

#[test]
fn psql_meta_commands_print_as_against_postgres() {
    let Some(psql) = which("psql") else {
        eprintln!("psql is not installed here; skipping the psql session");
        return;
    };
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("psql");
    let mut scripts: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    scripts.sort();
    assert!(!scripts.is_empty());
    for script in scripts {
        let server = TestServer::start();
        let out = std::process::Command::new(&psql)
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-U", "rustydb", "-d", "rustydb"])
            .args(["-p", &server.addr.port().to_string(), "-f"])
            .arg(&script)
            .env("PGCONNECT_TIMEOUT", "10")
            .env("PAGER", "")
            .env("COLUMNS", "200")
            .output()
            .unwrap();
        let got = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{}: psql failed:\n{got}", script.display());
        let want = std::fs::read_to_string(script.with_extension("out")).unwrap();
        assert_eq!(got, want, "{}: output differs", script.display());
    }
}
