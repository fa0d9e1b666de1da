//! `COPY ... FROM STDIN`: a statement that runs while the client streams its data.
//!
//! The statement starts as any other (binding checks the table and columns and takes its lock)
//! and then waits in the session for data ([`Session::copy_data`]) until the client ends it
//! ([`Session::copy_done`], which reports `COPY n`) or gives up ([`Session::copy_fail`], 57014).
//! Rows are inserted as their lines complete, with every constraint checked, so memory stays
//! flat however large the input. Outside a transaction block the COPY has a transaction of its
//! own, committed by `copy_done`; inside one it writes in the block's, and an error fails the
//! block as any statement's error does.

use super::{Session, State, in_failed_block};
use crate::bind_copy::{self, CopyFrom};
use crate::context::ExecContext;
use crate::copy::{CopyFormat, CopyReader, Field, InputRow};
use crate::result::{CopyResponse, StatementResult};
use crate::types::cast_value;
use crate::{access, vacuum};
use rustydb_foundation::pg_binary::RecvError;
use rustydb_foundation::{DbError, Result, SqlState, Value};
use rustydb_txn::Transaction;
use sqlparser::ast;

/// A COPY FROM STDIN waiting for data.
#[derive(Debug)]
pub(super) struct CopyIn {
    target: CopyFrom,
    reader: CopyReader,
    rows: u64,
    /// The COPY's own transaction, when it is not in a transaction block.
    own: Option<Transaction>,
    /// A cancel request or `statement_timeout` (counted from the COPY's start) stops it.
    interrupt: crate::interrupt::Interrupt,
    /// The audit log and the statement's text, when the table's DML is audited: recorded
    /// once the COPY ends, with how it ended.
    audited: Option<(std::sync::Arc<dyn crate::audit::StatementAudit>, String)>,
}

impl CopyIn {
    /// The COPY's own transaction, if it has one.
    pub(super) fn into_own(self) -> Option<Transaction> {
        self.own
    }
}

impl Session {
    /// Starts `COPY ... FROM STDIN`: the result asks the client for data.
    pub(super) fn start_copy_in(&mut self, stmt: &ast::Statement) -> Result<StatementResult> {
        let engine = self.engine.clone();
        let tm = engine.txn_manager();
        let (mut txn, own) = match std::mem::replace(&mut self.state, State::Idle) {
            failed @ State::Failed { .. } => {
                self.state = failed;
                return Err(in_failed_block());
            }
            State::InBlock { txn, read_only } => {
                if read_only {
                    self.state = State::InBlock { txn, read_only };
                    self.fail_block();
                    return Err(DbError::sql(
                        SqlState::ReadOnlySqlTransaction,
                        "cannot execute COPY FROM in a read-only transaction",
                    ));
                }
                (txn, false)
            }
            State::Idle if self.settings.default_read_only => {
                return Err(DbError::sql(
                    SqlState::ReadOnlySqlTransaction,
                    "cannot execute COPY FROM in a read-only transaction",
                ));
            }
            State::Idle => (self.begin(None), true),
        };
        let bound = {
            let snapshot = tm.statement_snapshot(&mut txn);
            let mut ctx = ExecContext::new(&engine, &mut txn, snapshot, self.role(), &self.database);
            ctx.in_block = !own;
            ctx.settings = Some(&self.settings);
            ctx.temp_schema = Some(self.temp_schema.clone());
            bind_copy::bind_copy_from(&mut ctx, stmt)
        };
        let target = match bound {
            Ok(target) => target,
            Err(e) => {
                self.end_copy(txn, own);
                return Err(e);
            }
        };
        let columns = target.columns.len();
        let binary = target.options.format == CopyFormat::Binary;
        let mut reader = CopyReader::new(target.options.clone());
        reader.expect_columns(columns);
        let interrupt = self.interrupt();
        let audited = self
            .engine
            .audit()
            .filter(|a| a.wants(crate::audit::AuditKind::Dml, std::slice::from_ref(&target.table.name)))
            .map(|a| (a.clone(), stmt.to_string()));
        let own = if own {
            Some(txn)
        } else {
            self.state = State::InBlock { txn, read_only: false };
            None
        };
        self.copy = Some(CopyIn { target, reader, rows: 0, own, interrupt, audited });
        Ok(StatementResult { copy: Some(CopyResponse::In { columns, binary }), ..Default::default() })
    }

