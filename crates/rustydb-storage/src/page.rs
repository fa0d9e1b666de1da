//! Slotted pages. A page is `page_size` bytes — a power of two from [`MIN_PAGE_SIZE`] to
//! [`MAX_PAGE_SIZE`], [`DEFAULT_PAGE_SIZE`] unless chosen otherwise when the data directory is
//! created (the control file records it) — laid out little-endian:
//!
//! | bytes | field |
//! |---|---|
//! | 0..8   | LSN of the last log record that changed the page (u64) |
//! | 8..12  | CRC-32C of the page with this field zeroed (u32) |
//! | 12..14 | page kind (u16): 0 never written, 1 heap, 2..=7 index pages (kinds defined by `rustydb-index`, which uses this layout) |
//! | 14..16 | flags (u16, reserved) |
//! | 16..18 | slot count (u16) |
//! | 18..20 | `free_start`: end of the slot array (u16) |
//! | 20..22 | `free_end`: start of tuple data (u16) |
//! | 22..24 | bytes reserved at the page end for the page cipher (u16; 0 without one) |
//! | 24..28 | file id of the page (u32), stamped when the page is written |
//! | 28..32 | page number within the file (u32), stamped when the page is written |
//! | 32..   | slot array, 4 bytes a slot: tuple offset (u16), tuple length (u16) |
//! | ..size−r | tuple data, growing down from the end of the page (less the cipher's `r` bytes) |
//!
//! A slot with offset 0 is empty (its tuple was removed); slot numbers are stable for the
//! tuple's life, so `(page, slot)` is a durable address. The stamped page id lets a read detect
//! a page that landed at the wrong place (a misdirected write), which a checksum alone cannot.
//!
//! The functions work on `[u8]` images of any valid page size; the length of the slice is the
//! page size.

use rustydb_foundation::{DbError, FileId, Lsn, PageId, Result, SqlState, checksum};

/// The smallest page size.
pub const MIN_PAGE_SIZE: usize = 4096;
/// The largest page size (offsets within a page are u16).
pub const MAX_PAGE_SIZE: usize = 32768;
/// The page size of a new data directory unless configured otherwise.
pub const DEFAULT_PAGE_SIZE: usize = 4096;
/// The size of the page header.
pub const HEADER_SIZE: usize = 32;
const SLOT_SIZE: usize = 4;
const LSN_AT: usize = 0;
const CRC_AT: usize = 8;
const KIND_AT: usize = 12;
const SLOTS_AT: usize = 16;
const FREE_START_AT: usize = 18;
const FREE_END_AT: usize = 20;
const CIPHER_TAIL_AT: usize = 22;
const FILE_AT: usize = 24;
const NUMBER_AT: usize = 28;

/// The kind of a heap page.
pub const KIND_HEAP: u16 = 1;

/// Checks that `size` is a page size the engine supports: a power of two within
/// [`MIN_PAGE_SIZE`]..=[`MAX_PAGE_SIZE`].
pub fn check_page_size(size: usize) -> Result<()> {
    if size.is_power_of_two() && (MIN_PAGE_SIZE..=MAX_PAGE_SIZE).contains(&size) {
        return Ok(());
    }
    Err(DbError::sql(
        SqlState::InvalidParameterValue,
        format!("invalid page size {size}: must be a power of two from {MIN_PAGE_SIZE} to {MAX_PAGE_SIZE} bytes"),
    ))
}

/// The largest tuple a page of `page_size` bytes can hold (before any cipher tail).
pub const fn max_tuple(page_size: usize) -> usize {
    page_size - HEADER_SIZE - SLOT_SIZE
}

/// A page image with slotted-page operations.
#[derive(Debug)]
pub struct Page<'a> {
    bytes: &'a mut [u8],
}

/// Read-only accessors over a page image.
pub mod read {
    use super::*;

    /// The page's LSN.
    #[inline]
    pub fn lsn(bytes: &[u8]) -> Lsn {
        Lsn(u64_at(bytes, LSN_AT))
    }

