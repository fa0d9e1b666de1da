//! Temporary storage for operators that outgrow `work_mem`: streams of records ("runs"), each
//! written once and then read back from its start, all in one file per operator.
//!
//! **One file, unnamed**: every run of an operator lives in the same file (`O_TMPFILE` where
//! the kernel offers it) in the data directory's `tmp/`, at offsets the run remembers, so a
//! sort of any size holds one file descriptor, and nothing has a name: nothing outlives the
//! statement — not even a crash, which PostgreSQL has to clean up after by removing
//! `pgsql_tmp` at start-up.
//!
//! **Sealed**: a table may be encrypted at rest, and a sort of its rows must not leave them on
//! disk in the clear. Each spill has a key of its own, drawn at random and held only in memory,
//! and every block is sealed with AES-256-GCM under it, with its offset in the file as the
//! associated data: the file is unreadable once the statement ends, and a flipped bit or a
//! block read from the wrong place is an error, not a wrong row. (AES-NI seals at gigabytes per
//! second, a small cost beside the encoding of the rows.)
//!
//! **Layout**: records (`u32` length, then the bytes) are gathered into blocks of about
//! [`BLOCK_BYTES`]; a record larger than that gets a block of its own. The file holds only the
//! sealed blocks; where each one starts, its length and its nonce stay in memory with its run,
//! so nothing read back from the disk decides how much to read. Nonces count up across the
//! spill, so none repeats under its key.

use super::Row;
use crate::context::ExecContext;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use rustydb_foundation::metric_names::{TEMP_BYTES, TEMP_FILES};
use rustydb_foundation::row::{decode_row, encode_row};
use rustydb_foundation::{DbError, Result, Value};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Plain bytes gathered before a block is sealed and written.
pub(crate) const BLOCK_BYTES: usize = 16 << 10;

/// The data directory's subdirectory that holds spill files (all of them unnamed).
pub(crate) const SPILL_DIR: &str = "tmp";

fn io(what: &str, e: std::io::Error) -> DbError {
    DbError::io(format!("{what} a temporary file"), e)
}

/// One operator's temporary file, its key, and the counters that place and seal its blocks.
/// Cloning shares them (writers and readers of its runs hold a clone).
#[derive(Clone)]
pub(crate) struct Spill {
    inner: Arc<Shared>,
}

struct Shared {
    file: File,
    key: LessSafeKey,
    /// Where the next block goes.
    end: AtomicU64,
    /// The next nonce's counter.
    nonces: AtomicU64,
}

impl std::fmt::Debug for Spill {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spill").field("bytes", &self.inner.end.load(Ordering::Relaxed)).finish_non_exhaustive()
    }
}

impl Spill {
    /// A new temporary file under data directory `data_dir`, with a fresh random key.
    pub(crate) fn new(data_dir: &Path) -> Result<Self> {
        use ring::rand::SecureRandom;
        let mut bytes = [0u8; 32];
        ring::rand::SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| DbError::Internal("no randomness for a temporary file's key".into()))?;
        let key = UnboundKey::new(&AES_256_GCM, &bytes)
            .map_err(|_| DbError::Internal("could not make a temporary file's key".into()))?;
        let dir = data_dir.join(SPILL_DIR);
        std::fs::create_dir_all(&dir).map_err(|e| io("creating the directory for", e))?;
        let file = tempfile::tempfile_in(&dir).map_err(|e| io("creating", e))?;
        metrics::counter!(TEMP_FILES).increment(1);
        let shared = Shared { file, key: LessSafeKey::new(key), end: AtomicU64::new(0), nonces: AtomicU64::new(0) };
        Ok(Spill { inner: Arc::new(shared) })
    }

    /// The operator's spill file in `slot`, created (in the statement's data directory) the
    /// first time one is needed.
    pub(crate) fn get_or_create(slot: &mut Option<Spill>, ctx: &ExecContext<'_>) -> Result<Spill> {
        if let Some(spill) = slot {
            return Ok(spill.clone());
        }
        let spill = Spill::new(ctx.engine.txn_manager().storage().dir())?;
        Ok(slot.insert(spill).clone())
    }

    /// Bytes written to the file so far.
    pub(crate) fn bytes(&self) -> u64 {
        self.inner.end.load(Ordering::Relaxed)
    }

    /// A new, empty run to write records to.
    pub(crate) fn create(&self) -> SpillWriter {
        SpillWriter { spill: self.clone(), block: Vec::new(), blocks: Vec::new(), records: 0 }
    }

    fn nonce(counter: u64) -> Nonce {
        let mut bytes = [0u8; NONCE_LEN];
        bytes[NONCE_LEN - 8..].copy_from_slice(&counter.to_le_bytes());
        Nonce::assume_unique_for_key(bytes)
    }
}

