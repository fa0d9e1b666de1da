//! The transaction manager: begins, commits and aborts transactions, and performs MVCC-aware
//! reads and writes of heap tuples, logging every change before it is made.

use crate::lock::{LockManager, LockMode, LockTarget, LockWait, WaitPolicy};
use crate::record::Record;
use crate::snapshot::Snapshot;
use crate::ssi::{Predicate, SsiState};
use crate::status::{Status, StatusTable};
use crate::status_file::StatusFile;
use crate::tuple::{self, Header, NEXT_AT, XMAX_AT};
use parking_lot::{Mutex, RwLock};
use rustydb_foundation::metric_names::{TXN_ABORTS, TXN_COMMITS};
use rustydb_foundation::{DbError, FileId, Lsn, Result, SqlState, TupleId, TxnId};
use rustydb_storage::{CheckpointInfo, HeapChange, HeapFile, StorageEngine, TupleArena};
use std::sync::Arc;

/// The isolation levels, as PostgreSQL names them. READ UNCOMMITTED behaves as READ COMMITTED.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IsolationLevel {
    /// A new snapshot for every statement.
    #[default]
    ReadCommitted,
    /// One snapshot for the whole transaction.
    RepeatableRead,
    /// Serializable (currently snapshot isolation, as REPEATABLE READ).
    Serializable,
}

impl IsolationLevel {
    /// The name `SHOW transaction_isolation` prints.
    pub fn name(self) -> &'static str {
        match self {
            IsolationLevel::ReadCommitted => "read committed",
            IsolationLevel::RepeatableRead => "repeatable read",
            IsolationLevel::Serializable => "serializable",
        }
    }
}

/// One transaction's state, owned by the session running it.
///
/// ## Savepoints
/// Each savepoint opens a frame; the first write inside a frame gives it a subtransaction id
/// (from the same counter, in progress until the transaction ends), and the frame's writes
/// carry that id. ROLLBACK TO aborts the ids of the frames it unwinds, which makes their
/// versions and xmax stamps void as an aborted transaction's are; RELEASE hands them to the
/// enclosing frame. The transaction commits its id and every surviving subtransaction id at
/// once. Locks stay owned by the top-level id (PostgreSQL releases a rolled-back
/// subtransaction's table and row locks; this keeps them until the transaction ends).
#[derive(Debug)]
pub struct Transaction {
    id: TxnId,
    /// The ids this transaction's own work carries: `id`, then every subtransaction id
    /// assigned and not rolled back.
    mine: Vec<TxnId>,
    savepoints: Vec<Savepoint>,
    isolation: IsolationLevel,
    snapshot: Option<Snapshot>,
    started: bool,
    wrote: bool,
    /// Files to remove on commit, each with the savepoint depth that scheduled it.
    drop_files: Vec<(usize, FileId)>,
    on_commit: Vec<(usize, CommitHook)>,
    /// How this transaction waits for locks (the session's `lock_timeout` and
    /// `deadlock_timeout`).
    pub wait: LockWait,
    /// When it began, in microseconds since 2000-01-01 UTC (what `now()` returns in it).
    start_time: i64,
    /// Set by the layer above when the transaction changes its catalog: it then reads the
    /// catalog itself rather than through a cache of the committed state.
    pub catalog_changed: bool,
}

/// One savepoint's frame.
#[derive(Debug)]
struct Savepoint {
    name: String,
    /// Subtransaction ids whose work a ROLLBACK TO this savepoint undoes: this frame's own
    /// and those of frames released into it.
    xids: Vec<TxnId>,
    /// The id this frame's writes carry, once it has written.
    current: Option<TxnId>,
}

/// What became of a [`TxnManager::delete`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delete {
    /// The version is now deleted by this transaction.
    Done,
    /// This transaction had already deleted (or updated) it.
    AlreadyMine,
    /// READ COMMITTED only: a transaction that committed meanwhile deleted it.
    Gone,
    /// READ COMMITTED only: a transaction that committed meanwhile updated it; this is the
    /// newer version, to re-check and try again.
    Updated(TupleId),
}

/// What became of a [`TxnManager::lock_row`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowLock {
    /// The row is locked in the mode asked for until the transaction ends.
    Locked,
    /// SKIP LOCKED: someone else holds it.
    Skipped,
    /// READ COMMITTED only: a transaction that committed meanwhile deleted it.
    Gone,
    /// READ COMMITTED only: a committed update replaced it with this newer version, to
    /// re-check and lock instead.
    Updated(TupleId),
}

/// Whether an index entry's version counts for a uniqueness check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liveness {
    /// It is, or will stay, deleted (or was never committed).
    Dead,
    /// It is live, or deleted by a transaction that rolled back.
    Live,
    /// Its fate depends on this transaction, still in progress: wait for it and ask again.
    Pending(TxnId),
}

/// Why a write could not go ahead yet.
enum Blocked {
    /// The version's `xmax` belongs to this transaction, still in progress.
    Writer(TxnId),
    /// Someone holds a `FOR SHARE/UPDATE` lock on the row.
    RowLock,
}

/// Work for after a commit (closing what the transaction dropped).
struct CommitHook(Box<dyn FnOnce() + Send + Sync>);

impl std::fmt::Debug for CommitHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CommitHook")
    }
}

