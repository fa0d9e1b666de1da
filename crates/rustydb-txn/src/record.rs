//! Write-ahead log record types and their byte format (little-endian). Storage sees only the
//! bytes; this module gives them meaning.
//!
//! | bytes | field |
//! |---|---|
//! | 0 | kind: 1 heap change, 3 commit, 4 abort, 5 index page change, 6 LSM entry, 7 full-page image (2 is retired) |
//! | 1..9 | transaction id (u64) |
//! | 9.. | body, by kind (below) |
//!
//! | kind | body |
//! |---|---|
//! | heap change | storage's [`HeapChange`] bytes: one slot of one page, physically |
//! | commit | count (u32), then that many file ids (u32) to remove once committed; count (u32), then that many subtransaction ids (u64) committed with it |
//! | abort | nothing |
//! | index change | the index's own record ([`rustydb_index::btree::change`]); transaction id 0 |
//! | LSM entry | the tree's change ([`rustydb_index::lsm::encode_entry_record`]); transaction id 0 |
//! | full-page image | file id (u32), page number (u32), the page's bytes compressed with LZ4 (size prepended); transaction id 0 |
//!
//! Heap changes are physical (which slot, which bytes) so that redo never depends on the state
//! of any page but the one it changes; what a change means to a transaction — a new version, a
//! stamped xmax — is told by the tuple header it writes, not by the record.

use rustydb_foundation::le::LeReader;
use rustydb_foundation::{DbError, FileId, Result, TxnId};
use rustydb_storage::HeapChange;

/// One log record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// A change to a heap page made by `xid`.
    Heap {
        /// Writing transaction.
        xid: TxnId,
        /// The change, in storage's encoding ([`HeapChange::decode`] reads it).
        change: Vec<u8>,
    },
    /// `xid` committed, and with it the subtransactions `subxids` (savepoints' work not rolled
    /// back); `drop_files` are removed from disk once it has.
    Commit {
        /// Committing transaction.
        xid: TxnId,
        /// Data files of tables the transaction dropped.
        drop_files: Vec<FileId>,
        /// Its subtransactions that committed with it.
        subxids: Vec<TxnId>,
    },
    /// `xid` rolled back.
    Abort {
        /// Aborting transaction.
        xid: TxnId,
    },
    /// Changes to index pages, physical and redo-only. They belong to no transaction: an
    /// index entry of a transaction that aborts stays, and the heap's visibility hides it.
    Index {
        /// The index's record bytes.
        change: Vec<u8>,
    },
    /// A page's whole image, logged before its first change after a checkpoint began (see
    /// [`rustydb_storage::LogDevice::append_for_pages`]): redo puts it back whatever the page on
    /// disk holds, which repairs a torn write.
    Image {
        /// The page.
        page: rustydb_foundation::PageId,
        /// Its bytes (uncompressed).
        image: Vec<u8>,
    },
    /// An entry put into (or deleted from) an LSM tree, logical: recovery hands it back to the
    /// tree unless the tree's tables already hold it. Like index pages, it belongs to no
    /// transaction.
    Lsm {
        /// The tree.
        file: FileId,
        /// A put (true) or a delete.
        live: bool,
        /// The entry (`key ‖ tid`).
        entry: Vec<u8>,
    },
}

impl Record {
    /// The transaction the record belongs to.
    pub fn xid(&self) -> TxnId {
        match self {
            Record::Heap { xid, .. } | Record::Commit { xid, .. } | Record::Abort { xid } => *xid,
            Record::Index { .. } | Record::Lsm { .. } | Record::Image { .. } => TxnId::NONE,
        }
    }

    /// Whether the record belongs to a transaction (index changes and page images do not).
    pub fn belongs_to_transaction(&self) -> bool {
        !matches!(self, Record::Index { .. } | Record::Lsm { .. } | Record::Image { .. })
    }

