//! Answers of the session, webhook, admin and query routes.

#![allow(dead_code)]

use serde_json::Value;
use utoipa::ToSchema;

use super::Job;

/// A session's connection status.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum SessionStatus {
    Connecting,
    /// Waiting for its QR code to be scanned.
    Qr,
    Open,
    Closed,
    LoggedOut,
}

/// What happens to a session's received media: `auto` (stored before the webhook goes),
/// `on-request` (downloaded when asked for), `off`.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "kebab-case")]
pub enum InboundMedia {
    Auto,
    OnRequest,
    Off,
}

/// An event name as webhooks carry it (`message_received`, …), or `*` for every event.
#[derive(Debug)]
pub struct EventName;

impl utoipa::PartialSchema for EventName {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        let names = wagate_core::EventKind::ALL
            .iter()
            .map(|k| k.as_str())
            .chain(["*"]);
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(names))
            .description(Some("An event name, or `*` for every event"))
            .into()
    }
}

impl ToSchema for EventName {}

/// The WhatsApp account a session is linked to.
#[derive(Debug, ToSchema)]
pub struct SessionAccount {
    /// The account's JID.
    pub jid: String,
    /// Its display name, when WhatsApp tells it.
    pub name: Option<String>,
}

/// A session as the API shows it: never its webhook secret or its proxy's password.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct Session {
    pub id: String,
    pub status: SessionStatus,
    /// The QR payload to render while `status` is `qr`.
    pub qr: Option<String>,
    /// The code to type on the phone, once one was asked for.
    pub pairing_code: Option<String>,
    /// The linked account, once there is one.
    pub account: Option<SessionAccount>,
    pub webhook_url: Option<String>,
    pub has_webhook_secret: bool,
    /// `http(s)://[user@]host:port`, without the password.
    pub proxy: Option<String>,
    /// `false` while deliveries are stopped for the session.
    pub webhook_enabled: bool,
    /// The events delivered (`["*"]`: all of them).
    pub events: Vec<EventName>,
    /// Messages the account sends from its other devices are delivered too.
    pub own_messages: bool,
    /// `null`: the host's `INBOUND_MEDIA`.
    pub inbound_media: Option<InboundMedia>,
    /// Decline incoming calls; `null`: the host's `REJECT_CALLS`.
    pub reject_calls: Option<bool>,
    /// Unix milliseconds.
    pub created_at: i64,
    pub updated_at: i64,
    /// `GET /api/sessions/{id}` only: why and when the connection last dropped (`null`:
    /// never, or over 30 days ago).
    pub last_disconnect: Option<LastDisconnect>,
    /// `GET /api/sessions/{id}` only: how many times the connection dropped and was
    /// reconnected (a number that keeps rising is a reconnect loop).
    pub reconnects: Option<u64>,
    /// `GET /api/sessions/{id}` only: jobs waiting in the session's send queue (`null` when
    /// the queue service did not answer).
    pub queue_depth: Option<u64>,
    /// `GET /api/sessions/{id}` only: when the oldest job still in the queue was accepted
    /// (Unix ms; `null` when the queue is empty, or on SQS, which cannot tell: see the
    /// `wagate_queue_oldest_age_seconds` metric).
    pub oldest_queued_at: Option<i64>,
}

/// Why and when a session's connection last dropped.
#[derive(Debug, ToSchema)]
pub struct LastDisconnect {
    /// `closed` (the connection ended), `stale` (open but silent: the watchdog reconnected
    /// it) or `logged_out`.
    pub cause: String,
    pub reason: String,
    /// Unix milliseconds.
    pub at: i64,
}

/// A page of sessions.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct SessionPage {
    /// How many are on this page.
    pub count: u64,
    pub sessions: Vec<Session>,
    /// The `cursor` of the next page; `null` on the last one.
    pub next_cursor: Option<String>,
}

/// A deleted session: `{ id, deleted: true }`.
#[derive(Debug, ToSchema)]
pub struct SessionDeleted {
    pub id: String,
    pub deleted: bool,
}

