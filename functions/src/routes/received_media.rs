//! The files of received media messages: `GET /api/sessions/:id/messages/:messageId/media`
//! (the session's key; downloads the file through the session's host when it is not stored
//! yet) and `GET /api/media/download` (no key: the URL's signature, as handed out in
//! `message_received`, is the grant; the embedded mode's stand-in for an S3 presigned GET).

use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;
use wagate_core::clock::now_ms;
use wagate_core::inbound_media::{
    LinkRefused, MediaRecord, MediaState, file_key, load_record, session_prefix,
};
use wagate_core::{HostCommand, SessionId};

use super::presigned::base_url;
use super::send_command;
use crate::caller::{Caller, load_session};
use crate::error::{ApiError, ApiResult};
use crate::extract::Query;
use crate::openapi::schemas;
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct MediaQuery {
    /// `json`: the media object with a download URL instead of the file.
    #[serde(default)]
    format: Option<String>,
}

/// `GET /api/sessions/:id/messages/:messageId/media`.
#[utoipa::path(get, path = "/{id}/messages/{messageId}/media", tag = "media",
    summary = "A received message's file",
    description = "The file itself, or with `?format=json` (or `Accept: application/json`) \
        its media object with a signed download link. 202 while the host is still downloading \
        it; in the cloud a large file answers with a redirect to S3.",
    params(("id" = String, Path, description = "Session id"),
        ("messageId" = String, Path, description = "The received message's id"), MediaQuery),
    responses(
        (status = 200, description = "The file, or its media object", content(
            (Vec<u8> = "application/octet-stream"),
            (schemas::ReceivedMedia = "application/json"))),
        (status = 202, description = "Downloading; ask again after `Retry-After`",
            body = schemas::Downloading),
        (status = 302, description = "Redirect to a presigned S3 URL"),
        (status = 502, description = "WhatsApp did not give the file", body = schemas::ErrorBody),
    ))]
pub async fn get_media(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, message_id)): Path<(String, String)>,
    Query(q): Query<MediaQuery>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let as_json = match q.format.as_deref() {
        None => headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.starts_with("application/json")),
        Some("json") => true,
        Some("file") => false,
        Some(other) => {
            return Err(ApiError::bad_request(
                "validation_error",
                format!("format: {other:?} is not json or file"),
            ));
        }
    };
    let s = load_session(&state, &caller, &id).await?;
    let mut record = find(&state, &s.id, &message_id).await?;
    if !stored(&state, &record).await? {
        record = download(&state, record).await?;
        if let MediaState::Failed { error } = &record.state {
            return Err(ApiError::new(
                StatusCode::BAD_GATEWAY,
                "media_download_failed",
                format!("WhatsApp did not give the file: {error}"),
            ));
        }
        if !stored(&state, &record).await? {
            return Ok((
                StatusCode::ACCEPTED,
                [(header::RETRY_AFTER, "2")],
                axum::Json(json!({
                    "sessionId": s.id,
                    "messageId": message_id,
                    "status": "downloading",
                    "message": "the session's host is downloading the file; ask again",
                })),
            )
                .into_response());
        }
    }
    let key = file_key(&s.id, &record.message_id);
    if as_json {
        let links = state.links.with_base(&base_url(&state, &headers));
        let link = links.link(state.blobs.as_ref(), &key, now_ms()).await?;
        return Ok(axum::Json(json!({
            "sessionId": s.id,
            "messageId": record.message_id,
            "media": record.event_json(Some(&link)),
        }))
        .into_response());
    }
    if let Some(signed) = state.blobs.presign_get(&key, state.links.ttl()).await? {
        // Past API Gateway's response limit: the client fetches it from S3 itself.
        return Ok(Redirect::to(&signed.url).into_response());
    }
    serve(&state, &key, &record).await
}

