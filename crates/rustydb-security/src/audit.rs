//! The tamper-evident audit log: `audit/audit.log` in the data directory, append-only, one
//! record per line, each record carrying the hash of the one before it.
//!
//! ## Format
//! A line is `BODY \t HASH \n`. BODY is a JSON object with, in this order: `seq` (1, 2, ...),
//! `time` (UTC), `event` (`login`, `login_failed`, `ddl`, `grant`, `role`, `dml`), `user`,
//! `database`, `client` (address, or null), `detail` (the statement, or the tables written),
//! `sqlstate` (the outcome: 00000 or the error's) and `prev` (the previous record's HASH; 64
//! zeros for the first). HASH is the hex SHA-256 of BODY's bytes.
//!
//! `audit/head` holds the last record's `seq HASH`, rewritten after each record. [`verify`]
//! recomputes every hash and follows the chain: an edited record breaks its own hash, a
//! removed one breaks the next record's `prev` and `seq`, and removed records at the end no
//! longer match the head. What the chain cannot stop is someone who rewrites the whole file
//! and the head consistently; against that, keep the head hash `verify` prints somewhere else
//! and pass it back with `--expect-head`.
//!
//! ## What is recorded
//! `audit_events` chooses among logins (and failed logins), DDL, GRANT/REVOKE, role changes and
//! DML on the tables named in `audit_tables`. Passwords never appear: role statements are
//! recorded by what they change, not by their text.
//!
//! Each record is written and synced (`fdatasync`) before the statement's answer goes out, under
//! one mutex: records are in the order they happened and none is lost once acknowledged.

use parking_lot::Mutex;
use rustydb_foundation::{DbError, Result};
use rustydb_query::audit::{AuditKind, StatementAudit, StatementEvent};
use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// The hash before the first record.
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What the log records.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditSettings {
    /// Logins and failed logins.
    pub login: bool,
    /// CREATE / ALTER / DROP of tables, indexes, views, sequences.
    pub ddl: bool,
    /// GRANT / REVOKE and ownership changes.
    pub grant: bool,
    /// CREATE / ALTER / DROP ROLE.
    pub role: bool,
    /// DML on `tables`.
    pub dml: bool,
    /// The audited tables.
    pub tables: HashSet<String>,
}

impl AuditSettings {
    /// From the configuration's `audit_events` and `audit_tables`; 22023 for an unknown event.
    pub fn parse(events: &[String], tables: &[String]) -> Result<Self> {
        let mut s = AuditSettings { tables: tables.iter().cloned().collect(), ..Default::default() };
        for e in events {
            match e.as_str() {
                "login" => s.login = true,
                "ddl" => s.ddl = true,
                "grant" => s.grant = true,
                "role" => s.role = true,
                "dml" => s.dml = true,
                other => {
                    return Err(DbError::sql(
                        rustydb_foundation::SqlState::InvalidParameterValue,
                        format!("unknown audit event \"{other}\" (login, ddl, grant, role, dml)"),
                    ));
                }
            }
        }
        Ok(s)
    }
}

/// One record's body, its fields in the order they are written.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Record {
    seq: u64,
    time: String,
    event: String,
    user: String,
    database: String,
    client: Option<String>,
    detail: String,
    sqlstate: String,
    prev: String,
}

#[derive(Debug)]
struct Writer {
    file: File,
    seq: u64,
    prev: String,
}

/// The audit log of one data directory.
#[derive(Debug)]
pub struct AuditLog {
    dir: PathBuf,
    settings: AuditSettings,
    writer: Mutex<Writer>,
}

fn io(what: &str, path: &Path, e: std::io::Error) -> DbError {
    DbError::io(format!("{what} {}", path.display()), e)
}

impl AuditLog {
    /// Opens (creating) the log in `data_dir/audit`, continuing its chain. A last line cut
    /// short by a crash (no newline: its write never completed, so it was never acknowledged)
    /// is removed.
    pub fn open(data_dir: &Path, settings: AuditSettings) -> Result<AuditLog> {
        let dir = data_dir.join("audit");
        std::fs::create_dir_all(&dir).map_err(|e| io("creating", &dir, e))?;
        let path = dir.join("audit.log");
        let mut file =
            OpenOptions::new().create(true).read(true).append(true).open(&path).map_err(|e| io("opening", &path, e))?;
        let (seq, prev, complete_len) = last_record(&file, &path)?;
        let len = file.metadata().map_err(|e| io("reading", &path, e))?.len();
        if complete_len < len {
            tracing::warn!(path = %path.display(), "removing an audit record cut short by a crash");
            file.set_len(complete_len).map_err(|e| io("truncating", &path, e))?;
            file.sync_all().map_err(|e| io("syncing", &path, e))?;
        }
        file.seek(SeekFrom::End(0)).map_err(|e| io("seeking", &path, e))?;
        Ok(AuditLog { dir, settings, writer: Mutex::new(Writer { file, seq, prev }) })
    }

