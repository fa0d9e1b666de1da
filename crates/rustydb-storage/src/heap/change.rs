//! Heap changes as the log carries them: physical, one page each, so that redo is a pure
//! function of the record and the page (no other page is consulted, whatever state it is in).
//!
//! Storage defines their bytes; the caller's log record wraps them with its own meaning (the
//! transaction that made the change). Byte format, little-endian:
//!
//! | bytes | field |
//! |---|---|
//! | 0 | kind: 1 put, 2 replace, 3 remove, 4 patch |
//! | 1..5 | file id (u32) |
//! | 5..9 | page number (u32) |
//! | 9..11 | slot (u16) |
//! | put, replace: 11..15 | piece length (u32), then the piece's stored bytes |
//! | patch: 11..13 | offset within the stored piece (u16) |
//! | patch: 13..15 | length (u16), then the new bytes |

use rustydb_foundation::le::LeReader;
use rustydb_foundation::{FileId, PageId, Result, TupleId};

/// One logged change to one slot of a heap page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeapChange<'a> {
    /// A piece stored in an empty (or the next new) slot.
    Put {
        /// Where.
        tid: TupleId,
        /// The stored bytes.
        piece: &'a [u8],
    },
    /// The piece in an occupied slot replaced by another.
    Replace {
        /// Where.
        tid: TupleId,
        /// The new stored bytes.
        piece: &'a [u8],
    },
    /// A slot emptied.
    Remove {
        /// Where.
        tid: TupleId,
    },
    /// Bytes overwritten within a stored piece (same length).
    Patch {
        /// Where.
        tid: TupleId,
        /// Offset within the stored piece.
        offset: u16,
        /// The new bytes.
        bytes: &'a [u8],
    },
}

impl HeapChange<'_> {
    /// The slot changed.
    pub fn tid(&self) -> TupleId {
        match self {
            HeapChange::Put { tid, .. }
            | HeapChange::Replace { tid, .. }
            | HeapChange::Remove { tid }
            | HeapChange::Patch { tid, .. } => *tid,
        }
    }

    /// Appends the change's bytes to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let kind = match self {
            HeapChange::Put { .. } => 1,
            HeapChange::Replace { .. } => 2,
            HeapChange::Remove { .. } => 3,
            HeapChange::Patch { .. } => 4,
        };
        let tid = self.tid();
        out.push(kind);
        out.extend_from_slice(&tid.page.file.0.to_le_bytes());
        out.extend_from_slice(&tid.page.number.to_le_bytes());
        out.extend_from_slice(&tid.slot.to_le_bytes());
        match self {
            HeapChange::Put { piece, .. } | HeapChange::Replace { piece, .. } => {
                out.extend_from_slice(&(piece.len() as u32).to_le_bytes());
                out.extend_from_slice(piece);
            }
            HeapChange::Remove { .. } => {}
            HeapChange::Patch { offset, bytes, .. } => {
                out.extend_from_slice(&offset.to_le_bytes());
                out.extend_from_slice(&(bytes.len() as u16).to_le_bytes());
                out.extend_from_slice(bytes);
            }
        }
    }

    /// The encoded length.
    pub fn encoded_len(&self) -> usize {
        11 + match self {
            HeapChange::Put { piece, .. } | HeapChange::Replace { piece, .. } => 4 + piece.len(),
            HeapChange::Remove { .. } => 0,
            HeapChange::Patch { bytes, .. } => 4 + bytes.len(),
        }
    }
}

impl<'a> HeapChange<'a> {
    /// Parses a change that fills `bytes` exactly.
    pub fn decode(bytes: &'a [u8]) -> Result<HeapChange<'a>> {
        let mut r = LeReader::new(bytes, "heap change in the log");
        let kind = r.u8()?;
        let (file, number, slot) = (r.u32()?, r.u32()?, r.u16()?);
        let tid = TupleId { page: PageId::new(FileId(file), number), slot };
        let change = match kind {
            1 | 2 => {
                let len = r.u32()? as usize;
                let piece = r.take(len)?;
                if kind == 1 { HeapChange::Put { tid, piece } } else { HeapChange::Replace { tid, piece } }
            }
            3 => HeapChange::Remove { tid },
            4 => {
                let offset = r.u16()?;
                let len = r.u16()? as usize;
                HeapChange::Patch { tid, offset, bytes: r.take(len)? }
            }
            other => return Err(r.error(&format!("unknown kind {other}"))),
        };
        r.finish()?;
        Ok(change)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips_and_damage_is_refused() {
        let tid = TupleId { page: PageId::new(FileId(7), 123_456), slot: 9 };
        let changes = [
            HeapChange::Put { tid, piece: b"\x01hello" },
            HeapChange::Replace { tid, piece: b"\x01bye" },
            HeapChange::Remove { tid },
            HeapChange::Patch { tid, offset: 9, bytes: &[1, 2, 3, 4, 5, 6, 7, 8] },
        ];
        for change in changes {
            let mut bytes = Vec::new();
            change.encode(&mut bytes);
            assert_eq!(bytes.len(), change.encoded_len());
            assert_eq!(HeapChange::decode(&bytes).unwrap(), change);
            assert!(HeapChange::decode(&bytes[..bytes.len() - 1]).is_err());
            let mut longer = bytes.clone();
            longer.push(0);
            assert!(HeapChange::decode(&longer).is_err());
        }
        assert!(HeapChange::decode(&[9; 20]).is_err());
    }
}
