//! Encryption at rest, the page half: AES-256-GCM (ring) behind storage's [`PageCipher`]
//! contract, data keys wrapped by a master key.
//!
//! ## Keys
//! - The **master key** (32 bytes, given as 64 hex digits in a key file or the environment)
//!   never reaches the disk. It only wraps data keys.
//! - Each encrypted table gets a **data key**: 32 random bytes, stored wrapped —
//!   `id ‖ nonce ‖ AES-256-GCM(master, data key, AAD = "rustydb data key" ‖ id)`, as hex.
//!   Rotating the master key re-wraps the data keys; the pages stay as they are.
//!
//! ## Log records
//! A record changing an encrypted table's pages is sealed by the same cipher:
//! `key id (u32) ‖ nonce (12) ‖ AES-256-GCM(payload) ‖ tag (16)`, with the AAD
//! `"rustydb log record" ‖ file id ‖ record start position` (storage's binding), so the log holds
//! neither the table's rows nor its pages' images in the clear, and a record moved within the
//! log fails to open. Nonces are random, as for pages.
//!
//! ## Pages
//! The cipher reserves the last [`TAIL`] bytes of every page of a file it protects:
//!
//! | bytes from the tail's start | field |
//! |---|---|
//! | 0..12 | nonce |
//! | 12..28 | GCM tag |
//! | 28..32 | data key id (u32 LE) |
//!
//! Everything before the tail (header, slots, tuples, the page checksum storage sealed first)
//! is encrypted in place. The AAD is the page's identity (file id and page number, LE), so a
//! page copied over another fails authentication, as does any flipped bit.
//!
//! **Nonces** are 96 random bits from the system's CSPRNG for every write. A page is rewritten
//! many times, not always with a new LSN, so a nonce derived from the page's identity or LSN
//! could repeat under one key, which breaks GCM; random nonces repeat with probability about
//! n²/2⁹⁷ after n writes, so a data key should be rotated before 2³² page writes (NIST's bound).
//! The key id in the tail lets pages written under an older data key stay readable while a
//! rotation rewrites them.

use parking_lot::RwLock;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, Tag, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use rustydb_foundation::{DbError, PageId, Result, SqlState};
use rustydb_storage::PageCipher;
use std::collections::HashMap;
use std::path::Path;

/// Bytes the cipher keeps at the end of every page: nonce, tag, key id.
pub const TAIL: usize = NONCE_LEN + TAG_LEN + 4;

const TAG_LEN: usize = 16;
const KEY_LEN: usize = 32;
const WRAP_AAD: &[u8] = b"rustydb data key";

fn random(bytes: &mut [u8]) -> Result<()> {
    SystemRandom::new().fill(bytes).map_err(|_| DbError::Internal("the system's random source failed".into()))
}

fn gcm_key(bytes: &[u8; KEY_LEN]) -> Result<LessSafeKey> {
    UnboundKey::new(&AES_256_GCM, bytes)
        .map(LessSafeKey::new)
        .map_err(|_| DbError::Internal("an AES-256 key of the wrong length".into()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    let text = text.trim();
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok()).collect()
}

/// The master key: wraps data keys, never stored.
pub struct MasterKey([u8; KEY_LEN]);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(<secret>)")
    }
}

impl MasterKey {
    /// From 64 hex digits (22023 otherwise).
    pub fn from_hex(text: &str) -> Result<Self> {
        let bytes = unhex(text).filter(|b| b.len() == KEY_LEN).ok_or_else(|| {
            DbError::sql(SqlState::InvalidParameterValue, "a master key must be 64 hexadecimal digits (32 bytes)")
        })?;
        let mut key = [0u8; KEY_LEN];
        key.copy_from_slice(&bytes);
        Ok(MasterKey(key))
    }

    /// From a key file holding the hex digits.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| DbError::io(format!("reading the master key file {}", path.display()), e))?;
        Self::from_hex(&text)
    }

    /// A new random key, as hex (for `rustydb init` and tests).
    pub fn generate_hex() -> Result<String> {
        let mut key = [0u8; KEY_LEN];
        random(&mut key)?;
        Ok(hex(&key))
    }
}

/// A data key: encrypts one table's pages.
pub struct DataKey {
    /// Its id (stored in each page it encrypted).
    pub id: u32,
    bytes: [u8; KEY_LEN],
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataKey").field("id", &self.id).finish_non_exhaustive()
    }
}

