//! Encryption at rest as the engine sees it: which tables are encrypted, and the moments the
//! engine must tell the key store about (a table or index created, a key rotated, startup).
//!
//! The key store itself — data keys, the master key that wraps them, the key file — is the
//! security layer's ([`TableEncryption`] is implemented there and handed in through
//! `EngineOptions::encryption`). What it gives storage is a page cipher per data file, installed
//! in the disk manager's cipher map; storage then encrypts the file's pages and seals its log
//! records without ever holding a key.
//!
//! Ordering matters twice:
//! - At open, [`TableEncryption::attach`] runs before recovery: the log holds sealed records
//!   of encrypted files, which replay must open.
//! - A new table's key is made durable and its cipher installed before the table's first page
//!   or log record is written (and before its heap is opened, since a heap reads its cipher's
//!   tail size when it opens).
//!
//! Keys of dropped tables outlive them until the next start, after the end-of-recovery
//! checkpoint: until a checkpoint passes the drop, recovery may still replay the dropped
//! table's records.

use crate::context::ExecContext;
use rustydb_foundation::{DbError, FileId, Result, SqlState, TableId, Value};
use rustydb_storage::DiskManager;
use rustydb_txn::{LockMode, WaitPolicy};
use std::collections::HashSet;

/// One encrypted table's keys, as `rustydb_encryption_keys()` reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableKeys {
    /// The table.
    pub table: TableId,
    /// The data key new writes use.
    pub current: u32,
    /// Keys kept (the current one and older ones pages may still be written with).
    pub keys: usize,
    /// The table's data files (heap and indexes).
    pub files: Vec<FileId>,
}

/// What a data key rotation left to do: rewrite `files`, then retire `old`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    /// The table's files when the key changed.
    pub files: Vec<FileId>,
    /// The new key.
    pub current: u32,
    /// The keys it replaces.
    pub old: Vec<u32>,
}

/// The key store (the security layer's).
pub trait TableEncryption: Send + Sync + std::fmt::Debug {
    /// Installs the cipher of every encrypted file in `disk` (at open, before recovery).
    fn attach(&self, disk: &DiskManager) -> Result<()>;
    /// Whether new tables are encrypted unless `WITH (encrypted = false)` says otherwise.
    fn encrypt_by_default(&self) -> bool;
    /// A new data key for `table`, durable when this returns, its cipher installed in `disk`
    /// for `files` (the heap and its primary key index).
    fn encrypt_table(&self, disk: &DiskManager, table: TableId, files: &[FileId]) -> Result<()>;
    /// Whether `table` is encrypted.
    fn is_encrypted(&self, table: TableId) -> bool;
    /// Protects `file` (a new index of `table`) with the table's cipher, durably.
    fn add_file(&self, disk: &DiskManager, table: TableId, file: FileId) -> Result<()>;
    /// A new data key for `table`; writes from now on use it. Returns the table's keys as of
    /// that moment (taken together, so no file added meanwhile is missed): its files, the new
    /// current key, and the older keys, which still read older pages until
    /// [`TableEncryption::retire_keys`].
    fn rotate_table_key(&self, table: TableId) -> Result<Rotation>;
    /// Forgets `table`'s keys `ids` (no page or replayable record uses them any more).
    fn retire_keys(&self, table: TableId, ids: &[u32]) -> Result<()>;
    /// Reads the master key again from its source and re-wraps every data key with it; returns
    /// the number of keys re-wrapped (pages are untouched).
    fn rotate_master_key(&self) -> Result<usize>;
    /// Forgets the keys of tables not in `live` (at open, once no log record can need them).
    fn retain_tables(&self, live: &HashSet<TableId>) -> Result<()>;
    /// Every encrypted table's keys.
    fn tables(&self) -> Vec<TableKeys>;
}

/// The key store, or 55000 when encryption at rest is not configured.
pub fn store<'e>(ctx: &ExecContext<'e>) -> Result<&'e std::sync::Arc<dyn TableEncryption>> {
    ctx.engine.encryption().ok_or_else(|| {
        DbError::sql(SqlState::ObjectNotInPrerequisiteState, "encryption at rest is not configured")
            .with_hint("Give the server a master key (tde_master_key_file or RUSTYDB_MASTER_KEY) and restart it.")
    })
}

