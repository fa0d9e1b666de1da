//! The lifecycle every long-lived part of the server follows, so the server can start, probe and
//! stop them uniformly (and the health endpoints can report on them).

/// What a component says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HealthStatus {
    /// Working normally.
    Healthy,
    /// Working, but something needs attention.
    Degraded(String),
    /// Not able to serve.
    Unhealthy(String),
}

/// A long-lived part of the server.
pub trait Component: Send + Sync {
    /// A short name for logs and health reports.
    fn name(&self) -> &'static str;
    /// The component's current health.
    fn health(&self) -> HealthStatus;
    /// Flushes and stops; called once at shutdown.
    fn shutdown(&self) -> crate::Result<()>;
}
