//! The dead-letter queue of sends. A job whose send kept failing transiently is marked
//! `failed` with its reason and parked here (its id, FIFO, deduplicated by job id); on SQS the
//! per-session queues also redrive here by `maxReceiveCount`, which catches a job that crashes
//! its host every time. The store keeps an index of the queue for listing it page by page. An
//! admin lists the parked jobs and redrives them: each goes back to
//! its session's queue as `queued`, with the same WhatsApp message id.

use std::time::Duration;

use crate::clock::now_ms;
use crate::ports::{Page, ParkedSend, PortError, PortResult, Queue, Store, enqueue_send, names};
use crate::{Job, JobId, JobState, random_token};

/// How long a redriven message stays hidden while it is moved.
const MOVE_VISIBILITY: Duration = Duration::from_secs(30);

/// Parks a job in the dead-letter queue and records it in the store's index of that queue
/// (in this order: a crash in between leaves a parked send that redrive still moves, only
/// missing from the listing until then).
pub async fn park(store: &dyn Store, queue: &dyn Queue, job: &Job) -> PortResult<()> {
    queue
        .send(names::DEAD_SENDS, job.id.as_str(), job.id.as_str())
        .await?;
    store
        .put_parked_send(&ParkedSend {
            job_id: job.id.to_string(),
            session_id: job.session_id.to_string(),
            parked_at: now_ms(),
        })
        .await
}

/// A page of parked jobs, oldest parking first, from the store's index (the queue itself is
/// FIFO and cannot be paged); `next` as for every listing. Jobs deleted since (retention) are
/// left out. Sends SQS moved here on its own (`maxReceiveCount`: a job that crashed its host
/// every time) are not in the index; `redrive` moves them all the same.
pub async fn list(store: &dyn Store, after: Option<&str>, limit: usize) -> PortResult<Page<Job>> {
    let parked = store.list_parked_sends(after, limit).await?;
    let mut jobs = Vec::with_capacity(parked.items.len());
    for p in &parked.items {
        if let Some(job) = store.get_job(&JobId::from_string(p.job_id.clone())).await? {
            jobs.push(job);
        }
    }
    Ok(Page {
        items: jobs,
        next: parked.next,
    })
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
            store.remove_parked_send(id.as_str()).await?;
        }
    }
    tracing::info!(
        redriven = report.redriven,
        dropped = report.dropped,
        "dead-letter sends redriven"
    );
    Ok(report)
}
