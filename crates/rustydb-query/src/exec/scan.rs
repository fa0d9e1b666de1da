//! Reading a table: a page at a time for a sequential scan, or the rows an index lookup or
//! range finds, filtered. [`TableScan`] hands out rows with their tuple ids (UPDATE and DELETE
//! use it to find their targets); [`ScanOp`] is the query operator over it.

use super::{BATCH_ROWS, Batch, Operator, Row, with_env};
use crate::access;
use crate::catalog::TableDef;
use crate::context::ExecContext;
use crate::expr::{EvalEnv, Expr};
use crate::plan::{Access, RangeEnd};
use rustydb_foundation::{DbError, FileId, PageId, Result, TupleId, Value};
use rustydb_index::{Index, keycode};
use rustydb_txn::Predicate;
use std::rc::Rc;

enum State {
    Start,
    Pages { next: u32, count: u32 },
    Found(std::vec::IntoIter<(TupleId, Row)>),
    Done,
}

/// A scan of one table's visible rows that pass a filter.
pub struct TableScan<'p> {
    table: &'p TableDef,
    access: &'p Access,
    filter: Option<&'p Expr>,
    state: State,
    /// Which columns to decode on a sequential scan (`None`: all).
    needed: Option<&'p [bool]>,
}

impl std::fmt::Debug for TableScan<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableScan")
            .field("table", &self.table.name)
            .field("access", self.access)
            .finish_non_exhaustive()
    }
}

impl<'p> TableScan<'p> {
    /// A scan of `table` by `access`, keeping rows that pass `filter`.
    pub fn new(table: &'p TableDef, access: &'p Access, filter: Option<&'p Expr>) -> Self {
        TableScan { table, access, filter, state: State::Start, needed: None }
    }

    /// The same scan decoding only the columns `needed` marks (the rest read as NULL).
    pub fn decoding(mut self, needed: Option<&'p [bool]>) -> Self {
        self.needed = needed;
        self
    }

    /// The next rows (with their tuple ids), or `None` at the end. `outer` is the outer row
    /// the filter may read.
    pub fn next(&mut self, ctx: &mut ExecContext<'_>, outer: &[Value]) -> Result<Option<Vec<(TupleId, Row)>>> {
        loop {
            // Pages whose rows all fail the filter do not reach the operator above: check here.
            ctx.interrupt.check()?;
            let candidates = match &mut self.state {
                State::Start => {
                    self.state = start(ctx, self.table, self.access)?;
                    continue;
                }
                State::Pages { next, count } => {
                    let mut rows = Vec::new();
                    while *next < *count && rows.len() < BATCH_ROWS / 2 {
                        rows.extend(access::scan_page_decoding(ctx, self.table, *next, self.needed)?);
                        *next += 1;
                    }
                    if rows.is_empty() && *next >= *count {
                        self.state = State::Done;
                        return Ok(None);
                    }
                    rows
                }
                State::Found(rows) => {
                    let chunk: Vec<_> = rows.by_ref().take(BATCH_ROWS).collect();
                    if chunk.is_empty() {
                        self.state = State::Done;
                        return Ok(None);
                    }
                    chunk
                }
                State::Done => return Ok(None),
            };
            let Some(filter) = self.filter else { return Ok(Some(candidates)) };
            let kept = with_env(ctx, outer, |env, _| {
                let mut kept = Vec::with_capacity(candidates.len());
                for (tid, row) in candidates {
                    if filter.qual(&row, env)? {
                        kept.push((tid, row));
                    }
                }
                Ok(kept)
            })?;
            if !kept.is_empty() {
                return Ok(Some(kept));
            }
        }
    }
}

fn start(ctx: &mut ExecContext<'_>, table: &TableDef, access: &Access) -> Result<State> {
    let found = match access {
        Access::SeqScan => return Ok(State::Pages { next: 0, count: access::page_count(ctx, table)? }),
        Access::PrimaryKey(key) => {
            let Some(pk) = ctx.engine.primary_index(table) else {
                return Err(DbError::Internal(format!("table {} has no primary key index", table.name)));
            };
            index_rows(ctx, table, (&pk.index, table.primary_index_file()), key, &[])?
        }
        Access::Index { index, key } => {
            let open = ctx.engine.open_index(index)?;
            index_rows(ctx, table, (open.index.as_ref(), index.file()), key, &index.descending)?
        }
        Access::IndexRange { index, lower, upper } => {
            // A serializable reader of a range reads the predicate: the whole relation stands
            // for it (a key-range lock would be finer).
            ctx.engine.txn_manager().predicate_lock(ctx.txn, Predicate::Relation(table.file()));
            let tids = match index {
                None => {
                    let Some(pk) = ctx.engine.primary_index(table) else {
                        return Err(DbError::Internal(format!("table {} has no primary key index", table.name)));
                    };
                    range_tids(ctx, &pk.index, lower.as_ref(), upper.as_ref(), false)?
                }
                Some(def) => {
                    let open = ctx.engine.open_index(def)?;
                    range_tids(ctx, open.index.as_ref(), lower.as_ref(), upper.as_ref(), def.first_descending())?
                }
            };
            let mut rows = Vec::with_capacity(tids.len());
            for tid in tids {
                if let Some(row) = access::fetch(ctx, table, tid)? {
                    rows.push((tid, row));
                }
            }
            rows
        }
    };
    Ok(State::Found(found.into_iter()))
}

