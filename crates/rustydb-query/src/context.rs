//! The context a statement runs in: the engine, the session's transaction and the statement's
//! snapshot, who is asking, and the statement's memory — the arena its scans copy tuples into
//! and the budget for the rows it materialises (see `rustydb_storage::arena`).

use crate::engine::Engine;
use rustydb_foundation::Value;
use rustydb_storage::{MemoryBudget, TupleArena};
use rustydb_txn::{Snapshot, Transaction};

/// Everything a statement needs while it runs.
#[derive(Debug)]
pub struct ExecContext<'a> {
    /// The engine (storage, transactions, indexes).
    pub engine: &'a Engine,
    /// The transaction the statement belongs to.
    pub txn: &'a mut Transaction,
    /// The statement's snapshot.
    pub snapshot: Snapshot,
    /// The session's current role: privileges are checked against it (`current_user`).
    pub user: &'a str,
    /// The user the session logged in as (`session_user`; the same as `user` unless
    /// `SET ROLE` changed that).
    pub session_user: &'a str,
    /// The session's database.
    pub database: &'a str,
    /// The database's schemas, once looked up (see [`ExecContext::schemas`]).
    schemas: Option<std::sync::Arc<crate::schemas::SchemaSet>>,
    /// The namespaces of the search path, once resolved (see [`ExecContext::search_path`]).
    search_path: Option<std::sync::Arc<[u32]>>,
    /// The path a view's query is bound under, while it is (see [`ExecContext::with_search_path`]).
    view_search_path: Option<std::sync::Arc<[u32]>>,
    /// Where scans copy each page's tuples, reused page after page.
    pub scan: TupleArena,
    /// What the statement may hold, and holds, in materialised rows.
    pub memory: MemoryBudget,
    /// True inside an explicit transaction block (BEGIN ... COMMIT): LOCK TABLE needs one.
    pub in_block: bool,
    /// Set when a table lock had to be waited for while binding.
    pub waited_for_lock: bool,
    /// The answers of the statement's uncorrelated subqueries, computed once.
    pub subqueries: crate::exec::SubqueryCache,
    /// The work tables of the statement's recursive queries.
    pub work_tables: crate::exec::WorkTables,
    /// The statement's parameters (none for a simple query).
    pub params: crate::params::Params,
    /// What may stop the statement (a cancel request, `statement_timeout`).
    pub interrupt: crate::interrupt::Interrupt,
    /// The session's `currval`/`lastval` values (shared with the session).
    pub sequences: std::sync::Arc<parking_lot::Mutex<crate::sequence::SessionSequences>>,
    /// The sequences this statement's `nextval` calls have named, looked up once each.
    pub sequence_defs: std::collections::HashMap<String, crate::catalog::SequenceDef>,
    /// What the statement being bound needs of the objects it names (checked before it runs;
    /// see `acl.rs`).
    pub access_requests: Vec<crate::acl::AccessRequest>,
    /// The sequence functions (sequence id, function) whose privileges this statement has
    /// checked.
    pub sequence_checks: std::collections::HashSet<(u32, u8)>,
    /// Whether plans may run on the vectorized executor (`rustydb.vectorize`).
    pub vectorize: bool,
    /// The session's settings, for `pg_settings` (`None` outside a session).
    pub settings: Option<&'a crate::settings::SessionSettings>,
    /// The session's pid (`pg_backend_pid()`; 0 outside a session).
    pub backend_pid: i32,
    /// The session's temporary schema (`None` outside a session; see `schemas.rs`).
    pub temp_schema: Option<std::sync::Arc<crate::schemas::TempSchema>>,
    /// The table locks taken so far, in order (a cached plan takes them again; see
    /// `plan_cache.rs`).
    pub locks_taken: Vec<crate::access::TakenLock>,
    /// Set when binding put into the plan something that changes with neither the catalog nor
    /// the session's settings (the time of `now()`, the rows of `pg_stat_activity`): such a
    /// plan is never cached.
    pub plan_volatile: bool,
    /// The session's named prepared statements (`pg_prepared_statements`; `None` outside a
    /// session).
    pub prepared: Option<std::sync::Arc<crate::prepared_statements::PreparedStatements>>,
    /// A query's rows past `work_mem` go to a temporary file rather than memory (set for
    /// sessions whose client reads results a batch at a time; see `Session::spool_results`).
    pub spool_results: bool,
}

impl<'a> ExecContext<'a> {
    /// A context for one statement, with a fresh arena and the engine's memory limit.
    pub fn new(
        engine: &'a Engine,
        txn: &'a mut Transaction,
        snapshot: Snapshot,
        user: &'a str,
        database: &'a str,
    ) -> Self {
        let memory = MemoryBudget::new(engine.statement_memory_limit());
        ExecContext {
            engine,
            txn,
            snapshot,
            user,
            session_user: user,
            database,
            schemas: None,
            search_path: None,
            view_search_path: None,
            scan: TupleArena::new(),
            memory,
            in_block: false,
            waited_for_lock: false,
            subqueries: Default::default(),
            work_tables: Default::default(),
            params: Default::default(),
            interrupt: Default::default(),
            sequences: Default::default(),
            sequence_defs: Default::default(),
            access_requests: Vec::new(),
            sequence_checks: Default::default(),
            vectorize: true,
            settings: None,
            backend_pid: 0,
            temp_schema: None,
            locks_taken: Vec::new(),
            plan_volatile: false,
            prepared: None,
            spool_results: false,
        }
    }

