//! The page-cipher contract: a table's pages pass through a [`PageCipher`] on their way to and
//! from disk. Storage never learns about keys — the security layer implements this trait (AES-GCM
//! with ring) and the server wires it in; until then every file uses [`IdentityCipher`].
//!
//! Order of operations: on write, the page is checksummed (sealed) and then encrypted; on read,
//! it is decrypted and then its checksum verified. A cipher that needs room for a nonce or an
//! authentication tag asks for it with [`PageCipher::reserved_bytes`]: pages of files it protects
//! keep that many bytes at their end free of tuples (the page header records the number, so
//! compaction honours it too). A page never written (all zeros) is not passed to `decrypt`.

use rustydb_foundation::{PageId, Result};
use std::fmt::Debug;

/// Encrypts and decrypts page images.
pub trait PageCipher: Send + Sync + Debug {
    /// Bytes at the end of every page this cipher may use for itself (nonce, tag, key id).
    fn reserved_bytes(&self) -> usize;
    /// Encrypts a sealed page image in place, just before it is written.
    fn encrypt(&self, page: PageId, image: &mut [u8]) -> Result<()>;
    /// Decrypts a page image in place, just after it is read; a page that fails authentication
    /// is an error (corruption or tampering), never data.
    fn decrypt(&self, page: PageId, image: &mut [u8]) -> Result<()>;
}

/// No encryption.
#[derive(Debug, Default, Clone, Copy)]
pub struct IdentityCipher;

impl PageCipher for IdentityCipher {
    fn reserved_bytes(&self) -> usize {
        0
    }
    fn encrypt(&self, _page: PageId, _image: &mut [u8]) -> Result<()> {
        Ok(())
    }
    fn decrypt(&self, _page: PageId, _image: &mut [u8]) -> Result<()> {
        Ok(())
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

        let mut tampered = raw.clone();
        tampered[100] ^= 1;
        std::fs::write(dir.path().join("base/21"), tampered).unwrap();
        let (_log, pool) = open(dir.path());
        let err = pool.read(rustydb_foundation::PageId::new(file, 0)).unwrap_err();
        assert_eq!(err.sqlstate(), SqlState::DataCorrupted);
    }
}
