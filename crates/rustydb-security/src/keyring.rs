//! The key store of encryption at rest: each encrypted table's data keys, wrapped by the master
//! key, in `keys/keyring.json` in the data directory; the engine reaches it through query's
//! [`TableEncryption`] contract.
//!
//! ## The file
//! One JSON document, replaced whole on every change (written beside, fsynced, renamed over,
//! directory fsynced), so a crash leaves the old or the new one:
//!
//! ```json
//! {"format":1,"check":"<wrapped key 0>","next_key":4,
//!  "tables":[{"table":16390,"files":[16390,1073758214],"current":3,"keys":["<wrapped>", ...]}]}
//! ```
//!
//! `check` is a throwaway key wrapped by the master key: opening it proves the master key is the
//! one that wrapped everything else, so a wrong key stops the server at once with a clear
//! message instead of failing on the first encrypted page. Key ids come from one counter, so a
//! page's key id (stored in its tail) names one key in the whole cluster.
//!
//! ## The master key
//! From `tde_master_key_file` (64 hex digits per line) or `RUSTYDB_MASTER_KEY`. The file may
//! hold several keys, newest first: the store opens with whichever key wrapped it and, if that
//! is not the first, re-wraps everything with the first. So a master key rotation is: put the
//! new key on the file's first line, call `rustydb_rotate_master_key()` (or restart), then drop
//! the old line. A crash in between leaves a file that still opens.
//!
//! ## Data keys
//! A data key rotation adds a key and makes it current ([`GcmPageCipher::rotate`]); the older
//! ones stay until the engine has rewritten every page and checkpointed past every log record
//! sealed with them ([`TableEncryption::retire_keys`]).
//!
//! Lock order: the store's mutex, then the disk manager's cipher map.

use crate::tde::{DataKey, GcmPageCipher, MasterKey};
use parking_lot::Mutex;
use rustydb_foundation::{DbError, FileId, Result, SqlState, TableId};
use rustydb_query::encryption::{Rotation, TableEncryption, TableKeys};
use rustydb_storage::{DiskManager, PageCipher};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The environment variable that may hold the master key.
pub const MASTER_KEY_ENV: &str = "RUSTYDB_MASTER_KEY";
const FORMAT: u32 = 1;

/// Where the master key comes from.
#[derive(Clone, PartialEq, Eq)]
pub enum MasterKeySource {
    /// A key file: one key per line, newest first.
    File(PathBuf),
    /// The environment variable [`MASTER_KEY_ENV`] (read at start).
    Environment(String),
}

impl std::fmt::Debug for MasterKeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MasterKeySource::File(path) => f.debug_tuple("File").field(path).finish(),
            MasterKeySource::Environment(_) => f.write_str("Environment(<secret>)"),
        }
    }
}

impl MasterKeySource {
    /// The configured source: the key file if set, else the environment, else none.
    pub fn from_config(config: &rustydb_foundation::Config) -> Option<MasterKeySource> {
        if let Some(path) = &config.tde_master_key_file {
            return Some(MasterKeySource::File(path.clone()));
        }
        std::env::var(MASTER_KEY_ENV).ok().filter(|v| !v.trim().is_empty()).map(MasterKeySource::Environment)
    }

