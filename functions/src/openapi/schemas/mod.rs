//! Schemas of the answers the handlers build as JSON values (a job, a session, an error):
//! written once here for the spec. The fuzzing gate (`scripts/fuzz-api.sh`) checks every
//! answer the server gives against them, so a handler that drifts from its schema fails CI.

#![allow(dead_code)]

use serde_json::Value;
use utoipa::ToSchema;

/// Every error: `{ "error": { "code", "message" } }`.
#[derive(Debug, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, ToSchema)]
pub struct ErrorDetail {
    /// A stable machine-readable code, e.g. `validation_error`, `session_not_found`,
    /// `rate_limited`, `quota_exceeded`.
    pub code: String,
    /// What went wrong, naming the field for a validation error.
    pub message: String,
}

/// A job: one queued message or action and where it stands.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct Job {
    /// The job id; also the WhatsApp message id of a message job.
    pub id: String,
    /// `queued`, `sending`, `sent`, `failed`, `cancelled`; `done` for an action carried out.
    pub status: String,
    pub session_id: String,
    /// The chat's JID.
    pub to: String,
    /// The message kind (`text`, `image`, …) or `action`.
    #[schema(rename = "type")]
    pub kind: String,
    pub wa_message_id: Option<String>,
    pub attempts: u32,
    /// Unix milliseconds.
    pub created_at: i64,
    pub updated_at: i64,
    pub error: Option<String>,
    pub sent_at: Option<i64>,
    /// An action's result once it is done (`messageId`, `groupId`, `inviteLink`,
    /// `participants`).
    pub result: Option<Value>,
    /// Present (true) when an `Idempotency-Key` repeated an earlier request.
    pub replayed: Option<bool>,
    /// Once the job is final and its event went to the dispatcher: the last attempt at its
    /// webhook.
    pub webhook: Option<JobWebhook>,
}

/// What a route that queues a job (a send or an action) answers.
#[derive(Debug, utoipa::IntoResponses)]
pub enum JobAnswers {
    #[response(status = 202, description = "Queued")]
    Queued(Job),
    #[response(status = 200, description = "With `?wait=N`: its outcome came in time")]
    Done(Job),
}

/// What a query route answers besides its answer (200): still pending, or nobody answered.
#[derive(Debug, utoipa::IntoResponses)]
pub enum QueryWaiting {
    #[response(
        status = 202,
        description = "Not answered yet: read it at `GET /api/queries/{queryId}`",
        headers(("Retry-After" = u32, description = "Seconds to wait before asking"))
    )]
    Pending(QueryPending),
    #[response(
        status = 502,
        description = "WhatsApp or the session's host did not answer"
    )]
    Unanswered(ErrorBody),
}

/// The last attempt at a job's webhook.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct JobWebhook {
    /// `message_sent`, `message_failed`, `action_done` or `action_failed`.
    pub event: String,
    /// Its `X-Webhook-Id`.
    pub event_id: String,
    /// `delivered`, `retrying`, `dead` (dead-lettered: replay it) or `dropped` (no webhook).
    pub outcome: String,
    pub attempts: u32,
    /// Unix milliseconds.
    pub at: i64,
    pub error: Option<String>,
}

/// `GET /health`.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct Health {
    /// `ok` or `degraded`.
    pub status: String,
    pub version: String,
    pub uptime_secs: u64,
    pub checks: HealthChecks,
    /// `null` when the store could not count them.
    pub sessions: Option<SessionCounts>,
    pub memory: Memory,
    /// 1, 5 and 15 minutes; `null` where the OS does not tell.
    pub load_average: Option<Vec<f64>>,
}

#[derive(Debug, ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct SessionCounts {
    pub total: u64,
    /// Sessions by status (`open`, `connecting`, `qr`, `closed`, …).
    pub by_status: std::collections::BTreeMap<String, u64>,
}

#[derive(Debug, ToSchema)]
pub struct HealthChecks {
    pub store: bool,
}

#[derive(Debug, ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct Memory {
    pub rss_bytes: Option<u64>,
}

/// `{ "status": "ok" }`.
#[derive(Debug, ToSchema)]
pub struct Status {
    pub status: String,
}

/// `GET /health/ready`.
#[derive(Debug, ToSchema)]
pub struct Ready {
    /// `ready` or `not_ready`.
    pub status: String,
    pub checks: ReadyChecks,
}

#[derive(Debug, ToSchema)]
pub struct ReadyChecks {
    pub store: bool,
    pub queue: bool,
}

/// `GET /ping`.
#[derive(Debug, ToSchema)]
pub struct Pong {
    pub pong: bool,
    pub message: String,
    /// Unix milliseconds.
    pub ts: i64,
}

/// `POST /api/media/uploads`.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct PresignedUpload {
    /// Send the file with this (`mediaKey` on `POST /api/messages/media`).
    pub media_key: String,
    pub upload_url: String,
    /// `PUT`.
    pub method: String,
    /// Headers the PUT must carry.
    pub headers: std::collections::BTreeMap<String, String>,
    /// Unix milliseconds.
    pub expires_at: i64,
    pub max_bytes: u64,
}

/// The embedded mode's direct upload, stored.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct StoredUpload {
    pub media_key: String,
    pub size: u64,
}

/// A received message's media object, with a signed download link.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct ReceivedMedia {
    pub session_id: String,
    pub message_id: String,
    /// `url`, `mimetype`, `fileName?`, `size`, … as in the `message_received` webhook.
    pub media: Value,
}

/// A received file the host is still fetching from WhatsApp.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct Downloading {
    pub session_id: String,
    pub message_id: String,
    /// `downloading`.
    pub status: String,
    pub message: String,
}

/// The multipart form of `POST /api/messages/media/file`.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct UploadForm {
    pub session_id: String,
    pub to: String,
    /// One or more files (any field name that carries a file).
    pub files: Vec<Vec<u8>>,
    /// A caption for every file, or `captions` (a JSON array or one per line) for each.
    pub caption: Option<String>,
    pub captions: Option<String>,
    /// `image`, `video`, `audio`, `document`, `sticker`; without it the bytes decide.
    pub media_type: Option<String>,
    /// Pause between the files, 0 to 10000 ms (default 1200).
    pub delay_ms: Option<String>,
    pub typing_ms: Option<String>,
    /// A text sent before the files.
    pub text: Option<String>,
}

/// The answer to a multipart upload.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct FilesAccepted {
    pub session_id: String,
    pub to: String,
    pub delay_ms: u64,
    pub queued: u64,
    pub failed: u64,
    /// Per file, in order: its job (with `index`, `fileName`) or its refusal (`index`,
    /// `fileName`, `status`, `error`).
    pub results: Vec<Value>,
}

mod actions;
mod sessions;

pub use actions::*;
pub use sessions::*;