    /// The page kind (0 for a page never written).
    #[inline]
    pub fn kind(bytes: &[u8]) -> u16 {
        u16_at(bytes, KIND_AT)
    }

    /// Number of slots (used or empty).
    #[inline]
    pub fn slot_count(bytes: &[u8]) -> u16 {
        u16_at(bytes, SLOTS_AT)
    }

    /// The tuple in `slot`, or `None` if the slot is empty or out of range.
    #[inline(always)]
    pub fn tuple(bytes: &[u8], slot: u16) -> Option<&[u8]> {
        if slot >= slot_count(bytes) {
            return None;
        }
        let (offset, len) = slot_entry(bytes, slot);
        (offset != 0).then(|| &bytes[offset..offset + len])
    }

    /// A slot's (offset, length); offset 0 means empty.
    #[inline(always)]
    pub(super) fn slot_entry(bytes: &[u8], slot: u16) -> (usize, usize) {
        let at = HEADER_SIZE + slot as usize * SLOT_SIZE;
        (u16_at(bytes, at) as usize, u16_at(bytes, at + 2) as usize)
    }

    /// The page's free gap: from the end of the slot array to the start of tuple data. A page
    /// image without the gap (`bytes[..start]` and `bytes[end..]`) is the whole page.
    #[inline]
    pub fn free_range(bytes: &[u8]) -> (usize, usize) {
        (u16_at(bytes, FREE_START_AT) as usize, u16_at(bytes, FREE_END_AT) as usize)
    }

    /// Bytes reserved at the page end for the page cipher.
    pub fn cipher_tail(bytes: &[u8]) -> usize {
        u16_at(bytes, CIPHER_TAIL_AT) as usize
    }

    /// The end of the tuple area: the page end less the cipher's reserved tail.
    pub(super) fn data_end(bytes: &[u8]) -> usize {
        bytes.len() - u16_at(bytes, CIPHER_TAIL_AT) as usize
    }

    /// Free bytes once removed tuples' space is compacted away (not counting a new slot).
    pub fn reclaimable_space(bytes: &[u8]) -> usize {
        let live: usize = (0..slot_count(bytes)).map(|s| slot_entry(bytes, s).1).sum();
        data_end(bytes) - u16_at(bytes, FREE_START_AT) as usize - live
    }

    /// The slot the next insert will use: the first empty one, or a new one.
    pub fn insertion_slot(bytes: &[u8]) -> u16 {
        let count = slot_count(bytes);
        (0..count).find(|&s| slot_entry(bytes, s).0 == 0).unwrap_or(count)
    }

    /// True if a tuple of `len` bytes fits (after compaction if need be); a page never
    /// written counts as an empty one.
    pub fn fits(bytes: &[u8], len: usize) -> bool {
        if kind(bytes) == 0 {
            return len > 0 && len <= max_tuple(bytes.len());
        }
        // The common case without walking the slots (see `fits_in`).
        if gap_holds(bytes, len + SLOT_SIZE) {
            return len > 0;
        }
        fits_in(bytes, len, insertion_slot(bytes) == slot_count(bytes))
    }

    /// True if the tuple in `slot` could be replaced by one of `len` bytes (after compaction).
    pub fn fits_replacing(bytes: &[u8], slot: u16, len: usize) -> bool {
        slot < slot_count(bytes) && len > 0 && reclaimable_space(bytes) + slot_entry(bytes, slot).1 >= len
    }

    pub(super) fn fits_in(bytes: &[u8], len: usize, new_slot: bool) -> bool {
        let needed = len + if new_slot { SLOT_SIZE } else { 0 };
        // The free gap alone is enough in the common case; removed tuples' space only adds to
        // it, so the slots are walked only when it is not.
        len > 0 && (gap_holds(bytes, needed) || reclaimable_space(bytes) >= needed)
    }

