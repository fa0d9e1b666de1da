//! Metric names, in one place so dashboards and tests agree with the code. Every component
//! records through the `metrics` facade; only the api layer installs an exporter.

/// Buffer pool: pins served from memory.
pub const BUFFER_POOL_HITS: &str = "rustydb_buffer_pool_hits_total";
/// Buffer pool: pins that had to read the page.
pub const BUFFER_POOL_MISSES: &str = "rustydb_buffer_pool_misses_total";
/// Buffer pool: resident pages pushed out to make room.
pub const BUFFER_POOL_EVICTIONS: &str = "rustydb_buffer_pool_evictions_total";
/// Buffer pool: dirty pages written to their data file.
pub const BUFFER_POOL_PAGE_WRITES: &str = "rustydb_buffer_pool_page_writes_total";
/// Log device: bytes made durable.
pub const WAL_BYTES: &str = "rustydb_wal_bytes_total";
/// Log device: fsyncs of the log.
pub const WAL_FSYNCS: &str = "rustydb_wal_fsyncs_total";
/// Full-page images written to the log (first change of a page after a checkpoint began).
pub const WAL_IMAGES: &str = "rustydb_wal_full_page_images_total";
/// Transactions committed.
pub const TXN_COMMITS: &str = "rustydb_transactions_committed_total";
/// Transactions rolled back (by the client, an error, or a failed commit).
pub const TXN_ABORTS: &str = "rustydb_transactions_aborted_total";
/// Deadlocks detected (each one's victim is rolled back).
pub const DEADLOCKS: &str = "rustydb_deadlocks_total";
/// Lock requests that had to wait.
pub const LOCK_WAITS: &str = "rustydb_lock_waits_total";
/// How long waiting lock requests waited (histogram, seconds).
pub const LOCK_WAIT_SECONDS: &str = "rustydb_lock_wait_seconds";
/// Statement latency (histogram, seconds), labelled `kind` (select, insert, update, delete,
/// copy, ddl, transaction, utility).
pub const STATEMENT_SECONDS: &str = "rustydb_statement_duration_seconds";
/// Statements that failed, labelled `class` (the SQLSTATE's first two characters).
pub const STATEMENT_ERRORS: &str = "rustydb_statement_errors_total";
/// Statements slower than `log_min_duration_statement` (each one logged).
pub const SLOW_STATEMENTS: &str = "rustydb_slow_statements_total";
/// Client connections open now (gauge).
pub const CONNECTIONS_ACTIVE: &str = "rustydb_connections_active";
/// Client connections accepted since start.
pub const CONNECTIONS_TOTAL: &str = "rustydb_connections_total";
/// Connections refused for a limit (max_connections, a role's CONNECTION LIMIT).
pub const CONNECTIONS_REFUSED: &str = "rustydb_connections_refused_total";
/// Temporary files written by sorts and hashes that outgrew `work_mem`.
pub const TEMP_FILES: &str = "rustydb_temp_files_total";
/// Bytes written to those temporary files.
pub const TEMP_BYTES: &str = "rustydb_temp_bytes_total";
/// Worker threads started by parallel scans.
pub const PARALLEL_WORKERS: &str = "rustydb_parallel_workers_total";
