//! Sorted string tables: the LSM tree's immutable files, written once by a flush or a
//! compaction, then only read (through memmap2, which is sound for files nobody changes).
//!
//! | part | layout |
//! |---|---|
//! | data blocks | per block: stored length (u32), CRC-32C of what follows (u32), compression (u8: 0 none, 1 lz4, 2 zstd), raw length (u32), then the block; a raw block is records `kind (u8: 1 put, 0 tombstone) ‖ length (u16) ‖ entry` in entry order |
//! | block index | per block: offset (u64), stored length (u32), last entry's length (u16) and bytes |
//! | bloom filter | bit count (u32), hash count (u8), bits — over each entry's *key* (the entry less its tuple id), so a lookup by key can skip the table |
//! | footer (36 bytes) | index offset (u64), index length (u32), bloom offset (u64), bloom length (u32), entries (u64), magic (u32) |
//!
//! Every block and the index carry a checksum; a table that fails one is reported as corruption
//! naming the file, never read as data.

use crate::hash::hash_key;
use crate::paged::key_part;
use memmap2::Mmap;
use rustydb_foundation::le::LeReader;
use rustydb_foundation::{DbError, Result, checksum};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

const MAGIC: u32 = 0x5253_5354; // "RSST"
const FOOTER: usize = 36;
const BLOOM_BITS_PER_KEY: usize = 10;
const BLOOM_HASHES: u8 = 7;

/// How data blocks are compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BlockCompression {
    /// Stored as is.
    None,
    /// lz4: cheap, the default.
    #[default]
    Lz4,
    /// zstd: smaller, slower (for the bottom level's cold data).
    Zstd,
}

/// One record: an entry put (true) or deleted (false).
pub type Record = (Vec<u8>, bool);

fn bloom_positions(key: &[u8], bits: u64, hashes: u8) -> impl Iterator<Item = u64> {
    let h = hash_key(key);
    let (h1, h2) = (h & 0xFFFF_FFFF, (h >> 32) | 1);
    (0..u64::from(hashes)).map(move |i| h1.wrapping_add(i.wrapping_mul(h2)) % bits)
}

/// Writes a table from records in entry order.
#[derive(Debug)]
pub struct TableWriter {
    path: PathBuf,
    out: std::io::BufWriter<File>,
    offset: u64,
    block: Vec<u8>,
    block_last: Vec<u8>,
    index: Vec<u8>,
    keys: Vec<u64>,
    entries: u64,
    block_size: usize,
    compression: BlockCompression,
    last_key: Option<Vec<u8>>,
}

impl TableWriter {
    /// Starts a table at `path`.
    pub fn create(path: &Path, block_size: usize, compression: BlockCompression) -> Result<TableWriter> {
        let file = File::create(path).map_err(|e| DbError::io(format!("creating {}", path.display()), e))?;
        Ok(TableWriter {
            path: path.to_path_buf(),
            out: std::io::BufWriter::new(file),
            offset: 0,
            block: Vec::with_capacity(block_size * 2),
            block_last: Vec::new(),
            index: Vec::new(),
            keys: Vec::new(),
            entries: 0,
            block_size,
            compression,
            last_key: None,
        })
    }

    /// Bytes written so far.
    pub fn size(&self) -> u64 {
        self.offset + self.block.len() as u64
    }