    /// The keys it holds, newest first.
    fn keys(&self) -> Result<Vec<MasterKey>> {
        let text = match self {
            MasterKeySource::File(path) => {
                use std::os::unix::fs::PermissionsExt;
                let read = |e| DbError::io(format!("reading the master key file {}", path.display()), e);
                // As PostgreSQL says of a private key file others can read: a warning.
                if std::fs::metadata(path).map_err(read)?.permissions().mode() & 0o077 != 0 {
                    tracing::warn!(file = %path.display(), "the master key file is readable by group or others; it should be mode 0600");
                }
                std::fs::read_to_string(path).map_err(read)?
            }
            MasterKeySource::Environment(text) => text.clone(),
        };
        let keys = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(MasterKey::from_hex)
            .collect::<Result<Vec<_>>>()?;
        if keys.is_empty() {
            return Err(DbError::sql(SqlState::InvalidParameterValue, "the master key source holds no key"));
        }
        Ok(keys)
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct StoredTable {
    table: u32,
    files: Vec<u32>,
    current: u32,
    keys: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Stored {
    format: u32,
    check: String,
    next_key: u32,
    tables: Vec<StoredTable>,
}

#[derive(Debug)]
struct TableEntry {
    files: Vec<FileId>,
    current: u32,
    keys: BTreeMap<u32, DataKey>,
    cipher: Arc<GcmPageCipher>,
}

#[derive(Debug)]
struct State {
    master: MasterKey,
    next_key: u32,
    tables: BTreeMap<TableId, TableEntry>,
}

/// The key store of one data directory.
#[derive(Debug)]
pub struct KeyStore {
    path: PathBuf,
    source: MasterKeySource,
    encrypt_by_default: bool,
    state: Mutex<State>,
}

fn keyring_path(data_dir: &Path) -> PathBuf {
    data_dir.join("keys").join("keyring.json")
}

impl KeyStore {
    /// The store of `data_dir` as `config` sets it up: `None` when no master key is configured
    /// (refused if the directory holds encrypted tables, which could not be read).
    pub fn open(data_dir: &Path, config: &rustydb_foundation::Config) -> Result<Option<Arc<KeyStore>>> {
        let path = keyring_path(data_dir);
        let Some(source) = MasterKeySource::from_config(config) else {
            if Self::lists_tables(&path)? {
                return Err(DbError::sql(
                    SqlState::ObjectNotInPrerequisiteState,
                    format!(
                        "the data directory holds encrypted tables ({}) but no master key is configured",
                        path.display()
                    ),
                )
                .with_hint(format!("Set tde_master_key_file or {MASTER_KEY_ENV}.")));
            }
            if config.tde_encrypt_new_tables {
                return Err(DbError::sql(
                    SqlState::InvalidParameterValue,
                    "tde_encrypt_new_tables is set but no master key is configured",
                ));
            }
            return Ok(None);
        };
        Self::open_with(path, source, config.tde_encrypt_new_tables).map(|s| Some(Arc::new(s)))
    }

    /// Whether the store at `path` exists and lists any table.
    fn lists_tables(path: &Path) -> Result<bool> {
        match std::fs::read_to_string(path) {
            Ok(text) => Ok(serde_json::from_str::<Stored>(&text).map_or(true, |s| !s.tables.is_empty())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(DbError::io(format!("reading the key store {}", path.display()), e)),
        }
    }

    /// The store at `path` under the master key from `source` (the file is written when the
    /// first table is encrypted).
    pub fn open_with(path: PathBuf, source: MasterKeySource, encrypt_by_default: bool) -> Result<KeyStore> {
        let mut masters = source.keys()?;
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => Some(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(DbError::io(format!("reading the key store {}", path.display()), e)),
        };
        let Some(text) = text else {
            let state = State { master: masters.swap_remove(0), next_key: 1, tables: BTreeMap::new() };
            return Ok(KeyStore { path, source, encrypt_by_default, state: Mutex::new(state) });
        };
        let stored: Stored = serde_json::from_str(&text)
            .map_err(|e| DbError::Corruption(format!("the key store {} cannot be read: {e}", path.display())))?;
        if stored.format != FORMAT {
            return Err(DbError::Corruption(format!("the key store {} has format {}", path.display(), stored.format)));
        }
        let opened = masters.iter().position(|m| DataKey::unwrap(m, &stored.check).is_ok()).ok_or_else(|| {
            DbError::sql(
                SqlState::InvalidParameterValue,
                format!("no configured master key opens the key store {}", path.display()),
            )
            .with_hint("The master key must be the one the encrypted tables were created under (or a newer one listed first beside it in the key file).")
        })?;
        let master = &masters[opened];
        let mut tables = BTreeMap::new();
        for t in stored.tables {
            let mut keys = BTreeMap::new();
            for wrapped in &t.keys {
                let key = DataKey::unwrap(master, wrapped)?;
                keys.insert(key.id, key);
            }
            let current = keys
                .get(&t.current)
                .ok_or_else(|| DbError::Corruption(format!("table {} has no key {}", t.table, t.current)))?;
            let older: Vec<&DataKey> = keys.values().filter(|k| k.id != t.current).collect();
            let cipher = Arc::new(GcmPageCipher::new(current, &older)?);
            let files = t.files.into_iter().map(FileId).collect();
            tables.insert(TableId(t.table), TableEntry { files, current: t.current, keys, cipher });
        }
        let state = State { master: masters.swap_remove(opened), next_key: stored.next_key, tables };
        let store = KeyStore { path, source, encrypt_by_default, state: Mutex::new(state) };
        if opened != 0 {
            // Opened by an older key: re-wrap everything with the newest.
            store.rotate_master_key()?;
        }
        Ok(store)
    }

    /// Writes the store (replacing the file atomically and durably).
    fn save(&self, state: &State) -> Result<()> {
        let check = DataKey::generate(0)?.wrap(&state.master)?;
        let mut tables = Vec::with_capacity(state.tables.len());
        for (id, t) in &state.tables {
            let keys = t.keys.values().map(|k| k.wrap(&state.master)).collect::<Result<Vec<_>>>()?;
            tables.push(StoredTable {
                table: id.0,
                files: t.files.iter().map(|f| f.0).collect(),
                current: t.current,
                keys,
            });
        }
        let stored = Stored { format: FORMAT, check, next_key: state.next_key, tables };
        let text =
            serde_json::to_string(&stored).map_err(|e| DbError::Internal(format!("encoding the key store: {e}")))?;
        write_atomically(&self.path, text.as_bytes())
    }

    fn new_key(state: &mut State) -> Result<DataKey> {
        let key = DataKey::generate(state.next_key)?;
        state.next_key += 1;
        Ok(key)
    }
}

/// Replaces `path` with `bytes`: a temporary file beside it, fsynced, renamed over it, and the
/// directory fsynced.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let dir = path.parent().ok_or_else(|| DbError::Internal(format!("{} has no directory", path.display())))?;
    let io = |what: &str, e| DbError::io(format!("{what} {}", path.display()), e);
    std::fs::create_dir_all(dir).map_err(|e| io("creating the directory of", e))?;
    let temp = path.with_extension("tmp");
    // Wrapped keys are useless without the master key, but are nobody else's business either.
    let mut file = {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&temp)
    }
    .map_err(|e| io("writing", e))?;
    file.write_all(bytes).map_err(|e| io("writing", e))?;
    file.sync_all().map_err(|e| io("syncing", e))?;
    drop(file);
    std::fs::rename(&temp, path).map_err(|e| io("replacing", e))?;
    std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(|e| io("syncing the directory of", e))
}

impl TableEncryption for KeyStore {
    fn attach(&self, disk: &DiskManager) -> Result<()> {
        let state = self.state.lock();
        for entry in state.tables.values() {
            for &file in &entry.files {
                disk.set_cipher(file, entry.cipher.clone() as Arc<dyn PageCipher>);
            }
        }
        Ok(())
    }

    fn encrypt_by_default(&self) -> bool {
        self.encrypt_by_default
    }

    fn encrypt_table(&self, disk: &DiskManager, table: TableId, files: &[FileId]) -> Result<()> {
        let mut state = self.state.lock();
        let key = Self::new_key(&mut state)?;
        let cipher = Arc::new(GcmPageCipher::new(&key, &[])?);
        let entry =
            TableEntry { files: files.to_vec(), current: key.id, keys: BTreeMap::from([(key.id, key)]), cipher };
        state.tables.insert(table, entry);
        if let Err(e) = self.save(&state) {
            state.tables.remove(&table);
            return Err(e);
        }
        let cipher = state.tables[&table].cipher.clone();
        for &file in files {
            disk.set_cipher(file, cipher.clone() as Arc<dyn PageCipher>);
        }
        Ok(())
    }

    fn is_encrypted(&self, table: TableId) -> bool {
        self.state.lock().tables.contains_key(&table)
    }

    fn add_file(&self, disk: &DiskManager, table: TableId, file: FileId) -> Result<()> {
        let mut state = self.state.lock();
        let entry =
            state.tables.get_mut(&table).ok_or_else(|| DbError::Internal(format!("table {table:?} has no key")))?;
        entry.files.push(file);
        let cipher = entry.cipher.clone();
        self.save(&state)?;
        disk.set_cipher(file, cipher as Arc<dyn PageCipher>);
        Ok(())
    }

    fn rotate_table_key(&self, table: TableId) -> Result<Rotation> {
        let mut state = self.state.lock();
        let key = Self::new_key(&mut state)?;
        let entry =
            state.tables.get_mut(&table).ok_or_else(|| DbError::Internal(format!("table {table:?} has no key")))?;
        let old: Vec<u32> = entry.keys.keys().copied().collect();
        let previous = entry.current;
        entry.current = key.id;
        let id = key.id;
        entry.keys.insert(id, key);
        // Durable before any page is written with the new key.
        if let Err(e) = self.save(&state) {
            if let Some(entry) = state.tables.get_mut(&table) {
                entry.keys.remove(&id);
                entry.current = previous;
            }
            return Err(e);
        }
        let entry = &state.tables[&table];
        entry.cipher.rotate(&entry.keys[&id])?;
        Ok(Rotation { files: entry.files.clone(), current: id, old })
    }

    fn retire_keys(&self, table: TableId, ids: &[u32]) -> Result<()> {
        let mut state = self.state.lock();
        let Some(entry) = state.tables.get_mut(&table) else { return Ok(()) };
        let current = entry.current;
        let retired: Vec<u32> = ids.iter().copied().filter(|&id| id != current).collect();
        entry.keys.retain(|id, _| !retired.contains(id));
        entry.cipher.retire(&retired);
        self.save(&state)
    }

    fn rotate_master_key(&self) -> Result<usize> {
        let newest = self.source.keys()?.swap_remove(0);
        let mut state = self.state.lock();
        state.master = newest;
        self.save(&state)?;
        Ok(state.tables.values().map(|t| t.keys.len()).sum())
    }

    fn retain_tables(&self, live: &HashSet<TableId>) -> Result<()> {
        let mut state = self.state.lock();
        let before = state.tables.len();
        state.tables.retain(|id, _| live.contains(id));
        if state.tables.len() != before {
            self.save(&state)?;
        }
        Ok(())
    }

    fn tables(&self) -> Vec<TableKeys> {
        let state = self.state.lock();
        state
            .tables
            .iter()
            .map(|(id, t)| TableKeys { table: *id, current: t.current, keys: t.keys.len(), files: t.files.clone() })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_file(dir: &Path, keys: &[&str]) -> MasterKeySource {
        let path = dir.join("master.key");
        std::fs::write(&path, keys.join("\n")).unwrap();
        MasterKeySource::File(path)
    }

    #[test]
    fn keys_survive_reopen_rotate_and_refuse_a_wrong_master_key() {
        let dir = tempfile::tempdir().unwrap();
        let (k1, k2, k3) = (
            MasterKey::generate_hex().unwrap(),
            MasterKey::generate_hex().unwrap(),
            MasterKey::generate_hex().unwrap(),
        );
        let path = keyring_path(dir.path());
        let disk = DiskManager::open(Arc::new(rustydb_storage::PosixVfs), &dir.path().join("base"), 4096).unwrap();
        // A master key alone writes nothing: a later start without one is not refused.
        drop(KeyStore::open_with(path.clone(), key_file(dir.path(), &[&k1]), false).unwrap());
        assert!(!path.exists());
        {
            let store = KeyStore::open_with(path.clone(), key_file(dir.path(), &[&k1]), false).unwrap();
            store.encrypt_table(&disk, TableId(20), &[FileId(20), FileId(20 | 1 << 30)]).unwrap();
            store.add_file(&disk, TableId(20), FileId(21 | 1 << 30)).unwrap();
            assert!(store.is_encrypted(TableId(20)) && !store.is_encrypted(TableId(22)));
            let rotation = store.rotate_table_key(TableId(20)).unwrap();
            assert_eq!((rotation.old, rotation.current, rotation.files.len()), (vec![1], 2, 3));
            assert_eq!(store.tables()[0].keys, 2);
        }
        let raw = std::fs::read_to_string(&path).unwrap();
        assert!(!raw.contains(&k1), "the master key is never stored");

        // A wrong key is refused at open, with a message that says so.
        let err = KeyStore::open_with(path.clone(), key_file(dir.path(), &[&k2]), false).unwrap_err();
        assert!(err.to_string().contains("no configured master key opens"), "{err}");

        // A new key listed first: the store opens with the old one and re-wraps with the new.
        {
            let store = KeyStore::open_with(path.clone(), key_file(dir.path(), &[&k2, &k1]), false).unwrap();
            let t = &store.tables()[0];
            assert_eq!((t.current, t.keys, t.files.len()), (2, 2, 3));
            store.retire_keys(TableId(20), &[1]).unwrap();
        }
        let store = KeyStore::open_with(path.clone(), key_file(dir.path(), &[&k2]), false).unwrap();
        assert_eq!(store.tables()[0].keys, 1);
        assert!(KeyStore::open_with(path.clone(), key_file(dir.path(), &[&k1]), false).is_err());

        // Rotation while running: the file's first key is read again.
        key_file(dir.path(), &[&k3, &k2]);
        assert_eq!(store.rotate_master_key().unwrap(), 1);
        assert!(KeyStore::open_with(path.clone(), key_file(dir.path(), &[&k3]), false).is_ok());

        assert!(KeyStore::lists_tables(&path).unwrap());
        store.retain_tables(&HashSet::new()).unwrap();
        assert!(store.tables().is_empty());
        assert!(!KeyStore::lists_tables(&path).unwrap(), "a store with no table left does not demand a key");
    }
}
