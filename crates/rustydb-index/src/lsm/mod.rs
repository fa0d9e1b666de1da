//! A log-structured merge tree: writes go to a memtable (a lock-free skip list) and its log;
//! a full memtable is frozen and flushed by a background thread into a sorted table on level
//! 0; compaction merges tables down the levels.
//!
//! ```text
//!   put/delete ─► log (append) + memtable ─freeze─► immutable ─flush─► L0 tables
//!                                                              └──compaction──► L1 ► L2 ...
//! ```
//!
//! - **Records** are entries (`key ‖ tid`, as in the other kinds) marked put or deleted
//!   (tombstone). A newer source shadows an older one: memtable, immutable memtable, L0 tables
//!   newest first, then L1, L2, ... A tombstone is dropped when compaction writes the bottom.
//! - **Leveled compaction** (default): L0 is merged into L1 when it has 4 tables; level `n`
//!   into `n + 1` when it outgrows 10 MiB × 10^(n-1), one table at a time, with the overlapping
//!   tables below. **Size-tiered** (an option): a level of 4 tables is merged whole into one
//!   table on the next level, which writes less and reads more.
//! - **Durability**: the memtable's log is appended on every change and fsynced by
//!   [`LsmTree::sync`]; opening replays it. The manifest — which tables make up which level,
//!   which log is current — is replaced atomically (write, fsync, rename, fsync the directory),
//!   so a crash during a flush or compaction leaves the old or the new set, never a mix; tables
//!   no manifest names are removed at open.
//! - The memtable is crossbeam-skiplist 0.1.3, whose `range()` iterator leaks the nodes it
//!   visits (crossbeam#1178, fixed only on its unreleased main): it is walked with
//!   `lower_bound` and `Entry::next` instead, which release what they visit.
//!
//! - **Two ways to log.** A standalone tree ([`LsmTree::open`]) keeps its own log, as above.
//!   A tree inside the server ([`LsmTree::open_logged`]) writes each change to the server's
//!   write-ahead log instead ([`EntryLog`]), so the commit that makes a row durable makes its
//!   index entries durable with the same fsync. The manifest then records the LSN through which
//!   the tables hold every change (`logged_through`); before a flush names a new table, the log
//!   is flushed up to that table's last change (write-ahead, as for a page), and at recovery the
//!   server hands back the tree's records above `logged_through` ([`LsmTree::open_logged`]'s
//!   backlog) to rebuild the memtable. A memtable freeze and the appends are serialised (one
//!   mutex), so every change in a frozen memtable has a lower LSN than every change after it.

pub mod sstable;

use crate::btree::node::TID_LEN;
use crate::btree::node::cmp_bytes;
use crate::paged::key_part;
use crate::{Index, IndexStats};
use crossbeam_skiplist::SkipMap;
use parking_lot::{Condvar, Mutex, RwLock};
use rustydb_foundation::le::LeReader;
use rustydb_foundation::{DbError, FileId, Lsn, Result, SqlState, TupleId, checksum};
use sstable::{BlockCompression, Table, TableWriter};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

/// How compaction shapes the levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CompactionStyle {
    /// Each level ten times the one above, one sorted run per level below L0.
    #[default]
    Leveled,
    /// Runs of similar size merged together: less writing, more reading.
    Tiered,
}

/// Tuning of an LSM tree.
#[derive(Debug, Clone)]
pub struct LsmOptions {
    /// A memtable this large is frozen and flushed.
    pub memtable_bytes: usize,
    /// Raw bytes per data block.
    pub block_size: usize,
    /// Compression of data blocks.
    pub compression: BlockCompression,
    /// Compaction style.
    pub style: CompactionStyle,
    /// L0 tables (or tables per tier) that trigger a compaction.
    pub level0_tables: usize,
    /// Bytes of level 1 before it is compacted down (each level below ten times more).
    pub level1_bytes: u64,
    /// Largest table a compaction writes.
    pub table_bytes: u64,
}

impl Default for LsmOptions {
    fn default() -> Self {
        LsmOptions {
            memtable_bytes: 4 << 20,
            block_size: 4096,
            compression: BlockCompression::Lz4,
            style: CompactionStyle::Leveled,
            level0_tables: 4,
            level1_bytes: 10 << 20,
            table_bytes: 2 << 20,
        }
    }
}

type Memtable = SkipMap<MemKey, bool>;

/// A memtable entry, ordered as bytes by [`cmp_bytes`] (eight bytes at a time, inlined): a
/// skip-list insert compares its key with dozens of others, and for short index entries the
/// slice order's call into `memcmp` cost more than the comparisons themselves. It orders
/// exactly as `[u8]` does, so lookups by a byte slice (through `Borrow`) agree with it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct MemKey(Vec<u8>);

impl Ord for MemKey {
    #[inline]
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        cmp_bytes(&self.0, &other.0)
    }
}

