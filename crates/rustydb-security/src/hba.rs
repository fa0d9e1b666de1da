//! Host-based authentication: the ordered rules `pg_hba.conf` users know, and the login decision.
//!
//! The wire layer asks [`Authenticator::method`] which method a connection must pass (the first
//! rule matching its connection type, address, user and database), runs the exchange, and asks
//! [`Authenticator::check_password`] or [`Authenticator::scram_credential`] for what only the
//! catalog knows. [`Authenticator::admit`] then checks what PostgreSQL checks after
//! authentication: the role may log in and the database exists.

use crate::scram::{DEFAULT_ITERATIONS, ScramVerifier};
use rustydb_foundation::{Config, DbError, HbaEntry, Result, SqlState};
use rustydb_query::Engine;
use rustydb_query::catalog::RoleDef;
use std::net::IpAddr;
use std::sync::Arc;

/// Which client addresses a rule covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddressMatch {
    /// 127.0.0.0/8 and ::1 (`samehost` for a server listening on loopback).
    Loopback,
    /// Every address.
    Any,
    /// An address and a prefix length (CIDR).
    Network {
        /// The network address.
        addr: IpAddr,
        /// Leading bits that must match.
        prefix: u8,
    },
}

impl AddressMatch {
    fn covers(&self, peer: IpAddr) -> bool {
        match self {
            AddressMatch::Loopback => peer.is_loopback(),
            AddressMatch::Any => true,
            AddressMatch::Network { addr, prefix } => match (addr, normalise(peer)) {
                (IpAddr::V4(net), IpAddr::V4(p)) => mask_eq(&net.octets(), &p.octets(), *prefix),
                (IpAddr::V6(net), IpAddr::V6(p)) => mask_eq(&net.octets(), &p.octets(), *prefix),
                _ => false,
            },
        }
    }

    fn parse(text: &str) -> Result<Self> {
        match text {
            "all" => return Ok(AddressMatch::Any),
            "samehost" | "loopback" => return Ok(AddressMatch::Loopback),
            _ => {}
        }
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| bad_rule(format!("invalid IP address \"{addr}\"")))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| bad_rule(format!("invalid CIDR mask in address \"{text}\"")))?,
            None => max,
        };
        Ok(AddressMatch::Network { addr, prefix })
    }
}

/// An IPv4 peer seen through an IPv6 socket (`::ffff:a.b.c.d`) as the IPv4 address it is.
fn normalise(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        v4 => v4,
    }
}

fn mask_eq(a: &[u8], b: &[u8], prefix: u8) -> bool {
    let (bytes, bits) = (usize::from(prefix / 8), prefix % 8);
    if a[..bytes] != b[..bytes] {
        return false;
    }
    bits == 0 || (a[bytes] ^ b[bytes]) >> (8 - bits) == 0
}

/// Which transports a rule covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionType {
    /// TLS or not (`host`).
    Any,
    /// TLS only (`hostssl`).
    Tls,
    /// Plain TCP only (`hostnossl`).
    Plain,
}

/// How a matching connection is authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    /// Admit without a password.
    Trust,
    /// Refuse.
    Reject,
    /// Ask for the password in clear text (`password`); safe only over TLS.
    Password,
    /// SCRAM-SHA-256: the client proves it knows the password without sending it.
    ScramSha256,
}

impl AuthMethod {
    fn parse(text: &str) -> Result<Self> {
        Ok(match text {
            "trust" => AuthMethod::Trust,
            "reject" => AuthMethod::Reject,
            "password" => AuthMethod::Password,
            "scram-sha-256" => AuthMethod::ScramSha256,
            other => return Err(bad_rule(format!("invalid authentication method \"{other}\""))),
        })
    }
}

fn bad_rule(message: String) -> DbError {
    DbError::sql(SqlState::InvalidParameterValue, format!("invalid hba rule: {message}"))
}

/// One rule: connection type, address, user and database patterns (`None` matches all) and a
/// method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HbaRule {
    /// TLS, plain or either.
    pub connection: ConnectionType,
    /// Client addresses covered.
    pub address: AddressMatch,
    /// The user it applies to, or all.
    pub user: Option<String>,
    /// The database it applies to, or all.
    pub database: Option<String>,
    /// What to do.
    pub method: AuthMethod,
}

impl HbaRule {
    /// A rule from its configuration entry.
    pub fn parse(entry: &HbaEntry) -> Result<Self> {
        let connection = match entry.connection.as_str() {
            "host" => ConnectionType::Any,
            "hostssl" => ConnectionType::Tls,
            "hostnossl" => ConnectionType::Plain,
            other => return Err(bad_rule(format!("invalid connection type \"{other}\""))),
        };
        let pattern = |s: &str| (s != "all").then(|| s.to_string());
        Ok(HbaRule {
            connection,
            address: AddressMatch::parse(&entry.address)?,
            user: pattern(&entry.user),
            database: pattern(&entry.database),
            method: AuthMethod::parse(&entry.method)?,
        })
    }