    /// Adds a record (entries strictly increasing).
    pub fn add(&mut self, entry: &[u8], live: bool) -> Result<()> {
        self.block.push(u8::from(live));
        self.block.extend_from_slice(&(entry.len() as u16).to_le_bytes());
        self.block.extend_from_slice(entry);
        self.block_last.clear();
        self.block_last.extend_from_slice(entry);
        let key = key_part(entry);
        if self.last_key.as_deref() != Some(key) {
            self.keys.push(hash_key(key));
            self.last_key = Some(key.to_vec());
        }
        self.entries += 1;
        if self.block.len() >= self.block_size {
            self.finish_block()?;
        }
        Ok(())
    }

    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.out.write_all(bytes).map_err(|e| DbError::io(format!("writing {}", self.path.display()), e))?;
        self.offset += bytes.len() as u64;
        Ok(())
    }

    fn finish_block(&mut self) -> Result<()> {
        if self.block.is_empty() {
            return Ok(());
        }
        let (code, payload) = match self.compression {
            BlockCompression::None => (0u8, self.block.clone()),
            BlockCompression::Lz4 => (1, lz4_flex::block::compress(&self.block)),
            BlockCompression::Zstd => {
                (2, zstd::bulk::compress(&self.block, 3).map_err(|e| DbError::io("compressing an LSM block", e))?)
            }
        };
        let mut body = Vec::with_capacity(payload.len() + 5);
        body.push(code);
        body.extend_from_slice(&(self.block.len() as u32).to_le_bytes());
        body.extend_from_slice(&payload);
        let start = self.offset;
        let mut head = Vec::with_capacity(8);
        head.extend_from_slice(&(body.len() as u32).to_le_bytes());
        head.extend_from_slice(&checksum::crc32c(&body).to_le_bytes());
        self.write(&head)?;
        self.write(&body)?;
        self.index.extend_from_slice(&start.to_le_bytes());
        self.index.extend_from_slice(&((self.offset - start) as u32).to_le_bytes());
        self.index.extend_from_slice(&(self.block_last.len() as u16).to_le_bytes());
        let last = std::mem::take(&mut self.block_last);
        self.index.extend_from_slice(&last);
        self.block_last = last;
        self.block.clear();
        Ok(())
    }

    /// Writes the index, filter and footer, and makes the file durable.
    pub fn finish(mut self) -> Result<u64> {
        self.finish_block()?;
        let index = std::mem::take(&mut self.index);
        let index_at = self.offset;
        let crc = checksum::crc32c(&index).to_le_bytes();
        self.write(&crc)?;
        self.write(&index)?;
        let bits = (self.keys.len().max(1) * BLOOM_BITS_PER_KEY).next_multiple_of(8) as u64;
        let mut bloom = vec![0u8; bits as usize / 8];
        for &h in &self.keys {
            let (h1, h2) = (h & 0xFFFF_FFFF, (h >> 32) | 1);
            for i in 0..u64::from(BLOOM_HASHES) {
                let bit = h1.wrapping_add(i.wrapping_mul(h2)) % bits;
                bloom[(bit / 8) as usize] |= 1 << (bit % 8);
            }
        }
        let bloom_at = self.offset;
        let mut filter = (bits as u32).to_le_bytes().to_vec();
        filter.push(BLOOM_HASHES);
        filter.extend_from_slice(&bloom);
        self.write(&filter)?;
        let mut footer = Vec::with_capacity(FOOTER);
        footer.extend_from_slice(&index_at.to_le_bytes());
        footer.extend_from_slice(&((index.len() + 4) as u32).to_le_bytes());
        footer.extend_from_slice(&bloom_at.to_le_bytes());
        footer.extend_from_slice(&(filter.len() as u32).to_le_bytes());
        footer.extend_from_slice(&self.entries.to_le_bytes());
        footer.extend_from_slice(&MAGIC.to_le_bytes());
        self.write(&footer)?;
        let io = |e| DbError::io(format!("syncing {}", self.path.display()), e);
        self.out.flush().map_err(io)?;
        self.out.get_ref().sync_all().map_err(io)?;
        Ok(self.offset)
    }
}

/// An open, immutable table.
#[derive(Debug)]
pub struct Table {
    /// The file's number.
    pub id: u64,
    path: PathBuf,
    map: Mmap,
    /// (offset, stored length, last entry) per block.
    blocks: Vec<(u64, u32, Vec<u8>)>,
    bloom: (u64, u8, std::ops::Range<usize>),
    /// Records in the table.
    pub entries: u64,
    /// The smallest and largest entry.
    pub first: Vec<u8>,
    /// The largest entry.
    pub last: Vec<u8>,
}

impl Table {
    /// Opens the table `id` at `path`.
    pub fn open(id: u64, path: &Path) -> Result<Table> {
        let file = File::open(path).map_err(|e| DbError::io(format!("opening {}", path.display()), e))?;
        // SAFETY: tables are immutable once written and only this process's LSM tree, which
        // never writes to or truncates a published table, has them open; they are removed
        // only after every reader of the level list holding them is gone (see `Levels`).
        let map = unsafe { Mmap::map(&file) }.map_err(|e| DbError::io(format!("mapping {}", path.display()), e))?;
        let bad = |what: &str| DbError::Corruption(format!("LSM table {}: {what}", path.display()));
        if map.len() < FOOTER {
            return Err(bad("shorter than its footer"));
        }
        let mut f = LeReader::new(&map[map.len() - FOOTER..], "LSM table footer");
        let (index_at, index_len) = (f.u64()? as usize, f.u32()? as usize);
        let (bloom_at, bloom_len) = (f.u64()? as usize, f.u32()? as usize);
        let entries = f.u64()?;
        if f.u32()? != MAGIC {
            return Err(bad("wrong magic number"));
        }
        let region = |at: usize, len: usize| {
            at.checked_add(len)
                .filter(|end| *end <= map.len() - FOOTER)
                .map(|end| at..end)
                .ok_or_else(|| bad("a region runs past the file"))
        };
        let index_range = region(index_at, index_len)?;
        let index = &map[index_range];
        let (crc, index) = index.split_at(4.min(index.len()));
        if crc != checksum::crc32c(index).to_le_bytes() {
            return Err(bad("block index checksum mismatch"));
        }
        let mut r = LeReader::new(index, "LSM block index");
        let mut blocks = Vec::new();
        while r.remaining() > 0 {
            let (offset, len) = (r.u64()?, r.u32()?);
            let last_len = r.u16()? as usize;
            blocks.push((offset, len, r.take(last_len)?.to_vec()));
        }
        let bloom_range = region(bloom_at, bloom_len)?;
        let mut b = LeReader::new(&map[bloom_range.clone()], "LSM bloom filter");
        let bits = u64::from(b.u32()?);
        let hashes = b.u8()?;
        if bits == 0 || bits / 8 != b.remaining() as u64 {
            return Err(bad("bloom filter size mismatch"));
        }
        let mut table = Table {
            id,
            path: path.to_path_buf(),
            map,
            blocks,
            bloom: (bits, hashes, bloom_range.start + 5..bloom_range.end),
            entries,
            first: Vec::new(),
            last: Vec::new(),
        };
        let mut first = Vec::new();
        table.scan_from(b"", |entry, _| {
            first = entry.to_vec();
            false
        })?;
        table.first = first;
        table.last = table.blocks.last().map(|b| b.2.clone()).unwrap_or_default();
        Ok(table)
    }