    /// The bytes of a full-page image record of `page` holding `bytes` (the log device's image
    /// encoder).
    pub fn encode_image(page: rustydb_foundation::PageId, bytes: &[u8]) -> Vec<u8> {
        let compressed = lz4_flex::compress_prepend_size(bytes);
        let mut out = Vec::with_capacity(17 + compressed.len());
        out.push(7);
        out.extend_from_slice(&TxnId::NONE.0.to_le_bytes());
        out.extend_from_slice(&page.file.0.to_le_bytes());
        out.extend_from_slice(&page.number.to_le_bytes());
        out.extend_from_slice(&compressed);
        out
    }

    /// The bytes of an LSM entry record.
    pub fn encode_lsm(file: FileId, entry: &[u8], live: bool) -> Vec<u8> {
        let mut out = Vec::with_capacity(14 + entry.len());
        out.push(6);
        out.extend_from_slice(&TxnId::NONE.0.to_le_bytes());
        rustydb_index::lsm::encode_entry_record(&mut out, file, entry, live);
        out
    }

    /// The bytes of a heap-change record, built straight from the change (no copy of it first).
    pub fn encode_heap(xid: TxnId, change: &HeapChange<'_>) -> Vec<u8> {
        let mut out = Vec::with_capacity(9 + change.encoded_len());
        out.push(1);
        out.extend_from_slice(&xid.0.to_le_bytes());
        change.encode(&mut out);
        out
    }

    /// The bytes of an index-change record, built straight from the index's bytes.
    pub fn encode_index(change: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(9 + change.len());
        out.push(5);
        out.extend_from_slice(&TxnId::NONE.0.to_le_bytes());
        out.extend_from_slice(change);
        out
    }

    /// The record's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(32);
        let kind = match self {
            Record::Heap { .. } => 1,
            Record::Commit { .. } => 3,
            Record::Abort { .. } => 4,
            Record::Index { .. } => 5,
            Record::Lsm { file, live, entry } => return Record::encode_lsm(*file, entry, *live),
            Record::Image { page, image } => return Record::encode_image(*page, image),
        };
        out.push(kind);
        out.extend_from_slice(&self.xid().0.to_le_bytes());
        match self {
            Record::Heap { change, .. } | Record::Index { change } => out.extend_from_slice(change),
            Record::Commit { drop_files, subxids, .. } => {
                out.extend_from_slice(&(drop_files.len() as u32).to_le_bytes());
                for f in drop_files {
                    out.extend_from_slice(&f.0.to_le_bytes());
                }
                out.extend_from_slice(&(subxids.len() as u32).to_le_bytes());
                for x in subxids {
                    out.extend_from_slice(&x.0.to_le_bytes());
                }
            }
            Record::Abort { .. } | Record::Lsm { .. } | Record::Image { .. } => {}
        }
        out
    }

    /// Parses a record's bytes.
    pub fn decode(bytes: &[u8]) -> Result<Record> {
        let mut r = LeReader::new(bytes, "log record");
        let kind = r.u8()?;
        let xid = TxnId(r.u64()?);
        let record = match kind {
            1 => {
                let change = r.rest();
                HeapChange::decode(change)?;
                Record::Heap { xid, change: change.to_vec() }
            }
            3 => {
                let n = r.u32()? as usize;
                let drop_files = (0..n).map(|_| r.u32().map(FileId)).collect::<Result<_>>()?;
                let n = r.u32()? as usize;
                let subxids = (0..n).map(|_| r.u64().map(TxnId)).collect::<Result<_>>()?;
                Record::Commit { xid, drop_files, subxids }
            }
            4 => Record::Abort { xid },
            5 => {
                let change = r.rest();
                rustydb_index::btree::change::decode(change)?;
                Record::Index { change: change.to_vec() }
            }
            6 => {
                let (file, live, entry) = rustydb_index::lsm::decode_entry_record(r.rest())?;
                Record::Lsm { file, live, entry: entry.to_vec() }
            }
            7 => {
                let page = rustydb_foundation::PageId::new(FileId(r.u32()?), r.u32()?);
                let rest = r.rest();
                let size = rest.get(..4).map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
                if size as usize > rustydb_storage::page::MAX_PAGE_SIZE {
                    return Err(DbError::Corruption(format!("full-page image of {page} claims {size} bytes")));
                }
                let image = lz4_flex::decompress_size_prepended(rest)
                    .map_err(|e| DbError::Corruption(format!("full-page image of {page}: {e}")))?;
                Record::Image { page, image }
            }
            other => return Err(DbError::Corruption(format!("unknown log record kind {other}"))),
        };
        r.finish()?;
        Ok(record)
    }
}

