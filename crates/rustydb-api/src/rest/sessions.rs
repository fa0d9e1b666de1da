//! Session handles: what lets a REST client run a transaction across several requests.
//!
//! `POST /v1/sessions` opens an engine session and returns its handle; queries that name the
//! handle run in it, so `BEGIN`, the statements and `COMMIT` can be separate requests. Only
//! the role that opened a session can use it (anyone else gets 404, as if it did not exist).
//! A session idle longer than the idle timeout is closed on the next visit to the registry,
//! and its open transaction rolled back, as a dropped connection's would be.
//!
//! Lock order: the registry's map, then (never while holding the map) one session's mutex. The
//! session mutex is held only on a blocking thread, never across an `.await`.

use parking_lot::Mutex;
use ring::rand::SecureRandom;
use rustydb_foundation::{DbError, Result, SqlState};
use rustydb_query::Session;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One open session.
#[derive(Debug)]
pub struct RestSession {
    /// The role that opened it.
    pub user: String,
    /// Its database.
    pub database: String,
    /// The engine session (locked while a request runs in it).
    pub session: Mutex<Session>,
    last_used: Mutex<Instant>,
}

impl RestSession {
    /// Marks the session used now.
    pub fn touch(&self) {
        *self.last_used.lock() = Instant::now();
    }
}

/// The open sessions, by handle.
#[derive(Debug)]
pub struct SessionRegistry {
    sessions: Mutex<HashMap<String, Arc<RestSession>>>,
    idle_timeout: Duration,
    max_sessions: usize,
}

impl SessionRegistry {
    /// An empty registry.
    pub fn new(idle_timeout: Duration, max_sessions: usize) -> Self {
        SessionRegistry { sessions: Mutex::default(), idle_timeout, max_sessions }
    }

    /// Registers `session` and returns its new handle; 53300 past the limit.
    pub fn open(&self, user: &str, database: &str, session: Session) -> Result<String> {
        let mut raw = [0u8; 16];
        ring::rand::SystemRandom::new()
            .fill(&mut raw)
            .map_err(|_| DbError::Internal("the system random generator failed".into()))?;
        let id: String = raw.iter().map(|b| format!("{b:02x}")).collect();
        let expired = {
            let mut sessions = self.sessions.lock();
            let expired = self.take_expired(&mut sessions);
            if sessions.len() >= self.max_sessions {
                return Err(DbError::sql(
                    SqlState::TooManyConnections,
                    format!("too many REST sessions are open (the limit is {})", self.max_sessions),
                ));
            }
            sessions.insert(
                id.clone(),
                Arc::new(RestSession {
                    user: user.into(),
                    database: database.into(),
                    session: Mutex::new(session),
                    last_used: Mutex::new(Instant::now()),
                }),
            );
            expired
        };
        // Rolled back outside the map's lock.
        drop(expired);
        Ok(id)
    }

    /// The session `id` if `user` owns it; 26000-style 404 otherwise.
    pub fn get(&self, id: &str, user: &str) -> Result<Arc<RestSession>> {
        let (found, expired) = {
            let mut sessions = self.sessions.lock();
            let expired = self.take_expired(&mut sessions);
            (sessions.get(id).filter(|s| s.user == user).cloned(), expired)
        };
        drop(expired);
        let found = found.ok_or_else(|| unknown(id))?;
        found.touch();
        Ok(found)
    }

    /// Closes the session `id` (its open transaction rolls back when the last request in it ends).
    pub fn close(&self, id: &str, user: &str) -> Result<()> {
        let removed = {
            let mut sessions = self.sessions.lock();
            match sessions.get(id) {
                Some(s) if s.user == user => sessions.remove(id),
                _ => None,
            }
        };
        removed.map(drop).ok_or_else(|| unknown(id))
    }

    /// Closes every session (shutdown).
    pub fn close_all(&self) {
        let all: Vec<_> = self.sessions.lock().drain().collect();
        drop(all);
    }

    /// How many sessions are open.
    pub fn len(&self) -> usize {
        self.sessions.lock().len()
    }

    /// True when none is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn take_expired(&self, sessions: &mut HashMap<String, Arc<RestSession>>) -> Vec<Arc<RestSession>> {
        let now = Instant::now();
        let dead: Vec<String> = sessions
            .iter()
            // A session running a request (its mutex held) is not idle, however long it runs.
            .filter(|(_, s)| now.duration_since(*s.last_used.lock()) > self.idle_timeout && !s.session.is_locked())
            .map(|(id, _)| id.clone())
            .collect();
        dead.iter().filter_map(|id| sessions.remove(id)).collect()
    }
}

fn unknown(id: &str) -> DbError {
    DbError::sql(SqlState::InvalidSqlStatementName, format!("session \"{id}\" does not exist"))
}
