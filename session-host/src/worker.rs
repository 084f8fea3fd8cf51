//! The per-session send loop: take one job from the session's FIFO queue, wait out the pacing
//! gap, send it under its fixed WhatsApp message id, record the result, ack. A step function
//! (`try_process_one`) does one job so tests can drive it deterministically; `run` loops it.
//!
//! Crash safety comes from the order of the steps. The job is marked `sending` before the
//! send and `sent` after it, and the queue message is acked last. A crash anywhere in between
//! redelivers the message; the job is then sent again under the same WhatsApp id, which
//! WhatsApp deduplicates, so the recipient sees one message. The `message_sent` event goes
//! out before the job is marked sent, so a crash cannot lose it (its id is derived from the
//! job, so emitting it twice is deduplicated downstream).

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use wagate_core::backoff::backoff;
use wagate_core::clock::now_ms;
use wagate_core::measure;
use wagate_core::ports::{PortError, Queue, QueueMessage, Store, names};
use wagate_core::{ActionResult, Job, JobId, JobState, SessionId};

use crate::config::HostConfig;
use crate::connector::{ChatState, Connection, SendError, SendReceipt};
use crate::events;

/// The session's connection while it is open, `None` otherwise. The runner publishes it; the
/// worker sends only while it is `Some`.
pub type LinkRx = watch::Receiver<Option<Arc<dyn Connection>>>;

/// How long an action's result is kept: as long as a job record by default.
pub const ACTION_RESULT_TTL_MS: i64 = 30 * 24 * 3600 * 1000;

/// What a job did when it went through.
enum Done {
    Sent(SendReceipt),
    Action(ActionResult),
}

/// What one step of the worker did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A queue message was handled (sent, failed, retried later or dropped as stale).
    Processed,
    /// The queue had nothing to deliver.
    Empty,
    /// The session is not open (or the worker is stopping); nothing was taken.
    NotReady,
}

/// Pacing and retry settings of a worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerConfig {
    /// Minimum time between the end of one send attempt and the start of the next.
    pub min_gap: Duration,
    /// Up to this much random extra on top of the gap.
    pub jitter: Duration,
    /// Attempts before a transiently failing job is marked failed.
    pub max_attempts: u32,
    /// How long a taken job stays hidden; renewed while it waits or is being sent.
    pub visibility: Duration,
    /// How long one receive waits for a job.
    pub poll_wait: Duration,
}

impl From<&HostConfig> for WorkerConfig {
    fn from(c: &HostConfig) -> Self {
        Self {
            min_gap: c.send_min_gap,
            jitter: c.send_jitter,
            max_attempts: c.send_max_attempts.max(1),
            visibility: c.send_visibility,
            poll_wait: c.poll_wait,
        }
    }
}

/// The send worker of one session.
pub struct SendWorker {
    session: SessionId,
    queue_name: String,
    store: Arc<dyn Store>,
    queue: Arc<dyn Queue>,
    link: LinkRx,
    config: WorkerConfig,
    shutdown: CancellationToken,
    /// When the previous send attempt ended; pacing counts from there.
    last_send: Option<Instant>,
    gauge: crate::queue_gauge::QueueGauge,
}

