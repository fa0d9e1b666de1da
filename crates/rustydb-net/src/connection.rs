//! One client connection: authentication at startup, then simple queries run through the
//! connection's [`Session`].
//!
//! pgwire drives the connection state machine and calls these handlers. They run on the
//! connection's own thread (see `server.rs`), so statements run inline; the session lives in a
//! mutex that is never held across an `.await`.

use crate::auth::{self, AuthState, ScramServers};
use crate::cancel::{CancelRegistry, CancelRequests};
use crate::extended::ExtendedState;
use crate::messages::{ReportedSettings, data_row, error_info, notice_info, row_description, server_parameters};
use async_trait::async_trait;
use futures::sink::{Sink, SinkExt};
use parking_lot::Mutex;
use pgwire::api::auth::{
    ServerParameterProvider, StartupHandler, finish_authentication, protocol_negotiation,
    save_startup_parameters_to_metadata,
};
use pgwire::api::copy::CopyHandler;
use pgwire::api::query::{ExtendedQueryHandler, SimpleQueryHandler};
use pgwire::api::results::Response;
use pgwire::api::{
    ClientInfo, ClientPortalStore, METADATA_APPLICATION_NAME, METADATA_DATABASE, METADATA_USER, PgWireConnectionState,
    PgWireServerHandlers, PidSecretKeyGenerator, RandomPidSecretKeyGenerator,
};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::response::{CommandComplete, EmptyQueryResponse, ReadyForQuery};
use pgwire::messages::simplequery::Query;
use pgwire::messages::startup::Authentication;
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};
use rustydb_foundation::metric_names::{CONNECTIONS_ACTIVE, CONNECTIONS_REFUSED, CONNECTIONS_TOTAL};
use rustydb_foundation::{DataType, DbError, Result, SqlState, Value};
use rustydb_query::{
    CopyResponse, Engine, PreparedStatement, Session, StatementResult, TransactionStatus as SessionStatus,
};
use rustydb_security::{AuthMethod, Authenticator, Principal};
use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::Instant;

static PID_GENERATOR: LazyLock<RandomPidSecretKeyGenerator> = LazyLock::new(RandomPidSecretKeyGenerator::default);

/// How many clients may be connected, and how many are.
#[derive(Debug)]
pub struct ConnectionLimits {
    max: usize,
    active: AtomicUsize,
}

impl ConnectionLimits {
    /// Limits allowing `max` authenticated connections.
    pub fn new(max: usize) -> Self {
        ConnectionLimits { max, active: AtomicUsize::new(0) }
    }

    /// Connections currently holding a slot.
    pub fn active(&self) -> usize {
        self.active.load(Ordering::Acquire)
    }

    fn acquire(&self) -> bool {
        let mut current = self.active.load(Ordering::Acquire);
        loop {
            if current >= self.max {
                return false;
            }
            match self.active.compare_exchange(current, current + 1, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return true,
                Err(seen) => current = seen,
            }
        }
    }
}

/// What every connection of a server shares.
#[derive(Debug)]
pub struct Shared {
    /// The engine statements run on.
    pub engine: Arc<Engine>,
    /// Login decisions.
    pub auth: Arc<Authenticator>,
    /// max_connections.
    pub limits: Arc<ConnectionLimits>,
    /// Where cancel requests find connections.
    pub cancels: Arc<CancelRegistry>,
    /// SCRAM state machines (with the TLS certificate for channel binding).
    pub scram: ScramServers,
    /// Set once when the server shuts down: idle connections end with 57P01.
    pub shutdown: tokio::sync::watch::Sender<bool>,
    /// Connection threads alive (authenticated or not).
    pub live: AtomicUsize,
    /// Connections per role, for roles' CONNECTION LIMIT.
    pub per_role: Mutex<HashMap<String, usize>>,
}