    /// True while a COPY FROM STDIN waits for data.
    pub fn in_copy(&self) -> bool {
        self.copy.is_some()
    }

    /// Takes a CopyData message's bytes and inserts the rows they complete. An error ends the
    /// COPY (its rows are rolled back); later data is then refused.
    pub fn copy_data(&mut self, data: &[u8]) -> Result<()> {
        self.guarded(|s| s.copy_step(|reader| reader.feed(data)).map(|_| ()), Err)
    }

    /// The client's CopyDone: inserts a last unterminated line, ends the COPY, and commits it
    /// if it has a transaction of its own.
    pub fn copy_done(&mut self) -> Result<StatementResult> {
        self.guarded(
            |s| {
                let rows = s.copy_step(CopyReader::finish)?;
                let Some(mut copy) = s.copy.take() else { return Err(no_copy()) };
                let audited = copy.audited.take();
                let committed = match copy.own {
                    Some(txn) => s.engine.txn_manager().commit(txn),
                    None => Ok(()),
                };
                s.audit_copy(audited, committed.as_ref().err().map_or("00000", |e| e.sqlstate().code()));
                committed?;
                Ok(StatementResult::tag(format!("COPY {rows}")))
            },
            Err,
        )
    }

    /// The client's CopyFail: the COPY's rows are rolled back and it fails with 57014.
    pub fn copy_fail(&mut self, message: &str) -> DbError {
        let error = DbError::sql(SqlState::QueryCanceled, format!("COPY from stdin failed: {message}"));
        if let Some(copy) = self.copy.take() {
            self.abandon(copy, &error);
        }
        error
    }

    /// Records an audited COPY's end.
    fn audit_copy(&self, audited: Option<(std::sync::Arc<dyn crate::audit::StatementAudit>, String)>, sqlstate: &str) {
        let Some((audit, detail)) = audited else { return };
        let client = self.backend.info.lock().client.map(|a| a.ip());
        audit.record(&crate::audit::StatementEvent {
            kind: crate::audit::AuditKind::Dml,
            user: &self.user,
            database: &self.database,
            client,
            detail: &detail,
            sqlstate,
        });
    }

    /// Reads rows with `read` and inserts them; returns the rows inserted so far.
    fn copy_step(&mut self, read: impl FnOnce(&mut CopyReader) -> Result<Vec<InputRow>>) -> Result<u64> {
        let Some(mut copy) = self.copy.take() else { return Err(no_copy()) };
        let name = copy.target.table.name.clone();
        let result = read(&mut copy.reader)
            .map_err(|e| match e.context().map(str::to_string) {
                Some(line) => e.with_context(format!("COPY {name}, {line}")),
                None => e,
            })
            .and_then(|rows| self.insert_rows(&mut copy, rows));
        match result {
            Ok(()) => {
                let rows = copy.rows;
                self.copy = Some(copy);
                Ok(rows)
            }
            Err(e) => {
                self.abandon(copy, &e);
                Err(e)
            }
        }
    }

