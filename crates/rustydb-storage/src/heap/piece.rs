//! Stored pieces: what a heap keeps in a slot. A tuple is stored as one *head* piece — inline,
//! or pointing to chunks for the part that does not fit — and a slot may instead hold a forward
//! pointer to where its tuple moved. The first byte of every piece is its tag:
//!
//! | tag bits | meaning |
//! |---|---|
//! | 0..3 | kind: 1 inline, 2 external head, 3 chunk, 4 forward |
//! | 3 | *moved*: the piece lives away from its address; the origin slot follows the tag |
//! | 4..6 | compression of the tuple's rest: 0 none, 1 lz4, 2 zstd |
//!
//! | kind | bytes after the tag (and the origin, page u32 + slot u16, when moved) |
//! |---|---|
//! | inline, uncompressed | the tuple |
//! | inline, compressed | prefix length (u8), prefix, rest length (u32), compressed rest |
//! | external head | prefix length (u8), prefix, rest length (u32), stored length (u32), value id (u64), first chunk (page u32, slot u16) |
//! | chunk | value id (u64), next chunk (page u32, slot u16; page `u32::MAX`: last), data |
//! | forward | target (page u32, slot u16) |
//!
//! The *prefix* — a tuple's first [`PREFIX`] bytes — always stays uncompressed in the head, so
//! callers can patch a tuple's header (a transaction's xmax) in place whatever its size.
//!
//! The *value id* ties chunks to their head: a reader that followed a pointer after letting go of
//! the head's page checks it, so chunks freed and reused meanwhile are noticed (the read starts
//! over) instead of being returned as someone else's data. A moved piece names its origin slot
//! for the same reason.

use super::compression::Compression;
use rustydb_foundation::le::LeReader;
use rustydb_foundation::{DbError, Result};

/// Bytes at the start of every tuple that stay uncompressed in its head piece.
pub const PREFIX: usize = 32;

const INLINE: u8 = 1;
const EXTERNAL: u8 = 2;
const CHUNK: u8 = 3;
const FORWARD: u8 = 4;
const KIND_MASK: u8 = 0x07;
const MOVED: u8 = 0x08;
const COMPRESSION_SHIFT: u8 = 4;

/// A slot within the same file: page number and slot.
pub type Addr = (u32, u16);
/// Encoded length of an [`Addr`].
pub const ADDR_LEN: usize = 6;
/// Encoded length of a forward pointer.
pub const FORWARD_LEN: usize = 1 + ADDR_LEN;
/// Bytes of a chunk before its data.
pub const CHUNK_HEADER: usize = 1 + 8 + ADDR_LEN;
const NO_PAGE: u32 = u32::MAX;

/// A decoded piece, borrowing the stored bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece<'a> {
    /// A tuple's head (inline or external), at its address or moved away from it.
    Head {
        /// The slot this piece belongs to, if it moved away from it.
        origin: Option<Addr>,
        /// The tuple's first bytes, uncompressed (the whole tuple when inline and uncompressed).
        prefix: &'a [u8],
        /// Where the rest of the tuple is.
        rest: Rest<'a>,
    },
    /// Part of an external value.
    Chunk {
        /// The value it belongs to.
        value_id: u64,
        /// The next chunk, if any.
        next: Option<Addr>,
        /// The bytes.
        data: &'a [u8],
    },
    /// The tuple of this slot moved to `target`.
    Forward {
        /// Where it is now.
        target: Addr,
    },
}

/// The part of a tuple after its prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rest<'a> {
    /// Nothing: the prefix is the whole tuple.
    None,
    /// Inline and compressed.
    Compressed {
        /// Method.
        method: Compression,
        /// Uncompressed length.
        len: usize,
        /// Compressed bytes.
        data: &'a [u8],
    },
    /// In chunks.
    External(External),
}

/// Where an external value's chunks are and how to read them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct External {
    /// How the stored bytes are compressed.
    pub method: Compression,
    /// Length once decompressed.
    pub len: usize,
    /// Bytes across all chunks.
    pub stored_len: usize,
    /// Identity shared by the head and its chunks.
    pub value_id: u64,
    /// The first chunk.
    pub first: Addr,
}

/// How a tuple's head is built (everything but where it lives).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeadForm {
    /// The whole tuple inline, uncompressed.
    Inline,
    /// Inline with the rest compressed.
    Compressed {
        /// Method.
        method: Compression,
        /// Compressed rest.
        data: Vec<u8>,
    },
    /// The rest in chunks.
    External(External),
}

