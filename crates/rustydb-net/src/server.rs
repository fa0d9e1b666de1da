//! The listener: accepts TCP connections and serves each on a thread of its own.
//!
//! Each connection thread runs a single-threaded async runtime that drives only that
//! connection, and its statements run right there, between reading a message and writing the
//! answer, as in PostgreSQL's process per connection. Handing each statement to a pool thread
//! and back (`spawn_blocking`) cost two thread wake-ups per statement, about half the CPU time
//! of a primary-key lookup; here a statement that waits for the disk or a lock stalls only its
//! own connection, which is waiting for that answer anyway. The thread's stack is large enough
//! for the deepest statement ([`STATEMENT_STACK_BYTES`]), so none needs a stack segment of its
//! own; only the pages touched are ever resident, so idle connections stay cheap.

use crate::auth::ScramServers;
use crate::connection::{Connection, ConnectionHandlers, ConnectionLimits, Shared};
use crate::tls::TlsSettings;
use pgwire::tokio::{TlsAcceptor, process_socket};
use rustydb_query::Engine;
use rustydb_query::session::STATEMENT_STACK_BYTES;
use rustydb_security::Authenticator;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};

/// How long a client may take to send the first four bytes of its startup packet.
const STARTUP_HEAD_TIMEOUT: Duration = Duration::from_secs(60);

/// PostgreSQL refuses a first packet whose length word is below 8 or above 10000 ("invalid
/// length of startup packet") before reading further; pgwire would wait for eight bytes first.
/// This peeks at the length word without consuming it. (Direct TLS, whose first byte is 0x16,
/// is not offered: clients send SSLRequest first.)
async fn plausible_startup_length(socket: &TcpStream) -> bool {
    let deadline = tokio::time::Instant::now() + STARTUP_HEAD_TIMEOUT;
    let mut head = [0u8; 4];
    loop {
        match tokio::time::timeout_at(deadline, socket.peek(&mut head)).await {
            Ok(Ok(n)) if n >= head.len() => break,
            // Fewer bytes so far: wait a little for the rest (peek would return at once).
            Ok(Ok(n)) if n > 0 => tokio::time::sleep(Duration::from_millis(5)).await,
            _ => return false,
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
    }
    (8..=10_000).contains(&u32::from_be_bytes(head))
}

/// A connection thread's stack: a statement's worst case and room for the runtime under it.
const CONNECTION_STACK_BYTES: usize = STATEMENT_STACK_BYTES + (2 << 20);

/// Serves one connection on the calling thread, with a runtime of its own.
fn serve_connection(
    socket: std::net::TcpStream,
    peer: std::net::SocketAddr,
    tls: Option<TlsAcceptor>,
    connection: Arc<Connection>,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return tracing::warn!(%peer, error = %e, "could not start a connection runtime"),
    };
    runtime.block_on(async move {
        let socket = match TcpStream::from_std(socket) {
            Ok(s) => s,
            Err(e) => return tracing::warn!(%peer, error = %e, "could not register the socket"),
        };
        if let Err(e) = process_socket(socket, tls, Arc::new(ConnectionHandlers(connection))).await {
            tracing::debug!(%peer, error = %e, "connection ended with an I/O error");
        }
    });
}

/// The PostgreSQL wire protocol server.
pub struct WireServer {
    shared: Arc<Shared>,
    tls: Option<TlsAcceptor>,
}

impl std::fmt::Debug for WireServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WireServer").field("shared", &self.shared).field("tls", &self.tls.is_some()).finish()
    }
}

impl WireServer {
    /// A server over `engine`, admitting logins through `auth`, up to `max_connections`,
    /// answering SSLRequest with TLS when `tls` is given.
    pub fn new(
        engine: Arc<Engine>,
        auth: Arc<Authenticator>,
        max_connections: usize,
        tls: Option<TlsSettings>,
    ) -> rustydb_foundation::Result<Self> {
        let scram = ScramServers::new(tls.as_ref().map(|t| t.certificate_pem.as_slice()))?;
        let shared = Shared {
            engine,
            auth,
            limits: Arc::new(ConnectionLimits::new(max_connections)),
            cancels: Arc::default(),
            scram,
        };
        Ok(WireServer { shared: Arc::new(shared), tls: tls.map(|t| t.acceptor) })
    }

    /// Connections currently authenticated.
    pub fn active_connections(&self) -> usize {
        self.shared.limits.active()
    }

    /// Accepts connections on `listener` until `shutdown` completes. Connection tasks already
    /// running finish their current statement when the runtime winds down.
    pub async fn serve(&self, listener: TcpListener, shutdown: impl Future<Output = ()>) -> std::io::Result<()> {
        tokio::pin!(shutdown);
        loop {
            let (socket, peer) = tokio::select! {
                _ = &mut shutdown => return Ok(()),
                accepted = listener.accept() => match accepted {
                    Ok(pair) => pair,
                    Err(e) => {
                        // Running out of file descriptors and the like: log, back off, go on.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        continue;
                    }
                },
            };
            let _ = socket.set_nodelay(true);
            let connection = Arc::new(Connection::new(self.shared.clone()));
            let tls = self.tls.clone();
            tokio::spawn(async move {
                if !plausible_startup_length(&socket).await {
                    tracing::debug!(%peer, "invalid length of startup packet; closing");
                    return;
                }
                let socket = match socket.into_std() {
                    Ok(s) => s,
                    Err(e) => return tracing::warn!(%peer, error = %e, "could not detach the socket"),
                };
                let serve = move || serve_connection(socket, peer, tls, connection);
                let spawned = std::thread::Builder::new()
                    .name("rustydb-conn".into())
                    .stack_size(CONNECTION_STACK_BYTES)
                    .spawn(serve);
                if let Err(e) = spawned {
                    tracing::warn!(%peer, error = %e, "could not start a connection thread");
                }
            });
        }
    }
}