impl DataKey {
    /// A new random key with id `id`.
    pub fn generate(id: u32) -> Result<Self> {
        let mut bytes = [0u8; KEY_LEN];
        random(&mut bytes)?;
        Ok(DataKey { id, bytes })
    }

    fn aad(id: u32) -> Vec<u8> {
        let mut aad = WRAP_AAD.to_vec();
        aad.extend_from_slice(&id.to_le_bytes());
        aad
    }

    /// The key wrapped by `master`, as hex: what is stored.
    pub fn wrap(&self, master: &MasterKey) -> Result<String> {
        let mut nonce = [0u8; NONCE_LEN];
        random(&mut nonce)?;
        let mut sealed = self.bytes.to_vec();
        gcm_key(&master.0)?
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(Self::aad(self.id)), &mut sealed)
            .map_err(|_| DbError::Internal("wrapping a data key failed".into()))?;
        let mut out = self.id.to_le_bytes().to_vec();
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(hex(&out))
    }

    /// A stored key opened with `master`; an error if it was wrapped by another master key or
    /// changed since.
    pub fn unwrap(master: &MasterKey, wrapped: &str) -> Result<Self> {
        let bad = || DbError::sql(SqlState::InvalidParameterValue, "the master key does not open this data key");
        let bytes = unhex(wrapped).filter(|b| b.len() == 4 + NONCE_LEN + KEY_LEN + TAG_LEN).ok_or_else(bad)?;
        let id = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&bytes[4..4 + NONCE_LEN]);
        let mut sealed = bytes[4 + NONCE_LEN..].to_vec();
        let opened = gcm_key(&master.0)?
            .open_in_place(Nonce::assume_unique_for_key(nonce), Aad::from(Self::aad(id)), &mut sealed)
            .map_err(|_| bad())?;
        let mut key = [0u8; KEY_LEN];
        key.copy_from_slice(opened);
        Ok(DataKey { id, bytes: key })
    }
}

/// AES-256-GCM page encryption for the files of one table.
pub struct GcmPageCipher {
    /// The key new writes use.
    current: RwLock<u32>,
    /// Every key a page of these files may have been written with.
    keys: RwLock<HashMap<u32, LessSafeKey>>,
}

impl std::fmt::Debug for GcmPageCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GcmPageCipher").field("current", &*self.current.read()).finish_non_exhaustive()
    }
}

impl GcmPageCipher {
    /// A cipher writing with `current`, reading pages of any of `older` too.
    pub fn new(current: &DataKey, older: &[&DataKey]) -> Result<Self> {
        let mut keys = HashMap::new();
        for k in older.iter().copied().chain(std::iter::once(current)) {
            keys.insert(k.id, gcm_key(&k.bytes)?);
        }
        Ok(GcmPageCipher { current: RwLock::new(current.id), keys: RwLock::new(keys) })
    }

    /// Forgets keys `ids` (never the current one): pages or records still written with them
    /// no longer open.
    pub fn retire(&self, ids: &[u32]) {
        let current = *self.current.read();
        self.keys.write().retain(|id, _| *id == current || !ids.contains(id));
    }

    /// Rotation: pages written from now on use `key`; the older keys still read older pages.
    pub fn rotate(&self, key: &DataKey) -> Result<()> {
        self.keys.write().insert(key.id, gcm_key(&key.bytes)?);
        *self.current.write() = key.id;
        Ok(())
    }

    fn aad(page: PageId) -> [u8; 8] {
        let mut aad = [0u8; 8];
        aad[..4].copy_from_slice(&page.file.0.to_le_bytes());
        aad[4..].copy_from_slice(&page.number.to_le_bytes());
        aad
    }
}

impl PageCipher for GcmPageCipher {
    fn reserved_bytes(&self) -> usize {
        TAIL
    }

    fn encrypt(&self, page: PageId, image: &mut [u8]) -> Result<()> {
        let body =
            image.len().checked_sub(TAIL).ok_or_else(|| DbError::Internal("a page shorter than its tail".into()))?;
        let id = *self.current.read();
        let keys = self.keys.read();
        let key = keys.get(&id).ok_or_else(|| DbError::Internal(format!("data key {id} is not loaded")))?;
        let mut nonce = [0u8; NONCE_LEN];
        random(&mut nonce)?;
        let (data, tail) = image.split_at_mut(body);
        let tag = key
            .seal_in_place_separate_tag(Nonce::assume_unique_for_key(nonce), Aad::from(Self::aad(page)), data)
            .map_err(|_| DbError::Internal(format!("encrypting page {page} failed")))?;
        tail[..NONCE_LEN].copy_from_slice(&nonce);
        tail[NONCE_LEN..NONCE_LEN + TAG_LEN].copy_from_slice(tag.as_ref());
        tail[NONCE_LEN + TAG_LEN..].copy_from_slice(&id.to_le_bytes());
        Ok(())
    }