    /// The namespace of the database's `public` schema, which keys what is cached per
    /// database (see `schemas.rs`). 3D000 if the database does not exist (any more).
    pub fn namespace(&mut self) -> rustydb_foundation::Result<u32> {
        Ok(self.schemas()?.public)
    }

    /// The schemas of the session's database (see `schemas.rs`).
    pub fn schemas(&mut self) -> rustydb_foundation::Result<std::sync::Arc<crate::schemas::SchemaSet>> {
        // Read once per statement: only the schema commands change them within one, and they
        // say so (`forget_schemas`).
        if let Some(set) = &self.schemas {
            return Ok(set.clone());
        }
        let set = crate::schemas::load(self)?;
        self.schemas = Some(set.clone());
        Ok(set)
    }

    /// The namespaces unqualified names resolve in, in order: the session's `search_path`,
    /// or the path a view is bound under ([`ExecContext::with_search_path`]).
    pub fn search_path(&mut self) -> rustydb_foundation::Result<std::sync::Arc<[u32]>> {
        if let Some(path) = &self.view_search_path {
            return Ok(path.clone());
        }
        if let Some(path) = &self.search_path {
            return Ok(path.clone());
        }
        let path: std::sync::Arc<[u32]> = crate::schemas::search_path(self)?.into();
        self.search_path = Some(path.clone());
        Ok(path)
    }

    /// The statement created, dropped or renamed a schema: read the schemas (and the search
    /// path over them) again.
    pub(crate) fn forget_schemas(&mut self) {
        self.schemas = None;
        self.search_path = None;
    }

    /// Makes unqualified names resolve along `path` (`None`: the session's search path again),
    /// giving back what was in effect (for a binder, which cannot lend the context out).
    pub fn swap_view_search_path(&mut self, path: Option<std::sync::Arc<[u32]>>) -> Option<std::sync::Arc<[u32]>> {
        std::mem::replace(&mut self.view_search_path, path)
    }

    /// Runs `work` with unqualified names resolving along `path` (a view's query, bound
    /// under the search path of its CREATE VIEW).
    pub fn with_search_path<T>(&mut self, path: &[u32], work: impl FnOnce(&mut Self) -> T) -> T {
        let saved = self.view_search_path.replace(path.into());
        let out = work(self);
        self.view_search_path = saved;
        out
    }

    /// Runs `work` (catalog lookups) under a snapshot taken now rather than the statement's, as
    /// PostgreSQL reads its catalogs: a table is resolved as it is after the locks that
    /// protect it were granted, whatever the transaction's isolation level.
    pub fn with_catalog_snapshot<T>(&mut self, work: impl FnOnce(&mut Self) -> T) -> T {
        let fresh = self.engine.txn_manager().current_snapshot();
        let saved = std::mem::replace(&mut self.snapshot, fresh);
        let out = work(self);
        self.snapshot = saved;
        out
    }

    /// Counts `row` against the statement's memory, held for `what`.
    pub fn hold_row(&mut self, row: &[Value], what: &str) -> rustydb_foundation::Result<()> {
        self.memory.charge(row_bytes(row), what)
    }

    /// `work_mem` in bytes: the session's, or the default for a statement without a session.
    pub fn work_mem(&self) -> usize {
        self.settings
            .map_or_else(|| crate::settings::SessionSettings::default().work_mem_bytes(), |s| s.work_mem_bytes())
    }

    /// What a hash table may hold before it spills: `work_mem` × `hash_mem_multiplier`, and
    /// never more than the statement may hold (the partitions it spills to are sized from it).
    pub fn hash_mem(&self) -> usize {
        self.settings
            .map_or_else(|| crate::settings::SessionSettings::default().hash_mem_bytes(), |s| s.hash_mem_bytes())
            .min(self.memory.limit())
    }

    /// How many worker threads a parallel scan may start besides the statement's own:
    /// `max_parallel_workers_per_gather`, or none in a SERIALIZABLE transaction (whose reads
    /// are tracked through one thread) or outside a session.
    pub fn parallel_workers(&self) -> usize {
        if self.txn.isolation() == rustydb_txn::IsolationLevel::Serializable {
            return 0;
        }
        self.settings.map_or(0, |s| s.parallel_workers())
    }

    /// Gives back what [`hold_row`](Self::hold_row) counted for `rows`, let go of.
    pub fn release_rows(&mut self, rows: &[Vec<Value>]) {
        self.memory.release(rows.iter().map(|r| row_bytes(r)).sum());
    }
}

/// What a row counts against a statement's memory.
pub(crate) fn row_bytes(row: &[Value]) -> usize {
    std::mem::size_of::<Vec<Value>>() + row.iter().map(Value::footprint).sum::<usize>()
}
