//! `WITH RECURSIVE`: the base term's rows are output and become the work table; then, round
//! after round, the recursive term runs over the work table and its new rows (for UNION, those
//! not produced before) are output and become the next work table, until a round adds nothing.
//! Rows stream out round by round, so a LIMIT above stops an unbounded recursion.

use super::{Batch, HashKey, Operator, Row, open};
use crate::context::ExecContext;
use crate::rel::Rel;
use rustydb_foundation::{Result, Value};
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

/// The current work table of each running recursion, by id.
#[derive(Debug, Default)]
pub struct WorkTables {
    tables: HashMap<usize, Rc<Vec<Row>>>,
}

/// Reads the work table of a recursion.
pub struct WorkTableOp {
    work: usize,
    done: bool,
}

impl WorkTableOp {
    /// A reader of work table `work`.
    pub fn new(work: usize) -> Self {
        WorkTableOp { work, done: false }
    }
}

impl Operator for WorkTableOp {
    fn next(&mut self, ctx: &mut ExecContext<'_>) -> Result<Option<Batch>> {
        if self.done {
            return Ok(None);
        }
        self.done = true;
        let rows = ctx.work_tables.tables.get(&self.work).map(|r| r.as_ref().clone()).unwrap_or_default();
        Ok(if rows.is_empty() { None } else { Some(rows) })
    }
}

/// The recursive union operator.
pub struct RecursiveUnionOp<'p> {
    base: &'p Rel,
    recursive: &'p Rel,
    all: bool,
    work: usize,
    outer: Rc<[Value]>,
    seen: HashSet<HashKey>,
    started: bool,
    finished: bool,
}

impl<'p> RecursiveUnionOp<'p> {
    /// `base UNION [ALL] recursive`, the recursive term reading work table `work`.
    pub fn new(base: &'p Rel, recursive: &'p Rel, all: bool, work: usize, outer: Rc<[Value]>) -> Self {
        RecursiveUnionOp { base, recursive, all, work, outer, seen: HashSet::new(), started: false, finished: false }
    }

    /// Runs `rel` to the end; keeps the rows not seen before (all of them for UNION ALL).
    fn round(&mut self, ctx: &mut ExecContext<'_>, rel: &Rel) -> Result<Vec<Row>> {
        let mut op = open(rel, &self.outer);
        let mut out = Vec::new();
        while let Some(batch) = op.next(ctx)? {
            for row in batch {
                if !self.all {
                    let key = HashKey(row);
                    if self.seen.contains(&key) {
                        continue;
                    }
                    self.seen.insert(key.clone());
                    ctx.hold_row(&key.0, "a recursive query")?;
                    out.push(key.0);
                } else {
                    ctx.hold_row(&row, "a recursive query")?;
                    out.push(row);
                }
            }
        }
        Ok(out)
    }
}

impl Operator for RecursiveUnionOp<'_> {
    fn next(&mut self, ctx: &mut ExecContext<'_>) -> Result<Option<Batch>> {
        if self.finished {
            return Ok(None);
        }
        let rows = if !self.started {
            self.started = true;
            self.round(ctx, self.base)?
        } else {
            self.round(ctx, self.recursive)?
        };
        // UNION ALL keeps nothing but the work table, so the previous one's rows are given
        // back (an endless recursion runs until it is cancelled, as in PostgreSQL); UNION
        // keeps every row it has produced, to drop repeats.
        let previous = if rows.is_empty() {
            self.finished = true;
            ctx.work_tables.tables.remove(&self.work)
        } else {
            ctx.work_tables.tables.insert(self.work, Rc::new(rows.clone()))
        };
        if self.all
            && let Some(previous) = previous
        {
            ctx.release_rows(&previous);
        }
        Ok((!rows.is_empty()).then_some(rows))
    }
}
