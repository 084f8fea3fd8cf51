//! Message actions, presence and chats: `POST /api/messages/{react,edit,revoke,delete,pin,star,
//! read}`, `POST /api/presence`, `POST /api/chats/:change` and `GET /api/jobs/:id`. Each is an
//! action job on the session's queue in the chat's lane (`crate::action`), so a revoke never
//! overtakes the send it revokes.

use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use wagate_core::clock::now_ms;
use wagate_core::{
    Action, ChatChange, Jid, JobId, MessageRef, Typing, ValidationError, account_lane,
};

use super::body::Loose;
use crate::action::{self, Acting};
use crate::caller::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Query};
use crate::openapi::schemas;
use crate::send::{IdempotencyKey, WaitQuery};
use crate::state::AppState;

/// Routes under `/api/messages` (beside the sends).
pub fn message_actions() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(react))
        .routes(routes!(edit))
        .routes(routes!(revoke))
        .routes(routes!(delete))
        .routes(routes!(pin))
        .routes(routes!(star))
        .routes(routes!(read))
}

/// `/api/presence`, `/api/chats/:change`, `/api/jobs/:id`.
pub fn presence() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(set_presence))
}

pub fn chats() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(chat))
}

pub fn jobs() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(job))
}

/// The message an action is about: `{ sessionId, to, messageId, fromMe?, participant? }`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ActionTarget)]
struct Target {
    session_id: String,
    /// The chat the message is in.
    to: Loose,
    message_id: String,
    /// Whether this account sent the message (the default depends on the action).
    #[serde(default)]
    from_me: Option<bool>,
    /// In a group, who sent the message.
    #[serde(default)]
    participant: Option<Loose>,
}

impl Target {
    fn message(&self, from_me_default: bool) -> Result<MessageRef, ValidationError> {
        Ok(MessageRef {
            id: self.message_id.trim().to_owned(),
            from_me: self.from_me.unwrap_or(from_me_default),
            participant: self
                .participant
                .as_ref()
                .map(|p| Jid::parse_field(&p.0, "participant"))
                .transpose()?,
        })
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ReactBody {
    #[serde(flatten)]
    target: Target,
    /// Empty (or absent) removes this account's reaction.
    #[serde(default)]
    emoji: String,
}

/// `POST /api/messages/react { sessionId, to, messageId, emoji, fromMe?, participant? }`.
/// `fromMe` defaults to false: one mostly reacts to what others sent.
#[utoipa::path(post, path = "/react", tag = "actions", summary = "React to a message",
    description = "An empty (or absent) `emoji` removes this account's reaction. `fromMe` \
        defaults to false.",
    params(WaitQuery, IdempotencyKey), request_body = ReactBody,
    responses(
        schemas::JobAnswers,
    ))]
async fn react(acting: Acting, Json(b): Json<ReactBody>) -> ApiResult<Response> {
    let to = Jid::parse(&b.target.to.0)?;
    let action = Action::React {
        message: b.target.message(false)?,
        emoji: b.emoji.trim().to_owned(),
    };
    acting.submit(&b.target.session_id, to, action).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct EditBody {
    #[serde(flatten)]
    target: Target,
    text: String,
}

/// `POST /api/messages/edit { sessionId, to, messageId, text }`.
#[utoipa::path(post, path = "/edit", tag = "actions",
    summary = "Edit the text of a message this account sent",
    params(WaitQuery, IdempotencyKey), request_body = EditBody,
    responses(
        schemas::JobAnswers,
    ))]
async fn edit(acting: Acting, Json(b): Json<EditBody>) -> ApiResult<Response> {
    let to = Jid::parse(&b.target.to.0)?;
    let action = Action::Edit {
        message: b.target.message(true)?,
        text: b.text,
    };
    acting.submit(&b.target.session_id, to, action).await
}

/// `POST /api/messages/revoke { sessionId, to, messageId, fromMe?, participant? }` (also
/// `/delete`): delete for everyone.
#[utoipa::path(post, path = "/revoke", tag = "actions", summary = "Delete a message for everyone",
    description = "`fromMe` defaults to true; someone else's message (as a group admin) needs \
        `participant`.",
    params(WaitQuery, IdempotencyKey), request_body = Target,
    responses(
        schemas::JobAnswers,
    ))]
async fn revoke(acting: Acting, Json(b): Json<Target>) -> ApiResult<Response> {
    let to = Jid::parse(&b.to.0)?;
    let message = b.message(true)?;
    if !message.from_me && message.participant.is_none() {
        return Err(ValidationError::new(
            "participant",
            "needed to delete someone else's message (as a group admin)",
        )
        .into());
    }
    let action = Action::Revoke { message };
    acting.submit(&b.session_id, to, action).await
}

