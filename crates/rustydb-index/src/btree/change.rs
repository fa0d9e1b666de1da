//! B+tree changes as the log carries them: physical, per page, several pages to a record.
//!
//! An insert or delete that stays within one leaf logs one small change (an item in or out at a
//! position). A structure change — a split, merge, redistribution, page allocation — logs the
//! new images of every page it touched *in one record*, so that recovery applies all of it or
//! none of it: a crash in the middle of a split can never leave half a split behind (the pages
//! of an unlogged change never reach disk, by the buffer pool's WAL-before-data rule). Images
//! leave out the page's free gap, so a half-empty page logs half a page.
//!
//! Redo is a pure function of the record and each page: a change is applied to a page whose
//! LSN is older than the record's, and skipped otherwise.
//!
//! Record format, little-endian:
//!
//! | bytes | field |
//! |---|---|
//! | 0..4 | index file id (u32) |
//! | 4..6 | number of changes (u16) |
//! | then per change: 0..4 | page number (u32) |
//! | 4 | kind: 1 insert item, 2 remove item, 3 page image |
//! | insert: 5..7, 7..9 | position (u16), length (u16), then the stored item |
//! | remove: 5..7 | position (u16) |
//! | image: 5..7, 7..9 | head length (u16), tail length (u16), then head and tail bytes |

use rustydb_foundation::le::LeReader;
use rustydb_foundation::{DbError, FileId, Lsn, PageId, Result};
use rustydb_storage::BufferPool;
use rustydb_storage::page::{Page, read};

/// One page's change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// An item stored at a position (slot `pos + 1`, after the header), later ones shifting up.
    Insert {
        /// Item position.
        pos: u16,
        /// Stored bytes.
        bytes: Vec<u8>,
    },
    /// The item at a position removed, later ones shifting down.
    Remove {
        /// Item position.
        pos: u16,
    },
    /// The whole page replaced.
    Image {
        /// The page image.
        bytes: Vec<u8>,
    },
}

/// A change to one page of the index file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Page number.
    pub page: u32,
    /// What changes.
    pub op: Op,
}

/// Encodes a record of `changes` to pages of `file`.
pub fn encode(file: FileId, changes: &[Change]) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(&file.0.to_le_bytes());
    out.extend_from_slice(&(changes.len() as u16).to_le_bytes());
    for change in changes {
        out.extend_from_slice(&change.page.to_le_bytes());
        match &change.op {
            Op::Insert { pos, bytes } => {
                out.push(1);
                out.extend_from_slice(&pos.to_le_bytes());
                out.extend_from_slice(&(bytes.len() as u16).to_le_bytes());
                out.extend_from_slice(bytes);
            }
            Op::Remove { pos } => {
                out.push(2);
                out.extend_from_slice(&pos.to_le_bytes());
            }
            Op::Image { bytes } => {
                let (start, end) = read::free_range(bytes);
                out.push(3);
                out.extend_from_slice(&(start as u16).to_le_bytes());
                out.extend_from_slice(&((bytes.len() - end) as u16).to_le_bytes());
                out.extend_from_slice(&bytes[..start]);
                out.extend_from_slice(&bytes[end..]);
            }
        }
    }
    out
}

/// A decoded record: the file and its changes (images not yet expanded).
#[derive(Debug)]
pub struct Decoded<'a> {
    /// The index file.
    pub file: FileId,
    changes: Vec<(u32, Raw<'a>)>,
}

#[derive(Debug)]
enum Raw<'a> {
    Insert(u16, &'a [u8]),
    Remove(u16),
    Image(&'a [u8], &'a [u8]),
}

