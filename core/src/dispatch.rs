//! The webhook dispatcher: events queue → signed POST → ack, retry or dead letter. Shared by
//! `wagate local` (its `run` loop) and the webhooks Lambda (its `handle`, once per SQS record).
//!
//! Each event goes to the session's own webhook, else the default webhook admins set at
//! runtime (config key `defaultWebhook`), else the default from the environment; with none of
//! them it is dropped. A failed delivery is retried with exponential backoff through the
//! queue's visibility; after `max_attempts` deliveries the event becomes a dead letter that an
//! admin can replay.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use futures::future::join_all;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::clock::now_ms;
use crate::ports::{
    DeadLetter, OneByOne, PortResult, Queue, QueueMessage, QueueSpec, Store, Write, WriteBatch,
    names,
};
use crate::webhook::{self, Target};
use crate::{Event, EventFilter, Session, SessionId, random_token};
use crate::{job_delivery, measure};

/// The runtime config key holding the default webhook (`{ "url", "secret"? }`).
pub const DEFAULT_WEBHOOK_KEY: &str = "defaultWebhook";

/// Dispatcher settings.
#[derive(Clone, PartialEq, Eq)]
pub struct DispatchConfig {
    /// Used when neither the session nor the runtime config names a webhook
    /// (`WEBHOOK_DEFAULT_URL`, `WEBHOOK_DEFAULT_SECRET`).
    pub default_target: Option<Target>,
    /// Deliveries before an event is dead-lettered (`WEBHOOK_MAX_ATTEMPTS`).
    pub max_attempts: u32,
    /// Deliveries in flight at once in [`Dispatcher::run`].
    pub concurrency: usize,
    /// Timeout of one webhook request.
    pub request_timeout: Duration,
    /// How long a received event stays hidden; longer than a request can take.
    pub visibility: Duration,
    /// How long one receive waits for an event.
    pub poll_wait: Duration,
}

impl fmt::Debug for DispatchConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DispatchConfig")
            .field("default_target", &self.default_target)
            .field("max_attempts", &self.max_attempts)
            .field("concurrency", &self.concurrency)
            .field("request_timeout", &self.request_timeout)
            .finish_non_exhaustive()
    }
}

impl Default for DispatchConfig {
    fn default() -> Self {
        Self {
            default_target: None,
            max_attempts: 8,
            concurrency: 16,
            request_timeout: Duration::from_secs(10),
            visibility: Duration::from_secs(60),
            poll_wait: Duration::from_secs(1),
        }
    }
}

/// What [`Dispatcher::handle`] did with one queue message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Delivered (2xx) and acked.
    Delivered,
    /// Failed; handed back to the queue to be tried again after `delay`.
    Retry { delay: Duration },
    /// Given up (attempts exhausted, or the message is not an event) and stored as a dead
    /// letter.
    DeadLettered,
    /// No webhook is configured for it; acked and dropped.
    Dropped,
}

/// The default webhook as admins store it at runtime.
#[derive(Deserialize)]
struct WebhookSetting {
    url: String,
    #[serde(default)]
    secret: Option<String>,
}

/// Delivers queued events to webhooks.
#[derive(Debug)]
pub struct Dispatcher {
    store: Arc<dyn Store>,
    queue: Arc<dyn Queue>,
    client: reqwest::Client,
    config: DispatchConfig,
    /// Where every event also goes as it is first received (the live channel).
    tap: Option<tokio::sync::broadcast::Sender<Event>>,
    /// Where a batch's notes and acks go together.
    batch: Arc<dyn WriteBatch>,
}

impl Dispatcher {
    /// A dispatcher reading targets from `store` and events from `queue`.
    pub fn new(store: Arc<dyn Store>, queue: Arc<dyn Queue>, config: DispatchConfig) -> Self {
        Self {
            client: webhook::client(config.request_timeout),
            batch: Arc::new(OneByOne::new(store.clone(), queue.clone())),
            store,
            queue,
            config,
            tap: None,
        }
    }

