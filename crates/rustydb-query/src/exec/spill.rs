//! Temporary files for operators that outgrow `work_mem`: a stream of records written once,
//! then read back from the start.
//!
//! **Where**: unnamed files (`O_TMPFILE` where the kernel offers it) in the data directory's
//! `tmp/`. Nothing has a name, so nothing outlives the statement — not even a crash, which
//! PostgreSQL has to clean up after by removing `pgsql_tmp` at start-up.
//!
//! **Sealed**: a table may be encrypted at rest, and a sort of its rows must not leave them on
//! disk in the clear. Each spill has a key of its own, drawn at random and held only in memory,
//! and every block is sealed with AES-256-GCM under it: the files are unreadable once the
//! statement ends, and a flipped bit is an error, not a wrong row. (AES-NI seals at gigabytes
//! per second, a small cost beside the encoding of the rows.)
//!
//! **Layout**: records (`u32` length, then the bytes) are gathered into blocks of about
//! [`BLOCK_BYTES`]; each block is written as its sealed length (`u32`), its nonce's counter
//! (`u64`), then the ciphertext and tag. A record larger than a block gets a block of its own.
//! Nonces count up across every file of one spill, so none repeats under its key.

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use rustydb_foundation::metric_names::{TEMP_BYTES, TEMP_FILES};
use rustydb_foundation::{DbError, Result};
use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Plain bytes gathered before a block is sealed and written.
pub(crate) const BLOCK_BYTES: usize = 16 << 10;

/// The data directory's subdirectory that holds spill files (all of them unnamed).
pub(crate) const SPILL_DIR: &str = "tmp";

fn io(what: &str, e: std::io::Error) -> DbError {
    DbError::io(format!("{what} a temporary file"), e)
}

/// The key and nonce counter shared by the files of one spill (one operator's).
#[derive(Clone)]
pub(crate) struct Spill {
    dir: PathBuf,
    key: Arc<LessSafeKey>,
    nonces: Arc<AtomicU64>,
}

impl std::fmt::Debug for Spill {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spill").field("dir", &self.dir).finish_non_exhaustive()
    }
}

impl Spill {
    /// A spill under data directory `data_dir`, with a fresh random key.
    pub(crate) fn new(data_dir: &Path) -> Result<Self> {
        use ring::rand::SecureRandom;
        let mut bytes = [0u8; 32];
        ring::rand::SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| DbError::Internal("no randomness for a temporary file's key".into()))?;
        let key = UnboundKey::new(&AES_256_GCM, &bytes)
            .map_err(|_| DbError::Internal("could not make a temporary file's key".into()))?;
        Ok(Spill { dir: data_dir.join(SPILL_DIR), key: Arc::new(LessSafeKey::new(key)), nonces: Arc::default() })
    }

    /// A new, empty file to write records to.
    pub(crate) fn create(&self) -> Result<SpillWriter> {
        std::fs::create_dir_all(&self.dir).map_err(|e| io("creating the directory for", e))?;
        let file = tempfile::tempfile_in(&self.dir).map_err(|e| io("creating", e))?;
        Ok(SpillWriter {
            spill: self.clone(),
            file: BufWriter::with_capacity(BLOCK_BYTES, file),
            block: Vec::new(),
            records: 0,
            written: 0,
        })
    }

    fn nonce(counter: u64) -> Nonce {
        let mut bytes = [0u8; NONCE_LEN];
        bytes[NONCE_LEN - 8..].copy_from_slice(&counter.to_le_bytes());
        Nonce::assume_unique_for_key(bytes)
    }
}

/// Writes records to a spill file; [`SpillWriter::finish`] turns it into a reader.
pub(crate) struct SpillWriter {
    spill: Spill,
    file: BufWriter<File>,
    block: Vec<u8>,
    records: u64,
    /// Bytes written to the file.
    written: u64,
}