/// Decodes a record.
pub fn decode(bytes: &[u8]) -> Result<Decoded<'_>> {
    let mut r = LeReader::new(bytes, "B+tree log record");
    let file = FileId(r.u32()?);
    let n = r.u16()?;
    let mut changes = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let page = r.u32()?;
        let raw = match r.u8()? {
            1 => {
                let pos = r.u16()?;
                let len = r.u16()? as usize;
                Raw::Insert(pos, r.take(len)?)
            }
            2 => Raw::Remove(r.u16()?),
            3 => {
                let head = r.u16()? as usize;
                let tail = r.u16()? as usize;
                Raw::Image(r.take(head)?, r.take(tail)?)
            }
            k => return Err(DbError::Corruption(format!("B+tree log record: unknown change kind {k}"))),
        };
        changes.push((page, raw));
    }
    if r.remaining() != 0 {
        return Err(DbError::Corruption("B+tree log record: bytes left over".into()));
    }
    Ok(Decoded { file, changes })
}

/// Applies `op` to page image `bytes` (used both as the change is made and at redo).
pub fn apply(bytes: &mut [u8], op: &Op) -> Result<()> {
    match op {
        Op::Insert { pos, bytes: item } => apply_raw(bytes, &Raw::Insert(*pos, item)),
        Op::Remove { pos } => apply_raw(bytes, &Raw::Remove(*pos)),
        Op::Image { bytes: image } => {
            bytes.copy_from_slice(image);
            Ok(())
        }
    }
}

fn apply_raw(bytes: &mut [u8], raw: &Raw<'_>) -> Result<()> {
    let ok = match raw {
        Raw::Insert(pos, item) => Page::new(bytes).insert_ordered(pos + 1, item),
        Raw::Remove(pos) => Page::new(bytes).remove_ordered(pos + 1),
        Raw::Image(head, tail) => {
            let size = bytes.len();
            if head.len() + tail.len() > size {
                return Err(DbError::Corruption("B+tree log record: page image larger than a page".into()));
            }
            bytes.fill(0);
            bytes[..head.len()].copy_from_slice(head);
            bytes[size - tail.len()..].copy_from_slice(tail);
            true
        }
    };
    if ok { Ok(()) } else { Err(DbError::Corruption(format!("index redo: {raw:?} does not apply to its page"))) }
}

/// Replays one record read from the log at `lsn`: each change is applied to a page whose LSN
/// shows it missing.
pub fn redo(pool: &BufferPool, record: &[u8], lsn: Lsn) -> Result<()> {
    let decoded = decode(record)?;
    for (page, raw) in &decoded.changes {
        let mut guard = pool.write(PageId::new(decoded.file, *page))?;
        if read::lsn(&guard) >= lsn {
            continue;
        }
        apply_raw(&mut guard, raw)?;
        Page::new(&mut guard).set_lsn(lsn);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::btree::node::{Item, Node, Shape};

    #[test]
    fn records_round_trip_and_images_skip_the_free_gap() {
        let shape = Shape { level: 0, right: 3, low: None, high: None };
        let image = shape.build(&[Item { key: b"k1".to_vec(), child: 0 }], 4096, 0).unwrap();
        let changes = vec![
            Change { page: 1, op: Op::Image { bytes: image.clone() } },
            Change { page: 1, op: Op::Insert { pos: 1, bytes: b"k2".to_vec() } },
            Change { page: 1, op: Op::Remove { pos: 0 } },
        ];
        let record = encode(FileId(8), &changes);
        assert!(record.len() < 200, "an image logs only the used part: {} bytes", record.len());
        let decoded = decode(&record).unwrap();
        assert_eq!(decoded.file, FileId(8));
        let mut page = vec![0xEE; 4096];
        for (_, raw) in &decoded.changes {
            apply_raw(&mut page, raw).unwrap();
        }
        let mut direct = vec![0; 4096];
        for c in &changes {
            apply(&mut direct, &c.op).unwrap();
        }
        assert_eq!(page, direct, "redo and the live path build the same page");
        let node = Node::parse(&page).unwrap();
        assert_eq!(node.items().unwrap(), [Item { key: b"k2".to_vec(), child: 0 }]);
        assert!(decode(&record[..record.len() - 1]).is_err(), "a truncated record is refused");
    }
}
