//! A session: one client's conversation with the engine, and the transaction state machine
//! PostgreSQL clients rely on (the status byte of ReadyForQuery).
//!
//! ```text
//!            BEGIN                      error
//!   Idle ───────────► InBlock ─────────────────► Failed
//!    ▲  ◄── COMMIT/ROLLBACK ──┘  ◄── ROLLBACK TO ──┤ every other statement: 25P02
//!    └───────────────── COMMIT (rolls back) / ROLLBACK ┘
//! ```
//!
//! An error in a block with no savepoint rolls the transaction back at once (its locks go
//! with it). With savepoints open, only the innermost savepoint's work is undone then, and
//! `ROLLBACK TO` a savepoint resumes the block, as in PostgreSQL.
//!
//! Outside a block each statement runs in its own transaction, except that several statements
//! sent in one query string (with no transaction control among them) share one implicit
//! transaction, as in PostgreSQL: an error in the third rolls back the first two.

mod copy_in;
mod cursor;
mod observe;
mod prepare_sql;

use crate::bind_expr;
use crate::binder;
use crate::context::ExecContext;
use crate::engine::Engine;
use crate::executor;
use crate::interrupt::Interrupt;
use crate::params::{self, Params};
use crate::parser::{self, DatabaseCommand, Parsed, VacuumCommand};
use crate::plan::Statement;
use crate::plan_cache::{PlanSlot, Runner};
use crate::result::ResultColumn;
use crate::result::{Notice, StatementResult};
use crate::settings::{InTransaction, SessionSettings};
use crate::vacuum::{self, Busy};
use rustydb_foundation::{DataType, Value};
use rustydb_foundation::{DbError, Result, SqlState};
use rustydb_txn::{IsolationLevel, Transaction};
use sqlparser::ast;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

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
    InBlock {
        txn: Transaction,
        read_only: bool,
    },
    /// An error ended the block's work. Without savepoints the transaction was rolled back
    /// when it happened (its locks released, its changes invisible, as in PostgreSQL) and
    /// `open` is empty; with savepoints the innermost one's work was undone and the
    /// transaction waits in `open` for ROLLBACK TO (or COMMIT/ROLLBACK, which end it).
    Failed {
        /// The transaction and its READ ONLY flag, if a savepoint can resume it.
        open: Option<(Transaction, bool)>,
    },
}

/// One client's session.
#[derive(Debug)]
pub struct Session {
    engine: Arc<Engine>,
    /// Query results past `work_mem` are spooled to disk (see [`Session::spool_results`]).
    spool_results: bool,
    user: String,
    database: String,
    state: State,
    /// The settings in effect.
    settings: SessionSettings,
    /// Inside a transaction block: what its end does to the settings.
    block_settings: Option<BlockSettings>,
    /// A COPY FROM STDIN waiting for data.
    copy: Option<copy_in::CopyIn>,
    /// Set by a cancel request: the running statement stops (see `interrupt.rs`).
    cancel: Arc<AtomicBool>,
    /// What `currval` and `lastval` report.
    sequences: Arc<parking_lot::Mutex<crate::sequence::SessionSequences>>,
    /// This session's entry in `pg_stat_activity`.
    backend: Arc<crate::backends::Backend>,
    /// The last statement text and its normalised form (`pg_stat_statements`), so a statement
    /// run again is not normalised again.
    normalized: parking_lot::Mutex<(String, String)>,
    /// Its temporary schema (see `schemas.rs`), dropped when it ends.
    temp_schema: Arc<crate::schemas::TempSchema>,
    /// Its named prepared statements, kept by the wire layer.
    prepared: Arc<crate::prepared_statements::PreparedStatements>,
    /// Open SQL cursors (DECLARE ... FETCH; see `cursor.rs`).
    cursors: cursor::Cursors,
}

/// Settings are transactional, as PostgreSQL's: a `SET` inside a block lasts if the block
/// commits and is undone if it rolls back (or if the savepoint it followed is rolled back to);
/// a `SET LOCAL` lasts until the block ends either way.
#[derive(Debug)]
struct BlockSettings {
    /// The settings when the block began: what a rollback restores.
    before: SessionSettings,
    /// The settings with only the block's plain `SET`s applied: what a commit keeps.
    session: SessionSettings,
    /// At each open savepoint: its name, and the settings in effect and at session level then.
    savepoints: Vec<(String, SessionSettings, SessionSettings)>,
}

impl Session {
    /// A session of `user` in `database` (already authenticated).
    pub fn new(engine: Arc<Engine>, user: &str, database: &str) -> Self {
        let cancel: Arc<AtomicBool> = Arc::default();
        let backend = engine.backends().register(user, database, cancel.clone());
        let temp_schema = Arc::new(crate::schemas::TempSchema::for_session(backend.key()));
        let mut settings = SessionSettings::default();
        settings.log_min_duration_statement = engine.log_min_duration_statement();
        settings.log_min_duration_default = engine.log_min_duration_statement();
        Session {
            spool_results: false,
            engine,
            user: user.into(),
            database: database.into(),
            state: State::Idle,
            settings,
            block_settings: None,
            copy: None,
            cancel,
            sequences: Arc::default(),
            backend,
            normalized: Default::default(),
            temp_schema,
            prepared: Arc::default(),
            cursors: cursor::Cursors::default(),
        }
    }

    /// The session's named prepared statements: the wire layer keeps what Parse prepares
    /// there, so that `pg_prepared_statements` lists them.
    pub fn prepared_statements(&self) -> Arc<crate::prepared_statements::PreparedStatements> {
        self.prepared.clone()
    }

    /// Has query results (SELECT, COPY TO) that outgrow `work_mem` kept in a temporary file
    /// and handed over as [`StatementResult::spooled`], for a caller that sends them on a
    /// batch at a time (the wire layer), instead of held in memory, where they count against
    /// `statement_memory_limit_mb`. Off by default: an embedded caller gets every row in
    /// [`StatementResult::rows`].
    pub fn spool_results(&mut self, on: bool) {
        self.spool_results = on;
    }

    /// Tells `pg_stat_activity` who the client is: the pid it was given, its
    /// `application_name` and its address (the wire layer calls this at startup).
    pub fn set_client(&mut self, pid: i32, application_name: &str, client: Option<std::net::SocketAddr>) {
        let mut info = self.backend.info.lock();
        info.pid = pid;
        info.client = client;
        info.application_name = application_name.to_string();
        drop(info);
        if !application_name.is_empty() {
            let _ = self.settings.set("application_name", Some(application_name));
        }
    }

    /// The pid `pg_stat_activity` and `pg_backend_pid()` show for this session.
    pub fn pid(&self) -> i32 {
        self.backend.info.lock().pid
    }

    /// Installs what closes the session's connection when `pg_terminate_backend` (or DROP
    /// DATABASE ... WITH (FORCE)) ends the session.
    pub fn on_terminate(&self, hook: crate::backends::TerminateHook) {
        self.backend.on_terminate(hook);
    }

    /// The flag a cancel request sets to stop the session's running statement (the wire
    /// layer hands it to whoever may cancel; a new statement clears it).
    pub fn cancel_flag(&self) -> Arc<AtomicBool> {
        self.cancel.clone()
    }

    /// What stops a statement starting now: a cancel, or `statement_timeout`.
    fn interrupt(&self) -> Interrupt {
        let timeout = self.settings.statement_timeout;
        Interrupt::new(self.cancel.clone(), (!timeout.is_zero()).then(|| Instant::now() + timeout))
    }

    /// The role the session acts as: `SET ROLE`'s, or the user it logged in as. Privileges are
    /// checked against it, and it is `current_user`.
    pub fn role(&self) -> &str {
        self.settings.role.as_deref().unwrap_or(&self.user)
    }

