//! The parts of a wagate process run as tasks that stop together: [`Tasks`] keeps them, stops
//! all on the first failure and reports that failure; [`http`] serves a router until the
//! shutdown token fires.

use std::future::Future;
use std::net::SocketAddr;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// Binds `addr` with an error that says what for.
pub async fn bind(addr: SocketAddr, what: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {what} on {addr}"))
}

/// Serves `router` on `listener` until `stop` fires (then finishes requests in flight).
pub async fn http(
    listener: TcpListener,
    router: axum::Router,
    stop: CancellationToken,
) -> anyhow::Result<()> {
    // The peer's address reaches the handlers (the failed-auth limit counts by address).
    let service = router.into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, service)
        .with_graceful_shutdown(async move { stop.cancelled().await })
        .await
        .context("HTTP server")
}

/// The running parts of one process, sharing one shutdown token.
#[derive(Debug)]
pub struct Tasks {
    shutdown: CancellationToken,
    set: JoinSet<anyhow::Result<()>>,
}

impl Tasks {
    pub fn new(shutdown: CancellationToken) -> Self {
        Self {
            shutdown,
            set: JoinSet::new(),
        }
    }

    /// The token every part stops on.
    pub fn shutdown(&self) -> &CancellationToken {
        &self.shutdown
    }

    pub fn spawn(&mut self, part: impl Future<Output = anyhow::Result<()>> + Send + 'static) {
        self.set.spawn(part);
    }

    /// Waits for every part to stop. One part failing (or panicking) stops the others; the
    /// first failure is returned.
    pub async fn wait(mut self) -> anyhow::Result<()> {
        let mut first_error = None;
        while let Some(done) = self.set.join_next().await {
            if let Err(e) = done.context("a wagate task panicked").and_then(|r| r) {
                tracing::error!(error = %format!("{e:#}"), "a part failed; shutting down");
                self.shutdown.cancel();
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}
