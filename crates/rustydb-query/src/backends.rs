//! Who is connected and what each is doing: the registry behind `pg_stat_activity`.
//!
//! Every session registers a [`Backend`] when it opens and leaves when it is dropped, whatever
//! interface opened it (wire, REST, embedded). The session updates its entry as statements
//! start and end; readers (`pg_stat_activity`) copy the entries under the registry's lock.
//! Updating costs one uncontended mutex per statement edge.
//!
//! Lock order: the registry's map, then one entry's info; a session only ever takes its own
//! entry's info, never the map while holding it.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};

/// What a backend is doing, as `pg_stat_activity.state` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendState {
    /// Waiting for a command.
    Idle,
    /// Running a statement.
    Active,
    /// In a transaction block, between statements.
    IdleInTransaction,
    /// In a failed transaction block.
    IdleInTransactionAborted,
}

impl BackendState {
    /// The name `pg_stat_activity` shows.
    pub fn name(self) -> &'static str {
        match self {
            BackendState::Idle => "idle",
            BackendState::Active => "active",
            BackendState::IdleInTransaction => "idle in transaction",
            BackendState::IdleInTransactionAborted => "idle in transaction (aborted)",
        }
    }
}

/// What changes while a backend lives.
#[derive(Debug, Clone)]
pub struct BackendInfo {
    /// The process id clients see (the wire's BackendKeyData, or one made up for in-process
    /// and REST sessions).
    pub pid: i32,
    /// `application_name`.
    pub application_name: String,
    /// The client's address and port (`None` for in-process sessions).
    pub client: Option<SocketAddr>,
    /// What it is doing.
    pub state: BackendState,
    /// The running statement's text, or the last one's.
    pub query: String,
    /// When the current (or last) statement began (timestamptz microseconds).
    pub query_start: Option<i64>,
    /// When the current transaction began.
    pub xact_start: Option<i64>,
    /// When `state` last changed.
    pub state_change: i64,
}

/// Where the pids of sessions without a wire connection start.
const LOCAL_PIDS: i32 = 0x4000_0000;

/// Called when a backend is told to end (the wire layer closes its connection).
pub type TerminateHook = Box<dyn Fn() + Send + Sync>;

/// One session's entry.
pub struct Backend {
    key: u64,
    /// Its database.
    pub database: String,
    /// Its role.
    pub user: String,
    /// When it opened (timestamptz microseconds).
    pub started: i64,
    /// What changes.
    pub info: Mutex<BackendInfo>,
    /// The session's cancel flag: `pg_cancel_backend` sets it.
    cancel: Arc<AtomicBool>,
    /// Set by `pg_terminate_backend`: the session must end.
    terminated: AtomicBool,
    /// What ends the session's connection (installed by the wire layer).
    on_terminate: Mutex<Option<TerminateHook>>,
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backend").field("database", &self.database).field("user", &self.user).finish_non_exhaustive()
    }
}

impl Backend {
    /// The key the registry knows it by: unique among the run's sessions, never reused.
    pub fn key(&self) -> u64 {
        self.key
    }

    /// Cancels the running statement, if any (`pg_cancel_backend`).
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    /// Ends the session (`pg_terminate_backend`): its running statement is cancelled and its
    /// connection closed with 57P01 as soon as the statement has stopped.
    pub fn terminate(&self) {
        self.terminated.store(true, Ordering::Release);
        self.cancel();
        if let Some(hook) = self.on_terminate.lock().as_ref() {
            hook();
        }
    }

    /// True once [`Backend::terminate`] was called.
    pub fn is_terminated(&self) -> bool {
        self.terminated.load(Ordering::Acquire)
    }

    /// Installs what closes the session's connection; runs it at once if the session was
    /// terminated already.
    pub fn on_terminate(&self, hook: TerminateHook) {
        let mut slot = self.on_terminate.lock();
        if self.is_terminated() {
            hook();
        }
        *slot = Some(hook);
    }
}

/// The registry.
#[derive(Debug, Default)]
pub struct Backends {
    next_key: AtomicU64,
    /// Made-up pids for sessions without a wire connection (until the wire layer gives its own).
    next_local_pid: AtomicI32,
    live: Mutex<HashMap<u64, Arc<Backend>>>,
    /// Databases a DROP DATABASE has claimed: no session may start on them (see
    /// [`Backends::try_claim`]). Locked after `live`.
    closing: Mutex<std::collections::HashSet<String>>,
}

