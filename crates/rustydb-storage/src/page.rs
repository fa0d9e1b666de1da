//! Slotted pages. Every page is [`PAGE_SIZE`] bytes, little-endian:
//!
//! | bytes | field |
//! |---|---|
//! | 0..8   | LSN of the last log record that changed the page (u64) |
//! | 8..12  | CRC-32C of the page with this field zeroed (u32) |
//! | 12..14 | page kind (u16): 0 never written, 1 heap |
//! | 14..16 | flags (u16, reserved) |
//! | 16..18 | slot count (u16) |
//! | 18..20 | `free_start`: end of the slot array (u16) |
//! | 20..22 | `free_end`: start of tuple data (u16) |
//! | 22..32 | reserved |
//! | 32..   | slot array, 4 bytes a slot: tuple offset (u16), tuple length (u16) |
//! | ..8192 | tuple data, growing down from the end of the page |
//!
//! A slot with offset 0 is empty (its tuple was removed); slot numbers are stable for the
//! tuple's life, so `(page, slot)` is a durable address.

use rustydb_foundation::{DbError, Lsn, Result, checksum};

/// The size of every page, in bytes.
pub const PAGE_SIZE: usize = 8192;
/// The size of the page header.
pub const HEADER_SIZE: usize = 32;
const SLOT_SIZE: usize = 4;
const LSN_AT: usize = 0;
const CRC_AT: usize = 8;
const KIND_AT: usize = 12;
const SLOTS_AT: usize = 16;
const FREE_START_AT: usize = 18;
const FREE_END_AT: usize = 20;

/// The kind of a heap page.
pub const KIND_HEAP: u16 = 1;

/// The largest tuple a page can hold.
pub const MAX_TUPLE: usize = PAGE_SIZE - HEADER_SIZE - SLOT_SIZE;

/// A page image: a view over [`PAGE_SIZE`] bytes with slotted-page operations.
#[derive(Debug)]
pub struct Page<'a> {
    bytes: &'a mut [u8; PAGE_SIZE],
}

/// Read-only accessors over a page image.
pub mod read {
    use super::*;

    /// The page's LSN.
    pub fn lsn(bytes: &[u8; PAGE_SIZE]) -> Lsn {
        Lsn(u64_at(bytes, LSN_AT))
    }

    /// The page kind (0 for a page never written).
    pub fn kind(bytes: &[u8; PAGE_SIZE]) -> u16 {
        u16_at(bytes, KIND_AT)
    }

    /// Number of slots (used or empty).
    pub fn slot_count(bytes: &[u8; PAGE_SIZE]) -> u16 {
        u16_at(bytes, SLOTS_AT)
    }

    /// The tuple in `slot`, or `None` if the slot is empty or out of range.
    pub fn tuple(bytes: &[u8; PAGE_SIZE], slot: u16) -> Option<&[u8]> {
        if slot >= slot_count(bytes) {
            return None;
        }
        let at = HEADER_SIZE + slot as usize * SLOT_SIZE;
        let (offset, len) = (u16_at(bytes, at) as usize, u16_at(bytes, at + 2) as usize);
        (offset != 0).then(|| &bytes[offset..offset + len])
    }
}

impl<'a> Page<'a> {
    /// Wraps a page image for modification.
    pub fn new(bytes: &'a mut [u8; PAGE_SIZE]) -> Self {
        Page { bytes }
    }

    /// Formats an empty page of `kind` (discarding whatever the bytes held).
    pub fn init(&mut self, kind: u16) {
        self.bytes.fill(0);
        put_u16(self.bytes, KIND_AT, kind);
        put_u16(self.bytes, FREE_START_AT, HEADER_SIZE as u16);
        put_u16(self.bytes, FREE_END_AT, PAGE_SIZE as u16);
    }

    /// The raw page image.
    pub fn bytes(&self) -> &[u8; PAGE_SIZE] {
        self.bytes
    }

    /// Sets the page LSN.
    pub fn set_lsn(&mut self, lsn: Lsn) {
        put_u64(self.bytes, LSN_AT, lsn.0);
    }

    /// Contiguous free bytes between the slot array and the tuple data.
    pub fn free_space(&self) -> usize {
        (u16_at(self.bytes, FREE_END_AT) - u16_at(self.bytes, FREE_START_AT)) as usize
    }

    /// True if a tuple of `len` bytes fits (with a new slot).
    pub fn fits(&self, len: usize) -> bool {
        self.free_space() >= len + SLOT_SIZE
    }

    /// The slot number the next [`Page::insert`] will use.
    pub fn next_slot(&self) -> u16 {
        read::slot_count(self.bytes)
    }

