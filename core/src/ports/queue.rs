//! Durable queues: one FIFO queue per session for sends, a control queue for the session host,
//! an events queue for webhooks. Shaped after SQS so the cloud adapter is a thin mapping.

use std::time::Duration;

use async_trait::async_trait;

use super::PortResult;
use crate::SessionId;

/// Queue names used by wagate.
pub mod names {
    use crate::SessionId;

    /// Webhook events waiting for delivery.
    pub const EVENTS: &str = "events";
    /// Commands for the session host (start, stop, pairing code, simulated scan, …).
    pub const CONTROL: &str = "control";
    /// Sends that kept failing, parked for an admin to redrive (see `dead_sends`). Cannot
    /// clash with a send queue: those all start with `send-`.
    pub const DEAD_SENDS: &str = "dead-sends";

    /// The send queue of one session.
    pub fn send(session: &SessionId) -> String {
        format!("send-{session}")
    }
}

/// Creates the queues every process shares (control, events, dead sends) unless they exist.
/// Idempotent, so every process that needs them may call it at start.
pub async fn ensure_shared_queues(queue: &dyn Queue) -> PortResult<()> {
    queue.create(names::CONTROL, QueueSpec::FIFO).await?;
    queue.create(names::EVENTS, QueueSpec::STANDARD).await?;
    queue.create(names::DEAD_SENDS, QueueSpec::FIFO).await
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueKind {
    /// Strict order: while a message is in flight, the ones behind it are not delivered.
    Fifo,
    /// Any order, any number in flight.
    Standard,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueSpec {
    pub kind: QueueKind,
}

impl QueueSpec {
    pub const FIFO: Self = Self {
        kind: QueueKind::Fifo,
    };
    pub const STANDARD: Self = Self {
        kind: QueueKind::Standard,
    };

    pub fn for_session(_: &SessionId) -> Self {
        Self::FIFO
    }
}

/// A received message. It stays in the queue, invisible, until acked; if not acked before
/// its visibility timeout it is delivered again with `receive_count + 1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueMessage {
    pub body: String,
    /// Handle for `ack`/`nack`; valid for this delivery only.
    pub receipt: String,
    /// 1 on first delivery.
    pub receive_count: u32,
}

#[async_trait]
pub trait Queue: std::fmt::Debug + Send + Sync + 'static {
    /// Creates the queue if it does not exist (idempotent).
    async fn create(&self, queue: &str, spec: QueueSpec) -> PortResult<()>;
    /// Deletes the queue and everything in it (idempotent).
    async fn delete(&self, queue: &str) -> PortResult<()>;
    /// Appends a message. On a FIFO queue a second send with the same `dedup_id` while the
    /// first is still in the queue is a no-op (the embedded queue also remembers acked ids for
    /// five minutes; SQS counts five minutes from the send). Standard queues may deliver
    /// duplicates. Sending to a missing queue is `PortError::NotFound`.
    async fn send(&self, queue: &str, dedup_id: &str, body: &str) -> PortResult<()>;
    /// Up to `max` visible messages, hidden for `visibility`. Waits up to `wait` for one to
    /// arrive when the queue is empty (long polling).
    async fn receive(
        &self,
        queue: &str,
        max: usize,
        visibility: Duration,
        wait: Duration,
    ) -> PortResult<Vec<QueueMessage>>;
    /// Removes a received message for good. With a stale receipt (the message was delivered
    /// again since) the embedded queue does nothing; SQS may still delete it.
    async fn ack(&self, queue: &str, receipt: &str) -> PortResult<()>;
    /// Makes a received message visible again after `delay` (a retry with backoff).
    async fn nack(&self, queue: &str, receipt: &str, delay: Duration) -> PortResult<()>;
    /// Keeps a received message hidden for `visibility` more (a send still in flight).
    async fn extend(&self, queue: &str, receipt: &str, visibility: Duration) -> PortResult<()>;
    /// Messages in the queue, visible or not.
    async fn depth(&self, queue: &str) -> PortResult<u64>;
}
