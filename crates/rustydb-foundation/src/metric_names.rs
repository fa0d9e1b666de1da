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