    /// Appends a tuple in a new slot and returns the slot, or `None` if it does not fit.
    pub fn insert(&mut self, tuple: &[u8]) -> Option<u16> {
        if !self.fits(tuple.len()) || tuple.is_empty() {
            return None;
        }
        let slot = self.next_slot();
        let end = u16_at(self.bytes, FREE_END_AT) as usize;
        let start = end - tuple.len();
        self.bytes[start..end].copy_from_slice(tuple);
        let at = HEADER_SIZE + slot as usize * SLOT_SIZE;
        put_u16(self.bytes, at, start as u16);
        put_u16(self.bytes, at + 2, tuple.len() as u16);
        put_u16(self.bytes, SLOTS_AT, slot + 1);
        put_u16(self.bytes, FREE_START_AT, (at + SLOT_SIZE) as u16);
        put_u16(self.bytes, FREE_END_AT, start as u16);
        Some(slot)
    }

    /// The tuple bytes of `slot`, writable in place (same length).
    pub fn tuple_mut(&mut self, slot: u16) -> Option<&mut [u8]> {
        if slot >= read::slot_count(self.bytes) {
            return None;
        }
        let at = HEADER_SIZE + slot as usize * SLOT_SIZE;
        let (offset, len) = (u16_at(self.bytes, at) as usize, u16_at(self.bytes, at + 2) as usize);
        (offset != 0).then(|| &mut self.bytes[offset..offset + len])
    }
}

/// Stamps the checksum into a page image before it is written.
pub fn seal(bytes: &mut [u8; PAGE_SIZE]) {
    put_u32(bytes, CRC_AT, 0);
    let crc = checksum::crc32c(bytes);
    put_u32(bytes, CRC_AT, crc);
}

/// Verifies a page image read from disk. All-zero pages (never written) are valid.
pub fn verify(bytes: &[u8; PAGE_SIZE], what: impl FnOnce() -> String) -> Result<()> {
    let stored = u32_at(bytes, CRC_AT);
    if stored == 0 && bytes.iter().all(|&b| b == 0) {
        return Ok(());
    }
    let computed = checksum::crc32c_parts(&[&bytes[..CRC_AT], &[0; 4], &bytes[CRC_AT + 4..]]);
    if computed != stored {
        return Err(DbError::Corruption(format!(
            "{}: checksum mismatch (stored {stored:#010x}, computed {computed:#010x})",
            what()
        )));
    }
    let (start, end) = (u16_at(bytes, FREE_START_AT) as usize, u16_at(bytes, FREE_END_AT) as usize);
    if read::kind(bytes) != 0 && (start < HEADER_SIZE || start > end || end > PAGE_SIZE) {
        return Err(DbError::Corruption(format!("{}: free-space pointers out of range", what())));
    }
    Ok(())
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut a = [0; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(a)
}
fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut a = [0; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}
fn put_u16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}
fn put_u32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}
fn put_u64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blank() -> Box<[u8; PAGE_SIZE]> {
        Box::new([0; PAGE_SIZE])
    }

    #[test]
    fn insert_until_full_then_read_back() {
        let mut bytes = blank();
        let mut page = Page::new(&mut bytes);
        page.init(KIND_HEAP);
        let mut n = 0u16;
        while let Some(slot) = page.insert(&[n as u8; 100]) {
            assert_eq!(slot, n);
            n += 1;
        }
        assert_eq!(n as usize, (PAGE_SIZE - HEADER_SIZE) / 104);
        for s in 0..n {
            assert_eq!(read::tuple(&bytes, s).unwrap(), &[s as u8; 100][..]);
        }
        assert!(read::tuple(&bytes, n).is_none());
    }

    #[test]
    fn checksum_catches_a_flipped_bit() {
        let mut bytes = blank();
        assert!(verify(&bytes, || "zero page".into()).is_ok());
        let mut page = Page::new(&mut bytes);
        page.init(KIND_HEAP);
        page.insert(b"hello").unwrap();
        page.set_lsn(Lsn(42));
        seal(&mut bytes);
        assert!(verify(&bytes, || "p".into()).is_ok());
        bytes[PAGE_SIZE - 2] ^= 0x10;
        let err = verify(&bytes, || "base/7 page 3".into()).unwrap_err();
        assert!(err.to_string().contains("base/7 page 3"), "{err}");
    }

    #[test]
    fn oversized_and_empty_tuples_are_refused() {
        let mut bytes = blank();
        let mut page = Page::new(&mut bytes);
        page.init(KIND_HEAP);
        assert!(page.insert(&vec![1; MAX_TUPLE + 1]).is_none());
        assert!(page.insert(&[]).is_none());
        assert_eq!(page.insert(&vec![1; MAX_TUPLE]), Some(0));
    }
}
