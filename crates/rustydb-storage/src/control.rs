//! The control file, `<data-dir>/rustydb.control`: what a data directory was created with and
//! can never change afterwards (the page size above all), in the spirit of PostgreSQL's
//! `pg_control`.
//!
//! It is written once, before anything else of a new directory, and read first at every open:
//! a directory whose data or log exist without a control file is refused rather than guessed at.
//! It also records the last completed checkpoint: where recovery starts. The file is one
//! 512-byte sector, written in place and fsynced (a single-sector write is atomic on the devices
//! we target, and the CRCs catch one that was not):
//!
//! | bytes | field |
//! |---|---|
//! | 0..8 | magic `RUSTYDB\0` |
//! | 8..12 | format version (u32, currently 1) |
//! | 12..16 | page size in bytes (u32) |
//! | 16..24 | system identifier (u64): tells two clusters apart (replication, backups) |
//! | 24..32 | creation time, seconds since the Unix epoch (u64) |
//! | 32..36 | CRC-32C of bytes 0..32 |
//! | 36..64 | zero |
//! | 64..72 | last checkpoint: redo LSN, where replay of page changes starts (u64) |
//! | 72..80 | last checkpoint: where the log is kept from (at most the redo LSN; LSM trees may need older records) (u64) |
//! | 80..88 | last checkpoint: the first transaction id not handed out when it began (u64) |
//! | 88..96 | last checkpoint: when it completed, seconds since the Unix epoch (u64) |
//! | 96..100 | CRC-32C of bytes 64..96; the block is all zero before the first checkpoint |
//! | 100..512 | zero, room for later fields |

use crate::io::Vfs;
use crate::page::check_page_size;
use rustydb_foundation::{DbError, Lsn, Result, checksum};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

/// The control file's name within the data directory.
pub const CONTROL_FILE: &str = "rustydb.control";
const MAGIC: &[u8; 8] = b"RUSTYDB\0";
const FORMAT_VERSION: u32 = 1;
const SIZE: usize = 512;
const CRC_AT: usize = 32;
const CHECKPOINT_AT: usize = 64;
const CHECKPOINT_CRC_AT: usize = 96;

/// The last completed checkpoint, as the control file records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckpointInfo {
    /// Replay of page changes starts here: every change logged before it is in the data files.
    pub redo: Lsn,
    /// The log is kept (and read at recovery) from here: at most `redo`, earlier while an LSM
    /// tree's memtable holds changes only the log has.
    pub log_from: Lsn,
    /// The first transaction id not handed out when the checkpoint began.
    pub next_xid: u64,
    /// When it completed (seconds since the Unix epoch).
    pub completed_at: u64,
}

/// What a data directory was created with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ControlFile {
    /// The page size of every data file.
    pub page_size: usize,
    /// Identifies this cluster among others.
    pub system_id: u64,
    /// When the directory was created (seconds since the Unix epoch).
    pub created_at: u64,
    /// The last completed checkpoint, if any.
    pub checkpoint: Option<CheckpointInfo>,
}

impl ControlFile {
    /// Reads the control file of `dir`, or creates it for a new directory with `page_size`.
    /// Returns the control data and whether it was just created. `occupied` says whether the
    /// directory already holds data or log files (then a missing control file is an error).
    pub fn open_or_create(vfs: &dyn Vfs, dir: &Path, page_size: usize, occupied: bool) -> Result<(Self, bool)> {
        let path = dir.join(CONTROL_FILE);
        let io = |what: &str, e| DbError::io(format!("{what} {}", path.display()), e);
        if let Some(file) = vfs.open_existing(&path).map_err(|e| io("opening", e))? {
            let mut bytes = [0u8; SIZE];
            let n = file.read_full_at(&mut bytes, 0).map_err(|e| io("reading", e))?;
            // A crash while a new directory was being created leaves an empty control file and
            // nothing else: creation simply starts over.
            let blank = bytes[..n].iter().all(|&b| b == 0);
            if !blank || occupied {
                return Self::decode(&bytes[..n]).map(|c| (c, false)).map_err(|e| match e {
                    DbError::Corruption(m) => DbError::Corruption(format!("{}: {m}", path.display())),
                    other => other,
                });
            }
        } else if occupied {
            return Err(DbError::Corruption(format!(
                "{} holds data but no control file ({CONTROL_FILE}); it is not a RustyDB data directory or it is damaged",
                dir.display()
            )));
        }
        check_page_size(page_size)?;
        let created_at = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let control = ControlFile { page_size, system_id: new_system_id(), created_at, checkpoint: None };
        let file = vfs.open(&path).map_err(|e| io("creating", e))?;
        file.write_all_at(&control.encode(), 0).map_err(|e| io("writing", e))?;
        file.sync_data().map_err(|e| io("syncing", e))?;
        vfs.sync_dir(dir).map_err(|e| DbError::io(format!("syncing {}", dir.display()), e))?;
        Ok((control, true))
    }

