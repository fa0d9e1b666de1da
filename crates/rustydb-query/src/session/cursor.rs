//! SQL cursors: `DECLARE name [NO] SCROLL CURSOR [WITH[OUT] HOLD] FOR query`, `FETCH`,
//! `MOVE` and `CLOSE`, as psql's `FETCH_COUNT` and drivers' named (server-side) cursors use
//! them to read a large result a slice at a time.
//!
//! **Materialised at DECLARE.** The query runs to its end when the cursor is declared, into a
//! spool (`exec/spool.rs`): rows past `work_mem` wait in a sealed temporary file, so a cursor
//! over a table of any size costs `work_mem` and disk. PostgreSQL runs the query lazily, a
//! FETCH at a time; both read one snapshot (the one of DECLARE, here because the rows are
//! taken then), so the rows are the same, only the first FETCH comes later here. A WITH HOLD
//! cursor is materialised at COMMIT in PostgreSQL; here it already is.
//!
//! **Scrolling.** A SCROLL cursor keeps its rows in memory, where any row can be reached (a
//! SCROLL cursor over more rows than the statement may hold fails with 53200). A cursor
//! declared without SCROLL can go back when its rows fitted in `work_mem`, as PostgreSQL's
//! can over plans that run backward; one whose rows went to disk, and every NO SCROLL cursor,
//! moves forward only (55000 otherwise, PostgreSQL's error).
//!
//! **Lifetime.** A cursor lives until CLOSE or the end of its transaction block; WITH HOLD
//! keeps it past COMMIT (not past a ROLLBACK of the block that declared it) until CLOSE or
//! the session's end. Outside a block only WITH HOLD may be declared (25P01). A cursor opened
//! after a savepoint closes when the transaction rolls back to it (or an error undoes that
//! savepoint's work), as in PostgreSQL: its rows may hold what was undone.
//!
//! **Differences left.** A FETCH prepared (Parse) before its cursor is declared is described
//! with no columns; a DECLARE without HOLD inside a multi-statement simple query is 25P01
//! (PostgreSQL counts that query as a block); protocol Execute of a cursor's name is not
//! supported. FETCH returns its rows in memory: counted against `statement_memory_limit_mb`
//! (fetch a large cursor in slices, as psql and drivers do).

use super::{Session, State};
use crate::params::Params;
use crate::parser::{CursorMove, Direction};
use crate::result::{ResultColumn, SpooledRows, StatementResult};
use rustydb_foundation::{DbError, Result, SqlState, Value};
use sqlparser::ast;
use std::collections::HashMap;

type Row = Vec<Value>;

/// The session's open cursors, by name.
#[derive(Debug, Default)]
pub(super) struct Cursors {
    open: HashMap<String, Cursor>,
}

impl Cursors {
    /// The columns a FETCH from `name` returns, if it is open.
    pub(super) fn columns(&self, name: &str) -> Option<Vec<ResultColumn>> {
        self.open.get(name).map(|c| c.columns.clone())
    }

    /// The transaction block ended: its cursors close, but for WITH HOLD ones after a commit.
    pub(super) fn end_block(&mut self, committed: bool) {
        self.open.retain(|_, c| c.hold && (committed || !c.in_open_block));
        for cursor in self.open.values_mut() {
            cursor.in_open_block = false;
        }
    }

    /// The block rolled back to a savepoint, leaving `savepoints` open: cursors declared after
    /// it close.
    pub(super) fn roll_back_to(&mut self, savepoints: usize) {
        self.open.retain(|_, c| !c.in_open_block || c.savepoints < savepoints);
    }

    /// Savepoints were released, leaving `savepoints` open: cursors declared under them now
    /// belong to the savepoint (or block) that remains.
    pub(super) fn release_to(&mut self, savepoints: usize) {
        for cursor in self.open.values_mut() {
            cursor.savepoints = cursor.savepoints.min(savepoints);
        }
    }
}

/// One open cursor.
#[derive(Debug)]
struct Cursor {
    columns: Vec<ResultColumn>,
    rows: Rows,
    /// Rows in all.
    total: u64,
    /// 0 before the first row, n on row n, `total + 1` after the last.
    position: u64,
    hold: bool,
    /// Declared in the transaction block still open: a rollback closes it even WITH HOLD.
    in_open_block: bool,
    /// Savepoints open when it was declared: rolling back to one of them closes it.
    savepoints: usize,
}

