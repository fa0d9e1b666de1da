//! SCRAM-SHA-256 verifiers (RFC 5802, RFC 7677), in PostgreSQL's stored format:
//!
//! ```text
//! SCRAM-SHA-256$<iterations>:<base64 salt>$<base64 StoredKey>:<base64 ServerKey>
//! ```
//!
//! A verifier is what the catalog keeps instead of a password. From the password, a random
//! salt and an iteration count, PBKDF2-HMAC-SHA-256 gives the SaltedPassword; StoredKey is
//! `SHA-256(HMAC(SaltedPassword, "Client Key"))` and ServerKey is `HMAC(SaltedPassword, "Server
//! Key")`. A SCRAM exchange proves the client knows the password without sending it; a
//! cleartext password (hba method `password`) is checked by deriving StoredKey again. The
//! format is PostgreSQL's, so a verifier copied from `pg_authid` works here and the other way
//! round. Passwords are used as given (PostgreSQL also applies SASLprep, which changes only
//! non-ASCII passwords).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ring::rand::{SecureRandom, SystemRandom};
use ring::{digest, hmac, pbkdf2};
use rustydb_foundation::{DbError, Result};
use rustydb_query::roles::PasswordEncoder;
use std::num::NonZeroU32;

/// PostgreSQL's `scram_iterations` default.
pub const DEFAULT_ITERATIONS: u32 = 4096;

/// Salt bytes in a new verifier (PostgreSQL's SCRAM_DEFAULT_SALT_LEN).
const SALT_LEN: usize = 16;

const PREFIX: &str = "SCRAM-SHA-256$";

/// A parsed SCRAM-SHA-256 verifier.
#[derive(Clone, PartialEq, Eq)]
pub struct ScramVerifier {
    /// PBKDF2 iterations.
    pub iterations: u32,
    /// The salt.
    pub salt: Vec<u8>,
    /// `SHA-256(ClientKey)`.
    pub stored_key: Vec<u8>,
    /// `HMAC(SaltedPassword, "Server Key")`.
    pub server_key: Vec<u8>,
}

impl std::fmt::Debug for ScramVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScramVerifier").field("iterations", &self.iterations).finish_non_exhaustive()
    }
}

fn salted_password(password: &str, salt: &[u8], iterations: NonZeroU32) -> [u8; 32] {
    let mut out = [0u8; 32];
    pbkdf2::derive(pbkdf2::PBKDF2_HMAC_SHA256, iterations, salt, password.as_bytes(), &mut out);
    out
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data).as_ref().to_vec()
}

fn keys(salted: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let client_key = hmac_sha256(salted, b"Client Key");
    let stored_key = digest::digest(&digest::SHA256, &client_key).as_ref().to_vec();
    (stored_key, hmac_sha256(salted, b"Server Key"))
}

/// Equal contents, compared in time that does not depend on where they differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl ScramVerifier {
    /// A new verifier for `password` with a fresh random salt.
    pub fn new(password: &str, iterations: u32) -> Result<Self> {
        let mut salt = vec![0u8; SALT_LEN];
        SystemRandom::new()
            .fill(&mut salt)
            .map_err(|_| DbError::Internal("the system random number generator failed".into()))?;
        Self::with_salt(password, salt, iterations)
    }

    /// The verifier for `password` with a given salt (tests, and checking a password).
    pub fn with_salt(password: &str, salt: Vec<u8>, iterations: u32) -> Result<Self> {
        let rounds = NonZeroU32::new(iterations).ok_or_else(|| DbError::Internal("zero SCRAM iterations".into()))?;
        let (stored_key, server_key) = keys(&salted_password(password, &salt, rounds));
        Ok(ScramVerifier { iterations, salt, stored_key, server_key })
    }

    /// Parses PostgreSQL's stored form; `None` if `text` is not one.
    pub fn parse(text: &str) -> Option<Self> {
        let rest = text.strip_prefix(PREFIX)?;
        let (params, keys) = rest.split_once('$')?;
        let (iterations, salt) = params.split_once(':')?;
        let (stored, server) = keys.split_once(':')?;
        let iterations: u32 = iterations.parse().ok().filter(|n| *n > 0)?;
        let salt = STANDARD.decode(salt).ok().filter(|s| !s.is_empty())?;
        let stored_key = STANDARD.decode(stored).ok().filter(|k| k.len() == 32)?;
        let server_key = STANDARD.decode(server).ok().filter(|k| k.len() == 32)?;
        Some(ScramVerifier { iterations, salt, stored_key, server_key })
    }

    /// Whether `password` is the one this verifier was made from.
    pub fn check(&self, password: &str) -> bool {
        ScramVerifier::with_salt(password, self.salt.clone(), self.iterations)
            .is_ok_and(|candidate| constant_time_eq(&candidate.stored_key, &self.stored_key))
    }
}