impl fmt::Debug for SendWorker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendWorker")
            .field("session", &self.session)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl SendWorker {
    /// A worker for `session`'s send queue. It stops taking jobs once `shutdown` is cancelled.
    pub fn new(
        session: SessionId,
        store: Arc<dyn Store>,
        queue: Arc<dyn Queue>,
        link: LinkRx,
        config: WorkerConfig,
        shutdown: CancellationToken,
    ) -> Self {
        Self {
            queue_name: names::send(&session),
            gauge: crate::queue_gauge::QueueGauge::new(session.as_str()),
            session,
            store,
            queue,
            link,
            config,
            shutdown,
            last_send: None,
        }
    }

    fn connection(&self) -> Option<Arc<dyn Connection>> {
        self.link.borrow().clone()
    }

    /// Loops [`Self::try_process_one`] until shutdown: waits for the session to open, backs off
    /// after errors. The send in flight when shutdown comes is finished.
    #[tracing::instrument(name = "send_worker", skip_all, fields(session_id = %self.session))]
    pub async fn run(mut self) {
        tracing::debug!("send worker started");
        while !self.shutdown.is_cancelled() {
            match self.try_process_one().await {
                Ok(Outcome::Processed | Outcome::Empty) => {}
                Ok(Outcome::NotReady) => {
                    // Wait for the session to open (or anything else to change).
                    tokio::select! {
                        () = self.shutdown.cancelled() => {}
                        r = self.link.changed() => if r.is_err() {
                            // The runner is gone: nothing will ever open this session again.
                            break;
                        },
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "send worker step failed; retrying in 1 s");
                    tokio::select! {
                        () = self.shutdown.cancelled() => {}
                        () = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                }
            }
        }
        tracing::debug!("send worker stopped");
    }

    /// Takes at most one job from the queue and sees it through. Store and queue errors are
    /// returned; the message then comes back after its visibility timeout.
    pub async fn try_process_one(&mut self) -> anyhow::Result<Outcome> {
        if self.shutdown.is_cancelled() || self.connection().is_none() {
            return Ok(Outcome::NotReady);
        }
        let mut received = self
            .queue
            .receive(
                &self.queue_name,
                1,
                self.config.visibility,
                self.config.poll_wait,
            )
            .await?;
        let Some(msg) = received.pop() else {
            self.gauge.empty();
            return Ok(Outcome::Empty);
        };
        if self.shutdown.is_cancelled() || self.connection().is_none() {
            self.give_back(&msg).await;
            return Ok(Outcome::NotReady);
        }
        self.process(msg).await
    }

    /// Hands a received but unstarted message back at once.
    async fn give_back(&self, msg: &QueueMessage) {
        if let Err(e) = self
            .queue
            .nack(&self.queue_name, &msg.receipt, Duration::ZERO)
            .await
        {
            tracing::warn!(session_id = %self.session, error = %e, "could not hand a job back; it returns after its visibility timeout");
        }
    }

    async fn ack(&self, msg: &QueueMessage) -> anyhow::Result<()> {
        self.queue.ack(&self.queue_name, &msg.receipt).await?;
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(
        session_id = %self.session,
        job_id = tracing::field::Empty,
        request_id = tracing::field::Empty,
    ))]
    async fn process(&mut self, msg: QueueMessage) -> anyhow::Result<Outcome> {
        let job_id = JobId::from_string(msg.body.trim());
        tracing::Span::current().record("job_id", job_id.as_str());
        let Some(job) = self.store.get_job(&job_id).await? else {
            tracing::warn!("job record is gone; dropping its queue message");
            self.ack(&msg).await?;
            return Ok(Outcome::Processed);
        };
        if let Some(id) = &job.request_id {
            tracing::Span::current().record("request_id", id.as_str());
        }
        if !job.state.is_final() {
            self.gauge
                .took(self.queue.as_ref(), &self.queue_name, job.created_at)
                .await;
        }
        if job.state.is_final() {
            tracing::info!(
                state = job.state.as_str(),
                "job already finished; acking the redelivery"
            );
            self.ack(&msg).await?;
            return Ok(Outcome::Processed);
        }
        if job.session_id != self.session {
            tracing::warn!(job_session = %job.session_id, "job belongs to another session; dropping it");
            self.ack(&msg).await?;
            return Ok(Outcome::Processed);
        }

        // Pacing: the gap (raised by the job's own pace) plus jitter since the last attempt.
        if !self.wait_turn(&job, &msg).await {
            self.give_back(&msg).await;
            return Ok(Outcome::NotReady);
        }
        let Some(conn) = self.connection() else {
            self.give_back(&msg).await;
            return Ok(Outcome::NotReady);
        };

        let attempts = job.attempts.saturating_add(1);
        if !self
            .store
            .update_job(&job.id, JobState::Sending, attempts, None, None)
            .await?
        {
            tracing::warn!("job record vanished before the send; dropping it");
            self.ack(&msg).await?;
            return Ok(Outcome::Processed);
        }
        tracing::debug!(attempts, to = %job.to, kind = job.message.kind(), "sending");
        let result = match job.message.action() {
            Some(action) => self
                .holding(&msg, conn.act(&job.to, action, &job.wa_message_id))
                .await
                .map(Done::Action),
            None => {
                if let Some(ms) = job.message.typing_ms {
                    self.holding(&msg, show_typing(conn.as_ref(), &job, ms))
                        .await;
                }
                self.holding(&msg, conn.send(&job.to, &job.message, &job.wa_message_id))
                    .await
                    .map(Done::Sent)
            }
        };
        self.last_send = Some(Instant::now());

        match result {
            Ok(done) => {
                self.finish(&job, &done).await?;
                self.store
                    .update_job(&job.id, JobState::Sent, attempts, None, Some(now_ms()))
                    .await?;
                self.ack(&msg).await?;
                measure::job_finished(job.message.kind(), "sent");
                tracing::info!(attempts, "job done");
            }
            Err(SendError::Permanent(reason)) => self.fail(&job, &msg, attempts, &reason).await?,
            Err(SendError::Transient(reason)) if attempts >= self.config.max_attempts => {
                let reason = format!("{reason} (gave up after {attempts} attempts)");
                // Parked before it is marked failed: a crash in between sends it once more
                // rather than leaving a failed job no admin can find.
                wagate_core::dead_sends::park(self.store.as_ref(), self.queue.as_ref(), &job)
                    .await?;
                self.fail(&job, &msg, attempts, &reason).await?;
            }
            Err(SendError::Transient(reason)) => {
                let delay = backoff(attempts);
                tracing::info!(attempts, error = %reason, retry_in_ms = delay.as_millis() as u64, "transient send failure; retrying later");
                self.store
                    .update_job(&job.id, JobState::Queued, attempts, Some(&reason), None)
                    .await?;
                self.queue
                    .nack(&self.queue_name, &msg.receipt, delay)
                    .await?;
                measure::job_finished(job.message.kind(), "retried");
            }
        }
        Ok(Outcome::Processed)
    }

    /// Records what a job produced and tells the webhooks, before the job is marked done: a
    /// crash in between does it again (same event id, same result).
    async fn finish(&self, job: &Job, done: &Done) -> anyhow::Result<()> {
        let event = match done {
            Done::Sent(receipt) => events::message_sent(job, receipt),
            Done::Action(result) => {
                let body = serde_json::to_string(result)?;
                let expires = now_ms().saturating_add(ACTION_RESULT_TTL_MS);
                self.store
                    .put_record(&ActionResult::key(job.id.as_str()), &body, expires)
                    .await?;
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
        events::emit(self.queue.as_ref(), &event).await?;
        Ok(())
    }

    async fn fail(
        &self,
        job: &Job,
        msg: &QueueMessage,
        attempts: u32,
        reason: &str,
    ) -> anyhow::Result<()> {
        events::emit(self.queue.as_ref(), &events::job_failed(job, reason)).await?;
        self.store
            .update_job(&job.id, JobState::Failed, attempts, Some(reason), None)
            .await?;
        self.ack(msg).await?;
        measure::job_finished(job.message.kind(), "failed");
        tracing::info!(attempts, error = %reason, "job failed");
        Ok(())
    }

    /// Sleeps until this job may go, holding its message. False when shutdown came or the
    /// session closed first.
    async fn wait_turn(&mut self, job: &Job, msg: &QueueMessage) -> bool {
        let Some(last) = self.last_send else {
            return true;
        };
        let gap = self
            .config
            .min_gap
            .max(Duration::from_millis(job.pace_ms.unwrap_or(0)));
        let jitter_ms = self.config.jitter.as_millis() as u64;
        let jitter = Duration::from_millis(if jitter_ms == 0 {
            0
        } else {
            rand::rng().random_range(0..=jitter_ms)
        });
        let until = last + gap + jitter;
        if until <= Instant::now() {
            return true;
        }
        let shutdown = self.shutdown.clone();
        let mut link = self.link.clone();
        let closed = async move {
            loop {
                if link.borrow_and_update().is_none() || link.changed().await.is_err() {
                    return;
                }
            }
        };
        let wait = self.holding(msg, tokio::time::sleep_until(until));
        tokio::select! {
            () = wait => true,
            () = shutdown.cancelled() => false,
            () = closed => false,
        }
    }

    /// Runs `fut` while keeping `msg` hidden from other consumers, however long it takes.
    async fn holding<T>(&self, msg: &QueueMessage, fut: impl Future<Output = T>) -> T {
        let every = (self.config.visibility / 3).max(Duration::from_millis(100));
        let mut ticker = tokio::time::interval_at(Instant::now() + every, every);
        tokio::pin!(fut);
        loop {
            tokio::select! {
                out = &mut fut => return out,
                _ = ticker.tick() => {
                    if let Err(e) = self
                        .queue
                        .extend(&self.queue_name, &msg.receipt, self.config.visibility)
                        .await
                        && !matches!(e, PortError::NotFound(_))
                    {
                        tracing::warn!(session_id = %self.session, error = %e, "could not extend a job's visibility");
                    }
                }
            }
        }
    }
}

/// "typing…" (or "recording audio…" before a voice note) in the job's chat for `ms`, then
/// neither. Cosmetic: a chat state WhatsApp refuses does not stop the send.
async fn show_typing(conn: &dyn Connection, job: &Job, ms: u32) {
    let state = match &job.message.content {
        wagate_core::MessageContent::Media { ptt: true, .. } => ChatState::Recording,
        _ => ChatState::Composing,
    };
    let ms = ms.min(wagate_core::MAX_TYPING_MS);
    for (state, wait) in [(state, u64::from(ms)), (ChatState::Paused, 0)] {
        if let Err(e) = conn.chat_state(&job.to, state).await {
            tracing::debug!(error = %e, "chat state not shown");
        }
        tokio::time::sleep(Duration::from_millis(wait)).await;
    }
}