    /// True if the session's database is being dropped: a session that has just started must
    /// then end at once (see [`crate::backends::Backends::try_claim`]).
    pub fn database_closing(&self) -> bool {
        self.engine.backends().is_closing(&self.database)
    }

    /// The session's user.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// Applies a setting the client's startup packet asks for (see the wire layer's
    /// `startup_options`), checked as `SET` checks it.
    pub fn set_startup(&mut self, name: &str, value: &str) -> Result<()> {
        self.may_set(name, Some(value))?;
        self.settings.set(name, Some(value))
    }

    /// The session's settings.
    pub fn settings(&self) -> &SessionSettings {
        &self.settings
    }

    /// Starts a transaction with the session's lock settings.
    fn begin(&self, isolation: Option<IsolationLevel>) -> Transaction {
        let mut txn = self.engine.txn_manager().begin(isolation.unwrap_or(self.settings.default_isolation));
        txn.wait = self.settings.lock_wait();
        txn
    }

    /// The transaction status.
    pub fn transaction_status(&self) -> TransactionStatus {
        match self.state {
            State::Idle => TransactionStatus::Idle,
            State::InBlock { .. } => TransactionStatus::InBlock,
            State::Failed { .. } => TransactionStatus::Failed,
        }
    }

    /// Runs every statement of `sql` in order, stopping at the first error (which is the last
    /// element). A string with no statements gives an empty list.
    ///
    /// Parsing, binding and evaluation recurse once per expression level (up to
    /// [`parser::MAX_OPERATOR_CHAIN`]), so the work runs with at least [`STATEMENT_STACK_BYTES`]
    /// of stack: on the caller's stack when it has that much left, on a fresh segment otherwise.
    pub fn execute(&mut self, sql: &str) -> Vec<Result<StatementResult>> {
        self.cancel.store(false, Ordering::Relaxed);
        if let Err(e) = self.check_terminated() {
            return vec![Err(e)];
        }
        let started = self.observe_start(sql);
        let results = self.guarded(|s| s.execute_here(sql), |e| vec![Err(e)]);
        self.observe_end(sql, started, results.last());
        results
    }

    /// 57P01 once the session has been terminated (`pg_terminate_backend`): it runs nothing
    /// more, whether or not its interface closes it (checked after the cancel flag is
    /// cleared, so a termination arriving between statements is not lost).
    fn check_terminated(&self) -> Result<()> {
        if self.backend.is_terminated() {
            self.cancel.store(true, Ordering::Relaxed);
            return Err(DbError::sql(SqlState::AdminShutdown, "terminating connection due to administrator command"));
        }
        Ok(())
    }

    /// Runs every statement of `sql` (as [`Session::execute`]) and returns the last one's
    /// result, or the first error: what an interface that answers once per request wants.
    pub fn execute_script(&mut self, sql: &str) -> Result<StatementResult> {
        let mut last = StatementResult::default();
        for result in self.execute(sql) {
            last = result?;
        }
        Ok(last)
    }

    /// Runs `work` with at least [`STATEMENT_STACK_BYTES`] of stack, and turns a panic in it into
    /// an internal error (`on_panic`) that leaves the session usable.
    fn guarded<T>(&mut self, work: impl FnOnce(&mut Self) -> T, on_panic: impl FnOnce(DbError) -> T) -> T {
        let in_block = !matches!(self.state, State::Idle);
        let run = std::panic::AssertUnwindSafe(|| {
            stacker::maybe_grow(STATEMENT_STACK_BYTES, STATEMENT_STACK_BYTES + (2 << 20), || work(self))
        });
        // A panic is a bug, but one statement's bug must not take the connection (or, through a
        // poisoned transaction, other sessions) with it: its transaction was aborted by its
        // guard while unwinding, and the client gets an internal error. A block it hit is
        // failed, as after any error: the client's next statements must not run on their own
        // as if the block were still open.
        std::panic::catch_unwind(run).unwrap_or_else(|panic| {
            self.state = if in_block { State::Failed { open: None } } else { State::Idle };
            self.end_block_settings(false);
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            tracing::error!(panic = %what, "a statement panicked; its transaction was rolled back");
            on_panic(DbError::Internal(format!("statement failed unexpectedly: {what}")))
        })
    }

    /// Prepares `sql` (the extended protocol's Parse): parses one statement and, for a data
    /// statement, binds it to check it and learn its parameter and result types, as PostgreSQL
    /// analyses a statement at Parse. `declared` holds the parameter types the client gave
    /// ([`DataType::Unknown`] for one it left unspecified).
    ///
    /// Binding takes the locks a statement's tables need: inside a transaction block they are
    /// kept (as PostgreSQL keeps them); outside one they go with a transaction of its own.
    /// An error fails a transaction block, as any error does.
    pub fn prepare(&mut self, sql: &str, declared: &[DataType]) -> Result<PreparedStatement> {
        self.guarded(|s| s.prepare_here(sql, declared), Err)
    }

    fn prepare_here(&mut self, sql: &str, declared: &[DataType]) -> Result<PreparedStatement> {
        let failed = |s: &mut Self, e: DbError| {
            s.fail_block();
            Err(e)
        };
        let mut statements = match self.check_length(sql).and_then(|()| parser::parse_script(sql)) {
            Ok(s) => s,
            Err(e) => return failed(self, e),
        };
        if statements.len() > 1 {
            return failed(self, DbError::syntax("cannot insert multiple commands into a prepared statement"));
        }
        let mut prepared = PreparedStatement {
            sql: sql.to_string(),
            statement: statements.pop(),
            param_types: declared.iter().map(|t| if *t == DataType::Unknown { DataType::Text } else { *t }).collect(),
            columns: None,
            prepared_at: rustydb_foundation::datetime::now(),
            from_sql: false,
            plan: Arc::default(),
        };
        if let Some(Parsed::Fetch(cmd)) = &prepared.statement {
            // A FETCH returns its cursor's columns (none if it is not open yet, as in PostgreSQL).
            if !cmd.only_move {
                prepared.columns = self.cursors.columns(&cmd.cursor);
            }
            return Ok(prepared);
        }
        let Some(Parsed::Sql(stmt)) = &prepared.statement else { return Ok(prepared) };
        // DECLARE returns no rows; its query's parameters are the statement's.
        let declared_query;
        let (stmt, declaring) = match &**stmt {
            ast::Statement::Declare { stmts } => match stmts.as_slice() {
                [ast::Declare { for_query: Some(query), .. }] => {
                    declared_query = ast::Statement::Query(query.clone());
                    (&declared_query, true)
                }
                _ => return Ok(prepared),
            },
            ast::Statement::Close { .. } => return Ok(prepared),
            other => (other, false),
        };
        // SQL's PREPARE and EXECUTE run as their own statements (see `prepare_sql.rs`): PREPARE
        // returns no rows, EXECUTE those of the statement it names (if it is prepared now).
        match stmt {
            ast::Statement::Prepare { .. } => return Ok(prepared),
            ast::Statement::Execute { name: Some(name), .. } => {
                let name = crate::grant::object_name(name).unwrap_or_default();
                prepared.columns = self.prepared.get(&name).and_then(|p| p.columns.clone());
                return Ok(prepared);
            }
            _ => {}
        }
        let control = match binder::bind_transaction_control(stmt) {
            Ok(control) => control,
            Err(e) => return failed(self, e),
        };
        if let Some(control) = control {
            let ends_block =
                matches!(control, Statement::Commit | Statement::Rollback | Statement::RollbackToSavepoint { .. });
            if matches!(self.state, State::Failed { .. }) && !ends_block {
                return Err(in_failed_block());
            }
            if let Statement::Show { name } = &control {
                prepared.columns = Some(show_columns(name));
            }
            if let Statement::SetConfig { .. } = &control {
                prepared.columns = control.result_columns();
            }
            return Ok(prepared);
        }
        let params = Params::preparing(declared.to_vec());
        let describe = |s: &Self, txn: &mut Transaction, in_block: bool| -> Result<(Vec<DataType>, _)> {
            let snapshot = s.engine.txn_manager().statement_snapshot(txn);
            let mut ctx = ExecContext::new(&s.engine, txn, snapshot, s.role(), &s.database);
            ctx.in_block = in_block;
            ctx.settings = Some(&s.settings);
            ctx.temp_schema = Some(s.temp_schema.clone());
            ctx.params = params.clone();
            if crate::bind_copy::is_copy_from_stdin(stmt) {
                // Checked now (table, columns, options), as PostgreSQL checks it at Parse.
                crate::bind_copy::bind_copy_from(&mut ctx, stmt)?;
                return Ok((ctx.params.clone().finished_types(), None));
            }
            let bound = binder::bind(&mut ctx, stmt)?;
            let columns = bound.result_columns();
            Ok((params::inferred_types(&bound, &ctx.params), columns))
        };
        let described = match std::mem::replace(&mut self.state, State::Idle) {
            failed @ State::Failed { .. } => {
                self.state = failed;
                return Err(in_failed_block());
            }
            State::InBlock { txn, read_only } => {
                let engine = self.engine.clone();
                let mut guard = engine.txn_manager().guard(txn);
                let result = describe(self, guard.txn(), true);
                let txn = guard.release();
                self.state = self.after(result.is_ok(), txn, read_only);
                result
            }
            State::Idle => {
                let engine = self.engine.clone();
                let mut guard = engine.txn_manager().guard(self.begin(None));
                let result = describe(self, guard.txn(), false);
                guard.abort();
                result
            }
        };
        let (param_types, columns) = described?;
        prepared.param_types = param_types;
        prepared.columns = if declaring { None } else { columns };
        Ok(prepared)
    }

