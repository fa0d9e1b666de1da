//! # rustydb-server
//!
//! The binary's library half: the only place that knows every layer. It resolves the
//! configuration (defaults < `--config` TOML file < environment < flags), opens the engine (which
//! recovers from the log), wires security into the wire server, and serves until SIGINT or
//! SIGTERM, then flushes and exits.
//!
//! ```text
//!   config ─► Engine::open (storage, txn recovery, catalog, indexes)
//!          ─► Authenticator (security) ─► WireServer (net) ─► listen
//!                                          └► RestApi (api) ─► listen on --http-listen
//! ```

#![deny(missing_docs)]

pub mod config;

use rustydb_api::rest::{RestApi, RestOptions};
use rustydb_foundation::{Config, DbError, Result};
use rustydb_net::{TlsSettings, WireServer};
use rustydb_query::{Engine, EngineOptions};
use rustydb_security::Authenticator;
use std::future::Future;
use std::sync::Arc;
use tokio::net::TcpListener;

/// The audit log, if the configuration keeps one.
fn open_audit(config: &Config) -> Result<Option<Arc<rustydb_security::audit::AuditLog>>> {
    if !config.audit_log {
        return Ok(None);
    }
    let settings = rustydb_security::audit::AuditSettings::parse(&config.audit_events, &config.audit_tables)?;
    let log = rustydb_security::audit::AuditLog::open(&config.data_dir, settings)?;
    tracing::info!(path = %config.data_dir.join("audit/audit.log").display(), "audit log is on");
    Ok(Some(Arc::new(log)))
}

