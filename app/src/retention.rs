//! Retention for the embedded mode. Sent media is not kept forever: in the cloud the bucket's
//! lifecycle rule expires `media/`; locally a sweep does, hourly, by file age. Nor are jobs:
//! DynamoDB's TTL deletes them after `JOB_TTL_DAYS`; locally a sweep deletes final jobs that
//! old (and expired idempotency records, counters and acked queue messages), hourly too.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use wagate_local::{FsBlobs, LocalBackend};

/// `JOB_TTL_DAYS` when unset (as for DynamoDB).
const DEFAULT_JOB_TTL_DAYS: i64 = 30;

/// Deletes media blobs older than `max_age` now and every `every` until `stop`.
pub async fn sweep_media(
    blobs: Arc<FsBlobs>,
    max_age: Duration,
    every: Duration,
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
            () = tokio::time::sleep(every) => {}
        }
    }
}

/// How long a final job is kept: `JOB_TTL_DAYS` (default 30; below zero counts as zero),
/// saturating rather than overflowing.
pub fn job_ttl(days: Option<i64>) -> Duration {
    let days = u64::try_from(days.unwrap_or(DEFAULT_JOB_TTL_DAYS)).unwrap_or(0);
    Duration::from_secs(days.saturating_mul(86_400))
}

/// Deletes final jobs older than `job_ttl` and expired per-send records now and every `every`
/// until `stop`.
pub async fn sweep_records(
    backend: LocalBackend,
    job_ttl: Duration,
    every: Duration,
    stop: CancellationToken,
) -> anyhow::Result<()> {
    loop {
        tokio::select! {
            () = stop.cancelled() => return Ok(()),
            swept = backend.sweep(job_ttl) => match swept {
                Ok(s) if s == wagate_local::Swept::default() => {}
                Ok(s) => tracing::info!(
                    jobs = s.jobs,
                    expired = s.expired,
                    "retention: deleted old jobs and expired records"
                ),
                Err(e) => tracing::warn!(error = %e, "job retention sweep failed"),
            },
        }
        tokio::select! {
            () = stop.cancelled() => return Ok(()),
            () = tokio::time::sleep(every) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_job_ttl_defaults_to_30_days_and_never_overflows() {
        assert_eq!(job_ttl(None), Duration::from_secs(30 * 86_400));
        assert_eq!(job_ttl(Some(3)), Duration::from_secs(3 * 86_400));
        assert_eq!(job_ttl(Some(0)), Duration::ZERO);
        assert_eq!(job_ttl(Some(-5)), Duration::ZERO);
        assert_eq!(job_ttl(Some(i64::MAX)), Duration::from_secs(u64::MAX));
    }
}