/// The handlers of one connection.
#[derive(Debug)]
pub struct Connection {
    shared: Arc<Shared>,
    holds_slot: AtomicBool,
    /// The authentication exchange under way.
    auth_state: Mutex<AuthState>,
    session: Arc<Mutex<Option<Session>>>,
    /// The session's transaction status after its last statement (what Sync reports).
    status: Mutex<SessionStatus>,
    /// Prepared statements and portals of the extended protocol.
    pub(crate) extended: Mutex<ExtendedState>,
    /// COPY FROM STDIN data not yet handed to the session.
    pub(crate) copy_buffer: Mutex<Vec<u8>>,
    /// The process id sent in BackendKeyData, once started up.
    pid: Mutex<Option<i32>>,
    /// When this connection, idle in a transaction block, is cut off
    /// (`idle_in_transaction_session_timeout`); `None` while it is not idle in one.
    idle_deadline: tokio::sync::watch::Sender<Option<Instant>>,
    /// Whether the client negotiated TLS.
    secure: AtomicBool,
    /// The role whose connection count this connection adds to.
    counted_role: Mutex<Option<String>>,
    /// Notified when `pg_terminate_backend` (or DROP DATABASE ... WITH (FORCE)) ends the
    /// session: the connection closes with 57P01.
    terminated: Arc<tokio::sync::Notify>,
}

impl Connection {
    /// A connection that has not started up yet.
    pub fn new(shared: Arc<Shared>) -> Self {
        Connection {
            shared,
            holds_slot: AtomicBool::new(false),
            auth_state: Mutex::new(AuthState::Idle),
            session: Arc::new(Mutex::new(None)),
            status: Mutex::new(SessionStatus::Idle),
            extended: Mutex::new(ExtendedState::default()),
            copy_buffer: Mutex::new(Vec::new()),
            pid: Mutex::new(None),
            idle_deadline: tokio::sync::watch::Sender::new(None),
            terminated: Arc::new(tokio::sync::Notify::new()),
            secure: AtomicBool::new(false),
            counted_role: Mutex::new(None),
        }
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        if let Some(pid) = self.pid.lock().take() {
            self.shared.cancels.unregister(pid);
        }
        self.release_slots();
    }
}

impl Connection {
    /// Gives back this connection's place under max_connections and its role's CONNECTION
    /// LIMIT (once; again is a no-op). Done as soon as startup fails, before the FATAL goes
    /// out, so that a client reconnecting at once does not find the refused connection still
    /// counted while its thread winds down.
    fn release_slots(&self) {
        if self.holds_slot.swap(false, Ordering::AcqRel) {
            self.shared.limits.active.fetch_sub(1, Ordering::AcqRel);
            metrics::gauge!(CONNECTIONS_ACTIVE).decrement(1.0);
        }
        if let Some(role) = self.counted_role.lock().take() {
            let mut per_role = self.shared.per_role.lock();
            if let Some(n) = per_role.get_mut(&role) {
                *n -= 1;
                if *n == 0 {
                    per_role.remove(&role);
                }
            }
        }
    }
}

/// Makes one [`Connection`] serve every protocol phase pgwire asks about.
#[derive(Debug)]
pub struct ConnectionHandlers(pub Arc<Connection>);

impl PgWireServerHandlers for ConnectionHandlers {
    fn simple_query_handler(&self) -> Arc<impl SimpleQueryHandler> {
        self.0.clone()
    }

    fn startup_handler(&self) -> Arc<impl StartupHandler> {
        self.0.clone()
    }

    fn extended_query_handler(&self) -> Arc<impl ExtendedQueryHandler> {
        self.0.clone()
    }

    fn copy_handler(&self) -> Arc<impl CopyHandler> {
        self.0.clone()
    }

    fn cancel_handler(&self) -> Arc<impl pgwire::api::cancel::CancelHandler> {
        Arc::new(CancelRequests(self.0.shared.cancels.clone()))
    }
}

/// A FATAL error: the connection ends after it.
pub(crate) fn fatal(error: &DbError) -> PgWireError {
    PgWireError::UserError(Box::new(error_info(error, "FATAL")))
}

