//! # rustydb-net — layer 7
//!
//! The PostgreSQL wire protocol (v3) server: what lets psql, pgbench and every PostgreSQL driver
//! talk to RustyDB. pgwire supplies the message codec and the connection state machine (startup,
//! SSLRequest and the TLS handshake with rustls, message framing); this crate supplies the behaviour: authentication through
//! security, ParameterStatus values drivers parse, statement execution through a query
//! [`Session`](rustydb_query::Session), and exact transaction status in ReadyForQuery.
//!
//! ```text
//!  TcpListener ─accept─► its own thread: process_socket (pgwire) ─► Connection
//!                                                                  ├─ on_startup: hba method (security) → trust, or
//!                                                                  │    cleartext password / SCRAM (auth.rs) → Session
//!                                                                  ├─ on_query: session.execute
//!                                                                  │    → RowDescription, DataRow*, CommandComplete,
//!                                                                  │      NoticeResponse, ErrorResponse, ReadyForQuery
//!                                                                  └─ on_parse/bind/describe/execute/close/sync
//!                                                                       (extended.rs): session.prepare at Parse,
//!                                                                       parameters decoded at Bind (formats.rs),
//!                                                                       session.execute_prepared at first Execute
//! ```
//!
//! ## Invariants
//! - Each connection has a thread of its own with a single-threaded runtime (`server.rs`), so
//!   its statements run inline: they read pages and fsync, which stalls only that connection.
//!   The listener's shared runtime never runs a statement. No lock is held across an `.await`.
//! - A client error never ends the connection; a malformed startup packet ends only its own.
//!
//! ## What it must never know
//! Pages, log records, plans. It speaks to the engine only through sessions.

#![deny(missing_docs)]

pub mod auth;
pub mod cancel;
pub mod connection;
pub mod copy;
pub mod extended;
pub mod formats;
pub mod messages;
pub mod server;
pub mod startup_options;
pub mod tls;

pub use server::WireServer;
pub use tls::TlsSettings;
