//! Write-ahead log record types and their byte format (little-endian). Storage sees only the
//! bytes; this module gives them meaning.
//!
//! | bytes | field |
//! |---|---|
//! | 0 | kind: 1 heap insert, 2 set xmax, 3 commit, 4 abort |
//! | 1..9 | transaction id (u64) |
//! | 9.. | body, by kind (below) |
//!
//! | kind | body |
//! |---|---|
//! | heap insert | file (u32), page (u32), slot (u16), tuple length (u32), tuple bytes |
//! | set xmax | file (u32), page (u32), slot (u16), xmax (u64) |
//! | commit | count (u32), then that many file ids (u32) to remove once committed |
//! | abort | nothing |

use rustydb_foundation::{DbError, FileId, PageId, Result, TupleId, TxnId};

/// One log record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// A new tuple at `tid`.
    HeapInsert {
        /// Writing transaction.
        xid: TxnId,
        /// Where the tuple went.
        tid: TupleId,
        /// The whole tuple, header included.
        tuple: Vec<u8>,
    },
    /// The tuple at `tid` was deleted by `xid` (its xmax stamped).
    SetXmax {
        /// Deleting transaction.
        xid: TxnId,
        /// The deleted version.
        tid: TupleId,
    },
    /// `xid` committed; `drop_files` are removed from disk once it has.
    Commit {
        /// Committing transaction.
        xid: TxnId,
        /// Data files of tables the transaction dropped.
        drop_files: Vec<FileId>,
    },
    /// `xid` rolled back.
    Abort {
        /// Aborting transaction.
        xid: TxnId,
    },
}

impl Record {
    /// The transaction the record belongs to.
    pub fn xid(&self) -> TxnId {
        match self {
            Record::HeapInsert { xid, .. }
            | Record::SetXmax { xid, .. }
            | Record::Commit { xid, .. }
            | Record::Abort { xid } => *xid,
        }
    }

    /// The record's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(32);
        let kind = match self {
            Record::HeapInsert { .. } => 1,
            Record::SetXmax { .. } => 2,
            Record::Commit { .. } => 3,
            Record::Abort { .. } => 4,
        };
        out.push(kind);
        out.extend_from_slice(&self.xid().0.to_le_bytes());
        match self {
            Record::HeapInsert { tid, tuple, .. } => {
                put_tid(&mut out, *tid);
                out.extend_from_slice(&(tuple.len() as u32).to_le_bytes());
                out.extend_from_slice(tuple);
            }
            Record::SetXmax { xid, tid } => {
                put_tid(&mut out, *tid);
                out.extend_from_slice(&xid.0.to_le_bytes());
            }
            Record::Commit { drop_files, .. } => {
                out.extend_from_slice(&(drop_files.len() as u32).to_le_bytes());
                for f in drop_files {
                    out.extend_from_slice(&f.0.to_le_bytes());
                }
            }
            Record::Abort { .. } => {}
        }
        out
    }

    /// Parses a record's bytes.
    pub fn decode(bytes: &[u8]) -> Result<Record> {
        let mut r = Reader { bytes, pos: 0 };
        let kind = r.u8()?;
        let xid = TxnId(r.u64()?);
        let record = match kind {
            1 => {
                let tid = r.tid()?;
                let len = r.u32()? as usize;
                Record::HeapInsert { xid, tid, tuple: r.take(len)?.to_vec() }
            }
            2 => {
                let tid = r.tid()?;
                let _xmax = r.u64()?;
                Record::SetXmax { xid, tid }
            }
            3 => {
                let n = r.u32()? as usize;
                let drop_files = (0..n).map(|_| r.u32().map(FileId)).collect::<Result<_>>()?;
                Record::Commit { xid, drop_files }
            }
            4 => Record::Abort { xid },
            other => return Err(DbError::Corruption(format!("unknown log record kind {other}"))),
        };
        if r.pos != bytes.len() {
            return Err(DbError::Corruption(format!("log record of kind {kind} has trailing bytes")));
        }
        Ok(record)
    }
}

fn put_tid(out: &mut Vec<u8>, tid: TupleId) {
    out.extend_from_slice(&tid.page.file.0.to_le_bytes());
    out.extend_from_slice(&tid.page.number.to_le_bytes());
    out.extend_from_slice(&tid.slot.to_le_bytes());
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8]> {
        let slice = self
            .bytes
            .get(self.pos..self.pos + n)
            .ok_or_else(|| DbError::Corruption(format!("log record truncated at byte {}", self.pos)))?;
        self.pos += n;
        Ok(slice)
    }
    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self) -> Result<u64> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(a))
    }
    fn tid(&mut self) -> Result<TupleId> {
        let file = FileId(self.u32()?);
        let number = self.u32()?;
        Ok(TupleId { page: PageId::new(file, number), slot: self.u16()? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips_and_garbage_is_corruption() {
        let tid = TupleId { page: PageId::new(FileId(7), 3), slot: 9 };
        let records = [
            Record::HeapInsert { xid: TxnId(5), tid, tuple: vec![1, 2, 3] },
            Record::SetXmax { xid: TxnId(6), tid },
            Record::Commit { xid: TxnId(5), drop_files: vec![FileId(7), FileId(8)] },
            Record::Abort { xid: TxnId(6) },
        ];
        for r in records {
            let bytes = r.encode();
            assert_eq!(Record::decode(&bytes).unwrap(), r);
            assert!(Record::decode(&bytes[..bytes.len() - 1]).is_err());
        }
        assert!(Record::decode(&[9, 0, 0, 0, 0, 0, 0, 0, 0]).is_err());
    }
}
