//! The SQL engine of one data directory: it opens storage, runs recovery, bootstraps the catalog
//! on first start, rebuilds indexes, and hands out [`Session`]s.

use crate::access;
use crate::catalog::{self, IndexDef, IndexMethod, RoleDef, TableDef};
use crate::context::ExecContext;
use crate::session::Session;
use crate::vacuum::{Activity, AutovacuumOptions};
use parking_lot::{Condvar, Mutex, RwLock};
use rustydb_foundation::Lsn;
use rustydb_foundation::{DbError, FileId, PageId, Result, TableId, TupleId};
use rustydb_index::lsm::{LoggedEntry, LsmOptions};
use rustydb_index::{BTree, HashIndex, Index, LsmTree, keycode};
use rustydb_storage::{StorageEngine, StorageOptions};
use rustydb_txn::{
    CheckpointReport, IndexLog, IsolationLevel, LockWait, RecoveryReport, Transaction, TxnManager, recover,
};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// The name of the file that marks a data directory whose catalog has been bootstrapped.
const BOOTSTRAP_MARKER: &str = "RUSTYDB_VERSION";

/// How to open an engine.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Storage: pool size, eviction policy, background writer, and the file system it runs on
    /// (real files unless a test substitutes one).
    pub storage: StorageOptions,
    /// The superuser created on first start.
    pub bootstrap_user: String,
    /// The database created on first start.
    pub bootstrap_database: String,
    /// Bytes one statement may hold for the rows it materialises (see `rustydb_storage::MemoryBudget`).
    pub statement_memory_limit: usize,
    /// The longest time between automatic checkpoints (`None`: only by WAL volume).
    pub checkpoint_timeout: Option<Duration>,
    /// Write-ahead log bytes since the last checkpoint's redo point that start the next one
    /// (0: no automatic checkpoints at all).
    pub max_wal_size: u64,
    /// When the autovacuum thread visits tables (`None`: it does not run).
    pub autovacuum: Option<AutovacuumOptions>,
    /// Turns passwords in role statements into verifiers (the security layer's; `None`:
    /// passwords are refused).
    pub password_encoder: Option<Arc<dyn crate::roles::PasswordEncoder>>,
    /// The server's `log_min_duration_statement` (`None`: no statement is logged for its time).
    pub log_min_duration_statement: Option<Duration>,
    /// Decides privileges (the security layer's; `None`: nothing is checked).
    pub access_control: Option<Arc<dyn crate::acl::AccessControl>>,
    /// Records schema, privilege, role and audited-table statements (`None`: nothing is).
    pub audit: Option<Arc<dyn crate::audit::StatementAudit>>,
    /// The longest statement text accepted, in bytes (54000 past it).
    pub max_statement_bytes: usize,
    /// The key store of encryption at rest (the security layer's; `None`: no table can be
    /// encrypted).
    pub encryption: Option<Arc<dyn crate::encryption::TableEncryption>>,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            storage: StorageOptions::default(),
            bootstrap_user: "rustydb".into(),
            bootstrap_database: "rustydb".into(),
            statement_memory_limit: 1 << 30,
            checkpoint_timeout: Some(Duration::from_secs(300)),
            max_wal_size: 1 << 30,
            autovacuum: Some(AutovacuumOptions::default()),
            password_encoder: None,
            log_min_duration_statement: None,
            access_control: None,
            audit: None,
            max_statement_bytes: 64 << 20,
            encryption: None,
        }
    }
}

impl EngineOptions {
    /// The defaults with a buffer pool of `pages` (tests use small pools to force eviction).
    pub fn with_pool_pages(pages: usize) -> Self {
        EngineOptions { storage: StorageOptions::with_pool_pages(pages), ..Self::default() }
    }
}

/// A table's primary key index and the lock that makes its uniqueness check and the insert it
/// guards one step (per table: inserts into different tables do not wait for each other).
#[derive(Debug)]
pub struct PrimaryKey {
    /// The index (a B+tree in its own file): key -> every version's address.
    pub index: BTree,
    /// Held from the uniqueness check until the new entry is in the index.
    pub unique: Mutex<()>,
}

/// An open secondary index, and the lock that makes a unique index's check and insert one step.
#[derive(Debug)]
pub struct OpenIndex {
    /// The index.
    pub index: Box<dyn Index>,
    /// Held from the uniqueness check until the new entry is in the index.
    pub unique: Mutex<()>,
}

