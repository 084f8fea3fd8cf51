//! The per-session send loop: take jobs from the session's FIFO queue, wait out the pacing
//! gap, send each under its fixed WhatsApp message id, record the result, ack. A step function
//! (`try_step`) takes one receive's worth (one job when paced, up to [`UNPACED_BATCH`] when
//! not) so tests can drive it deterministically; `run` loops it.
//!
//! Crash safety comes from the order of the steps. The job is marked `sending` before the
//! send and `sent` after it, and the queue message is acked last. A crash anywhere in between
//! redelivers the message; the job is then sent again under the same WhatsApp id, which
//! WhatsApp deduplicates, so the recipient sees one message. The `message_sent` event goes
//! out before the job is marked sent, so a crash cannot lose it (its id is derived from the
//! job, so emitting it twice is deduplicated downstream). The writes of each step go through a
//! [`WriteBatch`]: on the embedded store the event, the mark and the ack of a whole batch are
//! one transaction; elsewhere they are made in that order.

use std::collections::HashSet;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;
use wagate_core::ports::{
    OneByOne, PortError, Queue, QueueMessage, Store, Write, WriteBatch, names,
};
use wagate_core::{ActionResult, Job, JobId, JobState, SessionId};

use crate::config::HostConfig;
use crate::connector::{ChatState, Connection, SendError, SendReceipt};

mod settle;

use settle::job_write;

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

/// A job taken from the queue and marked `sending`, with its queue message.
#[derive(Clone)]
struct Ready {
    msg: QueueMessage,
    job: Job,
    /// Its attempts, this one included.
    attempts: u32,
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
    /// Most jobs taken in one receive and seen through together (their store writes share
    /// commits). Paced sends gain nothing from it, so unpaced workers alone take more than one.
    pub batch: usize,
}

/// How long a worker's receive waits for a job: as long as SQS allows, so an idle session's
/// worker asks its queue three times a minute (the embedded queue wakes it at once when a job
/// comes; a long poll of SQS returns as soon as one is there).
pub const SEND_POLL_WAIT: Duration = Duration::from_secs(20);

/// The batch of an unpaced worker (`SEND_MIN_GAP_MS=0`, `SEND_JITTER_MS=0`).
pub const UNPACED_BATCH: usize = 32;

impl From<&HostConfig> for WorkerConfig {
    fn from(c: &HostConfig) -> Self {
        Self {
            min_gap: c.send_min_gap,
            jitter: c.send_jitter,
            max_attempts: c.send_max_attempts.max(1),
            visibility: c.send_visibility,
            poll_wait: c.poll_wait.max(SEND_POLL_WAIT),
            batch: if c.send_min_gap.is_zero() && c.send_jitter.is_zero() {
                UNPACED_BATCH
            } else {
                1
            },
        }
    }
}