impl PartialOrd for MemKey {
    #[inline]
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl std::borrow::Borrow<[u8]> for MemKey {
    fn borrow(&self) -> &[u8] {
        &self.0
    }
}

/// A write-ahead log shared with the rest of the server, for a tree that keeps no log of its own.
pub trait EntryLog: Send + Sync + std::fmt::Debug {
    /// Appends one change (an entry put, or deleted when `live` is false) of the tree
    /// identified by `file`; returns its LSN. It need not be durable yet: commits flush.
    fn append_entry(&self, file: FileId, entry: &[u8], live: bool) -> Result<Lsn>;
    /// Makes every record up to `lsn` durable.
    fn flush_to(&self, lsn: Lsn) -> Result<()>;
}

/// One change handed back by recovery: its LSN, the entry, and whether it was a put.
pub type LoggedEntry = (Lsn, Vec<u8>, bool);

/// Appends the bytes of a change as a shared log carries it: the tree's file id (u32 LE),
/// 1 for a put or 0 for a delete, then the entry.
pub fn encode_entry_record(out: &mut Vec<u8>, file: FileId, entry: &[u8], live: bool) {
    out.reserve(5 + entry.len());
    out.extend_from_slice(&file.0.to_le_bytes());
    out.push(u8::from(live));
    out.extend_from_slice(entry);
}

/// Reads what [`encode_entry_record`] wrote: (tree, put?, entry).
pub fn decode_entry_record(bytes: &[u8]) -> Result<(FileId, bool, &[u8])> {
    let mut r = LeReader::new(bytes, "LSM entry record");
    let file = FileId(r.u32()?);
    let live = match r.u8()? {
        0 => false,
        1 => true,
        other => return Err(DbError::Corruption(format!("LSM entry record of kind {other}"))),
    };
    let entry = r.rest();
    if entry.len() <= TID_LEN {
        return Err(DbError::Corruption(format!("LSM entry record with a {}-byte entry", entry.len())));
    }
    Ok((file, live, entry))
}

/// A log device used directly (tests, tools): each change is one record of
/// [`encode_entry_record`]'s bytes.
impl EntryLog for rustydb_storage::LogDevice {
    fn append_entry(&self, file: FileId, entry: &[u8], live: bool) -> Result<Lsn> {
        let mut record = Vec::new();
        encode_entry_record(&mut record, file, entry, live);
        self.append(&record)
    }