    /// Also hands every event, on its first receipt, to `tap` (whoever listens; a listener
    /// too slow to keep up misses events rather than slowing deliveries).
    pub fn with_tap(mut self, tap: tokio::sync::broadcast::Sender<Event>) -> Self {
        self.tap = Some(tap);
        self
    }

    /// Writes each batch's notes and acks through `batch` (by default, the store's and the
    /// queue's own calls).
    #[must_use]
    pub fn with_batch(mut self, batch: Arc<dyn WriteBatch>) -> Self {
        self.batch = batch;
        self
    }

    /// Delivers one received event and settles its queue message (ack, or nack with backoff).
    /// Never panics, whatever the message holds.
    pub async fn handle(&self, msg: &QueueMessage) -> Outcome {
        self.handle_batch(std::slice::from_ref(msg))
            .await
            .pop()
            .unwrap_or(Outcome::Dropped)
    }

    /// Delivers received events side by side, then settles them together: their delivery
    /// notes, acks, retries and dead letters in one batch of writes. Each session's webhook
    /// and the runtime default are read once per batch. Never panics, whatever the messages
    /// hold; the outcomes are in the order of `msgs`.
    pub async fn handle_batch(&self, msgs: &[QueueMessage]) -> Vec<Outcome> {
        let mut targets = Targets::default();
        let mut plans = Vec::with_capacity(msgs.len());
        for msg in msgs {
            plans.push(self.plan(msg, &mut targets).await);
        }
        let settled = join_all(plans.into_iter().zip(msgs).map(|(plan, msg)| async move {
            match plan {
                Plan::Deliver(event, target) => self.deliver(msg, &event, &target).await,
                Plan::Done(outcome, writes) => (outcome, writes),
            }
        }))
        .await;
        let (outcomes, chains): (Vec<Outcome>, Vec<Vec<Write>>) = settled.into_iter().unzip();
        self.settle(chains).await;
        outcomes
    }