/// An open database engine.
#[derive(Debug)]
pub struct Engine {
    tm: TxnManager,
    /// Primary key indexes by table id (shared with the commit hooks of DROP TABLE).
    indexes: Arc<RwLock<HashMap<TableId, Arc<PrimaryKey>>>>,
    /// Secondary indexes by index id, opened on first use (shared with the commit hooks that
    /// close dropped ones).
    secondary: Arc<RwLock<HashMap<TableId, Arc<OpenIndex>>>>,
    /// What recovery found in the log for each LSM tree, until the tree opens and takes it.
    lsm_backlog: Mutex<HashMap<FileId, Vec<LoggedEntry>>>,
    ddl_lock: Mutex<()>,
    next_table_id: AtomicU32,
    recovery: RecoveryReport,
    statement_memory_limit: usize,
    /// What statements did to each table since its last vacuum (autovacuum's trigger).
    activity: Activity,
    /// The autovacuum thread, joined at shutdown so no vacuum writes after the last checkpoint.
    autovacuum: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// Tells the checkpointer thread to stop (set when the engine is dropped).
    checkpointer_stop: Arc<(Mutex<bool>, Condvar)>,
    /// Committed table definitions (shared with the commit hooks of catalog changes).
    catalog_cache: Arc<crate::catalog_cache::CatalogCache>,
    /// The superuser created on first start, which cannot be dropped or renamed.
    bootstrap_user: String,
    /// The database created on first start (where interfaces without a database name go).
    bootstrap_database: String,
    /// Sequences' positions.
    sequences: Arc<crate::sequence::SequenceStore>,
    password_encoder: Option<Arc<dyn crate::roles::PasswordEncoder>>,
    /// Open sessions (`pg_stat_activity`).
    backends: crate::backends::Backends,
    /// Statement figures (`pg_stat_statements`).
    statement_stats: crate::statement_stats::StatementStatsTable,
    log_min_duration_statement: Option<Duration>,
    access_control: Option<Arc<dyn crate::acl::AccessControl>>,
    audit: Option<Arc<dyn crate::audit::StatementAudit>>,
    max_statement_bytes: usize,
    encryption: Option<Arc<dyn crate::encryption::TableEncryption>>,
}

impl Engine {
    /// The catalog cache.
    pub fn catalog_cache(&self) -> &Arc<crate::catalog_cache::CatalogCache> {
        &self.catalog_cache
    }

    /// Opens (creating and bootstrapping if new) the data directory `dir`.
    pub fn open(dir: &Path, options: &EngineOptions) -> Result<Arc<Engine>> {
        let storage = Arc::new(StorageEngine::open_with(dir, options.storage.clone())?);
        // Recovery opens the sealed log records of encrypted tables with their ciphers.
        if let Some(encryption) = &options.encryption {
            encryption.attach(storage.disk())?;
        }
        let recovered = recover(&storage)?;
        let sequences = Arc::new(crate::sequence::SequenceStore::new(storage.vfs().clone(), storage.dir()));
        let engine = Arc::new(Engine {
            tm: TxnManager::new(storage, recovered.status, recovered.status_file),
            indexes: Arc::new(RwLock::new(HashMap::new())),
            secondary: Arc::new(RwLock::new(HashMap::new())),
            lsm_backlog: Mutex::new(recovered.lsm),
            ddl_lock: Mutex::new(()),
            next_table_id: AtomicU32::new(catalog::FIRST_USER_TABLE),
            recovery: recovered.report,
            statement_memory_limit: options.statement_memory_limit,
            activity: Activity::new(options.autovacuum.clone()),
            autovacuum: Mutex::new(None),
            checkpointer_stop: Arc::new((Mutex::new(false), Condvar::new())),
            catalog_cache: Arc::default(),
            bootstrap_user: options.bootstrap_user.clone(),
            bootstrap_database: options.bootstrap_database.clone(),
            sequences,
            password_encoder: options.password_encoder.clone(),
            backends: Default::default(),
            statement_stats: Default::default(),
            log_min_duration_statement: options.log_min_duration_statement,
            access_control: options.access_control.clone(),
            audit: options.audit.clone(),
            max_statement_bytes: options.max_statement_bytes,
            encryption: options.encryption.clone(),
        });
        engine.tm.untrack_files_below(FileId(catalog::FIRST_USER_TABLE));
        let marker = dir.join(BOOTSTRAP_MARKER);
        let bootstrapped = options
            .storage
            .vfs
            .open_existing(&marker)
            .map_err(|e| DbError::io(format!("reading {}", marker.display()), e))?;
        if bootstrapped.is_none() {
            engine.bootstrap(dir, options)?;
        }
        let live = engine.load(options)?;
        engine.drop_orphan_temp_schemas(options)?;
        // The end-of-recovery checkpoint: what recovery settled is saved, and the next crash
        // does not replay this log again.
        let report = engine.checkpoint()?;
        tracing::debug!(redo = %report.redo, "end-of-recovery checkpoint");
        // No record before it will be replayed again, so dropped tables' keys can go.
        if let Some(encryption) = &options.encryption {
            encryption.retain_tables(&live)?;
        }
        if options.max_wal_size > 0 {
            crate::checkpointer::start(
                &engine,
                engine.checkpointer_stop.clone(),
                options.checkpoint_timeout,
                options.max_wal_size,
            )?;
        }
        if let Some(autovacuum) = &options.autovacuum {
            *engine.autovacuum.lock() = Some(crate::autovacuum::start(&engine, autovacuum.clone())?);
        }
        Ok(engine)
    }