/// Where one sealed block of a run lies, and its nonce's counter.
#[derive(Debug, Clone, Copy)]
struct Block {
    offset: u64,
    len: usize,
    counter: u64,
}

/// Writes the records of one run; [`SpillWriter::finish`] turns it into a reader.
pub(crate) struct SpillWriter {
    spill: Spill,
    block: Vec<u8>,
    blocks: Vec<Block>,
    records: u64,
}

impl SpillWriter {
    /// Appends one record, which `fill` writes into the buffer it is given.
    pub(crate) fn write_with(&mut self, fill: impl FnOnce(&mut Vec<u8>)) -> Result<()> {
        let at = self.block.len();
        self.block.extend_from_slice(&[0; 4]);
        fill(&mut self.block);
        let len = self.block.len() - at - 4;
        let Ok(len) = u32::try_from(len) else {
            self.block.truncate(at);
            return Err(DbError::Internal(format!("a record of {len} bytes is too large to spill")));
        };
        self.block[at..at + 4].copy_from_slice(&len.to_le_bytes());
        self.records += 1;
        if self.block.len() >= BLOCK_BYTES {
            self.seal_block()?;
        }
        Ok(())
    }

    /// Records written so far.
    pub(crate) fn records(&self) -> u64 {
        self.records
    }

    fn seal_block(&mut self) -> Result<()> {
        if self.block.is_empty() {
            return Ok(());
        }
        let shared = &self.spill.inner;
        // One thread writes a spill at a time (its statement's); the atomics only make the
        // file's readers sendable, so a result spooled here can be sent from the wire layer.
        let counter = shared.nonces.fetch_add(1, Ordering::Relaxed);
        let offset = shared.end.load(Ordering::Relaxed);
        shared
            .key
            .seal_in_place_append_tag(Spill::nonce(counter), Aad::from(offset.to_le_bytes()), &mut self.block)
            .map_err(|_| DbError::Internal("could not seal a temporary file's block".into()))?;
        shared.file.write_all_at(&self.block, offset).map_err(|e| io("writing", e))?;
        let len = self.block.len();
        shared.end.store(offset + len as u64, Ordering::Relaxed);
        metrics::counter!(TEMP_BYTES).increment(len as u64);
        self.blocks.push(Block { offset, len, counter });
        self.block.clear();
        Ok(())
    }

    /// Ends the run; the reader starts at its first record.
    pub(crate) fn finish(mut self) -> Result<SpillReader> {
        self.seal_block()?;
        Ok(SpillReader {
            spill: self.spill,
            blocks: self.blocks,
            next_block: 0,
            block: Vec::new(),
            at: 0,
            end: 0,
            remaining: self.records,
            records: self.records,
        })
    }
}

/// Reads a run's records in the order they were written.
pub(crate) struct SpillReader {
    spill: Spill,
    blocks: Vec<Block>,
    /// The block to open next.
    next_block: usize,
    /// The current block, opened: its plain bytes are `block[..end]`.
    block: Vec<u8>,
    at: usize,
    end: usize,
    remaining: u64,
    /// Records in the run.
    records: u64,
}

impl SpillReader {
    /// Goes back to the run's first record (a nested loop reads its inner side once per block
    /// of outer rows).
    pub(crate) fn rewind(&mut self) {
        self.next_block = 0;
        self.at = 0;
        self.end = 0;
        self.remaining = self.records;
    }

    /// The file the run is in.
    pub(crate) fn spill(&self) -> Spill {
        self.spill.clone()
    }

    /// Records not yet read.
    pub(crate) fn remaining(&self) -> u64 {
        self.remaining
    }

    /// The next record, or `None` after the last.
    pub(crate) fn next(&mut self) -> Result<Option<&[u8]>> {
        if self.remaining == 0 {
            return Ok(None);
        }
        if self.at >= self.end {
            self.load_block()?;
        }
        let damaged = || DbError::Corruption("a temporary file's block holds a truncated record".into());
        let head = self.block.get(self.at..self.at + 4).ok_or_else(damaged)?;
        let len = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let start = self.at + 4;
        if start + len > self.end {
            return Err(damaged());
        }
        self.at = start + len;
        self.remaining -= 1;
        Ok(Some(&self.block[start..start + len]))
    }

