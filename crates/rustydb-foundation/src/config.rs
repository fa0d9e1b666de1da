//! Server configuration: defaults, overridden by a TOML file, then environment, then flags (the
//! server applies the last two). Every setting has a default so `rustydb-server` runs with none.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Buffer-pool eviction policies (implemented in storage's `eviction` module).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BufferPoolPolicy {
    /// Second-chance CLOCK.
    #[default]
    Clock,
    /// Least recently used.
    Lru,
    /// 2Q (Johnson & Shasha).
    #[serde(rename = "2q")]
    TwoQ,
    /// ARC (Megiddo & Modha).
    Arc,
}

impl BufferPoolPolicy {
    /// Every policy, for tests and benchmarks.
    pub const ALL: [BufferPoolPolicy; 4] =
        [BufferPoolPolicy::Clock, BufferPoolPolicy::Lru, BufferPoolPolicy::TwoQ, BufferPoolPolicy::Arc];
}

/// The storage I/O backend (implemented in storage's `io` and `uring` modules). pread/pwrite
/// is the default: for the engine's synchronous page I/O it measured faster than io_uring
/// (storage's io_backends bench).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IoBackend {
    /// pread/pwrite.
    #[default]
    Posix,
    /// io_uring, falling back to pread/pwrite (with a logged reason) where the kernel or the
    /// sandbox does not allow it.
    IoUring,
}

/// One host-based authentication rule: a `pg_hba.conf` line in TOML
/// (`{ connection = "hostssl", address = "10.0.0.0/8", user = "all", database = "all", method = "scram-sha-256" }`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HbaEntry {
    /// `host` (TLS or not), `hostssl` (TLS only) or `hostnossl` (plain only).
    #[serde(default = "HbaEntry::all_hosts")]
    pub connection: String,
    /// `all`, `samehost` / `loopback`, an address, or an address with a prefix length (CIDR).
    pub address: String,
    /// `all` or a role name.
    #[serde(default = "HbaEntry::all")]
    pub user: String,
    /// `all` or a database name.
    #[serde(default = "HbaEntry::all")]
    pub database: String,
    /// `trust`, `reject`, `password` (cleartext over the wire) or `scram-sha-256`.
    pub method: String,
}

impl HbaEntry {
    fn all() -> String {
        "all".into()
    }

    fn all_hosts() -> String {
        "host".into()
    }
}

