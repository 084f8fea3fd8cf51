//! `/api/dev`: drives the simulated WhatsApp network (scan a QR, receive a message) for demos
//! and end-to-end tests. Mounted only when the simulated connector is in use.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;
use serde_json::json;
use wagate_core::Jid;
use wagate_core::simulator::{SimCommand, SimIncoming, SimMedia};

use super::body::Loose;
use super::send_command;
use crate::caller::Caller;
use crate::caller::load_session;
use crate::error::{ApiError, ApiResult};
use crate::extract::Json;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sessions/{id}/scan", post(scan))
        .route("/sessions/{id}/incoming", post(incoming))
        .route("/sessions/{id}/call", post(call))
        .route("/sessions/{id}/silence", post(silence))
        .route("/sessions/{id}/group", post(group))
}

/// A phone scans the session's current QR (or enters its pairing code).
async fn scan(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let s = load_session(&state, &caller, &id).await?;
    if s.qr.is_none() && s.pairing_code.is_none() {
        return Err(ApiError::conflict(
            "nothing_to_scan",
            format!(
                "session '{}' shows no QR or pairing code (status {})",
                s.id,
                s.status.as_str()
            ),
        ));
    }
    accepted(
        &state,
        SimCommand::SimScan {
            session_id: s.id.clone(),
        },
        json!({ "sessionId": s.id, "scanned": true }),
    )
    .await
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct IncomingBody {
    from: Loose,
    #[serde(default)]
    chat: Option<Loose>,
    #[serde(default)]
    text: Option<String>,
    /// Any kind of message, in the shape of `message_received`'s `content`.
    #[serde(default)]
    content: Option<wagate_core::InboundContent>,
    #[serde(default)]
    quoted_id: Option<String>,
    /// A reaction to, an edit of or the deletion of an earlier message.
    #[serde(default)]
    action: Option<wagate_core::InboundAction>,
    #[serde(default)]
    from_me: bool,
    #[serde(default)]
    push_name: Option<String>,
    /// The file of a media `content`: `{ data }` (base64) or `{ size }` (generated), and
    /// `fail` / `failTimes` to make its downloads fail.
    #[serde(default)]
    media: Option<SimMedia>,
}

/// Checks a simulated file: inline data within what the control queue carries, generated
/// sizes within reason, and only for media content.
fn check_media(media: &SimMedia, content: Option<&wagate_core::InboundContent>) -> ApiResult<()> {
    let bad = |m: String| Err(ApiError::bad_request("validation_error", m));
    if !matches!(content, Some(wagate_core::InboundContent::Media(_))) {
        return bad("media: only with a media content (content.kind = \"media\")".into());
    }
    match (&media.data, media.size) {
        (Some(_), Some(_)) => bad("media: data or size, not both".into()),
        (None, None) => bad("media: data (base64) or size (bytes) is required".into()),
        (Some(d), None) => {
            use base64::Engine as _;
            match base64::engine::general_purpose::STANDARD.decode(d) {
                Err(_) => bad("media.data: not base64".into()),
                Ok(b) if b.len() > SimMedia::MAX_DATA_BYTES => bad(format!(
                    "media.data: {} bytes is over {} (use size for larger files)",
                    b.len(),
                    SimMedia::MAX_DATA_BYTES
                )),
                Ok(_) => Ok(()),
            }
        }
        (None, Some(n)) if n > SimMedia::MAX_SIZE => {
            bad(format!("media.size: at most {} bytes", SimMedia::MAX_SIZE))
        }
        (None, Some(_)) => Ok(()),
    }
}

/// A message arrives for the session from `from` (in `chat`, if given).
async fn incoming(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<IncomingBody>,
) -> ApiResult<Response> {
    let s = load_session(&state, &caller, &id).await?;
    let from = Jid::parse_field(&body.from.0, "from")?;
    let chat = body
        .chat
        .as_ref()
        .map(|c| Jid::parse_field(&c.0, "chat"))
        .transpose()?;
    if body.text.is_none() && body.content.is_none() && body.action.is_none() {
        return Err(crate::error::ApiError::bad_request(
            "validation_error",
            "text, content or action: one is required",
        ));
    }
    if let Some(m) = &body.media {
        check_media(m, body.content.as_ref())?;
    }
    let incoming = SimIncoming {
        from: from.to_string(),
        chat: chat.map(|c| c.to_string()),
        text: body.text.unwrap_or_default(),
        content: body.content,
        quoted_id: body.quoted_id,
        action: body.action,
        from_me: body.from_me,
        push_name: body.push_name,
        media: body.media,
    };
    accepted(
        &state,
        SimCommand::SimIncoming {
            session_id: s.id.clone(),
            incoming: Box::new(incoming),
        },
        json!({ "sessionId": s.id, "injected": true }),
    )
    .await
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CallBody {
    from: Loose,
    #[serde(default)]
    video: bool,
    #[serde(default)]
    missed: bool,
}

/// Someone calls the session's account from `from` (`video`, or a `missed` call).
async fn call(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<CallBody>,
) -> ApiResult<Response> {
    let s = load_session(&state, &caller, &id).await?;
    let from = Jid::parse_field(&body.from.0, "from")?;
    accepted(
        &state,
        SimCommand::SimCall {
            session_id: s.id.clone(),
            from: from.to_string(),
            video: body.video,
            missed: body.missed,
        },
        json!({ "sessionId": s.id, "ringing": !body.missed }),
    )
    .await
}

/// The session's connection stops hearing from WhatsApp until it reconnects (a socket that
/// died without closing): what the watchdog (`SESSION_STALE_MS`) is for.
async fn silence(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let s = load_session(&state, &caller, &id).await?;
    accepted(
        &state,
        SimCommand::SimSilence {
            session_id: s.id.clone(),
        },
        json!({ "sessionId": s.id, "silent": true }),
    )
    .await
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GroupBody {
    group: Loose,
    action: String,
    #[serde(default)]
    participants: Vec<Loose>,
    #[serde(default)]
    subject: Option<String>,
    #[serde(default)]
    by: Option<Loose>,
}

/// A group the account is in changes (`action`: add, remove, promote, demote, subject).
async fn group(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<GroupBody>,
) -> ApiResult<Response> {
    let s = load_session(&state, &caller, &id).await?;
    let group = Jid::parse_field(&body.group.0, "group")?;
    if !matches!(group.kind(), wagate_core::JidKind::Group) {
        return Err(crate::error::ApiError::bad_request(
            "validation_error",
            "group: a group JID (…@g.us)",
        ));
    }
    let ok_action = match body.action.as_str() {
        "add" | "remove" | "promote" | "demote" => body.participants.len() <= 256,
        "subject" => body
            .subject
            .as_deref()
            .is_some_and(|s| !s.is_empty() && s.len() <= 100),
        _ => false,
    };
    if !ok_action {
        return Err(crate::error::ApiError::bad_request(
            "validation_error",
            "action: add, remove, promote or demote (with up to 256 participants), or subject (with a subject of 1 to 100 characters)",
        ));
    }
    let participants = body
        .participants
        .iter()
        .map(|p| Jid::parse_field(&p.0, "participants").map(|j| j.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    let by = body
        .by
        .as_ref()
        .map(|b| Jid::parse_field(&b.0, "by").map(|j| j.to_string()))
        .transpose()?;
    accepted(
        &state,
        SimCommand::SimGroup {
            session_id: s.id.clone(),
            group: group.to_string(),
            action: body.action,
            participants,
            subject: body.subject,
            by,
        },
        json!({ "sessionId": s.id, "changed": true }),
    )
    .await
}

/// Sends `cmd` to the host; answers 202 with `body`.
async fn accepted(
    state: &AppState,
    cmd: SimCommand,
    body: serde_json::Value,
) -> ApiResult<Response> {
    send_command(state, cmd).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(body)).into_response())
}