    fn insert_rows(&mut self, copy: &mut CopyIn, rows: Vec<InputRow>) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let engine = self.engine.clone();
        let role = self.settings.role.clone().unwrap_or_else(|| self.user.clone());
        let txn = match (&mut copy.own, &mut self.state) {
            (Some(txn), _) => txn,
            (None, State::InBlock { txn, .. }) => txn,
            (None, _) => return Err(DbError::Internal("COPY lost its transaction block".into())),
        };
        let snapshot = engine.txn_manager().statement_snapshot(txn);
        let mut ctx = ExecContext::new(&engine, txn, snapshot, &role, &self.database);
        ctx.interrupt = copy.interrupt.clone();
        ctx.sequences = self.sequences.clone();
        ctx.settings = Some(&self.settings);
        ctx.temp_schema = Some(self.temp_schema.clone());
        ctx.interrupt.check()?;
        let table = &copy.target.table;
        let fks = crate::foreign_key::ForeignKeys::load(&mut ctx, table)?;
        let mut inserted = 0;
        let done = rows.into_iter().try_for_each(|(line, fields)| {
            let context = || format!("COPY {}, line {line}", table.name);
            let mut row = row_values(&copy.target, fields).map_err(|e| e.with_context(context()))?;
            for (position, default) in &copy.target.defaults {
                row[*position] = crate::exec::eval(&mut ctx, default, &[]).map_err(|e| e.with_context(context()))?;
            }
            crate::check_constraint::enforce(&mut ctx, table, &copy.target.constraints, &row)
                .map_err(|e| e.with_context(context()))?;
            crate::foreign_key::check_references(&mut ctx, table, &fks, None, &row)
                .map_err(|e| e.with_context(context()))?;
            access::insert(&mut ctx, table, &row).map_err(|e| e.with_context(context()))?;
            inserted += 1;
            Ok(())
        });
        copy.rows += inserted;
        vacuum::note_changes(&ctx, table, inserted, 0);
        done
    }

    /// Ends a COPY that failed with `error`: its own transaction rolls back; a block fails.
    fn abandon(&mut self, mut copy: CopyIn, error: &DbError) {
        self.audit_copy(copy.audited.take(), error.sqlstate().code());
        match copy.own {
            Some(txn) => self.end_copy(txn, true),
            None => self.fail_block(),
        }
    }

    /// Ends a COPY that did not start or failed: its own transaction rolls back, or the block
    /// it ran in fails.
    fn end_copy(&mut self, txn: Transaction, own: bool) {
        if own {
            self.engine.txn_manager().abort(txn);
        } else {
            self.state = State::InBlock { txn, read_only: false };
            self.fail_block();
        }
    }
}

/// One input line's fields as a full table row: each through its column type's input (or, in
/// binary, receive) function; columns not listed are NULL here (the caller fills defaults).
fn row_values(target: &CopyFrom, fields: Vec<Option<Field>>) -> Result<Vec<Value>> {
    let schema = &target.table.schema;
    if fields.len() > target.columns.len() {
        return Err(DbError::sql(SqlState::BadCopyFileFormat, "extra data after last expected column"));
    }
    if fields.len() < target.columns.len() {
        let missing = &schema.columns[target.columns[fields.len()]].name;
        return Err(DbError::sql(SqlState::BadCopyFileFormat, format!("missing data for column \"{missing}\"")));
    }
    let mut row = vec![Value::Null; schema.len()];
    for (field, &position) in fields.into_iter().zip(&target.columns) {
        let ty = schema.columns[position].data_type;
        let value = match field {
            None => continue,
            Some(Field::Text(text)) => Value::parse_as(&text, ty)?,
            Some(Field::Binary(bytes)) => rustydb_foundation::pg_binary::recv(&bytes, ty).map_err(|e| match e {
                RecvError::NotUtf8(at) => rustydb_foundation::pg_binary::invalid_utf8(at),
                RecvError::Short | RecvError::Long => {
                    DbError::sql(SqlState::InvalidBinaryRepresentation, "incorrect binary data format")
                }
                RecvError::Invalid(why) => DbError::sql(SqlState::InvalidBinaryRepresentation, why),
            })?,
        };
        row[position] = cast_value(value, ty, false)?;
    }
    Ok(row)
}

fn no_copy() -> DbError {
    DbError::sql(SqlState::ProtocolViolation, "no COPY in progress")
}