/// The server's configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address the PostgreSQL wire listener binds, e.g. `127.0.0.1:5432`.
    pub listen: String,
    /// Address the HTTP listener (REST API, `/metrics`, health) binds; `None` (the default)
    /// serves no HTTP at all.
    pub http_listen: Option<String>,
    /// Statements running at least this many milliseconds are logged with their duration
    /// (PostgreSQL's `log_min_duration_statement`; -1, the default, logs none, 0 logs all).
    pub log_min_duration_statement_ms: i64,
    /// The data directory; created on first start.
    pub data_dir: PathBuf,
    /// Buffer pool size in pages (of the data directory's page size); 0, the default, sizes it
    /// from the machine's memory: an eighth, at least 128 MiB and at most 1 GiB.
    pub buffer_pool_pages: usize,
    /// Page size in bytes of a data directory created by this server: a power of two from 4096
    /// to 32768. An existing directory keeps the size it was created with.
    pub page_size: usize,
    /// Whether data files bypass the OS page cache (`O_DIRECT`); falls back to buffered I/O,
    /// with a logged reason, where the file system cannot.
    pub direct_io: bool,
    /// The buffer pool's eviction policy: `clock`, `lru`, `2q` or `arc`.
    pub buffer_pool_policy: BufferPoolPolicy,
    /// Milliseconds between background writer rounds (0 turns it off), as `bgwriter_delay`.
    pub bgwriter_delay_ms: u64,
    /// The storage I/O backend: `auto`, `io_uring` or `posix`.
    pub io_backend: IoBackend,
    /// Maximum number of client connections.
    pub max_connections: usize,
    /// Whether connections from loopback addresses are trusted without a password (when no
    /// `[[hba]]` rules are given).
    pub trust_loopback: bool,
    /// Host-based authentication rules, as `pg_hba.conf` lines, first match wins. Empty: trust
    /// loopback (if `trust_loopback`) and ask everyone else for a SCRAM-SHA-256 password.
    pub hba: Vec<HbaEntry>,
    /// Whether the listener accepts TLS (SSLRequest), as PostgreSQL's `ssl`.
    pub ssl: bool,
    /// PEM certificate chain for TLS, as `ssl_cert_file`.
    pub ssl_cert_file: PathBuf,
    /// PEM private key for TLS, as `ssl_key_file`.
    pub ssl_key_file: PathBuf,
    /// Seconds a shutdown (SIGTERM/SIGINT) lets running statements finish before it cancels
    /// them and closes their connections.
    pub shutdown_grace_s: u64,
    /// The most memory one statement may hold for rows it materialises (results, sorts, the
    /// targets of UPDATE and DELETE), in MiB; past it the statement fails with 53200.
    pub statement_memory_limit_mb: usize,
    /// Seconds between automatic checkpoints at most, as PostgreSQL's `checkpoint_timeout`
    /// (0 turns timed checkpoints off).
    pub checkpoint_timeout_s: u64,
    /// Write-ahead log written since the last checkpoint that starts the next one, in MiB, as
    /// PostgreSQL's `max_wal_size`.
    pub max_wal_size_mb: u64,
    /// Whether the autovacuum thread runs, as PostgreSQL's `autovacuum`.
    pub autovacuum: bool,
    /// Seconds between autovacuum's looks at the tables, as `autovacuum_naptime`.
    pub autovacuum_naptime_s: u64,
    /// Dead versions a table must gain before autovacuum visits it, as
    /// `autovacuum_vacuum_threshold`; the needed number grows by
    /// `autovacuum_vacuum_scale_factor` times the rows vacuum last left in the table.
    pub autovacuum_vacuum_threshold: u64,
    /// See `autovacuum_vacuum_threshold`.
    pub autovacuum_vacuum_scale_factor: f64,
    /// Rows inserted that send autovacuum to a table (for versions of inserts that rolled
    /// back), as `autovacuum_vacuum_insert_threshold`, plus
    /// `autovacuum_vacuum_insert_scale_factor` times the rows vacuum last left.
    pub autovacuum_vacuum_insert_threshold: u64,
    /// See `autovacuum_vacuum_insert_threshold`.
    pub autovacuum_vacuum_insert_scale_factor: f64,
    /// Failed logins in a row after which a role is locked out for `auth_lockout_s` (0: never).
    pub auth_failure_limit: u32,
    /// Seconds a locked-out role stays locked; failures older than this are forgotten.
    pub auth_lockout_s: u64,
    /// The pause before answering a failed login, in milliseconds, doubling with each
    /// further failure in a row up to 2 seconds (0: no pause), as `auth_delay` does.
    pub auth_failure_delay_ms: u64,
    /// The longest statement text accepted, in bytes (54000 past it).
    pub max_statement_bytes: usize,
    /// Passwords shorter than this many characters are refused (22023; 0: no rule).
    pub password_min_length: usize,
    /// A new password may not repeat the role's current one or its last N (22023; 0: no rule).
    pub password_reuse_history: usize,
    /// Whether the tamper-evident audit log (`audit/audit.log` in the data directory) is kept.
    pub audit_log: bool,
    /// What it records: any of `login`, `ddl`, `grant`, `role`, `dml`.
    pub audit_events: Vec<String>,
    /// The tables whose DML (INSERT, UPDATE, DELETE, TRUNCATE, COPY) is recorded when
    /// `audit_events` holds `dml`.
    pub audit_tables: Vec<String>,
    /// Encryption at rest: a file holding the master key as 64 hex digits (more lines may hold
    /// older master keys, newest first, while a rotation is under way). The environment
    /// variable `RUSTYDB_MASTER_KEY` may give the key instead. Without either, no table can be
    /// encrypted.
    pub tde_master_key_file: Option<PathBuf>,
    /// Whether new tables are encrypted unless `WITH (encrypted = false)` says otherwise (needs
    /// a master key).
    pub tde_encrypt_new_tables: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:5432".into(),
            data_dir: PathBuf::from("rustydb-data"),
            // Sized from the machine's memory (see rustydb-storage's `pool_size.rs`).
            buffer_pool_pages: 0,
            page_size: 4096,
            direct_io: false,
            buffer_pool_policy: BufferPoolPolicy::default(),
            bgwriter_delay_ms: 200,
            io_backend: IoBackend::default(),
            max_connections: 100,
            trust_loopback: true,
            hba: Vec::new(),
            ssl: false,
            ssl_cert_file: PathBuf::from("server.crt"),
            ssl_key_file: PathBuf::from("server.key"),
            shutdown_grace_s: 30,
            http_listen: None,
            log_min_duration_statement_ms: -1,
            statement_memory_limit_mb: 1024,
            checkpoint_timeout_s: 300,
            max_wal_size_mb: 1024,
            // PostgreSQL 15's defaults.
            autovacuum: true,
            autovacuum_naptime_s: 60,
            autovacuum_vacuum_threshold: 50,
            autovacuum_vacuum_scale_factor: 0.2,
            autovacuum_vacuum_insert_threshold: 1000,
            autovacuum_vacuum_insert_scale_factor: 0.2,
            auth_failure_limit: 5,
            auth_lockout_s: 60,
            auth_failure_delay_ms: 100,
            max_statement_bytes: 64 << 20,
            password_min_length: 0,
            password_reuse_history: 0,
            audit_log: false,
            audit_events: ["login", "ddl", "grant", "role"].map(String::from).to_vec(),
            audit_tables: Vec::new(),
            tde_master_key_file: None,
            tde_encrypt_new_tables: false,
        }
    }
}

impl Config {
    /// Parses a TOML document; missing keys keep their defaults, unknown keys are an error.
    pub fn from_toml(text: &str) -> crate::Result<Config> {
        toml::from_str(text).map_err(|e| {
            crate::DbError::sql(crate::SqlState::InvalidParameterValue, format!("invalid configuration: {e}"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_overrides_defaults_and_rejects_unknown_keys() {
        let c = Config::from_toml("listen = \"0.0.0.0:6000\"\n").unwrap();
        assert_eq!(c.listen, "0.0.0.0:6000");
        assert_eq!(c.data_dir, PathBuf::from("rustydb-data"));
        assert!(Config::from_toml("lissten = 1").is_err());
        let c = Config::from_toml("buffer_pool_policy = \"2q\"\n").unwrap();
        assert_eq!(c.buffer_pool_policy, BufferPoolPolicy::TwoQ);
        assert!(Config::from_toml("buffer_pool_policy = \"fifo\"\n").is_err());
        assert_eq!(Config::from_toml("io_backend = \"io_uring\"").unwrap().io_backend, IoBackend::IoUring);
    }
}