/// An ERROR for the client; the connection goes on.
pub(crate) fn user_error(error: &DbError) -> PgWireError {
    if !error.is_user_error() && !error.is_retryable() {
        tracing::error!(error = %error, "statement failed");
    }
    PgWireError::UserError(Box::new(error_info(error, "ERROR")))
}

struct Parameters(HashMap<String, String>);

impl ServerParameterProvider for Parameters {
    fn server_parameters<C: ClientInfo>(&self, _client: &C) -> Option<HashMap<String, String>> {
        Some(self.0.clone())
    }
}

#[async_trait]
impl StartupHandler for Connection {
    async fn on_startup<C>(&self, client: &mut C, message: PgWireFrontendMessage) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let result = self.startup_step(client, message).await;
        if result.is_err() {
            // A failed startup ends the connection.
            self.release_slots();
        }
        result
    }
}

impl Connection {
    async fn startup_step<C>(&self, client: &mut C, message: PgWireFrontendMessage) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        match message {
            PgWireFrontendMessage::Startup(startup) => {
                protocol_negotiation(client, &startup).await?;
                save_startup_parameters_to_metadata(client, &startup);
                let (user, database) = login_names(client)?;
                if !self.shared.limits.acquire() {
                    metrics::counter!(CONNECTIONS_REFUSED).increment(1);
                    return Err(fatal(&DbError::sql(SqlState::TooManyConnections, "sorry, too many clients already")));
                }
                self.holds_slot.store(true, Ordering::Release);
                metrics::counter!(CONNECTIONS_TOTAL).increment(1);
                metrics::gauge!(CONNECTIONS_ACTIVE).increment(1.0);
                let peer = client.socket_addr().ip();
                let secure = client.is_secure();
                self.secure.store(secure, Ordering::Release);
                // On the connection's own thread (see server.rs), so catalog lookups run inline.
                let method = self.shared.auth.method(&user, &database, peer, secure).map_err(|e| fatal(&e))?;
                let request = match method {
                    AuthMethod::Trust | AuthMethod::Reject => return self.finish_startup(client).await,
                    _ if let Err(e) = self.shared.auth.login_allowed(&user) => return Err(fatal(&e)),
                    AuthMethod::Password => {
                        *self.auth_state.lock() = AuthState::AwaitingPassword;
                        Authentication::CleartextPassword
                    }
                    AuthMethod::ScramSha256 => {
                        let credential = self.shared.auth.scram_credential(&user).map_err(|e| fatal(&e))?;
                        *self.auth_state.lock() = AuthState::AwaitingScramFirst(credential);
                        Authentication::SASL(self.shared.scram.mechanisms(secure))
                    }
                };
                client.set_state(PgWireConnectionState::AuthenticationInProgress);
                client.send(PgWireBackendMessage::Authentication(request)).await?;
                Ok(())
            }
            PgWireFrontendMessage::PasswordMessageFamily(message) => {
                let (user, database) = login_names(client)?;
                let peer = Some(client.socket_addr().ip());
                let state = std::mem::take(&mut *self.auth_state.lock());
                match state {
                    AuthState::AwaitingPassword => {
                        let password = auth::password(message).map_err(|e| fatal(&e))?;
                        if let Err(e) = self.shared.auth.check_password(&user, &password) {
                            return Err(self.refuse(&user, &database, peer, e).await);
                        }
                        self.finish_startup(client).await
                    }
                    AuthState::AwaitingScramFirst(credential) => {
                        let (server_first, next) = self
                            .shared
                            .scram
                            .first(client.is_secure(), credential, message, &user)
                            .map_err(|e| fatal(&e))?;
                        *self.auth_state.lock() = next;
                        let reply = Authentication::SASLContinue(server_first.into_bytes().into());
                        client.send(PgWireBackendMessage::Authentication(reply)).await?;
                        Ok(())
                    }
                    AuthState::AwaitingScramFinal { server, genuine } => {
                        let server_final = match auth::scram_final(&server, genuine, message, &user) {
                            Ok(f) => f,
                            Err(e) => return Err(self.refuse(&user, &database, peer, e).await),
                        };
                        let reply = Authentication::SASLFinal(server_final.into_bytes().into());
                        client.feed(PgWireBackendMessage::Authentication(reply)).await?;
                        self.finish_startup(client).await
                    }
                    AuthState::Idle => Err(fatal(&DbError::sql(
                        SqlState::ProtocolViolation,
                        "unexpected password message: no authentication exchange is under way",
                    ))),
                }
            }
            _ => Ok(()),
        }
    }
}

