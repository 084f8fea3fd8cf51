//! Media retention for the embedded mode: sent media is not kept forever. In the cloud the
//! bucket's lifecycle rule expires `media/`; locally this sweep does, hourly, by file age.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use wagate_local::FsBlobs;

const EVERY: Duration = Duration::from_secs(3600);

/// Deletes media blobs older than `max_age` now and every hour until `stop`.
pub async fn sweep_media(
    blobs: Arc<FsBlobs>,
    max_age: Duration,
    stop: CancellationToken,
) -> anyhow::Result<()> {
    loop {
        match blobs.sweep("media/", max_age).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, "media retention: deleted old media"),
            Err(e) => tracing::warn!(error = %e, "media retention sweep failed"),
        }
        tokio::select! {
            () = stop.cancelled() => return Ok(()),
            () = tokio::time::sleep(EVERY) => {}
        }
    }
}
