//! Health routes, without authentication: `/health`, `/health/live`, `/health/ready`, `/ping`.
//! `/health` summarises like the seed server's (sessions by status, uptime, memory, load)
//! without naming any session.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use wagate_core::clock::now_ms;

use crate::openapi::schemas;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health))
        .routes(routes!(live))
        .routes(routes!(ready))
        .routes(routes!(ping))
}

#[utoipa::path(get, path = "/health", tag = "health",
    summary = "Summary: sessions by status, uptime, memory, load",
    responses(
        (status = 200, description = "The store answers", body = schemas::Health),
        (status = 503, description = "The store does not answer", body = schemas::Health),
    ))]
async fn health(State(state): State<AppState>) -> Response {
    let store_ok = state.store.get_config("__health").await.is_ok();
    let status = if store_ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let sessions = state.health.sessions(state.store.as_ref()).await;
    let body = json!({
        "status": if store_ok { "ok" } else { "degraded" },
        "version": env!("CARGO_PKG_VERSION"),
        "uptimeSecs": state.started.elapsed().as_secs(),
        "checks": { "store": store_ok },
        "sessions": sessions,
        "memory": { "rssBytes": crate::host_stats::rss_bytes() },
        "loadAverage": crate::host_stats::load_average(),
    });
    (status, axum::Json(body)).into_response()
}

#[utoipa::path(get, path = "/health/live", tag = "health", summary = "The process is up",
    responses((status = 200, description = "Always", body = schemas::Status)))]
async fn live() -> axum::Json<serde_json::Value> {
    axum::Json(json!({ "status": "ok" }))
}

/// Ready when the store and the queues answer.
#[utoipa::path(get, path = "/health/ready", tag = "health",
    summary = "Ready when the store and the queues answer",
    responses(
        (status = 200, description = "Ready", body = schemas::Ready),
        (status = 503, description = "Not ready", body = schemas::Ready),
    ))]
async fn ready(State(state): State<AppState>) -> Response {
    let store_ok = state.store.get_config("__health").await.is_ok();
    let queue_ok = state
        .queue
        .depth(wagate_core::ports::names::EVENTS)
        .await
        .is_ok();
    let ok = store_ok && queue_ok;
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(json!({ "status": if ok { "ready" } else { "not_ready" }, "checks": { "store": store_ok, "queue": queue_ok } }))).into_response()
}

/// The seed server's answer (`pong`, `ts`), with `message` as wagate answered before.
#[utoipa::path(get, path = "/ping", tag = "health", summary = "pong",
    responses((status = 200, description = "Always", body = schemas::Pong)))]
async fn ping() -> axum::Json<serde_json::Value> {
    axum::Json(json!({ "pong": true, "message": "pong", "ts": now_ms() }))
}