impl Transaction {
    /// The transaction's id.
    pub fn id(&self) -> TxnId {
        self.id
    }

    /// When it began, in microseconds since 2000-01-01 UTC.
    pub fn start_time(&self) -> i64 {
        self.start_time
    }

    /// The isolation level.
    pub fn isolation(&self) -> IsolationLevel {
        self.isolation
    }

    /// True once a statement has taken a snapshot in this transaction.
    pub fn started(&self) -> bool {
        self.started
    }

    /// Changes the isolation level, which is only possible before the first statement's
    /// snapshot (25001 afterwards, as in PostgreSQL).
    pub fn set_isolation(&mut self, isolation: IsolationLevel) -> Result<()> {
        if self.started && isolation != self.isolation {
            return Err(DbError::sql(
                SqlState::ActiveSqlTransaction,
                "SET TRANSACTION ISOLATION LEVEL must be called before any query",
            ));
        }
        self.isolation = isolation;
        Ok(())
    }

    /// Schedules a data file for removal when (and only if) the transaction commits (and the
    /// savepoints open now are not rolled back).
    pub fn drop_file_on_commit(&mut self, file: FileId) {
        self.drop_files.push((self.savepoints.len(), file));
    }

    /// Runs `hook` when (and only if) the transaction commits: after its outcome is recorded,
    /// before its locks are released (so a transaction that waited for one of them sees what
    /// the hook did) and before its dropped files are removed (the layer above closes what it
    /// holds open of them).
    pub fn on_commit(&mut self, hook: impl FnOnce() + Send + Sync + 'static) {
        self.on_commit.push((self.savepoints.len(), CommitHook(Box::new(hook))));
    }

    /// True if `id` carries this transaction's own (surviving) work.
    pub fn is_mine(&self, id: TxnId) -> bool {
        self.mine.contains(&id)
    }

    /// The ids this transaction's own work carries.
    pub fn mine(&self) -> &[TxnId] {
        &self.mine
    }

    /// The number of savepoints open.
    pub fn savepoint_depth(&self) -> usize {
        self.savepoints.len()
    }

    /// The id a write made now carries (assigned by [`TxnManager`] at the first write in a
    /// savepoint).
    fn writer(&self) -> TxnId {
        self.savepoints.last().and_then(|s| s.current).unwrap_or(self.id)
    }

    /// The index of the innermost savepoint named `name` (3B001 if there is none).
    fn find_savepoint(&self, name: &str) -> Result<usize> {
        self.savepoints.iter().rposition(|s| s.name == name).ok_or_else(|| {
            DbError::sql(SqlState::InvalidSavepointSpecification, format!("savepoint \"{name}\" does not exist"))
        })
    }

    /// Forgets the work scheduled at savepoint depths above `depth`.
    fn forget_above(&mut self, depth: usize) {
        self.drop_files.retain(|(d, _)| *d <= depth);
        self.on_commit.retain(|(d, _)| *d <= depth);
    }
}

/// A transaction that is aborted if it is dropped without being committed, aborted or handed
/// back: what keeps a panic in the middle of a statement from leaving the transaction "in
/// progress" for ever (its locks and xmax stamps blocking every other writer).
#[derive(Debug)]
pub struct TxnGuard<'m> {
    manager: &'m TxnManager,
    txn: Option<Transaction>,
}

impl TxnGuard<'_> {
    /// The guarded transaction.
    pub fn txn(&mut self) -> &mut Transaction {
        self.txn.as_mut().expect("a guard holds its transaction until it is consumed")
    }

    /// Commits (see [`TxnManager::commit`]).
    pub fn commit(mut self) -> Result<()> {
        match self.txn.take() {
            Some(txn) => self.manager.commit(txn),
            None => Ok(()),
        }
    }

    /// Rolls back.
    pub fn abort(mut self) {
        if let Some(txn) = self.txn.take() {
            self.manager.abort(txn);
        }
    }

    /// Hands the transaction back unguarded (it stays open).
    pub fn release(mut self) -> Transaction {
        self.txn.take().expect("a guard holds its transaction until it is consumed")
    }
}

impl Drop for TxnGuard<'_> {
    fn drop(&mut self) {
        if let Some(txn) = self.txn.take() {
            self.manager.abort(txn);
        }
    }
}

/// Begins, ends and runs transactions over one storage engine.
#[derive(Debug)]
pub struct TxnManager {
    pub(crate) storage: Arc<StorageEngine>,
    /// Lock order: a page latch, then this; nobody holding it waits for a page latch (see
    /// [`TxnManager::visit_visible_on_page`]).
    pub(crate) status: RwLock<StatusTable>,
    locks: LockManager,
    /// Serializable transactions' reads and antidependencies. Lock order: this before the
    /// status table; never under a page latch.
    ssi: Mutex<SsiState>,
    /// Heap files below this id are not tracked by SSI (the layer above keeps its catalog
    /// there: every statement reads it, and catalog reads are not user predicates).
    ssi_tracked_from: std::sync::atomic::AtomicU32,
    /// Held shared by a committer from its commit record's append until the status table says
    /// committed, and exclusively by a checkpoint while it fixes its redo point and reads the
    /// statuses it will save: so no commit record falls before the redo point while the
    /// saved statuses still call its transaction in progress (PostgreSQL's `delayChkpt`).
    /// Lock order: this, then the log, then the status table.
    commit_barrier: RwLock<()>,
    /// The persisted status table, and the id from which its next write starts.
    status_file: Mutex<(StatusFile, u64)>,
    /// One checkpoint at a time.
    checkpointing: Mutex<()>,
}