    /// True if the contiguous free gap between the slot array and the tuple data holds `needed`
    /// bytes.
    #[inline]
    fn gap_holds(bytes: &[u8], needed: usize) -> bool {
        let (start, end) = (u16_at(bytes, FREE_START_AT) as usize, u16_at(bytes, FREE_END_AT) as usize);
        end.saturating_sub(start) >= needed
    }
}

impl<'a> Page<'a> {
    /// Wraps a page image for modification.
    pub fn new(bytes: &'a mut [u8]) -> Self {
        Page { bytes }
    }

    /// Formats an empty page of `kind` (discarding whatever the bytes held).
    pub fn init(&mut self, kind: u16) {
        self.init_reserving(kind, 0);
    }

    /// Formats an empty page keeping `tail` bytes at its end for the page cipher.
    pub fn init_reserving(&mut self, kind: u16, tail: usize) {
        self.bytes.fill(0);
        put_u16(self.bytes, KIND_AT, kind);
        put_u16(self.bytes, FREE_START_AT, HEADER_SIZE as u16);
        put_u16(self.bytes, FREE_END_AT, (self.bytes.len() - tail) as u16);
        put_u16(self.bytes, CIPHER_TAIL_AT, tail as u16);
    }

    /// The raw page image.
    pub fn bytes(&self) -> &[u8] {
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

    fn slot_entry(&self, slot: u16) -> (usize, usize) {
        read::slot_entry(self.bytes, slot)
    }

    fn set_slot_entry(&mut self, slot: u16, offset: usize, len: usize) {
        let at = HEADER_SIZE + slot as usize * SLOT_SIZE;
        put_u16(self.bytes, at, offset as u16);
        put_u16(self.bytes, at + 2, len as u16);
    }

    /// Free bytes once removed tuples' space is compacted away (not counting a new slot).
    pub fn reclaimable_space(&self) -> usize {
        read::reclaimable_space(self.bytes)
    }

    /// The slot the next [`Page::insert`] will use: the first empty one, or a new one.
    pub fn insertion_slot(&self) -> u16 {
        read::insertion_slot(self.bytes)
    }

    /// True if a tuple of `len` bytes fits, after compaction if need be.
    pub fn fits(&self, len: usize) -> bool {
        read::fits(self.bytes, len)
    }

    /// Stores a tuple in [`Page::insertion_slot`] and returns the slot, or `None` if it does not
    /// fit.
    pub fn insert(&mut self, tuple: &[u8]) -> Option<u16> {
        let slot = self.insertion_slot();
        self.insert_at(slot, tuple).then_some(slot)
    }

    /// Stores a tuple in `slot`, which must be empty or the next new one (recovery replays
    /// inserts into the slots they originally took). Compacts first if the free space is
    /// fragmented. Returns false if it does not fit or the slot is taken.
    pub fn insert_at(&mut self, slot: u16, tuple: &[u8]) -> bool {
        let count = read::slot_count(self.bytes);
        let new_slot = slot == count;
        if slot > count || (!new_slot && self.slot_entry(slot).0 != 0) || !self.fits_in(tuple.len(), new_slot) {
            return false;
        }
        let needed = tuple.len() + if new_slot { SLOT_SIZE } else { 0 };
        if self.free_space() < needed {
            self.compact();
        }
        let end = u16_at(self.bytes, FREE_END_AT) as usize;
        let start = end - tuple.len();
        self.bytes[start..end].copy_from_slice(tuple);
        if new_slot {
            put_u16(self.bytes, SLOTS_AT, count + 1);
            put_u16(self.bytes, FREE_START_AT, (HEADER_SIZE + (count as usize + 1) * SLOT_SIZE) as u16);
        }
        self.set_slot_entry(slot, start, tuple.len());
        put_u16(self.bytes, FREE_END_AT, start as u16);
        true
    }

    fn fits_in(&self, len: usize, new_slot: bool) -> bool {
        read::fits_in(self.bytes, len, new_slot)
    }

    /// Stores a tuple at position `pos`, shifting the slots from `pos` on up by one: for pages
    /// whose slot order is key order (index nodes), where a slot number is a position, not an
    /// address. Compacts first if need be. Returns false, changing nothing, if `pos` is past the
    /// end or the tuple does not fit.
    pub fn insert_ordered(&mut self, pos: u16, tuple: &[u8]) -> bool {
        let count = read::slot_count(self.bytes);
        if pos > count || !self.fits_in(tuple.len(), true) {
            return false;
        }
        if self.free_space() < tuple.len() + SLOT_SIZE {
            self.compact();
        }
        let end = u16_at(self.bytes, FREE_END_AT) as usize;
        let start = end - tuple.len();
        self.bytes[start..end].copy_from_slice(tuple);
        let at = HEADER_SIZE + pos as usize * SLOT_SIZE;
        let array_end = HEADER_SIZE + count as usize * SLOT_SIZE;
        self.bytes.copy_within(at..array_end, at + SLOT_SIZE);
        put_u16(self.bytes, SLOTS_AT, count + 1);
        put_u16(self.bytes, FREE_START_AT, (array_end + SLOT_SIZE) as u16);
        self.set_slot_entry(pos, start, tuple.len());
        put_u16(self.bytes, FREE_END_AT, start as u16);
        true
    }

    /// Removes the tuple at position `pos`, shifting the later slots down by one (the inverse
    /// of [`Page::insert_ordered`]). Returns false if `pos` is past the end or empty.
    pub fn remove_ordered(&mut self, pos: u16) -> bool {
        let count = read::slot_count(self.bytes);
        if pos >= count || self.slot_entry(pos).0 == 0 {
            return false;
        }
        let at = HEADER_SIZE + pos as usize * SLOT_SIZE;
        let array_end = HEADER_SIZE + count as usize * SLOT_SIZE;
        self.bytes.copy_within(at + SLOT_SIZE..array_end, at);
        self.bytes[array_end - SLOT_SIZE..array_end].fill(0);
        put_u16(self.bytes, SLOTS_AT, count - 1);
        put_u16(self.bytes, FREE_START_AT, (array_end - SLOT_SIZE) as u16);
        true
    }

    /// Empties `slot` (its space is reclaimed by the next compaction). Slot numbers of other
    /// tuples never change. Returns false if the slot was already empty.
    pub fn remove(&mut self, slot: u16) -> bool {
        if slot >= read::slot_count(self.bytes) || self.slot_entry(slot).0 == 0 {
            return false;
        }
        self.set_slot_entry(slot, 0, 0);
        true
    }

    /// Replaces the tuple in occupied `slot` by `tuple` (compacting if need be). Returns false,
    /// changing nothing, if the slot is empty or the new tuple does not fit.
    pub fn replace(&mut self, slot: u16, tuple: &[u8]) -> bool {
        if slot >= read::slot_count(self.bytes)
            || self.slot_entry(slot).0 == 0
            || !read::fits_replacing(self.bytes, slot, tuple.len())
        {
            return false;
        }
        let (offset, len) = self.slot_entry(slot);
        if len == tuple.len() {
            self.bytes[offset..offset + len].copy_from_slice(tuple);
            return true;
        }
        self.set_slot_entry(slot, 0, 0);
        self.insert_at(slot, tuple)
    }

    /// Moves every live tuple to the end of the page so the free space is contiguous.
    pub fn compact(&mut self) {
        let count = read::slot_count(self.bytes);
        let mut live: Vec<(u16, usize, usize)> = (0..count)
            .map(|s| (s, self.slot_entry(s)))
            .filter(|(_, (o, _))| *o != 0)
            .map(|(s, (o, l))| (s, o, l))
            .collect();
        // Highest offsets first, so moving towards the end never overwrites a tuple not yet moved.
        live.sort_by_key(|entry| std::cmp::Reverse(entry.1));
        let mut end = read::data_end(self.bytes);
        for (slot, offset, len) in live {
            let start = end - len;
            self.bytes.copy_within(offset..offset + len, start);
            self.set_slot_entry(slot, start, len);
            end = start;
        }
        put_u16(self.bytes, FREE_END_AT, end as u16);
    }

    /// The tuple bytes of `slot`, writable in place (same length).
    pub fn tuple_mut(&mut self, slot: u16) -> Option<&mut [u8]> {
        if slot >= read::slot_count(self.bytes) {
            return None;
        }
        let (offset, len) = self.slot_entry(slot);
        (offset != 0).then(|| &mut self.bytes[offset..offset + len])
    }
}

/// Stamps the page id and the checksum into a page image before it is written.
pub fn seal(bytes: &mut [u8], id: PageId) {
    put_u32(bytes, FILE_AT, id.file.0);
    put_u32(bytes, NUMBER_AT, id.number);
    put_u32(bytes, CRC_AT, 0);
    let crc = checksum::crc32c(bytes);
    put_u32(bytes, CRC_AT, crc);
}

/// Verifies a page image read from disk as page `id`: its checksum, that it is the page asked
/// for, and that its header is sane. All-zero pages (never written) are valid.
pub fn verify(bytes: &[u8], id: PageId, what: impl Fn() -> String) -> Result<()> {
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
    let stamped = PageId::new(FileId(u32_at(bytes, FILE_AT)), u32_at(bytes, NUMBER_AT));
    if stamped != id {
        return Err(DbError::Corruption(format!("{}: holds page {stamped} instead (misdirected write)", what())));
    }
    let (start, end) = (u16_at(bytes, FREE_START_AT) as usize, u16_at(bytes, FREE_END_AT) as usize);
    let tail = u16_at(bytes, CIPHER_TAIL_AT) as usize;
    if read::kind(bytes) == 0 {
        return Ok(());
    }
    if start < HEADER_SIZE || start > end || end + tail > bytes.len() {
        return Err(DbError::Corruption(format!("{}: free-space pointers out of range", what())));
    }
    // The slot array and every tuple must lie where the header says, so that no later read of
    // a slot can run off the page (a checksum only proves the page is as it was written).
    let slots = read::slot_count(bytes) as usize;
    if HEADER_SIZE + slots * SLOT_SIZE != start {
        return Err(DbError::Corruption(format!("{}: {slots} slots do not end at {start}", what())));
    }
    let data_end = bytes.len() - tail;
    for slot in 0..slots as u16 {
        let (offset, len) = read::slot_entry(bytes, slot);
        if offset != 0 && (offset < end || offset + len > data_end || len == 0) {
            return Err(DbError::Corruption(format!(
                "{}: slot {slot} points at bytes {offset}..{} outside the tuple area {end}..{data_end}",
                what(),
                offset + len
            )));
        }
    }
    Ok(())
}

#[inline]
fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
#[inline]
fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut a = [0; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(a)
}
#[inline]
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

