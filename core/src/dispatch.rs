//! The webhook dispatcher: events queue → signed POST → ack, retry or dead letter. Shared by
//! `wagate local` (its `run` loop) and the webhooks Lambda (its `handle`, once per SQS record).
//!
//! Each event goes to the session's own webhook, else the default webhook admins set at
//! runtime (config key `defaultWebhook`), else the default from the environment; with none of
//! them it is dropped. A failed delivery is retried with exponential backoff through the
//! queue's visibility; after `max_attempts` deliveries the event becomes a dead letter that an
//! admin can replay.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tokio::task::JoinSet;

use crate::clock::now_ms;
use crate::ports::{DeadLetter, PortResult, Queue, QueueMessage, QueueSpec, Store, names};
use crate::webhook::{self, Target};
use crate::{Event, EventFilter, random_token};
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
}

impl Dispatcher {
    /// A dispatcher reading targets from `store` and events from `queue`.
    pub fn new(store: Arc<dyn Store>, queue: Arc<dyn Queue>, config: DispatchConfig) -> Self {
        Self {
            client: webhook::client(config.request_timeout),
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

    /// Delivers one received event and settles its queue message (ack, or nack with backoff).
    /// Never panics, whatever the message holds.
    pub async fn handle(&self, msg: &QueueMessage) -> Outcome {
        let event: Event = match serde_json::from_str(&msg.body) {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(error = %e, "events queue holds something that is not an event");
                let id = format!(
                    "malformed_{}",
                    &hex::encode(Sha256::digest(&msg.body))[..20]
                );
                return self
                    .dead_letter(msg, id, String::new(), format!("malformed event: {e}"))
                    .await;
            }
        };
        if let Some(tap) = &self.tap
            && msg.receive_count <= 1
        {
            // No listener is not an error.
            let _ = tap.send(event.clone());
        }
        let target = match self.target(&event).await {
            Ok(Some(t)) => t,
            Ok(None) => {
                tracing::debug!(session_id = %event.session_id, event_id = %event.id, "no webhook configured; event dropped");
                measure::webhook("dropped", None);
                self.note(&event, "dropped", msg, None).await;
                self.ack(msg).await;
                return Outcome::Dropped;
            }
            Err(e) => {
                tracing::warn!(session_id = %event.session_id, error = %e, "could not resolve the webhook; retrying");
                return self.retry(msg).await;
            }
        };
        let started = std::time::Instant::now();
        match webhook::deliver(&self.client, &target, &event).await {
            Ok(()) => {
                measure::webhook("delivered", Some(started.elapsed()));
                self.note(&event, "delivered", msg, None).await;
                tracing::info!(session_id = %event.session_id, event_id = %event.id, event = event.kind.as_str(), "webhook delivered");
                self.ack(msg).await;
                Outcome::Delivered
            }
            Err(e) if msg.receive_count >= self.config.max_attempts => {
                tracing::warn!(session_id = %event.session_id, event_id = %event.id, error = %e, attempts = msg.receive_count, "webhook delivery gave up");
                measure::webhook("dead", None);
                self.note(&event, "dead", msg, Some(e.to_string())).await;
                self.dead_letter(
                    msg,
                    event.id.to_string(),
                    event.session_id.to_string(),
                    e.to_string(),
                )
                .await
            }
            Err(e) => {
                tracing::info!(session_id = %event.session_id, event_id = %event.id, error = %e, attempts = msg.receive_count, "webhook delivery failed; will retry");
                measure::webhook("retry", None);
                self.note(&event, "retrying", msg, Some(e.to_string()))
                    .await;
                self.retry(msg).await
            }
        }
    }

    /// Consumes the events queue until `shutdown` resolves, with up to `concurrency`
    /// deliveries in flight; deliveries under way when it resolves are finished.
    pub async fn run(self: Arc<Self>, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        self.queue
            .create(names::EVENTS, QueueSpec::STANDARD)
            .await
            .context("creating the events queue")?;
        tokio::pin!(shutdown);
        let mut inflight: JoinSet<Outcome> = JoinSet::new();
        let concurrency = self.config.concurrency.max(1);
        tracing::info!(concurrency, "webhook dispatcher started");
        loop {
            while inflight.try_join_next().is_some() {}
            let room = concurrency.saturating_sub(inflight.len());
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
                    room.min(10),
                    self.config.visibility,
                    self.config.poll_wait,
                ) => r,
            };
            match received {
                Ok(msgs) => {
                    for msg in msgs {
                        let me = self.clone();
                        inflight.spawn(async move { me.handle(&msg).await });
                    }
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
    async fn target(&self, event: &Event) -> PortResult<Option<Target>> {
        let session = self.store.get_session(&event.session_id).await?;
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
        if let Some(v) = self.store.get_config(DEFAULT_WEBHOOK_KEY).await? {
            match serde_json::from_value::<WebhookSetting>(v) {
                Ok(w) if !w.url.trim().is_empty() => {
                    return Ok(Some(Target {
                        url: w.url,
                        secret: w.secret.filter(|s| !s.is_empty()),
                    }));
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "ignoring a malformed defaultWebhook setting"),
            }
        }
        Ok(self.config.default_target.clone())
    }

    /// Notes what became of a job's event beside the job (see `job_delivery`).
    async fn note(&self, event: &Event, outcome: &str, msg: &QueueMessage, error: Option<String>) {
        let now = now_ms();
        let attempts = msg.receive_count;
        job_delivery::note(self.store.as_ref(), event, outcome, attempts, error, now).await;
    }

    async fn ack(&self, msg: &QueueMessage) {
        if let Err(e) = self.queue.ack(names::EVENTS, &msg.receipt).await {
            tracing::warn!(error = %e, "could not ack an event; it will be delivered again");
        }
    }

    async fn retry(&self, msg: &QueueMessage) -> Outcome {
        let delay = crate::backoff::backoff(msg.receive_count);
        if let Err(e) = self.queue.nack(names::EVENTS, &msg.receipt, delay).await {
            tracing::warn!(error = %e, "could not hand an event back; it returns after its visibility timeout");
        }
        Outcome::Retry { delay }
    }

    async fn dead_letter(
        &self,
        msg: &QueueMessage,
        id: String,
        session_id: String,
        last_error: String,
    ) -> Outcome {
        let dl = DeadLetter {
            id,
            session_id,
            body: msg.body.clone(),
            attempts: msg.receive_count,
            last_error,
            failed_at: now_ms(),
        };
        match self.store.put_dead_letter(&dl).await {
            Ok(()) => {
                self.ack(msg).await;
                Outcome::DeadLettered
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not store a dead letter; retrying the event");
                self.retry(msg).await
            }
        }
    }
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
