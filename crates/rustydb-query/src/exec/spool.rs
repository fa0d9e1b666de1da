//! A spool: rows kept in the order they come, in memory up to `work_mem` and past it in a
//! sealed temporary file (PostgreSQL's tuplestore), then read back once.
//!
//! A statement here sees its own writes (versions carry no command id), so a statement that
//! changes a table must read everything it will change before it changes any of it: UPDATE and
//! DELETE collect their target rows, MERGE its joined rows, and INSERT ... SELECT the rows of a
//! query that reads its own target. Collected in memory, those were bounded by
//! `statement_memory_limit_mb` (an UPDATE of every row of a 10M-row table failed with 53200);
//! spooled, they are bounded by the disk, as in PostgreSQL, while memory holds `work_mem`.

use super::Row;
use super::spill::{Spill, SpillReader, SpillWriter};
use crate::context::{ExecContext, row_bytes};
use rustydb_foundation::Result;
use rustydb_foundation::row::{decode_row, encode_row};

/// Rows being collected.
pub(crate) struct Spool {
    rows: Vec<Row>,
    /// Bytes of `rows` counted against the statement's memory.
    held: usize,
    /// What `rows` may hold before they go to disk.
    limit: usize,
    spill: Option<Spill>,
    writer: Option<SpillWriter>,
}

impl Spool {
    /// An empty spool that holds up to `work_mem` in memory.
    pub(crate) fn new(ctx: &ExecContext<'_>) -> Self {
        Spool { rows: Vec::new(), held: 0, limit: ctx.work_mem(), spill: None, writer: None }
    }

    /// Adds `row` after the others. Past `work_mem`, or when the statement's memory cannot
    /// take it, the rows held so far and every later one go to the temporary file.
    pub(crate) fn push(&mut self, ctx: &mut ExecContext<'_>, row: Row) -> Result<()> {
        if let Some(writer) = &mut self.writer {
            return write(writer, &row);
        }
        let bytes = row_bytes(&row);
        if self.held + bytes <= self.limit && ctx.memory.charge(bytes, "the rows to change").is_ok() {
            self.held += bytes;
            self.rows.push(row);
            return Ok(());
        }
        let mut writer = Spill::get_or_create(&mut self.spill, ctx)?.create();
        for held in self.rows.drain(..) {
            write(&mut writer, &held)?;
        }
        ctx.memory.release(std::mem::take(&mut self.held));
        self.rows = Vec::new();
        write(&mut writer, &row)?;
        self.writer = Some(writer);
        Ok(())
    }

    /// The rows, in the order they were pushed.
    pub(crate) fn finish(self) -> Result<Spooled> {
        Ok(match self.writer {
            Some(writer) => Spooled::Disk(writer.finish()?),
            None => Spooled::Memory { rows: self.rows.into_iter(), held: self.held },
        })
    }
}

fn write(writer: &mut SpillWriter, row: &[rustydb_foundation::Value]) -> Result<()> {
    writer.write_with(|out| encode_row(row, out))
}

/// A spool's rows, being read.
pub(crate) enum Spooled {
    /// All fitted in memory.
    Memory {
        rows: std::vec::IntoIter<Row>,
        /// What they count against the statement's memory, given back at the end.
        held: usize,
    },
    /// They went to disk.
    Disk(SpillReader),
}

impl Spooled {
    /// The next row, or `None` after the last.
    pub(crate) fn next(&mut self, ctx: &mut ExecContext<'_>) -> Result<Option<Row>> {
        match self {
            Spooled::Memory { rows, held } => {
                let row = rows.next();
                if row.is_none() {
                    ctx.memory.release(std::mem::take(held));
                }
                Ok(row)
            }
            Spooled::Disk(reader) => {
                ctx.interrupt.check()?;
                reader.next()?.map(|record| decode_row(record, 0)).transpose()
            }
        }
    }
}
