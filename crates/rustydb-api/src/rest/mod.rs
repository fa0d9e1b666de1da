//! The REST/JSON API, with `/metrics` and the health endpoints, on its own port.
//!
//! Off unless the server is started with `--http-listen ADDR:PORT`. Every SQL-running call
//! authenticates with the database's own roles (see [`auth`]) and runs in an engine session
//! of that role, so privileges apply exactly as over the wire. Engine work is synchronous, so
//! it runs on tokio's blocking threads; an async thread only parses, routes and encodes.
//!
//! | route | what |
//! |---|---|
//! | `POST /v1/query` | run SQL (see [`query`]) |
//! | `POST /v1/sessions`, `DELETE /v1/sessions/{id}` | open and close a session handle ([`sessions`]) |
//! | `POST /v1/auth/token`, `DELETE /v1/auth/token` | trade credentials for a bearer token, and give it back |
//! | `GET /v1/tables`, `GET /v1/tables/{name}` | the tables the role can see, and one's columns ([`tables`]) |
//! | `POST /v1/admin/checkpoint`, `POST /v1/admin/vacuum` | maintenance |
//! | `GET /health/live`, `GET /health/ready` | liveness and readiness probes (no credentials) |
//! | `GET /metrics` | Prometheus text (no credentials) |
//! | `GET /v1/openapi.json` | the OpenAPI document of all of this ([`openapi`]) |
//!
//! A database other than the bootstrap one is chosen with `?database=NAME` (Basic
//! credentials) or is the one the token was issued for.

pub mod auth;
pub mod error;
pub mod openapi;
pub mod query;
pub mod sessions;
pub mod tables;

use auth::{Credentials, TokenStore};
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use error::ApiError;
use rustydb_foundation::{DbError, SqlState};
use rustydb_query::Engine;
use rustydb_security::{Authenticator, Principal};
use serde::Deserialize;
use serde_json::json;
use sessions::SessionRegistry;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Limits and lifetimes of the REST API.
#[derive(Debug, Clone)]
pub struct RestOptions {
    /// A session handle unused this long is closed (its transaction rolled back).
    pub session_idle_timeout: Duration,
    /// At most this many session handles are open at once.
    pub max_sessions: usize,
    /// How long a bearer token lives.
    pub token_lifetime: Duration,
    /// The largest request body accepted (bytes).
    pub max_body_bytes: usize,
}

impl Default for RestOptions {
    fn default() -> Self {
        RestOptions {
            session_idle_timeout: Duration::from_secs(300),
            max_sessions: 1000,
            token_lifetime: Duration::from_secs(3600),
            max_body_bytes: 64 << 20,
        }
    }
}

/// The REST API over one engine.
#[derive(Debug, Clone)]
pub struct RestApi {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    engine: Arc<Engine>,
    auth: Arc<Authenticator>,
    sessions: SessionRegistry,
    tokens: TokenStore,
    options: RestOptions,
    /// False once shutdown began: `/health/ready` answers 503 so balancers stop sending work.
    ready: AtomicBool,
}

type Api = State<RestApi>;

impl RestApi {
    /// The API over `engine`, admitting callers through `auth`.
    pub fn new(engine: Arc<Engine>, auth: Arc<Authenticator>, options: RestOptions) -> Self {
        let sessions = SessionRegistry::new(options.session_idle_timeout, options.max_sessions);
        RestApi {
            inner: Arc::new(Inner {
                engine,
                auth,
                sessions,
                tokens: TokenStore::default(),
                options,
                ready: AtomicBool::new(true),
            }),
        }
    }