    fn load_block(&mut self) -> Result<()> {
        let Some(&block) = self.blocks.get(self.next_block) else {
            return Err(DbError::Corruption("a temporary file's run ended before its last record".into()));
        };
        self.next_block += 1;
        let shared = &self.spill.inner;
        self.block.clear();
        self.block.resize(block.len, 0);
        shared.file.read_exact_at(&mut self.block, block.offset).map_err(|e| io("reading", e))?;
        let plain = shared
            .key
            .open_in_place(Spill::nonce(block.counter), Aad::from(block.offset.to_le_bytes()), &mut self.block)
            .map_err(|_| DbError::Corruption("a temporary file's block failed its integrity check".into()))?;
        self.end = plain.len();
        self.at = 0;
        Ok(())
    }
}

/// Writes one (key, row) pair as a record: the key's encoding, its length first, then the row's.
pub(crate) fn write_pair(writer: &mut SpillWriter, key: &[Value], row: &[Value]) -> Result<()> {
    if key.len().max(row.len()) > usize::from(u16::MAX) {
        return Err(DbError::Internal(format!("a row of {} columns is too wide to spill to disk", row.len())));
    }
    writer.write_with(|out| {
        let at = out.len();
        out.extend_from_slice(&[0; 4]);
        encode_row(key, out);
        let key_len = (out.len() - at - 4) as u32;
        out[at..at + 4].copy_from_slice(&key_len.to_le_bytes());
        encode_row(row, out);
    })
}

/// Reads a pair [`write_pair`] wrote.
pub(crate) fn read_pair(record: &[u8]) -> Result<(Row, Row)> {
    let damaged = || DbError::Corruption("a temporary file holds a damaged row".into());
    let head = record.get(..4).ok_or_else(damaged)?;
    let key_len = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize;
    let key = record.get(4..4 + key_len).ok_or_else(damaged)?;
    let row = &record[4 + key_len..];
    Ok((decode_row(key, 0)?, decode_row(row, 0)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_come_back_in_order_from_one_unnamed_file() {
        let dir = tempfile::tempdir().unwrap();
        let spill = Spill::new(dir.path()).unwrap();
        let records: Vec<Vec<u8>> = (0..5000u32)
            .map(|i| format!("row {i} {}", "x".repeat((i % 97) as usize)).into_bytes())
            .chain([vec![b'z'; 3 * BLOCK_BYTES], Vec::new()])
            .collect();
        // Two runs written block by block in turn: each still reads back as written.
        let (mut a, mut b) = (spill.create(), spill.create());
        for r in &records {
            a.write_with(|out| out.extend_from_slice(r)).unwrap();
            b.write_with(|out| out.extend_from_slice(&r[..r.len() / 2])).unwrap();
        }
        assert_eq!(a.records(), records.len() as u64);
        // The file is unnamed: the directory lists nothing.
        assert_eq!(std::fs::read_dir(dir.path().join(SPILL_DIR)).unwrap().count(), 0);
        let (mut a, mut b) = (a.finish().unwrap(), b.finish().unwrap());
        for r in &records {
            assert_eq!(a.next().unwrap().unwrap(), &r[..]);
            assert_eq!(b.next().unwrap().unwrap(), &r[..r.len() / 2]);
        }
        assert!(a.next().unwrap().is_none());
        assert!(b.next().unwrap().is_none());
    }

    #[test]
    fn a_damaged_or_misplaced_block_is_an_error_not_a_wrong_record() {
        let dir = tempfile::tempdir().unwrap();
        let spill = Spill::new(dir.path()).unwrap();
        let mut writer = spill.create();
        writer.write_with(|out| out.extend_from_slice(b"secret row")).unwrap();
        let mut reader = writer.finish().unwrap();
        let file = &spill.inner.file;
        let mut sealed = vec![0u8; 64];
        let n = file.read_at(&mut sealed, 0).unwrap();
        assert!(n > 10 && !sealed[..n].windows(6).any(|w| w == b"secret"), "sealed on disk");
        // Flip a byte of the ciphertext under the reader.
        file.write_at(&[sealed[2] ^ 1], 2).unwrap();
        assert!(matches!(reader.next(), Err(DbError::Corruption(_))));
        // A block copied to another place does not open there.
        let mut second = spill.create();
        second.write_with(|out| out.extend_from_slice(b"other row!")).unwrap();
        let mut moved = second.finish().unwrap();
        let at = moved.blocks.as_slice()[0].offset;
        file.write_all_at(&sealed[..n], at).unwrap();
        assert!(matches!(moved.next(), Err(DbError::Corruption(_))));
    }
}
