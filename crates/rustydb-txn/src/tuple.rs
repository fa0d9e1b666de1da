//! The MVCC header in front of every heap tuple, little-endian:
//!
//! | bytes | field |
//! |---|---|
//! | 0..8   | `xmin`: the creating transaction |
//! | 8..16  | `xmax`: the deleting (or updating) transaction, 0 if none |
//! | 16..20 | `next`: page of the newer version an UPDATE made (same heap) |
//! | 20..22 | `next`: its slot |
//! | 22..24 | flags: bit 0 set when `next` is set |
//! | 24..   | the row body (foundation's row codec) |
//!
//! `next` is PostgreSQL's `t_ctid`: a READ COMMITTED writer that waited for a concurrent updater
//! follows it to the row's newest version and re-checks its WHERE clause there. It is set by
//! the updater after the new version exists, while it still holds `xmax`, so a waiter (which
//! looks only after the updater committed) always finds it.

use rustydb_foundation::{DbError, FileId, PageId, Result, TupleId, TxnId};

/// Size of the header.
pub const HEADER: usize = 24;
/// Offset of `xmax`, the field deletes patch in place.
pub const XMAX_AT: usize = 8;
/// Offset of the `next` pointer and its flags (8 bytes, patched together).
pub const NEXT_AT: usize = 16;
const HAS_NEXT: u16 = 1;

/// A tuple's header fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Creating transaction.
    pub xmin: TxnId,
    /// Deleting transaction, or [`TxnId::NONE`].
    pub xmax: TxnId,
    /// The newer version an update made: page number and slot in the same heap.
    pub next: Option<(u32, u16)>,
}

impl Header {
    /// The newer version's address in `file` (the heap this tuple lives in).
    pub fn next_in(&self, file: FileId) -> Option<TupleId> {
        self.next.map(|(page, slot)| TupleId { page: PageId::new(file, page), slot })
    }
}

/// A new tuple: header (`xmin`, no `xmax`, no `next`) then `body`.
pub fn build(xmin: TxnId, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + body.len());
    out.extend_from_slice(&xmin.0.to_le_bytes());
    out.extend_from_slice(&[0u8; HEADER - 8]);
    out.extend_from_slice(body);
    out
}

/// The 8 bytes written at [`NEXT_AT`] to point at `next`.
pub fn encode_next(next: TupleId) -> [u8; 8] {
    let mut out = [0u8; 8];
    out[0..4].copy_from_slice(&next.page.number.to_le_bytes());
    out[4..6].copy_from_slice(&next.slot.to_le_bytes());
    out[6..8].copy_from_slice(&HAS_NEXT.to_le_bytes());
    out
}

/// Reads a tuple's header.
pub fn header(tuple: &[u8]) -> Result<Header> {
    if tuple.len() < HEADER {
        return Err(DbError::Corruption(format!("tuple of {} bytes has no MVCC header", tuple.len())));
    }
    let word = |at: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&tuple[at..at + 8]);
        TxnId(u64::from_le_bytes(b))
    };
    let flags = u16::from_le_bytes([tuple[22], tuple[23]]);
    let next = (flags & HAS_NEXT != 0).then(|| {
        let page = u32::from_le_bytes([tuple[16], tuple[17], tuple[18], tuple[19]]);
        (page, u16::from_le_bytes([tuple[20], tuple[21]]))
    });
    Ok(Header { xmin: word(0), xmax: word(XMAX_AT), next })
}

/// The tuple's `xmin` and `xmax` alone (what a scan's visibility test reads), or `None` if it
/// is too short to have a header.
#[inline]
pub fn versions(tuple: &[u8]) -> Option<(TxnId, TxnId)> {
    let xmin = tuple.get(..8)?;
    let xmax = tuple.get(XMAX_AT..XMAX_AT + 8)?;
    (tuple.len() >= HEADER).then(|| {
        (
            TxnId(u64::from_le_bytes(xmin.try_into().unwrap_or_default())),
            TxnId(u64::from_le_bytes(xmax.try_into().unwrap_or_default())),
        )
    })
}

/// The row body after the header.
pub fn body(tuple: &[u8]) -> &[u8] {
    tuple.get(HEADER..).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_round_trips_with_and_without_next() {
        let mut t = build(TxnId(42), b"row");
        assert_eq!(t.len(), HEADER + 3);
        let h = header(&t).unwrap();
        assert_eq!((h.xmin, h.xmax, h.next), (TxnId(42), TxnId::NONE, None));
        t[XMAX_AT..XMAX_AT + 8].copy_from_slice(&7u64.to_le_bytes());
        let next = TupleId { page: PageId::new(FileId(9), 70_000), slot: 513 };
        t[NEXT_AT..NEXT_AT + 8].copy_from_slice(&encode_next(next));
        let h = header(&t).unwrap();
        assert_eq!(h.xmax, TxnId(7));
        assert_eq!(h.next_in(FileId(9)), Some(next));
        assert_eq!(body(&t), b"row");
        assert!(header(&t[..HEADER - 1]).is_err());
    }
}
