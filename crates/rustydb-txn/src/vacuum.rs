//! Vacuum's part in the transaction layer: which versions no snapshot can see any more, and
//! their physical removal from the heap.
//!
//! A version is *dead* when its creator aborted, or when its deleter committed below the
//! [horizon](crate::StatusTable::horizon): every snapshot taken now or later sees that delete.
//! A dead version stays dead — nobody can see it, so nobody can lock, update or revive it — so
//! the caller may take its time between finding one and removing it. The caller (query, which
//! knows the table's indexes) removes the version's index entries first and the heap tuple
//! last, so that no index entry ever points at a freed slot; a crash in between leaves a dead
//! tuple without entries, which the next vacuum removes.
//!
//! ## Why a freed slot is safe to reuse
//! An insert may reuse the slot at once. A reader that fetched the old address from an index
//! before its entry went could then fetch the new tuple instead; it never sees it:
//! - a snapshot read took its snapshot before its index lookup, so before the removal and
//!   before the new tuple's insert — whose transaction it therefore calls running (a statement
//!   materialises the addresses it reads before it writes, so the new tuple is never its own);
//! - uniqueness checks read versions whatever the snapshot, but under the index's uniqueness
//!   lock, which every insert into that table takes too, so no slot of the heap is reused while
//!   they look;
//! - a READ COMMITTED writer that follows a version's `next` link after waiting reaches a
//!   version made and deleted (if at all) by transactions still running when that writer
//!   began or begun since, so at or above the horizon while the writer runs.
//!
//! Removals are logged with no transaction id: they are physical, redone at recovery and
//! never undone, whatever becomes of the vacuuming transaction.

use crate::manager::TxnManager;
use crate::record::Record;
use crate::status::Status;
use crate::tuple::{self, Header};
use rustydb_foundation::{Result, TupleId, TxnId};
use rustydb_storage::{HeapFile, TupleArena};

/// A version no snapshot can see any more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadVersion {
    /// Its address.
    pub tid: TupleId,
    /// Its header when it was found dead (the removal checks the slot still holds it).
    pub header: Header,
    /// Its row body: the layer above derives the version's index keys from it.
    pub body: Vec<u8>,
}

/// What vacuum found on one heap page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageSweep {
    /// Versions to remove.
    pub dead: Vec<DeadVersion>,
    /// Versions some snapshot may still see (live, being written, or deleted by a running
    /// transaction).
    pub live: u64,
    /// Versions deleted by a committed transaction that a running snapshot may still call
    /// running: PostgreSQL's "dead but not yet removable".
    pub recently_dead: u64,
}

impl TxnManager {
    /// The horizon below which a committed delete is visible to every snapshot, now and later
    /// (see [`crate::StatusTable::horizon`]).
    pub fn vacuum_horizon(&self) -> TxnId {
        self.status.read().horizon()
    }

    /// Sorts the versions on page `number` of `heap` into dead, live and recently dead, as of
    /// `horizon` (taken before the page is read, so it is never too new). The page is read
    /// into `arena` (reused page after page); only dead versions are copied out.
    pub fn dead_on_page(
        &self,
        heap: &HeapFile,
        number: u32,
        horizon: TxnId,
        arena: &mut TupleArena,
    ) -> Result<PageSweep> {
        heap.scan_page_into(number, arena)?;
        let mut sweep = PageSweep::default();
        let status = self.status.read();
        for (tid, bytes) in arena.iter() {
            let header = tuple::header(bytes)?;
            let dead = match status.status(header.xmin) {
                Status::Aborted => true,
                Status::InProgress => false,
                Status::Committed => match header.xmax {
                    TxnId::NONE => false,
                    xmax => match status.status(xmax) {
                        Status::Committed if xmax < horizon => true,
                        Status::Committed => {
                            sweep.recently_dead += 1;
                            continue;
                        }
                        Status::InProgress | Status::Aborted => false,
                    },
                },
            };
            if dead {
                sweep.dead.push(DeadVersion { tid, header, body: tuple::body(bytes).to_vec() });
            } else {
                sweep.live += 1;
            }
        }
        Ok(sweep)
    }

    /// Removes `dead` from `heap` (its slot, moved head and chunks), logged, if the slot still
    /// holds that version. Returns whether it did.
    pub fn remove_dead(&self, heap: &HeapFile, dead: &DeadVersion) -> Result<bool> {
        let log = self.storage.log();
        let same = |prefix: &[u8]| {
            let now = tuple::header(prefix)?;
            Ok(now.xmin == dead.header.xmin && now.xmax == dead.header.xmax)
        };
        heap.remove_if(dead.tid, same, |change, page| {
            log.append_for_pages(&[(change.tid().page, page)], &Record::encode_heap(TxnId::NONE, change))
        })
    }
}
