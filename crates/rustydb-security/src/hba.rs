//! Host-based authentication: the ordered rules `pg_hba.conf` users know, and the login decision.

use rustydb_foundation::{Config, DbError, Result, SqlState};
use rustydb_query::Engine;
use std::net::IpAddr;
use std::sync::Arc;

/// Which client addresses a rule covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddressMatch {
    /// 127.0.0.0/8 and ::1.
    Loopback,
    /// Every address.
    Any,
}

impl AddressMatch {
    fn covers(&self, addr: IpAddr) -> bool {
        match self {
            AddressMatch::Loopback => addr.is_loopback(),
            AddressMatch::Any => true,
        }
    }
}

/// How a matching connection is authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    /// Admit without a password.
    Trust,
    /// Refuse.
    Reject,
}

/// One rule: address, user and database patterns (`None` matches all) and a method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HbaRule {
    /// Client addresses covered.
    pub address: AddressMatch,
    /// The user it applies to, or all.
    pub user: Option<String>,
    /// The database it applies to, or all.
    pub database: Option<String>,
    /// What to do.
    pub method: AuthMethod,
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
}

/// Decides whether a connection may log in.
#[derive(Debug)]
pub struct Authenticator {
    engine: Arc<Engine>,
    rules: Vec<HbaRule>,
}

impl Authenticator {
    /// An authenticator with explicit rules.
    pub fn new(engine: Arc<Engine>, rules: Vec<HbaRule>) -> Self {
        Authenticator { engine, rules }
    }

    /// The rules the configuration implies: trust loopback if configured, reject the rest.
    pub fn from_config(engine: Arc<Engine>, config: &Config) -> Self {
        let mut rules = Vec::new();
        if config.trust_loopback {
            rules.push(HbaRule {
                address: AddressMatch::Loopback,
                user: None,
                database: None,
                method: AuthMethod::Trust,
            });
        }
        rules.push(HbaRule { address: AddressMatch::Any, user: None, database: None, method: AuthMethod::Reject });
        Self::new(engine, rules)
    }

    /// Decides a login. Errors are what PostgreSQL sends as FATAL: 28000 for a refused or
    /// unknown role, 3D000 for an unknown database.
    pub fn authenticate(&self, user: &str, database: &str, peer: IpAddr) -> Result<Principal> {
        let rule = self.rules.iter().find(|r| {
            r.address.covers(peer)
                && r.user.as_deref().is_none_or(|u| u == user)
                && r.database.as_deref().is_none_or(|d| d == database)
        });
        if rule.is_none_or(|r| r.method == AuthMethod::Reject) {
            return Err(DbError::sql(
                SqlState::InvalidAuthorization,
                format!(
                    "no pg_hba.conf entry for host \"{peer}\", user \"{user}\", database \"{database}\", no encryption"
                ),
            ));
        }
        let role = self.engine.find_role(user)?;
        let role = role
            .filter(|r| r.can_login)
            .ok_or_else(|| DbError::sql(SqlState::InvalidAuthorization, format!("role \"{user}\" does not exist")))?;
        if !self.engine.database_exists(database)? {
            return Err(DbError::sql(SqlState::InvalidCatalogName, format!("database \"{database}\" does not exist")));
        }
        Ok(Principal { user: role.name, database: database.to_string(), superuser: role.superuser })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustydb_query::EngineOptions;

    #[test]
    fn loopback_is_trusted_and_everything_else_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(dir.path(), &EngineOptions::with_pool_pages(32)).unwrap();
        let auth = Authenticator::from_config(engine, &Config::default());
        let local: IpAddr = "127.0.0.1".parse().unwrap();
        let remote: IpAddr = "192.0.2.7".parse().unwrap();
        let p = auth.authenticate("rustydb", "rustydb", local).unwrap();
        assert!(p.superuser);
        assert!(auth.authenticate("rustydb", "rustydb", "::1".parse().unwrap()).is_ok());
        let code = |r: Result<Principal>| r.unwrap_err().sqlstate().code();
        assert_eq!(code(auth.authenticate("rustydb", "rustydb", remote)), "28000");
        assert_eq!(code(auth.authenticate("mallory", "rustydb", local)), "28000");
        assert_eq!(code(auth.authenticate("rustydb", "nodb", local)), "3D000");
    }
}