#[derive(Debug)]
enum Rows {
    /// Every row, reachable in any order.
    All(Vec<Row>),
    /// Rows read in order, once: those not read yet, and how many were.
    Forward { rest: SpooledRows, read: u64 },
}

fn forward_only() -> DbError {
    DbError::sql(SqlState::ObjectNotInPrerequisiteState, "cursor can only scan forward")
        .with_hint("Declare it with SCROLL option to enable backward scan.")
}

fn no_cursor(name: &str) -> DbError {
    DbError::sql(SqlState::InvalidCursorName, format!("cursor \"{name}\" does not exist"))
}

impl Cursor {
    /// Row `i` (1-based, at most `total`); a cursor that reads forward only must not have
    /// passed it.
    fn row(&mut self, i: u64) -> Result<Row> {
        match &mut self.rows {
            Rows::All(rows) => Ok(rows[(i - 1) as usize].clone()),
            Rows::Forward { rest, read } => {
                let mut row = None;
                while *read < i {
                    row = rest.next_row()?;
                    *read += 1;
                }
                row.ok_or_else(|| DbError::Internal("a cursor read past its rows or back".into()))
            }
        }
    }

    /// True if the cursor can move back.
    fn scrolls(&self) -> bool {
        matches!(self.rows, Rows::All(_))
    }

    /// Moves as `direction` says; the rows passed over (kept unless `only_move`) and their
    /// count, as PostgreSQL's DoPortalRunFetch counts them. A cursor that reads forward only
    /// fails (55000) wherever PostgreSQL's would scan backward, even to re-read its current
    /// row.
    fn fetch(&mut self, direction: Direction, only_move: bool) -> Result<(Vec<Row>, u64)> {
        let total = self.total;
        let on_row = (1..=total).contains(&self.position);
        // A count of 0 re-reads the current row, if the cursor is on one.
        if matches!(direction, Direction::Forward(Some(0)) | Direction::Backward(Some(0)) | Direction::Relative(0)) {
            if only_move || !on_row {
                return Ok((Vec::new(), u64::from(on_row && only_move)));
            }
            if !self.scrolls() {
                return Err(forward_only());
            }
            return Ok((vec![self.row(self.position)?], 1));
        }
        let mut out = Vec::new();
        let mut count = 0;
        match direction {
            Direction::Forward(limit) => {
                let limit = limit.unwrap_or(u64::MAX);
                while count < limit {
                    if self.position >= total {
                        self.position = total + 1;
                        break;
                    }
                    let row = self.row(self.position + 1)?;
                    self.position += 1;
                    count += 1;
                    if !only_move {
                        out.push(row);
                    }
                }
            }
            Direction::Backward(limit) => {
                if !self.scrolls() {
                    return Err(forward_only());
                }
                let limit = limit.unwrap_or(u64::MAX);
                while count < limit {
                    if self.position <= 1 {
                        self.position = 0;
                        break;
                    }
                    let row = self.row(self.position - 1)?;
                    self.position -= 1;
                    count += 1;
                    if !only_move {
                        out.push(row);
                    }
                }
            }
            Direction::Absolute(n) | Direction::Relative(n) => {
                let absolute = matches!(direction, Direction::Absolute(_));
                let from = match (absolute, n < 0) {
                    (true, true) => i128::from(total) + 1,
                    (true, false) => 0,
                    (false, _) => i128::from(self.position),
                };
                let target = (from + i128::from(n)).clamp(0, i128::from(total) + 1) as u64;
                // PostgreSQL reaches a row counted from the end by scanning back from the end,
                // and an earlier (or the same) row by rewinding or scanning back.
                let backward = if absolute { n < 0 || (self.position > 0 && target <= self.position) } else { n < 0 };
                if backward && !self.scrolls() {
                    return Err(forward_only());
                }
                if (1..=total).contains(&target) {
                    let row = self.row(target)?;
                    count = 1;
                    if !only_move {
                        out.push(row);
                    }
                }
                self.position = target;
            }
        }
        Ok((out, count))
    }
}

