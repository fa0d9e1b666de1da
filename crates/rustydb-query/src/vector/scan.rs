//! A sequential scan that decodes straight into typed columns.
//!
//! Each page's visible tuples are walked once ([`visit_row`]); the columns the plan reads go
//! into their [`Column`]s, the rest are skipped over undecoded. No `Vec<Value>` is built per
//! row. The scan's own filter, vectorized, narrows the batch's selection.

use super::batch::ColumnBatch;
use super::column::{Column, Data};
use super::expr::VExpr;
use crate::access;
use crate::catalog::TableDef;
use crate::context::ExecContext;
use rustydb_foundation::row::{Scalar, visit_row};
use rustydb_foundation::{DataType, DbError, Result};
use rustydb_txn::tuple;

/// Rows a scan gathers before handing a batch up (whole pages, so a little more).
const TARGET_ROWS: usize = 2048;

/// A vectorized sequential scan of one table.
#[derive(Debug)]
pub struct ColumnScan<'p> {
    table: &'p TableDef,
    filter: Option<VExpr>,
    /// Per table column: its type if the plan reads it.
    read: Vec<Option<DataType>>,
    needed: Vec<bool>,
    column_of: Vec<Option<usize>>,
    next: u32,
    pages: Option<u32>,
}

impl<'p> ColumnScan<'p> {
    /// A scan of `table` decoding the columns `read` marks (with their types) and keeping
    /// the rows that pass `filter`.
    pub fn new(table: &'p TableDef, read: Vec<Option<DataType>>, filter: Option<VExpr>) -> Self {
        let wanted: Vec<bool> = read.iter().map(Option::is_some).collect();
        let needed = access::physical_mask(table, &wanted);
        // Which column each slot holds (a dropped column's: none).
        let mut column_of = vec![None; needed.len()];
        for position in 0..table.schema.len() {
            if let Some(c) = column_of.get_mut(table.slot(position)) {
                *c = Some(position);
            }
        }
        ColumnScan { table, filter, read, needed, column_of, next: 0, pages: None }
    }

    /// Per table column, its type if the scan decodes it.
    pub fn types(&self) -> &[Option<DataType>] {
        &self.read
    }

    /// The next batch with rows in play, or `None` at the end of the table.
    pub fn next(&mut self, ctx: &mut ExecContext<'_>) -> Result<Option<ColumnBatch>> {
        let pages = match self.pages {
            Some(p) => p,
            None => *self.pages.insert(access::page_count(ctx, self.table)?),
        };
        loop {
            ctx.interrupt.check()?;
            if self.next >= pages {
                return Ok(None);
            }
            let mut columns: Vec<Option<Column>> =
                self.read.iter().map(|t| t.map(|t| Column::with_capacity(t, TARGET_ROWS + 256))).collect();
            let mut len = 0;
            while self.next < pages && len < TARGET_ROWS {
                access::load_visible(ctx, self.table, self.next)?;
                self.next += 1;
                for (_, t) in ctx.scan.iter() {
                    decode_into(tuple::body(t), (&self.needed, &self.column_of), &mut columns, self.table)?;
                    len += 1;
                }
            }
            let mut batch = ColumnBatch { len, columns, selection: None };
            if let Some(filter) = &self.filter {
                super::narrow(&mut batch, filter)?;
            }
            if batch.rows() > 0 {
                return Ok(Some(batch));
            }
        }
    }
}

/// Appends one row's needed values to `columns`: `needed` marks the slots to decode, and
/// `column_of` names the column each slot holds.
fn decode_into(
    body: &[u8],
    (needed, column_of): (&[bool], &[Option<usize>]),
    columns: &mut [Option<Column>],
    table: &TableDef,
) -> Result<()> {
    let mut mismatch = None;
    let count = visit_row(body, needed, |slot, value| {
        let Some(i) = column_of.get(slot).copied().flatten() else { return };
        let Some(column) = columns[i].as_mut() else { return };
        match (&mut column.data, value) {
            (_, Scalar::Null) => return column.push_null(),
            (Data::Int(v), Scalar::Int(x)) => v.push(x),
            (Data::Float(v), Scalar::Float(x)) => v.push(x),
            (Data::Bool(v), Scalar::Bool(x)) => v.push(x),
            (_, other) => {
                mismatch.get_or_insert((i, other));
                return column.push_null();
            }
        }
        column.pushed_value();
    })?;
    if let Some((i, value)) = mismatch {
        return Err(DbError::Corruption(format!(
            "column {} of table \"{}\" holds {value:?}, not a value of its type",
            i + 1,
            table.name
        )));
    }
    // Columns the row predates (ADD COLUMN after it was written) read as NULL. A row holding
    // every slot (nearly every one) has none.
    if count < needed.len() {
        for (position, column) in columns.iter_mut().enumerate() {
            if let Some(column) = column
                && table.slot(position) >= count
            {
                column.push_null();
            }
        }
    }
    Ok(())
}