    /// Executes a prepared statement with `values` for its parameters, each already of its
    /// parameter's type (the extended protocol's Bind and Execute). It runs its cached generic
    /// plan where that is valid and equal to the custom plan (see `plan_cache.rs`), else it is
    /// bound again with the values, so it is planned for them and sees the tables as they are.
    pub fn execute_prepared(&mut self, prepared: &PreparedStatement, values: Vec<Value>) -> Result<StatementResult> {
        self.cancel.store(false, Ordering::Relaxed);
        self.check_terminated()?;
        params::check_count(values.len(), prepared.param_types.len(), "")?;
        let started = self.observe_start(&prepared.sql);
        let result = self.guarded(|s| s.run_prepared_statement(prepared, values), Err);
        self.observe_end(&prepared.sql, started, Some(&result));
        result
    }

    /// 54000 for a statement text longer than the server accepts (`max_statement_bytes`),
    /// before any work is spent on it.
    fn check_length(&self, sql: &str) -> Result<()> {
        let max = self.engine.max_statement_bytes();
        if sql.len() > max {
            return Err(DbError::sql(
                SqlState::ProgramLimitExceeded,
                format!("statement is too long: {} bytes, the limit is {max}", sql.len()),
            ));
        }
        Ok(())
    }

    fn execute_here(&mut self, sql: &str) -> Vec<Result<StatementResult>> {
        let statements = match self.check_length(sql).and_then(|()| parser::parse_script(sql)) {
            Ok(s) => s,
            Err(e) => {
                if let State::InBlock { .. } = self.state {
                    self.fail_block();
                }
                return vec![Err(e)];
            }
        };
        let has_control = statements.iter().any(|s| match s {
            Parsed::Checkpoint | Parsed::Vacuum(_) | Parsed::Database(_) => false,
            // Cursors belong to the session's block (see `cursor.rs`).
            Parsed::Fetch(_) => true,
            // PREPARE and EXECUTE run as their own statements (see `prepare_sql.rs`).
            Parsed::Sql(s) => {
                matches!(
                    **s,
                    ast::Statement::Prepare { .. }
                        | ast::Statement::Execute { .. }
                        | ast::Statement::Declare { .. }
                        | ast::Statement::Close { .. }
                ) || matches!(binder::bind_transaction_control(s), Ok(Some(_)) | Err(_))
            }
        });
        if statements.len() > 1 && !has_control && matches!(self.state, State::Idle) {
            return self.execute_implicit_block(&statements);
        }
        let mut results = Vec::with_capacity(statements.len());
        for stmt in &statements {
            let result = match stmt {
                Parsed::Sql(stmt) => self.run(stmt, &Params::default(), None),
                Parsed::Checkpoint => self.checkpoint(),
                Parsed::Vacuum(cmd) => self.vacuum(cmd),
                Parsed::Database(cmd) => self.database_command(cmd),
                Parsed::Fetch(cmd) => self.fetch(cmd),
            };
            let failed = result.is_err();
            results.push(result);
            if failed {
                break;
            }
        }
        results
    }

