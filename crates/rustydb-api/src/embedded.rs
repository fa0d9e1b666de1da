//! The embedded, in-process database: open a directory, run SQL, no network.

use crate::typed::{FromSql, Row, ToSql};
use crate::{Result, StatementResult, TransactionStatus, Value};
use rustydb_foundation::{Config, DbError, SqlState};
use rustydb_query::{Engine, EngineOptions, PreparedStatement, ResultColumn, Session};
use rustydb_security::Authenticator;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::path::Path;
use std::sync::Arc;

/// An open database directory, used in-process.
#[derive(Debug)]
pub struct Database {
    engine: Arc<Engine>,
    auth: Authenticator,
    options: EngineOptions,
}

impl Database {
    /// Opens (creating on first use) the database in `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Database> {
        Self::open_with(path, EngineOptions::default())
    }

    /// Opens with explicit engine options (buffer pool size, bootstrap names).
    pub fn open_with(path: impl AsRef<Path>, mut options: EngineOptions) -> Result<Database> {
        rustydb_security::install(&mut options, &Config::default(), path.as_ref())?;
        let engine = Engine::open(path.as_ref(), &options)?;
        // In-process callers are local: the same rules as a loopback client of the server.
        let auth = Authenticator::from_config(engine.clone(), &Config::default())?;
        Ok(Database { engine, auth, options })
    }

    /// A connection as the bootstrap superuser to the bootstrap database.
    pub fn connect(&self) -> Result<Connection> {
        self.connect_as(&self.options.bootstrap_user, &self.options.bootstrap_database)
    }

    /// A connection as `user` to `database`, admitted by the security layer.
    pub fn connect_as(&self, user: &str, database: &str) -> Result<Connection> {
        // In-process callers are local: what the rules demand of a loopback client. The
        // embedded API has no password exchange yet, so only trusted logins pass.
        match self.auth.method(user, database, IpAddr::V6(Ipv6Addr::LOCALHOST), false)? {
            rustydb_security::AuthMethod::Trust => {}
            _ => {
                return Err(Authenticator::password_failed(user));
            }
        }
        let principal = self.auth.admit(user, database)?;
        Ok(Connection::new(self.engine.session(&principal.user, &principal.database)))
    }

    /// A connection as `user` to `database`, proving the role's password (checked against its
    /// SCRAM verifier, as a wire login is). 28P01 for a wrong password or an unknown role.
    pub fn connect_with_password(&self, user: &str, password: &str, database: &str) -> Result<Connection> {
        if let Err(refusal) = self.auth.password_login(user, password, database, None) {
            std::thread::sleep(refusal.pause);
            return Err(refusal.error);
        }
        let principal = self.auth.admit(user, database)?;
        self.auth.login_succeeded(&principal.user, &principal.database, None);
        Ok(Connection::new(self.engine.session(&principal.user, &principal.database)))
    }

    /// The engine underneath (for the server and tools).
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// Writes every dirty page and syncs the data files. Committed data is durable without
    /// this (the log is); it makes the next open faster.
    pub fn close(self) -> Result<()> {
        self.engine.shutdown()
    }
}

/// Prepared statements a connection keeps by their text, so a statement run again is neither
/// parsed nor analysed again (SQLite's `prepare_cached`).
const STATEMENT_CACHE: usize = 64;

/// An in-process connection: one session with its own transaction state.
#[derive(Debug)]
pub struct Connection {
    session: Session,
    cache: HashMap<String, std::sync::Arc<Statement>>,
}

/// A prepared statement of one connection: parsed and analysed once, run many times with
/// different parameters ([`Connection::prepare`]).
#[derive(Debug, Clone)]
pub struct Statement {
    prepared: PreparedStatement,
    columns: std::sync::Arc<[ResultColumn]>,
}

impl Statement {
    /// Its result columns (empty for a statement that returns no rows).
    pub fn columns(&self) -> &[ResultColumn] {
        &self.columns
    }

    /// How many parameters (`$1`, `$2`, ...) it takes.
    pub fn param_count(&self) -> usize {
        self.prepared.param_types.len()
    }
}

impl Connection {
    fn new(session: Session) -> Self {
        Connection { session, cache: HashMap::new() }
    }

    /// Runs every statement in `sql`; returns the last statement's result, or the first error.
    pub fn execute(&mut self, sql: &str) -> Result<StatementResult> {
        self.session.execute_script(sql)
    }

    /// Runs a query and returns its rows as values.
    pub fn query(&mut self, sql: &str) -> Result<Vec<Vec<Value>>> {
        Ok(self.execute(sql)?.rows)
    }

    /// Runs `COPY ... FROM STDIN` with `data` as its input (text, CSV or binary, as the
    /// statement says); returns the rows copied. The fast way to load many rows.
    pub fn copy_in(&mut self, sql: &str, data: &[u8]) -> Result<u64> {
        let result = self.execute(sql)?;
        if !matches!(result.copy, Some(rustydb_query::CopyResponse::In { .. })) {
            return Err(DbError::sql(SqlState::WrongObjectType, "copy_in needs a COPY ... FROM STDIN statement"));
        }
        if let Err(e) = self.session.copy_data(data) {
            self.session.copy_fail("the data was refused");
            return Err(e);
        }
        let done = self.session.copy_done()?;
        Ok(done.row_count())
    }

