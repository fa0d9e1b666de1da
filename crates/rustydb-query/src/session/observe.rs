//! What a session reports about its statements: `pg_stat_activity`'s live state, the
//! `pg_stat_statements` figures, the latency histograms and error counters on `/metrics`, and
//! the slow-statement log (`log_min_duration_statement`, in PostgreSQL's format:
//! `duration: 1234.567 ms  statement: ...`).

use super::{Session, TransactionStatus};
use crate::backends::BackendState;
use crate::result::StatementResult;
use rustydb_foundation::DbError;
use rustydb_foundation::metric_names::{SLOW_STATEMENTS, STATEMENT_ERRORS, STATEMENT_SECONDS};
use std::time::Instant;

/// The bytes of a running statement's text `pg_stat_activity` keeps (PostgreSQL's default
/// `track_activity_query_size`).
const TRACKED_QUERY_BYTES: usize = 1024;

/// A statement's kind, from its command tag, for the latency histogram's `kind` label.
pub fn statement_kind(tag: &str) -> &'static str {
    match tag.split(' ').next().unwrap_or("") {
        "SELECT" | "SHOW" | "VALUES" | "TABLE" => "select",
        "INSERT" => "insert",
        "UPDATE" => "update",
        "DELETE" => "delete",
        "MERGE" => "merge",
        "COPY" => "copy",
        "BEGIN" | "START" | "COMMIT" | "ROLLBACK" | "SAVEPOINT" | "RELEASE" | "PREPARE" => "transaction",
        "CREATE" | "DROP" | "ALTER" | "TRUNCATE" | "COMMENT" | "GRANT" | "REVOKE" => "ddl",
        _ => "utility",
    }
}

impl Session {
    /// A statement (or a simple query's statements) starts.
    pub(super) fn observe_start(&self, sql: &str) -> Instant {
        let started = Instant::now();
        let now = rustydb_foundation::datetime::now();
        let mut info = self.backend.info.lock();
        if self.transaction_status() == TransactionStatus::Idle {
            info.xact_start = Some(now);
        }
        info.state = BackendState::Active;
        info.state_change = now;
        info.query_start = Some(now);
        // PostgreSQL keeps the first track_activity_query_size (1024) bytes.
        let mut end = sql.len().min(TRACKED_QUERY_BYTES);
        while !sql.is_char_boundary(end) {
            end -= 1;
        }
        let shown = &sql[..end];
        if info.query != shown {
            info.query.clear();
            info.query.push_str(shown);
        }
        started
    }

    /// It ended with `outcome`; `label` is how the slow log names it (`statement` or
    /// `execute <name>`).
    pub(super) fn observe_end(&self, sql: &str, started: Instant, outcome: Option<&Result<StatementResult, DbError>>) {
        let elapsed = started.elapsed();
        let now = rustydb_foundation::datetime::now();
        let status = self.transaction_status();
        {
            let mut info = self.backend.info.lock();
            info.state = match status {
                TransactionStatus::Idle => BackendState::Idle,
                TransactionStatus::InBlock => BackendState::IdleInTransaction,
                TransactionStatus::Failed => BackendState::IdleInTransactionAborted,
            };
            if status == TransactionStatus::Idle {
                info.xact_start = None;
            }
            info.state_change = now;
            let app = self.settings.application_name();
            if info.application_name != app {
                info.application_name = app.to_string();
            }
        }
        match outcome {
            Some(Ok(result)) => {
                metrics::histogram!(STATEMENT_SECONDS, "kind" => statement_kind(&result.tag))
                    .record(elapsed.as_secs_f64());
                let rows = result.row_count();
                let mut cache = self.normalized.lock();
                if cache.0 != sql {
                    *cache = (sql.to_string(), crate::statement_stats::normalize(sql));
                }
                self.engine.statement_stats().record_normalized(&self.user, &self.database, &cache.1, elapsed, rows);
            }
            Some(Err(e)) => {
                let class = &e.sqlstate().code()[..2];
                metrics::counter!(STATEMENT_ERRORS, "class" => class.to_string()).increment(1);
            }
            None => {}
        }
        if self.settings.log_min_duration_statement.is_some_and(|min| elapsed >= min) {
            metrics::counter!(SLOW_STATEMENTS).increment(1);
            tracing::info!(
                target: "rustydb::slow_query",
                user = %self.user,
                database = %self.database,
                "duration: {:.3} ms  statement: {sql}",
                elapsed.as_secs_f64() * 1000.0
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_name_their_kind() {
        assert_eq!(statement_kind("SELECT 3"), "select");
        assert_eq!(statement_kind("INSERT 0 1"), "insert");
        assert_eq!(statement_kind("CREATE TABLE"), "ddl");
        assert_eq!(statement_kind("COMMIT"), "transaction");
        assert_eq!(statement_kind("VACUUM"), "utility");
    }
}