    /// Every route.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/v1/query", post(run_query))
            .route("/v1/sessions", post(open_session))
            .route("/v1/sessions/{id}", delete(close_session))
            .route("/v1/auth/token", post(issue_token).delete(revoke_token))
            .route("/v1/tables", get(list_tables))
            .route("/v1/tables/{name}", get(describe_table))
            .route("/v1/admin/checkpoint", post(checkpoint))
            .route("/v1/admin/vacuum", post(vacuum))
            .route("/health/live", get(live))
            .route("/health/ready", get(ready))
            .route("/metrics", get(metrics))
            .route("/v1/openapi.json", get(openapi_document))
            .fallback(not_found)
            .layer(DefaultBodyLimit::max(self.inner.options.max_body_bytes))
            .with_state(self.clone())
    }

    /// Serves on `listener` until `shutdown` completes, then lets requests in flight finish.
    pub async fn serve(
        &self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let app = self.router().into_make_service_with_connect_info::<SocketAddr>();
        let inner = self.inner.clone();
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                shutdown.await;
                inner.ready.store(false, Ordering::Release);
            })
            .await?;
        self.close_sessions();
        Ok(())
    }

    /// Marks the server not ready (shutdown began) or ready again.
    pub fn set_ready(&self, ready: bool) {
        self.inner.ready.store(ready, Ordering::Release);
    }

    /// Closes every session handle, rolling back their open transactions.
    pub fn close_sessions(&self) {
        self.inner.sessions.close_all();
    }

    /// How many session handles are open.
    pub fn open_sessions(&self) -> usize {
        self.inner.sessions.len()
    }
}

/// `?database=` on any authenticated route.
#[derive(Debug, Deserialize)]
struct DatabaseParam {
    database: Option<String>,
}

/// Runs blocking engine work off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError(DbError::Internal(format!("a REST request's worker failed: {e}"))))?
}

/// The authenticated caller: the role the `Authorization` header proves, in the database
/// `?database=` names (or the bootstrap one), admitted by the security layer from the peer's
/// address. Every SQL-running route takes it, so none can forget to authenticate.
struct Caller(Principal);

impl FromRequestParts<RestApi> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, api: &RestApi) -> Result<Self, ApiError> {
        let peer =
            parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0).ok_or_else(|| {
                ApiError(DbError::Internal("the REST router was served without peer addresses".into()))
            })?;
        let Query(db) = Query::<DatabaseParam>::try_from_uri(&parts.uri)
            .map_err(|e| ApiError::bad_request(format!("bad query string: {}", e.body_text())))?;
        let header = parts.headers.get(header::AUTHORIZATION).map(|v| v.to_str().unwrap_or(""));
        let credentials = Credentials::parse(header)?;
        let database = db.database.unwrap_or_else(|| api.inner.engine.bootstrap_database().to_string());
        let inner = api.inner.clone();
        let principal =
            blocking(move || auth::authenticate(&inner.auth, &inner.tokens, &credentials, &database, peer.ip()))
                .await?;
        Ok(Caller(principal))
    }
}

async fn run_query(
    State(api): Api,
    Caller(who): Caller,
    body: Result<Json<query::QueryRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(request) =
        body.map_err(|e| ApiError::bad_request(format!("the request body is not a query: {}", e.body_text())))?;
    let inner = api.inner.clone();
    let result = blocking(move || {
        let result = match &request.session {
            Some(id) => {
                let handle = inner.sessions.get(id, &who.user)?;
                let mut session = handle.session.lock();
                query::run(&mut session, &request)
            }
            None => query::run(&mut inner.engine.session(&who.user, &who.database), &request),
        };
        result.map_err(ApiError)
    })
    .await?;
    Ok(query::respond(result))
}

