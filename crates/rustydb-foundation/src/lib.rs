//! # rustydb-foundation — layer 1
//!
//! The vocabulary every other layer speaks: the error type with its PostgreSQL SQLSTATE, the SQL
//! value and type model, the newtype ids, the server configuration, and the small encoding
//! helpers (row codec, bincode wrapper, CRC-32C checksums).
//!
//! ```text
//!   api · net · security · query · txn · index · storage
//!                          │ all use
//!                    rustydb-foundation
//! ```
//!
//! ## Invariants
//! - Every error that can reach a client carries a SQLSTATE, decided here and nowhere else
//!   ([`SqlState`]); lower layers wrap their causes rather than flattening them to strings.
//! - On-disk formats are written by hand (byte tables in the module docs), never derived from
//!   serde; [`codec`] is for configuration-like data that may change shape between versions.
//!
//! ## What it must never know
//! Pages, files, transactions, SQL text or sockets. It depends on std and leaf crates only.

#![deny(missing_docs)]

pub mod array;
pub mod bytes;
pub mod checksum;
pub mod clock;
pub mod codec;
pub mod component;
pub mod config;
pub mod datetime;
pub mod datetime_fields;
pub mod error;
pub mod ids;
pub mod interval;
pub mod json;
pub mod le;
pub mod metric_names;
pub mod numeric;
pub mod pg_binary;
pub mod row;
pub mod schema;
pub mod time_of_day;
pub mod types;
pub mod value;
pub mod version;

pub use array::ElementType;
pub use clock::{Clock, ManualClock, SystemClock};
pub use component::{Component, HealthStatus};
pub use config::{Config, HbaEntry};
pub use error::{DbError, Result, SqlState};
pub use ids::{FileId, Lsn, PageId, TableId, TupleId, TxnId};
pub use interval::Interval;
pub use numeric::Numeric;
pub use schema::{Column, Schema};
pub use types::DataType;
pub use value::Value;