impl Connection {
    /// Counts this connection against its role's CONNECTION LIMIT (superusers are exempt,
    /// as in PostgreSQL): FATAL 53300 past it.
    fn count_role(&self, principal: &Principal) -> PgWireResult<()> {
        let mut per_role = self.shared.per_role.lock();
        let n = per_role.entry(principal.user.clone()).or_insert(0);
        if !principal.superuser && principal.connection_limit >= 0 && *n >= principal.connection_limit as usize {
            metrics::counter!(CONNECTIONS_REFUSED).increment(1);
            let message = format!("too many connections for role \"{}\"", principal.user);
            return Err(fatal(&DbError::sql(SqlState::TooManyConnections, message)));
        }
        *n += 1;
        *self.counted_role.lock() = Some(principal.user.clone());
        Ok(())
    }

    /// Records that a ReadyForQuery went out: from now the connection is idle, and if it is
    /// in a transaction block `idle_in_transaction_session_timeout` starts counting.
    pub(crate) fn mark_ready(&self) {
        let timeout = self.session.lock().as_ref().map(|s| s.settings().idle_in_transaction_timeout);
        let in_block = matches!(self.status(), SessionStatus::InBlock | SessionStatus::Failed);
        let deadline = match timeout {
            Some(t) if in_block && !t.is_zero() => Some(Instant::now() + t),
            _ => None,
        };
        self.idle_deadline.send_if_modified(|d| std::mem::replace(d, deadline) != deadline);
    }

    /// Watches the idle-in-transaction deadline.
    /// Completes once the session has been terminated.
    pub(crate) async fn terminated(&self) {
        self.terminated.notified().await;
    }

    pub(crate) fn idle_deadline(&self) -> tokio::sync::watch::Receiver<Option<Instant>> {
        self.idle_deadline.subscribe()
    }

    /// Whether the client negotiated TLS.
    pub(crate) fn is_secure(&self) -> bool {
        self.secure.load(Ordering::Acquire)
    }

    /// The server-wide state.
    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }
}

/// The user and database a startup packet names (the database defaults to the user).
fn login_names<C: ClientInfo>(client: &C) -> PgWireResult<(String, String)> {
    let meta = client.metadata();
    let Some(user) = meta.get(METADATA_USER).cloned() else {
        let e = DbError::sql(SqlState::InvalidAuthorization, "no PostgreSQL user name specified in startup packet");
        return Err(fatal(&e));
    };
    let database = meta.get(METADATA_DATABASE).cloned().unwrap_or_else(|| user.clone());
    Ok((user, database))
}

impl Connection {
    /// A failed password or SCRAM proof: counted (see the security layer's `lockout.rs`) and
    /// answered with its FATAL only after the throttle's pause.
    async fn refuse(&self, user: &str, database: &str, peer: Option<std::net::IpAddr>, error: DbError) -> PgWireError {
        let refusal = self.shared.auth.login_failed(user, database, peer, error);
        if !refusal.pause.is_zero() {
            tokio::time::sleep(refusal.pause).await;
        }
        fatal(&refusal.error)
    }

