//! Who is calling: HTTP Basic credentials checked against the database's own roles, or a
//! bearer token those credentials bought.
//!
//! Basic credentials go through the same security layer as a wire login: the hba rules pick
//! the method for the caller's address, user and database (`trust` needs only the name,
//! `reject` refuses, `password` and `scram-sha-256` check the password against the role's
//! SCRAM verifier), then the role must be allowed to log in and the database must exist. An
//! unknown role is checked against a made-up verifier, so it costs the same time and fails
//! the same way as a wrong password: response times do not tell which roles exist.
//!
//! Checking a password costs a PBKDF2 with thousands of rounds, by design. A client that calls
//! often trades its credentials once for a bearer token (`POST /v1/auth/token`): 256 random
//! bits, of which the server keeps only the SHA-256 digest, bound to the role and database and
//! valid for a limited time. A lost token table (a restart) only means logging in again.

use super::error::ApiError;
use base64::Engine as _;
use parking_lot::Mutex;
use ring::rand::SecureRandom;
use rustydb_foundation::{DbError, Result, SqlState};
use rustydb_security::{AuthMethod, Authenticator, Principal};
use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Credentials as they arrived in the `Authorization` header.
#[derive(Debug, PartialEq, Eq)]
pub enum Credentials {
    /// `Basic base64(user:password)`.
    Basic {
        /// The role name.
        user: String,
        /// The password.
        password: String,
    },
    /// `Bearer <token>`.
    Bearer(String),
}

impl Credentials {
    /// Parses an `Authorization` header value; 28000 when it is missing or malformed.
    pub fn parse(header: Option<&str>) -> Result<Credentials> {
        let header = header.ok_or_else(|| {
            DbError::sql(
                SqlState::InvalidAuthorization,
                "authentication required: send Basic credentials or a Bearer token",
            )
        })?;
        let (scheme, rest) = header.trim().split_once(' ').unwrap_or((header, ""));
        let rest = rest.trim();
        if scheme.eq_ignore_ascii_case("basic") {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(rest)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| malformed("the Basic credentials are not base64 of UTF-8 text"))?;
            let (user, password) = decoded
                .split_once(':')
                .ok_or_else(|| malformed("the Basic credentials lack the ':' after the user"))?;
            Ok(Credentials::Basic { user: user.to_string(), password: password.to_string() })
        } else if scheme.eq_ignore_ascii_case("bearer") && !rest.is_empty() {
            Ok(Credentials::Bearer(rest.to_string()))
        } else {
            Err(malformed("the Authorization header must be Basic or Bearer"))
        }
    }
}

fn malformed(what: &str) -> DbError {
    DbError::sql(SqlState::InvalidAuthorization, what)
}

/// Issued tokens, by the SHA-256 digest of their text.
#[derive(Debug, Default)]
pub struct TokenStore {
    tokens: Mutex<HashMap<[u8; 32], Grant>>,
}

#[derive(Debug, Clone)]
struct Grant {
    user: String,
    database: String,
    expires: Instant,
}

fn digest(token: &str) -> [u8; 32] {
    let d = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

impl TokenStore {
    /// A new token for `principal`, valid for `lifetime`.
    pub fn issue(&self, principal: &Principal, lifetime: Duration) -> Result<String> {
        let mut raw = [0u8; 32];
        ring::rand::SystemRandom::new()
            .fill(&mut raw)
            .map_err(|_| DbError::Internal("the system random generator failed".into()))?;
        let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
        let now = Instant::now();
        let mut tokens = self.tokens.lock();
        tokens.retain(|_, g| g.expires > now);
        tokens.insert(
            digest(&token),
            Grant { user: principal.user.clone(), database: principal.database.clone(), expires: now + lifetime },
        );
        Ok(token)
    }

    /// The role and database a live token stands for.
    fn redeem(&self, token: &str) -> Option<(String, String)> {
        let mut tokens = self.tokens.lock();
        let key = digest(token);
        match tokens.get(&key) {
            Some(g) if g.expires > Instant::now() => Some((g.user.clone(), g.database.clone())),
            Some(_) => {
                tokens.remove(&key);
                None
            }
            None => None,
        }
    }

    /// Forgets a token (logout). True if it was live.
    pub fn revoke(&self, token: &str) -> bool {
        self.tokens.lock().remove(&digest(token)).is_some()
    }
}

fn rejected(peer: IpAddr, user: &str, database: &str) -> DbError {
    DbError::sql(
        SqlState::InvalidAuthorization,
        format!("pg_hba.conf rejects connection for host \"{peer}\", user \"{user}\", database \"{database}\""),
    )
}

/// Decides who the caller is. Blocking: a password check is deliberately slow, so callers run
/// this off the async threads.
pub fn authenticate(
    auth: &Authenticator,
    tokens: &TokenStore,
    credentials: &Credentials,
    database: &str,
    peer: IpAddr,
) -> Result<Principal, ApiError> {
    match credentials {
        Credentials::Bearer(token) => {
            let (user, database) = tokens.redeem(token).ok_or_else(|| {
                DbError::sql(SqlState::InvalidAuthorization, "the bearer token is unknown or has expired")
            })?;
            // The hba rules still apply to where the token is used from, and the role may
            // have lost LOGIN (or been dropped) since the token was issued.
            if auth.method(&user, &database, peer, false)? == AuthMethod::Reject {
                return Err(rejected(peer, &user, &database).into());
            }
            Ok(auth.admit(&user, &database)?)
        }
        Credentials::Basic { user, password } => {
            match auth.method(user, database, peer, false)? {
                AuthMethod::Trust => {}
                AuthMethod::Reject => return Err(rejected(peer, user, database).into()),
                AuthMethod::Password | AuthMethod::ScramSha256 => {
                    if let Err(refusal) = auth.password_login(user, password, database, Some(peer)) {
                        // A blocking handler (see mod.rs): the pause holds this request only.
                        std::thread::sleep(refusal.pause);
                        return Err(refusal.error.into());
                    }
                }
            }
            let principal = auth.admit(user, database)?;
            auth.login_succeeded(&principal.user, &principal.database, Some(peer));
            Ok(principal)
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn authorization_headers_parse_or_fail_with_28000() {
        let basic = base64::engine::general_purpose::STANDARD.encode("alice:s3:cret");
        assert_eq!(
            Credentials::parse(Some(&format!("Basic {basic}"))).unwrap(),
            Credentials::Basic { user: "alice".into(), password: "s3:cret".into() }
        );
        assert_eq!(Credentials::parse(Some("bearer abc")).unwrap(), Credentials::Bearer("abc".into()));
        for bad in [None, Some("Basic !!!"), Some("Digest x"), Some("Bearer "), Some("Basic")] {
            assert_eq!(Credentials::parse(bad).unwrap_err().sqlstate(), SqlState::InvalidAuthorization, "{bad:?}");
        }
    }

    #[test]
    fn tokens_are_kept_as_digests_and_expire() {
        let store = TokenStore::default();
        let p = Principal { user: "u".into(), database: "d".into(), superuser: false, connection_limit: -1 };
        let live = store.issue(&p, Duration::from_secs(60)).unwrap();
        let dead = store.issue(&p, Duration::ZERO).unwrap();
        assert_ne!(live, dead);
        assert_eq!(store.redeem(&live), Some(("u".into(), "d".into())));
        assert_eq!(store.redeem(&dead), None);
        assert!(!store.tokens.lock().keys().any(|k| k == live.as_bytes()));
        assert!(store.revoke(&live));
        assert_eq!(store.redeem(&live), None);
    }
}