/// The tuples a range of an index's first column holds, in key order (the bounds are
/// constants; a NULL bound holds nothing).
fn range_tids(
    ctx: &mut ExecContext<'_>,
    index: &dyn Index,
    lower: Option<&RangeEnd>,
    upper: Option<&RangeEnd>,
    descending: bool,
) -> Result<Vec<TupleId>> {
    let env = EvalEnv::new(ctx.user, ctx.database);
    let eval = |end: Option<&RangeEnd>| -> Result<Option<(Value, bool)>> {
        end.map(|e| Ok((e.value.eval(&[], &env)?, e.inclusive))).transpose()
    };
    let (lower, upper) = (eval(lower)?, eval(upper)?);
    let bounds = keycode::first_column_range(
        lower.as_ref().map(|(v, i)| (v, *i)),
        upper.as_ref().map(|(v, i)| (v, *i)),
        descending,
    );
    let Some((low, high)) = bounds else { return Ok(Vec::new()) };
    let entries = index.range(low.as_ref().map(Vec::as_slice), high.as_ref().map(Vec::as_slice), false)?;
    Ok(entries.into_iter().map(|(_, tid)| tid).collect())
}

/// The visible rows whose key in `index` (with its file) equals the constant `key`.
fn index_rows(
    ctx: &mut ExecContext<'_>,
    table: &TableDef,
    (index, file): (&dyn Index, FileId),
    key: &[Expr],
    descending: &[bool],
) -> Result<Vec<(TupleId, Row)>> {
    let env = EvalEnv::new(ctx.user, ctx.database);
    let values = key.iter().map(|e| e.eval(&[], &env)).collect::<Result<Vec<_>>>()?;
    if values.iter().any(Value::is_null) {
        return Ok(Vec::new());
    }
    let key = keycode::encode_key_directed(&values, descending);
    // A serializable reader reads the key, found or not: a concurrent insert of it conflicts.
    ctx.engine.txn_manager().predicate_lock(ctx.txn, Predicate::Key(file, key.clone()));
    let mut rows = Vec::new();
    for tid in index.lookup(&key)? {
        if let Some(row) = access::fetch(ctx, table, tid)? {
            rows.push((tid, row));
        }
    }
    Ok(rows)
}

/// A tuple id as the int8 a scan outputs for [`super::lock_rows`].
pub fn encode_tid(tid: TupleId) -> Value {
    Value::Int8((i64::from(tid.page.number) << 16) | i64::from(tid.slot))
}

/// The tuple id of `table` an [`encode_tid`] value names.
pub fn decode_tid(table: &TableDef, v: &Value) -> Result<TupleId> {
    let Value::Int8(n) = v else { return Err(DbError::Internal(format!("a tuple id of {v:?}"))) };
    Ok(TupleId { page: PageId::new(table.file(), (n >> 16) as u32), slot: (n & 0xffff) as u16 })
}

/// The scan operator: rows, each followed by its tuple id if asked for.
pub struct ScanOp<'p> {
    scan: TableScan<'p>,
    tid: bool,
    outer: Rc<[Value]>,
}

impl<'p> ScanOp<'p> {
    /// A scan operator over `scan`.
    pub fn new(scan: TableScan<'p>, tid: bool, outer: Rc<[Value]>) -> Self {
        ScanOp { scan, tid, outer }
    }
}

impl Operator for ScanOp<'_> {
    fn next(&mut self, ctx: &mut ExecContext<'_>) -> Result<Option<Batch>> {
        let Some(rows) = self.scan.next(ctx, &self.outer)? else { return Ok(None) };
        Ok(Some(
            rows.into_iter()
                .map(|(tid, mut row)| {
                    if self.tid {
                        row.push(encode_tid(tid));
                    }
                    row
                })
                .collect(),
        ))
    }
}