    fn flush_to(&self, lsn: Lsn) -> Result<()> {
        rustydb_storage::LogDevice::flush_to(self, lsn)
    }
}

/// Where a tree's changes are logged.
#[derive(Debug)]
enum Log {
    /// Its own log file (buffered: durable once [`LsmTree::sync`] has flushed and fsynced it).
    Own(std::io::BufWriter<File>),
    /// The server's write-ahead log, under the tree's identity `file`.
    Shared { log: Arc<dyn EntryLog>, file: FileId },
}

/// The tables of every level, replaced whole on each flush or compaction (readers keep the
/// version they started with).
#[derive(Debug, Default, Clone)]
struct Levels {
    /// Level 0 newest first; levels below in entry order.
    levels: Vec<Vec<Arc<Table>>>,
}

impl Levels {
    /// Every table, oldest records first: the deepest level first, and within a level the
    /// last table first (a tier's runs, like L0's tables, overlap and are kept newest first;
    /// a leveled run's tables do not overlap, so their order does not matter).
    fn oldest_first(&self) -> impl Iterator<Item = &Arc<Table>> {
        self.levels.iter().rev().flat_map(|level| level.iter().rev())
    }
}

#[derive(Debug)]
struct State {
    active: Arc<Memtable>,
    active_bytes: Arc<AtomicUsize>,
    frozen: Option<Arc<Memtable>>,
    /// The frozen memtable's log, kept until its table is written.
    frozen_log: Option<u64>,
    levels: Arc<Levels>,
    log_number: u64,
    /// With a shared log: the highest LSN in the active memtable, and in the frozen one.
    active_lsn: Arc<AtomicU64>,
    frozen_lsn: u64,
    /// With a shared log: every change up to this LSN is in the tables.
    logged_through: u64,
}

fn sync_log(log: &mut std::io::BufWriter<File>, dir: &Path) -> Result<()> {
    log.flush().and_then(|_| log.get_ref().sync_data()).map_err(io(format!("syncing the log in {}", dir.display())))
}

impl State {
    /// The oldest log holding changes not yet in tables: where replay starts.
    fn replay_from(&self) -> u64 {
        self.frozen_log.unwrap_or(self.log_number)
    }
}

#[derive(Debug)]
struct Shared {
    dir: PathBuf,
    options: LsmOptions,
    heap_file: FileId,
    state: RwLock<State>,
    /// The log, which serialises writers' appends with memtable freezes (lock order: this,
    /// then `state`). An own log is buffered: a change is durable once [`LsmTree::sync`] has
    /// flushed and fsynced it, as a change to any file is once fsynced, and a put costs no
    /// system call.
    write: Mutex<Log>,
    /// The shared log, if the tree writes to one (what a flush makes durable first).
    shared_log: Option<Arc<dyn EntryLog>>,
    next_file: AtomicU64,
    work: Mutex<bool>,
    wake: Condvar,
    stop: AtomicBool,
    error: Mutex<Option<String>>,
    /// Set once `error` is: what every write checks, without taking a lock.
    failed: AtomicBool,
    entries: AtomicU64,
    /// Bytes written to tables by flushes and compactions (write amplification's numerator).
    table_bytes_written: AtomicU64,
    /// Bytes of entries accepted (its denominator).
    user_bytes: AtomicU64,
    /// Point lookups, and the tables they had to read (read amplification: tables whose key
    /// span or filter ruled the key out are not counted).
    lookups: AtomicU64,
    tables_read: AtomicU64,
}

/// An LSM tree in its own directory.
#[derive(Debug)]
pub struct LsmTree {
    shared: Arc<Shared>,
    worker: Option<std::thread::JoinHandle<()>>,
}

fn io(what: String) -> impl FnOnce(std::io::Error) -> DbError {
    move |e| DbError::io(what, e)
}

fn table_path(dir: &Path, id: u64) -> PathBuf {
    dir.join(format!("{id:08}.sst"))
}

fn log_path(dir: &Path, number: u64) -> PathBuf {
    dir.join(format!("{number:08}.log"))
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(io(format!("syncing directory {}", dir.display())))
}

/// Appends a log record: length (u32), CRC-32C (u32), then the body: kind (u8), entry.
fn append_record(log: &mut impl Write, entry: &[u8], live: bool) -> std::io::Result<()> {
    let kind = [u8::from(live)];
    let crc = checksum::crc32c_parts(&[&kind, entry]);
    let mut header = [0u8; 9];
    header[..4].copy_from_slice(&(entry.len() as u32 + 1).to_le_bytes());
    header[4..8].copy_from_slice(&crc.to_le_bytes());
    header[8] = kind[0];
    log.write_all(&header)?;
    log.write_all(entry)
}

/// Replays a log into a memtable; a torn last record (a crash mid-append) ends the log.
fn replay_log(path: &Path, into: &Memtable) -> Result<usize> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(DbError::io(format!("reading {}", path.display()), e)),
    };
    let mut r = LeReader::new(&bytes, "LSM log");
    let mut size = 0;
    while r.remaining() >= 8 {
        let len = r.u32()? as usize;
        let crc = r.u32()?;
        let Ok(body) = r.take(len) else { break };
        if checksum::crc32c(body) != crc || body.is_empty() {
            break;
        }
        size += body.len();
        into.insert(MemKey(body[1..].to_vec()), body[0] == 1);
    }
    Ok(size)
}

/// What a manifest records besides the tables.
#[derive(Debug, Clone, Copy)]
struct ManifestHead {
    /// The own log replay starts from.
    log_number: u64,
    /// The next file number.
    next_file: u64,
    /// With a shared log: the LSN through which the tables hold every change.
    logged_through: u64,
}

/// The manifest: the log number, the next file number, the logged-through LSN, then per level
/// its table ids.
fn write_manifest(dir: &Path, head: ManifestHead, levels: &Levels) -> Result<()> {
    let mut body = Vec::new();
    body.extend_from_slice(&head.log_number.to_le_bytes());
    body.extend_from_slice(&head.next_file.to_le_bytes());
    body.extend_from_slice(&head.logged_through.to_le_bytes());
    body.extend_from_slice(&(levels.levels.len() as u32).to_le_bytes());
    for level in &levels.levels {
        body.extend_from_slice(&(level.len() as u32).to_le_bytes());
        for t in level {
            body.extend_from_slice(&t.id.to_le_bytes());
        }
    }
    let mut bytes = checksum::crc32c(&body).to_le_bytes().to_vec();
    bytes.extend_from_slice(&body);
    let temp = dir.join("MANIFEST.tmp");
    let mut f = File::create(&temp).map_err(io(format!("creating {}", temp.display())))?;
    f.write_all(&bytes).and_then(|_| f.sync_all()).map_err(io(format!("writing {}", temp.display())))?;
    std::fs::rename(&temp, dir.join("MANIFEST")).map_err(io(format!("renaming {}", temp.display())))?;
    sync_dir(dir)
}

/// What a manifest records: its head and the table ids of each level.
type ManifestContents = (ManifestHead, Vec<Vec<u64>>);

fn read_manifest(dir: &Path) -> Result<Option<ManifestContents>> {
    let path = dir.join("MANIFEST");
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(DbError::io(format!("reading {}", path.display()), e)),
    };
    let (crc, body) = bytes.split_at(4.min(bytes.len()));
    if crc != checksum::crc32c(body).to_le_bytes() {
        return Err(DbError::Corruption(format!("{}: checksum mismatch", path.display())));
    }
    let mut r = LeReader::new(body, "LSM manifest");
    let head = ManifestHead { log_number: r.u64()?, next_file: r.u64()?, logged_through: r.u64()? };
    let mut levels = Vec::new();
    for _ in 0..r.u32()? {
        levels.push((0..r.u32()?).map(|_| r.u64()).collect::<Result<Vec<_>>>()?);
    }
    Ok(Some((head, levels)))
}