    const PAGE_SIZE: usize = 8192;

    fn blank() -> Vec<u8> {
        vec![0; PAGE_SIZE]
    }

    #[test]
    fn insert_until_full_then_read_back_at_every_page_size() {
        for size in [4096, 8192, 16384, 32768] {
            let mut bytes = vec![0; size];
            let mut page = Page::new(&mut bytes);
            page.init(KIND_HEAP);
            let mut n = 0u16;
            while let Some(slot) = page.insert(&[n as u8; 100]) {
                assert_eq!(slot, n);
                n += 1;
            }
            assert_eq!(n as usize, (size - HEADER_SIZE) / 104);
            for s in 0..n {
                assert_eq!(read::tuple(&bytes, s).unwrap(), &[s as u8; 100][..]);
            }
            assert!(read::tuple(&bytes, n).is_none());
            let mut page = Page::new(&mut bytes);
            page.init(KIND_HEAP);
            assert_eq!(page.insert(&vec![9; max_tuple(size)]), Some(0), "a largest tuple fits a {size}-byte page");
        }
    }

    #[test]
    fn page_sizes_outside_the_supported_range_are_refused() {
        for ok in [4096, 8192, 16384, 32768] {
            assert!(check_page_size(ok).is_ok());
        }
        for bad in [0, 512, 2048, 5000, 65536] {
            assert_eq!(check_page_size(bad).unwrap_err().sqlstate(), SqlState::InvalidParameterValue);
        }
    }

