//! # rustydb-api — layer 8
//!
//! The ways to use RustyDB besides the wire protocol:
//! - [`Database`]: the embedded, in-process handle — open a directory, run SQL, no network —
//!   the SQLite-like way to use the same engine, with logins decided by the same security layer
//!   as the server;
//! - [`rest`]: the REST/JSON API, `/metrics` and the health endpoints, served on their own port
//!   when the server is started with `--http-listen`;
//! - [`metrics_export`]: the Prometheus exporter, the one `metrics` recorder of the process.
//!
//! ```no_run
//! let db = rustydb_api::Database::open("my-data")?;
//! let mut conn = db.connect()?;
//! conn.execute("CREATE TABLE t (id INT PRIMARY KEY, name TEXT)")?;
//! conn.execute("INSERT INTO t VALUES (1, 'one')")?;
//! let rows = conn.query("SELECT name FROM t WHERE id = 1")?;
//! assert_eq!(rows[0][0], rustydb_api::Value::Text("one".into()));
//! # Ok::<(), rustydb_api::DbError>(())
//! ```
//!
//! ## What it must never know
//! Page formats or plan internals: it goes through sessions like every other interface.

#![deny(missing_docs)]

pub mod cli;
pub mod embedded;
pub mod json;
pub mod metrics_export;
pub mod rest;
pub mod typed;

pub use embedded::{Connection, Database, Statement, Transaction};
pub use rustydb_foundation::{DbError, Result, SqlState, Value};
pub use rustydb_query::{ResultColumn, StatementResult, TransactionStatus};
pub use typed::{FromSql, Row, ToSql};