impl LsmTree {
    /// Opens (creating if need be) the standalone tree in `dir`, replaying its own log.
    pub fn open(dir: &Path, heap_file: FileId, options: LsmOptions) -> Result<LsmTree> {
        Self::open_with(dir, heap_file, options, None, Vec::new())
    }

    /// Opens (creating if need be) the tree in `dir` whose changes go to `log` as the tree
    /// `file`. `backlog` holds the tree's changes that recovery found in that log, oldest
    /// first; those the tables do not yet hold become the memtable again.
    pub fn open_logged(
        dir: &Path,
        heap_file: FileId,
        options: LsmOptions,
        log: Arc<dyn EntryLog>,
        file: FileId,
        backlog: Vec<LoggedEntry>,
    ) -> Result<LsmTree> {
        Self::open_with(dir, heap_file, options, Some((log, file)), backlog)
    }

    fn open_with(
        dir: &Path,
        heap_file: FileId,
        options: LsmOptions,
        shared_log: Option<(Arc<dyn EntryLog>, FileId)>,
        backlog: Vec<LoggedEntry>,
    ) -> Result<LsmTree> {
        std::fs::create_dir_all(dir).map_err(io(format!("creating {}", dir.display())))?;
        let (head, ids) = read_manifest(dir)?
            .unwrap_or((ManifestHead { log_number: 1, next_file: 2, logged_through: 0 }, Vec::new()));
        let mut levels = Levels::default();
        let mut named = std::collections::HashSet::new();
        for level in ids {
            let mut tables = Vec::new();
            for id in level {
                named.insert(id);
                tables.push(Arc::new(Table::open(id, &table_path(dir, id))?));
            }
            levels.levels.push(tables);
        }
        // Tables a crash left unnamed, and logs already flushed, are gone for good. Logs from
        // the manifest's on are replayed in order: a crash between a freeze and its flush
        // leaves the frozen memtable's log and the newer one.
        let mut logs = vec![head.log_number];
        let mut highest = head.next_file;
        for entry in std::fs::read_dir(dir).map_err(io(format!("listing {}", dir.display())))? {
            let path = entry.map_err(io(format!("listing {}", dir.display())))?.path();
            let number = path.file_stem().and_then(|s| s.to_str()).and_then(|s| s.parse::<u64>().ok());
            let ext = path.extension().and_then(|e| e.to_str());
            highest = highest.max(number.unwrap_or(0) + 1);
            let stale = match (number, ext) {
                (Some(n), Some("sst")) => !named.contains(&n),
                (Some(n), Some("log")) if n < head.log_number || shared_log.is_some() => true,
                (Some(n), Some("log")) => {
                    logs.push(n);
                    false
                }
                _ => false,
            };
            if stale {
                std::fs::remove_file(&path).map_err(io(format!("removing {}", path.display())))?;
            }
        }
        logs.sort_unstable();
        logs.dedup();
        let active = Arc::new(Memtable::new());
        let mut bytes = 0;
        let mut active_lsn = head.logged_through;
        let current = logs.last().copied().unwrap_or(head.log_number);
        let log = match shared_log {
            Some((log, file)) => {
                for (lsn, entry, live) in backlog {
                    if lsn.0 > head.logged_through {
                        bytes += entry.len() + 1;
                        active_lsn = active_lsn.max(lsn.0);
                        active.insert(MemKey(entry), live);
                    }
                }
                Log::Shared { log, file }
            }
            None => {
                for &n in &logs {
                    bytes += replay_log(&log_path(dir, n), &active)?;
                }
                let log = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(log_path(dir, current))
                    .map_err(io(format!("opening the log in {}", dir.display())))?;
                Log::Own(std::io::BufWriter::with_capacity(64 << 10, log))
            }
        };
        let entries = levels.levels.iter().flatten().map(|t| t.entries).sum::<u64>() + active.len() as u64;
        let shared = Arc::new(Shared {
            dir: dir.to_path_buf(),
            options,
            heap_file,
            state: RwLock::new(State {
                active,
                active_bytes: Arc::new(AtomicUsize::new(bytes)),
                frozen: None,
                frozen_log: None,
                levels: Arc::new(levels),
                log_number: current,
                active_lsn: Arc::new(AtomicU64::new(active_lsn)),
                frozen_lsn: 0,
                logged_through: head.logged_through,
            }),
            shared_log: match &log {
                Log::Shared { log, .. } => Some(log.clone()),
                Log::Own(_) => None,
            },
            write: Mutex::new(log),
            next_file: AtomicU64::new(highest.max(current + 1)),
            work: Mutex::new(false),
            wake: Condvar::new(),
            stop: AtomicBool::new(false),
            error: Mutex::new(None),
            failed: AtomicBool::new(false),
            entries: AtomicU64::new(entries),
            table_bytes_written: AtomicU64::new(0),
            user_bytes: AtomicU64::new(0),
            lookups: AtomicU64::new(0),
            tables_read: AtomicU64::new(0),
        });
        let worker_shared = shared.clone();
        let worker = std::thread::Builder::new()
            .name("rustydb-lsm".into())
            .spawn(move || worker_shared.run())
            .map_err(|e| DbError::io("starting the LSM compaction thread", e))?;
        if !dir.join("MANIFEST").exists() {
            let state = shared.state.read();
            write_manifest(dir, shared.head(&state), &state.levels)?;
        }
        Ok(LsmTree { shared, worker: Some(worker) })
    }