/// Opens the data directory and serves the wire protocol until `shutdown` completes.
pub async fn run(config: Config, shutdown: impl Future<Output = ()>) -> Result<()> {
    if config.http_listen.is_some() {
        // Before anything records a metric, so nothing recorded is lost.
        rustydb_api::metrics_export::prometheus();
    }
    let (vfs, fallback) = rustydb_storage::choose_vfs(config.io_backend);
    match fallback {
        Some(reason) => tracing::warn!("{reason}"),
        None => tracing::info!(backend = vfs.name(), "storage I/O backend"),
    }
    let mut options = EngineOptions {
        storage: rustydb_storage::StorageOptions { vfs, ..rustydb_storage::StorageOptions::from_config(&config) },
        statement_memory_limit: config.statement_memory_limit_mb.saturating_mul(1 << 20),
        checkpoint_timeout: (config.checkpoint_timeout_s > 0)
            .then(|| std::time::Duration::from_secs(config.checkpoint_timeout_s)),
        max_wal_size: config.max_wal_size_mb.saturating_mul(1 << 20),
        autovacuum: config.autovacuum.then(|| rustydb_query::vacuum::AutovacuumOptions {
            naptime: std::time::Duration::from_secs(config.autovacuum_naptime_s.max(1)),
            vacuum_threshold: config.autovacuum_vacuum_threshold,
            vacuum_scale_factor: config.autovacuum_vacuum_scale_factor,
            insert_threshold: config.autovacuum_vacuum_insert_threshold,
            insert_scale_factor: config.autovacuum_vacuum_insert_scale_factor,
        }),
        log_min_duration_statement: u64::try_from(config.log_min_duration_statement_ms)
            .ok()
            .map(std::time::Duration::from_millis),
        ..EngineOptions::default()
    };
    rustydb_security::install(&mut options, &config, &config.data_dir)?;
    let audit = open_audit(&config)?;
    options.audit = audit.clone().map(|a| a as Arc<dyn rustydb_query::audit::StatementAudit>);
    options.max_statement_bytes = config.max_statement_bytes;
    let data_dir = config.data_dir.clone();
    let engine = tokio::task::spawn_blocking(move || Engine::open(&data_dir, &options))
        .await
        .map_err(|e| DbError::Internal(format!("opening the engine: {e}")))??;
    let storage = engine.txn_manager().storage();
    let control = storage.control();
    tracing::info!(page_size = control.page_size, system_id = control.system_id, "data directory");
    if control.page_size != config.page_size {
        tracing::warn!(
            configured = config.page_size,
            actual = control.page_size,
            "page_size applies only when a data directory is created; this one keeps its own"
        );
    }
    match storage.disk().direct_fallback() {
        Some(reason) => tracing::warn!("direct I/O is off: {reason}"),
        None if storage.disk().is_direct() => tracing::info!("data files use direct I/O (O_DIRECT)"),
        None => {}
    }
    let report = engine.recovery_report();
    tracing::info!(
        from = %report.from,
        records = report.records,
        wal_bytes = report.bytes,
        page_images = report.images,
        committed = report.committed,
        aborted = report.aborted,
        elapsed_ms = report.elapsed.as_millis() as u64,
        "recovery replayed the write-ahead log"
    );
    let listener = TcpListener::bind(&config.listen)
        .await
        .map_err(|e| DbError::io(format!("binding the listener to {}", config.listen), e))?;
    let addr = listener.local_addr().map_err(|e| DbError::io("reading the listener address", e))?;
    tracing::info!(
        listen = %addr,
        data_dir = %config.data_dir.display(),
        version = rustydb_foundation::version::RUSTYDB_VERSION,
        "RustyDB is ready to accept connections"
    );
    let auth = Arc::new(Authenticator::from_config(engine.clone(), &config)?.with_audit(audit));
    let tls = if config.ssl {
        let settings = TlsSettings::load(&config.ssl_cert_file, &config.ssl_key_file)?;
        tracing::info!(cert = %config.ssl_cert_file.display(), "TLS is on (SSLRequest answered)");
        Some(settings)
    } else {
        None
    };
    // One shutdown signal, seen by every listener.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let http = match &config.http_listen {
        Some(address) => Some(start_http(address, &engine, &auth, stopped.clone()).await?),
        None => None,
    };
    let server = WireServer::new(engine.clone(), auth, config.max_connections, tls)?;
    let signalled = async move {
        shutdown.await;
        let _ = stop.send(true);
    };
    server.serve(listener, signalled).await.map_err(|e| DbError::io("serving connections", e))?;
    if let Some((api, task)) = http {
        api.set_ready(false);
        match task.await {
            Ok(Err(e)) => tracing::warn!("the HTTP listener failed: {e}"),
            Err(e) => tracing::warn!("the HTTP listener's task failed: {e}"),
            Ok(Ok(())) => {}
        }
        // Open REST transactions roll back before the final checkpoint.
        let closing = api.clone();
        tokio::task::spawn_blocking(move || closing.close_sessions()).await.ok();
    }
    tracing::info!(grace_s = config.shutdown_grace_s, "shutting down: ending connections");
    server.drain(std::time::Duration::from_secs(config.shutdown_grace_s)).await;
    tracing::info!("shutting down: flushing pages");
    tokio::task::spawn_blocking(move || engine.shutdown())
        .await
        .map_err(|e| DbError::Internal(format!("shutting down: {e}")))??;
    tracing::info!("shut down cleanly");
    Ok(())
}

/// Binds the HTTP listener and serves the REST API, `/metrics` and health on it until
/// `stopped` turns true.
async fn start_http(
    address: &str,
    engine: &Arc<Engine>,
    auth: &Arc<Authenticator>,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) -> Result<(RestApi, tokio::task::JoinHandle<std::io::Result<()>>)> {
    let listener = TcpListener::bind(address)
        .await
        .map_err(|e| DbError::io(format!("binding the HTTP listener to {address}"), e))?;
    let addr = listener.local_addr().map_err(|e| DbError::io("reading the HTTP listener address", e))?;
    let api = RestApi::new(engine.clone(), auth.clone(), RestOptions::default());
    tracing::info!(http_listen = %addr, "REST API, /metrics and health endpoints are served");
    let serving = api.clone();
    let task = tokio::spawn(async move {
        serving
            .serve(listener, async move {
                let _ = stopped.wait_for(|s| *s).await;
            })
            .await
    });
    Ok((api, task))
}

/// Completes on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
        tracing::warn!("could not install signal handlers; stop the server with kill -9");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("received SIGTERM"),
        _ = int.recv() => tracing::info!("received SIGINT"),
    }
}