/// What a checkpoint did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointReport {
    /// Its redo point: recovery replays page changes from here.
    pub redo: Lsn,
    /// Where the log is kept from.
    pub log_from: Lsn,
    /// Log segments freed (recycled or removed).
    pub segments_freed: usize,
    /// Wall time taken.
    pub elapsed: std::time::Duration,
}

impl TxnManager {
    /// A manager over `storage`, starting from what recovery produced: the status table, and
    /// the persisted one with the id its next write starts from.
    pub fn new(storage: Arc<StorageEngine>, status: StatusTable, status_file: (StatusFile, u64)) -> Self {
        storage.log().set_image_encoder(Record::encode_image);
        TxnManager {
            commit_barrier: RwLock::new(()),
            status_file: Mutex::new(status_file),
            checkpointing: Mutex::new(()),
            storage,
            status: RwLock::new(status),
            locks: LockManager::new(),
            ssi: Mutex::new(SsiState::new()),
            ssi_tracked_from: std::sync::atomic::AtomicU32::new(0),
        }
    }

    /// Times lock waits (`lock_timeout`, `deadlock_timeout`) on `clock` instead of the real
    /// clock; for a manager no transaction has used yet.
    pub fn with_clock(mut self, clock: Arc<dyn rustydb_foundation::Clock>) -> Self {
        self.locks = LockManager::with_clock(clock);
        self
    }

    /// The storage engine.
    pub fn storage(&self) -> &Arc<StorageEngine> {
        &self.storage
    }