    fn matches(&self, user: &str, database: &str, peer: IpAddr, tls: bool) -> bool {
        let transport = match self.connection {
            ConnectionType::Any => true,
            ConnectionType::Tls => tls,
            ConnectionType::Plain => !tls,
        };
        transport
            && self.address.covers(peer)
            && self.user.as_deref().is_none_or(|u| u == user)
            && self.database.as_deref().is_none_or(|d| d == database)
    }
}

/// An authenticated client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The role name.
    pub user: String,
    /// The database connected to.
    pub database: String,
    /// Whether the role is a superuser.
    pub superuser: bool,
    /// The role's CONNECTION LIMIT (-1: none).
    pub connection_limit: i32,
}

/// What a SCRAM exchange runs against. For a role that does not exist or has no usable
/// password it is a made-up verifier, so the exchange runs to its end and fails the same way as
/// for a wrong password: the client learns nothing about which roles exist.
#[derive(Debug, Clone)]
pub struct ScramCredential {
    /// The verifier.
    pub verifier: ScramVerifier,
    /// False when the verifier is made up: the exchange must fail whatever the client sends.
    pub genuine: bool,
}

/// Decides whether a connection may log in.
#[derive(Debug)]
pub struct Authenticator {
    engine: Arc<Engine>,
    rules: Vec<HbaRule>,
    throttle: crate::lockout::LoginThrottle,
    audit: Option<Arc<crate::audit::AuditLog>>,
}

/// A refused password login: the error to send, after the pause (see `lockout.rs`).
#[derive(Debug)]
pub struct Refusal {
    /// 28P01 (wrong password), or 28000 (locked out).
    pub error: DbError,
    /// How long to wait before sending it.
    pub pause: std::time::Duration,
}

impl From<Refusal> for DbError {
    fn from(r: Refusal) -> DbError {
        r.error
    }
}

impl Authenticator {
    /// An authenticator with explicit rules and the default throttle.
    pub fn new(engine: Arc<Engine>, rules: Vec<HbaRule>) -> Self {
        Self::with_throttle(engine, rules, &Config::default())
    }

    fn with_throttle(engine: Arc<Engine>, rules: Vec<HbaRule>, config: &Config) -> Self {
        let throttle = crate::lockout::LoginThrottle::new(
            config.auth_failure_limit,
            std::time::Duration::from_secs(config.auth_lockout_s),
            std::time::Duration::from_millis(config.auth_failure_delay_ms),
        );
        Authenticator { engine, rules, throttle, audit: None }
    }

    /// Records logins and failed logins in `audit` from now on.
    pub fn with_audit(mut self, audit: Option<Arc<crate::audit::AuditLog>>) -> Self {
        self.audit = audit;
        self
    }

    /// 28000 if `user` is locked out after repeated failed logins (checked before any
    /// password exchange starts).
    pub fn login_allowed(&self, user: &str) -> Result<()> {
        self.throttle.check(user)
    }

    /// Counts a failed password login (recorded in the audit log) and returns the refusal to
    /// send after its pause.
    pub fn login_failed(&self, user: &str, database: &str, peer: Option<IpAddr>, error: DbError) -> Refusal {
        let (pause, locked) = self.throttle.failed(user);
        if locked {
            tracing::warn!(user, "role locked out after repeated failed logins");
        }
        if let Some(audit) = &self.audit {
            audit.login(user, database, peer, false, error.sqlstate().code());
        }
        Refusal { error, pause }
    }

    /// A successful login (after a password, or trusted): the failure count is cleared and the
    /// login recorded in the audit log.
    pub fn login_succeeded(&self, user: &str, database: &str, peer: Option<IpAddr>) {
        self.throttle.succeeded(user);
        if let Some(audit) = &self.audit {
            audit.login(user, database, peer, true, "00000");
        }
    }

    /// A whole password login outside the wire protocol (REST Basic, embedded): locked?,
    /// the password against the role's verifier, counted either way.
    pub fn password_login(
        &self,
        user: &str,
        password: &str,
        database: &str,
        peer: Option<IpAddr>,
    ) -> std::result::Result<(), Refusal> {
        if let Err(e) = self.login_allowed(user) {
            return Err(Refusal { error: e, pause: std::time::Duration::ZERO });
        }
        let role = self.live_role(user).map_err(|e| Refusal { error: e, pause: std::time::Duration::ZERO })?;
        // The Argon2 hash where the role has one; its SCRAM verifier otherwise (and a made-up
        // one for a role that does not exist, so the answer takes as long either way).
        let passed = match role.as_ref().and_then(|r| r.password_outside.as_deref()) {
            Some(hash) => crate::argon::check(hash, password),
            None => {
                let credential =
                    self.scram_credential(user).map_err(|e| Refusal { error: e, pause: std::time::Duration::ZERO })?;
                credential.verifier.check(password) && credential.genuine
            }
        };
        if !passed {
            return Err(self.login_failed(user, database, peer, Self::password_failed(user)));
        }
        self.throttle.succeeded(user);
        Ok(())
    }