    /// A checkpoint (the CHECKPOINT statement, the checkpointer, shutdown): index statistics
    /// saved, every dirty page written, the log before the redo point freed unless an LSM
    /// tree's memtable still needs it.
    pub fn checkpoint(&self) -> Result<CheckpointReport> {
        let mut keep: Option<Lsn> = None;
        let mut need = |lsn: Option<Lsn>| {
            if let Some(l) = lsn {
                keep = Some(keep.map_or(l, |k| k.min(l)));
            }
        };
        for pk in self.indexes.read().values() {
            pk.index.save_stats()?;
        }
        for open in self.secondary.read().values() {
            open.index.save_stats()?;
            need(open.index.log_needed_from());
        }
        // Trees not opened since recovery hold their changes only in the backlog, read from
        // where recovery began.
        if !self.lsm_backlog.lock().is_empty() {
            need(Some(self.recovery.from));
        }
        self.tm.checkpoint(keep)
    }

    fn bootstrap(&self, dir: &Path, options: &EngineOptions) -> Result<()> {
        self.with_transaction(&options.bootstrap_user, &options.bootstrap_database, |ctx| {
            catalog::bootstrap(ctx, &options.bootstrap_user, &options.bootstrap_database)
        })?;
        let marker = dir.join(BOOTSTRAP_MARKER);
        let vfs = &options.storage.vfs;
        let write = || -> std::io::Result<()> {
            let file = vfs.open(&marker)?;
            let text = format!("{}\n", rustydb_foundation::version::RUSTYDB_VERSION);
            file.write_all_at(text.as_bytes(), 0)?;
            file.sync_data()?;
            vfs.sync_dir(dir)
        };
        write().map_err(|e| DbError::io(format!("writing {}", marker.display()), e))
    }

    /// Rebuilds the in-memory state derived from the database: the next table id and the
    /// primary key indexes. Removes the files of LSM trees no committed index names (a crash
    /// in the middle of CREATE INDEX), and their log records with them.
    /// Returns the tables there are.
    fn load(&self, options: &EngineOptions) -> Result<std::collections::HashSet<TableId>> {
        let storage = self.tm.storage().clone();
        self.with_transaction(&options.bootstrap_user, &options.bootstrap_database, |ctx| {
            // Ids are never reused, not even those of a transaction that never committed: the
            // log may still hold records of their files.
            let stored = storage.stored_files()?.iter().map(|f| f.0 & !catalog::INDEX_FILES).max().unwrap_or(0);
            let max = catalog::max_table_id(ctx)?.max(stored);
            ctx.engine.next_table_id.store(max + 1, Ordering::Release);
            let mut lsm_files = std::collections::HashSet::new();
            let mut live = std::collections::HashSet::new();
            for table in catalog::list_all_tables(ctx)? {
                live.insert(table.id);
                access::apply_storage_settings(ctx, &table)?;
                if !table.primary_key.is_empty() {
                    ctx.engine.open_primary_index(ctx, &table)?;
                }
                lsm_files.extend(table.indexes.iter().filter(|i| i.method == IndexMethod::Lsm).map(IndexDef::file));
            }
            ctx.engine.lsm_backlog.lock().retain(|file, _| lsm_files.contains(file));
            for file in storage.aux_files()? {
                if !lsm_files.contains(&file) {
                    storage.remove_file(file)?;
                }
            }
            Ok(live)
        })
    }

