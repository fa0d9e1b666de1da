//! # rustydb-security — layer 6
//!
//! Who may connect, and (as the security issue lands) what they may do: roles, privileges,
//! row-level security, encryption at rest and the audit log.
//!
//! ```text
//!   net: startup(user, database, peer address)
//!          │
//!          ▼
//!   Authenticator ── hba rules (first match wins) ── method: trust | reject
//!          │                                           (password, SCRAM: security issue)
//!          └── role exists and may log in? database exists?  (catalog, through query)
//! ```
//!
//! Today it decides logins: the first rule matching the client's address, user and database
//! picks the method. `trust` admits a role that exists and may log in; `reject` refuses. With
//! the default configuration connections from loopback are trusted and all others rejected, so a
//! fresh server is usable locally and closed to the network.
//!
//! ## What it must never know
//! Sockets and wire messages (net's), pages and log records (storage's and txn's).

#![deny(missing_docs)]

pub mod hba;

pub use hba::{AddressMatch, AuthMethod, Authenticator, HbaRule, Principal};
