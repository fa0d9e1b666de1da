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

    /// Runs `rel` to its end into a new spool, keeping the rows `keep` accepts.
    pub(crate) fn of_query(
        ctx: &mut ExecContext<'_>,
        rel: &crate::rel::Rel,
        mut keep: impl FnMut(&mut ExecContext<'_>, &Row) -> Result<bool>,
    ) -> Result<Spool> {
        let mut spool = Spool::new(ctx);
        let mut input = super::open(rel, &std::rc::Rc::from(Vec::new()));
        while let Some(batch) = input.next(ctx)? {
            for row in batch {
                if keep(ctx, &row)? {
                    spool.push(ctx, row)?;
                }
            }
        }
        Ok(spool)
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
    /// The rows, if they all fitted in memory (else the spool back).
    pub(crate) fn into_memory(self) -> std::result::Result<Vec<Row>, Self> {
        match self {
            Spooled::Memory { rows, .. } => Ok(rows.collect()),
            disk => Err(disk),
        }
    }

    /// Rows not yet read.
    pub(crate) fn remaining(&self) -> u64 {
        match self {
            Spooled::Memory { rows, .. } => rows.len() as u64,
            Spooled::Disk(reader) => reader.remaining(),
        }
    }

    /// The next row, read after the statement has ended (a result sent to the client): no
    /// memory to give back, no statement to interrupt.
    pub(crate) fn next_row(&mut self) -> Result<Option<Row>> {
        match self {
            Spooled::Memory { rows, .. } => Ok(rows.next()),
            Spooled::Disk(reader) => reader.next()?.map(|record| decode_row(record, 0)).transpose(),
        }
    }

    /// The next row, or `None` after the last (when what the rows counted is given back).
    pub(crate) fn next(&mut self, ctx: &mut ExecContext<'_>) -> Result<Option<Row>> {
        if let Spooled::Disk(_) = self {
            ctx.interrupt.check()?;
        }
        let row = self.next_row()?;
        if row.is_none()
            && let Spooled::Memory { held, .. } = self
        {
            ctx.memory.release(std::mem::take(held));
        }
        Ok(row)
    }
}

/// Byte records kept in the order they come, as [`Spool`] keeps rows: COPY TO's encoded
/// lines, which go out as they are, one message each. Held in one buffer (each record after
/// its length) up to `work_mem`, then in the operator's sealed temporary file.
pub(crate) struct RecordSpool {
    memory: Vec<u8>,
    records: u64,
    /// Bytes of `memory` counted against the statement's memory.
    held: usize,
    limit: usize,
    /// Past `limit`, or when the statement's memory cannot take more, records go to disk;
    /// without this (a caller that takes the records in memory) it is 53200 instead.
    may_spill: bool,
    spill: Option<Spill>,
    writer: Option<SpillWriter>,
}

impl RecordSpool {
    /// An empty spool that holds up to `work_mem` in memory, then spills if `may_spill`.
    pub(crate) fn new(ctx: &ExecContext<'_>, may_spill: bool) -> Self {
        let limit = if may_spill { ctx.work_mem() } else { usize::MAX };
        RecordSpool { memory: Vec::new(), records: 0, held: 0, limit, may_spill, spill: None, writer: None }
    }

    /// Adds `record` after the others.
    pub(crate) fn push(&mut self, ctx: &mut ExecContext<'_>, record: &[u8]) -> Result<()> {
        self.records += 1;
        if let Some(writer) = &mut self.writer {
            return writer.write_with(|out| out.extend_from_slice(record));
        }
        let fits = self.memory.len() + 4 + record.len() <= self.limit;
        // What the buffer grows by is counted as it grows.
        let grow = (self.memory.len() + 4 + record.len()).saturating_sub(self.held);
        let counted = grow == 0 || {
            let step = grow.max(64 << 10);
            match ctx.memory.charge(step, "the COPY data") {
                Ok(()) => {
                    self.held += step;
                    true
                }
                Err(e) if !self.may_spill => return Err(e),
                Err(_) => false,
            }
        };
        if fits && counted {
            self.memory.extend_from_slice(&(record.len() as u32).to_le_bytes());
            self.memory.extend_from_slice(record);
            return Ok(());
        }
        let mut writer = Spill::get_or_create(&mut self.spill, ctx)?.create();
        let mut held = SpooledRecords::Memory { bytes: std::mem::take(&mut self.memory), at: 0 };
        while let Some(old) = held.next_record()? {
            writer.write_with(|out| out.extend_from_slice(old))?;
        }
        ctx.memory.release(std::mem::take(&mut self.held));
        writer.write_with(|out| out.extend_from_slice(record))?;
        self.writer = Some(writer);
        Ok(())
    }

    /// Records pushed so far.
    pub(crate) fn len(&self) -> u64 {
        self.records
    }

    /// The records, in the order they were pushed.
    pub(crate) fn finish(self) -> Result<SpooledRecords> {
        Ok(match self.writer {
            Some(writer) => SpooledRecords::Disk(writer.finish()?),
            None => SpooledRecords::Memory { bytes: self.memory, at: 0 },
        })
    }
}

/// A [`RecordSpool`]'s records, being read.
pub(crate) enum SpooledRecords {
    /// All fitted in memory: each after its length, the next at `at`.
    Memory { bytes: Vec<u8>, at: usize },
    /// They went to disk.
    Disk(SpillReader),
}

impl SpooledRecords {
    /// The next record, or `None` after the last.
    pub(crate) fn next_record(&mut self) -> Result<Option<&[u8]>> {
        match self {
            SpooledRecords::Memory { bytes, at } => {
                let Some(head) = bytes.get(*at..*at + 4) else { return Ok(None) };
                let len = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize;
                let start = *at + 4;
                *at = start + len;
                Ok(bytes.get(start..start + len))
            }
            SpooledRecords::Disk(reader) => reader.next(),
        }
    }
}
