//! The transaction manager: begins, commits and aborts transactions, and performs MVCC-aware
//! reads and writes of heap tuples, logging every change before it is made.

use crate::record::Record;
use crate::snapshot::Snapshot;
use crate::status::{Status, StatusTable};
use crate::tuple::{self, XMAX_AT};
use parking_lot::RwLock;
use rustydb_foundation::{DbError, FileId, Result, TupleId, TxnId};
use rustydb_storage::{HeapFile, StorageEngine, TupleArena};
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
#[derive(Debug)]
pub struct Transaction {
    id: TxnId,
    isolation: IsolationLevel,
    snapshot: Option<Snapshot>,
    wrote: bool,
    drop_files: Vec<FileId>,
    on_commit: Vec<CommitHook>,
}

/// Work for after a commit (closing what the transaction dropped).
struct CommitHook(Box<dyn FnOnce() + Send>);

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

    /// Its isolation level.
    pub fn isolation(&self) -> IsolationLevel {
        self.isolation
    }

    /// Schedules a data file for removal when (and only if) the transaction commits.
    pub fn drop_file_on_commit(&mut self, file: FileId) {
        self.drop_files.push(file);
    }

    /// Runs `hook` when (and only if) the transaction commits, before its dropped files are
    /// removed: the layer above closes what it holds open of them.
    pub fn on_commit(&mut self, hook: impl FnOnce() + Send + 'static) {
        self.on_commit.push(CommitHook(Box::new(hook)));
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
    storage: Arc<StorageEngine>,
    status: RwLock<StatusTable>,
}

impl TxnManager {
    /// A manager over `storage`, starting from the status recovery produced.
    pub fn new(storage: Arc<StorageEngine>, status: StatusTable) -> Self {
        TxnManager { storage, status: RwLock::new(status) }
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
        Transaction { id, isolation, snapshot: None, wrote: false, drop_files: Vec::new(), on_commit: Vec::new() }
    }

    /// The snapshot a statement of `txn` reads with: a new one per statement under READ
    /// COMMITTED, the transaction's first one otherwise.
    pub fn statement_snapshot(&self, txn: &mut Transaction) -> Snapshot {
        if let Some(s) = &txn.snapshot {
            return s.clone();
        }
        let snap = self.status.read().snapshot();
        if txn.isolation != IsolationLevel::ReadCommitted {
            txn.snapshot = Some(snap.clone());
        }
        snap
    }

    /// Commits: the commit record is fsynced before this returns, and only then do other
    /// transactions see the changes. Dropped tables' files are removed afterwards.
    pub fn commit(&self, txn: Transaction) -> Result<()> {
        if !txn.wrote {
            self.status.write().commit(txn.id);
            txn.on_commit.into_iter().for_each(|hook| (hook.0)());
            return Ok(());
        }
        let record = Record::Commit { xid: txn.id, drop_files: txn.drop_files.clone() };
        let durable = self.storage.log().append(&record.encode()).and_then(|lsn| self.storage.log().flush_to(lsn));
        if let Err(e) = durable {
            self.status.write().abort(txn.id);
            return Err(e);
        }
        self.status.write().commit(txn.id);
        for hook in txn.on_commit {
            (hook.0)();
        }
        for file in &txn.drop_files {
            self.storage.remove_file(*file)?;
        }
        Ok(())
    }

    /// Rolls back: the transaction's versions become invisible to everyone.
    pub fn abort(&self, txn: Transaction) {
        if txn.wrote {
            // Best effort: without the record, recovery reaches the same verdict (no commit).
            let _ = self.storage.log().append(&Record::Abort { xid: txn.id }.encode());
        }
        self.status.write().abort(txn.id);
    }

    /// Inserts a new version with row `body` and returns its address.
    pub fn insert(&self, txn: &mut Transaction, heap: &HeapFile, body: &[u8]) -> Result<TupleId> {
        let tuple = tuple::build(txn.id, body);
        txn.wrote = true;
        let log = self.storage.log();
        let xid = txn.id;
        heap.insert(&tuple, |change| log.append(&Record::encode_heap(xid, change)))
    }

    /// Deletes the version at `tid` (which the caller saw in its snapshot). Returns `false` if
    /// this transaction had already deleted it. A version another transaction deleted or is
    /// deleting is a serialization failure (40001).
    pub fn delete(&self, txn: &mut Transaction, heap: &HeapFile, tid: TupleId) -> Result<bool> {
        let me = txn.id;
        let check = |current: &[u8]| -> Result<bool> {
            let header = tuple::header(current)?;
            if header.xmax == me {
                return Ok(false);
            }
            if header.xmax == TxnId::NONE {
                return Ok(true);
            }
            match self.status.read().status(header.xmax) {
                Status::Aborted => Ok(true),
                Status::InProgress | Status::Committed => Err(DbError::serialization_failure()),
            }
        };
        txn.wrote = true;
        let log = self.storage.log();
        heap.patch(tid, XMAX_AT, &me.0.to_le_bytes(), check, |change| log.append(&Record::encode_heap(me, change)))
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
        heap.scan_page_into(number, arena)?;
        let status = self.status.read();
        let mut damaged = None;
        arena.retain(|_, bytes| match tuple::header(bytes) {
            Ok(header) => snapshot.sees(&header, txn.id, &status),
            Err(e) => {
                damaged.get_or_insert(e);
                false
            }
        });
        damaged.map_or(Ok(()), Err)
    }

    /// The row body at `tid` if that version is visible to `txn` under `snapshot`.
    pub fn fetch_visible(
        &self,
        txn: &Transaction,
        snapshot: &Snapshot,
        heap: &HeapFile,
        tid: TupleId,
    ) -> Result<Option<Vec<u8>>> {
        let Some(bytes) = heap.get(tid)? else { return Ok(None) };
        let visible = snapshot.sees(&tuple::header(&bytes)?, txn.id, &self.status.read());
        Ok(visible.then(|| tuple::body(&bytes).to_vec()))
    }

    /// True if the version at `tid` is, or may yet become, live for someone other than a
    /// transaction that deleted it: the test a unique index applies to an existing entry.
    /// Versions created by aborted transactions, or deleted by committed ones or by `txn`
    /// itself, do not count.
    pub fn may_be_live(&self, txn: &Transaction, heap: &HeapFile, tid: TupleId) -> Result<bool> {
        let Some(bytes) = heap.get(tid)? else { return Ok(false) };
        let header = tuple::header(&bytes)?;
        let status = self.status.read();
        if status.status(header.xmin) == Status::Aborted {
            return Ok(false);
        }
        Ok(match header.xmax {
            TxnId::NONE => true,
            x if x == txn.id => false,
            x => status.status(x) != Status::Committed,
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
}
