//! The Python drivers: psycopg 3 and asyncpg run tests/python/*_driver.py against the real
//! server (every supported type as parameters and results, text and binary, prepared
//! statements, transactions, COPY, errors with their SQLSTATE).
//!
//! The drivers come from PyPI into a virtual environment: `.ci/run` makes `target/pyenv` from
//! tests/python/requirements.txt and sets `RUSTYDB_REQUIRE_PYTHON_DRIVERS=1`, so in CI a
//! missing driver fails the test; elsewhere the test skips (saying so) when the environment is
//! absent. `RUSTYDB_PYTHON` names another interpreter.

#![allow(clippy::unwrap_used)] // Tests assert by unwrapping; a panic is the failure report.

use rustydb_tests::TestServer;
use std::path::{Path, PathBuf};
use std::process::Command;

fn python() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("RUSTYDB_PYTHON") {
        return Some(PathBuf::from(p));
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let venv = root.join("target/pyenv/bin/python");
    venv.exists().then_some(venv)
}

/// The interpreter, if it can import `module`.
fn driver(module: &str) -> Option<PathBuf> {
    let python = python();
    let found = python.as_ref().is_some_and(|p| {
        Command::new(p).args(["-c", &format!("import {module}")]).output().is_ok_and(|o| o.status.success())
    });
    if !found {
        assert!(
            std::env::var_os("RUSTYDB_REQUIRE_PYTHON_DRIVERS").is_none(),
            "the Python driver {module} is required here but is not installed in {python:?}"
        );
        eprintln!("skipping: no Python with {module} (run .ci/run's pyenv step, or set RUSTYDB_PYTHON)");
        return None;
    }
    python
}

fn run(python: &Path, script: &str, dsn: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("python").join(script);
    let out = Command::new(python).arg(&path).arg(dsn).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{script} failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains(" ok"), "{script}: {stdout}");
}

#[test]
fn psycopg3() {
    let Some(python) = driver("psycopg") else { return };
    let server = TestServer::start();
    run(&python, "psycopg_driver.py", &server.conn_str("rustydb", "rustydb"));
}

#[test]
fn asyncpg() {
    let Some(python) = driver("asyncpg") else { return };
    let server = TestServer::start();
    let dsn = format!("postgresql://rustydb@{}/rustydb", server.addr);
    run(&python, "asyncpg_driver.py", &dsn);
}