    /// The table's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes on disk.
    pub fn size(&self) -> u64 {
        self.map.len() as u64
    }

    /// False if no entry of `key` can be in the table.
    pub fn may_contain_key(&self, key: &[u8]) -> bool {
        let (bits, hashes, ref range) = self.bloom;
        let filter = &self.map[range.clone()];
        bloom_positions(key, bits, hashes).all(|bit| filter[(bit / 8) as usize] & (1 << (bit % 8)) != 0)
    }

    /// Block `i`'s records, decompressed (borrowed from the mapping when stored raw): one
    /// buffer, read in place by [`Table::scan_from`] without a copy per record.
    fn block(&self, i: usize, offset: u64, len: u32) -> Result<std::borrow::Cow<'_, [u8]>> {
        let bad = |what: String| DbError::Corruption(format!("LSM table {} block {i}: {what}", self.path.display()));
        let start = offset as usize;
        let end = start
            .checked_add(len as usize)
            .filter(|e| *e <= self.map.len())
            .ok_or_else(|| bad("past the end".into()))?;
        let mut r = LeReader::new(&self.map[start..end], "LSM block");
        let stored = r.u32()? as usize;
        let crc = r.u32()?;
        let body = r.take(stored)?;
        if checksum::crc32c(body) != crc {
            return Err(bad("checksum mismatch".into()));
        }
        let mut b = LeReader::new(body, "LSM block");
        let code = b.u8()?;
        let raw_len = b.u32()? as usize;
        let payload = b.rest();
        Ok(match code {
            0 => std::borrow::Cow::Borrowed(payload),
            1 => lz4_flex::block::decompress(payload, raw_len).map_err(|e| bad(format!("lz4: {e}")))?.into(),
            2 => zstd::bulk::decompress(payload, raw_len).map_err(|e| bad(format!("zstd: {e}")))?.into(),
            other => return Err(bad(format!("unknown compression {other}"))),
        })
    }

    /// Calls `f` on every record `>= start` in order until it returns false.
    pub fn scan_from(&self, start: &[u8], mut f: impl FnMut(&[u8], bool) -> bool) -> Result<()> {
        let first = self.blocks.partition_point(|b| b.2.as_slice() < start);
        for (i, (offset, len, _)) in self.blocks.iter().enumerate().skip(first) {
            let raw = self.block(i, *offset, *len)?;
            let mut r = LeReader::new(&raw, "LSM block records");
            while r.remaining() > 0 {
                let live = r.u8()? == 1;
                let len = r.u16()? as usize;
                let entry = r.take(len)?;
                if entry >= start && !f(entry, live) {
                    return Ok(());
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_round_trip_under_every_compression_and_refuse_damage() {
        let dir = tempfile::tempdir().unwrap();
        for (n, compression) in
            [BlockCompression::None, BlockCompression::Lz4, BlockCompression::Zstd].into_iter().enumerate()
        {
            let path = dir.path().join(format!("{n}.sst"));
            let mut w = TableWriter::create(&path, 512, compression).unwrap();
            let records: Vec<Record> = (0..2000u32)
                .map(|i| {
                    let mut e = format!("key{:05}", i / 2).into_bytes();
                    e.extend_from_slice(&[0, 0, 0, (i % 2) as u8, 0, 0]);
                    (e, i % 7 != 0)
                })
                .collect();
            for (e, live) in &records {
                w.add(e, *live).unwrap();
            }
            w.finish().unwrap();
            let t = Table::open(n as u64, &path).unwrap();
            assert_eq!(t.entries, 2000);
            assert!(t.blocks.len() > 10, "{} blocks", t.blocks.len());
            let mut got = Vec::new();
            t.scan_from(b"", |e, live| {
                got.push((e.to_vec(), live));
                true
            })
            .unwrap();
            assert_eq!(got, records);
            assert!(t.may_contain_key(b"key00042"));
            let misses = (0..1000).filter(|i| t.may_contain_key(format!("nokey{i}").as_bytes())).count();
            assert!(misses < 50, "{misses} of 1000 absent keys pass the bloom filter");
            let mut from = Vec::new();
            t.scan_from(b"key00998", |e, _| {
                from.push(e.to_vec());
                true
            })
            .unwrap();
            assert_eq!(from.len(), 4);
        }
        // A flipped byte in a block is caught.
        let path = dir.path().join("1.sst");
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[20] ^= 0x40;
        std::fs::write(&path, &bytes).unwrap();
        let err = Table::open(1, &path).and_then(|t| t.scan_from(b"", |_, _| true)).unwrap_err();
        assert!(matches!(err, DbError::Corruption(_)), "{err}");
    }
}
