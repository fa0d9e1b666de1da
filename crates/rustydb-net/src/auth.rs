//! The authentication exchange of a starting connection: AuthenticationCleartextPassword or
//! AuthenticationSASL (SCRAM-SHA-256, and SCRAM-SHA-256-PLUS over TLS), as the hba rule that
//! security picks demands.
//!
//! The exchange spans several client messages, each handed to the startup handler on its own,
//! so its state lives in the connection ([`AuthState`]) between them. pgwire's SCRAM state
//! machine does the message parsing and proof arithmetic against the role's stored verifier;
//! the decisions (which method, which verifier, whether the role may log in) are security's.
//! A role without a usable password runs the SCRAM exchange to its end against a made-up
//! verifier and fails as a wrong password does, so a client cannot probe for role names.

use pgwire::api::auth::sasl::scram::{ScramSecret, ScramServerAuth, ScramServerAuthWaitingForClientFinal};
use pgwire::error::PgWireError;
use pgwire::messages::startup::PasswordMessageFamily;
use rustydb_foundation::{DbError, SqlState};
use rustydb_security::{Authenticator, ScramCredential};

/// The SASL mechanism names.
pub(crate) const SCRAM: &str = "SCRAM-SHA-256";
pub(crate) const SCRAM_PLUS: &str = "SCRAM-SHA-256-PLUS";

/// Where a connection's authentication exchange stands.
#[derive(Debug, Default)]
pub(crate) enum AuthState {
    /// Nothing asked of the client (before Startup, or after authentication).
    #[default]
    Idle,
    /// AuthenticationCleartextPassword sent.
    AwaitingPassword,
    /// AuthenticationSASL sent; the client's first SCRAM message comes next.
    AwaitingScramFirst(ScramCredential),
    /// AuthenticationSASLContinue sent; the client's proof comes next.
    AwaitingScramFinal {
        /// pgwire's state with the server-first message.
        server: Box<ScramServerAuthWaitingForClientFinal>,
        /// False for a made-up verifier: the exchange fails whatever the proof.
        genuine: bool,
    },
}

/// The SCRAM servers: one for plain connections, one that offers channel binding to the
/// server certificate over TLS.
#[derive(Debug, Clone)]
pub struct ScramServers {
    plain: ScramServerAuth,
    tls: ScramServerAuth,
    binds_channel: bool,
}

impl ScramServers {
    /// Servers for a listener whose TLS certificate chain (PEM) is `certificate`, if any.
    pub fn new(certificate: Option<&[u8]>) -> Result<Self, DbError> {
        let plain = ScramServerAuth::new();
        let mut tls = ScramServerAuth::new();
        if let Some(pem) = certificate {
            tls.configure_certificate(pem).map_err(|e| {
                DbError::sql(SqlState::InvalidParameterValue, format!("reading the TLS certificate: {e}"))
            })?;
        }
        Ok(ScramServers { plain, tls, binds_channel: certificate.is_some() })
    }

    /// The mechanisms offered on a connection.
    pub(crate) fn mechanisms(&self, secure: bool) -> Vec<String> {
        if secure && self.binds_channel { vec![SCRAM_PLUS.into(), SCRAM.into()] } else { vec![SCRAM.into()] }
    }

    /// Handles the client-first message: the server-first message to send and the next state.
    pub(crate) fn first(
        &self,
        secure: bool,
        credential: ScramCredential,
        message: PasswordMessageFamily,
        user: &str,
    ) -> Result<(String, AuthState), DbError> {
        let initial = message.into_sasl_initial_response().map_err(protocol)?;
        if !self.mechanisms(secure).contains(&initial.auth_method) {
            return Err(DbError::sql(
                SqlState::ProtocolViolation,
                format!("client selected an invalid SASL authentication mechanism \"{}\"", initial.auth_method),
            ));
        }
        let data =
            initial.data.ok_or_else(|| protocol_message("malformed SCRAM message (empty client-first message)"))?;
        let v = credential.verifier;
        let secret = ScramSecret::Verifier {
            salt: v.salt,
            iterations: v.iterations as usize,
            stored_key: v.stored_key,
            server_key: v.server_key,
        };
        let server = if secure { &self.tls } else { &self.plain };
        let (server_first, waiting) =
            server.on_client_first_message_with_secret(&data, secret).map_err(|e| scram_error(e, user))?;
        Ok((server_first, AuthState::AwaitingScramFinal { server: Box::new(waiting), genuine: credential.genuine }))
    }
}

/// Handles the client-final message: the server-final message, if the proof holds.
pub(crate) fn scram_final(
    server: &ScramServerAuthWaitingForClientFinal,
    genuine: bool,
    message: PasswordMessageFamily,
    user: &str,
) -> Result<String, DbError> {
    let response = message.into_sasl_response().map_err(protocol)?;
    let server_final = server.on_client_final_message(&response.data).map_err(|e| scram_error(e, user))?;
    if !genuine {
        return Err(Authenticator::password_failed(user));
    }
    Ok(server_final)
}

/// The password from a PasswordMessage.
pub(crate) fn password(message: PasswordMessageFamily) -> Result<String, DbError> {
    Ok(message.into_password().map_err(protocol)?.password)
}

fn protocol_message(message: &str) -> DbError {
    DbError::sql(SqlState::ProtocolViolation, message)
}

fn protocol(e: PgWireError) -> DbError {
    DbError::sql(SqlState::ProtocolViolation, format!("invalid authentication message: {e}"))
}

/// A wrong proof is 28P01, as a wrong password; a malformed message is 08P01.
fn scram_error(e: PgWireError, user: &str) -> DbError {
    match e {
        PgWireError::InvalidPassword(_) => Authenticator::password_failed(user),
        other => DbError::sql(SqlState::ProtocolViolation, format!("malformed SCRAM message: {other}")),
    }
}