/// `POST /api/messages/delete`: the same as `/revoke`.
#[utoipa::path(post, path = "/delete", tag = "actions",
    summary = "Delete a message for everyone (the same as /revoke)",
    params(WaitQuery, IdempotencyKey), request_body = Target,
    responses(
        schemas::JobAnswers,
    ))]
async fn delete(acting: Acting, body: Json<Target>) -> ApiResult<Response> {
    revoke(acting, body).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct PinBody {
    #[serde(flatten)]
    target: Target,
    /// `false` unpins.
    #[serde(default = "yes")]
    pin: bool,
    /// How long to pin it for: 86400 (24 h), 604800 (7 days, the default) or 2592000
    /// (30 days).
    #[serde(default)]
    duration_secs: Option<u32>,
}

fn yes() -> bool {
    true
}

/// `POST /api/messages/pin { sessionId, to, messageId, pin?, durationSecs? }` (7 days by
/// default; `pin: false` unpins).
#[utoipa::path(post, path = "/pin", tag = "actions", summary = "Pin or unpin a message",
    description = "Pinned for `durationSecs` (24 h, 7 days or 30 days; 7 days by default); \
        `pin: false` unpins.",
    params(WaitQuery, IdempotencyKey), request_body = PinBody,
    responses(
        schemas::JobAnswers,
    ))]
async fn pin(acting: Acting, Json(b): Json<PinBody>) -> ApiResult<Response> {
    let to = Jid::parse(&b.target.to.0)?;
    let action = Action::Pin {
        message: b.target.message(true)?,
        pin: b.pin,
        duration_secs: if b.pin {
            b.duration_secs.unwrap_or(604_800)
        } else {
            0
        },
    };
    acting.submit(&b.target.session_id, to, action).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct StarBody {
    #[serde(flatten)]
    target: Target,
    /// `false` unstars.
    #[serde(default = "yes")]
    star: bool,
}

/// `POST /api/messages/star { sessionId, to, messageId, star?, fromMe?, participant? }`.
#[utoipa::path(post, path = "/star", tag = "actions", summary = "Star or unstar a message",
    params(WaitQuery, IdempotencyKey), request_body = StarBody,
    responses(
        schemas::JobAnswers,
    ))]
async fn star(acting: Acting, Json(b): Json<StarBody>) -> ApiResult<Response> {
    let to = Jid::parse(&b.target.to.0)?;
    let action = Action::Star {
        message: b.target.message(true)?,
        star: b.star,
    };
    acting.submit(&b.target.session_id, to, action).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ReadBody {
    session_id: String,
    /// The chat the messages are in.
    to: Loose,
    /// 1 to 100 message ids.
    #[schema(min_items = 1, max_items = 100)]
    message_ids: Vec<String>,
    /// In a group, who sent the messages.
    #[serde(default)]
    participant: Option<Loose>,
    /// Mark voice notes played.
    #[serde(default)]
    played: bool,
}

/// `POST /api/messages/read { sessionId, to, messageIds, participant?, played? }`: blue ticks
/// for received messages (`played` for voice notes).
#[utoipa::path(post, path = "/read", tag = "actions",
    summary = "Mark received messages read (blue ticks), or voice notes played",
    params(WaitQuery, IdempotencyKey), request_body = ReadBody,
    responses(
        schemas::JobAnswers,
    ))]
async fn read(acting: Acting, Json(b): Json<ReadBody>) -> ApiResult<Response> {
    let to = Jid::parse(&b.to.0)?;
    let action = Action::Read {
        message_ids: b.message_ids.iter().map(|i| i.trim().to_owned()).collect(),
        participant: b
            .participant
            .as_ref()
            .map(|p| Jid::parse_field(&p.0, "participant"))
            .transpose()?,
        played: b.played,
    };
    acting.submit(&b.session_id, to, action).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct PresenceBody {
    session_id: String,
    /// `available` (or `online`), `unavailable` (`offline`) for the account; `composing`
    /// (`typing`), `recording`, `paused` in the chat `to`.
    state: String,
    /// The chat to show typing or recording in.
    #[serde(default)]
    to: Option<Loose>,
}

/// `POST /api/presence { sessionId, state, to? }`: `available` / `unavailable` for the
/// account, `composing` / `recording` / `paused` in the chat `to`.
#[utoipa::path(post, path = "/", tag = "actions",
    summary = "Set the account's presence, or show typing or recording in a chat",
    description = "`state`: `available` / `unavailable` for the account; `composing` / \
        `recording` / `paused` in the chat `to` (then required).",
    params(WaitQuery, IdempotencyKey), request_body = PresenceBody,
    responses(
        schemas::JobAnswers,
    ))]