    /// The configured `[[hba]]` rules, or when there are none: trust loopback (if
    /// `trust_loopback`), SCRAM-SHA-256 for everyone else.
    pub fn from_config(engine: Arc<Engine>, config: &Config) -> Result<Self> {
        let mut rules = Vec::new();
        if config.hba.is_empty() {
            if config.trust_loopback {
                rules.push(HbaRule {
                    connection: ConnectionType::Any,
                    address: AddressMatch::Loopback,
                    user: None,
                    database: None,
                    method: AuthMethod::Trust,
                });
            }
            rules.push(HbaRule {
                connection: ConnectionType::Any,
                address: AddressMatch::Any,
                user: None,
                database: None,
                method: AuthMethod::ScramSha256,
            });
        } else {
            for entry in &config.hba {
                rules.push(HbaRule::parse(entry)?);
            }
        }
        Ok(Self::with_throttle(engine, rules, config))
    }

    /// The method a connection must pass: the first matching rule's. No rule, or `reject`, is
    /// the FATAL 28000 PostgreSQL sends.
    pub fn method(&self, user: &str, database: &str, peer: IpAddr, tls: bool) -> Result<AuthMethod> {
        let encryption = if tls { "SSL encryption" } else { "no encryption" };
        let message =
            |what: &str| format!("{what} for host \"{peer}\", user \"{user}\", database \"{database}\", {encryption}");
        match self.rules.iter().find(|r| r.matches(user, database, peer, tls)) {
            None => Err(DbError::sql(SqlState::InvalidAuthorization, message("no pg_hba.conf entry"))),
            Some(r) if r.method == AuthMethod::Reject => {
                Err(DbError::sql(SqlState::InvalidAuthorization, message("pg_hba.conf rejects connection")))
            }
            Some(r) => Ok(r.method),
        }
    }

    /// The FATAL 28P01 of a failed password or SCRAM exchange.
    pub fn password_failed(user: &str) -> DbError {
        DbError::sql(SqlState::InvalidPassword, format!("password authentication failed for user \"{user}\""))
    }

    /// The role, if it exists and its password has not expired (VALID UNTIL).
    fn live_role(&self, user: &str) -> Result<Option<RoleDef>> {
        let Some(role) = self.engine.find_role(user)? else { return Ok(None) };
        if role.valid_until.is_some_and(|until| until < rustydb_foundation::datetime::now()) {
            return Ok(None);
        }
        Ok(Some(role))
    }

    /// The role's verifier, if it has one that is still valid.
    fn live_verifier(&self, user: &str) -> Result<Option<ScramVerifier>> {
        Ok(self.live_role(user)?.and_then(|role| role.password.as_deref().and_then(ScramVerifier::parse)))
    }

    /// Checks a password sent in clear text (method `password`): 28P01 unless it matches the
    /// role's verifier and the verifier has not expired (VALID UNTIL).
    pub fn check_password(&self, user: &str, password: &str) -> Result<()> {
        match self.live_verifier(user)? {
            Some(v) if v.check(password) => Ok(()),
            _ => Err(Self::password_failed(user)),
        }
    }

    /// What a SCRAM exchange for `user` runs against.
    pub fn scram_credential(&self, user: &str) -> Result<ScramCredential> {
        match self.live_verifier(user)? {
            Some(verifier) => Ok(ScramCredential { verifier, genuine: true }),
            None => {
                // Random keys: no proof can match them.
                let verifier = ScramVerifier::new(&format!("{user}\u{0}no password"), DEFAULT_ITERATIONS)?;
                Ok(ScramCredential { verifier, genuine: false })
            }
        }
    }