    fn decrypt(&self, page: PageId, image: &mut [u8]) -> Result<()> {
        let failed = || DbError::Corruption(format!("page {page} failed authentication (damaged, or not this page)"));
        let body = image.len().checked_sub(TAIL).ok_or_else(failed)?;
        let (data, tail) = image.split_at_mut(body);
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&tail[..NONCE_LEN]);
        let mut tag = [0u8; TAG_LEN];
        tag.copy_from_slice(&tail[NONCE_LEN..NONCE_LEN + TAG_LEN]);
        let id = u32::from_le_bytes([tail[28], tail[29], tail[30], tail[31]]);
        let keys = self.keys.read();
        let key = keys.get(&id).ok_or_else(|| {
            DbError::Corruption(format!("page {page} was written with data key {id}, which is not loaded"))
        })?;
        key.open_in_place_separate_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(Self::aad(page)),
            Tag::from(tag),
            data,
            0..,
        )
        .map_err(|_| failed())?;
        // The tail goes back to what storage wrote there: nothing.
        tail.fill(0);
        Ok(())
    }

    fn seal_record(&self, aad: &[u8], payload: &[u8], out: &mut Vec<u8>) -> Result<()> {
        let id = *self.current.read();
        let keys = self.keys.read();
        let key = keys.get(&id).ok_or_else(|| DbError::Internal(format!("data key {id} is not loaded")))?;
        let mut nonce = [0u8; NONCE_LEN];
        random(&mut nonce)?;
        out.extend_from_slice(&id.to_le_bytes());
        out.extend_from_slice(&nonce);
        let start = out.len();
        out.extend_from_slice(payload);
        let tag = key
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(record_aad(aad)),
                &mut out[start..],
            )
            .map_err(|_| DbError::Internal("encrypting a log record failed".into()))?;
        out.extend_from_slice(tag.as_ref());
        Ok(())
    }

    fn open_record(&self, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>> {
        let failed = || DbError::Corruption("a log record failed authentication".into());
        if sealed.len() < 4 + NONCE_LEN + TAG_LEN {
            return Err(failed());
        }
        let id = u32::from_le_bytes([sealed[0], sealed[1], sealed[2], sealed[3]]);
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&sealed[4..4 + NONCE_LEN]);
        let keys = self.keys.read();
        let key = keys.get(&id).ok_or_else(|| {
            DbError::Corruption(format!("a log record was written with data key {id}, which is not loaded"))
        })?;
        let mut data = sealed[4 + NONCE_LEN..].to_vec();
        let len = key
            .open_in_place(Nonce::assume_unique_for_key(nonce), Aad::from(record_aad(aad)), &mut data)
            .map_err(|_| failed())?
            .len();
        data.truncate(len);
        Ok(data)
    }
}