async fn set_presence(acting: Acting, Json(b): Json<PresenceBody>) -> ApiResult<Response> {
    let typing = |t| -> ApiResult<(Jid, Action)> {
        let to = b
            .to
            .as_ref()
            .ok_or_else(|| ApiError::from(ValidationError::new("to", "the chat to show it in")))?;
        Ok((Jid::parse(&to.0)?, Action::Typing { state: t }))
    };
    let (to, action) = match b.state.trim().to_ascii_lowercase().as_str() {
        "available" | "online" => (account_lane(), Action::Presence { available: true }),
        "unavailable" | "offline" => (account_lane(), Action::Presence { available: false }),
        "composing" | "typing" => typing(Typing::Composing)?,
        "recording" => typing(Typing::Recording)?,
        "paused" => typing(Typing::Paused)?,
        other => {
            return Err(ValidationError::new(
                "state",
                format!(
                    "'{other}' is not one of available, unavailable, composing, recording, paused"
                ),
            )
            .into());
        }
    };
    acting.submit(&b.session_id, to, action).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ChatBody {
    session_id: String,
    /// The chat to change.
    chat: Loose,
    /// For `mute`: how long, 1 second to a year; absent mutes for ever.
    #[serde(default)]
    duration_secs: Option<u64>,
}

/// `POST /api/chats/:change { sessionId, chat, durationSecs? }`, `change` one of archive,
/// unarchive, pin, unpin, mute, unmute, read, unread, delete.
#[utoipa::path(post, path = "/{change}", tag = "actions",
    summary = "Archive, pin, mute, mark read or unread, or delete a chat",
    description = "`durationSecs` applies to `mute` only. Any other `change` is 404.",
    params(
        ("change" = inline(schemas::ChatChangeName), Path, description = "What to do to the chat"),
        WaitQuery,
        IdempotencyKey),
    request_body = ChatBody,
    responses(
        schemas::JobAnswers,
    ))]
async fn chat(
    acting: Acting,
    Path(change): Path<String>,
    Json(b): Json<ChatBody>,
) -> ApiResult<Response> {
    let change = match change.as_str() {
        "archive" => ChatChange::Archive,
        "unarchive" => ChatChange::Unarchive,
        "pin" => ChatChange::Pin,
        "unpin" => ChatChange::Unpin,
        "mute" => ChatChange::Mute {
            until_ms: b.duration_secs.map(mute_until).transpose()?,
        },
        "unmute" => ChatChange::Unmute,
        "read" => ChatChange::MarkRead,
        "unread" => ChatChange::MarkUnread,
        "delete" => ChatChange::Delete,
        _ => {
            return Err(ApiError::not_found(
                "route_not_found",
                "chat changes: archive, unarchive, pin, unpin, mute, unmute, read, unread, delete",
            ));
        }
    };
    let to = Jid::parse_field(&b.chat.0, "chat")?;
    acting
        .submit(&b.session_id, to, Action::Chat { change })
        .await
}

/// When a mute of `secs` ends (ms), refusing durations past a year.
fn mute_until(secs: u64) -> ApiResult<i64> {
    let ms = i64::try_from(secs)
        .ok()
        .and_then(|s| s.checked_mul(1000))
        .filter(|ms| (1..=wagate_core::MAX_MUTE_MS).contains(ms))
        .ok_or_else(|| {
            ValidationError::new("durationSecs", "1 second to a year; leave it out for ever")
        })?;
    Ok(now_ms().saturating_add(ms))
}

/// `GET /api/jobs/:id[?wait=N]`: any job, a send or an action, with an action's result.
#[utoipa::path(get, path = "/{id}", tag = "messages",
    summary = "Any job's state, a send or an action, with an action's result",
    description = "With `?wait=N`, answered once the job is final or after N seconds.",
    params(("id" = String, Path, description = "The job id a send or an action answered"),
        WaitQuery),
    responses((status = 200, description = "The job", body = schemas::Job)))]
async fn job(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(wait): Query<WaitQuery>,
) -> ApiResult<axum::Json<serde_json::Value>> {
    let wait = wait.duration()?;
    let not_found = || ApiError::not_found("job_not_found", format!("job '{id}' not found"));
    let job = state.store.get_job(&JobId::from_string(id.clone())).await?;
    let job = job
        .filter(|j| caller.is_admin() || j.owner == caller.key_id)
        .ok_or_else(not_found)?;
    let job = match wait {
        Some(w) => crate::send::wait_for_final(&state, job, w).await?,
        None => job,
    };
    Ok(axum::Json(action::job_body(&state, &job).await?))
}
