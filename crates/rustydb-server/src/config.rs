//! Command-line flags and the configuration they resolve to.

use clap::Parser;
use rustydb_foundation::{Config, DbError, Result};
use std::path::PathBuf;

/// `rustydb-server` flags. Each has an environment variable; a flag beats its variable, and
/// both beat the `--config` file, which beats the defaults.
#[derive(Debug, Parser)]
#[command(name = "rustydb-server", version, about = "RustyDB: a PostgreSQL-compatible database server")]
pub struct Args {
    /// Address to listen on for PostgreSQL clients.
    #[arg(long, env = "RUSTYDB_LISTEN", value_name = "ADDR:PORT")]
    pub listen: Option<String>,
    /// Address for the HTTP listener: REST API, /metrics and health endpoints (off when unset).
    #[arg(long, env = "RUSTYDB_HTTP_LISTEN", value_name = "ADDR:PORT")]
    pub http_listen: Option<String>,
    /// Data directory (created on first start).
    #[arg(long, env = "RUSTYDB_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// TOML configuration file.
    #[arg(long, env = "RUSTYDB_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// A maintenance command instead of serving.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Maintenance commands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// The audit log.
    Audit {
        /// What to do with it.
        #[command(subcommand)]
        action: AuditAction,
    },
}

/// What `rustydb-server audit` does.
#[derive(Debug, clap::Subcommand)]
pub enum AuditAction {
    /// Checks the hash chain of the data directory's audit log; exit status 1 if any record
    /// was changed or removed. Prints the head hash to keep elsewhere.
    Verify {
        /// A head hash printed by an earlier verify, which must still be in the chain.
        #[arg(long, value_name = "HASH")]
        expect_head: Option<String>,
    },
}

impl Args {
    /// The configuration these flags select.
    pub fn resolve(&self) -> Result<Config> {
        let mut config = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| DbError::io(format!("reading configuration file {}", path.display()), e))?;
                Config::from_toml(&text)?
            }
            None => Config::default(),
        };
        if let Some(listen) = &self.listen {
            config.listen = listen.clone();
        }
        if let Some(http) = &self.http_listen {
            config.http_listen = Some(http.clone());
        }
        if let Some(dir) = &self.data_dir {
            config.data_dir = dir.clone();
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_the_file_which_overrides_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("rustydb.toml");
        std::fs::write(&file, "listen = \"127.0.0.1:7000\"\ndata_dir = \"/from/file\"\n").unwrap();
        let args = Args::try_parse_from(["rustydb-server", "--config", file.to_str().unwrap(), "--data-dir", "/flag"])
            .unwrap();
        let config = args.resolve().unwrap();
        assert_eq!(config.listen, "127.0.0.1:7000");
        assert_eq!(config.data_dir, PathBuf::from("/flag"));
        let defaults =
            Args { listen: None, http_listen: None, data_dir: None, config: None, command: None }.resolve().unwrap();
        assert_eq!(defaults, Config::default());
    }
}
