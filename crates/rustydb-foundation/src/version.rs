//! The versions RustyDB reports. It speaks PostgreSQL 15's protocol and catalogs, so it reports a
//! 15.x `server_version` (with its own name after it, as distribution builds of PostgreSQL do:
//! libpq, pgjdbc and asyncpg all parse the leading number) and a `version()` string containing
//! "PostgreSQL", which SQLAlchemy and others look for.

/// RustyDB's own version.
pub const RUSTYDB_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The `server_version` ParameterStatus and `SHOW server_version`.
pub fn server_version() -> String {
    format!("15.18 (RustyDB {RUSTYDB_VERSION})")
}

/// The `server_version_num` setting.
pub const SERVER_VERSION_NUM: &str = "150018";

/// What `SELECT version()` returns.
pub fn version_string() -> String {
    format!(
        "PostgreSQL 15.18 (RustyDB {RUSTYDB_VERSION}) on {}-unknown-linux-gnu, compiled by rustc, 64-bit",
        std::env::consts::ARCH
    )
}