    /// After authentication: the role exists and may log in, the database exists, and the role
    /// may CONNECT to it. 28000, 3D000 and 42501 as PostgreSQL sends them.
    pub fn admit(&self, user: &str, database: &str) -> Result<Principal> {
        let role: RoleDef = self
            .engine
            .find_role(user)?
            .ok_or_else(|| DbError::sql(SqlState::InvalidAuthorization, format!("role \"{user}\" does not exist")))?;
        if !role.can_login {
            return Err(DbError::sql(
                SqlState::InvalidAuthorization,
                format!("role \"{user}\" is not permitted to log in"),
            ));
        }
        if !self.engine.database_exists(database)? {
            return Err(DbError::sql(SqlState::InvalidCatalogName, format!("database \"{database}\" does not exist")));
        }
        if !role.superuser {
            self.engine.with_security_catalog(database, |catalog| {
                crate::privileges::check_connect(catalog, &role.name, database)
            })??;
        }
        Ok(Principal {
            user: role.name,
            database: database.to_string(),
            superuser: role.superuser,
            connection_limit: role.connection_limit,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustydb_query::EngineOptions;

    fn entry(connection: &str, address: &str, user: &str, method: &str) -> HbaEntry {
        HbaEntry {
            connection: connection.into(),
            address: address.into(),
            user: user.into(),
            database: "all".into(),
            method: method.into(),
        }
    }

    #[test]
    fn default_rules_trust_loopback_and_ask_everyone_else_for_scram() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(dir.path(), &EngineOptions::with_pool_pages(32)).unwrap();
        let auth = Authenticator::from_config(engine, &Config::default()).unwrap();
        let local: IpAddr = "127.0.0.1".parse().unwrap();
        let remote: IpAddr = "192.0.2.7".parse().unwrap();
        assert_eq!(auth.method("rustydb", "rustydb", local, false).unwrap(), AuthMethod::Trust);
        assert_eq!(auth.method("rustydb", "rustydb", "::1".parse().unwrap(), false).unwrap(), AuthMethod::Trust);
        assert_eq!(auth.method("rustydb", "rustydb", remote, false).unwrap(), AuthMethod::ScramSha256);
        let p = auth.admit("rustydb", "rustydb").unwrap();
        assert!(p.superuser);
        let code = |r: Result<Principal>| r.unwrap_err().sqlstate().code();
        assert_eq!(code(auth.admit("mallory", "rustydb")), "28000");
        assert_eq!(code(auth.admit("rustydb", "nodb")), "3D000");
        // The bootstrap role has no password: a password check and a SCRAM exchange must fail.
        assert_eq!(auth.check_password("rustydb", "").unwrap_err().sqlstate().code(), "28P01");
        assert!(!auth.scram_credential("rustydb").unwrap().genuine);
        assert!(!auth.scram_credential("mallory").unwrap().genuine);
    }

    #[test]
    fn configured_rules_match_in_order_by_transport_address_and_user() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(dir.path(), &EngineOptions::with_pool_pages(32)).unwrap();
        let config = Config {
            hba: vec![
                entry("hostssl", "10.0.0.0/8", "all", "password"),
                entry("host", "10.1.0.0/16", "all", "reject"),
                entry("hostnossl", "10.0.0.0/8", "alice", "scram-sha-256"),
                entry("host", "192.0.2.7", "all", "trust"),
                entry("host", "::1/128", "all", "trust"),
            ],
            ..Config::default()
        };
        let auth = Authenticator::from_config(engine, &config).unwrap();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(auth.method("bob", "db", ip("10.1.2.3"), true).unwrap(), AuthMethod::Password);
        let rejected = auth.method("bob", "db", ip("10.1.2.3"), false).unwrap_err();
        assert_eq!(rejected.sqlstate().code(), "28000");
        assert!(rejected.to_string().contains("pg_hba.conf rejects connection"), "{rejected}");
        assert_eq!(auth.method("alice", "db", ip("10.2.0.1"), false).unwrap(), AuthMethod::ScramSha256);
        let none = auth.method("bob", "db", ip("10.2.0.1"), false).unwrap_err();
        assert!(none.to_string().contains("no pg_hba.conf entry for host \"10.2.0.1\""), "{none}");
        assert_eq!(auth.method("x", "db", ip("192.0.2.7"), false).unwrap(), AuthMethod::Trust);
        assert_eq!(auth.method("x", "db", ip("::ffff:192.0.2.7"), false).unwrap(), AuthMethod::Trust);
        assert!(auth.method("x", "db", ip("192.0.2.8"), false).is_err());
        assert!(auth.method("x", "db", ip("127.0.0.1"), false).is_err());
        assert_eq!(auth.method("x", "db", ip("::1"), false).unwrap(), AuthMethod::Trust);
    }

    #[test]
    fn bad_rules_are_refused_with_the_reason() {
        for (address, method) in [("10.0.0.0/33", "trust"), ("nowhere", "trust"), ("all", "md5")] {
            let e = HbaRule::parse(&entry("host", address, "all", method)).unwrap_err();
            assert_eq!(e.sqlstate().code(), "22023", "{e}");
        }
        assert!(HbaRule::parse(&entry("local", "all", "all", "trust")).is_err());
        assert!(mask_eq(&[10, 1, 2, 3], &[10, 1, 255, 0], 16));
        assert!(!mask_eq(&[10, 1, 2, 3], &[10, 2, 2, 3], 16));
        assert!(mask_eq(&[192, 168, 1, 129], &[192, 168, 1, 200], 25));
        assert!(!mask_eq(&[192, 168, 1, 1], &[192, 168, 1, 200], 25));
    }
}