    /// After a passed authentication: admits the role to the database, opens the session and
    /// sends AuthenticationOk, the parameters, BackendKeyData and ReadyForQuery.
    async fn finish_startup<C>(&self, client: &mut C) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let (user, database) = login_names(client)?;
        let principal = self.shared.auth.admit(&user, &database).map_err(|e| fatal(&e))?;
        self.count_role(&principal)?;
        self.shared.auth.login_succeeded(&principal.user, &principal.database, Some(client.socket_addr().ip()));
        tracing::debug!(user = %principal.user, database = %principal.database, peer = %client.socket_addr(), "connection authenticated");
        let mut session = self.shared.engine.session(&principal.user, &principal.database);
        let packet_name = client.metadata().get(METADATA_APPLICATION_NAME).cloned().unwrap_or_default();
        if !packet_name.is_empty() {
            session.set_startup("application_name", &packet_name).map_err(|e| fatal(&e))?;
        }
        if session.database_closing() {
            let e =
                DbError::sql(SqlState::ObjectInUse, format!("database \"{}\" is being dropped", principal.database));
            return Err(fatal(&e));
        }
        // Settings the startup packet asks for: a bad value refuses the connection, as in
        // PostgreSQL; a setting this server does not have is passed over (drivers send some
        // PostgreSQL has and this server has not), with a note in the log.
        for (name, value) in crate::startup_options::requested_settings(client.metadata()) {
            if session.settings().show(&name, None).is_err() {
                tracing::debug!(%name, "startup parameter names no setting this server has; ignored");
                continue;
            }
            session.set_startup(&name, &value).map_err(|e| fatal(&e))?;
        }
        // A startup switch may have set application_name: the session's value is the one.
        let application_name = session.settings().application_name().to_string();
        let (pid, secret) = PID_GENERATOR.generate(&*client);
        session.set_client(pid, &application_name, Some(client.socket_addr()));
        let shown = |name: &str| session.settings().show(name, None).unwrap_or_default();
        let reported = ReportedSettings {
            application_name: application_name.clone(),
            datestyle: shown("datestyle"),
            intervalstyle: shown("intervalstyle"),
            default_transaction_read_only: shown("default_transaction_read_only"),
        };
        let terminated = self.terminated.clone();
        session.on_terminate(Box::new(move || terminated.notify_one()));
        self.shared.cancels.register(pid, secret.clone(), session.cancel_flag());
        *self.pid.lock() = Some(pid);
        self.keep_statements_in(&session);
        // Results past work_mem wait on disk rather than in memory until they are sent.
        session.spool_results(true);
        *self.session.lock() = Some(session);
        client.set_pid_and_secret_key(pid, secret);
        let parameters = Parameters(server_parameters(&principal.user, principal.superuser, &reported));
        finish_authentication(client, &parameters).await
    }
}

#[async_trait]
impl SimpleQueryHandler for Connection {
    async fn on_query<C>(&self, client: &mut C, query: Query) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: pgwire::api::store::PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if !matches!(client.state(), PgWireConnectionState::ReadyForQuery) {
            return Err(PgWireError::NotReadyForQuery);
        }
        client.set_state(PgWireConnectionState::QueryInProgress);
        let (results, status) = self.run(query.query).await?;
        if results.is_empty() {
            client.feed(PgWireBackendMessage::EmptyQueryResponse(EmptyQueryResponse::new())).await?;
        }
        let status = crate::messages::ready_status(status);
        client.set_transaction_status(status);
        for result in results {
            if let Ok(StatementResult { copy: Some(copy @ CopyResponse::In { .. }), .. }) = result {
                // COPY FROM STDIN (always the query's last statement): the client's data
                // follows, and ReadyForQuery waits for its CopyDone.
                crate::copy::start(client, copy).await?;
                client.set_state(PgWireConnectionState::CopyInProgress(false));
                return Ok(());
            }
            send_result(client, result).await?;
        }
        client.set_state(PgWireConnectionState::ReadyForQuery);
        client.send(PgWireBackendMessage::ReadyForQuery(ReadyForQuery::new(status))).await?;
        self.mark_ready();
        Ok(())
    }

    /// Not used: `on_query` above runs statements itself so that notices and the exact
    /// transaction status reach the client, which `Response` cannot carry.
    async fn do_query<C>(&self, _client: &mut C, _query: &str) -> PgWireResult<Vec<Response>>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: pgwire::api::store::PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        Err(PgWireError::UserError(Box::new(ErrorInfo::new(
            "ERROR".into(),
            SqlState::InternalError.code().into(),
            "simple queries are executed by on_query".into(),
        ))))
    }
}

