//! The account's status: `POST /api/status` posts a text, an image or a video to a list of
//! contacts (a send to `status@broadcast`, in that lane of the session's queue), `POST
//! /api/status/revoke` takes one back (an action in the same lane, so it follows its post).

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use wagate_core::{
    Action, MediaKind, MediaSource, MessageContent, OutboundMessage, StatusAudience,
    ValidationError, account_lane,
};

use super::body::{Loose, jid_list};
use crate::action::Acting;
use crate::caller::{Caller, load_session};
use crate::error::ApiResult;
use crate::extract::{Json, Query};
use crate::media::{self, PendingBlobs};
use crate::openapi::schemas;
use crate::send::{self, IdempotencyKey, Outgoing, WaitQuery};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(post_status))
        .routes(routes!(revoke))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct StatusBody {
    session_id: String,
    /// `text`, `image` or `video`; without it, `text` unless `url` or `mediaKey` is given
    /// (then `image`).
    #[serde(default, rename = "type")]
    kind: Option<String>,
    /// A text status's text (a media status's caption when `caption` is absent).
    #[serde(default)]
    text: Option<String>,
    /// An image or video status's media URL.
    #[serde(default, alias = "mediaUrl")]
    url: Option<String>,
    /// A presigned upload (`POST /api/media/uploads`) instead of `url`.
    #[serde(default)]
    media_key: Option<String>,
    #[serde(default)]
    caption: Option<String>,
    /// The contacts who see it: phone numbers or JIDs.
    recipients: Vec<Loose>,
    /// `#RRGGBB` or `#AARRGGBB`, a text status's background.
    #[serde(default)]
    background_color: Option<String>,
    /// A text status's font (0 to 255).
    #[serde(default)]
    #[schema(maximum = 255)]
    font: Option<u8>,
}

/// `#RRGGBB` (opaque) or `#AARRGGBB` as `0xAARRGGBB`.
pub fn argb(color: &str) -> Result<u32, ValidationError> {
    let hex = color.trim().trim_start_matches('#');
    let bad = || ValidationError::new("backgroundColor", "#RRGGBB or #AARRGGBB");
    let v = u32::from_str_radix(hex, 16).map_err(|_| bad())?;
    match hex.len() {
        6 => Ok(0xFF00_0000 | v),
        8 => Ok(v),
        _ => Err(bad()),
    }
}

fn content(b: &StatusBody) -> Result<MessageContent, ValidationError> {
    let kind = b
        .kind
        .as_deref()
        .map(str::trim)
        .map(str::to_ascii_lowercase);
    let media = match kind.as_deref() {
        None | Some("text") if b.url.is_none() && b.media_key.is_none() => {
            let text = b.text.clone().unwrap_or_default();
            return Ok(MessageContent::Text {
                text,
                mentions: Vec::new(),
            });
        }
        None | Some("image") => MediaKind::Image,
        Some("video") => MediaKind::Video,
        Some(other) => {
            return Err(ValidationError::new(
                "type",
                format!("'{other}' is not one of text, image, video"),
            ));
        }
    };
    let source = match (&b.url, &b.media_key) {
        (Some(url), None) => MediaSource::Url(url.trim().to_owned()),
        (None, Some(key)) => MediaSource::Blob {
            key: key.trim().to_owned(),
            size: 0,
        },
        _ => {
            return Err(ValidationError::new(
                "url",
                "an image or video status needs url or mediaKey (one of them)",
            ));
        }
    };
    Ok(MessageContent::Media {
        media,
        source,
        caption: b.caption.clone().or_else(|| b.text.clone()),
        file_name: None,
        mimetype: None,
        ptt: false,
        gif_playback: false,
    })
}

/// `POST /api/status { sessionId, type?, text?, url? | mediaKey?, caption?, recipients,
/// backgroundColor?, font? }`.
#[utoipa::path(post, path = "/", tag = "status",
    summary = "Post a text, image or video status to a list of contacts",
    params(WaitQuery, IdempotencyKey), request_body = StatusBody,
    responses(
        schemas::JobAnswers,
    ))]
async fn post_status(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Query(wait): Query<WaitQuery>,
    Json(b): Json<StatusBody>,
) -> ApiResult<Response> {
    let wait = wait.duration()?;
    let idem = send::idempotency_key(&headers)?;
    let session = load_session(&state, &caller, &b.session_id).await?;
    let mut message = OutboundMessage::new(content(&b)?);
    message.status = Some(StatusAudience {
        recipients: jid_list(&b.recipients, "recipients")?,
        background_argb: b.background_color.as_deref().map(argb).transpose()?,
        font: b.font,
    });
    message.validate()?;
    let mut pending = PendingBlobs::new(state.blobs.clone());
    media::materialize(&state, &caller, &mut message, false, &mut pending).await?;
    let accepted = send::accept(
        &state,
        &caller,
        &session,
        &account_lane(),
        Outgoing::paced_normally(message),
        idem.as_deref(),
        pending,
    )
    .await?;
    send::single_response(&state, accepted, wait).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = RevokeStatusBody)]
struct RevokeBody {
    session_id: String,
    /// The status's message id (the `id` of the job that posted it).
    message_id: String,
    /// The contacts it was posted to.
    recipients: Vec<Loose>,
}

/// `POST /api/status/revoke { sessionId, messageId, recipients }`.
#[utoipa::path(post, path = "/revoke", tag = "status", summary = "Take a status post back",
    params(WaitQuery, IdempotencyKey), request_body = RevokeBody,
    responses(
        schemas::JobAnswers,
    ))]
async fn revoke(acting: Acting, Json(b): Json<RevokeBody>) -> ApiResult<Response> {
    let action = Action::RevokeStatus {
        message_id: b.message_id.trim().to_owned(),
        recipients: jid_list(&b.recipients, "recipients")?,
    };
    acting.submit(&b.session_id, account_lane(), action).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colors_are_opaque_unless_they_say_otherwise() {
        assert_eq!(argb("#1E6E4F").unwrap(), 0xFF1E_6E4F);
        assert_eq!(argb("801E6E4F").unwrap(), 0x801E_6E4F);
        assert!(argb("#12345").is_err());
        assert!(argb("#GG0000").is_err());
    }
}
