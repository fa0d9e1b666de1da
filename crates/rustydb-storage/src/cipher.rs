//! The page-cipher contract: a table's pages pass through a [`PageCipher`] on their way to and
//! from disk, and its write-ahead log records through the same cipher on their way into the log.
//! Storage never learns about keys — the security layer implements this trait (AES-GCM with
//! ring) and the server wires it in; every file without a cipher uses [`IdentityCipher`].
//!
//! Order of operations: on write, the page is checksummed (sealed) and then encrypted; on read,
//! it is decrypted and then its checksum verified. A cipher that needs room for a nonce or an
//! authentication tag asks for it with [`PageCipher::reserved_bytes`]: pages of files it protects
//! keep that many bytes at their end free of tuples (the page header records the number, so
//! compaction honours it too). A page never written (all zeros) is not passed to `decrypt`.
//!
//! Log records: a record that changes pages of a file whose cipher [`PageCipher::encrypts`] is
//! sealed with [`PageCipher::seal_record`] before it enters the log (see
//! [`crate::log_device`]), and opened again when recovery replays it. The full-page images
//! logged for such pages are sealed the same way, so neither a page's bytes nor a change to them
//! reach the log in the clear.
//!
//! The ciphers of all files live in one [`CipherMap`], shared by the disk manager (pages) and
//! the log device (records).

use parking_lot::RwLock;
use rustydb_foundation::{FileId, PageId, Result};
use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Encrypts and decrypts page images and log records.
pub trait PageCipher: Send + Sync + Debug {
    /// Whether this cipher changes anything (false only for [`IdentityCipher`]): log records of
    /// files whose cipher encrypts are sealed.
    fn encrypts(&self) -> bool {
        true
    }
    /// Bytes at the end of every page this cipher may use for itself (nonce, tag, key id).
    fn reserved_bytes(&self) -> usize;
    /// Encrypts a sealed page image in place, just before it is written.
    fn encrypt(&self, page: PageId, image: &mut [u8]) -> Result<()>;
    /// Decrypts a page image in place, just after it is read; a page that fails authentication
    /// is an error (corruption or tampering), never data.
    fn decrypt(&self, page: PageId, image: &mut [u8]) -> Result<()>;
    /// Appends to `out` the sealed form of a log record's `payload`, bound to `aad` (the
    /// record's file and log position, so it cannot be moved).
    fn seal_record(&self, aad: &[u8], payload: &[u8], out: &mut Vec<u8>) -> Result<()>;
    /// The payload of a record sealed by [`PageCipher::seal_record`] with the same `aad`; an
    /// error if it fails authentication.
    fn open_record(&self, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>>;
}

/// No encryption.
#[derive(Debug, Default, Clone, Copy)]
pub struct IdentityCipher;

impl PageCipher for IdentityCipher {
    fn encrypts(&self) -> bool {
        false
    }
    fn reserved_bytes(&self) -> usize {
        0
    }
    fn encrypt(&self, _page: PageId, _image: &mut [u8]) -> Result<()> {
        Ok(())
    }
    fn decrypt(&self, _page: PageId, _image: &mut [u8]) -> Result<()> {
        Ok(())
    }
    fn seal_record(&self, _aad: &[u8], payload: &[u8], out: &mut Vec<u8>) -> Result<()> {
        out.extend_from_slice(payload);
        Ok(())
    }
    fn open_record(&self, _aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>> {
        Ok(sealed.to_vec())
    }
}

/// The cipher of every file that has one (shared by the disk manager and the log device).
#[derive(Debug)]
pub struct CipherMap {
    ciphers: RwLock<HashMap<FileId, Arc<dyn PageCipher>>>,
    /// Set once any file has a cipher that encrypts: until then the log's appends skip the
    /// lookup altogether.
    any: AtomicBool,
    identity: Arc<dyn PageCipher>,
}

impl Default for CipherMap {
    fn default() -> Self {
        CipherMap { ciphers: RwLock::default(), any: AtomicBool::new(false), identity: Arc::new(IdentityCipher) }
    }
}

impl CipherMap {
    /// Protects `file` with `cipher` from now on (set before the file's first page is read or
    /// written, and before recovery replays its log records).
    pub fn set(&self, file: FileId, cipher: Arc<dyn PageCipher>) {
        if cipher.encrypts() {
            self.any.store(true, Ordering::Release);
        }
        self.ciphers.write().insert(file, cipher);
    }