    /// What to do with one received message: deliver it, or what became of it without a
    /// delivery (malformed, no webhook, the webhook not readable now).
    async fn plan(&self, msg: &QueueMessage, targets: &mut Targets) -> Plan {
        let event: Event = match serde_json::from_str(&msg.body) {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(error = %e, "events queue holds something that is not an event");
                let id = format!(
                    "malformed_{}",
                    &hex::encode(Sha256::digest(&msg.body))[..20]
                );
                let writes = dead_letter(msg, id, String::new(), format!("malformed event: {e}"));
                return Plan::Done(Outcome::DeadLettered, writes);
            }
        };
        if let Some(tap) = &self.tap
            && msg.receive_count <= 1
        {
            // No listener is not an error.
            let _ = tap.send(event.clone());
        }
        match self.target(&event, targets).await {
            Ok(Some(t)) => Plan::Deliver(event, t),
            Ok(None) => {
                tracing::debug!(session_id = %event.session_id, event_id = %event.id, "no webhook configured; event dropped");
                measure::webhook("dropped", None);
                let mut writes = note(&event, "dropped", msg, None);
                writes.push(ack(msg));
                Plan::Done(Outcome::Dropped, writes)
            }
            Err(e) => {
                tracing::warn!(session_id = %event.session_id, error = %e, "could not resolve the webhook; retrying");
                let (outcome, writes) = retry(msg);
                Plan::Done(outcome, writes)
            }
        }
    }

    /// Delivers one event; what became of it, and the writes that record it.
    async fn deliver(
        &self,
        msg: &QueueMessage,
        event: &Event,
        target: &Target,
    ) -> (Outcome, Vec<Write>) {
        let started = std::time::Instant::now();
        match webhook::deliver(&self.client, target, event).await {
            Ok(()) => {
                measure::webhook("delivered", Some(started.elapsed()));
                tracing::info!(session_id = %event.session_id, event_id = %event.id, event = event.kind.as_str(), "webhook delivered");
                let mut writes = note(event, "delivered", msg, None);
                writes.push(ack(msg));
                (Outcome::Delivered, writes)
            }
            Err(e) if msg.receive_count >= self.config.max_attempts => {
                tracing::warn!(session_id = %event.session_id, event_id = %event.id, error = %e, attempts = msg.receive_count, "webhook delivery gave up");
                measure::webhook("dead", None);
                let mut writes = note(event, "dead", msg, Some(e.to_string()));
                writes.extend(dead_letter(
                    msg,
                    event.id.to_string(),
                    event.session_id.to_string(),
                    e.to_string(),
                ));
                (Outcome::DeadLettered, writes)
            }
            Err(e) => {
                tracing::info!(session_id = %event.session_id, event_id = %event.id, error = %e, attempts = msg.receive_count, "webhook delivery failed; will retry");
                measure::webhook("retry", None);
                let mut writes = note(event, "retrying", msg, Some(e.to_string()));
                let (outcome, nack) = retry(msg);
                writes.extend(nack);
                (outcome, writes)
            }
        }
    }

    /// Applies the batch's writes together. If that fails, each event's writes are tried
    /// alone; an event whose writes fail again comes back after its visibility timeout and is
    /// delivered again (same `X-Webhook-Id`).
    async fn settle(&self, chains: Vec<Vec<Write>>) {
        let Err(e) = self.batch.apply(chains.clone()).await else {
            return;
        };
        if chains.len() == 1 {
            tracing::warn!(error = %e, "could not settle an event; it comes back after its visibility timeout");
            return;
        }
        tracing::warn!(error = %e, events = chains.len(), "could not settle a batch of events; settling them one by one");
        for chain in chains {
            if let Err(e) = self.batch.apply(vec![chain]).await {
                tracing::warn!(error = %e, "could not settle an event; it comes back after its visibility timeout");
            }
        }
    }

    /// Consumes the events queue until `shutdown` resolves, with up to `concurrency`
    /// deliveries in flight (each receive's events delivered side by side and settled
    /// together); deliveries under way when it resolves are finished.
    pub async fn run(self: Arc<Self>, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        self.queue
            .create(names::EVENTS, QueueSpec::STANDARD)
            .await
            .context("creating the events queue")?;
        tokio::pin!(shutdown);
        let mut inflight: JoinSet<()> = JoinSet::new();
        let concurrency = self.config.concurrency.clamp(1, Semaphore::MAX_PERMITS);
        let slots = Arc::new(Semaphore::new(concurrency));
        tracing::info!(concurrency, "webhook dispatcher started");
        loop {
            while inflight.try_join_next().is_some() {}
            let room = slots.available_permits();
            if room == 0 {
                tokio::select! {
                    () = &mut shutdown => break,
                    _ = inflight.join_next() => continue,
                }
            }
            let received = tokio::select! {
                () = &mut shutdown => break,
                r = self.queue.receive(
                    names::EVENTS,
                    room,
                    self.config.visibility,
                    self.config.poll_wait,
                ) => r,
            };
            match received {
                Ok(msgs) if msgs.is_empty() => {}
                Ok(msgs) => {
                    // Nothing else takes slots, so the `room` free ones are still free.
                    let n = u32::try_from(msgs.len().min(room)).unwrap_or(u32::MAX);
                    let held = slots.clone().try_acquire_many_owned(n).ok();
                    let me = self.clone();
                    inflight.spawn(async move {
                        me.handle_batch(&msgs).await;
                        drop(held);
                    });
                }
                Err(e) => {
                    tracing::warn!(error = %e, "events queue receive failed; retrying in 1 s");
                    tokio::select! {
                        () = &mut shutdown => break,
                        () = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                }
            }
        }
        while inflight.join_next().await.is_some() {}
        tracing::info!("webhook dispatcher stopped");
        Ok(())
    }

    /// Where the event goes: the session's webhook, the runtime default, the configured
    /// default, or nowhere.
    /// An event the session's filter (`enabled`, `events`) leaves out goes nowhere.
    async fn target(&self, event: &Event, read: &mut Targets) -> PortResult<Option<Target>> {
        let session = match read.sessions.get(&event.session_id) {
            Some(s) => s.clone(),
            None => {
                let s = self.store.get_session(&event.session_id).await?;
                read.sessions.insert(event.session_id.clone(), s.clone());
                s
            }
        };
        let allowed = match &session {
            Some(s) => s.events.allows_event(event),
            None => EventFilter::default().allows_event(event),
        };
        if !allowed {
            return Ok(None);
        }
        if let Some(s) = session
            && let Some(url) = s.webhook_url.filter(|u| !u.trim().is_empty())
        {
            return Ok(Some(Target {
                url,
                secret: s.webhook_secret,
            }));
        }
        if read.default.is_none() {
            read.default = Some(self.runtime_default().await?);
        }
        Ok(read
            .default
            .clone()
            .flatten()
            .or_else(|| self.config.default_target.clone()))
    }

    /// The default webhook admins set at runtime, if any.
    async fn runtime_default(&self) -> PortResult<Option<Target>> {
        let Some(v) = self.store.get_config(DEFAULT_WEBHOOK_KEY).await? else {
            return Ok(None);
        };
        match serde_json::from_value::<WebhookSetting>(v) {
            Ok(w) if !w.url.trim().is_empty() => Ok(Some(Target {
                url: w.url,
                secret: w.secret.filter(|s| !s.is_empty()),
            })),
            Ok(_) => Ok(None),
            Err(e) => {
                tracing::warn!(error = %e, "ignoring a malformed defaultWebhook setting");
                Ok(None)
            }
        }
    }
}