impl Backends {
    /// Registers a new session's backend.
    pub fn register(&self, user: &str, database: &str, cancel: Arc<AtomicBool>) -> Arc<Backend> {
        let key = self.next_key.fetch_add(1, Ordering::Relaxed);
        // The upper half of the positive pids: the wire layer hands out its own from 100000
        // up, and a pid must name one session (pg_cancel_backend finds sessions by it).
        let pid = LOCAL_PIDS + (self.next_local_pid.fetch_add(1, Ordering::Relaxed) & 0x3fff_ffff);
        let now = rustydb_foundation::datetime::now();
        let backend = Arc::new(Backend {
            key,
            database: database.into(),
            user: user.into(),
            started: now,
            info: Mutex::new(BackendInfo {
                pid,
                application_name: String::new(),
                client: None,
                state: BackendState::Idle,
                query: String::new(),
                query_start: None,
                xact_start: None,
                state_change: now,
            }),
            cancel,
            terminated: AtomicBool::new(false),
            on_terminate: Mutex::new(None),
        });
        self.live.lock().insert(key, backend.clone());
        backend
    }

    /// Removes a backend (its session ended).
    pub fn unregister(&self, backend: &Backend) {
        self.live.lock().remove(&backend.key);
    }

    /// How many sessions other than `except` are connected to `database`.
    pub fn count_on(&self, database: &str, except: &Backend) -> usize {
        self.live.lock().values().filter(|b| b.key != except.key && b.database == database).count()
    }

    /// Claims `database` for DROP DATABASE if no session but `except` is connected to it;
    /// otherwise how many are. While claimed, a session that starts on it is refused (see
    /// [`Backends::is_closing`]): counting and claiming under the lock that registering takes
    /// means a session is either counted here or sees the claim. Give it back with
    /// [`Backends::release`] once the DROP has committed or failed.
    pub fn try_claim(&self, database: &str, except: &Backend) -> Result<(), usize> {
        let live = self.live.lock();
        let others = live.values().filter(|b| b.key != except.key && b.database == database).count();
        if others > 0 {
            return Err(others);
        }
        self.closing.lock().insert(database.to_string());
        Ok(())
    }

    /// Gives back a claim [`Backends::try_claim`] took.
    pub fn release(&self, database: &str) {
        self.closing.lock().remove(database);
    }

    /// True while a DROP DATABASE of `database` is under way: a session registered on it
    /// must not start.
    pub fn is_closing(&self, database: &str) -> bool {
        self.closing.lock().contains(database)
    }

    /// The live backend whose pid is `pid`.
    pub fn find(&self, pid: i32) -> Option<Arc<Backend>> {
        self.live.lock().values().find(|b| b.info.lock().pid == pid).cloned()
    }

    /// The sessions on `database`.
    pub fn sessions_on(&self, database: &str) -> Vec<Arc<Backend>> {
        self.live.lock().values().filter(|b| b.database == database).cloned().collect()
    }

    /// True while the backend of `pid` lives.
    pub fn alive(&self, pid: i32) -> bool {
        self.find(pid).is_some()
    }

    /// A copy of every live backend, oldest first.
    pub fn snapshot(&self) -> Vec<(Arc<Backend>, BackendInfo)> {
        let live: Vec<Arc<Backend>> = self.live.lock().values().cloned().collect();
        let mut all: Vec<_> = live
            .into_iter()
            .map(|b| {
                let info = b.info.lock().clone();
                (b, info)
            })
            .collect();
        all.sort_by_key(|(b, _)| b.key);
        all
    }

    /// How many sessions are open.
    pub fn len(&self) -> usize {
        self.live.lock().len()
    }

    /// True when no session is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_come_and_go_with_distinct_pids() {
        let backends = Backends::default();
        let a = backends.register("alice", "db", Default::default());
        let b = backends.register("bob", "db", Default::default());
        assert_ne!(a.info.lock().pid, b.info.lock().pid);
        assert!(a.info.lock().pid > 0);
        let seen: Vec<String> = backends.snapshot().iter().map(|(b, _)| b.user.clone()).collect();
        assert_eq!(seen, ["alice", "bob"]);
        backends.unregister(&a);
        assert_eq!(backends.len(), 1);
    }
}