    /// Adds (or with `live` false, deletes) an entry.
    pub fn write(&self, entry: &[u8], live: bool) -> Result<()> {
        self.write_owned(entry.to_vec(), live)
    }

    fn write_owned(&self, entry: Vec<u8>, live: bool) -> Result<()> {
        self.shared.check_worker()?;
        let len = entry.len();
        let full = {
            let mut log = self.shared.write.lock();
            let lsn = match &mut *log {
                Log::Own(file) => {
                    append_record(file, &entry, live)
                        .map_err(io(format!("appending to the log in {}", self.shared.dir.display())))?;
                    0
                }
                Log::Shared { log, file } => log.append_entry(*file, &entry, live)?.0,
            };
            // The skip list takes concurrent inserts; the shared lock only pins which memtable
            // is active (a freeze holds the log lock too, so none happens meanwhile).
            let state = self.shared.state.read();
            state.active.insert(MemKey(entry), live);
            state.active_lsn.fetch_max(lsn, Ordering::Relaxed);
            let size = state.active_bytes.fetch_add(len + 1, Ordering::Relaxed) + len + 1;
            size >= self.shared.options.memtable_bytes
        };
        if live {
            self.shared.entries.fetch_add(1, Ordering::Relaxed);
        }
        self.shared.user_bytes.fetch_add(len as u64, Ordering::Relaxed);
        if full {
            self.shared.freeze()?;
        }
        Ok(())
    }

    /// Makes every change so far durable: fsyncs an own log; with a shared log, commits do.
    pub fn sync(&self) -> Result<()> {
        match &mut *self.shared.write.lock() {
            Log::Own(file) => sync_log(file, &self.shared.dir),
            Log::Shared { .. } => Ok(()),
        }
    }

    /// Calls `f` with every live entry `>= start` in order until it returns false, merging the
    /// memtables and every level (newer records shadow older ones).
    pub fn scan(
        &self,
        start: &[u8],
        mut stop_after: impl FnMut(&[u8]) -> bool,
        mut f: impl FnMut(&[u8]) -> bool,
    ) -> Result<()> {
        let (active, frozen, levels) = {
            let s = self.shared.state.read();
            (s.active.clone(), s.frozen.clone(), s.levels.clone())
        };
        // Oldest first into one ordered map, so newer records overwrite older ones.
        let mut merged: BTreeMap<Vec<u8>, bool> = BTreeMap::new();
        for table in levels.oldest_first() {
            table.scan_from(start, |e, live| {
                if stop_after(e) {
                    return false;
                }
                merged.insert(e.to_vec(), live);
                true
            })?;
        }
        for memtable in frozen.iter().chain(std::iter::once(&active)) {
            let mut cursor = memtable.lower_bound(Bound::Included(start));
            while let Some(entry) = cursor {
                if stop_after(&entry.key().0) {
                    break;
                }
                merged.insert(entry.key().0.clone(), *entry.value());
                cursor = entry.next();
            }
        }
        for (entry, live) in merged {
            if live && !f(&entry) {
                break;
            }
        }
        Ok(())
    }

    /// Entries of `key` (tables whose filter rules the key out are skipped).
    pub fn entries_of(&self, key: &[u8]) -> Result<Vec<Vec<u8>>> {
        let (active, frozen, levels) = {
            let s = self.shared.state.read();
            (s.active.clone(), s.frozen.clone(), s.levels.clone())
        };
        let mut merged: BTreeMap<Vec<u8>, bool> = BTreeMap::new();
        let mut take = |e: &[u8], live: bool| {
            if !e.starts_with(key) {
                return false;
            }
            if e.len() == key.len() + TID_LEN {
                merged.insert(e.to_vec(), live);
            }
            true
        };
        // Only tables whose span covers the key and whose filter admits it.
        let covers = |t: &&Arc<Table>| key_part(&t.last) >= key && key_part(&t.first) <= key && t.may_contain_key(key);
        let mut read = 0;
        for table in levels.oldest_first().filter(covers) {
            read += 1;
            table.scan_from(key, &mut take)?;
        }
        self.shared.lookups.fetch_add(1, Ordering::Relaxed);
        self.shared.tables_read.fetch_add(read, Ordering::Relaxed);
        for memtable in frozen.iter().chain(std::iter::once(&active)) {
            let mut cursor = memtable.lower_bound(Bound::Included(key));
            while let Some(entry) = cursor {
                if !take(&entry.key().0, *entry.value()) {
                    break;
                }
                cursor = entry.next();
            }
        }
        Ok(merged.into_iter().filter(|(_, live)| *live).map(|(e, _)| e).collect())
    }

