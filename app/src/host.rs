//! `wagate host`: the session host in container mode. The same supervisor, runners and
//! workers as `wagate local`, on DynamoDB / SQS / S3, holding only the sessions it has leases
//! for. With `HOST_DISPATCH_WEBHOOKS=true` it also delivers webhooks from the events queue
//! (for running without the `webhooks` Lambda, e.g. locally against an emulator).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::routing::get;
use serde_json::json;
use tokio_util::sync::CancellationToken;
use wagate_core::dispatch::Dispatcher;
use wagate_host::HostDeps;

use crate::aws::AwsPorts;
use crate::serve::{self, Tasks};
use crate::{Config, connector};

/// Runs the session host until `shutdown`.
pub async fn run(mut config: Config, shutdown: CancellationToken) -> anyhow::Result<()> {
    wagate_functions::metrics::install();
    wagate_host::connector::whatsapp::telemetry::describe();
    let ports = AwsPorts::load(&config).await;
    // A replacement container must not take the old one's name: it waits for the old leases
    // to expire instead of taking them over at once.
    if !config.host_id_given {
        config.host.host_id = format!("host-{}", wagate_core::random_token(8));
    }
    tracing::info!(host_id = %config.host.host_id, connector = ?config.connector, "wagate host starting");
    let deps = HostDeps::new(
        ports.store.clone(),
        ports.queue.clone(),
        ports.blobs.clone(),
    );
    let (host, _sim) = connector::session_host(&config, deps, &config.data_dir)?;

    let mut tasks = Tasks::new(shutdown.clone());
    tasks.spawn(host.run(shutdown.clone()));
    if config.host_dispatch_webhooks {
        let dispatcher = Arc::new(Dispatcher::new(
            ports.store.clone(),
            ports.queue.clone(),
            config.dispatch.clone(),
        ));
        let stop = shutdown.clone();
        tasks.spawn(async move { dispatcher.run(async move { stop.cancelled().await }).await });
    }
    let addr = SocketAddr::new(config.listen.ip(), config.host_health_port);
    let listener = serve::bind(addr, "the health port").await?;
    // Inside the deployment's network, like the health check: no key. The worker's, the
    // runner's and (with HOST_DISPATCH_WEBHOOKS) the dispatcher's counters live here.
    let health = axum::Router::new()
        .route(
            "/health",
            get(|| async { Json(json!({ "status": "ok", "role": "host" })) }),
        )
        .route("/metrics", get(host_metrics));
    tasks.spawn(serve::http(listener, health, shutdown));
    tasks.wait().await
}

/// `GET /metrics` on the health port.
async fn host_metrics() -> axum::response::Response {
    use axum::response::IntoResponse;
    match wagate_functions::metrics::render() {
        Some(text) => (
            [(
                axum::http::header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        None => axum::http::StatusCode::NOT_FOUND.into_response(),
    }
}
