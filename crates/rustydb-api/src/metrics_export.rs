//! The Prometheus exporter: the one place a `metrics` recorder is installed (every other
//! layer only records through the facade, see `rustydb_foundation::metric_names`).
//!
//! The recorder is process-wide, so it is installed at most once, the first time anyone asks
//! for it; later callers share the same handle. Histograms get explicit buckets (latencies from
//! 100 µs to 10 s) so they are exported as Prometheus histograms, which aggregate across
//! servers, rather than as summaries, which do not.

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;

/// Latency buckets in seconds, for every `*_seconds` histogram.
const SECONDS_BUCKETS: &[f64] =
    &[0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// The exporter's handle, installing the recorder on first use. `None` when another recorder
/// was installed first (an embedding program's own): then `/metrics` says so instead.
pub fn prometheus() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let builder = match PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)
            {
                Ok(b) => b,
                Err(e) => {
                    tracing::warn!("metrics buckets refused: {e}");
                    return None;
                }
            };
            match builder.install_recorder() {
                Ok(handle) => Some(handle),
                Err(e) => {
                    tracing::warn!("metrics recorder not installed (another one is): {e}");
                    None
                }
            }
        })
        .as_ref()
}

/// The current metrics in Prometheus text format.
pub fn render() -> Option<String> {
    let handle = prometheus()?;
    handle.run_upkeep();
    Some(handle.render())
}
