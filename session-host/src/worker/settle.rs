//! How the send worker records what became of a batch's jobs: the writes of each job's
//! result (what it produced, its event, its state, its ack or retry), made together through
//! the worker's [`WriteBatch`](wagate_core::ports::WriteBatch), and the count and log line of
//! each once they are written.

use std::time::Duration;

use wagate_core::backoff::backoff;
use wagate_core::clock::now_ms;
use wagate_core::measure;
use wagate_core::ports::{QueueMessage, Write};
use wagate_core::{ActionResult, Job, JobState};

use super::{ACTION_RESULT_TTL_MS, Done, Ready, SendWorker};
use crate::connector::SendError;
use crate::events;

/// How a sent job was settled, for its count and log line.
pub(super) enum Settled {
    Sent,
    Failed(String),
    Retry { reason: String, delay: Duration },
}

/// A job's new state, as a write.
pub(super) fn job_write(job: &Job, state: JobState, attempts: u32, error: Option<String>) -> Write {
    Write::Job {
        id: job.id.clone(),
        state,
        attempts,
        error,
        sent_at: None,
    }
}

impl SendWorker {
    /// The writes that record a send's result, in order: what it produced and its event, the
    /// job's state, then the ack (or, to retry later, a nack). A job that gave up is parked
    /// first: a crash before its writes sends it once more rather than leaving a failed job no
    /// admin can find.
    pub(super) async fn settlement(
        &self,
        r: &Ready,
        result: Result<Done, SendError>,
    ) -> anyhow::Result<(Vec<Write>, Settled)> {
        let (job, attempts) = (&r.job, r.attempts);
        Ok(match result {
            Ok(done) => {
                let mut writes = self.finish(job, &done).await?;
                writes.push(Write::Job {
                    id: job.id.clone(),
                    state: JobState::Sent,
                    attempts,
                    error: None,
                    sent_at: Some(now_ms()),
                });
                writes.push(self.ack_write(&r.msg));
                (writes, Settled::Sent)
            }
            Err(SendError::Permanent(reason)) => (self.fail(r, &reason)?, Settled::Failed(reason)),
            Err(SendError::Transient(reason)) if attempts >= self.config.max_attempts => {
                let reason = format!("{reason} (gave up after {attempts} attempts)");
                wagate_core::dead_sends::park(self.store.as_ref(), self.queue.as_ref(), job)
                    .await?;
                (self.fail(r, &reason)?, Settled::Failed(reason))
            }
            Err(SendError::Transient(reason)) => {
                let delay = backoff(attempts);
                let writes = vec![
                    job_write(job, JobState::Queued, attempts, Some(reason.clone())),
                    self.nack_write(&r.msg, delay),
                ];
                (writes, Settled::Retry { reason, delay })
            }
        })
    }

    /// What a job produced and its webhook event, written before the job is marked done: a
    /// crash in between does it again (same event id, same result).
    async fn finish(&self, job: &Job, done: &Done) -> anyhow::Result<Vec<Write>> {
        let mut writes = Vec::with_capacity(4);
        let event = match done {
            Done::Sent(receipt) => events::message_sent(job, receipt),
            Done::Action(result) => {
                writes.push(Write::Record {
                    key: ActionResult::key(job.id.as_str()),
                    value: serde_json::to_string(result)?,
                    expires_at_ms: now_ms().saturating_add(ACTION_RESULT_TTL_MS),
                });
                if job
                    .message
                    .action()
                    .is_some_and(wagate_core::Action::needs_group)
                {
                    crate::queries::forget_group(self.store.as_ref(), &self.session, &job.to).await;
                }
                events::action_done(job, result)
            }
        };
        writes.push(events::queued(&event)?);
        Ok(writes)
    }

    fn fail(&self, r: &Ready, reason: &str) -> anyhow::Result<Vec<Write>> {
        Ok(vec![
            events::queued(&events::job_failed(&r.job, reason))?,
            job_write(
                &r.job,
                JobState::Failed,
                r.attempts,
                Some(reason.to_owned()),
            ),
            self.ack_write(&r.msg),
        ])
    }

    /// Counts and logs a job's settled result.
    pub(super) fn report(&self, r: &Ready, outcome: &Settled) {
        let (job, attempts) = (&r.job, r.attempts);
        let kind = job.message.kind();
        let request_id = job.request_id.as_deref();
        match outcome {
            Settled::Sent => {
                measure::job_finished(kind, "sent");
                tracing::info!(session_id = %self.session, job_id = %job.id, request_id, attempts, "job done");
            }
            Settled::Failed(reason) => {
                measure::job_finished(kind, "failed");
                tracing::info!(session_id = %self.session, job_id = %job.id, request_id, attempts, error = %reason, "job failed");
            }
            Settled::Retry { reason, delay } => {
                measure::job_finished(kind, "retried");
                tracing::info!(session_id = %self.session, job_id = %job.id, request_id, attempts, error = %reason, retry_in_ms = delay.as_millis() as u64, "transient send failure; retrying later");
            }
        }
    }

    pub(super) fn ack_write(&self, msg: &QueueMessage) -> Write {
        Write::Ack {
            queue: self.queue_name.clone(),
            receipt: msg.receipt.clone(),
        }
    }

    pub(super) fn nack_write(&self, msg: &QueueMessage, delay: Duration) -> Write {
        Write::Nack {
            queue: self.queue_name.clone(),
            receipt: msg.receipt.clone(),
            delay,
        }
    }
}