impl std::fmt::Display for ScramVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{PREFIX}{}:{}${}:{}",
            self.iterations,
            STANDARD.encode(&self.salt),
            STANDARD.encode(&self.stored_key),
            STANDARD.encode(&self.server_key)
        )
    }
}

/// The encoder the engine calls for `PASSWORD '...'` in role statements, with the password
/// policy of the configuration.
#[derive(Debug, Clone, Copy)]
pub struct ScramEncoder {
    /// Iterations for new verifiers.
    pub iterations: u32,
    /// Shortest password accepted, in characters (0: any).
    pub min_length: usize,
    /// Earlier passwords a new one may not repeat (0: no rule).
    pub reuse_history: usize,
}

impl Default for ScramEncoder {
    fn default() -> Self {
        ScramEncoder { iterations: DEFAULT_ITERATIONS, min_length: 0, reuse_history: 0 }
    }
}

impl ScramEncoder {
    /// The encoder with the configuration's password policy.
    pub fn from_config(config: &rustydb_foundation::Config) -> Self {
        ScramEncoder {
            min_length: config.password_min_length,
            reuse_history: config.password_reuse_history,
            ..Self::default()
        }
    }
}

impl PasswordEncoder for ScramEncoder {
    fn encode(&self, _role: &str, password: &str) -> Result<String> {
        // A verifier given as the password is stored as it is (how pg_dump restores roles);
        // the policy cannot see through it.
        if ScramVerifier::parse(password).is_some() {
            return Ok(password.to_string());
        }
        if password.chars().count() < self.min_length {
            return Err(DbError::sql(
                rustydb_foundation::SqlState::InvalidParameterValue,
                format!("password is too short: it must have at least {} characters", self.min_length),
            ));
        }
        Ok(ScramVerifier::new(password, self.iterations)?.to_string())
    }

    fn outside_hash(&self, password: &str) -> Result<Option<String>> {
        if ScramVerifier::parse(password).is_some() {
            return Ok(None);
        }
        crate::argon::hash(password).map(Some)
    }

    fn reuse_window(&self) -> usize {
        self.reuse_history
    }

    fn matches(&self, stored: &str, password: &str) -> bool {
        ScramVerifier::parse(stored).is_some_and(|v| v.check(password))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_postgresql_verifier_checks_the_password_it_was_made_from() {
        // Made by PostgreSQL 15 for the password below (which is not itself a valid verifier):
        // CREATE ROLE x PASSWORD 'SCRAM-SHA-256$4096:c2FsdA==$abc:def'; SELECT rolpassword FROM pg_authid.
        let password = "SCRAM-SHA-256$4096:c2FsdA==$abc:def";
        let pg = "SCRAM-SHA-256$4096:L35EEj6hDuNIEomREgqMJg==$WGI98CXVsCkPQsvZx6YYDRBYIoY06pI3rv7fEVdr1Ts=:UpcAwa9rVDIcFSDzGdTlf02NiM9vxpxFoGC+K1M0U8E=";
        let v = ScramVerifier::parse(pg).unwrap();
        assert_eq!(v.iterations, 4096);
        assert_eq!(v.to_string(), pg);
        assert!(v.check(password));
        assert!(!v.check("wrong"));
    }

    #[test]
    fn new_verifiers_round_trip_and_check() {
        let v = ScramVerifier::new("correct horse", 4096).unwrap();
        let text = v.to_string();
        assert!(text.starts_with("SCRAM-SHA-256$4096:"));
        let parsed = ScramVerifier::parse(&text).unwrap();
        assert_eq!(parsed, v);
        assert!(parsed.check("correct horse"));
        assert!(!parsed.check("correct horse "));
        assert!(!parsed.check(""));
        // Two verifiers of one password differ (random salt).
        assert_ne!(ScramVerifier::new("correct horse", 4096).unwrap().to_string(), text);
    }

    #[test]
    fn the_encoder_keeps_verifiers_and_hashes_everything_else() {
        let enc = ScramEncoder::default();
        let v = ScramVerifier::new("pw", 4096).unwrap().to_string();
        assert_eq!(enc.encode("r", &v).unwrap(), v);
        // Not quite a verifier (PostgreSQL hashes such strings as passwords too).
        let fake = "SCRAM-SHA-256$4096:c2FsdA==$abc:def";
        assert!(ScramVerifier::parse(fake).is_none());
        let stored = enc.encode("r", fake).unwrap();
        assert!(ScramVerifier::parse(&stored).unwrap().check(fake));
    }
}
