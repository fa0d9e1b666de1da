//! TLS for the listener: a rustls server configuration from PEM files, as PostgreSQL's
//! `ssl_cert_file` and `ssl_key_file`.
//!
//! A client asks for TLS with SSLRequest; pgwire answers `S` when an acceptor is configured
//! (`N` otherwise) and runs the handshake before the startup packet. The certificate chain is
//! also what SCRAM-SHA-256-PLUS binds to (`tls-server-end-point`), so it is returned with the
//! acceptor.

use pgwire::tokio::TlsAcceptor;
use rustydb_foundation::{DbError, Result, SqlState};
use std::path::Path;
use std::sync::Arc;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// A loaded TLS configuration.
#[derive(Clone)]
pub struct TlsSettings {
    /// The acceptor pgwire runs handshakes with.
    pub acceptor: TlsAcceptor,
    /// The certificate chain as read (PEM), for SCRAM channel binding.
    pub certificate_pem: Vec<u8>,
}

impl std::fmt::Debug for TlsSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsSettings").finish_non_exhaustive()
    }
}

fn config_error(message: String) -> DbError {
    DbError::sql(SqlState::InvalidParameterValue, message)
}

impl TlsSettings {
    /// Reads the certificate chain and private key (PEM files).
    pub fn load(cert_file: &Path, key_file: &Path) -> Result<Self> {
        let certificate_pem = std::fs::read(cert_file)
            .map_err(|e| DbError::io(format!("reading ssl_cert_file {}", cert_file.display()), e))?;
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&certificate_pem)
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| config_error(format!("ssl_cert_file {}: {e}", cert_file.display())))?;
        if chain.is_empty() {
            return Err(config_error(format!("ssl_cert_file {} holds no certificate", cert_file.display())));
        }
        let key = PrivateKeyDer::from_pem_file(key_file)
            .map_err(|e| config_error(format!("ssl_key_file {}: {e}", key_file.display())))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| config_error(format!("TLS protocol versions: {e}")))?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| config_error(format!("ssl_cert_file and ssl_key_file do not make a usable pair: {e}")))?;
        Ok(TlsSettings { acceptor: TlsAcceptor::from(Arc::new(config)), certificate_pem })
    }
}