/// `GET /api/sessions/{id}/qr` as JSON.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct SessionQr {
    pub session_id: String,
    pub status: SessionStatus,
    /// The QR payload; `null` when the session shows none.
    pub qr: Option<String>,
}

/// `GET /api/sessions/{id}/status`.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct SessionState {
    pub session_id: String,
    pub status: SessionStatus,
    pub account: Option<SessionAccount>,
}

/// The pairing code, come in time.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct PairingCode {
    pub session_id: String,
    /// Type it on the phone (Linked devices → Link with phone number).
    pub pairing_code: String,
}

/// A command for the session's host, accepted: `{ sessionId, status }`.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct SessionCommand {
    pub session_id: String,
    /// `pending` (a pairing code not there yet), `logging_out` or `starting`.
    pub status: String,
}

/// `POST /api/webhooks/configure`: the session's webhook and filter as they now are, or
/// (without `sessionId`) the default webhook.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct WebhookConfig {
    /// The session; absent for the default webhook.
    pub session_id: Option<String>,
    /// `true`: the default webhook was set.
    pub default: Option<bool>,
    /// `null`: the session's events go to the default webhook.
    pub webhook_url: Option<String>,
    pub has_webhook_secret: bool,
    /// The session's filter (absent for the default webhook).
    pub enabled: Option<bool>,
    pub own_messages: Option<bool>,
    pub events: Option<Vec<EventName>>,
    /// `null`: the host's `INBOUND_MEDIA`.
    pub inbound_media: Option<InboundMedia>,
    /// `null`: the host's `REJECT_CALLS`.
    pub reject_calls: Option<bool>,
}

/// Requests per key per window.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct RateLimit {
    pub window_ms: i64,
    pub max: u64,
}

/// Sends per key per window; `limit` 0 is no limit.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct Quota {
    pub limit: u64,
    pub window_ms: i64,
}

/// The default webhook as the settings show it.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct DefaultWebhookView {
    pub url: String,
    pub has_secret: bool,
}

/// `GET /api/admin/config`: the settings in force (the store's over the environment's).
#[derive(Debug, ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct AdminConfig {
    pub rate_limit: RateLimit,
    pub quota: Quota,
    /// The least time between two sends to one recipient; 0 is off.
    pub cooldown_ms: i64,
    /// The most sessions a user key may hold.
    pub sessions_per_key: u64,
    /// `null` when none is set.
    pub default_webhook: Option<DefaultWebhookView>,
}

/// A rate limit to set.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct RateLimitSetting {
    /// 1 s to 30 days.
    #[schema(minimum = 1000, maximum = 2592000000_i64)]
    pub window_ms: i64,
    #[schema(minimum = 1, maximum = 1000000000)]
    pub max: u64,
}

/// A quota to set.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct QuotaSetting {
    /// 0 (no limit) to 1e9.
    #[schema(minimum = 0, maximum = 1000000000)]
    pub limit: u64,
    /// 1 s to 30 days.
    #[schema(minimum = 1000, maximum = 2592000000_i64)]
    pub window_ms: i64,
}

/// The default webhook to set: where the events of sessions without a webhook of their own
/// go.
#[derive(Debug, ToSchema)]
pub struct DefaultWebhookSetting {
    /// An `http(s)` URL.
    pub url: String,
    /// Signs each delivery (`X-Wagate-Signature`).
    pub secret: Option<String>,
}

/// `POST /api/admin/config`: one or more settings; all are checked before any is stored.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "camelCase", min_properties = 1)]
pub struct ConfigChange {
    #[schema(required = false)]
    pub rate_limit: RateLimitSetting,
    #[schema(required = false)]
    pub quota: QuotaSetting,
    /// The least time between two sends to one recipient: 0 (off) to 30 days.
    #[schema(required = false, minimum = 0, maximum = 2592000000_i64)]
    pub cooldown_ms: i64,
    /// The most sessions a user key may hold: 1 to 100000.
    #[schema(required = false, minimum = 1, maximum = 100000)]
    pub sessions_per_key: u64,
    #[schema(required = false)]
    pub default_webhook: DefaultWebhookSetting,
}