/// The bytes of a head piece for `tuple` in `form`, moved away from `origin` if given.
pub fn encode_head(tuple: &[u8], form: &HeadForm, origin: Option<Addr>) -> Vec<u8> {
    let (kind, method) = match form {
        HeadForm::Inline => (INLINE, Compression::None),
        HeadForm::Compressed { method, .. } => (INLINE, *method),
        HeadForm::External(e) => (EXTERNAL, e.method),
    };
    let mut out = Vec::with_capacity(head_len(tuple.len(), form, origin.is_some()));
    out.push(kind | if origin.is_some() { MOVED } else { 0 } | (method.code() << COMPRESSION_SHIFT));
    if let Some(origin) = origin {
        put_addr(&mut out, origin);
    }
    let prefix = &tuple[..tuple.len().min(PREFIX)];
    match form {
        HeadForm::Inline => out.extend_from_slice(tuple),
        HeadForm::Compressed { data, .. } => {
            out.push(prefix.len() as u8);
            out.extend_from_slice(prefix);
            out.extend_from_slice(&((tuple.len() - prefix.len()) as u32).to_le_bytes());
            out.extend_from_slice(data);
        }
        HeadForm::External(e) => {
            out.push(prefix.len() as u8);
            out.extend_from_slice(prefix);
            out.extend_from_slice(&(e.len as u32).to_le_bytes());
            out.extend_from_slice(&(e.stored_len as u32).to_le_bytes());
            out.extend_from_slice(&e.value_id.to_le_bytes());
            put_addr(&mut out, e.first);
        }
    }
    out
}

/// The length [`encode_head`] gives.
pub fn head_len(tuple_len: usize, form: &HeadForm, moved: bool) -> usize {
    let prefix = tuple_len.min(PREFIX);
    1 + if moved { ADDR_LEN } else { 0 }
        + match form {
            HeadForm::Inline => tuple_len,
            HeadForm::Compressed { data, .. } => 1 + prefix + 4 + data.len(),
            HeadForm::External(_) => 1 + prefix + 4 + 4 + 8 + ADDR_LEN,
        }
}

/// The bytes of a chunk.
pub fn encode_chunk(value_id: u64, next: Option<Addr>, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(CHUNK_HEADER + data.len());
    out.push(CHUNK);
    out.extend_from_slice(&value_id.to_le_bytes());
    put_addr(&mut out, next.unwrap_or((NO_PAGE, 0)));
    out.extend_from_slice(data);
    out
}

/// The bytes of a forward pointer.
pub fn encode_forward(target: Addr) -> Vec<u8> {
    let mut out = Vec::with_capacity(FORWARD_LEN);
    out.push(FORWARD);
    put_addr(&mut out, target);
    out
}

/// The tuple `bytes` holds if it is the common piece, a tuple stored whole where it was
/// inserted (what [`decode`] gives as a head with no origin and no rest): the scan's fast path.
#[inline]
pub fn inline_tuple(bytes: &[u8]) -> Option<&[u8]> {
    match bytes.split_first() {
        Some((&INLINE, prefix)) => Some(prefix),
        _ => None,
    }
}

/// Parses a stored piece.
#[inline]
pub fn decode(bytes: &[u8]) -> Result<Piece<'_>> {
    // The common case first: an uncompressed tuple stored inline where it was inserted.
    if let Some((&INLINE, prefix)) = bytes.split_first() {
        return Ok(Piece::Head { origin: None, prefix, rest: Rest::None });
    }
    let mut r = LeReader::new(bytes, "stored tuple piece");
    let tag = r.u8()?;
    match tag & KIND_MASK {
        INLINE | EXTERNAL => {
            let origin = if tag & MOVED != 0 { Some(read_addr(&mut r)?) } else { None };
            let method = Compression::from_code(tag >> COMPRESSION_SHIFT)?;
            if tag & KIND_MASK == INLINE && method == Compression::None {
                return Ok(Piece::Head { origin, prefix: r.rest(), rest: Rest::None });
            }
            let prefix_len = r.u8()? as usize;
            let prefix = r.take(prefix_len)?;
            let len = r.u32()? as usize;
            let rest = if tag & KIND_MASK == INLINE {
                Rest::Compressed { method, len, data: r.rest() }
            } else {
                let stored_len = r.u32()? as usize;
                let value_id = r.u64()?;
                let first = read_addr(&mut r)?;
                r.finish()?;
                Rest::External(External { method, len, stored_len, value_id, first })
            };
            Ok(Piece::Head { origin, prefix, rest })
        }
        CHUNK => {
            let value_id = r.u64()?;
            let next = read_addr(&mut r)?;
            Ok(Piece::Chunk { value_id, next: (next.0 != NO_PAGE).then_some(next), data: r.rest() })
        }
        FORWARD => {
            let target = read_addr(&mut r)?;
            r.finish()?;
            Ok(Piece::Forward { target })
        }
        other => Err(corrupt(&format!("unknown piece kind {other}"))),
    }
}

