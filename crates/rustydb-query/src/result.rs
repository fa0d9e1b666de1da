//! What a statement gives back to whoever ran it: a command tag, result columns and rows, and
//! any notices raised on the way.

use rustydb_foundation::{DataType, Value};

/// One column of a result set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultColumn {
    /// The column's name as the client sees it.
    pub name: String,
    /// Its type (the wire layer sends its OID).
    pub data_type: DataType,
}

/// A notice (PostgreSQL NoticeResponse): not an error, but worth telling the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// `INFO`, `NOTICE` or `WARNING`.
    pub severity: &'static str,
    /// The SQLSTATE (`00000` for plain notices, `25001` and the like for warnings).
    pub code: &'static str,
    /// The message.
    pub message: String,
    /// Its DETAIL line(s), if any.
    pub detail: Option<String>,
}

impl Notice {
    /// A NOTICE with SQLSTATE 00000.
    pub fn plain(message: impl Into<String>) -> Self {
        Notice { severity: "NOTICE", code: "00000", message: message.into(), detail: None }
    }

    /// An INFO message (what VERBOSE options report), SQLSTATE 00000.
    pub fn info(message: impl Into<String>) -> Self {
        Notice { severity: "INFO", code: "00000", message: message.into(), detail: None }
    }

    /// A WARNING with a SQLSTATE.
    pub fn warning(code: &'static str, message: impl Into<String>) -> Self {
        Notice { severity: "WARNING", code, message: message.into(), detail: None }
    }

    /// The notice with a DETAIL.
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
}

/// The outcome of one statement.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StatementResult {
    /// The command tag, e.g. `INSERT 0 3`, `SELECT 2`, `CREATE TABLE`.
    pub tag: String,
    /// Result columns; `None` for statements that return no rows (not even an empty set).
    pub columns: Option<Vec<ResultColumn>>,
    /// Result rows.
    pub rows: Vec<Vec<Value>>,
    /// Notices raised while running it.
    pub notices: Vec<Notice>,
    /// For COPY: the data to send, or the start of data to receive.
    pub copy: Option<CopyResponse>,
    /// A query's rows past `work_mem`, when the session spools results (see
    /// [`crate::Session::spool_results`]): they follow `rows`, and the tag counts both.
    pub spooled: Option<SpooledRows>,
}

/// Rows of a result that did not fit in `work_mem`, in a sealed temporary file, read once in
/// order. The wire layer sends them a batch at a time, so a result of any size costs the
/// server `work_mem` and disk, not memory (PostgreSQL streams rows to the client as the
/// executor makes them; here a statement runs to its end before its result is sent, so the
/// rows wait on disk instead).
#[derive(Clone)]
pub struct SpooledRows {
    reader: std::sync::Arc<parking_lot::Mutex<crate::exec::Spooled>>,
}

impl SpooledRows {
    pub(crate) fn new(rows: crate::exec::Spooled) -> Self {
        SpooledRows { reader: std::sync::Arc::new(parking_lot::Mutex::new(rows)) }
    }

    /// Rows held in memory, read the same way.
    pub(crate) fn from_rows(rows: Vec<Vec<Value>>) -> Self {
        Self::new(crate::exec::Spooled::Memory { rows: rows.into_iter(), held: 0 })
    }

    /// The next row, or `None` after the last. An error is a damaged or unreadable temporary
    /// file.
    pub fn next_row(&self) -> rustydb_foundation::Result<Option<Vec<Value>>> {
        self.reader.lock().next_row()
    }

    /// Rows not yet read.
    pub fn remaining(&self) -> u64 {
        self.reader.lock().remaining()
    }
}

impl std::fmt::Debug for SpooledRows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpooledRows").field("remaining", &self.remaining()).finish()
    }
}

/// COPY TO's data, one chunk per message, read once in order: in memory, or (when the session
/// spools results and they outgrew `work_mem`) in a sealed temporary file.
#[derive(Clone)]
pub struct CopyChunks {
    reader: std::sync::Arc<parking_lot::Mutex<crate::exec::SpooledRecords>>,
}

impl CopyChunks {
    pub(crate) fn new(records: crate::exec::SpooledRecords) -> Self {
        CopyChunks { reader: std::sync::Arc::new(parking_lot::Mutex::new(records)) }
    }

    /// The next chunk, or `None` after the last. An error is a damaged or unreadable
    /// temporary file.
    pub fn next_chunk(&self) -> rustydb_foundation::Result<Option<Vec<u8>>> {
        Ok(self.reader.lock().next_record()?.map(<[u8]>::to_vec))
    }

    /// The chunks not yet read, joined (for callers that want the data whole).
    pub fn concat(&self) -> rustydb_foundation::Result<Vec<u8>> {
        let mut reader = self.reader.lock();
        let mut all = Vec::new();
        while let Some(chunk) = reader.next_record()? {
            all.extend_from_slice(chunk);
        }
        Ok(all)
    }
}

impl std::fmt::Debug for CopyChunks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CopyChunks").finish_non_exhaustive()
    }
}

/// Two handles are equal when they read the same chunks.
impl PartialEq for CopyChunks {
    fn eq(&self, other: &Self) -> bool {
        std::sync::Arc::ptr_eq(&self.reader, &other.reader)
    }
}

/// Two handles are equal when they read the same rows.
impl PartialEq for SpooledRows {
    fn eq(&self, other: &Self) -> bool {
        std::sync::Arc::ptr_eq(&self.reader, &other.reader)
    }
}

/// What a COPY statement asks of the wire layer.
#[derive(Debug, Clone, PartialEq)]
pub enum CopyResponse {
    /// `COPY ... TO STDOUT`: the data, one chunk per row (a CSV header is the first).
    Out {
        /// Fields per row.
        columns: usize,
        /// The encoded rows, one message each.
        chunks: CopyChunks,
        /// The binary format (else text).
        binary: bool,
    },
    /// `COPY ... FROM STDIN` began: the session waits for data ([`crate::Session::copy_data`]).
    In {
        /// Fields per row.
        columns: usize,
        /// The binary format (else text).
        binary: bool,
    },
}

impl StatementResult {
    /// A result with only a command tag.
    pub fn tag(tag: impl Into<String>) -> Self {
        StatementResult { tag: tag.into(), ..Default::default() }
    }

    /// The count a command tag ends with (`INSERT 0 3` → 3, `COPY 5` → 5); `None` for a tag
    /// without one (`CREATE TABLE`).
    pub fn command_count(&self) -> Option<u64> {
        self.tag.rsplit(' ').next().and_then(|n| n.parse().ok())
    }

    /// Rows returned (a query) or affected (a command), as `pg_stat_statements` counts them.
    pub fn row_count(&self) -> u64 {
        match self.columns {
            Some(_) => self.rows.len() as u64 + self.spooled.as_ref().map_or(0, SpooledRows::remaining),
            None => self.command_count().unwrap_or(0),
        }
    }

    /// Adds a notice.
    pub fn with_notice(mut self, notice: Notice) -> Self {
        self.notices.push(notice);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_come_from_rows_or_the_command_tag() {
        assert_eq!(StatementResult::tag("INSERT 0 3").command_count(), Some(3));
        assert_eq!(StatementResult::tag("UPDATE 12").row_count(), 12);
        assert_eq!(StatementResult::tag("CREATE TABLE").command_count(), None);
        assert_eq!(StatementResult::tag("CREATE TABLE").row_count(), 0);
        let query = StatementResult {
            tag: "SELECT 2".into(),
            columns: Some(vec![]),
            rows: vec![vec![], vec![]],
            ..Default::default()
        };
        assert_eq!(query.row_count(), 2);
    }
}
