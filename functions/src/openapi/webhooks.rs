//! The webhooks as OpenAPI `webhooks`: one entry per [`EventKind`] (the list is the enum's,
//! so a new kind cannot be missing), each a signed POST of `{ event, data, ts }`.

use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{ContentBuilder, PathItem, Paths, PathsBuilder, Required, ResponseBuilder};
use wagate_core::EventKind;

/// What `data` carries besides `id` (the session id).
fn describe(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Qr => "A QR code to link the session: `qr` (the payload to render).",
        EventKind::SessionOpen => {
            "The session is linked and connected: `status: \"open\"`, `jid`, `name`."
        }
        EventKind::SessionClosed => {
            "The session closed: `status: \"closed\" | \"logged_out\"`, `reason`."
        }
        EventKind::SessionStale => {
            "The session was open but heard nothing from WhatsApp past `SESSION_STALE_MS` (a \
             dead socket): `lastTrafficAt` (Unix ms), `silentForMs`; it is reconnected \
             (`session_closed`, then `session_open`)."
        }
        EventKind::MessageReceived => {
            "A message came in: `messageId`, `from`, `fromLid?`, `chat`, `isGroup`, \
             `participant?`, `pushName?`, `type`, `text`, `content`, `quotedId?`, `fromMe`, \
             `timestamp` (s), `message` (the typed content), `media?` (a signed download)."
        }
        EventKind::MessageSent => {
            "A queued send went out: `jobId`, `messageId` (WhatsApp's), `to`, `type`, \
             `status: \"sent\"`."
        }
        EventKind::MessageFailed => {
            "A queued send failed for good: `jobId`, `messageId`, `to`, `type`, \
             `status: \"failed\"`, `error`."
        }
        EventKind::MessageStatus => {
            "A sent message was delivered, read or played: `messageId`, `chat`, `from`, \
             `status: \"delivered\" | \"read\" | \"played\"`, `timestamp`."
        }
        EventKind::MessageReaction => {
            "Someone reacted: `messageId`, `targetId`, `emoji` (empty: taken back), `removed`, \
             `from`, `chat`, `isGroup`, `timestamp`."
        }
        EventKind::MessageEdited => {
            "Someone edited a message: `messageId`, `targetId`, `type`, `text`, `content`, \
             `from`, `chat`, `timestamp`."
        }
        EventKind::MessageRevoked => {
            "Someone deleted a message for everyone: `messageId`, `targetId`, `by`, `from`, \
             `chat`, `timestamp`."
        }
        EventKind::PollVote => {
            "A vote on a poll this session sent: `messageId`, `pollId`, `selectedOptions`, \
             `from`, `chat`, `timestamp`."
        }
        EventKind::Call => {
            "A call offer or a missed call: `callId`, `from`, `isVideo`, `isGroup`, \
             `status: \"offer\" | \"missed\"`, `rejected`, `timestamp`."
        }
        EventKind::GroupParticipants => {
            "Members changed: `groupId`, `action: \"add\" | \"remove\" | \"promote\" | \
             \"demote\" | \"modify\"`, `participants`, `by?`, `timestamp`."
        }
        EventKind::GroupUpdated => {
            "A group's subject, description or a setting changed: `groupId`, `subject` | \
             `description` | `setting` + `value`, `by?`, `timestamp`."
        }
        EventKind::ActionDone => {
            "An action job was carried out: `jobId`, `messageId`, `to`, `type` (the action), \
             `status: \"done\"`, `result`."
        }
        EventKind::ActionFailed => {
            "An action job failed for good: `jobId`, `messageId`, `to`, `type`, \
             `status: \"failed\"`, `error`."
        }
    }
}

fn header(name: &str, description: &str) -> utoipa::openapi::path::Parameter {
    optional_header(name, description, Required::True)
}

fn optional_header(
    name: &str,
    description: &str,
    required: Required,
) -> utoipa::openapi::path::Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Header)
        .required(required)
        .description(Some(description))
        .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
        .build()
}

/// The events of a job (a send or an action): they carry its request id.
fn is_job_event(kind: EventKind) -> bool {
    matches!(
        kind,
        EventKind::MessageSent
            | EventKind::MessageFailed
            | EventKind::ActionDone
            | EventKind::ActionFailed
    )
}

fn item(kind: EventKind) -> PathItem {
    let body = ObjectBuilder::new()
        .property(
            "event",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some([kind.as_str()])),
        )
        .required("event")
        .property(
            "data",
            ObjectBuilder::new()
                .schema_type(Type::Object)
                .description(Some(describe(kind)))
                .property("id", ObjectBuilder::new().schema_type(Type::String))
                .required("id"),
        )
        .required("data")
        .property(
            "ts",
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .description(Some("Unix milliseconds")),
        )
        .required("ts");
    let op = OperationBuilder::new()
        .summary(Some(kind.as_str()))
        .description(Some(describe(kind)))
        .parameter(optional_header(
            wagate_core::webhook::SIGNATURE_HEADER,
            "hex(HMAC-SHA256(raw body, the webhook's secret)); absent without a secret",
            Required::False,
        ))
        .parameter(header(
            wagate_core::webhook::EVENT_ID_HEADER,
            "The event's id: the same on every retry, so receivers drop repeats",
        ))
        .parameter(header(wagate_core::webhook::EVENT_HEADER, "The event name"));
    let op = if is_job_event(kind) {
        op.parameter(optional_header(
            wagate_core::webhook::REQUEST_ID_HEADER,
            "The `X-Request-Id` of the API call that accepted the job",
            Required::False,
        ))
    } else {
        op
    };
    let op = op
        .request_body(Some(
            RequestBodyBuilder::new()
                .content(
                    "application/json",
                    ContentBuilder::new().schema(Some(body)).build(),
                )
                .required(Some(Required::True))
                .build(),
        ))
        .response(
            "200",
            ResponseBuilder::new()
                .description("Any 2xx acknowledges; anything else is retried with backoff, then dead-lettered")
                .build(),
        )
        .build();
    PathItem::new(HttpMethod::Post, op)
}

/// Every event kind as a webhook entry, keyed by the event's name.
pub fn paths() -> Paths {
    EventKind::ALL
        .into_iter()
        .fold(PathsBuilder::new(), |b, kind| {
            b.path(kind.as_str(), item(kind))
        })
        .build()
}
