//! What deleting a session does to the sends it still had queued: each fails with a reason
//! and a `message_failed` event, so no job stays `queued` forever. The host does it after
//! stopping the session's runner, so the send in flight (if any) finishes first.

use std::time::Duration;

use tokio::time::Instant;
use wagate_core::ports::{PortError, PortResult, Queue, Store, names};
use wagate_core::{JobId, JobState, SessionId};

use crate::events;

/// The reason a deleted session's unsent jobs carry.
pub const SESSION_DELETED: &str = "the session was deleted before this message was sent";
/// How long a drain waits for a send still in flight (another host's worker finishing).
const IN_FLIGHT_WAIT: Duration = Duration::from_secs(60);
/// How long a received message stays hidden while its job is failed.
const VISIBILITY: Duration = Duration::from_secs(30);

/// What a drain did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Drained {
    /// Jobs marked failed (each with a `message_failed` event).
    pub failed: usize,
    /// The queue was deleted (the session was not created again meanwhile).
    pub queue_deleted: bool,
}

/// Fails every job still on `session`'s send queue that was accepted before `deleted_at_ms`,
/// then deletes the queue unless a session of the same id exists again. A job accepted after
/// the deletion belongs to a session created again under the same id: the drain stops there
/// and leaves it (and everything behind it) queued. Errs while a send is still in flight
/// after [`IN_FLIGHT_WAIT`] (the caller retries later).
pub async fn drain_deleted_session(
    store: &dyn Store,
    queue: &dyn Queue,
    session: &SessionId,
    deleted_at_ms: i64,
) -> PortResult<Drained> {
    let name = names::send(session);
    let mut done = Drained::default();
    let deadline = Instant::now() + IN_FLIGHT_WAIT;
    loop {
        let batch = match queue.receive(&name, 10, VISIBILITY, Duration::ZERO).await {
            Ok(b) => b,
            Err(PortError::NotFound(_)) => return Ok(done),
            Err(e) => return Err(e),
        };
        if batch.is_empty() {
            if queue.depth(&name).await? == 0 {
                break;
            }
            if Instant::now() >= deadline {
                return Err(PortError::Backend(anyhow::anyhow!(
                    "a send of deleted session {session} is still in flight"
                )));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        }
        for (i, msg) in batch.iter().enumerate() {
            let id = JobId::from_string(msg.body.trim());
            let job = store.get_job(&id).await?;
            if job.as_ref().is_some_and(|j| j.created_at > deleted_at_ms) {
                // A session created again under this id: hand back this one and the rest.
                for later in &batch[i..] {
                    queue.nack(&name, &later.receipt, Duration::ZERO).await?;
                }
                return Ok(done);
            }
            if let Some(job) =
                job.filter(|j| matches!(j.state, JobState::Queued | JobState::Sending))
            {
                store
                    .update_job(
                        &job.id,
                        JobState::Failed,
                        job.attempts,
                        Some(SESSION_DELETED),
                        None,
                    )
                    .await?;
                events::emit(queue, &events::message_failed(&job, SESSION_DELETED)).await?;
                done.failed += 1;
            }
            queue.ack(&name, &msg.receipt).await?;
        }
    }
    if store.get_session(session).await?.is_none() {
        queue.delete(&name).await?;
        done.queue_deleted = true;
    }
    Ok(done)
}
