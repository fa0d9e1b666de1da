//! A batch of rows held column by column.

use super::column::Column;
use rustydb_foundation::{DataType, DbError, Result, Value};

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

    /// A batch of `rows`, whose columns have the types `types` (`None`: a column left out).
    pub fn from_rows(rows: &[Vec<Value>], types: &[Option<DataType>]) -> Self {
        let columns = types
            .iter()
            .enumerate()
            .map(|(i, ty)| {
                ty.map(|ty| {
                    let mut c = Column::with_capacity(ty, rows.len());
                    for row in rows {
                        c.push_value(row.get(i).unwrap_or(&Value::Null));
                    }
                    c
                })
            })
            .collect();
        ColumnBatch { len: rows.len(), columns, selection: None }
    }

    /// The row at physical position `at`, with NULL for the columns left out.
    pub fn row(&self, at: usize) -> Vec<Value> {
        self.columns.iter().map(|c| c.as_ref().map_or(Value::Null, |c| c.value(at))).collect()
    }

    /// The number of rows in play.
    pub fn rows(&self) -> usize {
        self.selection.as_ref().map_or(self.len, Vec::len)
    }
}