    #[test]
    fn a_page_read_in_the_wrong_place_is_caught() {
        let mut bytes = blank();
        Page::new(&mut bytes).init(KIND_HEAP);
        let here = PageId::new(FileId(3), 7);
        seal(&mut bytes, here);
        assert!(verify(&bytes, here, || "p".into()).is_ok());
        let err = verify(&bytes, PageId::new(FileId(3), 8), || "base/3 page 8".into()).unwrap_err();
        assert!(err.to_string().contains("misdirected"), "{err}");
    }

    #[test]
    fn a_page_whose_slots_point_outside_it_is_refused_even_with_a_good_checksum() {
        let id = PageId::new(FileId(3), 1);
        let mut good = blank();
        let mut page = Page::new(&mut good);
        page.init(KIND_HEAP);
        page.insert(&[1; 100]).unwrap();
        page.insert(&[2; 100]).unwrap();
        seal(&mut good, id);
        verify(&good, id, || "p".into()).unwrap();
        // A slot reaching past the page end; a slot in the slot array; a slot count that
        // disagrees with the free-space pointer.
        for (at, value) in [(HEADER_SIZE + 2, 4000u16), (HEADER_SIZE + 4, 8), (SLOTS_AT, 9)] {
            let mut bad = good.clone();
            put_u16(&mut bad, at, value);
            seal(&mut bad, id);
            let err = verify(&bad, id, || "base/3 page 1".into()).unwrap_err();
            assert!(matches!(&err, DbError::Corruption(m) if m.contains("base/3 page 1")), "{err}");
        }
    }

