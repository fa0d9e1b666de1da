//! FOR SHARE / FOR UPDATE: each row reaching this operator (in the order the sort below gave
//! them) is locked before it is handed up, as PostgreSQL's LockRows node does, so OFFSET and
//! LIMIT above it count locked rows and SKIP LOCKED fills a limit from rows further on. Under
//! READ COMMITTED a row updated by a transaction that committed meanwhile is replaced by its
//! newest version if that still passes the query's WHERE (PostgreSQL's EvalPlanQual re-check).

use super::scan::{decode_tid, encode_tid};
use super::{Batch, Operator, passes};
use crate::access;
use crate::catalog::TableDef;
use crate::context::ExecContext;
use crate::expr::Expr;
use crate::plan::RowLockClause;
use rustydb_foundation::Result;
use rustydb_txn::{LockMode, RowLock};

/// The row-locking operator.
pub struct LockRowsOp<'p> {
    input: Box<dyn Operator + 'p>,
    table: &'p TableDef,
    filter: Option<&'p Expr>,
    lock: RowLockClause,
}

impl<'p> LockRowsOp<'p> {
    /// Locks the rows of `table` that `input` yields (each ending with its tuple id).
    pub fn new(
        input: Box<dyn Operator + 'p>,
        table: &'p TableDef,
        filter: Option<&'p Expr>,
        lock: RowLockClause,
    ) -> Self {
        LockRowsOp { input, table, filter, lock }
    }
}

impl Operator for LockRowsOp<'_> {
    fn next(&mut self, ctx: &mut ExecContext<'_>) -> Result<Option<Batch>> {
        let heap = ctx.engine.txn_manager().storage().heap(self.table.file())?;
        let mode = if self.lock.exclusive { LockMode::Exclusive } else { LockMode::Share };
        while let Some(batch) = self.input.next(ctx)? {
            let mut out = Vec::with_capacity(batch.len());
            for row in batch {
                let Some(last) = row.last() else { continue };
                let mut current = Some((decode_tid(self.table, last)?, row));
                while let Some((tid, _)) = &current {
                    let tm = ctx.engine.txn_manager();
                    match tm.lock_row(ctx.txn, &heap, *tid, mode, self.lock.policy, &self.table.name)? {
                        RowLock::Locked => break,
                        RowLock::Skipped | RowLock::Gone => current = None,
                        RowLock::Updated(newer) => {
                            current = match access::fetch_newer(ctx, self.table, newer)? {
                                Some(mut newer_row) if passes(ctx, self.filter, &newer_row)? => {
                                    newer_row.push(encode_tid(newer));
                                    Some((newer, newer_row))
                                }
                                _ => None,
                            }
                        }
                    }
                }
                if let Some((_, row)) = current {
                    out.push(row);
                }
            }
            if !out.is_empty() {
                return Ok(Some(out));
            }
        }
        Ok(None)
    }
}