    /// Freezes the memtable and waits until it and every due compaction are done (tests, and
    /// a clean shutdown that leaves the log empty).
    pub fn flush_and_compact(&self) -> Result<()> {
        self.shared.freeze()?;
        loop {
            self.shared.check_worker()?;
            let busy = *self.shared.work.lock() || self.shared.state.read().frozen.is_some();
            if !busy && !self.shared.compaction_due() {
                return Ok(());
            }
            self.shared.wake.notify_all();
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
    }

    /// Tables per level.
    pub fn shape(&self) -> Vec<usize> {
        self.shared.state.read().levels.levels.iter().map(Vec::len).collect()
    }

    /// Tables read per point lookup so far (the memtables are not counted).
    pub fn read_amplification(&self) -> f64 {
        let lookups = self.shared.lookups.load(Ordering::Relaxed).max(1) as f64;
        self.shared.tables_read.load(Ordering::Relaxed) as f64 / lookups
    }

    /// Bytes written to tables per byte of entries accepted.
    pub fn write_amplification(&self) -> f64 {
        let written = self.shared.table_bytes_written.load(Ordering::Relaxed) as f64;
        written / self.shared.user_bytes.load(Ordering::Relaxed).max(1) as f64
    }

    fn entry(&self, key: &[u8], tid: TupleId) -> Result<Vec<u8>> {
        if key.len() > u16::MAX as usize - TID_LEN {
            return Err(DbError::sql(SqlState::ProgramLimitExceeded, "index row too large for an LSM tree"));
        }
        if tid.page.file != self.shared.heap_file {
            return Err(DbError::Internal(format!("tuple {tid:?} is not in heap file {}", self.shared.heap_file)));
        }
        let mut entry = Vec::with_capacity(key.len() + TID_LEN);
        entry.extend_from_slice(key);
        crate::paged::push_tid(&mut entry, tid);
        Ok(entry)
    }
}

impl Shared {
    /// The manifest head for `state`.
    fn head(&self, state: &State) -> ManifestHead {
        ManifestHead {
            log_number: state.replay_from(),
            next_file: self.next_file.load(Ordering::Relaxed),
            logged_through: state.logged_through,
        }
    }

    fn check_worker(&self) -> Result<()> {
        if !self.failed.load(Ordering::Acquire) {
            return Ok(());
        }
        match self.error.lock().as_ref() {
            Some(e) => Err(DbError::Internal(format!("LSM tree in {} stopped: {e}", self.dir.display()))),
            None => Ok(()),
        }
    }