    /// Drops the temporary schemas the sessions of the last run left behind (a crash ends no
    /// session cleanly), each in its own database, before any session starts.
    fn drop_orphan_temp_schemas(&self, options: &EngineOptions) -> Result<()> {
        let orphans = self.with_transaction(
            &options.bootstrap_user,
            &options.bootstrap_database,
            crate::schemas::orphan_temp_schemas,
        )?;
        for (database, schema) in orphans {
            let dropped = self.with_transaction(&options.bootstrap_user, &database, |ctx| {
                crate::schemas::drop_schema_named(ctx, &schema, rustydb_txn::WaitPolicy::Block)
            });
            // One that cannot go (a damaged table file) must not keep the server down: it is
            // unreachable, and the next start tries again.
            if let Err(e) = dropped {
                tracing::warn!(%database, %schema, error = %e, "could not drop a temporary schema left by a crash");
            }
        }
        Ok(())
    }

    /// Opens a table's primary key index; one that was never written (a data directory from
    /// before indexes were stored) is built from every version in the heap.
    fn open_primary_index(&self, ctx: &mut ExecContext<'_>, table: &TableDef) -> Result<()> {
        let storage = self.tm.storage();
        let file = table.primary_index_file();
        let stored = rustydb_storage::page::read::kind(&storage.pool().read(PageId::new(file, 0))?) != 0;
        if stored {
            let index = BTree::open(storage.pool().clone(), file, self.index_log())?;
            self.indexes.write().insert(table.id, Arc::new(PrimaryKey { index, unique: Mutex::new(()) }));
            return Ok(());
        }
        let index = &self.create_primary_index(table)?.index;
        let mut entries: Vec<(Vec<u8>, TupleId)> = access::scan_all_versions(ctx, table)?
            .into_iter()
            .map(|(tid, row)| {
                let key: Vec<_> = table.primary_key.iter().map(|&i| row[i].clone()).collect();
                (keycode::encode_key(&key), tid)
            })
            .collect();
        entries.sort_unstable();
        index.bulk_load(entries)?;
        Ok(())
    }

    fn index_log(&self) -> Arc<IndexLog> {
        Arc::new(IndexLog::new(self.tm.storage().log().clone()))
    }