async fn find(state: &AppState, session: &SessionId, message_id: &str) -> ApiResult<MediaRecord> {
    load_record(state.blobs.as_ref(), session, message_id)
        .await?
        .ok_or_else(|| {
            ApiError::not_found(
                "media_not_found",
                format!(
                    "no received file is known for message {message_id:?} of this session (not \
                     a media message, INBOUND_MEDIA off, or past the media retention)"
                ),
            )
        })
}

async fn stored(state: &AppState, r: &MediaRecord) -> ApiResult<bool> {
    Ok(matches!(r.state, MediaState::Stored { .. })
        && state
            .blobs
            .size(&file_key(&r.session_id, &r.message_id))
            .await?
            .is_some())
}

/// Asks the session's host for the file and waits a while for its record to change.
async fn download(state: &AppState, before: MediaRecord) -> ApiResult<MediaRecord> {
    send_command(
        state,
        HostCommand::DownloadMedia {
            session_id: before.session_id.clone(),
            message_id: before.message_id.clone(),
        },
    )
    .await?;
    let deadline = tokio::time::Instant::now() + Duration::from_millis(state.config.media_wait_ms);
    while tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if let Some(now) =
            load_record(state.blobs.as_ref(), &before.session_id, &before.message_id).await?
            && (now.updated_at != before.updated_at || now.attempts != before.attempts)
        {
            return Ok(now);
        }
    }
    Ok(before)
}

/// The file itself, streamed from the blob store.
async fn serve(state: &AppState, key: &str, r: &MediaRecord) -> ApiResult<Response> {
    let Some((len, chunks)) = state.blobs.read_stream(key).await? else {
        return Err(ApiError::not_found(
            "media_not_found",
            "the file is no longer stored (past the media retention)",
        ));
    };
    let content_type = HeaderValue::from_str(&r.mimetype)
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
    let name = r
        .file_name
        .as_deref()
        .map(crate::media::safe_name)
        .unwrap_or_else(|| r.message_id.clone());
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_LENGTH, HeaderValue::from(len)),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        Body::from_stream(chunks),
    )
        .into_response())
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SignedQuery {
    key: String,
    expires: i64,
    sig: String,
}

/// `GET /api/media/download?key&expires&sig`.
#[utoipa::path(get, path = "/api/media/download", tag = "media",
    summary = "A received file by the signed link in its webhook",
    params(SignedQuery),
    responses((status = 200, description = "The file", body = Vec<u8>,
        content_type = "application/octet-stream")))]
pub async fn signed_download(
    State(state): State<AppState>,
    Query(q): Query<SignedQuery>,
) -> ApiResult<Response> {
    let refused = |why: LinkRefused| {
        let code = match why {
            LinkRefused::BadSignature => "invalid_media_url",
            LinkRefused::Expired => "media_url_expired",
        };
        ApiError::new(
            StatusCode::FORBIDDEN,
            code,
            format!(
                "{why}; GET /api/sessions/:id/messages/:messageId/media?format=json gives a new one"
            ),
        )
    };
    if let Err(why) = state
        .links
        .verify(state.blobs.as_ref(), &q.key, q.expires, &q.sig, now_ms())
        .await?
    {
        return Err(refused(why));
    }
    // Only received files are served, whatever was signed.
    let Some((session, message)) = q
        .key
        .strip_prefix("media/in/")
        .and_then(|rest| rest.split_once('/'))
        .and_then(|(s, rest)| Some((s, rest.strip_suffix("/file")?)))
    else {
        return Err(refused(LinkRefused::BadSignature));
    };
    let session = SessionId::parse(session).map_err(|_| refused(LinkRefused::BadSignature))?;
    if !q.key.starts_with(&session_prefix(&session)) {
        return Err(refused(LinkRefused::BadSignature));
    }
    let record = match load_record(state.blobs.as_ref(), &session, message).await? {
        Some(r) => r,
        None => {
            return Err(ApiError::not_found(
                "media_not_found",
                "the file is no longer stored (past the media retention)",
            ));
        }
    };
    serve(&state, &q.key, &record).await
}
