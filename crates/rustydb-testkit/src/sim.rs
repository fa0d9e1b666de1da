//! The crash-simulating file system.

use parking_lot::Mutex;
use rustydb_storage::io::{DirLock, FileHandle, Vfs};
use std::collections::{HashMap, HashSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A change not yet made durable.
#[derive(Debug, Clone)]
enum Pending {
    Write(u64, Vec<u8>),
    SetLen(u64),
}

#[derive(Debug, Default)]
struct Contents {
    current: Vec<u8>,
    durable: Vec<u8>,
    pending: Vec<Pending>,
}

fn apply(bytes: &mut Vec<u8>, change: &Pending) {
    match change {
        Pending::Write(offset, data) => {
            let end = *offset as usize + data.len();
            if bytes.len() < end {
                bytes.resize(end, 0);
            }
            bytes[*offset as usize..end].copy_from_slice(data);
        }
        Pending::SetLen(len) => bytes.resize(*len as usize, 0),
    }
}

#[derive(Debug)]
struct SimFile(Mutex<Contents>);

impl FileHandle for SimFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let c = self.0.lock();
        let start = (offset as usize).min(c.current.len());
        let n = buf.len().min(c.current.len() - start);
        buf[..n].copy_from_slice(&c.current[start..start + n]);
        Ok(n)
    }

    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        let mut c = self.0.lock();
        let change = Pending::Write(offset, buf.to_vec());
        apply(&mut c.current, &change);
        c.pending.push(change);
        Ok(())
    }

    fn sync_data(&self) -> io::Result<()> {
        let mut c = self.0.lock();
        c.durable = c.current.clone();
        c.pending.clear();
        Ok(())
    }

    fn size(&self) -> io::Result<u64> {
        Ok(self.0.lock().current.len() as u64)
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        let mut c = self.0.lock();
        let change = Pending::SetLen(len);
        apply(&mut c.current, &change);
        c.pending.push(change);
        Ok(())
    }
}

#[derive(Debug, Default)]
struct State {
    files: HashMap<PathBuf, Arc<SimFile>>,
    durable_names: HashSet<PathBuf>,
    locks: HashSet<PathBuf>,
}

/// An in-memory file system that can crash.
#[derive(Debug, Default, Clone)]
pub struct SimVfs {
    state: Arc<Mutex<State>>,
}

#[derive(Debug)]
struct SimLock {
    state: Arc<Mutex<State>>,
    path: PathBuf,
}

impl Drop for SimLock {
    fn drop(&mut self) {
        self.state.lock().locks.remove(&self.path);
    }
}

/// A small deterministic generator (SplitMix64), so a crash is replayable from its seed.
#[derive(Debug)]
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

impl SimVfs {
    /// An empty file system.
    pub fn new() -> Self {
        Self::default()
    }

    /// The file system a crash at this instant could leave. Names made durable by a directory
    /// sync survive; any other name survives or not by a coin flip (the kernel may have written
    /// the directory entry back on its own). Each surviving file holds its synced bytes plus a
    /// seeded random subset of its later changes, applied in order.
    pub fn crash(&self, seed: u64) -> SimVfs {
        let state = self.state.lock();
        let mut rng = SplitMix(seed);
        let mut names: Vec<&PathBuf> = state.files.keys().collect();
        names.sort();
        let mut files = HashMap::new();
        for path in names {
            if !state.durable_names.contains(path) && rng.next().is_multiple_of(2) {
                continue;
            }
            let c = state.files[path].0.lock();
            let mut bytes = c.durable.clone();
            for change in &c.pending {
                if rng.next().is_multiple_of(2) {
                    apply(&mut bytes, change);
                }
            }
            let contents = Contents { current: bytes.clone(), durable: bytes, pending: Vec::new() };
            files.insert(path.clone(), Arc::new(SimFile(Mutex::new(contents))));
        }
        let durable_names = files.keys().cloned().collect();
        SimVfs { state: Arc::new(Mutex::new(State { files, durable_names, locks: HashSet::new() })) }
    }