    /// Records a login (`ok`) or a failed login.
    pub fn login(&self, user: &str, database: &str, client: Option<IpAddr>, ok: bool, sqlstate: &str) {
        if !self.settings.login {
            return;
        }
        let event = if ok { "login" } else { "login_failed" };
        self.append(event, user, database, client, "", sqlstate);
    }

    /// Appends one record; an I/O failure is logged (the statement it records has already
    /// happened and is not undone).
    fn append(&self, event: &str, user: &str, database: &str, client: Option<IpAddr>, detail: &str, sqlstate: &str) {
        if let Err(e) = self.try_append(event, user, database, client, detail, sqlstate) {
            tracing::error!(error = %e, event, user, "could not write an audit record");
        }
    }

    fn try_append(
        &self,
        event: &str,
        user: &str,
        database: &str,
        client: Option<IpAddr>,
        detail: &str,
        sqlstate: &str,
    ) -> Result<()> {
        let path = self.dir.join("audit.log");
        let mut w = self.writer.lock();
        let seq = w.seq + 1;
        let time = rustydb_foundation::datetime::format_timestamp(rustydb_foundation::datetime::now(), false);
        let record = Record {
            seq,
            time,
            event: event.into(),
            user: user.into(),
            database: database.into(),
            client: client.map(|c| c.to_string()),
            detail: detail.into(),
            sqlstate: sqlstate.into(),
            prev: w.prev.clone(),
        };
        let body =
            serde_json::to_string(&record).map_err(|e| DbError::Internal(format!("encoding an audit record: {e}")))?;
        let hash = sha256_hex(body.as_bytes());
        w.file.write_all(format!("{body}\t{hash}\n").as_bytes()).map_err(|e| io("writing", &path, e))?;
        w.file.sync_data().map_err(|e| io("syncing", &path, e))?;
        w.seq = seq;
        w.prev = hash.clone();
        let head = self.dir.join("head");
        let tmp = self.dir.join("head.tmp");
        std::fs::write(&tmp, format!("{seq} {hash}\n")).map_err(|e| io("writing", &tmp, e))?;
        std::fs::rename(&tmp, &head).map_err(|e| io("renaming", &head, e))?;
        Ok(())
    }
}

impl StatementAudit for AuditLog {
    fn wants(&self, kind: AuditKind, tables: &[String]) -> bool {
        match kind {
            AuditKind::Ddl => self.settings.ddl,
            AuditKind::Grant => self.settings.grant,
            AuditKind::Role => self.settings.role,
            AuditKind::Dml => self.settings.dml && tables.iter().any(|t| self.settings.tables.contains(t)),
        }
    }

    fn record(&self, event: &StatementEvent<'_>) {
        let kind = match event.kind {
            AuditKind::Ddl => "ddl",
            AuditKind::Grant => "grant",
            AuditKind::Role => "role",
            AuditKind::Dml => "dml",
        };
        self.append(kind, event.user, event.database, event.client, event.detail, event.sqlstate);
    }
}

/// The last complete record's `seq` and hash, and the length of the file up to the end of
/// that record.
fn last_record(file: &File, path: &Path) -> Result<(u64, String, u64)> {
    let mut reader = BufReader::new(file);
    let (mut seq, mut prev, mut complete) = (0u64, GENESIS.to_string(), 0u64);
    let mut line = String::new();
    loop {
        line.clear();
        let n = reader.read_line(&mut line).map_err(|e| io("reading", path, e))?;
        if n == 0 || !line.ends_with('\n') {
            break;
        }
        complete += n as u64;
        if let Some((body, hash)) = line.trim_end_matches('\n').rsplit_once('\t') {
            seq = serde_json::from_str::<Record>(body).map_or(seq + 1, |r| r.seq);
            prev = hash.to_string();
        }
    }
    Ok((seq, prev, complete))
}

/// What [`verify`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// Records checked.
    pub records: u64,
    /// The last record's hash (keep it elsewhere; see the module docs).
    pub head: String,
}