    /// Records `checkpoint` as the last completed one: rewrites the file in `dir` and fsyncs it.
    pub fn write_checkpoint(&mut self, vfs: &dyn Vfs, dir: &Path, checkpoint: CheckpointInfo) -> Result<()> {
        let path = dir.join(CONTROL_FILE);
        let io = |what: &str, e| DbError::io(format!("{what} {}", path.display()), e);
        let mut next = *self;
        next.checkpoint = Some(checkpoint);
        let file = vfs.open(&path).map_err(|e| io("opening", e))?;
        file.write_all_at(&next.encode(), 0).map_err(|e| io("writing", e))?;
        file.sync_data().map_err(|e| io("syncing", e))?;
        *self = next;
        Ok(())
    }

    fn encode(&self) -> [u8; SIZE] {
        let mut out = [0u8; SIZE];
        out[..8].copy_from_slice(MAGIC);
        out[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
        out[12..16].copy_from_slice(&(self.page_size as u32).to_le_bytes());
        out[16..24].copy_from_slice(&self.system_id.to_le_bytes());
        out[24..32].copy_from_slice(&self.created_at.to_le_bytes());
        let crc = checksum::crc32c(&out[..CRC_AT]);
        out[CRC_AT..CRC_AT + 4].copy_from_slice(&crc.to_le_bytes());
        if let Some(c) = self.checkpoint {
            let fields = [c.redo.0, c.log_from.0, c.next_xid, c.completed_at];
            for (i, v) in fields.iter().enumerate() {
                out[CHECKPOINT_AT + 8 * i..CHECKPOINT_AT + 8 * i + 8].copy_from_slice(&v.to_le_bytes());
            }
            let crc = checksum::crc32c(&out[CHECKPOINT_AT..CHECKPOINT_CRC_AT]);
            out[CHECKPOINT_CRC_AT..CHECKPOINT_CRC_AT + 4].copy_from_slice(&crc.to_le_bytes());
        }
        out
    }

    fn decode(bytes: &[u8]) -> Result<Self> {
        if bytes.len() < CRC_AT + 4 {
            return Err(DbError::Corruption(format!("control file is truncated ({} bytes)", bytes.len())));
        }
        if &bytes[..8] != MAGIC {
            return Err(DbError::Corruption("not a RustyDB control file (bad magic)".into()));
        }
        let u32_at = |at: usize| u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
        let u64_at = |at: usize| (u64::from(u32_at(at + 4)) << 32) | u64::from(u32_at(at));
        if checksum::crc32c(&bytes[..CRC_AT]) != u32_at(CRC_AT) {
            return Err(DbError::Corruption("control file checksum mismatch".into()));
        }
        let version = u32_at(8);
        if version != FORMAT_VERSION {
            return Err(DbError::Corruption(format!(
                "control file format {version} is not supported by this server (it reads format {FORMAT_VERSION})"
            )));
        }
        let page_size = u32_at(12) as usize;
        check_page_size(page_size)
            .map_err(|_| DbError::Corruption(format!("control file names page size {page_size}")))?;
        let checkpoint = if bytes.len() < CHECKPOINT_CRC_AT + 4
            || bytes[CHECKPOINT_AT..CHECKPOINT_CRC_AT + 4].iter().all(|b| *b == 0)
        {
            None
        } else if checksum::crc32c(&bytes[CHECKPOINT_AT..CHECKPOINT_CRC_AT]) != u32_at(CHECKPOINT_CRC_AT) {
            return Err(DbError::Corruption("control file checkpoint record checksum mismatch".into()));
        } else {
            Some(CheckpointInfo {
                redo: Lsn(u64_at(CHECKPOINT_AT)),
                log_from: Lsn(u64_at(CHECKPOINT_AT + 8)),
                next_xid: u64_at(CHECKPOINT_AT + 16),
                completed_at: u64_at(CHECKPOINT_AT + 24),
            })
        };
        Ok(ControlFile { page_size, system_id: u64_at(16), created_at: u64_at(24), checkpoint })
    }
}

/// A cluster identifier unlikely to repeat: the creation time in nanoseconds mixed with the
/// process id.
fn new_system_id() -> u64 {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0);
    nanos ^ (u64::from(std::process::id()) << 40)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PosixVfs;

