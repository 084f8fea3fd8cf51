//! The API on the AWS adapters: what the `api` Lambda serves behind API Gateway, and what
//! `wagate api` serves over plain HTTP in a long-running process (a container deployment
//! without API Gateway, or measuring the enqueue path against an emulator).

use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use wagate_core::dispatch::Dispatcher;
use wagate_functions::AppState;
use wagate_functions::live::LiveFeed;

use crate::aws::AwsPorts;
use crate::serve::Tasks;
use crate::{Config, serve};

/// The API's state on the AWS `ports`. The configuration's keys work from the first request
/// (the state knows them); their records are written to the table in the background, so a
/// cold start makes no store call before it serves (the queues are provisioned).
pub fn state(config: &Config, ports: AwsPorts) -> AppState {
    let state = AppState::new(ports.store, ports.queue, ports.blobs, config.api.clone());
    let seeding = state.clone();
    tokio::spawn(async move {
        if let Err(e) = seeding.seed_keys().await {
            tracing::warn!(
                error = format!("{e:#}"),
                "could not store the configured API keys; they work here, but are not listed"
            );
        }
    });
    state
}

/// `wagate api`: the router on the AWS adapters over plain HTTP on `HOST:PORT`; with
/// `API_DISPATCH_WEBHOOKS`, also the webhook dispatcher and the live channel it feeds.
pub async fn run(config: Config, shutdown: CancellationToken) -> anyhow::Result<()> {
    wagate_functions::metrics::install();
    let mut state = state(&config, AwsPorts::load(&config).await);
    let mut tasks = Tasks::new(shutdown.clone());
    if config.api_dispatch_webhooks {
        let live = LiveFeed::default();
        state = state.with_live(live.clone());
        let dispatcher = Arc::new(
            Dispatcher::new(
                state.store.clone(),
                state.queue.clone(),
                config.dispatch.clone(),
            )
            .with_tap(live.sender()),
        );
        let stop = shutdown.clone();
        tasks.spawn(async move { dispatcher.run(async move { stop.cancelled().await }).await });
        let stop = shutdown.clone();
        tasks.spawn(async move {
            stop.cancelled().await;
            live.close().await;
            Ok(())
        });
    }
    let router = wagate_functions::app(state);
    let listener = serve::bind(config.listen, "the API").await?;
    tracing::info!(addr = %config.listen, "wagate api is listening (AWS adapters)");
    tasks.spawn(serve::http(listener, router, shutdown));
    tasks.wait().await
}
