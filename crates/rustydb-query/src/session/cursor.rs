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
//! after a savepoint stays open when the transaction rolls back to it (PostgreSQL closes it).

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
}

#[derive(Debug)]
enum Rows {
    /// Every row, reachable in any order.
    All(Vec<Row>),
    /// Rows read in order once: those not read yet, and the last one read (row `read`).
    Forward { rest: Rest, read: u64, current: Option<Row> },
}

#[derive(Debug)]
enum Rest {
    Memory(std::vec::IntoIter<Row>),
    Spooled(SpooledRows),
}

fn forward_only() -> DbError {
    DbError::sql(SqlState::ObjectNotInPrerequisiteState, "cursor can only scan forward")
        .with_hint("Declare it with SCROLL option to enable backward scan.")
}

fn no_cursor(name: &str) -> DbError {
    DbError::sql(SqlState::InvalidCursorName, format!("cursor \"{name}\" does not exist"))
}

impl Cursor {
    /// Row `i` (1-based, at most `total`).
    fn row(&mut self, i: u64) -> Result<Row> {
        match &mut self.rows {
            Rows::All(rows) => Ok(rows[(i - 1) as usize].clone()),
            Rows::Forward { rest, read, current } => {
                if i < *read {
                    return Err(forward_only());
                }
                while *read < i {
                    let next = match rest {
                        Rest::Memory(rows) => rows.next(),
                        Rest::Spooled(rows) => rows.next_row()?,
                    };
                    *current = Some(next.ok_or_else(|| DbError::Internal("a cursor ran out of rows".into()))?);
                    *read += 1;
                }
                current.clone().ok_or_else(|| DbError::Internal("a cursor lost its current row".into()))
            }
        }
    }

    /// True if the cursor can move back.
    fn scrolls(&self) -> bool {
        matches!(self.rows, Rows::All(_))
    }

    /// Moves as `direction` says; the rows passed over (kept unless `only_move`) and their
    /// count, as PostgreSQL's PortalRunFetch counts them.
    fn fetch(&mut self, direction: Direction, only_move: bool) -> Result<(Vec<Row>, u64)> {
        let mut out = Vec::new();
        let mut count = 0;
        let total = self.total;
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
                let from = if matches!(direction, Direction::Absolute(_)) {
                    if n < 0 { i128::from(total) + 1 } else { 0 }
                } else {
                    i128::from(self.position)
                };
                let target = from + i128::from(n);
                let target = target.clamp(0, i128::from(total) + 1) as u64;
                if target < self.position && !self.scrolls() && !(target == 0 && self.position == 0) {
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
        let spooling = std::mem::replace(&mut self.spool_results, scroll != Some(true));
        let result = self.in_session_transaction(|s, txn, read_only, in_block| {
            s.run_in(txn, read_only, in_block, &statement, params, None)
        });
        self.spool_results = spooling;
        let result = result?;
        let columns = result.columns.unwrap_or_default();
        let total = result.rows.len() as u64 + result.spooled.as_ref().map_or(0, SpooledRows::remaining);
        let rows = match (result.spooled, scroll) {
            (None, Some(false)) => {
                Rows::Forward { rest: Rest::Memory(result.rows.into_iter()), read: 0, current: None }
            }
            (None, _) => Rows::All(result.rows),
            (Some(spooled), _) => Rows::Forward { rest: Rest::Spooled(spooled), read: 0, current: None },
        };
        let cursor = Cursor { columns, rows, total, position: 0, hold, in_open_block: in_block };
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