    /// The cipher protecting `file` (the identity cipher if none was set).
    pub fn get(&self, file: FileId) -> Arc<dyn PageCipher> {
        if !self.any.load(Ordering::Acquire) {
            return self.identity.clone();
        }
        self.ciphers.read().get(&file).cloned().unwrap_or_else(|| self.identity.clone())
    }

    /// The cipher of `file` if it encrypts.
    pub fn encrypting(&self, file: FileId) -> Option<Arc<dyn PageCipher>> {
        if !self.any.load(Ordering::Acquire) {
            return None;
        }
        self.ciphers.read().get(&file).filter(|c| c.encrypts()).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BufferPool, HeapFile, LogDevice};
    use rustydb_foundation::{DbError, FileId, SqlState, checksum};
    use std::sync::Arc;

    const PAGE_SIZE: usize = crate::page::DEFAULT_PAGE_SIZE;

    /// A toy cipher with the shape of a real one: it transforms the page body and keeps an
    /// authentication value in its reserved tail.
    #[derive(Debug)]
    struct XorCipher(u8);

    const TAIL: usize = 8;

    impl PageCipher for XorCipher {
        fn reserved_bytes(&self) -> usize {
            TAIL
        }
        fn encrypt(&self, _page: PageId, image: &mut [u8]) -> Result<()> {
            let size = image.len();
            image[..size - TAIL].iter_mut().for_each(|b| *b ^= self.0);
            let tag = checksum::crc32c(&image[..size - TAIL]);
            image[size - TAIL..size - 4].copy_from_slice(b"XOR1");
            image[size - 4..].copy_from_slice(&tag.to_le_bytes());
            Ok(())
        }
        fn decrypt(&self, page: PageId, image: &mut [u8]) -> Result<()> {
            let size = image.len();
            let tag = checksum::crc32c(&image[..size - TAIL]);
            if image[size - 4..] != tag.to_le_bytes() {
                return Err(DbError::Corruption(format!("page {page} failed authentication")));
            }
            image[..size - TAIL].iter_mut().for_each(|b| *b ^= self.0);
            image[size - TAIL..].fill(0);
            Ok(())
        }
        fn seal_record(&self, aad: &[u8], payload: &[u8], out: &mut Vec<u8>) -> Result<()> {
            out.extend_from_slice(&checksum::crc32c_parts(&[aad, payload]).to_le_bytes());
            out.extend(payload.iter().map(|b| b ^ self.0));
            Ok(())
        }
        fn open_record(&self, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>> {
            let plain: Vec<u8> = sealed[4..].iter().map(|b| b ^ self.0).collect();
            if sealed[..4] != checksum::crc32c_parts(&[aad, &plain]).to_le_bytes() {
                return Err(DbError::Corruption("log record failed authentication".into()));
            }
            Ok(plain)
        }
    }

    fn open(dir: &std::path::Path) -> (Arc<LogDevice>, Arc<BufferPool>) {
        let (disk, log) = crate::test_support::disk_and_log(dir);
        disk.set_cipher(FileId(21), Arc::new(XorCipher(0x5A)));
        (log.clone(), Arc::new(BufferPool::new(disk, log, 8)))
    }