impl Connection {
    /// Runs `work` on the session and records the transaction status it leaves. It runs
    /// right here: the connection has a thread of its own (see `server.rs`), so blocking in
    /// a statement holds up only this connection. `None` before authentication.
    pub(crate) async fn with_session<T>(&self, work: impl FnOnce(&mut Session) -> T) -> PgWireResult<T> {
        let mut guard = self.session.lock();
        let Some(session) = guard.as_mut() else {
            return Err(fatal(&DbError::sql(SqlState::ProtocolViolation, "query before authentication")));
        };
        // Only a change wakes the terminator (this runs for every statement).
        self.idle_deadline.send_if_modified(|d| d.take().is_some());
        let out = work(session);
        *self.status.lock() = session.transaction_status();
        Ok(out)
    }

    /// Runs a query string and returns its results and the session's transaction status
    /// afterwards.
    async fn run(&self, sql: String) -> PgWireResult<(Vec<Result<StatementResult>>, SessionStatus)> {
        let results = self.with_session(move |s| s.execute(&sql)).await?;
        Ok((results, self.status()))
    }

    /// Prepares a statement (Parse).
    pub(crate) async fn prepare(
        &self,
        sql: String,
        declared: Vec<DataType>,
    ) -> PgWireResult<Result<PreparedStatement>> {
        self.with_session(move |s| s.prepare(&sql, &declared)).await
    }

    /// Executes a prepared statement with its parameter values (a portal's first Execute).
    pub(crate) async fn run_prepared(
        &self,
        statement: Arc<PreparedStatement>,
        params: Vec<Value>,
    ) -> PgWireResult<Result<StatementResult>> {
        self.with_session(move |s| s.execute_prepared(&statement, params)).await
    }

    /// The session's transaction status after its last statement.
    pub(crate) fn status(&self) -> SessionStatus {
        *self.status.lock()
    }
}

/// Sends up to `limit` rows of a result spooled past work_mem, read back from the temporary
/// file as the socket takes them (`feed` writes out whenever pgwire's buffer fills); how many
/// it sent.
pub(crate) async fn send_spooled<C>(
    client: &mut C,
    spooled: &rustydb_query::SpooledRows,
    formats: &[i16],
    limit: usize,
) -> PgWireResult<usize>
where
    C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    let mut sent = 0;
    while sent < limit {
        let Some(row) = spooled.next_row().map_err(|e| user_error(&e))? else { break };
        client.feed(PgWireBackendMessage::DataRow(data_row(&row, formats))).await?;
        sent += 1;
    }
    Ok(sent)
}

async fn send_result<C>(client: &mut C, result: Result<StatementResult>) -> PgWireResult<()>
where
    C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    let result = match result {
        Ok(r) => r,
        Err(e) => {
            let PgWireError::UserError(info) = user_error(&e) else { unreachable!("user_error makes a UserError") };
            return Ok(client.feed(PgWireBackendMessage::ErrorResponse((*info).into())).await?);
        }
    };
    for notice in &result.notices {
        client.feed(PgWireBackendMessage::NoticeResponse(notice_info(notice).into())).await?;
    }
    if let Some(copy) = result.copy {
        crate::copy::start(client, copy).await?;
    }
    if let Some(columns) = &result.columns {
        client.feed(PgWireBackendMessage::RowDescription(row_description(columns))).await?;
        for row in &result.rows {
            client.feed(PgWireBackendMessage::DataRow(data_row(row, &[]))).await?;
        }
        if let Some(spooled) = &result.spooled {
            send_spooled(client, spooled, &[], usize::MAX).await?;
        }
    }
    client.feed(PgWireBackendMessage::CommandComplete(CommandComplete::new(result.tag))).await?;
    Ok(())
}
