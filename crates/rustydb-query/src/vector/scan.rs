//! A sequential scan that decodes straight into typed columns.
//!
//! Each page's visible tuples are walked once ([`sink_row`]), in place on the latched page
//! (nothing is copied out); the columns the plan reads go into their [`Column`]s, the rest are
//! skipped over undecoded. No `Vec<Value>` is built per row. The scan's own filter,
//! vectorized, narrows the batch's selection.

use super::batch::ColumnBatch;
use super::column::{Column, Data};
use super::expr::VExpr;
use crate::access;
use crate::catalog::TableDef;
use crate::context::ExecContext;
use rustydb_foundation::row::{RowSink, SKIP, sink_row};
use rustydb_foundation::{DataType, DbError, Result, Value};

/// Rows a scan gathers before handing a batch up (whole pages, so a little more).
const TARGET_ROWS: usize = 2048;

/// A vectorized sequential scan of one table.
#[derive(Debug)]
pub struct ColumnScan<'p> {
    table: &'p TableDef,
    filter: Option<VExpr>,
    /// Per table column: its type if the plan reads it.
    read: Vec<Option<DataType>>,
    /// Per stored slot: the index among the read columns (in position order) of the column it
    /// holds, or [`SKIP`].
    targets: Vec<u32>,
    /// The positions of the read columns, in order.
    positions: Vec<usize>,
    next: u32,
    pages: Option<u32>,
    /// The table's heap file, found on the first batch.
    heap: Option<std::sync::Arc<rustydb_storage::heap::HeapFile>>,
}

impl<'p> ColumnScan<'p> {
    /// A scan of `table` decoding the columns `read` marks (with their types) and keeping
    /// the rows that pass `filter`.
    pub fn new(table: &'p TableDef, read: Vec<Option<DataType>>, filter: Option<VExpr>) -> Self {
        let positions: Vec<usize> = (0..read.len()).filter(|&p| read[p].is_some()).collect();
        let slots = table.slot_count().max(table.schema.len());
        let mut targets = vec![SKIP; slots];
        for (dense, &position) in positions.iter().enumerate() {
            if let Some(t) = targets.get_mut(table.slot(position)) {
                *t = dense as u32;
            }
        }
        // Nothing past the last read slot is walked.
        let used = targets.iter().rposition(|t| *t != SKIP).map_or(0, |i| i + 1);
        targets.truncate(used);
        ColumnScan { table, filter, read, targets, positions, next: 0, pages: None, heap: None }
    }

    /// Per table column, its type if the scan decodes it.
    pub fn types(&self) -> &[Option<DataType>] {
        &self.read
    }

    /// The table's heap file and its number of pages (as the statement sees it).
    pub fn heap_and_pages(
        &self,
        ctx: &ExecContext<'_>,
    ) -> Result<(std::sync::Arc<rustydb_storage::heap::HeapFile>, u32)> {
        Ok((access::heap(ctx, self.table)?, access::page_count(ctx, self.table)?))
    }

    /// The next batch with rows in play, or `None` at the end of the table.
    pub fn next(&mut self, ctx: &mut ExecContext<'_>) -> Result<Option<ColumnBatch>> {
        if self.heap.is_none() {
            let (heap, pages) = self.heap_and_pages(ctx)?;
            self.heap = Some(heap);
            self.pages = Some(pages);
        }
        let (Some(heap), Some(pages)) = (self.heap.clone(), self.pages) else { return Ok(None) };
        let mut source = SerialPages { ctx, heap: &heap, next: self.next, pages };
        let batch = self.gather(&mut source);
        self.next = source.next;
        batch
    }

