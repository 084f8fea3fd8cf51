//! The dead-letter queue of sends. A job whose send kept failing transiently is marked
//! `failed` with its reason and parked here (its id, FIFO, deduplicated by job id); on SQS the
//! per-session queues also redrive here by `maxReceiveCount`, which catches a job that crashes
//! its host every time. An admin lists the parked jobs and redrives them: each goes back to
//! its session's queue as `queued`, with the same WhatsApp message id.

use std::time::Duration;

use crate::ports::{PortError, PortResult, Queue, Store, enqueue_send, names};
use crate::{Job, JobId, JobState, random_token};

/// How long a listed message stays hidden while it is looked at (then handed back).
const PEEK_VISIBILITY: Duration = Duration::from_secs(5);
/// How long a redriven message stays hidden while it is moved.
const MOVE_VISIBILITY: Duration = Duration::from_secs(30);

/// Parks a job in the dead-letter queue.
pub async fn park(queue: &dyn Queue, job: &JobId) -> PortResult<()> {
    queue
        .send(names::DEAD_SENDS, job.as_str(), job.as_str())
        .await
}

/// Up to `limit` parked jobs (at most 10: the queue is FIFO, so one look sees one batch),
/// oldest first; each is handed back at once, so listing changes nothing.
pub async fn list(store: &dyn Store, queue: &dyn Queue, limit: usize) -> PortResult<Vec<Job>> {
    let msgs = match queue
        .receive(
            names::DEAD_SENDS,
            limit.clamp(1, 10),
            PEEK_VISIBILITY,
            Duration::ZERO,
        )
        .await
    {
        Ok(m) => m,
        Err(PortError::NotFound(_)) => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut jobs = Vec::with_capacity(msgs.len());
    for m in &msgs {
        if let Some(job) = store.get_job(&JobId::from_string(m.body.trim())).await? {
            jobs.push(job);
        }
    }
    for m in &msgs {
        if let Err(e) = queue
            .nack(names::DEAD_SENDS, &m.receipt, Duration::ZERO)
            .await
        {
            tracing::warn!(error = %e, "could not hand a parked send back; it returns after its visibility timeout");
        }
    }
    Ok(jobs)
}

/// What a redrive did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Redriven {
    /// Jobs put back on their session's queue.
    pub redriven: usize,
    /// Parked ids whose job or session no longer exists (removed from the queue).
    pub dropped: usize,
}

/// Moves up to `max` parked jobs back to their sessions' queues.
pub async fn redrive(store: &dyn Store, queue: &dyn Queue, max: usize) -> PortResult<Redriven> {
    let mut report = Redriven::default();
    while report.redriven + report.dropped < max {
        let room = (max - report.redriven - report.dropped).min(10);
        let msgs = match queue
            .receive(names::DEAD_SENDS, room, MOVE_VISIBILITY, Duration::ZERO)
            .await
        {
            Ok(m) => m,
            Err(PortError::NotFound(_)) => break,
            Err(e) => return Err(e),
        };
        if msgs.is_empty() {
            break;
        }
        for m in msgs {
            let id = JobId::from_string(m.body.trim());
            match store.get_job(&id).await? {
                Some(job) => {
                    store
                        .update_job(&job.id, JobState::Queued, 0, None, None)
                        .await?;
                    // A fresh dedup id: the first enqueue of this job may still be remembered.
                    let dedup = format!("redrive_{}_{}", job.id, random_token(8));
                    match enqueue_send(queue, &job, &dedup).await {
                        Ok(()) => report.redriven += 1,
                        Err(PortError::NotFound(_)) => {
                            store
                                .update_job(
                                    &job.id,
                                    JobState::Failed,
                                    job.attempts,
                                    Some("session deleted"),
                                    None,
                                )
                                .await?;
                            report.dropped += 1;
                        }
                        Err(e) => return Err(e),
                    }
                }
                None => report.dropped += 1,
            }
            queue.ack(names::DEAD_SENDS, &m.receipt).await?;
        }
    }
    tracing::info!(
        redriven = report.redriven,
        dropped = report.dropped,
        "dead-letter sends redriven"
    );
    Ok(report)
}
