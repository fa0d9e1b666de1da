//! A batch of rows held column by column.

use super::column::Column;
use rustydb_foundation::{DbError, Result};

/// Up to a few thousand rows as typed columns, with the rows still in play.
#[derive(Debug, Clone, Default)]
pub struct ColumnBatch {
    /// The number of physical rows in each column.
    pub len: usize,
    /// The columns by position; `None` for a column nothing reads (never decoded).
    pub columns: Vec<Option<Column>>,
    /// The physical rows still in the batch, ascending (`None`: all): a filter narrows this
    /// instead of copying the columns.
    pub selection: Option<Vec<u32>>,
}

impl ColumnBatch {
    /// The column at `index`, which the plan said it would read.
    pub fn column(&self, index: usize) -> Result<&Column> {
        self.columns
            .get(index)
            .and_then(Option::as_ref)
            .ok_or_else(|| DbError::Internal(format!("vectorized plan reads column {index}, which was not decoded")))
    }

    /// The number of rows in play.
    pub fn rows(&self) -> usize {
        self.selection.as_ref().map_or(self.len, Vec::len)
    }
}