impl SpillWriter {
    /// Appends one record that `fill` writes into the buffer it is given.
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
        let counter = self.spill.nonces.fetch_add(1, Ordering::Relaxed);
        self.spill
            .key
            .seal_in_place_append_tag(Spill::nonce(counter), Aad::empty(), &mut self.block)
            .map_err(|_| DbError::Internal("could not seal a temporary file's block".into()))?;
        let len = u32::try_from(self.block.len())
            .map_err(|_| DbError::Internal("a temporary file's block is too large".into()))?;
        self.file.write_all(&len.to_le_bytes()).map_err(|e| io("writing", e))?;
        self.file.write_all(&counter.to_le_bytes()).map_err(|e| io("writing", e))?;
        self.file.write_all(&self.block).map_err(|e| io("writing", e))?;
        self.written += 12 + u64::from(len);
        self.block.clear();
        Ok(())
    }

    /// Ends the writing; the reader starts at the first record.
    pub(crate) fn finish(mut self) -> Result<SpillReader> {
        self.seal_block()?;
        metrics::counter!(TEMP_FILES).increment(1);
        metrics::counter!(TEMP_BYTES).increment(self.written);
        let mut file = self.file.into_inner().map_err(|e| io("writing", e.into_error()))?;
        file.seek(SeekFrom::Start(0)).map_err(|e| io("rewinding", e))?;
        Ok(SpillReader { key: self.spill.key, file, block: Vec::new(), at: 0, end: 0, remaining: self.records })
    }
}

/// Reads a spill file's records in the order they were written.
pub(crate) struct SpillReader {
    key: Arc<LessSafeKey>,
    /// Read a whole block at a time, so without a buffer of its own.
    file: File,
    /// The current block, opened: its plain bytes are `block[..end]`.
    block: Vec<u8>,
    at: usize,
    end: usize,
    remaining: u64,
}

impl SpillReader {
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
        let mut head = [0u8; 12];
        self.file.read_exact(&mut head).map_err(|e| io("reading", e))?;
        let len = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let counter = u64::from_le_bytes(head[4..].try_into().expect("eight bytes"));
        self.block.clear();
        self.block.resize(len, 0);
        self.file.read_exact(&mut self.block).map_err(|e| io("reading", e))?;
        let plain = self
            .key
            .open_in_place(Spill::nonce(counter), Aad::empty(), &mut self.block)
            .map_err(|_| DbError::Corruption("a temporary file's block failed its integrity check".into()))?;
        self.end = plain.len();
        self.at = 0;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_come_back_in_order_across_blocks_and_none_is_on_disk_in_the_clear() {
        let dir = tempfile::tempdir().unwrap();
        let spill = Spill::new(dir.path()).unwrap();
        let mut writer = spill.create().unwrap();
        let records: Vec<Vec<u8>> = (0..5000u32)
            .map(|i| format!("row {i} {}", "x".repeat((i % 97) as usize)).into_bytes())
            .chain([vec![b'z'; 3 * BLOCK_BYTES], Vec::new()])
            .collect();
        for r in &records {
            writer.write_with(|out| out.extend_from_slice(r)).unwrap();
        }
        assert_eq!(writer.records(), records.len() as u64);
        // The file is unnamed: the directory lists nothing.
        assert_eq!(std::fs::read_dir(dir.path().join(SPILL_DIR)).unwrap().count(), 0);
        let mut reader = writer.finish().unwrap();
        let mut back = Vec::new();
        while let Some(r) = reader.next().unwrap() {
            back.push(r.to_vec());
        }
        assert_eq!(back, records);
        assert!(reader.next().unwrap().is_none());
    }

    #[test]
    fn a_damaged_block_is_an_error_not_a_wrong_record() {
        let dir = tempfile::tempdir().unwrap();
        let spill = Spill::new(dir.path()).unwrap();
        let mut writer = spill.create().unwrap();
        writer.write_with(|out| out.extend_from_slice(b"secret row")).unwrap();
        let mut reader = writer.finish().unwrap();
        // Flip a byte of the ciphertext under the reader.
        {
            use std::os::unix::fs::FileExt;
            let file = &reader.file;
            let mut sealed = [0u8; 32];
            let n = file.read_at(&mut sealed, 0).unwrap();
            assert!(n > 12 && !sealed.windows(6).any(|w| w == b"secret"), "sealed on disk");
            file.write_at(&[sealed[14] ^ 1], 14).unwrap();
        }
        assert!(matches!(reader.next(), Err(DbError::Corruption(_))));
    }
}