impl Session {
    /// `DECLARE name CURSOR FOR query`: runs the query into the cursor.
    pub(super) fn declare_cursor(&mut self, declare: &[ast::Declare], params: &Params) -> Result<StatementResult> {
        let [declare] = declare else {
            return Err(DbError::syntax("syntax error at or near \",\""));
        };
        let (Some(ast::DeclareType::Cursor), Some(query), [name]) =
            (&declare.declare_type, &declare.for_query, declare.names.as_slice())
        else {
            return Err(DbError::syntax("syntax error at or near \"DECLARE\""));
        };
        if matches!(self.state, State::Failed { .. }) {
            return Err(super::in_failed_block());
        }
        if declare.binary == Some(true) {
            return Err(DbError::sql(SqlState::FeatureNotSupported, "BINARY cursors are not supported"));
        }
        let hold = declare.hold == Some(true);
        let in_block = matches!(self.state, State::InBlock { .. });
        if !hold && !in_block {
            return Err(DbError::sql(
                SqlState::NoActiveSqlTransaction,
                "DECLARE CURSOR can only be used in transaction blocks",
            ));
        }
        let name = crate::bind_expr::ident_name(name);
        if self.cursors.open.contains_key(&name) {
            return Err(DbError::sql(SqlState::DuplicateCursor, format!("cursor \"{name}\" already exists")));
        }
        // A SCROLL cursor's rows stay in memory, where any can be reached; others may spool.
        let scroll = declare.scroll;
        let statement = ast::Statement::Query(query.clone());
        let spool = scroll != Some(true);
        let result = self.in_session_transaction(|s, txn, read_only, in_block| {
            s.run_in_spooling(txn, (read_only, in_block), &statement, params, spool)
        })?;
        let columns = result.columns.unwrap_or_default();
        let total = result.rows.len() as u64 + result.spooled.as_ref().map_or(0, SpooledRows::remaining);
        let rows = match (result.spooled, scroll) {
            (None, Some(false)) => Rows::Forward { rest: SpooledRows::from_rows(result.rows), read: 0 },
            (None, _) => Rows::All(result.rows),
            (Some(spooled), _) => Rows::Forward { rest: spooled, read: 0 },
        };
        let savepoints = self.block_settings.as_ref().map_or(0, |b| b.savepoints.len());
        let cursor = Cursor { columns, rows, total, position: 0, hold, in_open_block: in_block, savepoints };
        self.cursors.open.insert(name, cursor);
        Ok(StatementResult::tag("DECLARE CURSOR"))
    }

    /// `FETCH` or `MOVE`.
    pub(super) fn fetch_cursor(&mut self, command: &CursorMove) -> Result<StatementResult> {
        if matches!(self.state, State::Failed { .. }) {
            return Err(super::in_failed_block());
        }
        let cursor = self.cursors.open.get_mut(&command.cursor).ok_or_else(|| no_cursor(&command.cursor))?;
        let (rows, count) = cursor.fetch(command.direction, command.only_move)?;
        // The rows go out from memory, so they count as a statement's result would.
        let mut budget = rustydb_storage::MemoryBudget::new(self.engine.statement_memory_limit());
        for row in &rows {
            budget.charge(crate::context::row_bytes(row), "the rows of a FETCH")?;
        }
        Ok(if command.only_move {
            StatementResult::tag(format!("MOVE {count}"))
        } else {
            StatementResult {
                tag: format!("FETCH {count}"),
                columns: Some(cursor.columns.clone()),
                rows,
                ..Default::default()
            }
        })
    }

    /// `CLOSE name` or `CLOSE ALL`.
    pub(super) fn close_cursor(&mut self, close: &ast::CloseCursor) -> Result<StatementResult> {
        if matches!(self.state, State::Failed { .. }) {
            return Err(super::in_failed_block());
        }
        match close {
            ast::CloseCursor::All => {
                self.cursors.open.clear();
                Ok(StatementResult::tag("CLOSE CURSOR ALL"))
            }
            ast::CloseCursor::Specific { name } => {
                let name = crate::bind_expr::ident_name(name);
                self.cursors.open.remove(&name).ok_or_else(|| no_cursor(&name))?;
                Ok(StatementResult::tag("CLOSE CURSOR"))
            }
        }
    }
}
