//! # rustydb-security — layer 6
//!
//! Who may connect and what they may do: logins (hba rules, SCRAM), and privileges — the
//! [`PrivilegeChecker`] the engine asks before every statement (see `privileges.rs` and the
//! query crate's `acl.rs` for the data it reads).
//!
//! ```text
//!   net: startup(user, database, peer address)
//!          │
//!          ▼
//!   Authenticator ── hba rules (first match wins) ── method: trust | reject | password | scram-sha-256
//!          │            (transport, address, user, database)
//!          ├── the password or SCRAM exchange runs in net, against the role's verifier (scram.rs)
//!          └── role exists and may log in? database exists?  (catalog, through query)
//! ```
//!
//! It decides logins: the first rule matching the client's transport (TLS or not), address,
//! user and database picks the method. `trust` admits a role that exists and may log in;
//! `reject` refuses; `password` and `scram-sha-256` check the password against the role's
//! SCRAM-SHA-256 verifier. With the default configuration connections from loopback are trusted
//! and all others must pass SCRAM. [`ScramEncoder`] is the password encoder the engine calls for
//! `CREATE ROLE ... PASSWORD`, so the catalog only ever holds verifiers.
//!
//! ## What it must never know
//! Sockets and wire messages (net's), pages and log records (storage's and txn's).

#![deny(missing_docs)]

mod argon;
pub mod audit;
pub mod hba;
pub mod keyring;
pub mod lockout;
pub mod privileges;
pub mod scram;
pub mod tde;

pub use hba::{AddressMatch, AuthMethod, Authenticator, ConnectionType, HbaRule, Principal, Refusal, ScramCredential};
pub use privileges::PrivilegeChecker;
pub use scram::{ScramEncoder, ScramVerifier};

/// Installs the security layer's parts in engine options: the password encoder (with the
/// configuration's password policy), the privilege checker, and the key store of `data_dir`
/// when a master key is configured. The server and the embedded API both call it, so every
/// interface gets the same checks.
pub fn install(
    options: &mut rustydb_query::EngineOptions,
    config: &rustydb_foundation::Config,
    data_dir: &std::path::Path,
) -> rustydb_foundation::Result<()> {
    if options.password_encoder.is_none() {
        options.password_encoder = Some(std::sync::Arc::new(ScramEncoder::from_config(config)));
    }
    if options.access_control.is_none() {
        options.access_control = Some(std::sync::Arc::new(PrivilegeChecker));
    }
    if options.encryption.is_none() {
        options.encryption = keyring::KeyStore::open(data_dir, config)?
            .map(|s| s as std::sync::Arc<dyn rustydb_query::encryption::TableEncryption>);
    }
    Ok(())
}