    #[test]
    fn checksum_catches_a_flipped_bit() {
        let mut bytes = blank();
        let id = PageId::new(FileId(7), 3);
        assert!(verify(&bytes, id, || "zero page".into()).is_ok());
        let mut page = Page::new(&mut bytes);
        page.init(KIND_HEAP);
        page.insert(b"hello").unwrap();
        page.set_lsn(Lsn(42));
        seal(&mut bytes, id);
        assert!(verify(&bytes, id, || "p".into()).is_ok());
        bytes[PAGE_SIZE - 2] ^= 0x10;
        let err = verify(&bytes, id, || "base/7 page 3".into()).unwrap_err();
        assert!(err.to_string().contains("base/7 page 3"), "{err}");
    }

    #[test]
    fn removal_frees_space_that_compaction_reclaims_and_slots_are_reused() {
        let mut bytes = blank();
        let mut page = Page::new(&mut bytes);
        page.init(KIND_HEAP);
        let slots: Vec<u16> = (0..9u8).map(|i| page.insert(&[i; 900]).unwrap()).collect();
        assert!(!page.fits(900));
        assert!(page.remove(slots[2]) && page.remove(slots[5]));
        assert!(!page.remove(slots[5]), "removing twice is a no-op");
        assert!(page.fits(1800 - 4), "two freed tuples' space is reclaimable");
        // The next insert reuses slot 2 and compacts to find contiguous room.
        assert_eq!(page.insert(&[0xAA; 1700]), Some(2));
        for (i, s) in slots.iter().enumerate().filter(|(i, _)| ![2, 5].contains(i)) {
            assert_eq!(read::tuple(&bytes, *s).unwrap(), &[i as u8; 900][..], "slot {s} moved wrongly");
        }
        assert_eq!(read::tuple(&bytes, 2).unwrap(), &[0xAA; 1700][..]);
        assert!(read::tuple(&bytes, 5).is_none());
    }

