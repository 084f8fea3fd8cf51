//! The API on the AWS adapters: what the `api` Lambda serves behind API Gateway, and what
//! `wagate api` serves over plain HTTP in a long-running process (a container deployment
//! without API Gateway, or measuring the enqueue path against an emulator).

use tokio_util::sync::CancellationToken;
use wagate_functions::AppState;

use crate::aws::AwsPorts;
use crate::{Config, serve};

/// The API's state on the AWS ports, with the keys from the configuration seeded into the
/// table (the one store write at a cold start; the queues are provisioned).
pub async fn state(config: &Config) -> anyhow::Result<AppState> {
    let ports = AwsPorts::load(config).await;
    let state = AppState::new(ports.store, ports.queue, ports.blobs, config.api.clone());
    state.seed_keys().await?;
    Ok(state)
}

/// `wagate api`: the router on the AWS adapters over plain HTTP on `HOST:PORT`.
pub async fn run(config: Config, shutdown: CancellationToken) -> anyhow::Result<()> {
    let router = wagate_functions::app(state(&config).await?);
    let listener = serve::bind(config.listen, "the API").await?;
    tracing::info!(addr = %config.listen, "wagate api is listening (AWS adapters)");
    serve::http(listener, router, shutdown).await
}