    #[test]
    fn pages_are_encrypted_on_disk_keep_the_tail_free_and_detect_tampering() {
        let dir = tempfile::tempdir().unwrap();
        let file = FileId(21);
        let tids: Vec<_> = {
            let (log, pool) = open(dir.path());
            let heap = HeapFile::open(pool.clone(), file).unwrap();
            let tids = (0..40)
                .map(|i| {
                    heap.insert(format!("SECRET-{i:04}-{}", "x".repeat(400)).as_bytes(), |_, _| log.append(b"i"))
                        .unwrap()
                })
                .collect();
            // A full page keeps the cipher's tail free of tuples.
            let first = pool.read(rustydb_foundation::PageId::new(file, 0)).unwrap();
            assert!(first[PAGE_SIZE - TAIL..].iter().all(|&b| b == 0));
            drop(first);
            pool.flush_all().unwrap();
            tids
        };
        let raw = std::fs::read(dir.path().join("base/21")).unwrap();
        assert!(!raw.windows(7).any(|w| w == b"SECRET-"), "plaintext reached the disk");
        assert_eq!(&raw[PAGE_SIZE - TAIL..PAGE_SIZE - 4], b"XOR1");

        let (_log, pool) = open(dir.path());
        let heap = HeapFile::open(pool, file).unwrap();
        for (i, tid) in tids.iter().enumerate() {
            assert!(heap.get(*tid).unwrap().unwrap().starts_with(format!("SECRET-{i:04}").as_bytes()));
        }

        // Nothing was logged through append_for_pages here; see the test below for records.
        let mut tampered = raw.clone();
        tampered[100] ^= 1;
        std::fs::write(dir.path().join("base/21"), tampered).unwrap();
        let (_log, pool) = open(dir.path());
        let err = pool.read(rustydb_foundation::PageId::new(file, 0)).unwrap_err();
        assert_eq!(err.sqlstate(), SqlState::DataCorrupted);
    }

    /// Appends each change as a log record of the page it changes (as the transaction layer
    /// does).
    fn logged(log: &LogDevice) -> impl FnMut(&crate::HeapChange<'_>, &[u8]) -> Result<rustydb_foundation::Lsn> + '_ {
        move |change, page| {
            let mut record = Vec::new();
            change.encode(&mut record);
            log.append_for_pages(&[(change.tid().page, page)], &record)
        }
    }

    fn wal_bytes(dir: &std::path::Path) -> Vec<u8> {
        let mut all = Vec::new();
        for entry in std::fs::read_dir(dir.join("wal")).unwrap() {
            all.extend(std::fs::read(entry.unwrap().path()).unwrap());
        }
        all
    }

    #[test]
    fn log_records_of_encrypted_files_are_sealed_and_open_on_replay() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (log, pool) = open(dir.path());
            let secret = HeapFile::open(pool.clone(), FileId(21)).unwrap();
            let plain = HeapFile::open(pool.clone(), FileId(22)).unwrap();
            secret.insert(b"SECRET-IN-THE-LOG", logged(&log)).unwrap();
            plain.insert(b"PLAIN-IN-THE-LOG", logged(&log)).unwrap();
            log.flush_all().unwrap();
        }
        let wal = wal_bytes(dir.path());
        assert!(!wal.windows(7).any(|w| w == b"SECRET-"), "an encrypted file's change reached the log in the clear");
        assert!(wal.windows(6).any(|w| w == b"PLAIN-"), "a plaintext file's change is logged as it is");

        // Replay hands back the payloads as appended.
        let (log, _pool) = open(dir.path());
        let mut payloads = Vec::new();
        log.replay(rustydb_foundation::Lsn(0), |r| {
            payloads.push(r.payload);
            Ok(())
        })
        .unwrap();
        assert_eq!(payloads.len(), 2);
        assert!(payloads[0].windows(17).any(|w| w == b"SECRET-IN-THE-LOG"));
        drop(log);

        // Without the file's cipher, replay refuses rather than handing over sealed bytes.
        let (disk, log) = crate::test_support::disk_and_log(dir.path());
        drop(disk);
        let err = log.replay(rustydb_foundation::Lsn(0), |_| Ok(())).unwrap_err();
        assert_eq!(err.sqlstate(), SqlState::DataCorrupted);
        assert!(err.to_string().contains("key is not loaded"), "{err}");
    }
}
