//! A session: one client's conversation with the engine, and the transaction state machine
//! PostgreSQL clients rely on (the status byte of ReadyForQuery).
//!
//! ```text
//!            BEGIN                      error
//!   Idle ───────────► InBlock ─────────────────► Failed
//!    ▲  ◄── COMMIT/ROLLBACK ──┘                    │ every statement: 25P02
//!    └───────────────── COMMIT (rolls back) / ROLLBACK ┘
//! ```
//!
//! Outside a block each statement runs in its own transaction, except that several statements
//! sent in one query string (with no transaction control among them) share one implicit
//! transaction, as in PostgreSQL: an error in the third rolls back the first two.

use crate::binder;
use crate::context::ExecContext;
use crate::engine::Engine;
use crate::executor;
use crate::parser;
use crate::plan::Statement;
use crate::result::{Notice, StatementResult};
use rustydb_foundation::{DbError, Result, SqlState};
use rustydb_txn::{IsolationLevel, Transaction};
use sqlparser::ast;
use std::sync::Arc;

/// Stack a statement may use: the deepest expression the parser admits needs about 4 MiB in a
/// debug build (less in release).
pub const STATEMENT_STACK_BYTES: usize = 6 << 20;

/// The transaction status a client sees (ReadyForQuery's `I`, `T`, `E`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransactionStatus {
    /// Not in a transaction block.
    Idle,
    /// In a transaction block.
    InBlock,
    /// In a failed transaction block: statements are refused until it ends.
    Failed,
}

#[derive(Debug)]
enum State {
    Idle,
    InBlock { txn: Transaction, read_only: bool },
    Failed(Transaction),
}

/// One client's session.
#[derive(Debug)]
pub struct Session {
    engine: Arc<Engine>,
    user: String,
    database: String,
    state: State,
    default_isolation: IsolationLevel,
}

impl Session {
    /// A session of `user` in `database` (already authenticated).
    pub fn new(engine: Arc<Engine>, user: &str, database: &str) -> Self {
        Session {
            engine,
            user: user.into(),
            database: database.into(),
            state: State::Idle,
            default_isolation: IsolationLevel::ReadCommitted,
        }
    }

    /// The session's user.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The transaction status.
    pub fn transaction_status(&self) -> TransactionStatus {
        match self.state {
            State::Idle => TransactionStatus::Idle,
            State::InBlock { .. } => TransactionStatus::InBlock,
            State::Failed(_) => TransactionStatus::Failed,
        }
    }

    /// Runs every statement of `sql` in order, stopping at the first error (which is the last
    /// element). A string with no statements gives an empty list.
    ///
    /// Parsing, binding and evaluation recurse once per expression level (up to
    /// [`parser::MAX_OPERATOR_CHAIN`]), so the work runs with at least [`STATEMENT_STACK_BYTES`]
    /// of stack: on the caller's stack when it has that much left, on a fresh segment otherwise.
    pub fn execute(&mut self, sql: &str) -> Vec<Result<StatementResult>> {
        let run = std::panic::AssertUnwindSafe(|| {
            stacker::maybe_grow(STATEMENT_STACK_BYTES, STATEMENT_STACK_BYTES + (2 << 20), || self.execute_here(sql))
        });
        // A panic is a bug, but one statement's bug must not take the connection (or, through a
        // poisoned transaction, other sessions) with it: its transaction was aborted by its
        // guard while unwinding, and the client gets an internal error.
        std::panic::catch_unwind(run).unwrap_or_else(|panic| {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            tracing::error!(panic = %what, "a statement panicked; its transaction was rolled back");
            vec![Err(DbError::Internal(format!("statement failed unexpectedly: {what}")))]
        })
    }

    fn execute_here(&mut self, sql: &str) -> Vec<Result<StatementResult>> {
        let statements = match parser::parse(sql) {
            Ok(s) => s,
            Err(e) => {
                if let State::InBlock { .. } = self.state {
                    self.fail_block();
                }
                return vec![Err(e)];
            }
        };
        let has_control =
            statements.iter().any(|s| matches!(binder::bind_transaction_control(s), Ok(Some(_)) | Err(_)));
        if statements.len() > 1 && !has_control && matches!(self.state, State::Idle) {
            return self.execute_implicit_block(&statements);
        }
        let mut results = Vec::with_capacity(statements.len());
        for stmt in &statements {
            let result = self.run(stmt);
            let failed = result.is_err();
            results.push(result);
            if failed {
                break;
            }
        }
        results
    }

    fn execute_implicit_block(&mut self, statements: &[ast::Statement]) -> Vec<Result<StatementResult>> {
        let engine = self.engine.clone();
        let tm = engine.txn_manager();
        let mut guard = tm.guard(tm.begin(self.default_isolation));
        let mut results = Vec::with_capacity(statements.len());
        for stmt in statements {
            let result = self.run_in(guard.txn(), false, stmt);
            let failed = result.is_err();
            results.push(result);
            if failed {
                guard.abort();
                return results;
            }
        }
        if let Err(e) = guard.commit() {
            results.push(Err(e));
        }
        results
    }

