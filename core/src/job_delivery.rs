//! What became of a job's webhook: the dispatcher notes each attempt at a job's event
//! (`message_sent`, `message_failed`, `action_done`, `action_failed`) beside the job, so
//! `GET /api/jobs/:id` follows a message from its request to its delivery. Written with the
//! event's ack or retry through [`Store::put_delivery`]: on DynamoDB a record
//! (`delivery:<job>`, kept as long as action results), on SQLite a column of the job's row
//! (no table and indexes of its own to rewrite for every event dispatched).

use serde::{Deserialize, Serialize};

use crate::Event;
use crate::ports::{Store, Write};

/// How long a delivery note is kept.
pub const KEEP_MS: i64 = 30 * 24 * 3600 * 1000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobDelivery {
    /// The event delivered (`message_sent`, …) and its id (`X-Webhook-Id`).
    pub event: String,
    pub event_id: String,
    /// `delivered`, `retrying`, `dead` (dead-lettered: replay it) or `dropped` (no webhook).
    pub outcome: String,
    pub attempts: u32,
    /// Unix ms of this attempt.
    pub at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

pub fn key(job_id: &str) -> String {
    format!("delivery:{job_id}")
}

/// The job `event` belongs to, if it is a job's event.
pub fn job_of(event: &Event) -> Option<&str> {
    event.data.get("jobId").and_then(|v| v.as_str())
}

/// The note of an attempt at `event`, as a write; `None` for an event that is no job's.
pub fn write(
    event: &Event,
    outcome: &str,
    attempts: u32,
    error: Option<String>,
    now_ms: i64,
) -> Option<Write> {
    let job = job_of(event)?;
    let d = JobDelivery {
        event: event.kind.as_str().to_owned(),
        event_id: event.id.to_string(),
        outcome: outcome.to_owned(),
        attempts,
        at: now_ms,
        error,
    };
    Some(Write::Delivery {
        job_id: job.to_owned(),
        note: serde_json::to_string(&d).unwrap_or_default(),
        expires_at_ms: now_ms.saturating_add(KEEP_MS),
    })
}

/// The last noted attempt at the webhook of job `job_id`.
pub async fn load(store: &dyn Store, job_id: &str, now_ms: i64) -> Option<JobDelivery> {
    let raw = store.get_delivery(job_id, now_ms).await.ok()??;
    serde_json::from_str(&raw).ok()
}
