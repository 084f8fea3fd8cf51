//! Message actions, presence and chats: `POST /api/messages/{react,edit,revoke,delete,pin,star,
//! read}`, `POST /api/presence`, `POST /api/chats/:change` and `GET /api/jobs/:id`. Each is an
//! action job on the session's queue in the chat's lane (`crate::action`), so a revoke never
//! overtakes the send it revokes.

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use wagate_core::clock::now_ms;
use wagate_core::{
    Action, ChatChange, Jid, JobId, MessageRef, Typing, ValidationError, account_lane,
};

use super::body::Loose;
use crate::action::{self, Acting};
use crate::caller::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Query};
use crate::send::WaitQuery;
use crate::state::AppState;

/// Routes under `/api/messages` (beside the sends).
pub fn message_actions() -> Router<AppState> {
    Router::new()
        .route("/react", post(react))
        .route("/edit", post(edit))
        .route("/revoke", post(revoke))
        .route("/delete", post(revoke))
        .route("/pin", post(pin))
        .route("/star", post(star))
        .route("/read", post(read))
}

/// `/api/presence`, `/api/chats/:change`, `/api/jobs/:id`.
pub fn presence() -> Router<AppState> {
    Router::new().route("/", post(set_presence))
}

pub fn chats() -> Router<AppState> {
    Router::new().route("/{change}", post(chat))
}

pub fn jobs() -> Router<AppState> {
    Router::new().route("/{id}", get(job))
}

/// The message an action is about: `{ sessionId, to, messageId, fromMe?, participant? }`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Target {
    session_id: String,
    to: Loose,
    message_id: String,
    #[serde(default)]
    from_me: Option<bool>,
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

#[derive(Debug, Deserialize)]
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
async fn react(acting: Acting, Json(b): Json<ReactBody>) -> ApiResult<Response> {
    let to = Jid::parse(&b.target.to.0)?;
    let action = Action::React {
        message: b.target.message(false)?,
        emoji: b.emoji.trim().to_owned(),
    };
    acting.submit(&b.target.session_id, to, action).await
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EditBody {
    #[serde(flatten)]
    target: Target,
    text: String,
}

/// `POST /api/messages/edit { sessionId, to, messageId, text }`.
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

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PinBody {
    #[serde(flatten)]
    target: Target,
    #[serde(default = "yes")]
    pin: bool,
    #[serde(default)]
    duration_secs: Option<u32>,
}

fn yes() -> bool {
    true
}

/// `POST /api/messages/pin { sessionId, to, messageId, pin?, durationSecs? }` (7 days by
/// default; `pin: false` unpins).
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

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StarBody {
    #[serde(flatten)]
    target: Target,
    #[serde(default = "yes")]
    star: bool,
}

/// `POST /api/messages/star { sessionId, to, messageId, star?, fromMe?, participant? }`.
async fn star(acting: Acting, Json(b): Json<StarBody>) -> ApiResult<Response> {
    let to = Jid::parse(&b.target.to.0)?;
    let action = Action::Star {
        message: b.target.message(true)?,
        star: b.star,
    };
    acting.submit(&b.target.session_id, to, action).await
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReadBody {
    session_id: String,
    to: Loose,
    message_ids: Vec<String>,
    #[serde(default)]
    participant: Option<Loose>,
    #[serde(default)]
    played: bool,
}

/// `POST /api/messages/read { sessionId, to, messageIds, participant?, played? }`: blue ticks
/// for received messages (`played` for voice notes).
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

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PresenceBody {
    session_id: String,
    state: String,
    #[serde(default)]
    to: Option<Loose>,
}

/// `POST /api/presence { sessionId, state, to? }`: `available` / `unavailable` for the
/// account, `composing` / `recording` / `paused` in the chat `to`.
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

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChatBody {
    session_id: String,
    chat: Loose,
    /// For `mute`: how long; absent mutes for ever.
    #[serde(default)]
    duration_secs: Option<u64>,
}

/// `POST /api/chats/:change { sessionId, chat, durationSecs? }`, `change` one of archive,
/// unarchive, pin, unpin, mute, unmute, read, unread, delete.
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
