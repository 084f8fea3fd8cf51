//! The host's sweep for acceptances a crash cut off between recording a job and queueing it
//! (see `wagate_core::unstarted`), run beside the supervisor until shutdown.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use wagate_core::clock::now_ms;
use wagate_core::ports::{Queue, Store};
use wagate_core::unstarted;

/// Sweeps the last hour at once, then the recent window every 30 s, until `shutdown`.
pub async fn run(store: Arc<dyn Store>, queue: Arc<dyn Queue>, shutdown: CancellationToken) {
    let mut lookback = unstarted::AT_START;
    loop {
        match unstarted::sweep(store.as_ref(), queue.as_ref(), now_ms(), lookback).await {
            Ok(0) => {}
            // Most are jobs waiting their turn, which the queue keeps once.
            Ok(n) => tracing::debug!(jobs = n, "unstarted jobs put on their queues again"),
            Err(e) => tracing::warn!(error = %e, "the sweep for unstarted jobs failed"),
        }
        lookback = unstarted::WINDOW;
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(unstarted::EVERY) => {}
        }
    }
}
