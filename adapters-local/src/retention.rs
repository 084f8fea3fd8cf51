//! Retention: what the database keeps per send is deleted once it is no longer needed, so a
//! busy `wagate local` does not grow its file forever. Jobs in a final state (`sent`, `failed`)
//! go after `JOB_TTL_DAYS` (as DynamoDB's TTL does in the cloud, by creation time); expired
//! idempotency records and rate-limit counters go as soon as they are found (an acked queue
//! message is deleted by its ack). Queued and sending jobs are never deleted.
//!
//! Deletes run in batches of at most [`SWEEP_BATCH`] rows, each its own operation on the
//! database thread, with a pause between two, so a sweep through a large backlog never holds
//! up the traffic for long.

use std::time::Duration;

use rusqlite::params;

use super::{LocalBackend, SqliteStore};
use wagate_core::clock::now_ms;
use wagate_core::ports::PortResult;

/// The most rows one batch deletes.
pub const SWEEP_BATCH: usize = 200;

/// The pause between two batches of a sweep: the traffic gets the database thread most of the
/// time while a large backlog is deleted (the soak showed a p99 spike in the minute of a sweep
/// with 500-row batches 10 ms apart).
const SWEEP_PAUSE: Duration = Duration::from_millis(40);

/// What one sweep deleted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    /// Jobs in a final state past the TTL.
    pub jobs: u64,
    /// Expired idempotency records and rate-limit counters.
    pub expired: u64,
}

/// The instant before which a job was created (and last updated) to be past `ttl` at `now_ms`;
/// saturating, so a huge TTL deletes nothing rather than overflowing.
pub fn job_cutoff(now_ms: i64, ttl: Duration) -> i64 {
    let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
    now_ms.saturating_sub(ttl_ms)
}

impl SqliteStore {
    /// Deletes up to `max` jobs in a final state (`sent`, `failed`) created and last updated
    /// before `before_ms`; returns how many. Queued and sending jobs are never deleted.
    pub async fn delete_final_jobs(&self, before_ms: i64, max: usize) -> PortResult<u64> {
        let max = i64::try_from(max).unwrap_or(i64::MAX);
        self.db
            .call(move |c| {
                c.prepare_cached(
                    "DELETE FROM jobs WHERE rowid IN (
                        SELECT rowid FROM jobs INDEXED BY jobs_by_created
                        WHERE created_at < ?1 AND updated_at < ?1 AND state IN ('sent', 'failed')
                        LIMIT ?2)",
                )?
                .execute(params![before_ms, max])
                .map(|n| n as u64)
            })
            .await
    }

    /// Deletes up to `max` idempotency records expired at `now_ms` and up to `max` rate-limit
    /// counters whose window has ended; returns how many in all.
    pub async fn delete_expired(&self, now_ms: i64, max: usize) -> PortResult<u64> {
        let max = i64::try_from(max).unwrap_or(i64::MAX);
        self.db
            .write(move |c| {
                let idempotency = c
                    .prepare_cached(
                        "DELETE FROM idempotency WHERE rowid IN (
                            SELECT rowid FROM idempotency WHERE expires_at <= ?1 LIMIT ?2)",
                    )?
                    .execute(params![now_ms, max])?;
                let counters = c
                    .prepare_cached(
                        "DELETE FROM counters WHERE rowid IN (
                            SELECT rowid FROM counters WHERE reset_at <= ?1 LIMIT ?2)",
                    )?
                    .execute(params![now_ms, max])?;
                Ok((idempotency + counters) as u64)
            })
            .await
    }
}

/// Runs `batch` until it deletes less than a full batch; returns the total.
async fn in_batches<F>(mut batch: impl FnMut() -> F) -> PortResult<u64>
where
    F: Future<Output = PortResult<u64>>,
{
    let mut total = 0u64;
    loop {
        let n = batch().await?;
        total = total.saturating_add(n);
        if n < SWEEP_BATCH as u64 {
            return Ok(total);
        }
        tokio::time::sleep(SWEEP_PAUSE).await;
    }
}

impl LocalBackend {
    /// One retention sweep (see the module): final jobs older than `job_ttl`, expired
    /// idempotency records and counters.
    pub async fn sweep(&self, job_ttl: Duration) -> PortResult<Swept> {
        let now = now_ms();
        let cutoff = job_cutoff(now, job_ttl);
        let store = &self.store;
        Ok(Swept {
            jobs: in_batches(|| store.delete_final_jobs(cutoff, SWEEP_BATCH)).await?,
            expired: in_batches(|| store.delete_expired(now, SWEEP_BATCH)).await?,
        })
    }
}