    #[test]
    fn replace_keeps_the_slot_and_uses_the_old_tuples_space() {
        let mut bytes = blank();
        let mut page = Page::new(&mut bytes);
        page.init(KIND_HEAP);
        let a = page.insert(&[1; 3000]).unwrap();
        let b = page.insert(&[2; 3000]).unwrap();
        assert!(!page.fits(3000));
        assert!(page.replace(a, &[3; 4000]), "the old tuple's 3000 bytes count as room");
        assert!(page.replace(b, &[4; 10]));
        assert!(page.replace(b, &[5; 10]), "same length, in place");
        assert!(!page.replace(a, &vec![6; max_tuple(PAGE_SIZE)]), "too big: nothing changes");
        assert_eq!(read::tuple(&bytes, a).unwrap(), &[3; 4000][..]);
        assert_eq!(read::tuple(&bytes, b).unwrap(), &[5; 10][..]);
        let mut page = Page::new(&mut bytes);
        assert!(page.remove(b));
        assert!(!page.replace(b, b"x"), "an empty slot is not replaced");
    }

    #[test]
    fn insert_at_replays_into_the_recorded_slot_only() {
        let mut bytes = blank();
        let mut page = Page::new(&mut bytes);
        page.init(KIND_HEAP);
        assert!(!page.insert_at(1, b"gap"), "cannot skip a slot");
        assert!(page.insert_at(0, b"a"));
        assert!(!page.insert_at(0, b"b"), "slot taken");
        assert!(page.insert_at(1, b"c"));
        assert!(page.remove(0));
        assert!(page.insert_at(0, b"d"));
        assert_eq!(read::tuple(&bytes, 0).unwrap(), b"d");
    }

    #[test]
    fn ordered_inserts_and_removals_shift_positions_and_keep_the_page_valid() {
        let id = PageId::new(FileId(2), 0);
        let mut bytes = blank();
        let mut page = Page::new(&mut bytes);
        page.init(KIND_HEAP);
        assert!(page.insert_ordered(0, b"b"));
        assert!(page.insert_ordered(0, b"a"));
        assert!(page.insert_ordered(2, b"d"));
        assert!(page.insert_ordered(2, b"c"));
        assert!(!page.insert_ordered(5, b"x"), "past the end");
        let all = |b: &[u8]| (0..read::slot_count(b)).map(|s| read::tuple(b, s).unwrap().to_vec()).collect::<Vec<_>>();
        assert_eq!(all(&bytes), [b"a", b"b", b"c", b"d"]);
        let mut page = Page::new(&mut bytes);
        assert!(page.remove_ordered(1));
        assert!(!page.remove_ordered(3), "past the end");
        assert_eq!(all(&bytes), [b"a", b"c", b"d"]);
        seal(&mut bytes, id);
        verify(&bytes, id, || "p".into()).unwrap();
        // Fill by ordered inserts, remove every other one, and refill: compaction makes room.
        let mut page = Page::new(&mut bytes);
        page.init(KIND_HEAP);
        let mut n = 0u16;
        while page.insert_ordered(n / 2, &[n as u8; 60]) {
            n += 1;
        }
        for pos in (0..n / 2).rev() {
            assert!(page.remove_ordered(pos * 2));
        }
        let freed = n - n / 2;
        let mut refilled = 0;
        while page.insert_ordered(0, &[7; 60]) {
            refilled += 1;
        }
        assert_eq!(refilled, n / 2, "{freed} left, every removed tuple's room is reused");
        seal(&mut bytes, id);
        verify(&bytes, id, || "p".into()).unwrap();
    }

    #[test]
    fn oversized_and_empty_tuples_are_refused() {
        let mut bytes = blank();
        let mut page = Page::new(&mut bytes);
        page.init(KIND_HEAP);
        assert!(page.insert(&vec![1; max_tuple(PAGE_SIZE) + 1]).is_none());
        assert!(page.insert(&[]).is_none());
        assert_eq!(page.insert(&vec![1; max_tuple(PAGE_SIZE)]), Some(0));
    }
}