/// What the dispatcher read of the webhooks while handling one batch.
#[derive(Default)]
struct Targets {
    sessions: HashMap<SessionId, Option<Session>>,
    /// The runtime default, once read.
    default: Option<Option<Target>>,
}

/// What to do with a received message.
enum Plan {
    Deliver(Event, Target),
    /// Nothing to deliver: its outcome and the writes that record it.
    Done(Outcome, Vec<Write>),
}

/// The note of what became of a job's event beside the job (see `job_delivery`); none for
/// other events.
fn note(event: &Event, outcome: &str, msg: &QueueMessage, error: Option<String>) -> Vec<Write> {
    job_delivery::write(event, outcome, msg.receive_count, error, now_ms())
        .into_iter()
        .collect()
}

fn ack(msg: &QueueMessage) -> Write {
    Write::Ack {
        queue: names::EVENTS.to_owned(),
        receipt: msg.receipt.clone(),
    }
}

/// Hands the event back, to be delivered again after its backoff.
fn retry(msg: &QueueMessage) -> (Outcome, Vec<Write>) {
    let delay = crate::backoff::backoff(msg.receive_count);
    let nack = Write::Nack {
        queue: names::EVENTS.to_owned(),
        receipt: msg.receipt.clone(),
        delay,
    };
    (Outcome::Retry { delay }, vec![nack])
}

/// Stores the message as a dead letter, then acks it.
fn dead_letter(
    msg: &QueueMessage,
    id: String,
    session_id: String,
    last_error: String,
) -> Vec<Write> {
    vec![
        Write::DeadLetter(DeadLetter {
            id,
            session_id,
            body: msg.body.clone(),
            attempts: msg.receive_count,
            last_error,
            failed_at: now_ms(),
        }),
        ack(msg),
    ]
}

/// Puts a dead letter's event back on the events queue (with a fresh dedup id, so a recent
/// delivery of the same event does not swallow it). Returns false when there is no such dead
/// letter.
pub async fn replay(store: &dyn Store, queue: &dyn Queue, id: &str) -> PortResult<bool> {
    let Some(dl) = store.take_dead_letter(id).await? else {
        return Ok(false);
    };
    let dedup = format!("replay_{}", random_token(20));
    if let Err(e) = queue.send(names::EVENTS, &dedup, &dl.body).await {
        // Keep it listed rather than lose it.
        if let Err(put) = store.put_dead_letter(&dl).await {
            tracing::error!(dead_letter = %dl.id, error = %put, "replay failed and the dead letter could not be restored");
        }
        return Err(e);
    }
    tracing::info!(dead_letter = %dl.id, session_id = %dl.session_id, "dead letter replayed");
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_config_tries_eight_times_sixteen_at_once() {
        let c = DispatchConfig::default();
        assert_eq!(c.max_attempts, 8);
        assert_eq!(c.concurrency, 16);
        assert!(c.default_target.is_none());
    }
}