    fn run(&mut self, stmt: &ast::Statement) -> Result<StatementResult> {
        if let Some(control) = binder::bind_transaction_control(stmt)? {
            return self.control(control);
        }
        match std::mem::replace(&mut self.state, State::Idle) {
            State::Failed(txn) => {
                self.state = State::Failed(txn);
                Err(DbError::sql(
                    SqlState::InFailedSqlTransaction,
                    "current transaction is aborted, commands ignored until end of transaction block",
                ))
            }
            State::InBlock { txn, read_only } => {
                let engine = self.engine.clone();
                let mut guard = engine.txn_manager().guard(txn);
                let result = self.run_in(guard.txn(), read_only, stmt);
                let txn = guard.release();
                self.state = if result.is_ok() { State::InBlock { txn, read_only } } else { State::Failed(txn) };
                result
            }
            State::Idle => {
                let engine = self.engine.clone();
                let tm = engine.txn_manager();
                let mut guard = tm.guard(tm.begin(self.default_isolation));
                match self.run_in(guard.txn(), false, stmt) {
                    Ok(r) => guard.commit().map(|()| r),
                    Err(e) => {
                        guard.abort();
                        Err(e)
                    }
                }
            }
        }
    }

    fn run_in(&self, txn: &mut Transaction, read_only: bool, stmt: &ast::Statement) -> Result<StatementResult> {
        #[cfg(test)]
        tests::maybe_panic();
        if binder::bind_transaction_control(stmt)?.is_some() {
            return Err(DbError::Internal("transaction control inside an implicit block".into()));
        }
        let snapshot = self.engine.txn_manager().statement_snapshot(txn);
        let mut ctx = ExecContext::new(&self.engine, txn, snapshot, &self.user, &self.database);
        let bound = binder::bind(&mut ctx, stmt)?;
        if read_only && bound.writes() {
            return Err(DbError::sql(
                SqlState::ReadOnlySqlTransaction,
                format!("cannot execute {} in a read-only transaction", bound.command_name()),
            ));
        }
        executor::execute(&mut ctx, &bound)
    }

    fn control(&mut self, stmt: Statement) -> Result<StatementResult> {
        let tm = self.engine.txn_manager();
        match (stmt, std::mem::replace(&mut self.state, State::Idle)) {
            (Statement::Begin { isolation, read_only }, State::Idle) => {
                let txn = tm.begin(isolation.unwrap_or(self.default_isolation));
                self.state = State::InBlock { txn, read_only };
                Ok(StatementResult::tag("BEGIN"))
            }
            (Statement::Begin { .. }, State::InBlock { txn, read_only }) => {
                self.state = State::InBlock { txn, read_only };
                Ok(StatementResult::tag("BEGIN")
                    .with_notice(Notice::warning("25001", "there is already a transaction in progress")))
            }
            (Statement::Begin { .. }, State::Failed(txn)) => {
                self.state = State::Failed(txn);
                Err(DbError::sql(
                    SqlState::InFailedSqlTransaction,
                    "current transaction is aborted, commands ignored until end of transaction block",
                ))
            }
            (Statement::Commit, State::InBlock { txn, .. }) => tm.commit(txn).map(|()| StatementResult::tag("COMMIT")),
            (Statement::Commit, State::Failed(txn)) => {
                tm.abort(txn);
                Ok(StatementResult::tag("ROLLBACK"))
            }
            (Statement::Rollback, State::InBlock { txn, .. } | State::Failed(txn)) => {
                tm.abort(txn);
                Ok(StatementResult::tag("ROLLBACK"))
            }
            (Statement::Commit, State::Idle) => Ok(StatementResult::tag("COMMIT")
                .with_notice(Notice::warning("25P01", "there is no transaction in progress"))),
            (Statement::Rollback, State::Idle) => Ok(StatementResult::tag("ROLLBACK")
                .with_notice(Notice::warning("25P01", "there is no transaction in progress"))),
            (other, state) => {
                self.state = state;
                Err(DbError::Internal(format!("{} is not transaction control", other.command_name())))
            }
        }
    }

    fn fail_block(&mut self) {
        if let State::InBlock { txn, .. } = std::mem::replace(&mut self.state, State::Idle) {
            self.state = State::Failed(txn);
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        match std::mem::replace(&mut self.state, State::Idle) {
            State::InBlock { txn, .. } | State::Failed(txn) => self.engine.txn_manager().abort(txn),
            State::Idle => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EngineOptions;
    use std::cell::Cell;

    thread_local! {
        static PANIC_NEXT: Cell<bool> = const { Cell::new(false) };
    }

    /// Test hook: panics inside the next statement of this thread.
    pub(super) fn maybe_panic() {
        if PANIC_NEXT.with(|p| p.replace(false)) {
            panic!("injected by the test");
        }
    }

    #[test]
    fn a_panicking_statement_rolls_its_transaction_back_and_the_session_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(dir.path(), &EngineOptions::with_pool_pages(32)).unwrap();
        let mut s = engine.session("rustydb", "rustydb");
        let ok = |s: &mut Session, sql: &str| s.execute(sql).pop().unwrap().unwrap();
        ok(&mut s, "CREATE TABLE t (id INT PRIMARY KEY)");
        for block in [false, true] {
            if block {
                ok(&mut s, "BEGIN");
                ok(&mut s, "INSERT INTO t VALUES (1)");
            }
            PANIC_NEXT.with(|p| p.set(true));
            let err = s.execute("INSERT INTO t VALUES (2)").pop().unwrap().unwrap_err();
            assert_eq!(err.sqlstate(), SqlState::InternalError);
            assert!(err.to_string().contains("injected by the test"));
            assert_eq!(engine.txn_manager().active_count(), 0, "the panicked transaction is still in progress");
            assert_eq!(s.transaction_status(), TransactionStatus::Idle);
        }
        assert!(ok(&mut s, "SELECT id FROM t").rows.is_empty(), "the rolled-back block's insert is visible");
        ok(&mut s, "INSERT INTO t VALUES (1)");
    }
}