/// The log as an index sees it: each index record goes into the log as a [`Record::Index`],
/// each LSM tree change as a [`Record::Lsm`].
#[derive(Debug, Clone)]
pub struct IndexLog {
    log: std::sync::Arc<rustydb_storage::LogDevice>,
}

impl IndexLog {
    /// Writes index records to `log`.
    pub fn new(log: std::sync::Arc<rustydb_storage::LogDevice>) -> Self {
        IndexLog { log }
    }
}

impl rustydb_index::PageLog for IndexLog {
    fn append(&self, record: &[u8], pages: &[(rustydb_foundation::PageId, &[u8])]) -> Result<rustydb_foundation::Lsn> {
        self.log.append_for_pages(pages, &Record::encode_index(record))
    }
}

impl rustydb_index::EntryLog for IndexLog {
    fn append_entry(&self, file: FileId, entry: &[u8], live: bool) -> Result<rustydb_foundation::Lsn> {
        self.log.append(&Record::encode_lsm(file, entry, live))
    }

    fn flush_to(&self, lsn: rustydb_foundation::Lsn) -> Result<()> {
        self.log.flush_to(lsn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips_and_garbage_is_corruption() {
        use rustydb_foundation::{PageId, TupleId};
        let tid = TupleId { page: PageId::new(FileId(7), 3), slot: 9 };
        let put = Record::encode_heap(TxnId(5), &HeapChange::Put { tid, piece: &[1, 1, 2, 3] });
        let patch = Record::encode_heap(TxnId(6), &HeapChange::Patch { tid, offset: 9, bytes: &[6; 8] });
        let records = [
            Record::decode(&put).unwrap(),
            Record::decode(&patch).unwrap(),
            Record::Commit { xid: TxnId(5), drop_files: vec![FileId(7), FileId(8)], subxids: vec![TxnId(9)] },
            Record::Commit { xid: TxnId(5), drop_files: vec![], subxids: vec![] },
            Record::Abort { xid: TxnId(6) },
            Record::Index {
                change: rustydb_index::btree::change::encode(
                    FileId(9),
                    &[rustydb_index::btree::change::Change {
                        page: 1,
                        op: rustydb_index::btree::change::Op::Remove { pos: 3 },
                    }],
                ),
            },
            Record::Lsm { file: FileId(1 << 30 | 12), live: true, entry: vec![1, 2, 3, 0, 0, 0, 0, 0, 7] },
            Record::Lsm { file: FileId(1 << 30 | 12), live: false, entry: vec![1, 2, 3, 0, 0, 0, 0, 0, 7] },
            Record::Image { page: PageId::new(FileId(3), 8), image: vec![9; 4096] },
        ];
        assert_eq!(records[0].encode(), put);
        assert_eq!(records[1].xid(), TxnId(6));
        for r in records {
            let bytes = r.encode();
            assert_eq!(Record::decode(&bytes).unwrap(), r);
            // A short record is refused, or (an LSM entry is the rest of the record) differs.
            assert!(Record::decode(&bytes[..bytes.len() - 1]).map_or(true, |short| short != r));
        }
        assert!(Record::decode(&[9, 0, 0, 0, 0, 0, 0, 0, 0]).is_err());
    }
}