    /// What a *process* crash leaves (the machine keeps running): every write stays visible,
    /// synced or not, and what was not synced can still be lost by a later [`SimVfs::crash`].
    /// Only the locks go, with the process.
    pub fn process_crash(&self) -> SimVfs {
        let state = self.state.lock();
        let files = state
            .files
            .iter()
            .map(|(path, file)| {
                let c = file.0.lock();
                let copy =
                    Contents { current: c.current.clone(), durable: c.durable.clone(), pending: c.pending.clone() };
                (path.clone(), Arc::new(SimFile(Mutex::new(copy))))
            })
            .collect();
        let durable_names = state.durable_names.clone();
        SimVfs { state: Arc::new(Mutex::new(State { files, durable_names, locks: HashSet::new() })) }
    }

    /// A crash that keeps none of the pending changes (only what was synced).
    pub fn crash_clean(&self) -> SimVfs {
        let state = self.state.lock();
        let mut files = HashMap::new();
        for (path, file) in &state.files {
            if state.durable_names.contains(path) {
                let durable = file.0.lock().durable.clone();
                let contents = Contents { current: durable.clone(), durable, pending: Vec::new() };
                files.insert(path.clone(), Arc::new(SimFile(Mutex::new(contents))));
            }
        }
        let durable_names = files.keys().cloned().collect();
        SimVfs { state: Arc::new(Mutex::new(State { files, durable_names, locks: HashSet::new() })) }
    }

    /// Flips one bit of a file's current and durable bytes (to test corruption detection).
    pub fn flip_bit(&self, path: &Path, byte: usize, bit: u8) -> bool {
        let state = self.state.lock();
        let Some(file) = state.files.get(path) else { return false };
        let mut c = file.0.lock();
        if byte >= c.current.len() {
            return false;
        }
        c.current[byte] ^= 1 << bit;
        if byte < c.durable.len() {
            c.durable[byte] ^= 1 << bit;
        }
        true
    }

    /// The current length of a file, if it exists.
    pub fn file_len(&self, path: &Path) -> Option<u64> {
        self.state.lock().files.get(path).map(|f| f.0.lock().current.len() as u64)
    }
}

impl Vfs for SimVfs {
    fn name(&self) -> &'static str {
        "sim"
    }

    fn open(&self, path: &Path) -> io::Result<Arc<dyn FileHandle>> {
        let mut state = self.state.lock();
        let file = state.files.entry(path.to_path_buf()).or_insert_with(|| Arc::new(SimFile(Mutex::default())));
        Ok(file.clone())
    }

    fn open_existing(&self, path: &Path) -> io::Result<Option<Arc<dyn FileHandle>>> {
        Ok(self.state.lock().files.get(path).map(|f| f.clone() as Arc<dyn FileHandle>))
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        let mut state = self.state.lock();
        state.files.remove(path);
        state.durable_names.remove(path);
        Ok(())
    }

    /// The new name is durable only after `sync_dir`; the old one is gone at once (a crash in
    /// between may lose the file, as it may on a real file system before the directory sync).
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut state = self.state.lock();
        let file = state.files.remove(from).ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))?;
        state.durable_names.remove(from);
        state.durable_names.remove(to);
        state.files.insert(to.to_path_buf(), file);
        Ok(())
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        let state = self.state.lock();
        Ok(state
            .files
            .keys()
            .filter(|p| p.parent() == Some(dir))
            .filter_map(|p| p.file_name().and_then(|n| n.to_str()).map(str::to_string))
            .collect())
    }

    fn create_dir_all(&self, _dir: &Path) -> io::Result<()> {
        Ok(())
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        let mut state = self.state.lock();
        let names: Vec<PathBuf> = state.files.keys().filter(|p| p.parent() == Some(dir)).cloned().collect();
        state.durable_names.extend(names);
        Ok(())
    }

    fn lock(&self, path: &Path) -> io::Result<DirLock> {
        let mut state = self.state.lock();
        if !state.locks.insert(path.to_path_buf()) {
            return Err(io::Error::from_raw_os_error(libc::EWOULDBLOCK));
        }
        Ok(Box::new(SimLock { state: self.state.clone(), path: path.to_path_buf() }))
    }
}