    /// Makes the active memtable immutable and starts a new one with a new log; waits while the
    /// previous frozen memtable is still being flushed (back-pressure).
    fn freeze(&self) -> Result<()> {
        loop {
            self.check_worker()?;
            {
                let mut current_log = self.write.lock();
                let mut state = self.state.write();
                if state.frozen.is_none() {
                    if state.active.is_empty() {
                        return Ok(());
                    }
                    if let Log::Own(own) = &mut *current_log {
                        let number = self.next_file.fetch_add(1, Ordering::Relaxed);
                        let log = OpenOptions::new()
                            .create(true)
                            .append(true)
                            .open(log_path(&self.dir, number))
                            .map_err(io(format!("creating a log in {}", self.dir.display())))?;
                        sync_log(own, &self.dir)?;
                        *own = std::io::BufWriter::with_capacity(64 << 10, log);
                        state.frozen_log = Some(state.log_number);
                        state.log_number = number;
                    }
                    let old = std::mem::replace(&mut state.active, Arc::new(Memtable::new()));
                    state.frozen = Some(old);
                    state.frozen_lsn = state.active_lsn.load(Ordering::Relaxed);
                    state.active_lsn = Arc::new(AtomicU64::new(state.frozen_lsn));
                    state.active_bytes = Arc::new(AtomicUsize::new(0));
                    break;
                }
            }
            self.wake.notify_all();
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        *self.work.lock() = true;
        self.wake.notify_all();
        Ok(())
    }

    fn run(&self) {
        while !self.stop.load(Ordering::Acquire) {
            {
                let mut work = self.work.lock();
                if !*work && !self.compaction_due() {
                    self.wake.wait_for(&mut work, std::time::Duration::from_millis(50));
                }
            }
            let result = self.flush_frozen().and_then(|_| {
                while self.compaction_due() && !self.stop.load(Ordering::Acquire) {
                    self.compact_once()?;
                }
                Ok(())
            });
            *self.work.lock() = false;
            if let Err(e) = result {
                *self.error.lock() = Some(e.to_string());
                self.failed.store(true, Ordering::Release);
                return;
            }
        }
    }

    fn new_table(&self) -> Result<(u64, TableWriter)> {
        let id = self.next_file.fetch_add(1, Ordering::Relaxed);
        let writer =
            TableWriter::create(&table_path(&self.dir, id), self.options.block_size, self.options.compression)?;
        Ok((id, writer))
    }

    fn flush_frozen(&self) -> Result<()> {
        let (frozen, log_number, frozen_lsn) = {
            let s = self.state.read();
            match &s.frozen {
                Some(f) => (f.clone(), s.log_number, s.frozen_lsn),
                None => return Ok(()),
            }
        };
        let (id, mut writer) = self.new_table()?;
        for entry in frozen.iter() {
            writer.add(&entry.key().0, *entry.value())?;
        }
        self.table_bytes_written.fetch_add(writer.finish()?, Ordering::Relaxed);
        let table = Arc::new(Table::open(id, &table_path(&self.dir, id))?);
        // Write-ahead: the changes the table holds are durable in the shared log before the
        // manifest names it (its entries would otherwise outlive a crash their rows did not).
        if let Some(log) = &self.shared_log {
            log.flush_to(Lsn(frozen_lsn))?;
        }
        let mut state = self.state.write();
        let mut levels = (*state.levels).clone();
        if levels.levels.is_empty() {
            levels.levels.push(Vec::new());
        }
        levels.levels[0].insert(0, table);
        let logged_through = state.logged_through.max(frozen_lsn);
        let head = ManifestHead { log_number, next_file: self.next_file.load(Ordering::Relaxed), logged_through };
        write_manifest(&self.dir, head, &levels)?;
        state.logged_through = logged_through;
        state.levels = Arc::new(levels);
        state.frozen = None;
        state.frozen_log = None;
        drop(state);
        // Logs before the current one are flushed now.
        for n in 0..log_number {
            let _ = std::fs::remove_file(log_path(&self.dir, n));
        }
        Ok(())
    }

    fn level_limit(&self, level: usize) -> u64 {
        self.options.level1_bytes.saturating_mul(10u64.saturating_pow(level.saturating_sub(1) as u32))
    }

    fn compaction_due(&self) -> bool {
        let levels = self.state.read().levels.clone();
        self.pick(&levels).is_some()
    }

    /// What to compact: (level, tables of that level).
    fn pick(&self, levels: &Levels) -> Option<(usize, Vec<Arc<Table>>)> {
        let threshold = self.options.level0_tables;
        for (n, level) in levels.levels.iter().enumerate() {
            let due = match (self.options.style, n) {
                (CompactionStyle::Tiered, _) | (_, 0) => level.len() >= threshold,
                (CompactionStyle::Leveled, _) => level.iter().map(|t| t.size()).sum::<u64>() > self.level_limit(n),
            };
            if !due {
                continue;
            }
            return Some(match (self.options.style, n) {
                (CompactionStyle::Leveled, n) if n > 0 => (n, vec![level[0].clone()]),
                _ => (n, level.clone()),
            });
        }
        None
    }

    /// One compaction: the picked tables (and, leveled, the overlapping tables of the next
    /// level) merged into new tables on the next level.
    fn compact_once(&self) -> Result<()> {
        let levels = self.state.read().levels.clone();
        let Some((n, inputs)) = self.pick(&levels) else { return Ok(()) };
        let below: Vec<Arc<Table>> = levels.levels.get(n + 1).cloned().unwrap_or_default();
        let (lo, hi) = inputs.iter().fold((None::<&[u8]>, None::<&[u8]>), |(lo, hi), t| {
            (
                Some(lo.map_or(t.first.as_slice(), |l| l.min(t.first.as_slice()))),
                Some(hi.map_or(t.last.as_slice(), |h| h.max(t.last.as_slice()))),
            )
        });
        let (lo, hi) = (lo.unwrap_or_default().to_vec(), hi.unwrap_or_default().to_vec());
        let overlapping: Vec<Arc<Table>> = match self.options.style {
            CompactionStyle::Leveled => below
                .iter()
                .filter(|t| t.last.as_slice() >= lo.as_slice() && t.first.as_slice() <= hi.as_slice())
                .cloned()
                .collect(),
            CompactionStyle::Tiered => Vec::new(),
        };
        let bottom = levels.levels.len() <= n + 2 && below.len() == overlapping.len();
        // Oldest first, so newer records overwrite: the level below, then inputs old to new.
        let mut merged: BTreeMap<Vec<u8>, bool> = BTreeMap::new();
        let inputs_old_first: Vec<&Arc<Table>> = if n == 0 || self.options.style == CompactionStyle::Tiered {
            inputs.iter().rev().collect()
        } else {
            inputs.iter().collect()
        };
        for table in overlapping.iter().chain(inputs_old_first) {
            table.scan_from(b"", |e, live| {
                merged.insert(e.to_vec(), live);
                true
            })?;
        }
        let mut outputs = Vec::new();
        let mut writer: Option<(u64, TableWriter)> = None;
        for (entry, live) in merged {
            if !live && bottom {
                continue; // nothing older remains for a tombstone to hide
            }
            if writer.is_none() {
                writer = Some(self.new_table()?);
            }
            if let Some((_, w)) = writer.as_mut() {
                w.add(&entry, live)?;
                if w.size() >= self.options.table_bytes
                    && self.options.style == CompactionStyle::Leveled
                    && let Some((id, w)) = writer.take()
                {
                    self.table_bytes_written.fetch_add(w.finish()?, Ordering::Relaxed);
                    outputs.push(Arc::new(Table::open(id, &table_path(&self.dir, id))?));
                }
            }
        }
        if let Some((id, w)) = writer.take() {
            self.table_bytes_written.fetch_add(w.finish()?, Ordering::Relaxed);
            outputs.push(Arc::new(Table::open(id, &table_path(&self.dir, id))?));
        }
        let removed: Vec<u64> = inputs.iter().chain(&overlapping).map(|t| t.id).collect();
        let mut state = self.state.write();
        let mut next = (*state.levels).clone();
        for level in &mut next.levels {
            level.retain(|t| !removed.contains(&t.id));
        }
        while next.levels.len() <= n + 1 {
            next.levels.push(Vec::new());
        }
        match self.options.style {
            CompactionStyle::Leveled => {
                next.levels[n + 1].extend(outputs);
                next.levels[n + 1].sort_by(|a, b| a.first.cmp(&b.first));
            }
            // A tier's runs overlap: newest first, as L0.
            CompactionStyle::Tiered => {
                for t in outputs.into_iter().rev() {
                    next.levels[n + 1].insert(0, t);
                }
            }
        }
        write_manifest(&self.dir, self.head(&state), &next)?;
        state.levels = Arc::new(next);
        drop(state);
        // Readers holding the old level list keep their mappings alive; unlinking the files
        // now is safe on Unix (a mapping outlives its name).
        for id in removed {
            let _ = std::fs::remove_file(table_path(&self.dir, id));
        }
        Ok(())
    }
}

impl Drop for LsmTree {
    /// Closing writes the log's buffer out (best effort: a failure here is a crash's loss, of
    /// changes never synced); the memtable stays in the log, replayed at the next open.
    fn drop(&mut self) {
        let _ = self.sync();
        self.shared.stop.store(true, Ordering::Release);
        self.shared.wake.notify_all();
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

impl Index for LsmTree {
    fn log_needed_from(&self) -> Option<Lsn> {
        // Under the log lock no change is between its append and the memtable.
        let log = self.shared.write.lock();
        if !matches!(&*log, Log::Shared { .. }) {
            return None;
        }
        let state = self.shared.state.read();
        (!state.active.is_empty() || state.frozen.is_some()).then_some(Lsn(state.logged_through))
    }

    fn insert(&self, key: &[u8], tid: TupleId) -> Result<()> {
        self.write_owned(self.entry(key, tid)?, true)
    }

    fn delete(&self, key: &[u8], tid: TupleId) -> Result<()> {
        let entry = self.entry(key, tid)?;
        let _ = self.shared.entries.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| Some(n.saturating_sub(1)));
        self.write_owned(entry, false)
    }

    fn lookup(&self, key: &[u8]) -> Result<Vec<TupleId>> {
        let heap = self.shared.heap_file;
        Ok(self.entries_of(key)?.iter().map(|e| crate::paged::tid_at_end(heap, e)).collect())
    }

    fn range(&self, lower: Bound<&[u8]>, upper: Bound<&[u8]>, reverse: bool) -> Result<Vec<(Vec<u8>, TupleId)>> {
        let start = match lower {
            Bound::Included(l) | Bound::Excluded(l) => l,
            Bound::Unbounded => &[],
        };
        let past_upper = |e: &[u8]| {
            let k = key_part(e);
            match upper {
                Bound::Included(u) => k > u,
                Bound::Excluded(u) => k >= u,
                Bound::Unbounded => false,
            }
        };
        let heap = self.shared.heap_file;
        let mut out = Vec::new();
        self.scan(start, past_upper, |e| {
            let k = key_part(e);
            let above = match lower {
                Bound::Excluded(l) => k > l,
                _ => true,
            };
            if above && !past_upper(e) {
                out.push((k.to_vec(), crate::paged::tid_at_end(heap, e)));
            }
            true
        })?;
        if reverse {
            out.reverse();
        }
        Ok(out)
    }

    fn stats(&self) -> IndexStats {
        let levels = self.shape();
        IndexStats {
            entries: self.shared.entries.load(Ordering::Relaxed),
            distinct_keys: self.shared.entries.load(Ordering::Relaxed),
            height: levels.len().max(1) as u32,
        }
    }

    fn save_stats(&self) -> Result<()> {
        self.sync()
    }
}

#[cfg(test)]
mod tests;
