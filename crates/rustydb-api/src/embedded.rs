//! The embedded, in-process database: open a directory, run SQL, no network.

use crate::{Result, StatementResult, TransactionStatus, Value};
use rustydb_foundation::Config;
use rustydb_query::{Engine, EngineOptions, Session};
use rustydb_security::Authenticator;
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
        if options.password_encoder.is_none() {
            options.password_encoder = Some(Arc::new(rustydb_security::ScramEncoder::default()));
        }
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
        Ok(Connection { session: self.engine.session(&principal.user, &principal.database) })
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

/// An in-process connection: one session with its own transaction state.
#[derive(Debug)]
pub struct Connection {
    session: Session,
}

impl Connection {
    /// Runs every statement in `sql`; returns the last statement's result, or the first error.
    pub fn execute(&mut self, sql: &str) -> Result<StatementResult> {
        let mut last = StatementResult::default();
        for result in self.session.execute(sql) {
            last = result?;
        }
        Ok(last)
    }

    /// Runs a query and returns its rows.
    pub fn query(&mut self, sql: &str) -> Result<Vec<Vec<Value>>> {
        Ok(self.execute(sql)?.rows)
    }

    /// The transaction status (idle, in a block, or in a failed block).
    pub fn transaction_status(&self) -> TransactionStatus {
        self.session.transaction_status()
    }
}
