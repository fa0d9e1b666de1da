//! The audit contract: after each statement that changes schema, privileges or roles (or
//! writes to a table), the session tells the engine's [`StatementAudit`] — the security layer's
//! hash-chained log, installed by the server — who did what and how it ended. Refused
//! statements are reported too (with their SQLSTATE): an attempt is worth recording.
//!
//! Role statements are described by what they change, never by their text, so a password in
//! `CREATE ROLE ... PASSWORD '...'` never reaches the log.

use crate::plan::Statement;

/// What kind of statement a record is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditKind {
    /// CREATE / ALTER / DROP of tables, views, indexes, sequences; TRUNCATE is DML.
    Ddl,
    /// GRANT / REVOKE / ALTER ... OWNER TO.
    Grant,
    /// CREATE / ALTER / DROP ROLE.
    Role,
    /// INSERT, UPDATE, DELETE, TRUNCATE, COPY FROM.
    Dml,
}

/// One statement, as the audit log records it.
#[derive(Debug, Clone)]
pub struct StatementEvent<'a> {
    /// Its kind.
    pub kind: AuditKind,
    /// The session's user.
    pub user: &'a str,
    /// The session's database.
    pub database: &'a str,
    /// The client's address, if it came over a network.
    pub client: Option<std::net::IpAddr>,
    /// The statement (role statements: what they change).
    pub detail: &'a str,
    /// `00000`, or the SQLSTATE it failed with.
    pub sqlstate: &'a str,
}

/// Where statement events go (the security layer's audit log).
pub trait StatementAudit: Send + Sync + std::fmt::Debug {
    /// Whether a statement of `kind` writing `tables` is recorded at all (asked first, so
    /// nothing is formatted for statements that are not).
    fn wants(&self, kind: AuditKind, tables: &[String]) -> bool;
    /// Records one statement.
    fn record(&self, event: &StatementEvent<'_>);
}

/// The audit kind of a bound statement and the tables it writes (`None`: not audited).
pub fn classify(statement: &Statement) -> Option<(AuditKind, Vec<String>)> {
    Some(match statement {
        Statement::Insert { table, .. } | Statement::Update { table, .. } | Statement::Delete { table, .. } => {
            (AuditKind::Dml, vec![table.name.clone()])
        }
        Statement::Truncate { names } => (AuditKind::Dml, names.iter().map(ToString::to_string).collect()),
        Statement::Role(_) => (AuditKind::Role, Vec::new()),
        Statement::Grant(_) => (AuditKind::Grant, Vec::new()),
        // Every other statement that writes changes the schema.
        s if s.writes() => (AuditKind::Ddl, Vec::new()),
        _ => return None,
    })
}