    /// Runs `work` in a fresh READ COMMITTED transaction, committing on success and aborting on
    /// error. Its lock waits have the defaults (see [`Engine::with_transaction_waiting`]).
    pub fn with_transaction<T>(
        &self,
        user: &str,
        database: &str,
        work: impl FnOnce(&mut ExecContext<'_>) -> Result<T>,
    ) -> Result<T> {
        self.with_transaction_waiting(user, database, LockWait::default(), work)
    }

    /// [`Engine::with_transaction`] whose lock waits follow `wait` (a session's lock_timeout
    /// and deadlock_timeout).
    pub fn with_transaction_waiting<T>(
        &self,
        user: &str,
        database: &str,
        wait: LockWait,
        work: impl FnOnce(&mut ExecContext<'_>) -> Result<T>,
    ) -> Result<T> {
        let mut txn = self.tm.begin(IsolationLevel::ReadCommitted);
        txn.wait = wait;
        let snapshot = self.tm.statement_snapshot(&mut txn);
        let mut ctx = ExecContext::new(self, &mut txn, snapshot, user, database);
        match work(&mut ctx) {
            Ok(v) => {
                self.tm.commit(txn)?;
                Ok(v)
            }
            Err(e) => {
                self.tm.abort(txn);
                Err(e)
            }
        }
    }

    /// A new session for `user` in `database` (the caller has authenticated it).
    pub fn session(self: &Arc<Self>, user: &str, database: &str) -> Session {
        Session::new(self.clone(), user, database)
    }

    /// Looks up a role (for authentication).
    pub fn find_role(&self, name: &str) -> Result<Option<RoleDef>> {
        self.with_transaction(name, "", |ctx| catalog::find_role(ctx, name))
    }

    /// True if the database exists.
    pub fn database_exists(&self, name: &str) -> Result<bool> {
        self.with_transaction("", name, |ctx| catalog::database_exists(ctx, name))
    }

    /// Bytes one statement may hold for the rows it materialises.
    pub fn statement_memory_limit(&self) -> usize {
        self.statement_memory_limit
    }

    /// The transaction manager.
    pub fn txn_manager(&self) -> &TxnManager {
        &self.tm
    }

    /// What recovery did when the engine opened.
    pub fn recovery_report(&self) -> &RecoveryReport {
        &self.recovery
    }

    /// What statements did to each table since its last vacuum.
    pub fn activity(&self) -> &Activity {
        &self.activity
    }

    /// The primary key index of `table`, if it has one.
    pub fn primary_index(&self, table: &TableDef) -> Option<Arc<PrimaryKey>> {
        // A key dropped by this transaction (DROP COLUMN) stays open until it commits.
        if table.primary_key.is_empty() {
            return None;
        }
        self.indexes.read().get(&table.id).cloned()
    }

    /// Creates (empty) the primary key index of a new table.
    pub fn create_primary_index(&self, table: &TableDef) -> Result<Arc<PrimaryKey>> {
        let storage = self.tm.storage();
        let index =
            BTree::create(storage.pool().clone(), table.primary_index_file(), table.file(), true, self.index_log())?;
        let pk = Arc::new(PrimaryKey { index, unique: Mutex::new(()) });
        self.indexes.write().insert(table.id, pk.clone());
        Ok(pk)
    }

    /// The secondary index `def`, opened on first use.
    pub fn open_index(&self, def: &IndexDef) -> Result<Arc<OpenIndex>> {
        if let Some(open) = self.secondary.read().get(&def.id) {
            return Ok(open.clone());
        }
        // Opened under the map's lock, so an LSM tree (which takes its backlog) opens once.
        let mut secondary = self.secondary.write();
        if let Some(open) = secondary.get(&def.id) {
            return Ok(open.clone());
        }
        let storage = self.tm.storage();
        let pool = storage.pool().clone();
        let file = def.file();
        let index: Box<dyn Index> = match def.method {
            IndexMethod::BTree => Box::new(BTree::open(pool, file, self.index_log())?),
            IndexMethod::Hash => Box::new(HashIndex::open(pool, file, self.index_log())?),
            IndexMethod::Lsm => {
                let backlog = self.lsm_backlog.lock().remove(&file).unwrap_or_default();
                Box::new(self.open_lsm(def, backlog)?)
            }
        };
        let open = Arc::new(OpenIndex { index, unique: Mutex::new(()) });
        secondary.insert(def.id, open.clone());
        Ok(open)
    }

    fn open_lsm(&self, def: &IndexDef, backlog: Vec<LoggedEntry>) -> Result<LsmTree> {
        let storage = self.tm.storage();
        let file = def.file();
        let heap = FileId(def.table.0);
        LsmTree::open_logged(&storage.aux_dir(file), heap, LsmOptions::default(), self.index_log(), file, backlog)
    }

    /// Creates (empty) the secondary index `def` over `table`.
    pub fn create_index(&self, def: &IndexDef, table: &TableDef) -> Result<Arc<OpenIndex>> {
        let pool = self.tm.storage().pool().clone();
        let (file, heap) = (def.file(), table.file());
        let index: Box<dyn Index> = match def.method {
            IndexMethod::BTree => Box::new(BTree::create(pool, file, heap, def.unique, self.index_log())?),
            IndexMethod::Hash => Box::new(HashIndex::create(pool, file, heap, def.unique, self.index_log())?),
            IndexMethod::Lsm => Box::new(self.open_lsm(def, Vec::new())?),
        };
        let open = Arc::new(OpenIndex { index, unique: Mutex::new(()) });
        self.secondary.write().insert(def.id, open.clone());
        Ok(open)
    }

    /// Drops `table` at `txn`'s commit: its heap's file, its primary key index (file and open
    /// index, which checkpoints would otherwise go on saving into a removed file) and its
    /// secondary indexes.
    pub fn drop_table_on_commit(&self, txn: &mut Transaction, table: &TableDef) {
        txn.drop_file_on_commit(table.file());
        if !table.primary_key.is_empty() {
            self.drop_primary_index_on_commit(txn, table);
        }
        for index in &table.indexes {
            self.drop_index_on_commit(txn, index);
        }
    }

    /// Drops `table`'s primary key index from what `txn` removes at commit: its file, and the
    /// open index (DROP COLUMN of a key column takes the key with it).
    pub fn drop_primary_index_on_commit(&self, txn: &mut Transaction, table: &TableDef) {
        let indexes = self.indexes.clone();
        let id = table.id;
        txn.on_commit(move || {
            indexes.write().remove(&id);
        });
        txn.drop_file_on_commit(table.primary_index_file());
    }

    /// Drops the index `def` from what `txn` removes at commit: its file, and the open index
    /// (an LSM tree's background thread stops when the last user lets go of it).
    pub fn drop_index_on_commit(&self, txn: &mut Transaction, def: &IndexDef) {
        let secondary = self.secondary.clone();
        let id = def.id;
        txn.on_commit(move || {
            secondary.write().remove(&id);
        });
        txn.drop_file_on_commit(def.file());
    }

    /// Sequences' positions.
    pub fn sequences(&self) -> &Arc<crate::sequence::SequenceStore> {
        &self.sequences
    }

    /// The superuser created on first start.
    pub fn bootstrap_user(&self) -> &str {
        &self.bootstrap_user
    }

    /// The statement audit, if one is installed.
    pub fn audit(&self) -> Option<&Arc<dyn crate::audit::StatementAudit>> {
        self.audit.as_ref()
    }

    /// The longest statement text accepted, in bytes.
    pub fn max_statement_bytes(&self) -> usize {
        self.max_statement_bytes
    }

    /// The privilege checker, if one is installed.
    pub fn access_control(&self) -> Option<&Arc<dyn crate::acl::AccessControl>> {
        self.access_control.as_ref()
    }

    /// The key store of encryption at rest, if the server has one.
    pub fn encryption(&self) -> Option<&Arc<dyn crate::encryption::TableEncryption>> {
        self.encryption.as_ref()
    }

    /// Runs `work` with the security catalog as last committed (the login path: CONNECT
    /// privileges, memberships).
    pub fn with_security_catalog<T>(
        &self,
        database: &str,
        work: impl FnOnce(&crate::acl::SecurityCatalog) -> T,
    ) -> Result<T> {
        let catalog = self.with_transaction("", database, crate::acl::load)?;
        Ok(work(&catalog))
    }

    /// Open sessions, for `pg_stat_activity`.
    pub fn backends(&self) -> &crate::backends::Backends {
        &self.backends
    }

    /// Statement figures, for `pg_stat_statements`.
    pub fn statement_stats(&self) -> &crate::statement_stats::StatementStatsTable {
        &self.statement_stats
    }

    /// The server's `log_min_duration_statement`.
    pub fn log_min_duration_statement(&self) -> Option<Duration> {
        self.log_min_duration_statement
    }

    /// The database created on first start.
    pub fn bootstrap_database(&self) -> &str {
        &self.bootstrap_database
    }

    /// What turns passwords into verifiers, if the security layer provided it.
    pub fn password_encoder(&self) -> Option<&Arc<dyn crate::roles::PasswordEncoder>> {
        self.password_encoder.as_ref()
    }

    /// Serialises DDL statements.
    pub fn ddl_lock(&self) -> &Mutex<()> {
        &self.ddl_lock
    }

    /// Hands out a table id never used before.
    pub fn allocate_table_id(&self) -> TableId {
        TableId(self.next_table_id.fetch_add(1, Ordering::AcqRel))
    }

    /// Stops autovacuum (it gives up the table it is on and its thread is joined), then takes
    /// the shutdown checkpoint: every dirty page written and synced, so the next start replays
    /// nothing.
    pub fn shutdown(&self) -> Result<()> {
        self.activity.stop();
        let thread = self.autovacuum.lock().take();
        if let Some(thread) = thread
            && thread.join().is_err()
        {
            tracing::error!("the autovacuum thread panicked");
        }
        self.checkpoint().map(|_| ())
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        let (stop, wake) = &*self.checkpointer_stop;
        *stop.lock() = true;
        wake.notify_all();
        self.activity.stop();
    }
}
