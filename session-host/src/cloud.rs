//! The AWS side of the `wagate` binary. `wagate host` is the session host in container mode:
//! the same supervisor, runners and workers as `wagate local`, on DynamoDB / SQS / S3, holding
//! only the sessions it has leases for. `wagate provision` creates what the AWS adapters need
//! (table, bucket, shared queues) idempotently, against AWS or an emulator.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::Json;
use axum::routing::get;
use serde_json::json;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use wagate_aws::{AwsSettings, DynamoStore, S3Blobs};
use wagate_core::dispatch::{DispatchConfig, Dispatcher};
use wagate_core::env::{var, var_bool, var_parsed};
use wagate_core::ports::{QueueSpec, names};
use wagate_functions::lambda::AwsPorts;
use wagate_functions::{ApiConfig, AppState};

use crate::connector::simulated::SimOptions;
use crate::connector::{Connector, ConnectorKind, WhatsAppConnector, WhatsAppOptions};
use crate::{HostConfig, HostDeps, SessionHost, SimNetwork};

/// Creates the table, the bucket and the shared queues, and stores the hashes of the keys in
/// `ADMIN_API_KEY` / `USER_API_KEYS`. Safe to run again.
pub async fn provision() -> anyhow::Result<()> {
    let settings = AwsSettings::from_env().await?;
    DynamoStore::new(&settings)
        .ensure_table()
        .await
        .with_context(|| format!("creating table {}", settings.table))?;
    S3Blobs::new(&settings)
        .ensure_bucket()
        .await
        .with_context(|| format!("creating bucket {}", settings.bucket))?;
    wagate_aws::SqsQueue::new(&settings)
        .ensure_events_dead_letter_queue()
        .await
        .context("creating the events' dead-letter queue")?;
    let ports = AwsPorts::new(&settings);
    let state = AppState::new(
        ports.store,
        ports.queue,
        ports.blobs,
        ApiConfig::from_env()?,
    );
    state.bootstrap().await?;
    tracing::info!(
        table = %settings.table,
        bucket = %settings.bucket,
        queue_prefix = %settings.queue_prefix,
        "provisioned"
    );
    Ok(())
}

/// Serves the API over plain HTTP on the AWS adapters (`PORT`, default 4000): the Lambda
/// functions' router in a long-running process, for a container deployment without API
/// Gateway and for measuring the enqueue path against an emulator.
pub async fn api(shutdown: CancellationToken) -> anyhow::Result<()> {
    let state = wagate_functions::lambda::api_state().await?;
    let port: u16 = var_parsed("PORT", 4000)?;
    let addr = SocketAddr::from(([0, 0, 0, 0], port));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    tracing::info!(%addr, "wagate api is listening (AWS adapters)");
    axum::serve(listener, wagate_functions::app(state))
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
        .context("HTTP server")
}

/// Runs the session host on the AWS adapters until a shutdown signal. With
/// `HOST_DISPATCH_WEBHOOKS=true` it also delivers webhooks from the events queue (for running
/// without the `webhooks` Lambda, e.g. locally against an emulator).
pub async fn host(shutdown: CancellationToken) -> anyhow::Result<()> {
    let ports = AwsPorts::from_env().await?;
    let mut config = HostConfig::from_env()?;
    if var("HOST_ID").is_none() {
        config.host_id = format!("host-{}", wagate_core::random_token(8));
    }
    // The real WhatsApp network unless told otherwise: this is the production host.
    let connector = ConnectorKind::from_env(ConnectorKind::WhatsApp)?;
    let data_dir: std::path::PathBuf = var("DATA_DIR").unwrap_or_else(|| "./data".into()).into();
    let deps = HostDeps {
        store: ports.store.clone(),
        queue: ports.queue.clone(),
        blobs: ports.blobs.clone(),
    };
    tracing::info!(host_id = %config.host_id, connector = ?connector, "wagate host starting");
    ports
        .queue
        .create(names::EVENTS, QueueSpec::STANDARD)
        .await
        .context("creating the events queue")?;
    let host = match connector {
        ConnectorKind::Simulated => {
            let mut sim_options = SimOptions::new(data_dir.join("sim"));
            sim_options.qr_interval = config.sim_qr_interval;
            let sim = SimNetwork::open(ports.blobs.clone(), sim_options)?;
            SessionHost::new(deps, config, sim.clone(), Some(sim))
        }
        ConnectorKind::WhatsApp => {
            let wa: Arc<dyn Connector> = Arc::new(WhatsAppConnector::new(
                ports.blobs.clone(),
                WhatsAppOptions::from_env(data_dir.join("whatsapp"))?,
            ));
            SessionHost::new(deps, config, wa, None)
        }
    };

    let mut tasks: JoinSet<anyhow::Result<()>> = JoinSet::new();
    tasks.spawn(host.run(shutdown.clone()));
    if var_bool("HOST_DISPATCH_WEBHOOKS", false)? {
        let dispatcher = Arc::new(Dispatcher::new(
            ports.store.clone(),
            ports.queue.clone(),
            DispatchConfig::from_env()?,
        ));
        let stop = shutdown.clone();
        tasks.spawn(async move { dispatcher.run(async move { stop.cancelled().await }).await });
    }
    let port: u16 = var_parsed("HOST_HEALTH_PORT", 4001)?;
    let addr = SocketAddr::from(([0, 0, 0, 0], port));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding the health port {addr}"))?;
    let health = axum::Router::new().route(
        "/health",
        get(|| async { Json(json!({ "status": "ok", "role": "host" })) }),
    );
    let stop = shutdown.clone();
    tasks.spawn(async move {
        axum::serve(listener, health)
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .await
            .context("health server")
    });

    let mut first_error = None;
    while let Some(done) = tasks.join_next().await {
        let result = done.context("a host task panicked").and_then(|r| r);
        if let Err(e) = result {
            tracing::error!(error = %e, "a host task failed; shutting down");
            shutdown.cancel();
            first_error.get_or_insert(e);
        }
    }
    first_error.map_or(Ok(()), Err)
}