/// A log record's AAD: a domain tag, then storage's binding (file and position).
fn record_aad(aad: &[u8]) -> Vec<u8> {
    let mut out = b"rustydb log record".to_vec();
    out.extend_from_slice(aad);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustydb_foundation::FileId;
    use rustydb_storage::{BufferPool, DiskManager, HeapFile, LogDevice, PosixVfs, Vfs};
    use std::sync::Arc;

    fn master() -> MasterKey {
        MasterKey::from_hex(&MasterKey::generate_hex().unwrap()).unwrap()
    }

    #[test]
    fn data_keys_wrap_and_open_only_under_their_master_key() {
        let (m1, m2) = (master(), master());
        let key = DataKey::generate(7).unwrap();
        let wrapped = key.wrap(&m1).unwrap();
        assert!(!wrapped.contains(&hex(&key.bytes)), "the key is not stored in the clear");
        let opened = DataKey::unwrap(&m1, &wrapped).unwrap();
        assert_eq!((opened.id, opened.bytes), (7, key.bytes));
        assert_eq!(DataKey::unwrap(&m2, &wrapped).unwrap_err().sqlstate(), SqlState::InvalidParameterValue);
        // Master key rotation: re-wrap under the new key.
        let rewrapped = opened.wrap(&m2).unwrap();
        assert_eq!(DataKey::unwrap(&m2, &rewrapped).unwrap().bytes, key.bytes);
        assert!(MasterKey::from_hex("abc").is_err());
        assert_eq!(format!("{m1:?}"), "MasterKey(<secret>)");
        assert!(!format!("{key:?}").contains(&hex(&key.bytes)));
    }

    #[test]
    fn pages_round_trip_and_fail_when_changed_moved_or_keyless() {
        let cipher = GcmPageCipher::new(&DataKey::generate(1).unwrap(), &[]).unwrap();
        let page = PageId::new(FileId(9), 3);
        let mut image = vec![0u8; 4096];
        image[..11].copy_from_slice(b"MARKER-TEXT");
        let plain = image.clone();
        cipher.encrypt(page, &mut image).unwrap();
        assert!(!image.windows(6).any(|w| w == b"MARKER"));
        let mut copy = image.clone();
        cipher.decrypt(page, &mut copy).unwrap();
        assert_eq!(copy, plain);
        // Encrypting the same page again uses a new nonce.
        let mut again = plain.clone();
        cipher.encrypt(page, &mut again).unwrap();
        assert_ne!(again, image);
        let mut flipped = image.clone();
        flipped[100] ^= 1;
        assert!(cipher.decrypt(page, &mut flipped).is_err());
        let mut moved = image.clone();
        assert!(cipher.decrypt(PageId::new(FileId(9), 4), &mut moved).is_err());
        let other = GcmPageCipher::new(&DataKey::generate(2).unwrap(), &[]).unwrap();
        let mut keyless = image.clone();
        assert!(other.decrypt(page, &mut keyless).is_err());
    }

    #[test]
    fn rotation_keeps_old_pages_readable() {
        let (k1, k2) = (DataKey::generate(1).unwrap(), DataKey::generate(2).unwrap());
        let k1_copy = DataKey { id: 1, bytes: k1.bytes };
        let cipher = GcmPageCipher::new(&k1, &[]).unwrap();
        let page = PageId::new(FileId(9), 0);
        let mut old = vec![5u8; 4096];
        old[4096 - TAIL..].fill(0);
        let plain = old.clone();
        cipher.encrypt(page, &mut old).unwrap();
        cipher.rotate(&k2).unwrap();
        let mut new = plain.clone();
        cipher.encrypt(page, &mut new).unwrap();
        assert_eq!(u32::from_le_bytes(new[4092..].try_into().unwrap()), 2);
        for mut image in [old.clone(), new] {
            cipher.decrypt(page, &mut image).unwrap();
            assert_eq!(image, plain);
        }
        // A cipher that knows only the new key cannot read the old page.
        let fresh = GcmPageCipher::new(&k2, &[]).unwrap();
        assert!(fresh.decrypt(page, &mut old.clone()).is_err());
        let both = GcmPageCipher::new(&k2, &[&k1_copy]).unwrap();
        both.decrypt(page, &mut old).unwrap();
    }

    #[test]
    fn a_heap_through_the_cipher_leaves_no_plaintext_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let file = FileId(21);
        let key = DataKey::generate(1).unwrap();
        let open = |key: &DataKey| {
            let vfs: Arc<dyn Vfs> = Arc::new(PosixVfs);
            let disk = Arc::new(DiskManager::open(vfs.clone(), &dir.path().join("base"), 4096).unwrap());
            disk.set_cipher(file, Arc::new(GcmPageCipher::new(key, &[]).unwrap()));
            let log = Arc::new(LogDevice::open(vfs, &dir.path().join("wal")).unwrap());
            (log.clone(), Arc::new(BufferPool::new(disk, log, 8)))
        };
        let tids: Vec<_> = {
            let (log, pool) = open(&key);
            let heap = HeapFile::open(pool.clone(), file).unwrap();
            let tids = (0..30)
                .map(|i| {
                    heap.insert(format!("SECRET-{i:03}-{}", "y".repeat(300)).as_bytes(), |_, _| log.append(b"i"))
                        .unwrap()
                })
                .collect();
            pool.flush_all().unwrap();
            tids
        };
        let raw = std::fs::read(dir.path().join("base/21")).unwrap();
        assert!(raw.len() >= 4096 * 2);
        assert!(!raw.windows(7).any(|w| w == b"SECRET-"), "plaintext reached the disk");
        let (_log, pool) = open(&key);
        let heap = HeapFile::open(pool, file).unwrap();
        for (i, tid) in tids.iter().enumerate() {
            assert!(heap.get(*tid).unwrap().unwrap().starts_with(format!("SECRET-{i:03}").as_bytes()));
        }
    }
}
