//! The MVCC header in front of every heap tuple, little-endian:
//!
//! | bytes | field |
//! |---|---|
//! | 0..8  | `xmin`: the creating transaction |
//! | 8..16 | `xmax`: the deleting transaction, 0 if none |
//! | 16..  | the row body (foundation's row codec) |

use rustydb_foundation::{DbError, Result, TxnId};

/// Size of the header.
pub const HEADER: usize = 16;
/// Offset of `xmax`, the field deletes patch in place.
pub const XMAX_AT: usize = 8;

/// A tuple's header fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Creating transaction.
    pub xmin: TxnId,
    /// Deleting transaction, or [`TxnId::NONE`].
    pub xmax: TxnId,
}

/// A new tuple: header (`xmin`, no `xmax`) then `body`.
pub fn build(xmin: TxnId, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + body.len());
    out.extend_from_slice(&xmin.0.to_le_bytes());
    out.extend_from_slice(&0u64.to_le_bytes());
    out.extend_from_slice(body);
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
    Ok(Header { xmin: word(0), xmax: word(XMAX_AT) })
}

/// The row body after the header.
pub fn body(tuple: &[u8]) -> &[u8] {
    tuple.get(HEADER..).unwrap_or_default()
}