    #[test]
    fn created_once_then_read_back_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let (first, created) = ControlFile::open_or_create(&PosixVfs, dir.path(), 16384, false).unwrap();
        assert!(created);
        assert_eq!(first.page_size, 16384);
        let (again, created) = ControlFile::open_or_create(&PosixVfs, dir.path(), 4096, true).unwrap();
        assert!(!created, "an existing directory keeps what it was created with");
        assert_eq!(again, first);
    }

    #[test]
    fn a_checkpoint_is_recorded_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let (mut control, _) = ControlFile::open_or_create(&PosixVfs, dir.path(), 8192, false).unwrap();
        assert_eq!(control.checkpoint, None);
        let checkpoint = CheckpointInfo { redo: Lsn(4096), log_from: Lsn(100), next_xid: 77, completed_at: 5 };
        control.write_checkpoint(&PosixVfs, dir.path(), checkpoint).unwrap();
        let (again, _) = ControlFile::open_or_create(&PosixVfs, dir.path(), 8192, true).unwrap();
        assert_eq!(again.checkpoint, Some(checkpoint));
        assert_eq!(again, control);
        let path = dir.path().join(CONTROL_FILE);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[70] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        let err = ControlFile::open_or_create(&PosixVfs, dir.path(), 8192, true).unwrap_err();
        assert!(err.to_string().contains("checkpoint record checksum"), "{err}");
    }

    #[test]
    fn damage_and_absence_are_refused_not_guessed() {
        let dir = tempfile::tempdir().unwrap();
        let err = ControlFile::open_or_create(&PosixVfs, dir.path(), 4096, true).unwrap_err();
        assert!(err.to_string().contains("no control file"), "{err}");

        ControlFile::open_or_create(&PosixVfs, dir.path(), 8192, false).unwrap();
        let path = dir.path().join(CONTROL_FILE);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[13] ^= 0x01;
        std::fs::write(&path, &bytes).unwrap();
        let err = ControlFile::open_or_create(&PosixVfs, dir.path(), 8192, true).unwrap_err();
        assert!(err.to_string().contains("checksum"), "{err}");

        std::fs::write(&path, b"something else entirely, not ours at all").unwrap();
        let err = ControlFile::open_or_create(&PosixVfs, dir.path(), 8192, true).unwrap_err();
        assert!(err.to_string().contains("magic"), "{err}");
    }

    #[test]
    fn an_empty_control_file_of_an_empty_directory_is_a_creation_to_redo() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(CONTROL_FILE), b"").unwrap();
        let (control, created) = ControlFile::open_or_create(&PosixVfs, dir.path(), 4096, false).unwrap();
        assert!(created);
        assert_eq!(control.page_size, 4096);
    }

    #[test]
    fn an_invalid_page_size_is_refused_at_creation() {
        let dir = tempfile::tempdir().unwrap();
        assert!(ControlFile::open_or_create(&PosixVfs, dir.path(), 3000, false).is_err());
        assert!(!dir.path().join(CONTROL_FILE).exists());
    }
}