async fn open_session(State(api): Api, Caller(who): Caller) -> Result<Response, ApiError> {
    let inner = api.inner.clone();
    let (user, database) = (who.user.clone(), who.database.clone());
    // Opening reaps idle sessions, whose transactions roll back: storage work, off the async threads.
    let id = blocking(move || {
        let session = inner.engine.session(&user, &database);
        inner.sessions.open(&user, &database, session).map_err(ApiError)
    })
    .await?;
    let body = json!({
        "session": id,
        "database": who.database,
        "idle_timeout_s": api.inner.options.session_idle_timeout.as_secs(),
    });
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

async fn close_session(State(api): Api, Caller(who): Caller, Path(id): Path<String>) -> Result<Response, ApiError> {
    let inner = api.inner.clone();
    // Dropping the session rolls back its transaction: storage work, so off the async threads.
    blocking(move || inner.sessions.close(&id, &who.user).map_err(ApiError)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn issue_token(State(api): Api, Caller(who): Caller, headers: HeaderMap) -> Result<Response, ApiError> {
    let header = headers.get(header::AUTHORIZATION).map(|v| v.to_str().unwrap_or(""));
    if matches!(Credentials::parse(header), Ok(Credentials::Bearer(_))) {
        return Err(ApiError(DbError::sql(
            SqlState::InvalidAuthorization,
            "a token is issued for Basic credentials only",
        )));
    }
    let lifetime = api.inner.options.token_lifetime;
    let token = api.inner.tokens.issue(&who, lifetime)?;
    let body = json!({
        "token": token,
        "token_type": "Bearer",
        "expires_in": lifetime.as_secs(),
        "user": who.user,
        "database": who.database,
    });
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

async fn revoke_token(State(api): Api, headers: HeaderMap) -> Result<Response, ApiError> {
    let header = headers.get(header::AUTHORIZATION).map(|v| v.to_str().unwrap_or(""));
    match Credentials::parse(header)? {
        Credentials::Bearer(token) if api.inner.tokens.revoke(&token) => Ok(StatusCode::NO_CONTENT.into_response()),
        _ => Err(ApiError(DbError::sql(SqlState::InvalidAuthorization, "the bearer token is unknown or has expired"))),
    }
}

async fn list_tables(State(api): Api, Caller(who): Caller) -> Result<Response, ApiError> {
    let inner = api.inner.clone();
    let body =
        blocking(move || tables::list(&mut inner.engine.session(&who.user, &who.database)).map_err(ApiError)).await?;
    Ok(Json(body).into_response())
}

async fn describe_table(State(api): Api, Caller(who): Caller, Path(name): Path<String>) -> Result<Response, ApiError> {
    let inner = api.inner.clone();
    let body = blocking(move || {
        tables::describe(&mut inner.engine.session(&who.user, &who.database), &name).map_err(ApiError)
    })
    .await?;
    Ok(Json(body).into_response())
}

async fn checkpoint(State(api): Api, Caller(who): Caller) -> Result<Response, ApiError> {
    if !who.superuser {
        return Err(ApiError(DbError::sql(SqlState::InsufficientPrivilege, "must be superuser to do CHECKPOINT")));
    }
    let inner = api.inner.clone();
    let report = blocking(move || inner.engine.checkpoint().map_err(ApiError)).await?;
    Ok(Json(json!({
        "redo_lsn": report.redo.to_string(),
        "segments_freed": report.segments_freed,
        "elapsed_ms": report.elapsed.as_secs_f64() * 1000.0,
    }))
    .into_response())
}

/// `POST /v1/admin/vacuum` body.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct VacuumRequest {
    /// One table (by its exact name); every table when absent.
    table: Option<String>,
}

async fn vacuum(State(api): Api, Caller(who): Caller, body: Option<Json<VacuumRequest>>) -> Result<Response, ApiError> {
    let request = body.map(|Json(b)| b).unwrap_or_default();
    let sql = match &request.table {
        Some(t) => format!("VACUUM {}", tables::quote_ident(t)),
        None => "VACUUM".to_string(),
    };
    let inner = api.inner.clone();
    let result =
        blocking(move || inner.engine.session(&who.user, &who.database).execute_script(&sql).map_err(ApiError)).await?;
    Ok(query::respond(result))
}

async fn live() -> Response {
    Json(json!({ "status": "live" })).into_response()
}

async fn ready(State(api): Api) -> Response {
    if !api.inner.ready.load(Ordering::Acquire) {
        return (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "status": "not ready", "reason": "shutting down" })))
            .into_response();
    }
    if let Some(reason) = api.inner.engine.txn_manager().storage().log().writes_stopped() {
        return (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "status": "not ready", "reason": reason })))
            .into_response();
    }
    Json(json!({ "status": "ready" })).into_response()
}

async fn metrics(State(api): Api) -> Response {
    // Counters kept inside the buffer pool are published on demand, so a scrape sees them now.
    api.inner.engine.txn_manager().storage().pool().publish_metrics();
    match crate::metrics_export::render() {
        Some(text) => ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response(),
        None => {
            (StatusCode::SERVICE_UNAVAILABLE, "another metrics recorder is installed in this process\n").into_response()
        }
    }
}

async fn openapi_document() -> Response {
    Json(openapi::document()).into_response()
}

async fn not_found() -> Response {
    let mut response =
        ApiError(DbError::sql(SqlState::UndefinedObject, "no such endpoint; see /v1/openapi.json")).into_response();
    *response.status_mut() = StatusCode::NOT_FOUND;
    response
}