    /// The next batch with rows in play from the pages `source` hands out, or `None` when it
    /// has no more.
    pub fn gather(&self, source: &mut impl PageSource) -> Result<Option<ColumnBatch>> {
        loop {
            source.check()?;
            let mut sink = Sink {
                columns: self
                    .positions
                    .iter()
                    .filter_map(|&p| self.read[p].map(|t| Column::with_capacity(t, TARGET_ROWS + 256)))
                    .collect(),
                mismatch: None,
            };
            let mut len = 0;
            let mut any = false;
            while len < TARGET_ROWS {
                let Some(page) = source.next_page() else { break };
                any = true;
                let (targets, sink) = (&self.targets, &mut sink);
                source.visit(page, |body| {
                    len += 1;
                    let count = sink_row(body, targets, sink)?;
                    if count < targets.len() {
                        // Columns the row predates (ADD COLUMN after it was written) read as
                        // NULL. A row holding every slot (nearly every one) has none.
                        for &t in &targets[count..] {
                            if t != SKIP {
                                sink.columns[t as usize].push_null();
                            }
                        }
                    }
                    Ok(())
                })?;
            }
            if !any {
                return Ok(None);
            }
            if let Some((dense, value)) = sink.mismatch {
                let position = self.positions[dense as usize];
                return Err(DbError::Corruption(format!(
                    "column {} of table \"{}\" holds {value:?}, not a value of its type",
                    position + 1,
                    self.table.name
                )));
            }
            let mut columns: Vec<Option<Column>> = vec![None; self.read.len()];
            for (column, &position) in sink.columns.into_iter().zip(&self.positions) {
                columns[position] = Some(column);
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

/// Where a scan's pages come from, and how their visible rows are read: the statement's own
/// context for a serial scan, or a worker's share of a parallel one (see `super::parallel`).
pub trait PageSource {
    /// The next page to read, or `None` when there are no more.
    fn next_page(&mut self) -> Option<u32>;
    /// Calls `visit` with the body of each row version on `page` the statement sees.
    /// (Generic, so that the per-row call inlines into the page's loop.)
    fn visit(&mut self, page: u32, visit: impl FnMut(&[u8]) -> Result<()>) -> Result<()>;
    /// Whether the statement must stop (a cancel, its timeout).
    fn check(&self) -> Result<()>;
}

/// The pages of a serial scan, read through the statement's context.
struct SerialPages<'c, 'a, 'h> {
    ctx: &'c mut ExecContext<'a>,
    heap: &'h rustydb_storage::heap::HeapFile,
    next: u32,
    pages: u32,
}

impl PageSource for SerialPages<'_, '_, '_> {
    fn next_page(&mut self) -> Option<u32> {
        (self.next < self.pages).then(|| {
            self.next += 1;
            self.next - 1
        })
    }

    fn visit(&mut self, page: u32, visit: impl FnMut(&[u8]) -> Result<()>) -> Result<()> {
        access::visit_visible(self.ctx, self.heap, page, visit)
    }

    fn check(&self) -> Result<()> {
        self.ctx.interrupt.check()
    }
}

/// Receives a row's values into the batch's columns (by their index among the read columns).
struct Sink {
    columns: Vec<Column>,
    /// The first value found whose kind is not its column's (corruption).
    mismatch: Option<(u32, Value)>,
}

impl RowSink for Sink {
    #[inline]
    fn null(&mut self, target: u32) {
        self.columns[target as usize].push_null();
    }

    #[inline]
    fn boolean(&mut self, target: u32, v: bool) {
        let column = &mut self.columns[target as usize];
        match &mut column.data {
            Data::Bool(d) => d.push(v),
            _ => return self.mismatched(target, Value::Bool(v)),
        }
        column.pushed_value();
    }

    #[inline]
    fn int(&mut self, target: u32, v: i64) {
        let column = &mut self.columns[target as usize];
        match &mut column.data {
            Data::Int(d) => d.push(v),
            _ => return self.mismatched(target, Value::Int8(v)),
        }
        column.pushed_value();
    }

    #[inline]
    fn float(&mut self, target: u32, v: f64) {
        let column = &mut self.columns[target as usize];
        match &mut column.data {
            Data::Float(d) => d.push(v),
            _ => return self.mismatched(target, Value::Float8(v)),
        }
        column.pushed_value();
    }

    fn other(&mut self, target: u32, v: Value) {
        self.mismatched(target, v)
    }
}

impl Sink {
    #[cold]
    fn mismatched(&mut self, target: u32, value: Value) {
        self.mismatch.get_or_insert((target, value));
        self.columns[target as usize].push_null();
    }
}