/// Refuses what an encrypted table cannot have: LSM indexes keep their own files, which the
/// page cipher does not cover.
pub fn check_index_method(table: &str, method: crate::catalog::IndexMethod) -> Result<()> {
    if method == crate::catalog::IndexMethod::Lsm {
        return Err(DbError::sql(
            SqlState::FeatureNotSupported,
            format!("an lsm index cannot be created on encrypted table \"{table}\""),
        )
        .with_hint("Use a btree or hash index."));
    }
    Ok(())
}

/// The key functions callable from SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyCall {
    /// `rustydb_rotate_table_key(table)`: a new data key, every page rewritten under it, the
    /// old keys retired; returns the new key's id. Superusers only.
    RotateTableKey,
    /// `rustydb_rotate_master_key()`: the master key read again from its source and every data
    /// key re-wrapped with it; returns how many. Superusers only.
    RotateMasterKey,
    /// `rustydb_table_key_id(table)`: the id of the data key the table's writes use (NULL for a
    /// table that is not encrypted).
    TableKeyId,
}

fn require_superuser(ctx: &ExecContext<'_>, what: &str) -> Result<()> {
    if ctx.engine.access_control().is_none()
        || ctx.engine.with_security_catalog(ctx.database, |c| c.is_superuser(ctx.user))?
    {
        return Ok(());
    }
    Err(DbError::sql(SqlState::InsufficientPrivilege, format!("must be superuser to {what}")))
}

fn named_table(ctx: &mut ExecContext<'_>, name: &Value) -> Result<crate::catalog::TableDef> {
    let Value::Text(name) = name else { return Err(DbError::Internal("a table name that is not text".into())) };
    let name = crate::schemas::parse_qualified(name, ctx.database)?;
    // ACCESS SHARE: the table cannot be dropped meanwhile, and its writers go on.
    crate::access::open_table(ctx, &name, LockMode::AccessShare, WaitPolicy::Block)?
        .ok_or_else(|| DbError::undefined_table(&name))
}

/// Runs a key function.
pub fn call(ctx: &mut ExecContext<'_>, call: KeyCall, args: &[Value]) -> Result<Value> {
    if args.first().is_some_and(Value::is_null) {
        return Ok(Value::Null);
    }
    match call {
        KeyCall::TableKeyId => {
            let table = named_table(ctx, &args[0])?;
            let current = ctx.engine.encryption().and_then(|e| {
                e.tables().into_iter().find(|t| t.table == table.id).map(|t| Value::Int8(i64::from(t.current)))
            });
            Ok(current.unwrap_or(Value::Null))
        }
        KeyCall::RotateMasterKey => {
            require_superuser(ctx, "rotate the master key")?;
            let count = store(ctx)?.clone().rotate_master_key()?;
            Ok(Value::Int8(count as i64))
        }
        KeyCall::RotateTableKey => {
            require_superuser(ctx, "rotate a table's data key")?;
            let store = store(ctx)?.clone();
            let table = named_table(ctx, &args[0])?;
            if !store.is_encrypted(table.id) {
                return Err(DbError::sql(
                    SqlState::ObjectNotInPrerequisiteState,
                    format!("table \"{}\" is not encrypted", table.name),
                ));
            }
            rotate_table_key(ctx, store.as_ref(), table.id)
        }
    }
}

/// Rotation without downtime: writes switch to the new key at once; every page on disk is
/// then marked to be written again (through the new key), a checkpoint writes them and moves
/// recovery's starting point past every record sealed with the old keys, and only then are the
/// old keys forgotten. Other sessions read and write the table throughout.
fn rotate_table_key(ctx: &mut ExecContext<'_>, store: &dyn TableEncryption, table: TableId) -> Result<Value> {
    let rotation = store.rotate_table_key(table)?;
    let storage = ctx.engine.txn_manager().storage().clone();
    for &file in &rotation.files {
        for number in 0..storage.disk().page_count(file)? {
            ctx.interrupt.check()?;
            storage.pool().rewrite(rustydb_foundation::PageId::new(file, number))?;
        }
    }
    // After it, recovery starts past every record sealed with the old keys (and passes over
    // older sealed records unopened, see `LogDevice::replay_opening_after`).
    ctx.engine.checkpoint()?;
    store.retire_keys(table, &rotation.old)?;
    Ok(Value::Int8(i64::from(rotation.current)))
}