    /// Guards `txn`: it is aborted if the guard is dropped without being consumed.
    pub fn guard(&self, txn: Transaction) -> TxnGuard<'_> {
        TxnGuard { manager: self, txn: Some(txn) }
    }

    /// Starts a transaction.
    pub fn begin(&self, isolation: IsolationLevel) -> Transaction {
        let id = self.status.write().begin();
        Transaction {
            id,
            mine: vec![id],
            savepoints: Vec::new(),
            isolation,
            snapshot: None,
            started: false,
            wrote: false,
            drop_files: Vec::new(),
            on_commit: Vec::new(),
            wait: LockWait::default(),
            start_time: rustydb_foundation::datetime::now(),
            catalog_changed: false,
        }
    }

    /// The snapshot a statement of `txn` reads with: a new one per statement under READ
    /// COMMITTED, the transaction's first one otherwise.
    pub fn statement_snapshot(&self, txn: &mut Transaction) -> Snapshot {
        txn.started = true;
        if let Some(s) = &txn.snapshot {
            return s.clone();
        }
        if txn.isolation == IsolationLevel::Serializable {
            // Registered with the commit sequence read before the snapshot is taken, so that
            // every transaction it counts as committed before the snapshot is in it.
            let mut ssi = self.ssi.lock();
            let snap = self.status.read().snapshot();
            ssi.register(txn.id, false);
            txn.snapshot = Some(snap.clone());
            return snap;
        }
        let snap = self.status.read().snapshot();
        if txn.isolation != IsolationLevel::ReadCommitted {
            txn.snapshot = Some(snap.clone());
        }
        snap
    }

    /// Takes `txn`'s snapshot again (a statement that waited for a lock before it read
    /// anything): a new statement snapshot, or under REPEATABLE READ and SERIALIZABLE a new
    /// transaction snapshot, which is only right before its first statement has read.
    pub fn retake_snapshot(&self, txn: &mut Transaction) -> Snapshot {
        let snap = self.status.read().snapshot();
        if txn.snapshot.is_some() {
            txn.snapshot = Some(snap.clone());
        }
        snap
    }

    /// A snapshot of what is committed now, outside any transaction's isolation (catalog
    /// lookups read with it).
    pub fn current_snapshot(&self) -> Snapshot {
        self.status.read().snapshot()
    }

    /// Commits: the commit record is fsynced before this returns, and only then do other
    /// transactions see the changes. Dropped tables' files are removed afterwards.
    pub fn commit(&self, txn: Transaction) -> Result<()> {
        let serializable = self.is_serializable(&txn);
        let checked = if serializable { self.ssi.lock().pre_commit(txn.id) } else { Ok(()) };
        if let Err(e) = checked {
            self.abort(txn);
            return Err(e);
        }
        if !txn.wrote {
            metrics::counter!(TXN_COMMITS).increment(1);
            self.status.write().commit_all(&txn.mine);
            txn.on_commit.into_iter().for_each(|(_, hook)| (hook.0)());
            self.locks.release_all(txn.id);
            if serializable {
                self.ssi.lock().committed(txn.id);
            }
            return Ok(());
        }
        let drop_files: Vec<FileId> = txn.drop_files.iter().map(|(_, f)| *f).collect();
        let record = Record::Commit { xid: txn.id, drop_files: drop_files.clone(), subxids: txn.mine[1..].to_vec() };
        let barrier = self.commit_barrier.read();
        let durable = self.storage.log().append(&record.encode()).and_then(|lsn| self.storage.log().flush_to(lsn));
        if let Err(e) = durable {
            metrics::counter!(TXN_ABORTS).increment(1);
            self.status.write().abort_all(&txn.mine);
            drop(barrier);
            self.locks.release_all(txn.id);
            if serializable {
                self.ssi.lock().aborted(txn.id);
            }
            return Err(e);
        }
        // The status first: a waiter woken by the release must find the outcome, and what
        // the hooks change (caches of the committed state) too.
        self.status.write().commit_all(&txn.mine);
        drop(barrier);
        metrics::counter!(TXN_COMMITS).increment(1);
        for (_, hook) in txn.on_commit {
            (hook.0)();
        }
        self.locks.release_all(txn.id);
        if serializable {
            self.ssi.lock().committed(txn.id);
        }
        for file in drop_files {
            self.storage.remove_file(file)?;
        }
        Ok(())
    }

    /// Rolls back: the transaction's versions become invisible to everyone.
    pub fn abort(&self, txn: Transaction) {
        metrics::counter!(TXN_ABORTS).increment(1);
        if txn.wrote {
            // Best effort: without the record, recovery reaches the same verdict (no commit).
            let _ = self.storage.log().append(&Record::Abort { xid: txn.id }.encode());
        }
        self.status.write().abort_all(&txn.mine);
        self.locks.release_all(txn.id);
        if self.is_serializable(&txn) {
            self.ssi.lock().aborted(txn.id);
        }
    }

    /// `SAVEPOINT name`: opens a frame whose work a later ROLLBACK TO can undo.
    pub fn savepoint(&self, txn: &mut Transaction, name: &str) {
        txn.savepoints.push(Savepoint { name: name.into(), xids: Vec::new(), current: None });
    }

    /// `RELEASE SAVEPOINT name`: closes that savepoint and every one opened after it; their
    /// work becomes the enclosing frame's (3B001 if there is no such savepoint).
    pub fn release_savepoint(&self, txn: &mut Transaction, name: &str) -> Result<()> {
        let at = txn.find_savepoint(name)?;
        let released: Vec<TxnId> = txn.savepoints.drain(at..).flat_map(|s| s.xids).collect();
        if let Some(parent) = txn.savepoints.last_mut() {
            parent.xids.extend(released);
        }
        for (depth, _) in &mut txn.drop_files {
            *depth = (*depth).min(at);
        }
        for (depth, _) in &mut txn.on_commit {
            *depth = (*depth).min(at);
        }
        Ok(())
    }

    /// `ROLLBACK TO SAVEPOINT name`: undoes the work done since that savepoint (its
    /// subtransactions abort) and keeps it open, empty (3B001 if there is no such savepoint).
    pub fn rollback_to_savepoint(&self, txn: &mut Transaction, name: &str) -> Result<()> {
        let at = txn.find_savepoint(name)?;
        let undone: Vec<TxnId> = txn.savepoints.drain(at + 1..).flat_map(|s| s.xids).collect();
        let frame = &mut txn.savepoints[at];
        let undone: Vec<TxnId> = undone.into_iter().chain(frame.xids.drain(..)).collect();
        frame.current = None;
        txn.forget_above(at);
        self.abort_subtransactions(txn, &undone);
        Ok(())
    }

    /// After an error inside a savepoint: undoes the innermost frame's work at once (what any
    /// ROLLBACK TO must undo anyway), releasing what others may wait for. False if no
    /// savepoint is open (the whole transaction must go).
    pub fn abort_innermost(&self, txn: &mut Transaction) -> bool {
        let depth = txn.savepoints.len();
        let Some(frame) = txn.savepoints.last_mut() else { return false };
        let undone: Vec<TxnId> = frame.xids.drain(..).collect();
        frame.current = None;
        txn.forget_above(depth - 1);
        self.abort_subtransactions(txn, &undone);
        true
    }

    fn abort_subtransactions(&self, txn: &mut Transaction, undone: &[TxnId]) {
        if undone.is_empty() {
            return;
        }
        txn.mine.retain(|x| !undone.contains(x));
        for x in undone {
            // Best effort, as for a whole transaction: recovery aborts what has no commit.
            let _ = self.storage.log().append(&Record::Abort { xid: *x }.encode());
        }
        // The status first: a waiter woken by the release must find the outcome.
        self.status.write().abort_all(undone);
        for x in undone {
            self.locks.release(txn.id, LockTarget::Transaction(*x));
        }
    }

    /// Heap files with ids below `first` are not tracked by SSI: neither reads of them nor
    /// writes to them make antidependencies (for a catalog every statement reads).
    pub fn untrack_files_below(&self, first: FileId) {
        self.ssi_tracked_from.store(first.0, std::sync::atomic::Ordering::Relaxed);
    }

    fn tracks(&self, file: FileId) -> bool {
        file.0 >= self.ssi_tracked_from.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn is_serializable(&self, txn: &Transaction) -> bool {
        txn.isolation == IsolationLevel::Serializable && txn.snapshot.is_some()
    }

    /// Records that serializable `txn` read what `predicate` covers (an index key it looked up,
    /// a relation it scanned a range of). Nothing for other levels.
    pub fn predicate_lock(&self, txn: &Transaction, predicate: Predicate) {
        if self.is_serializable(txn) {
            self.ssi.lock().lock(txn.id, predicate);
        }
    }

    /// Serializable `txn` is about to write what `predicates` cover (a tuple it deletes, the
    /// relation or an index key it inserts into): records the antidependencies from concurrent
    /// serializable readers, failing with 40001 if one completes a dangerous structure.
    pub fn conflict_in(&self, txn: &Transaction, predicates: &[Predicate]) -> Result<()> {
        let Some(snapshot) = txn.snapshot.as_ref().filter(|_| self.is_serializable(txn)) else { return Ok(()) };
        let mut ssi = self.ssi.lock();
        let status = self.status.read();
        ssi.conflict_in(txn.id, predicates, |reader| !snapshot.sees_committed(reader, &status))
    }

    /// After a serializable read of versions: records `txn →rw w` for each concurrent writer
    /// `w` whose work the read could not see (see [`conflict_out_writer`]).
    fn conflict_out(&self, txn: &Transaction, writers: &[TxnId]) -> Result<()> {
        if writers.is_empty() || !self.is_serializable(txn) {
            return Ok(());
        }
        self.ssi.lock().conflict_out(txn.id, writers)
    }

    /// The lock manager.
    pub fn locks(&self) -> &LockManager {
        &self.locks
    }

    /// Takes `mode` on `target` for `txn` until it ends, waiting as the transaction's settings
    /// allow (see [`LockManager::lock`]).
    pub fn lock(&self, txn: &Transaction, target: LockTarget, mode: LockMode, policy: WaitPolicy) -> Result<bool> {
        self.locks.lock(txn.id, target, mode, policy, txn.wait)
    }

    /// Waits until transaction `other` has ended (40P01 if that closes a cycle of waits, 55P03
    /// after `lock_timeout`).
    pub fn wait_for(&self, txn: &Transaction, other: TxnId) -> Result<()> {
        let target = LockTarget::Transaction(other);
        self.locks.lock(txn.id, target, LockMode::Share, WaitPolicy::Block, txn.wait)?;
        self.locks.release(txn.id, target);
        Ok(())
    }

    /// Marks `txn` as a writer: from its first write it holds its own id's lock, which is what
    /// others wait on for its rows.
    /// Inside a savepoint, the frame's first write gives it a subtransaction id, locked the
    /// same way (owned by the transaction). Returns the id the write carries.
    fn start_writing(&self, txn: &mut Transaction) -> TxnId {
        if !txn.wrote {
            txn.wrote = true;
            self.locks.try_lock(txn.id, LockTarget::Transaction(txn.id), LockMode::Exclusive);
        }
        let serializable = self.is_serializable(txn);
        if let Some(frame) = txn.savepoints.last_mut()
            && frame.current.is_none()
        {
            let sub = self.status.write().begin();
            self.locks.try_lock(txn.id, LockTarget::Transaction(sub), LockMode::Exclusive);
            if serializable {
                self.ssi.lock().add_subtransaction(txn.id, sub);
            }
            frame.current = Some(sub);
            frame.xids.push(sub);
            txn.mine.push(sub);
        }
        txn.writer()
    }

    /// Inserts a new version with row `body` and returns its address.
    pub fn insert(&self, txn: &mut Transaction, heap: &HeapFile, body: &[u8]) -> Result<TupleId> {
        let xid = self.start_writing(txn);
        let tuple = tuple::build(xid, body);
        let log = self.storage.log();
        let tid = heap.insert(&tuple, |change, page| {
            log.append_for_pages(&[(change.tid().page, page)], &Record::encode_heap(xid, change))
        })?;
        // After the insert, as for a delete: a reader that locked the relation first is found;
        // one that locks it later scans the new tuple and meets this writer.
        if self.tracks(heap.file()) {
            self.conflict_in(txn, &[Predicate::Relation(heap.file())])?;
        }
        Ok(tid)
    }

    /// Deletes the version at `tid`, which the caller found visible in its snapshot.
    ///
    /// If another transaction is writing it, waits for that one to end. If it rolled back, the
    /// delete goes ahead; if it committed, REPEATABLE READ and SERIALIZABLE fail with 40001
    /// (the first updater wins) and READ COMMITTED learns where the row went ([`Delete`]), as
    /// PostgreSQL does. A row locked `FOR SHARE/UPDATE` by another transaction is waited for too.
    pub fn delete(&self, txn: &mut Transaction, heap: &HeapFile, tid: TupleId) -> Result<Delete> {
        let me = self.start_writing(txn);
        // From here on the transaction is only read (the check below runs under a page latch).
        let txn: &Transaction = txn;
        let top = txn.id;
        let isolation = txn.isolation;
        loop {
            let mut blocked = None;
            let mut outcome = None;
            let check = |current: &[u8]| -> Result<bool> {
                (blocked, outcome) = (None, None);
                let header = tuple::header(current)?;
                if txn.is_mine(header.xmax) {
                    outcome = Some(Delete::AlreadyMine);
                    return Ok(false);
                }
                if header.xmax != TxnId::NONE {
                    match self.status.read().status(header.xmax) {
                        Status::Aborted => {}
                        Status::InProgress => {
                            blocked = Some(Blocked::Writer(header.xmax));
                            return Ok(false);
                        }
                        Status::Committed => {
                            let next = header.next_in(heap.file());
                            if isolation != IsolationLevel::ReadCommitted {
                                return Err(concurrent_change(next.is_some()));
                            }
                            outcome = Some(next.map_or(Delete::Gone, Delete::Updated));
                            return Ok(false);
                        }
                    }
                }
                // Under the page latch: a `FOR SHARE/UPDATE` locker either holds its lock now
                // or will read our xmax after we let go.
                if !self.locks.conflicting_holders(top, LockTarget::Row(tid), LockMode::Exclusive).is_empty() {
                    blocked = Some(Blocked::RowLock);
                    return Ok(false);
                }
                Ok(true)
            };
            let log = self.storage.log();
            // xmax and `next` together: a `next` left by an updater that rolled back must not
            // lead a later waiter to that updater's version.
            let mut stamp = [0u8; 16];
            stamp[..8].copy_from_slice(&me.0.to_le_bytes());
            let logged = |change: &HeapChange<'_>, page: &[u8]| {
                log.append_for_pages(&[(change.tid().page, page)], &Record::encode_heap(me, change))
            };
            if heap.patch(tid, XMAX_AT, &stamp, check, logged)? {
                // After the stamp: a serializable reader that locked the tuple before this
                // check is found here; one that locks it later reads the stamp (conflict out).
                if self.tracks(heap.file()) {
                    self.conflict_in(txn, &[Predicate::Tuple(tid), Predicate::Relation(heap.file())])?;
                }
                return Ok(Delete::Done);
            }
            if let Some(outcome) = outcome {
                return Ok(outcome);
            }
            match blocked {
                Some(Blocked::Writer(other)) => self.wait_for(txn, other)?,
                Some(Blocked::RowLock) => {
                    self.lock(txn, LockTarget::Row(tid), LockMode::Exclusive, WaitPolicy::Block)?;
                }
                None => return Err(DbError::Internal(format!("the delete of {tid} neither happened nor waited"))),
            }
        }
    }

    /// `SELECT ... FOR SHARE` (`mode` S) or `FOR UPDATE` (X) of the version at `tid`, which the
    /// caller found visible: the row lock is taken in the lock table (writers probe it before
    /// stamping `xmax`), then the version's writer, if any, is waited for as a delete would.
    /// `relation` names the table in errors.
    pub fn lock_row(
        &self,
        txn: &Transaction,
        heap: &HeapFile,
        tid: TupleId,
        mode: LockMode,
        policy: WaitPolicy,
        relation: &str,
    ) -> Result<RowLock> {
        let target = LockTarget::Row(tid);
        let busy = || {
            DbError::sql(SqlState::LockNotAvailable, format!("could not obtain lock on row in relation \"{relation}\""))
        };
        loop {
            match self.lock(txn, target, mode, policy) {
                Ok(true) => {}
                Ok(false) => return Ok(RowLock::Skipped),
                Err(e) if policy == WaitPolicy::NoWait && e.sqlstate() == SqlState::LockNotAvailable => {
                    return Err(busy());
                }
                Err(e) => return Err(e),
            }
            let Some(bytes) = heap.get(tid)? else { return Ok(RowLock::Gone) };
            let header = tuple::header(&bytes)?;
            if header.xmax == TxnId::NONE || txn.is_mine(header.xmax) {
                return Ok(RowLock::Locked);
            }
            let status = self.status.read().status(header.xmax);
            match status {
                Status::Aborted => return Ok(RowLock::Locked),
                Status::InProgress => match policy {
                    WaitPolicy::Block => self.wait_for(txn, header.xmax)?,
                    WaitPolicy::NoWait => {
                        self.locks.release(txn.id, target);
                        return Err(busy());
                    }
                    WaitPolicy::Skip => {
                        self.locks.release(txn.id, target);
                        return Ok(RowLock::Skipped);
                    }
                },
                Status::Committed => {
                    self.locks.release(txn.id, target);
                    let next = header.next_in(heap.file());
                    if txn.isolation != IsolationLevel::ReadCommitted {
                        return Err(concurrent_change(next.is_some()));
                    }
                    return Ok(next.map_or(RowLock::Gone, RowLock::Updated));
                }
            }
        }
    }

    /// Points the version at `old` (deleted by `txn`) at its newer version `new`: the link a
    /// READ COMMITTED writer follows after waiting for this update.
    pub fn link_update(&self, txn: &Transaction, heap: &HeapFile, old: TupleId, new: TupleId) -> Result<()> {
        let me = txn.writer();
        let log = self.storage.log();
        let check = |current: &[u8]| Ok(txn.is_mine(tuple::header(current)?.xmax));
        let linked = heap.patch(old, NEXT_AT, &tuple::encode_next(new), check, |change, page| {
            log.append_for_pages(&[(change.tid().page, page)], &Record::encode_heap(me, change))
        })?;
        if linked {
            Ok(())
        } else {
            Err(DbError::Internal(format!("{old} is not deleted by transaction {me}; cannot link its update")))
        }
    }

    /// The header and row body of the version at `tid`, whoever may see it: what a READ
    /// COMMITTED writer re-checks after following [`Delete::Updated`].
    pub fn fetch_version(&self, heap: &HeapFile, tid: TupleId) -> Result<Option<(Header, Vec<u8>)>> {
        let Some(bytes) = heap.get(tid)? else { return Ok(None) };
        Ok(Some((tuple::header(&bytes)?, tuple::body(&bytes).to_vec())))
    }

    /// The row bodies on page `number` of `heap` visible to `txn` under `snapshot`.
    pub fn visible_on_page(
        &self,
        txn: &Transaction,
        snapshot: &Snapshot,
        heap: &HeapFile,
        number: u32,
    ) -> Result<Vec<(TupleId, Vec<u8>)>> {
        let mut arena = TupleArena::new();
        self.visible_on_page_into(txn, snapshot, heap, number, &mut arena)?;
        Ok(arena.iter().map(|(tid, t)| (tid, tuple::body(t).to_vec())).collect())
    }

    /// [`TxnManager::visible_on_page`] into a scan's arena: leaves there the whole tuples
    /// (header and body; [`tuple::body`] finds the row) visible to `txn` under `snapshot`.
    pub fn visible_on_page_into(
        &self,
        txn: &Transaction,
        snapshot: &Snapshot,
        heap: &HeapFile,
        number: u32,
        arena: &mut TupleArena,
    ) -> Result<()> {
        // The SIREAD lock before the read, so that a writer either finds it or wrote first.
        let serializable = self.is_serializable(txn) && self.tracks(heap.file());
        if serializable {
            self.ssi.lock().lock(txn.id, Predicate::Relation(heap.file()));
        }
        heap.scan_page_into(number, arena)?;
        let mut writers = Vec::new();
        let mut damaged = None;
        {
            let status = self.status.read();
            arena.retain(|_, bytes| match tuple::header(bytes) {
                Ok(header) => {
                    let visible = snapshot.sees(&header, &txn.mine, &status);
                    if serializable && let Some(w) = conflict_out_writer(&header, visible, txn, snapshot, &status) {
                        writers.push(w);
                    }
                    visible
                }
                Err(e) => {
                    damaged.get_or_insert(e);
                    false
                }
            });
        }
        damaged.map_or(Ok(()), Err)?;
        writers.sort_unstable();
        writers.dedup();
        self.conflict_out(txn, &writers)
    }

    /// Calls `visit` with the body of each version on page `number` of `heap` that `txn` sees
    /// under `snapshot`, in slot order: what [`TxnManager::visible_on_page_into`] gathers, but
    /// read in place (under the page's shared latch) where the page holds its tuples whole,
    /// so a sequential scan copies nothing. Pages with moved or large tuples go through
    /// `arena` instead.
    ///
    /// Visibility is decided once per distinct (`xmin`, `xmax`) pair met in a row: a table
    /// loaded by one transaction has one, so the check costs a comparison per tuple.
    pub fn visit_visible_on_page(
        &self,
        txn: &Transaction,
        snapshot: &Snapshot,
        heap: &HeapFile,
        number: u32,
        arena: &mut TupleArena,
        mut visit: impl FnMut(&[u8]) -> Result<()>,
    ) -> Result<()> {
        let serializable = self.is_serializable(txn) && self.tracks(heap.file());
        if serializable {
            self.ssi.lock().lock(txn.id, Predicate::Relation(heap.file()));
        }
        let mut writers = Vec::new();
        // The status table is read under the page latch (the order `status` documents), once
        // per page and only if some pair is new.
        let mut status = None;
        let mut last: Option<(TxnId, TxnId, bool)> = None;
        let stopped = heap.visit_inline_page(number, |_, bytes| {
            let visible = match (last, tuple::versions(bytes)) {
                (Some((xmin, xmax, seen)), Some(versions)) if (xmin, xmax) == versions && !serializable => seen,
                _ => {
                    let header = tuple::header(bytes)?;
                    let status = status.get_or_insert_with(|| self.status.read());
                    let seen = snapshot.sees(&header, &txn.mine, status);
                    if serializable && let Some(w) = conflict_out_writer(&header, seen, txn, snapshot, status) {
                        writers.push(w);
                    }
                    last = Some((header.xmin, header.xmax, seen));
                    seen
                }
            };
            if visible { visit(tuple::body(bytes)) } else { Ok(()) }
        })?;
        drop(status);
        if let Some(from) = stopped {
            // A tuple not stored whole: the page again through the arena, which reassembles
            // it, for the slots not visited yet. A tuple keeps its slot when it is updated or
            // moved; slots are freed and reused only for versions this snapshot cannot see. The
            // conflicts met so far are recorded now; the SIREAD lock and the conflicts are taken
            // again there, for every tuple of the page (both are idempotent).
            writers.sort_unstable();
            writers.dedup();
            self.conflict_out(txn, &writers)?;
            self.visible_on_page_into(txn, snapshot, heap, number, arena)?;
            for (tid, bytes) in arena.iter() {
                if tid.slot >= from {
                    visit(tuple::body(bytes))?;
                }
            }
            return Ok(());
        }
        writers.sort_unstable();
        writers.dedup();
        self.conflict_out(txn, &writers)
    }

    /// The row body at `tid` if that version is visible to `txn` under `snapshot`.
    pub fn fetch_visible(
        &self,
        txn: &Transaction,
        snapshot: &Snapshot,
        heap: &HeapFile,
        tid: TupleId,
    ) -> Result<Option<Vec<u8>>> {
        // The SIREAD lock before the read (see `visible_on_page_into`); one on a version that
        // turns out invisible costs a little memory and no correctness.
        let serializable = self.is_serializable(txn) && self.tracks(heap.file());
        if serializable {
            self.ssi.lock().lock(txn.id, Predicate::Tuple(tid));
        }
        let Some(bytes) = heap.get(tid)? else { return Ok(None) };
        let header = tuple::header(&bytes)?;
        let (visible, writer) = {
            let status = self.status.read();
            let visible = snapshot.sees(&header, &txn.mine, &status);
            (visible, conflict_out_writer(&header, visible, txn, snapshot, &status))
        };
        if serializable {
            self.conflict_out(txn, writer.as_slice())?;
        }
        Ok(visible.then(|| tuple::body(&bytes).to_vec()))
    }

    /// Whether the version at `tid` counts against a new entry with the same unique key: the
    /// test a unique index applies to an existing entry. Versions created by aborted
    /// transactions, or deleted by committed ones or by `txn` itself, do not count; one whose
    /// creator or deleter is still running is [`Liveness::Pending`] on it, and the inserter
    /// waits, as in PostgreSQL.
    pub fn liveness(&self, txn: &Transaction, heap: &HeapFile, tid: TupleId) -> Result<Liveness> {
        let Some(bytes) = heap.get(tid)? else { return Ok(Liveness::Dead) };
        let header = tuple::header(&bytes)?;
        let status = self.status.read();
        match status.status(header.xmin) {
            Status::Aborted => return Ok(Liveness::Dead),
            Status::InProgress if !txn.is_mine(header.xmin) => return Ok(Liveness::Pending(header.xmin)),
            _ => {}
        }
        Ok(match header.xmax {
            TxnId::NONE => Liveness::Live,
            x if txn.is_mine(x) => Liveness::Dead,
            x => match status.status(x) {
                Status::Committed => Liveness::Dead,
                Status::Aborted => Liveness::Live,
                Status::InProgress => Liveness::Pending(x),
            },
        })
    }

    /// True if the version at `tid` was created by a transaction that aborted (index rebuilds
    /// skip those).
    pub fn created_by_aborted(&self, tuple_bytes: &[u8]) -> Result<bool> {
        Ok(self.status.read().status(tuple::header(tuple_bytes)?.xmin) == Status::Aborted)
    }

    /// Number of transactions in progress.
    pub fn active_count(&self) -> usize {
        self.status.read().active_count()
    }

    /// A fuzzy checkpoint: fixes a redo point, writes every page dirty before it (while
    /// transactions go on), saves the statuses of the transactions that ended, records the
    /// checkpoint in the control file, and frees the log before `min(redo, keep)` — `keep`
    /// being the oldest record someone above still needs from the log (an LSM tree's
    /// memtable). Recovery then starts from here.
    pub fn checkpoint(&self, keep: Option<Lsn>) -> Result<CheckpointReport> {
        let _one = self.checkpointing.lock();
        let started = std::time::Instant::now();
        let log = self.storage.log();
        let (redo, status) = {
            let _barrier = self.commit_barrier.write();
            let redo = log.begin_checkpoint();
            (redo, self.status.read().clone())
        };
        self.storage.pool().flush_all()?;
        {
            let mut file = self.status_file.lock();
            let (status_file, from) = &mut *file;
            *from = status_file.write(&status, *from)?;
        }
        log.flush_to(redo)?;
        let log_from = keep.map_or(redo, |k| k.min(redo));
        let completed_at =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let info = CheckpointInfo { redo, log_from, next_xid: status.next_id().0, completed_at };
        self.storage.record_checkpoint(info)?;
        let segments_freed = log.recycle_before(log_from)?;
        Ok(CheckpointReport { redo, log_from, segments_freed, elapsed: started.elapsed() })
    }
}

/// The concurrent writer a serializable reader depends on through a version it met: the
/// creator of a version it cannot see (one that neither aborted nor committed before the
/// snapshot), or the deleter of one it sees but whose deletion it cannot.
fn conflict_out_writer(
    header: &Header,
    visible: bool,
    txn: &Transaction,
    snapshot: &Snapshot,
    status: &StatusTable,
) -> Option<TxnId> {
    let concurrent = |id: TxnId| {
        !txn.is_mine(id) && id != TxnId::NONE && !status.is_aborted(id) && !snapshot.sees_committed(id, status)
    };
    if visible {
        concurrent(header.xmax).then_some(header.xmax)
    } else {
        concurrent(header.xmin).then_some(header.xmin)
    }
}

/// 40001 for a row a concurrent transaction updated (`updated`) or deleted.
fn concurrent_change(updated: bool) -> DbError {
    let what = if updated { "update" } else { "delete" };
    DbError::sql(SqlState::SerializationFailure, format!("could not serialize access due to concurrent {what}"))
}

/// Parallel scans share the transaction with their worker threads.
const _: fn() = || {
    fn shared<T: Sync + Send>() {}
    shared::<Transaction>();
    shared::<TxnManager>();
};
