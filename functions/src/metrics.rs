//! `GET /metrics`: wagate's counters in the Prometheus text format (admin key). The recorder is
//! installed by the long-running processes (`wagate local`, `wagate api`); a process without
//! it (a Lambda) answers 404, and the Lambda functions are built without the `prometheus`
//! feature, which leaves the exporter out. HTTP requests are counted here by route template.

#[cfg(feature = "prometheus")]
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
#[cfg(feature = "prometheus")]
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use wagate_core::measure;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

#[cfg(feature = "prometheus")]
static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Seconds: from a fast local answer to a long `?wait`.
#[cfg(feature = "prometheus")]
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Installs the Prometheus recorder for this process (once; later calls do nothing).
#[cfg(feature = "prometheus")]
pub fn install() {
    HANDLE.get_or_init(|| {
        let built = PrometheusBuilder::new()
            .set_buckets(LATENCY_BUCKETS)
            .and_then(PrometheusBuilder::install_recorder);
        match built {
            Ok(handle) => {
                measure::describe();
                recording();
                Some(handle)
            }
            Err(e) => {
                tracing::warn!(error = %e, "metrics recorder not installed; /metrics is off");
                None
            }
        }
    });
}

/// Whether a recorder (this module's, or the CloudWatch one of a Lambda) takes the HTTP
/// layer's samples; without one, [`track`] skips building their labels.
static RECORDING: AtomicBool = AtomicBool::new(false);

/// Tells the HTTP layer that a recorder is installed (for one installed elsewhere).
pub fn recording() {
    RECORDING.store(true, Ordering::Relaxed);
}

/// Without the exporter there is nothing to install.
#[cfg(not(feature = "prometheus"))]
pub fn install() {}

#[cfg(feature = "prometheus")]
fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE.get().and_then(Option::as_ref)
}

/// This process's metrics in the text format, if it collects them (for `wagate host`'s
/// health port, which has no API state).
pub fn render() -> Option<String> {
    #[cfg(feature = "prometheus")]
    if let Some(h) = handle() {
        h.run_upkeep();
        return Some(h.render());
    }
    None
}

/// Whether this process collects metrics for [`render`].
fn collecting() -> bool {
    #[cfg(feature = "prometheus")]
    return handle().is_some();
    #[cfg(not(feature = "prometheus"))]
    false
}

/// The route template a request matched, carried out on its response for [`track`].
#[derive(Debug, Clone)]
struct RouteTemplate(String);

/// On a router's routes (`route_layer`): notes the template they matched on the response. In
/// nested routers the innermost (the full template) is kept.
pub async fn note_route(req: Request, next: Next) -> Response {
    let template = req.extensions().get::<MatchedPath>().cloned();
    let mut resp = next.run(req).await;
    if let Some(t) = template
        && resp.extensions().get::<RouteTemplate>().is_none()
    {
        resp.extensions_mut()
            .insert(RouteTemplate(t.as_str().to_owned()));
    }
    resp
}

/// Around everything: counts every request by method, route template (`unmatched` for a
/// path no route has) and status, with its latency.
pub async fn track(req: Request, next: Next) -> Response {
    let method = req.method().as_str().to_owned();
    let started = Instant::now();
    let resp = next.run(req).await;
    if RECORDING.load(Ordering::Relaxed) {
        let route = resp
            .extensions()
            .get::<RouteTemplate>()
            .map_or("unmatched", |t| t.0.as_str());
        measure::http_request(&method, route, resp.status().as_u16(), started.elapsed());
    }
    resp
}

/// `GET /metrics`.
#[utoipa::path(get, path = "/metrics", tag = "health",
    summary = "Prometheus metrics (admin key)",
    description = "The text exposition format: HTTP requests by route template and status, jobs \
        accepted and finished by kind and outcome, received messages by kind, webhook \
        deliveries and their latency, sessions by status, disconnects.",
    responses((status = 200, description = "Prometheus text format", body = String,
        content_type = "text/plain")))]
pub async fn scrape(State(state): State<AppState>) -> ApiResult<Response> {
    if !collecting() {
        return Err(ApiError::not_found(
            "metrics_off",
            "this process does not collect metrics",
        ));
    }
    // The same count `/health` serves, made at most every few seconds.
    let counts = state.health.sessions(state.store.as_ref()).await;
    for status in wagate_core::SessionStatus::ALL {
        let n = counts["byStatus"][status.as_str()].as_u64().unwrap_or(0);
        measure::sessions(status.as_str(), n);
    }
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        render().unwrap_or_default(),
    )
        .into_response())
}