/// The default webhook: `{ webhookUrl, hasWebhookSecret }`.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct DefaultWebhook {
    /// `null` when none is set.
    pub webhook_url: Option<String>,
    pub has_webhook_secret: bool,
}

/// What an API key may do: `admin` everything, `user` only its own sessions.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum KeyRole {
    Admin,
    User,
}

/// An API key as listed: never its secret.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct ApiKeyView {
    /// The key's id (not the key).
    pub id: String,
    pub role: KeyRole,
    pub label: String,
    /// Unix milliseconds.
    pub created_at: i64,
}

/// A page of API keys.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct KeyPage {
    /// How many are on this page.
    pub count: u64,
    pub keys: Vec<ApiKeyView>,
    /// The `cursor` of the next page; `null` on the last one.
    pub next_cursor: Option<String>,
}

/// A new API key: the only answer that shows the key itself.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct NewApiKey {
    pub id: String,
    pub role: KeyRole,
    pub label: String,
    pub created_at: i64,
    /// The key to send as `X-API-Key`; shown this once.
    pub key: String,
}

/// A deleted API key: `{ id, deleted: true }`.
#[derive(Debug, ToSchema)]
pub struct KeyDeleted {
    pub id: String,
    pub deleted: bool,
}

/// An event whose webhook deliveries all failed.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct DeadLetter {
    /// The event id.
    pub id: String,
    pub session_id: String,
    /// The queued event, as JSON text.
    pub body: String,
    pub attempts: u32,
    pub last_error: String,
    /// Unix milliseconds.
    pub failed_at: i64,
}

/// A page of dead letters, oldest first.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct DeadLetterPage {
    /// How many are on this page.
    pub count: u64,
    pub dead_letters: Vec<DeadLetter>,
    /// The `cursor` of the next page; `null` on the last one.
    pub next_cursor: Option<String>,
}

/// A dead letter put back on the events queue: `{ id, replayed: true }`.
#[derive(Debug, ToSchema)]
pub struct DeadLetterReplayed {
    pub id: String,
    pub replayed: bool,
}

/// A page of parked sends (their jobs), oldest first.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct DeadSendPage {
    /// How many are on this page.
    pub count: u64,
    pub jobs: Vec<Job>,
    /// The `cursor` of the next page; `null` on the last one.
    pub next_cursor: Option<String>,
    /// How many sends wait in the dead-sends queue.
    pub queued: u64,
}

/// What a redrive did.
#[derive(Debug, ToSchema)]
pub struct Redriven {
    /// Jobs put back on their session's queue.
    pub redriven: u64,
    /// Parked ids whose job or session no longer exists (removed from the queue).
    pub dropped: u64,
}

/// A query's answer: `queryId`, `sessionId`, `status: "done"`, and the answer's own fields
/// beside them (which depend on the question).
#[derive(Debug, ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct QueryAnswer {
    pub query_id: String,
    pub session_id: String,
    /// `done`.
    pub status: String,
    /// A number check's: one entry per number.
    pub results: Option<Value>,
    /// A contact's profile.
    pub profile: Option<Value>,
    /// A business profile.
    pub business: Option<Value>,
    /// The blocklist's JIDs.
    pub blocked: Option<Value>,
    /// The groups the account is in.
    pub groups: Option<Value>,
    /// A group (or, for an invite code, the group it is for).
    pub group: Option<Value>,
    pub invite_link: Option<Value>,
    /// Who asked to join a group.
    pub requests: Option<Value>,
}

/// How `GET /api/sessions/{id}/qr` answers: `json` or `svg` (an image).
#[derive(Debug, ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum QrFormat {
    Json,
    Svg,
}
