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
use rustydb_foundation::{DbError, SqlState};
use rustydb_query::Engine;
use rustydb_query::session::STATEMENT_STACK_BYTES;
use rustydb_security::Authenticator;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
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
    let shared = connection.shared().clone();
    shared.live.fetch_add(1, Ordering::AcqRel);
    let _live = LiveGuard(&shared);
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return tracing::warn!(%peer, error = %e, "could not start a connection runtime"),
    };
    // A second handle on the socket, to send the FATAL message of a terminated connection
    // after pgwire's half has been dropped.
    let raw = socket.try_clone().ok();
    runtime.block_on(async {
        let socket = match TcpStream::from_std(socket) {
            Ok(s) => s,
            Err(e) => return tracing::warn!(%peer, error = %e, "could not register the socket"),
        };
        let handlers = Arc::new(ConnectionHandlers(connection.clone()));
        // pgwire's loop first: a message that has arrived is served before a timer is looked at.
        tokio::select! {
            biased;
            served = process_socket(socket, tls, handlers) => {
                if let Err(e) = served {
                    tracing::debug!(%peer, error = %e, "connection ended with an I/O error");
                }
            }
            reason = terminator(&connection) => {
                tracing::info!(%peer, reason = %reason, "terminating connection");
                // Over TLS the message would need the TLS session pgwire owned; the connection
                // just closes.
                if let (Some(raw), false) = (&raw, connection.is_secure()) {
                    send_fatal(raw, &reason);
                }
            }
        }
    });
    if let Some(raw) = raw {
        let _ = raw.shutdown(std::net::Shutdown::Both);
    }
}

/// Counts a connection thread while it lives.
struct LiveGuard<'a>(&'a Shared);

impl Drop for LiveGuard<'_> {
    fn drop(&mut self) {
        self.0.live.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Completes when the connection must end while it waits for the client: the server is
/// shutting down or the session was terminated (57P01), or it sat idle in a transaction block past
/// `idle_in_transaction_session_timeout` (25P03). It is polled only between messages, so a
/// running statement always finishes first (or is cancelled by the shutdown's grace period).
async fn terminator(connection: &Connection) -> DbError {
    let mut shutdown = connection.shared().shutdown.subscribe();
    let mut idle = connection.idle_deadline();
    loop {
        let deadline = *idle.borrow_and_update();
        let expiry = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = shutdown.wait_for(|down| *down) => {
                return DbError::sql(SqlState::AdminShutdown, "terminating connection due to administrator command");
            }
            () = connection.terminated() => {
                return DbError::sql(SqlState::AdminShutdown, "terminating connection due to administrator command");
            }
            changed = idle.changed() => {
                if changed.is_err() {
                    return std::future::pending().await;
                }
            }
            () = expiry => {
                return DbError::sql(
                    SqlState::IdleInTransactionSessionTimeout,
                    "terminating connection due to idle-in-transaction timeout",
                );
            }
        }
    }
}

/// Writes an ErrorResponse with severity FATAL straight to the socket.
fn send_fatal(mut socket: &std::net::TcpStream, error: &DbError) {
    use pgwire::messages::Message;
    use std::io::Write;
    let response = pgwire::messages::response::ErrorResponse::from(crate::messages::error_info(error, "FATAL"));
    let mut message = bytes::BytesMut::new();
    if response.encode(&mut message).is_ok() {
        let _ = socket.set_write_timeout(Some(Duration::from_secs(1)));
        let _ = socket.write_all(&message);
    }
}

/// Polls `done` until it holds or `limit` passes; whether it held.
async fn wait_until(limit: Duration, done: impl Fn() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    while !done() {
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    true
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
            shutdown: tokio::sync::watch::Sender::new(false),
            live: AtomicUsize::new(0),
            per_role: Default::default(),
        };
        Ok(WireServer { shared: Arc::new(shared), tls: tls.map(|t| t.acceptor) })
    }

    /// Connections currently authenticated.
    pub fn active_connections(&self) -> usize {
        self.shared.limits.active()
    }

    /// Ends every connection for a shutdown (call after [`WireServer::serve`] has returned):
    /// idle ones at once with FATAL 57P01; running statements may finish within `grace`,
    /// then they are cancelled and their connections end too. Returns once no connection
    /// thread is left (or a last bounded wait has passed).
    pub async fn drain(&self, grace: Duration) {
        self.shared.shutdown.send_replace(true);
        let live = || self.shared.live.load(Ordering::Acquire);
        if !wait_until(grace, || live() == 0).await {
            tracing::warn!(connections = live(), "statements still running after the grace period; cancelling them");
            self.shared.cancels.cancel_all();
            if !wait_until(Duration::from_secs(10), || live() == 0).await {
                tracing::warn!(connections = live(), "connections still busy; shutting down beneath them");
            }
        }
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