/// Checks the whole chain of the log in `data_dir`: every hash, every link, the sequence, and
/// the head file. `expect_head` is a head hash kept from an earlier run, which must still be in
/// the chain. The error names the first bad line.
pub fn verify(data_dir: &Path, expect_head: Option<&str>) -> Result<Verified> {
    let dir = data_dir.join("audit");
    let path = dir.join("audit.log");
    let corrupt = |line: u64, what: String| DbError::Corruption(format!("{} line {line}: {what}", path.display()));
    let file = File::open(&path).map_err(|e| io("opening", &path, e))?;
    let head_path = dir.join("head");
    let head = std::fs::read_to_string(&head_path).unwrap_or_default();
    let (head_seq, head_hash) = match head.split_whitespace().collect::<Vec<_>>().as_slice() {
        [] => (0, GENESIS.to_string()),
        [seq, hash] => (seq.parse::<u64>().unwrap_or(u64::MAX), hash.to_string()),
        _ => (u64::MAX, String::new()),
    };
    let mut prev = GENESIS.to_string();
    let mut records = 0u64;
    let mut head_seen = head_seq == 0;
    let mut expected_seen = expect_head.is_none();
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let n = i as u64 + 1;
        let line = line.map_err(|e| io("reading", &path, e))?;
        let (body, hash) = line.rsplit_once('\t').ok_or_else(|| corrupt(n, "no hash".into()))?;
        if sha256_hex(body.as_bytes()) != hash {
            return Err(corrupt(n, "the record was changed (its hash does not match)".into()));
        }
        let record: Record = serde_json::from_str(body).map_err(|e| corrupt(n, format!("not an audit record: {e}")))?;
        if record.prev != prev {
            return Err(corrupt(n, "a record before it was removed or changed (the chain is broken)".into()));
        }
        if record.seq != records + 1 {
            return Err(corrupt(n, format!("sequence number is not {}", records + 1)));
        }
        records += 1;
        prev = hash.to_string();
        if expect_head == Some(hash) {
            expected_seen = true;
        }
        if records == head_seq && hash == head_hash {
            head_seen = true;
        }
    }
    // The head is rewritten after each record, not synced: after a crash it may name an
    // earlier record, never a later one.
    if !head_seen {
        return Err(DbError::Corruption(format!(
            "{}: the log ends at record {records}, but {} names {}: records were removed from the end",
            path.display(),
            head_path.display(),
            head.trim()
        )));
    }
    if !expected_seen {
        return Err(DbError::Corruption(format!(
            "{}: the expected head hash is not in the chain: the log was rewritten",
            path.display()
        )));
    }
    Ok(Verified { records, head: prev })
}

fn sha256_hex(bytes: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> AuditSettings {
        AuditSettings::parse(&["login".into(), "ddl".into()], &[]).unwrap()
    }

    fn event<'a>(detail: &'a str) -> StatementEvent<'a> {
        StatementEvent { kind: AuditKind::Ddl, user: "alice", database: "db", client: None, detail, sqlstate: "00000" }
    }

    #[test]
    fn the_chain_verifies_and_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::open(dir.path(), settings()).unwrap();
        log.login("alice", "db", Some("127.0.0.1".parse().unwrap()), true, "00000");
        log.record(&event("CREATE TABLE t (x int)"));
        drop(log);
        let log = AuditLog::open(dir.path(), settings()).unwrap();
        log.record(&event("DROP TABLE \"t\"\twith\nodd characters"));
        let v = verify(dir.path(), None).unwrap();
        assert_eq!(v.records, 3);
        assert!(verify(dir.path(), Some(&v.head)).is_ok());
    }

    #[test]
    fn edits_removals_and_truncation_are_detected() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::open(dir.path(), settings()).unwrap();
        for i in 0..4 {
            log.record(&event(&format!("CREATE TABLE t{i} (x int)")));
        }
        drop(log);
        let path = dir.path().join("audit/audit.log");
        let original = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = original.lines().collect();
        let write = |lines: &[String]| {
            std::fs::write(&path, lines.iter().map(|l| format!("{l}\n")).collect::<String>()).unwrap()
        };
        let head = verify(dir.path(), None).unwrap().head;

        // An edited record.
        let mut edited: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        edited[1] = edited[1].replace("t1", "t9");
        write(&edited);
        let e = verify(dir.path(), None).unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("changed"), "{e}");

        // A removed record in the middle.
        let removed: Vec<String> =
            lines.iter().enumerate().filter(|(i, _)| *i != 1).map(|(_, l)| l.to_string()).collect();
        write(&removed);
        let e = verify(dir.path(), None).unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("removed"), "{e}");

        // The last record removed: the head file notices.
        let truncated: Vec<String> = lines[..3].iter().map(|l| l.to_string()).collect();
        write(&truncated);
        let e = verify(dir.path(), None).unwrap_err().to_string();
        assert!(e.contains("removed from the end"), "{e}");

        // Rewritten consistently (head too): only the kept head hash catches it.
        std::fs::write(&path, "").unwrap();
        std::fs::remove_file(dir.path().join("audit/head")).unwrap();
        let log = AuditLog::open(dir.path(), settings()).unwrap();
        log.record(&event("CREATE TABLE innocent (x int)"));
        drop(log);
        assert!(verify(dir.path(), None).is_ok());
        let e = verify(dir.path(), Some(&head)).unwrap_err().to_string();
        assert!(e.contains("rewritten"), "{e}");
    }

    #[test]
    fn a_torn_last_line_is_dropped_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::open(dir.path(), settings()).unwrap();
        log.record(&event("CREATE TABLE a (x int)"));
        drop(log);
        let path = dir.path().join("audit/audit.log");
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{\"seq\":2,\"time\":\"half").unwrap();
        drop(f);
        let log = AuditLog::open(dir.path(), settings()).unwrap();
        log.record(&event("CREATE TABLE b (x int)"));
        assert_eq!(verify(dir.path(), None).unwrap().records, 2);
    }
}
