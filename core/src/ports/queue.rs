//! Durable queues: one FIFO queue per session for sends, a control queue for the session host,
//! an events queue for webhooks. Shaped after SQS so the cloud adapter is a thin mapping.

use std::time::Duration;

use async_trait::async_trait;

use super::PortResult;
use crate::{Job, SessionId};

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

    /// Longest message group id SQS takes.
    const MAX_GROUP: usize = 128;

    /// The message group of a send to `to` (a chat's JID). Order holds within a group and a
    /// message held back (in flight, or waiting out a retry's backoff) holds only its own
    /// group, so one recipient whose sends keep failing never delays the others.
    pub fn recipient_group(to: &str) -> String {
        // SQS takes up to 128 alphanumerics and punctuation; a JID is both, and anything
        // else (never seen from a parsed JID) is hashed into a stable id that is.
        if !to.is_empty() && to.len() <= MAX_GROUP && to.bytes().all(|b| b.is_ascii_graphic()) {
            to.to_owned()
        } else {
            use sha2::Digest;
            format!("h-{}", hex::encode(sha2::Sha256::digest(to.as_bytes())))
        }
    }
}

/// Puts `job` on its session's send queue, in its recipient's group (see
/// [`names::recipient_group`]). A missing queue (the session is gone) is `PortError::NotFound`.
pub async fn enqueue_send(queue: &dyn Queue, job: &Job, dedup_id: &str) -> PortResult<()> {
    queue
        .send_in_group(
            &names::send(&job.session_id),
            &names::recipient_group(job.to.as_str()),
            dedup_id,
            job.id.as_str(),
        )
        .await
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
    /// Strict order within a message group: while a message is in flight (or waiting out a
    /// delay after a `nack`), the ones behind it in its group are not delivered; other groups
    /// go on.
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
    /// Appends a message to `group` (see [`QueueKind::Fifo`]; standard queues ignore it). On a
    /// FIFO queue a second send with the same `dedup_id` while the first is still in the
    /// queue is a no-op (SQS also remembers an acked id until five minutes from the send; the
    /// embedded queue and moto forget it at the ack). Standard queues do not deduplicate and
    /// may deliver duplicates. Sending to a missing queue is `PortError::NotFound`.
    async fn send_in_group(
        &self,
        queue: &str,
        group: &str,
        dedup_id: &str,
        body: &str,
    ) -> PortResult<()>;
    /// Appends a message to the queue's one default group: strict order over the whole queue.
    async fn send(&self, queue: &str, dedup_id: &str, body: &str) -> PortResult<()> {
        self.send_in_group(queue, queue, dedup_id, body).await
    }
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
    /// The body of the oldest message still in the queue, where the queue can tell without
    /// receiving it (the embedded one; SQS cannot: `None`).
    async fn oldest(&self, _queue: &str) -> PortResult<Option<String>> {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::names::recipient_group;

    #[test]
    fn a_chats_jid_is_its_group_and_anything_sqs_refuses_is_hashed_stably() {
        assert_eq!(
            recipient_group("6281234567@s.whatsapp.net"),
            "6281234567@s.whatsapp.net"
        );
        for odd in ["", "a b", "ü@x", &"9".repeat(129)] {
            let g = recipient_group(odd);
            assert!(g.starts_with("h-") && g.len() == 66, "{odd:?} → {g}");
            assert!(g.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
            assert_eq!(g, recipient_group(odd), "stable");
        }
        assert_ne!(recipient_group("a b"), recipient_group("a  b"));
        assert_eq!(recipient_group(&"9".repeat(128)), "9".repeat(128));
    }
}