/// The send worker of one session.
pub struct SendWorker {
    session: SessionId,
    queue_name: String,
    store: Arc<dyn Store>,
    queue: Arc<dyn Queue>,
    /// Where a batch's writes go together.
    batch: Arc<dyn WriteBatch>,
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
            batch: Arc::new(OneByOne::new(store.clone(), queue.clone())),
            store,
            queue,
            link,
            config,
            shutdown,
            last_send: None,
        }
    }

    /// Writes each batch's steps through `batch` (by default, the store's and the queue's own
    /// calls).
    #[must_use]
    pub fn with_batch(mut self, batch: Arc<dyn WriteBatch>) -> Self {
        self.batch = batch;
        self
    }

    fn connection(&self) -> Option<Arc<dyn Connection>> {
        self.link.borrow().clone()
    }

    /// Loops [`Self::try_step`] until shutdown: waits for the session to open, backs off
    /// after errors. The send in flight when shutdown comes is finished.
    #[tracing::instrument(name = "send_worker", skip_all, fields(session_id = %self.session))]
    pub async fn run(mut self) {
        tracing::debug!("send worker started");
        while !self.shutdown.is_cancelled() {
            match self.try_step().await {
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

    /// Takes up to [`WorkerConfig::batch`] jobs from the queue and sees them through. Store
    /// and queue errors are returned; the messages then come back after their visibility
    /// timeout.
    pub async fn try_step(&mut self) -> anyhow::Result<Outcome> {
        if self.shutdown.is_cancelled() || self.connection().is_none() {
            return Ok(Outcome::NotReady);
        }
        // A stop or the session closing ends a long wait at once. The receive is dropped then;
        // a message it had just taken returns after its visibility timeout.
        let received = tokio::select! {
            r = self.queue.receive(
                &self.queue_name,
                self.config.batch.max(1),
                self.config.visibility,
                self.config.poll_wait,
            ) => r?,
            () = self.shutdown.cancelled() => return Ok(Outcome::NotReady),
            () = closed(self.link.clone()) => return Ok(Outcome::NotReady),
        };
        if received.is_empty() {
            self.gauge.empty();
            return Ok(Outcome::Empty);
        }
        if self.shutdown.is_cancelled() || self.connection().is_none() {
            for msg in &received {
                self.give_back(msg).await;
            }
            return Ok(Outcome::NotReady);
        }
        self.process(received).await
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

    /// Sees a batch through. The jobs are loaded together, marked `sending` (and the stale
    /// messages acked) in one batch of writes, sent one by one in queue order (paced), and
    /// settled in one batch of writes: each job's event, its state and its ack (or its retry),
    /// and the unsent jobs put back in line. A crash before that last batch sends the batch's
    /// jobs again under the same WhatsApp ids.
    async fn process(&mut self, msgs: Vec<QueueMessage>) -> anyhow::Result<Outcome> {
        let ids: Vec<JobId> = msgs
            .iter()
            .map(|msg| JobId::from_string(msg.body.trim()))
            .collect();
        let loaded = self.store.get_jobs(&ids).await?;
        let mut live = Vec::with_capacity(msgs.len());
        let mut stale = Vec::new();
        for (msg, job) in msgs.into_iter().zip(loaded) {
            match self.triage(job) {
                Some(job) => live.push((msg, job)),
                None => stale.push(msg),
            }
        }
        let attempts: Vec<u32> = live
            .iter()
            .map(|(_, job)| job.attempts.saturating_add(1))
            .collect();
        let mut marks: Vec<Vec<Write>> = live
            .iter()
            .zip(&attempts)
            .map(|((_, job), &attempts)| vec![job_write(job, JobState::Sending, attempts, None)])
            .collect();
        marks.extend(stale.iter().map(|msg| vec![self.ack_write(msg)]));
        let found = self.batch.apply(marks).await?;
        let Some((_, head)) = live.first() else {
            return Ok(Outcome::Processed);
        };
        self.gauge
            .took(self.queue.as_ref(), &self.queue_name, head.created_at)
            .await;
        let mut ready = Vec::with_capacity(live.len());
        let mut vanished = Vec::new();
        for (((msg, job), attempts), found) in live.into_iter().zip(attempts).zip(found) {
            if found {
                ready.push(Ready { msg, job, attempts });
            } else {
                tracing::warn!(job_id = %job.id, "job record vanished before the send; dropping it");
                vanished.push(vec![self.ack_write(&msg)]);
            }
        }
        if !vanished.is_empty() {
            self.batch.apply(vanished).await?;
        }

        let receipts: Vec<&str> = ready.iter().map(|r| r.msg.receipt.as_str()).collect();
        let mut sent: Vec<(Ready, Result<Done, SendError>)> = Vec::with_capacity(ready.len());
        let mut unsent: Vec<Ready> = Vec::new();
        // The recipients of this batch's jobs that will be retried: the jobs behind them in
        // their groups wait, as they would had they not come in the same batch.
        let mut retrying: HashSet<&str> = HashSet::new();
        let mut stopped = false;
        for r in &ready {
            if stopped || retrying.contains(r.job.to.as_str()) {
                unsent.push(r.clone());
                continue;
            }
            let Some(result) = self.send_one(r, &receipts).await else {
                stopped = true;
                unsent.push(r.clone());
                continue;
            };
            if matches!(&result, Err(SendError::Transient(_))) {
                retrying.insert(r.job.to.as_str());
            }
            sent.push((r.clone(), result));
        }

        let mut chains = Vec::with_capacity(sent.len() + unsent.len());
        let mut settled = Vec::with_capacity(sent.len());
        for (r, result) in sent {
            let (chain, outcome) = self.settlement(&r, result).await?;
            chains.push(chain);
            settled.push((r, outcome));
        }
        // Back in line as they were, not counted as attempts.
        chains.extend(unsent.iter().map(|r| {
            vec![
                job_write(
                    &r.job,
                    JobState::Queued,
                    r.job.attempts,
                    r.job.error.clone(),
                ),
                self.nack_write(&r.msg, Duration::ZERO),
            ]
        }));
        self.batch.apply(chains).await?;
        for (r, outcome) in &settled {
            self.report(r, outcome);
        }
        Ok(if stopped {
            Outcome::NotReady
        } else {
            Outcome::Processed
        })
    }

    /// The job a received message names, if it is still to be sent by this worker; the others
    /// are acked (a redelivery of a finished job, a job deleted, or another session's job).
    fn triage(&self, job: Option<Job>) -> Option<Job> {
        let Some(job) = job else {
            tracing::warn!("job record is gone; dropping its queue message");
            return None;
        };
        if job.state.is_final() {
            tracing::info!(job_id = %job.id, state = job.state.as_str(), "job already finished; acking the redelivery");
            return None;
        }
        if job.session_id != self.session {
            tracing::warn!(job_id = %job.id, job_session = %job.session_id, "job belongs to another session; dropping it");
            return None;
        }
        Some(job)
    }

    /// Paces and sends one job, holding the batch's messages meanwhile. `None` when shutdown
    /// came or the session closed first (nothing was sent).
    async fn send_one(&mut self, r: &Ready, held: &[&str]) -> Option<Result<Done, SendError>> {
        if !self.wait_turn(&r.job, held).await {
            return None;
        }
        let conn = self.connection()?;
        let job = &r.job;
        let span =
            tracing::info_span!("send", job_id = %job.id, request_id = job.request_id.as_deref());
        tracing::debug!(parent: &span, attempts = r.attempts, to = %job.to, kind = job.message.kind(), "sending");
        let result = match job.message.action() {
            Some(action) => self
                .holding(held, conn.act(&job.to, action, &job.wa_message_id))
                .instrument(span)
                .await
                .map(Done::Action),
            None => {
                if let Some(ms) = job.message.typing_ms {
                    self.holding(held, show_typing(conn.as_ref(), job, ms))
                        .await;
                }
                self.holding(held, conn.send(&job.to, &job.message, &job.wa_message_id))
                    .instrument(span)
                    .await
                    .map(Done::Sent)
            }
        };
        self.last_send = Some(Instant::now());
        Some(result)
    }

    /// Sleeps until this job may go, holding its message. False when shutdown came or the
    /// session closed first.
    async fn wait_turn(&self, job: &Job, held: &[&str]) -> bool {
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
        let wait = self.holding(held, tokio::time::sleep_until(until));
        tokio::select! {
            () = wait => true,
            () = self.shutdown.cancelled() => false,
            () = closed(self.link.clone()) => false,
        }
    }

    /// Runs `fut` while keeping the messages of receipts `held` hidden from other consumers,
    /// however long it takes.
    async fn holding<T>(&self, held: &[&str], fut: impl Future<Output = T>) -> T {
        let every = (self.config.visibility / 3).max(Duration::from_millis(100));
        let mut ticker = tokio::time::interval_at(Instant::now() + every, every);
        tokio::pin!(fut);
        loop {
            tokio::select! {
                out = &mut fut => return out,
                _ = ticker.tick() => {
                    for receipt in held {
                        if let Err(e) = self
                            .queue
                            .extend(&self.queue_name, receipt, self.config.visibility)
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
}

/// Resolves once the session's connection is gone (or its runner is).
async fn closed(mut link: LinkRx) {
    while link.borrow_and_update().is_some() {
        if link.changed().await.is_err() {
            return;
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