    fn execute_implicit_block(&mut self, statements: &[Parsed]) -> Vec<Result<StatementResult>> {
        let engine = self.engine.clone();
        let tm = engine.txn_manager();
        let mut guard = tm.guard(self.begin(None));
        let read_only = self.settings.default_read_only;
        let mut results = Vec::with_capacity(statements.len());
        for stmt in statements {
            let result = match stmt {
                Parsed::Sql(stmt) => self.run_in(guard.txn(), read_only, true, stmt, &Params::default(), None),
                Parsed::Checkpoint => {
                    self.may_checkpoint().and_then(|()| engine.checkpoint()).map(|_| StatementResult::tag("CHECKPOINT"))
                }
                // VACUUM runs transactions of its own: never inside this one.
                Parsed::Vacuum(_) => Err(cannot_run_in_block("VACUUM")),
                Parsed::Database(cmd) if cmd.needs_own_transaction() => Err(cannot_run_in_block(cmd.tag())),
                Parsed::Database(cmd) => self.database_in(guard.txn(), read_only, cmd),
                Parsed::Fetch(_) => Err(DbError::Internal("FETCH inside an implicit block".into())),
            };
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

    /// `CHECKPOINT`: runs one now, inside a transaction block or not (as in PostgreSQL).
    /// PostgreSQL 15: CHECKPOINT is for superusers (there is no `pg_checkpoint` role here).
    fn may_checkpoint(&self) -> Result<()> {
        if self.engine.access_control().is_none()
            || self.engine.with_security_catalog(&self.database, |c| c.is_superuser(self.role()))?
        {
            return Ok(());
        }
        Err(DbError::sql(
            SqlState::InsufficientPrivilege,
            "must be superuser or have privileges of pg_checkpoint to do CHECKPOINT",
        ))
    }

    fn checkpoint(&mut self) -> Result<StatementResult> {
        if let State::Failed { .. } = self.state {
            return Err(in_failed_block());
        }
        match self.may_checkpoint().and_then(|()| self.engine.checkpoint()) {
            Ok(_) => Ok(StatementResult::tag("CHECKPOINT")),
            Err(e) => {
                self.fail_block();
                Err(e)
            }
        }
    }

    /// `VACUUM`: each table in a transaction of its own, so never inside a transaction block
    /// (nor in a query string of several statements, which runs as one: see
    /// `execute_implicit_block`), 25001.
    ///
    /// Divergences, documented: `FULL` runs a plain vacuum (space is reused inside the table's
    /// file, not handed back to the file system), `FREEZE` has nothing to do (transaction ids
    /// are 64-bit). `ANALYZE` runs after the vacuum, in a transaction of its own.
    fn vacuum(&mut self, cmd: &VacuumCommand) -> Result<StatementResult> {
        match self.state {
            State::Failed { .. } => return Err(in_failed_block()),
            State::InBlock { .. } => {
                self.fail_block();
                return Err(cannot_run_in_block("VACUUM"));
            }
            State::Idle => {}
        }
        let names = cmd
            .tables
            .iter()
            .map(|t| Ok((binder::table_name(&t.name)?, t.columns.iter().map(bind_expr::ident_name).collect())))
            .collect::<Result<Vec<(crate::catalog::QualifiedName, Vec<String>)>>>()?;
        let engine = self.engine.clone();
        let (tables, schemas) = self.in_own_transaction(|ctx| Ok((vacuum::targets(ctx, &names)?, ctx.schemas()?)))?;
        let busy = if cmd.skip_locked { Busy::Skip } else { Busy::Wait };
        let mut result = StatementResult::tag("VACUUM");
        let skipped = self.not_vacuumable(&tables)?;
        for table in &tables {
            if skipped.contains(&table.name) {
                // PostgreSQL 15's wording: the table's owner or the database's may vacuum it; a
                // shared catalog, only a superuser.
                let who = if table.is_system() { "superuser" } else { "table or database owner" };
                result.notices.push(Notice::warning(
                    "01000",
                    format!("skipping \"{}\" --- only {who} can vacuum it", table.name),
                ));
                continue;
            }
            if cmd.verbose {
                let name = vacuum::qualified_name(&self.database, &schemas, table);
                result.notices.push(Notice::info(format!("vacuuming \"{name}\"")));
            }
            let report = self.in_own_transaction(|ctx| vacuum::vacuum_table(ctx, table, busy))?;
            match report {
                Some(report) if cmd.verbose => {
                    let next = engine.txn_manager().current_snapshot().xmax;
                    result.notices.push(Notice::info(vacuum::verbose_report(
                        &self.database,
                        &schemas,
                        table,
                        &report,
                        next,
                    )));
                }
                Some(_) => {}
                None if cmd.skip_locked => result.notices.push(Notice::warning(
                    "55P03",
                    format!("skipping vacuum of \"{}\" --- lock not available", table.name),
                )),
                None => {}
            }
        }
        if cmd.analyze {
            let analyzed = self.in_own_transaction(|ctx| crate::statistics::analyze(ctx, &names, cmd.verbose))?;
            result.notices.extend(analyzed.notices);
        }
        Ok(result)
    }

    /// The tables of `tables` the session's user may not vacuum: those it does not own, unless
    /// it owns the database or is a superuser (only those two vacuum the catalog).
    fn not_vacuumable(&self, tables: &[crate::catalog::TableDef]) -> Result<Vec<String>> {
        let Some(control) = self.engine.access_control().cloned() else { return Ok(Vec::new()) };
        self.engine.with_security_catalog(&self.database, |catalog| {
            if catalog.is_superuser(self.role()) {
                return Vec::new();
            }
            let database = crate::acl::ObjectRef::new(crate::acl::ObjectKind::Database, self.database.as_str());
            let database_owner = control.has_privileges_of(catalog, self.role(), catalog.owner(&database));
            // The catalogs are shared by every database: only a superuser vacuums them, as
            // PostgreSQL's shared catalogs.
            tables
                .iter()
                .filter(|t| {
                    let table = crate::acl::ObjectRef::table(t);
                    t.is_system()
                        || !(database_owner || control.has_privileges_of(catalog, self.role(), catalog.owner(&table)))
                })
                .map(|t| t.name.clone())
                .collect()
        })
    }

    /// The checks a setting needs beyond its value's, whichever statement sets it (SET,
    /// set_config()): `role` must name a role the session user may become.
    fn may_set(&self, name: &str, value: Option<&str>) -> Result<()> {
        match value {
            Some(role) if name.eq_ignore_ascii_case("role") && !role.eq_ignore_ascii_case("none") => {
                crate::roles::check_set_role(&self.engine, &self.user, &self.database, role)
            }
            _ => Ok(()),
        }
    }

    /// CREATE, DROP or ALTER DATABASE: the first two in a transaction of their own (never in a
    /// block, as in PostgreSQL), ALTER in the session's transaction like any statement.
    fn database_command(&mut self, cmd: &DatabaseCommand) -> Result<StatementResult> {
        if cmd.needs_own_transaction() {
            match self.state {
                State::Failed { .. } => return Err(in_failed_block()),
                State::InBlock { .. } => {
                    self.fail_block();
                    return Err(cannot_run_in_block(cmd.tag()));
                }
                State::Idle => {}
            }
            if self.settings.default_read_only {
                return Err(read_only_refusal(cmd.tag()));
            }
            // A database dropped is claimed until the DROP has committed (or failed): no session
            // can start on it meanwhile.
            let claimed = std::cell::RefCell::new(Vec::new());
            let claim = |name: &str| match self.engine.backends().try_claim(name, &self.backend) {
                Ok(()) => {
                    claimed.borrow_mut().push(name.to_string());
                    0
                }
                Err(others) => others,
            };
            let result = self.in_own_transaction(|ctx| crate::databases::execute(ctx, cmd, &claim));
            for name in claimed.borrow().iter() {
                self.engine.backends().release(name);
            }
            return result;
        }
        self.in_session_transaction(|s, txn, read_only, _| s.database_in(txn, read_only, cmd))
    }

    /// Runs `work` (given the session, the transaction, whether it is read-only and whether it
    /// is a block) as a statement of the session's transaction: in its block (failing the
    /// block if `work` fails), or in a transaction of its own committed after it.
    fn in_session_transaction(
        &mut self,
        work: impl FnOnce(&Self, &mut Transaction, bool, bool) -> Result<StatementResult>,
    ) -> Result<StatementResult> {
        match std::mem::replace(&mut self.state, State::Idle) {
            failed @ State::Failed { .. } => {
                self.state = failed;
                Err(in_failed_block())
            }
            State::InBlock { txn, read_only } => {
                let engine = self.engine.clone();
                let mut guard = engine.txn_manager().guard(txn);
                let result = work(self, guard.txn(), read_only, true);
                let txn = guard.release();
                self.state = self.after(result.is_ok(), txn, read_only);
                result
            }
            State::Idle => {
                let engine = self.engine.clone();
                let mut guard = engine.txn_manager().guard(self.begin(None));
                match work(self, guard.txn(), self.settings.default_read_only, false) {
                    Ok(r) => guard.commit().map(|()| r),
                    Err(e) => {
                        guard.abort();
                        Err(e)
                    }
                }
            }
        }
    }

    /// ALTER DATABASE in `txn`.
    fn database_in(&self, txn: &mut Transaction, read_only: bool, cmd: &DatabaseCommand) -> Result<StatementResult> {
        if read_only {
            return Err(read_only_refusal(cmd.tag()));
        }
        txn.wait = self.settings.lock_wait();
        let snapshot = self.engine.txn_manager().statement_snapshot(txn);
        let mut ctx = ExecContext::new(&self.engine, txn, snapshot, self.role(), &self.database);
        ctx.interrupt = self.interrupt();
        let others = |name: &str| self.engine.backends().count_on(name, &self.backend);
        crate::databases::execute(&mut ctx, cmd, &others)
    }

    /// Runs `work` in a transaction of its own that waits for locks as the session's settings
    /// say.
    fn in_own_transaction<T>(&self, work: impl FnOnce(&mut ExecContext<'_>) -> Result<T>) -> Result<T> {
        let tm = self.engine.txn_manager();
        let mut txn = tm.begin(IsolationLevel::ReadCommitted);
        txn.wait = self.settings.lock_wait();
        let snapshot = tm.statement_snapshot(&mut txn);
        let outcome = {
            let mut ctx = ExecContext::new(&self.engine, &mut txn, snapshot, self.role(), &self.database);
            // Names resolve as in the session's statements: its search path and temporary schema.
            ctx.settings = Some(&self.settings);
            ctx.temp_schema = Some(self.temp_schema.clone());
            work(&mut ctx)
        };
        match outcome {
            Ok(v) => {
                tm.commit(txn)?;
                Ok(v)
            }
            Err(e) => {
                tm.abort(txn);
                Err(e)
            }
        }
    }

    fn run(&mut self, stmt: &ast::Statement, params: &Params, slot: Option<&PlanSlot>) -> Result<StatementResult> {
        if self.copy.is_some() {
            return Err(DbError::sql(SqlState::ProtocolViolation, "a statement arrived during COPY FROM STDIN"));
        }
        if crate::bind_copy::is_copy_from_stdin(stmt) {
            return self.start_copy_in(stmt);
        }
        // An error of PREPARE or EXECUTE before their statement runs fails a block, as any
        // statement's error does.
        let prepared = match stmt {
            ast::Statement::Prepare { name, data_types, statement } => {
                Some(self.prepare_sql(name, data_types, statement))
            }
            ast::Statement::Execute { name: Some(name), parameters, immediate: false, into, using, .. }
                if into.is_empty() && using.is_empty() =>
            {
                Some(self.execute_sql(name, parameters))
            }
            // Cursors are the session's (see `cursor.rs`).
            ast::Statement::Declare { stmts } => Some(self.declare_cursor(stmts, params)),
            ast::Statement::Close { cursor } => Some(self.close_cursor(cursor)),
            _ => None,
        };
        if let Some(result) = prepared {
            if result.is_err() && matches!(self.state, State::InBlock { .. }) {
                self.fail_block();
            }
            return result;
        }
        match binder::bind_transaction_control(stmt) {
            Ok(Some(control)) => return self.control(control),
            Ok(None) => {}
            // A SET or set_config() that does not bind fails the block like any statement.
            Err(_) if matches!(self.state, State::Failed { .. }) => return Err(in_failed_block()),
            Err(e) => {
                if let State::InBlock { .. } = self.state {
                    self.fail_block();
                }
                return Err(e);
            }
        }
        self.in_session_transaction(|s, txn, read_only, in_block| {
            s.run_in(txn, read_only, in_block, stmt, params, slot)
        })
    }

    fn run_in(
        &self,
        txn: &mut Transaction,
        read_only: bool,
        in_block: bool,
        stmt: &ast::Statement,
        params: &Params,
        slot: Option<&PlanSlot>,
    ) -> Result<StatementResult> {
        self.run_statement_in(txn, (read_only, in_block), stmt, params, slot, self.spool_results)
    }

    /// [`Session::run_in`] for a query whose result is spooled past `work_mem` (`spool`) or
    /// held in memory whatever the session's choice: a cursor's rows.
    fn run_in_spooling(
        &self,
        txn: &mut Transaction,
        block: (bool, bool),
        stmt: &ast::Statement,
        params: &Params,
        spool: bool,
    ) -> Result<StatementResult> {
        self.run_statement_in(txn, block, stmt, params, None, spool)
    }

    fn run_statement_in(
        &self,
        txn: &mut Transaction,
        (read_only, in_block): (bool, bool),
        stmt: &ast::Statement,
        params: &Params,
        slot: Option<&PlanSlot>,
        spool: bool,
    ) -> Result<StatementResult> {
        #[cfg(test)]
        tests::maybe_panic();
        if binder::bind_transaction_control(stmt)?.is_some() {
            return Err(DbError::Internal("transaction control inside an implicit block".into()));
        }
        // The lock settings in effect now (a ROLLBACK TO may have undone a SET since BEGIN);
        // a lock is not waited for past the statement's deadline.
        let interrupt = self.interrupt();
        txn.wait = self.settings.lock_wait();
        if let Some(deadline) = interrupt.deadline() {
            let left = deadline.saturating_duration_since(Instant::now());
            txn.wait.lock_timeout = Some(txn.wait.lock_timeout.map_or(left, |t| t.min(left)));
        }
        let first = !txn.started();
        let snapshot = self.engine.txn_manager().statement_snapshot(txn);
        let mut ctx = ExecContext::new(&self.engine, txn, snapshot, self.role(), &self.database);
        ctx.in_block = in_block;
        ctx.params = params.clone();
        ctx.interrupt = interrupt.clone();
        ctx.sequences = self.sequences.clone();
        ctx.vectorize = self.settings.vectorize;
        ctx.settings = Some(&self.settings);
        ctx.backend_pid = self.pid();
        ctx.session_user = &self.user;
        ctx.temp_schema = Some(self.temp_schema.clone());
        ctx.prepared = Some(self.prepared.clone());
        ctx.spool_results = spool;
        let timed_out = |e: DbError| match interrupt.deadline() {
            Some(d) if e.sqlstate() == SqlState::LockNotAvailable && Instant::now() >= d => {
                crate::interrupt::timed_out()
            }
            _ => e,
        };
        let runner = Runner { role: self.role(), in_block, settings: &self.settings };
        let cached = match slot {
            Some(slot) => slot.reuse(&mut ctx, &runner).map_err(timed_out)?,
            None => None,
        };
        let bound = match cached {
            Some(bound) => bound,
            None => {
                let generation = self.engine.catalog_cache().generation();
                let bound = binder::bind(&mut ctx, stmt).map_err(timed_out)?;
                if let Some(slot) = slot {
                    slot.consider(&mut ctx, stmt, &bound, generation, &runner);
                }
                bound
            }
        };
        let audited = self.engine.audit().and_then(|audit| {
            let (kind, tables) = crate::audit::classify(&bound)?;
            audit.wants(kind, &tables).then(|| (audit.clone(), kind))
        });
        let outcome = self.checked_and_run(&mut ctx, &bound, read_only, first).map_err(timed_out);
        if let Some((audit, kind)) = audited {
            let detail = match &bound {
                Statement::Role(r) => r.audit_text(),
                _ => stmt.to_string(),
            };
            let sqlstate = outcome.as_ref().err().map_or("00000", |e| e.sqlstate().code());
            let client = self.backend.info.lock().client.map(|a| a.ip());
            audit.record(&crate::audit::StatementEvent {
                kind,
                user: &self.user,
                database: &self.database,
                client,
                detail: &detail,
                sqlstate,
            });
        }
        outcome
    }

    /// The privilege check, then the statement.
    fn checked_and_run(
        &self,
        ctx: &mut ExecContext<'_>,
        bound: &Statement,
        read_only: bool,
        first: bool,
    ) -> Result<StatementResult> {
        crate::acl::check_statement(ctx)?;
        // As in PostgreSQL, a statement's snapshot follows the locks its parsing took: one
        // that waited for a table reads what the holder committed (under READ COMMITTED, or
        // as the first statement of any transaction).
        if ctx.waited_for_lock && (first || ctx.txn.isolation() == IsolationLevel::ReadCommitted) {
            ctx.snapshot = self.engine.txn_manager().retake_snapshot(ctx.txn);
        }
        if read_only && bound.writes() {
            return Err(DbError::sql(
                SqlState::ReadOnlySqlTransaction,
                format!("cannot execute {} in a read-only transaction", bound.command_name()),
            ));
        }
        executor::execute(ctx, bound)
    }

    fn control(&mut self, stmt: Statement) -> Result<StatementResult> {
        let engine = self.engine.clone();
        let tm = engine.txn_manager();
        let ends_block =
            matches!(stmt, Statement::Commit | Statement::Rollback | Statement::RollbackToSavepoint { .. });
        match (stmt, std::mem::replace(&mut self.state, State::Idle)) {
            (Statement::Begin { isolation, read_only }, State::Idle) => {
                let txn = self.begin(isolation);
                let settings = self.settings.clone();
                self.block_settings =
                    Some(BlockSettings { before: settings.clone(), session: settings, savepoints: Vec::new() });
                self.state = State::InBlock { txn, read_only: read_only.unwrap_or(self.settings.default_read_only) };
                Ok(StatementResult::tag("BEGIN"))
            }
            (_, failed @ State::Failed { .. }) if !ends_block => {
                self.state = failed;
                Err(in_failed_block())
            }
            (Statement::Savepoint { .. }, State::Idle) => Err(outside_block("SAVEPOINT")),
            (Statement::ReleaseSavepoint { .. }, State::Idle) => Err(outside_block("RELEASE SAVEPOINT")),
            (Statement::RollbackToSavepoint { .. }, State::Idle) => Err(outside_block("ROLLBACK TO SAVEPOINT")),
            (Statement::Savepoint { name }, State::InBlock { mut txn, read_only }) => {
                tm.savepoint(&mut txn, &name);
                if let Some(block) = &mut self.block_settings {
                    block.savepoints.push((name.clone(), self.settings.clone(), block.session.clone()));
                }
                self.state = State::InBlock { txn, read_only };
                Ok(StatementResult::tag("SAVEPOINT"))
            }
            (Statement::ReleaseSavepoint { name }, State::InBlock { mut txn, read_only }) => {
                let result = tm.release_savepoint(&mut txn, &name);
                if result.is_ok() {
                    self.savepoint_settings(&name, false);
                }
                self.state = self.after(result.is_ok(), txn, read_only);
                result.map(|()| StatementResult::tag("RELEASE"))
            }
            (Statement::RollbackToSavepoint { name }, State::InBlock { mut txn, read_only }) => {
                let result = tm.rollback_to_savepoint(&mut txn, &name);
                if result.is_ok() {
                    self.savepoint_settings(&name, true);
                }
                self.state = self.after(result.is_ok(), txn, read_only);
                result.map(|()| StatementResult::tag("ROLLBACK"))
            }
            (Statement::RollbackToSavepoint { name }, State::Failed { open: Some((mut txn, read_only)) }) => {
                let result = tm.rollback_to_savepoint(&mut txn, &name);
                self.state = match result {
                    Ok(()) => {
                        self.savepoint_settings(&name, true);
                        State::InBlock { txn, read_only }
                    }
                    Err(_) => State::Failed { open: Some((txn, read_only)) },
                };
                result.map(|()| StatementResult::tag("ROLLBACK"))
            }
            (Statement::RollbackToSavepoint { name }, State::Failed { open: None }) => {
                self.state = State::Failed { open: None };
                Err(DbError::sql(
                    SqlState::InvalidSavepointSpecification,
                    format!("savepoint \"{name}\" does not exist"),
                ))
            }
            (Statement::SetTransaction { isolation, read_only, session: true }, state) => {
                self.state = state;
                let block = self.block_settings.as_mut().map(|b| &mut b.session);
                for settings in std::iter::once(&mut self.settings).chain(block) {
                    if let Some(level) = isolation {
                        settings.default_isolation = level;
                    }
                    if let Some(ro) = read_only {
                        settings.default_read_only = ro;
                    }
                }
                Ok(StatementResult::tag("SET"))
            }
            (Statement::SetTransaction { .. }, State::Idle) => Ok(StatementResult::tag("SET")
                .with_notice(Notice::warning("25P01", "SET TRANSACTION can only be used in transaction blocks"))),
            (Statement::SetTransaction { isolation, read_only: ro, .. }, State::InBlock { mut txn, mut read_only }) => {
                let mut result = isolation.map_or(Ok(()), |level| txn.set_isolation(level));
                if ro == Some(false) && read_only && txn.started() && result.is_ok() {
                    result = Err(DbError::sql(
                        SqlState::ActiveSqlTransaction,
                        "transaction read-write mode must be set before any query",
                    ));
                }
                if let Some(ro) = ro.filter(|_| result.is_ok()) {
                    read_only = ro;
                }
                self.state = self.after(result.is_ok(), txn, read_only);
                result.map(|()| StatementResult::tag("SET"))
            }
            (Statement::Set { local: true, .. }, State::Idle) => Ok(StatementResult::tag("SET")
                .with_notice(Notice::warning("25P01", "SET LOCAL can only be used in transaction blocks"))),
            (Statement::Set { name, value, local }, state) => {
                let mut result = self.may_set(&name, value.as_deref());
                if result.is_ok() {
                    result = self.settings.set(&name, value.as_deref());
                }
                if let (Ok(()), false, Some(block)) = (&result, local, &mut self.block_settings) {
                    result = block.session.set(&name, value.as_deref());
                }
                self.state = match state {
                    State::InBlock { txn, read_only } => self.after(result.is_ok(), txn, read_only),
                    other => other,
                };
                if let State::InBlock { txn, .. } = &mut self.state {
                    txn.wait = self.settings.lock_wait();
                }
                result.map(|()| StatementResult::tag("SET"))
            }
            (Statement::SetConfig { name, value, local, column }, state) => {
                // Outside a block a local change would end with its own statement: none.
                let in_block = matches!(state, State::InBlock { .. });
                // Checked (and shown) on a copy when it would change nothing.
                let mut probe = self.settings.clone();
                let mut result = self.may_set(&name, value.as_deref());
                if result.is_ok() {
                    result = if local && !in_block {
                        probe.set(&name, value.as_deref())
                    } else {
                        self.settings.set(&name, value.as_deref())
                    };
                }
                if let (Ok(()), false, Some(block)) = (&result, local, &mut self.block_settings) {
                    result = block.session.set(&name, value.as_deref());
                }
                let in_txn = match &state {
                    State::InBlock { txn, read_only } => {
                        Some(InTransaction { isolation: txn.isolation(), read_only: *read_only })
                    }
                    _ => None,
                };
                let shown = result.and_then(|()| {
                    if local && !in_block { probe.show(&name, in_txn) } else { self.settings.show(&name, in_txn) }
                });
                self.state = match state {
                    State::InBlock { txn, read_only } => self.after(shown.is_ok(), txn, read_only),
                    other => other,
                };
                if let State::InBlock { txn, .. } = &mut self.state {
                    txn.wait = self.settings.lock_wait();
                }
                shown.map(|v| StatementResult {
                    tag: "SELECT 1".into(),
                    columns: Some(vec![ResultColumn { name: column, data_type: DataType::Text }]),
                    rows: vec![vec![Value::Text(v)]],
                    ..Default::default()
                })
            }
            (Statement::Deallocate { name }, state) => {
                let result = match &name {
                    Some(name) if !self.prepared.remove(name) => Err(DbError::sql(
                        SqlState::InvalidSqlStatementName,
                        format!("prepared statement \"{name}\" does not exist"),
                    )),
                    Some(_) => Ok(StatementResult::tag("DEALLOCATE")),
                    None => {
                        self.prepared.clear();
                        Ok(StatementResult::tag("DEALLOCATE ALL"))
                    }
                };
                self.state = match state {
                    State::InBlock { txn, read_only } => self.after(result.is_ok(), txn, read_only),
                    other => other,
                };
                result
            }
            (Statement::Show { name }, state) => {
                let in_txn = match &state {
                    State::InBlock { txn, read_only } => {
                        Some(InTransaction { isolation: txn.isolation(), read_only: *read_only })
                    }
                    _ => None,
                };
                let result = self.show(&name, in_txn);
                self.state = match state {
                    State::InBlock { txn, read_only } => self.after(result.is_ok(), txn, read_only),
                    other => other,
                };
                result
            }
            (Statement::Begin { .. }, State::InBlock { txn, read_only }) => {
                self.state = State::InBlock { txn, read_only };
                Ok(StatementResult::tag("BEGIN")
                    .with_notice(Notice::warning("25001", "there is already a transaction in progress")))
            }
            (Statement::Commit, State::InBlock { txn, .. }) => {
                let result = tm.commit(txn);
                self.end_block_settings(result.is_ok());
                result.map(|()| StatementResult::tag("COMMIT"))
            }
            (Statement::Commit | Statement::Rollback, State::Failed { open }) => {
                if let Some((txn, _)) = open {
                    tm.abort(txn);
                }
                self.end_block_settings(false);
                Ok(StatementResult::tag("ROLLBACK"))
            }
            (Statement::Rollback, State::InBlock { txn, .. }) => {
                tm.abort(txn);
                self.end_block_settings(false);
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

    /// `SHOW name` (or `SHOW ALL`) as a result set, as PostgreSQL returns it.
    fn show(&self, name: &str, txn: Option<InTransaction>) -> Result<StatementResult> {
        let columns = show_columns(name);
        if name == "all" {
            let rows = self
                .settings
                .all(txn)
                .into_iter()
                .map(|(k, v)| vec![Value::Text(k), Value::Text(v), Value::Text(String::new())])
                .collect();
            return Ok(StatementResult { tag: "SHOW".into(), columns: Some(columns), rows, ..Default::default() });
        }
        let value = self.settings.show(name, txn)?;
        Ok(StatementResult {
            tag: "SHOW".into(),
            columns: Some(columns),
            rows: vec![vec![Value::Text(value)]],
            ..Default::default()
        })
    }

    /// The block's state after a statement in it: still open, or failed (the transaction is
    /// rolled back now, so that its locks are not held until the client notices, or with a
    /// savepoint open the innermost savepoint's work is).
    fn after(&mut self, ok: bool, mut txn: Transaction, read_only: bool) -> State {
        let engine = self.engine.clone();
        let tm = engine.txn_manager();
        if ok {
            State::InBlock { txn, read_only }
        } else if tm.abort_innermost(&mut txn) {
            // The innermost savepoint's SETs and cursors go with its work.
            if let Some(block) = &mut self.block_settings
                && let Some((_, effective, session)) = block.savepoints.last()
            {
                (self.settings, block.session) = (effective.clone(), session.clone());
                self.cursors.roll_back_to(block.savepoints.len());
            }
            State::Failed { open: Some((txn, read_only)) }
        } else {
            tm.abort(txn);
            self.end_block_settings(false);
            State::Failed { open: None }
        }
    }

    /// The block ended: its settings are kept if it committed, undone if not.
    fn end_block_settings(&mut self, committed: bool) {
        self.cursors.end_block(committed);
        if let Some(block) = self.block_settings.take() {
            self.settings = if committed { block.session } else { block.before };
        }
    }

    /// The settings side of `ROLLBACK TO name` (`rollback`: back to what they were at the
    /// savepoint, which stays) or `RELEASE name` (the savepoint and those after it go; their
    /// SETs stay).
    fn savepoint_settings(&mut self, name: &str, rollback: bool) {
        let Some(block) = &mut self.block_settings else { return };
        let Some(at) = block.savepoints.iter().rposition(|(n, _, _)| n == name) else { return };
        if rollback {
            let (_, effective, session) = &block.savepoints[at];
            (self.settings, block.session) = (effective.clone(), session.clone());
            block.savepoints.truncate(at + 1);
            self.cursors.roll_back_to(at + 1);
        } else {
            block.savepoints.truncate(at);
            self.cursors.release_to(at);
        }
    }

    /// The columns of the open SQL cursor `name` (which the protocol's Describe of a portal
    /// may name, as in PostgreSQL, where cursors are portals).
    pub fn cursor_columns(&self, name: &str) -> Option<Vec<ResultColumn>> {
        self.cursors.columns(name)
    }

    /// FETCH or MOVE; an error fails a transaction block, as any statement's does.
    fn fetch(&mut self, cmd: &parser::CursorMove) -> Result<StatementResult> {
        let result = self.fetch_cursor(cmd);
        if result.is_err() && matches!(self.state, State::InBlock { .. }) {
            self.fail_block();
        }
        result
    }

    /// An error met outside the session's statements (a malformed parameter at Bind, an
    /// unknown portal) fails a transaction block as any error does in PostgreSQL.
    pub fn fail(&mut self) {
        self.fail_block();
    }

    fn fail_block(&mut self) {
        if let State::InBlock { txn, read_only } = std::mem::replace(&mut self.state, State::Idle) {
            self.state = self.after(false, txn, read_only);
        }
    }
}

/// The columns `SHOW name` returns.
fn show_columns(name: &str) -> Vec<ResultColumn> {
    let text = |name: &str| ResultColumn { name: name.into(), data_type: DataType::Text };
    match name {
        "all" => vec![text("name"), text("setting"), text("description")],
        "transaction isolation level" => vec![text("transaction_isolation")],
        name => vec![text(name)],
    }
}

/// A statement prepared by [`Session::prepare`].
#[derive(Debug, Clone)]
pub struct PreparedStatement {
    /// Its text.
    pub sql: String,
    /// The statement; `None` for an empty query.
    statement: Option<Parsed>,
    /// Its parameters' types, declared or inferred.
    pub param_types: Vec<DataType>,
    /// The columns of its result; `None` for a statement that returns no rows.
    pub columns: Option<Vec<ResultColumn>>,
    /// When it was prepared (`pg_prepared_statements.prepare_time`).
    pub prepared_at: i64,
    /// Prepared by the SQL statement PREPARE (not the protocol's Parse).
    pub from_sql: bool,
    /// Its generic plan, once made (see `plan_cache.rs`).
    pub plan: Arc<PlanSlot>,
}

impl PreparedStatement {
    /// True for an empty query (no statement at all).
    pub fn is_empty(&self) -> bool {
        self.statement.is_none()
    }
}

/// 25P01 for a savepoint command outside a transaction block.
fn outside_block(command: &str) -> DbError {
    DbError::sql(SqlState::NoActiveSqlTransaction, format!("{command} can only be used in transaction blocks"))
}

/// 25001 for a command that runs its own transactions.
/// 25006, for a command that writes in a read-only transaction.
fn read_only_refusal(command: &str) -> DbError {
    DbError::sql(SqlState::ReadOnlySqlTransaction, format!("cannot execute {command} in a read-only transaction"))
}

fn cannot_run_in_block(command: &str) -> DbError {
    DbError::sql(SqlState::ActiveSqlTransaction, format!("{command} cannot run inside a transaction block"))
}

/// 25P02, for every statement but COMMIT and ROLLBACK in a failed block.
fn in_failed_block() -> DbError {
    DbError::sql(
        SqlState::InFailedSqlTransaction,
        "current transaction is aborted, commands ignored until end of transaction block",
    )
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Some(txn) = self.copy.take().and_then(|c| c.into_own()) {
            self.engine.txn_manager().abort(txn);
        }
        match std::mem::replace(&mut self.state, State::Idle) {
            State::InBlock { txn, .. } | State::Failed { open: Some((txn, _)) } => self.engine.txn_manager().abort(txn),
            State::Idle | State::Failed { open: None } => {}
        }
        // Its temporary tables go with it.
        if self.temp_schema.made.load(Ordering::Acquire) {
            let temp = self.temp_schema.clone();
            let dropped = self.engine.with_transaction(&self.user, &self.database, |ctx| {
                ctx.temp_schema = Some(temp);
                crate::schemas::drop_temp_schema(ctx)
            });
            if let Err(e) = dropped {
                tracing::warn!(schema = %self.temp_schema.name, error = %e, "could not drop a session's temporary schema");
            }
        }
        self.engine.backends().unregister(&self.backend);
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
            if block {
                assert_eq!(s.transaction_status(), TransactionStatus::Failed, "the block failed with the panic");
                assert_eq!(
                    s.execute("INSERT INTO t VALUES (3)").pop().unwrap().unwrap_err().sqlstate(),
                    SqlState::InFailedSqlTransaction
                );
                ok(&mut s, "ROLLBACK");
            }
            assert_eq!(s.transaction_status(), TransactionStatus::Idle);
        }
        assert!(ok(&mut s, "SELECT id FROM t").rows.is_empty(), "the rolled-back block's insert is visible");
        ok(&mut s, "INSERT INTO t VALUES (1)");
    }

    #[test]
    fn prepared_statements_infer_parameter_types_and_run_with_values() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(dir.path(), &EngineOptions::with_pool_pages(32)).unwrap();
        let mut s = engine.session("rustydb", "rustydb");
        s.execute("CREATE TABLE t (id INT PRIMARY KEY, v TEXT, f FLOAT8)").pop().unwrap().unwrap();
        let insert = s.prepare("INSERT INTO t VALUES ($1, $2, $3)", &[]).unwrap();
        assert_eq!(insert.param_types, [DataType::Int4, DataType::Text, DataType::Float8]);
        assert_eq!(insert.columns, None);
        for i in 1..=3 {
            let values = vec![Value::Int4(i), Value::Text(format!("v{i}")), Value::Float8(f64::from(i) / 2.0)];
            assert_eq!(s.execute_prepared(&insert, values).unwrap().tag, "INSERT 0 1");
        }
        let select =
            s.prepare("SELECT v, f * 2 AS g FROM t WHERE id = $1 OR id > $2 ORDER BY id LIMIT $3", &[]).unwrap();
        assert_eq!(select.param_types, [DataType::Int4, DataType::Int4, DataType::Int8]);
        let names: Vec<_> = select.columns.as_ref().unwrap().iter().map(|c| (c.name.as_str(), c.data_type)).collect();
        assert_eq!(names, [("v", DataType::Text), ("g", DataType::Float8)]);
        let r = s.execute_prepared(&select, vec![Value::Int4(1), Value::Int4(1), Value::Int8(2)]).unwrap();
        assert_eq!(
            r.rows,
            [vec![Value::Text("v1".into()), Value::Float8(1.0)], vec![Value::Text("v2".into()), Value::Float8(2.0)]]
        );
        // Declared types win; undeclared and untyped ones are text.
        let p = s.prepare("SELECT $1, $2::int + $3", &[DataType::Int8]).unwrap();
        assert_eq!(p.param_types, [DataType::Int8, DataType::Int4, DataType::Int4]);
        let p = s.prepare("SELECT $2", &[]).unwrap();
        assert_eq!(p.param_types, [DataType::Text, DataType::Text]);
        // Errors at Parse, with PostgreSQL's SQLSTATEs.
        let err = |r: Result<PreparedStatement>| r.unwrap_err().sqlstate();
        assert_eq!(err(s.prepare("SELECT * FROM nope WHERE a = $1", &[])), SqlState::UndefinedTable);
        assert_eq!(err(s.prepare("SELECT 1; SELECT 2", &[])), SqlState::SyntaxError);
        assert_eq!(err(s.prepare("SELECT $0", &[])), SqlState::UndefinedParameter);
        assert!(s.prepare("", &[]).unwrap().is_empty());
        let wrong = s.execute_prepared(&select, vec![Value::Int4(1)]).unwrap_err();
        assert_eq!(wrong.sqlstate(), SqlState::ProtocolViolation);
        // In a failed block only the statements that end it may be prepared.
        s.execute("BEGIN").pop().unwrap().unwrap();
        assert_eq!(err(s.prepare("SELECT * FROM nope", &[])), SqlState::UndefinedTable);
        assert_eq!(s.transaction_status(), TransactionStatus::Failed);
        assert_eq!(err(s.prepare("SELECT 1", &[])), SqlState::InFailedSqlTransaction);
        let rollback = s.prepare("ROLLBACK", &[]).unwrap();
        assert_eq!(s.execute_prepared(&rollback, vec![]).unwrap().tag, "ROLLBACK");
        assert_eq!(s.transaction_status(), TransactionStatus::Idle);
        let show = s.prepare("SHOW transaction isolation level", &[]).unwrap();
        assert_eq!(show.columns.unwrap()[0].name, "transaction_isolation");
    }

    #[test]
    fn cached_table_definitions_follow_committed_catalog_changes() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(dir.path(), &EngineOptions::with_pool_pages(64)).unwrap();
        let mut a = engine.session("rustydb", "rustydb");
        let mut b = engine.session("rustydb", "rustydb");
        let ok = |s: &mut Session, sql: &str| s.execute(sql).pop().unwrap().unwrap();
        ok(&mut a, "CREATE TABLE t (k INT)");
        ok(&mut a, "INSERT INTO t VALUES (1)");
        ok(&mut b, "SELECT k FROM t");
        // A key added in a block: B's insert waits for A's lock, then must see the key.
        ok(&mut a, "BEGIN");
        ok(&mut a, "ALTER TABLE t ADD PRIMARY KEY (k)");
        std::thread::scope(|scope| {
            let waiter = scope.spawn(|| b.execute("INSERT INTO t VALUES (1)").pop().unwrap());
            std::thread::sleep(std::time::Duration::from_millis(200));
            ok(&mut a, "COMMIT");
            let err = waiter.join().unwrap().unwrap_err();
            assert_eq!(err.sqlstate(), SqlState::UniqueViolation, "the insert used a stale definition");
        });
        // A table dropped and created again with other columns.
        ok(&mut a, "DROP TABLE t");
        ok(&mut a, "CREATE TABLE t (x TEXT, y INT)");
        ok(&mut b, "INSERT INTO t VALUES ('a', 2)");
        assert_eq!(ok(&mut b, "SELECT y FROM t").rows, [vec![Value::Int4(2)]]);
        // A change rolled back leaves the others' view alone; the changer sees its own.
        ok(&mut a, "BEGIN");
        ok(&mut a, "ALTER TABLE t ADD UNIQUE (y)");
        assert_eq!(
            a.execute("INSERT INTO t VALUES ('b', 2)").pop().unwrap().unwrap_err().sqlstate(),
            SqlState::UniqueViolation
        );
        ok(&mut a, "ROLLBACK");
        ok(&mut b, "INSERT INTO t VALUES ('b', 2)");
    }

    #[test]
    fn a_union_all_recursion_holds_only_its_work_table() {
        let dir = tempfile::tempdir().unwrap();
        let options = EngineOptions { statement_memory_limit: 4 << 20, ..EngineOptions::with_pool_pages(32) };
        let engine = Engine::open(dir.path(), &options).unwrap();
        let mut s = engine.session("rustydb", "rustydb");
        // 200,000 rounds of one row each: far more than 4 MiB if every round's row were kept.
        let count =
            "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 200000) SELECT count(*) FROM r";
        assert_eq!(s.execute(count).pop().unwrap().unwrap().rows, [vec![Value::Int8(200_000)]]);
        // UNION keeps what it produced, to drop repeats: that still counts.
        let distinct = count.replace("UNION ALL", "UNION");
        assert_eq!(s.execute(&distinct).pop().unwrap().unwrap_err().sqlstate(), SqlState::OutOfMemory);
    }
}