    /// Prepares one statement.
    pub fn prepare(&mut self, sql: &str) -> Result<Statement> {
        let prepared = self.session.prepare(sql, &[])?;
        let columns = prepared.columns.clone().unwrap_or_default().into();
        Ok(Statement { prepared, columns })
    }

    /// Runs a prepared statement with `params`; returns its whole result.
    pub fn run(&mut self, statement: &Statement, params: &[&dyn ToSql]) -> Result<StatementResult> {
        let types = &statement.prepared.param_types;
        if params.len() != types.len() {
            return Err(DbError::sql(
                SqlState::ProtocolViolation,
                format!("{} parameters given, but the statement takes {}", params.len(), types.len()),
            ));
        }
        let mut values = Vec::with_capacity(params.len());
        for (i, (p, ty)) in params.iter().zip(types).enumerate() {
            match crate::typed::bind(p.to_sql(), *ty, i + 1) {
                Ok(v) => values.push(v),
                Err(e) => {
                    self.session.fail();
                    return Err(e);
                }
            }
        }
        self.session.execute_prepared(&statement.prepared, values)
    }

    /// The cached statement for `sql`, prepared on first use.
    fn cached(&mut self, sql: &str) -> Result<std::sync::Arc<Statement>> {
        if let Some(s) = self.cache.get(sql) {
            return Ok(s.clone());
        }
        let statement = std::sync::Arc::new(self.prepare(sql)?);
        if self.cache.len() >= STATEMENT_CACHE {
            self.cache.clear();
        }
        self.cache.insert(sql.to_string(), statement.clone());
        Ok(statement)
    }

    /// Runs one statement with `params`; returns the rows it affected (or returned).
    pub fn execute_with(&mut self, sql: &str, params: &[&dyn ToSql]) -> Result<u64> {
        let statement = self.cached(sql)?;
        let result = self.run(&statement, params)?;
        Ok(result.row_count())
    }

    /// Runs one query with `params`; returns its rows.
    pub fn query_with(&mut self, sql: &str, params: &[&dyn ToSql]) -> Result<Vec<Row>> {
        let statement = self.cached(sql)?;
        let result = self.run(&statement, params)?;
        // The columns of this run: the statement is analysed again at each run, and its table
        // may have changed since it was cached.
        let columns: std::sync::Arc<[ResultColumn]> = match result.columns {
            Some(c) if c.as_slice() != &*statement.columns => c.into(),
            _ => statement.columns.clone(),
        };
        Ok(result.rows.into_iter().map(|values| Row::new(columns.clone(), values)).collect())
    }

    /// The first row of a query with `params`; P0002 (no data found) when there is none.
    pub fn query_row(&mut self, sql: &str, params: &[&dyn ToSql]) -> Result<Row> {
        self.query_with(sql, params)?
            .into_iter()
            .next()
            .ok_or_else(|| DbError::sql(SqlState::NoDataFound, "the query returned no rows"))
    }

    /// The first column of the first row, converted: `conn.query_value::<i64>("SELECT count(*) FROM t", &[])`.
    pub fn query_value<T: FromSql>(&mut self, sql: &str, params: &[&dyn ToSql]) -> Result<T> {
        self.query_row(sql, params)?.get(0)
    }

    /// Begins a transaction block; it commits with [`Transaction::commit`] and rolls back
    /// otherwise (explicitly, or when dropped).
    pub fn transaction(&mut self) -> Result<Transaction<'_>> {
        self.execute("BEGIN")?;
        Ok(Transaction { conn: self, done: false })
    }

    /// The transaction status (idle, in a block, or in a failed block).
    pub fn transaction_status(&self) -> TransactionStatus {
        self.session.transaction_status()
    }
}

/// A transaction block on a [`Connection`]: statements run through it (it derefs to the
/// connection) and it ends with [`commit`](Self::commit) or [`rollback`](Self::rollback); a
/// dropped one rolls back, so an early return or a panic never leaves a block open.
#[derive(Debug)]
pub struct Transaction<'c> {
    conn: &'c mut Connection,
    done: bool,
}

impl Transaction<'_> {
    /// Commits. A block that failed rolls back instead and this returns 25P02-style
    /// (as PostgreSQL's COMMIT of a failed block reports ROLLBACK).
    pub fn commit(mut self) -> Result<()> {
        self.done = true;
        let failed = self.conn.transaction_status() == TransactionStatus::Failed;
        let result = self.conn.execute("COMMIT")?;
        if failed || result.tag == "ROLLBACK" {
            return Err(DbError::sql(
                SqlState::InFailedSqlTransaction,
                "the transaction had failed and was rolled back instead of committed",
            ));
        }
        Ok(())
    }

    /// Rolls back.
    pub fn rollback(mut self) -> Result<()> {
        self.done = true;
        self.conn.execute("ROLLBACK").map(|_| ())
    }
}

impl std::ops::Deref for Transaction<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn
    }
}

impl std::ops::DerefMut for Transaction<'_> {
    fn deref_mut(&mut self) -> &mut Connection {
        self.conn
    }
}

impl Drop for Transaction<'_> {
    fn drop(&mut self) {
        if !self.done {
            let _ = self.conn.execute("ROLLBACK");
        }
    }
}
