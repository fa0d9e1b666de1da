//! What every page-based index kind shares: the pages one change holds latched, and the
//! changes it logs as one record before applying them (see [`crate::btree::change`]).

use crate::PageLog;
use crate::btree::change::{Change, Op, apply, encode};
use crate::btree::node::TID_LEN;
use rustydb_foundation::{DbError, FileId, PageId, Result, TupleId};
use rustydb_storage::page::Page;
use rustydb_storage::{BufferPool, PageWriteGuard};

/// Pages latched exclusively for one change, and the change's parts.
pub(crate) struct PageBatch<'a> {
    pool: &'a BufferPool,
    file: FileId,
    guards: Vec<(u32, PageWriteGuard<'a>)>,
    /// The page changes, in the order they apply.
    pub changes: Vec<Change>,
}

impl<'a> PageBatch<'a> {
    pub fn new(pool: &'a BufferPool, file: FileId) -> Self {
        PageBatch { pool, file, guards: Vec::new(), changes: Vec::new() }
    }

    /// Latches `page` exclusively (once; later calls are no-ops).
    pub fn latch(&mut self, page: u32) -> Result<()> {
        if !self.guards.iter().any(|(p, _)| *p == page) {
            let guard = self.pool.write(PageId::new(self.file, page))?;
            self.guards.push((page, guard));
        }
        Ok(())
    }

    /// Lets go of `page` (nothing of it may be in the changes).
    pub fn release(&mut self, page: u32) {
        self.guards.retain(|(p, _)| *p != page);
    }

    /// A latched page's bytes as they are (changes apply only at commit).
    pub fn bytes(&self, page: u32) -> Result<&[u8]> {
        self.guards
            .iter()
            .find(|(p, _)| *p == page)
            .map(|(_, g)| &g[..])
            .ok_or_else(|| DbError::Internal(format!("index file {}: page {page} used without its latch", self.file)))
    }

    /// Replaces a page's image.
    pub fn image(&mut self, page: u32, bytes: Vec<u8>) {
        self.changes.push(Change { page, op: Op::Image { bytes } });
    }

    /// Logs every change as one record through `log`, then applies them and stamps the LSN.
    pub fn commit(mut self, log: &dyn PageLog) -> Result<()> {
        if self.changes.is_empty() {
            return Ok(());
        }
        let pages: Vec<(PageId, &[u8])> = self
            .guards
            .iter()
            .filter(|(p, _)| self.changes.iter().any(|c| c.page == *p))
            .map(|(p, g)| (PageId::new(self.file, *p), &g[..]))
            .collect();
        let lsn = log.append(&encode(self.file, &self.changes), &pages)?;
        drop(pages);
        for change in &self.changes {
            let guard = self.guards.iter_mut().find(|(p, _)| *p == change.page).map(|(_, g)| g).ok_or_else(|| {
                DbError::Internal(format!("index file {}: page {} changed without its latch", self.file, change.page))
            })?;
            apply(guard, &change.op)?;
            Page::new(guard).set_lsn(lsn);
        }
        Ok(())
    }
}

/// Appends a tuple id as entries end with it: page and slot big-endian, so that byte order is
/// tuple order.
pub(crate) fn push_tid(out: &mut Vec<u8>, tid: TupleId) {
    out.extend_from_slice(&tid.page.number.to_be_bytes());
    out.extend_from_slice(&tid.slot.to_be_bytes());
}

/// An entry's key: the entry less the tuple id at its end.
pub(crate) fn key_part(entry: &[u8]) -> &[u8] {
    &entry[..entry.len().saturating_sub(TID_LEN)]
}

/// The tuple id at the end of an entry, in heap file `heap`.
pub(crate) fn tid_at_end(heap: FileId, entry: &[u8]) -> TupleId {
    let t = &entry[entry.len() - TID_LEN..];
    TupleId {
        page: PageId::new(heap, u32::from_be_bytes([t[0], t[1], t[2], t[3]])),
        slot: u16::from_be_bytes([t[4], t[5]]),
    }
}

/// Names the index file and page in a corruption report.
pub(crate) fn page_context(file: FileId, page: u32, e: DbError) -> DbError {
    match e {
        DbError::Corruption(m) => DbError::Corruption(format!("index file {file} page {page}: {m}")),
        other => other,
    }
}