/// Where `len` bytes at `offset` of the tuple sit within the stored head piece `bytes`, if they
/// lie within the uncompressed part (the prefix, or all of an uncompressed inline tuple).
pub fn patch_range(bytes: &[u8], offset: usize, len: usize) -> Result<std::ops::Range<usize>> {
    let tag = bytes.first().copied().unwrap_or(0);
    let origin_len = if tag & MOVED != 0 { ADDR_LEN } else { 0 };
    let Piece::Head { prefix, rest, .. } = decode(bytes)? else {
        return Err(DbError::Internal("patch of a slot that holds no tuple head".into()));
    };
    let start = match rest {
        Rest::None => 1 + origin_len,
        _ => 1 + origin_len + 1,
    };
    if offset + len > prefix.len() {
        return Err(DbError::Internal(format!(
            "patch of bytes {offset}..{} lies beyond the tuple's uncompressed prefix of {} bytes",
            offset + len,
            prefix.len()
        )));
    }
    Ok(start + offset..start + offset + len)
}

fn put_addr(out: &mut Vec<u8>, (page, slot): Addr) {
    out.extend_from_slice(&page.to_le_bytes());
    out.extend_from_slice(&slot.to_le_bytes());
}

fn corrupt(what: &str) -> DbError {
    DbError::Corruption(format!("stored tuple piece: {what}"))
}

fn read_addr(r: &mut LeReader<'_>) -> Result<Addr> {
    Ok((r.u32()?, r.u16()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_of_every_form_round_trip_at_home_and_moved() {
        let tuple: Vec<u8> = (0..200u8).collect();
        let external =
            External { method: Compression::Zstd, len: 168, stored_len: 90, value_id: 0xDEAD_BEEF_1234, first: (7, 3) };
        let forms = [
            HeadForm::Inline,
            HeadForm::Compressed { method: Compression::Lz4, data: vec![9; 40] },
            HeadForm::External(external),
        ];
        for form in &forms {
            for origin in [None, Some((42, 5))] {
                let bytes = encode_head(&tuple, form, origin);
                assert_eq!(bytes.len(), head_len(tuple.len(), form, origin.is_some()));
                let Piece::Head { origin: got, prefix, rest } = decode(&bytes).unwrap() else { panic!("not a head") };
                assert_eq!(got, origin);
                match form {
                    HeadForm::Inline => {
                        assert_eq!(prefix, &tuple[..]);
                        assert_eq!(rest, Rest::None);
                    }
                    HeadForm::Compressed { method, data } => {
                        assert_eq!(prefix, &tuple[..PREFIX]);
                        assert_eq!(rest, Rest::Compressed { method: *method, len: 168, data });
                    }
                    HeadForm::External(e) => {
                        assert_eq!(prefix, &tuple[..PREFIX]);
                        assert_eq!(rest, Rest::External(*e));
                    }
                }
                // The prefix is patchable in place in every form.
                let range = patch_range(&bytes, 8, 8).unwrap();
                assert_eq!(&bytes[range], &tuple[8..16]);
                assert!(patch_range(&bytes, PREFIX, 1).is_err() || matches!(form, HeadForm::Inline));
            }
        }
    }

    #[test]
    fn chunks_and_forwards_round_trip_and_garbage_is_corruption() {
        let chunk = encode_chunk(77, Some((1, 2)), b"data");
        assert_eq!(decode(&chunk).unwrap(), Piece::Chunk { value_id: 77, next: Some((1, 2)), data: b"data" });
        let last = encode_chunk(77, None, b"");
        assert_eq!(decode(&last).unwrap(), Piece::Chunk { value_id: 77, next: None, data: b"" });
        assert_eq!(decode(&encode_forward((9, 1))).unwrap(), Piece::Forward { target: (9, 1) });
        assert!(patch_range(&encode_forward((9, 1)), 0, 1).is_err());
        for bad in [&[][..], &[0x07], &[FORWARD, 1, 2], &[EXTERNAL | (1 << 4), 40, 1]] {
            assert!(matches!(decode(bad), Err(DbError::Corruption(_))), "{bad:?}");
        }
    }
}
