//! Presigned uploads, for media larger than an API request may carry (API Gateway stops at
//! 10 MB): `POST /api/media/uploads` hands out a `mediaKey` and a URL the client PUTs the
//! file to, then `POST /api/messages/media { mediaKey }` sends it. On S3 the URL is an S3
//! presigned PUT (the bytes never pass through a function); the embedded store cannot sign
//! URLs, so wagate serves `PUT /api/media/uploads/direct` itself, authorised by an HMAC over
//! the key, size and expiry instead of an API key. Keys live under the asking API key's
//! prefix, and only that key may send them.
//!
//! An upload URL is good for one upload. `direct` refuses a PUT once the blob exists or while
//! another PUT to the same key is under way; S3 cannot be told that, so a send never queues
//! the upload's key itself but a copy of the bytes it checked (see `crate::media`).

use std::collections::HashSet;
use std::sync::{LazyLock, Mutex, PoisonError};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde::Deserialize;
use serde_json::json;
use wagate_core::MediaKind;
use wagate_core::clock::now_ms;
use wagate_core::webhook;
use wagate_media::ingest::{human_bytes, kind_name};

use crate::caller::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Query};
use crate::media::{safe_name, uploads_prefix};
use crate::openapi::schemas;
use crate::state::AppState;

/// How long an upload URL works.
pub const UPLOAD_URL_TTL: Duration = Duration::from_secs(15 * 60);
pub const DIRECT_PATH: &str = "/api/media/uploads/direct";

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UploadRequest {
    #[serde(alias = "filename")]
    file_name: String,
    #[serde(alias = "mimetype", alias = "mimeType")]
    content_type: String,
    size: u64,
}

/// `POST /api/media/uploads`.
#[utoipa::path(post, path = "/media/uploads", tag = "media",
    summary = "A presigned upload URL for a large file",
    description = "PUT the file's bytes (exactly `size`) to `uploadUrl` with `headers`, then \
        send it with `mediaKey` (`POST /api/messages/media`).",
    request_body = UploadRequest,
    responses((status = 201, description = "Where to PUT the file", body = schemas::PresignedUpload)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Json(req): Json<UploadRequest>,
) -> ApiResult<Response> {
    let content_type = req.content_type.trim();
    if content_type.is_empty()
        || !content_type.contains('/')
        || header::HeaderValue::from_str(content_type).is_err()
    {
        return Err(ApiError::bad_request(
            "validation_error",
            "contentType: must be a MIME type such as image/jpeg",
        ));
    }
    if req.file_name.trim().is_empty() {
        return Err(ApiError::bad_request(
            "validation_error",
            "fileName: required",
        ));
    }
    let kind = MediaKind::from_mimetype(content_type);
    let limit = state.fetcher.config().max_bytes(kind);
    if req.size == 0 {
        return Err(ApiError::bad_request(
            "validation_error",
            "size: must be the file's size in bytes (at least 1)",
        ));
    }
    if req.size > limit {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "media_too_large",
            format!(
                "size: {} bytes is over the limit for {} ({})",
                req.size,
                kind_name(kind),
                human_bytes(limit)
            ),
        ));
    }
    let key = format!(
        "{}{}/{}",
        uploads_prefix(&caller),
        wagate_core::random_token(16),
        safe_name(&req.file_name)
    );
    let (url, put_headers, expires_at) = match state
        .blobs
        .presign_put(&key, content_type, UPLOAD_URL_TTL)
        .await?
    {
        Some(signed) => (signed.url, signed.headers, signed.expires_at_ms),
        None => {
            let expires = now_ms() + UPLOAD_URL_TTL.as_millis() as i64;
            let sig = signature(&state, &key, req.size, expires);
            let url = format!(
                "{}{DIRECT_PATH}?key={}&size={}&expires={expires}&sig={sig}",
                base_url(&state, &headers),
                url_escape(&key),
                req.size
            );
            (
                url,
                vec![("content-type".to_owned(), content_type.to_owned())],
                expires,
            )
        }
    };
    let headers_json: serde_json::Map<String, serde_json::Value> = put_headers
        .into_iter()
        .map(|(k, v)| (k, json!(v)))
        .collect();
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({
            "mediaKey": key,
            "uploadUrl": url,
            "method": "PUT",
            "headers": headers_json,
            "expiresAt": expires_at,
            "maxBytes": req.size,
        })),
    )
        .into_response())
}

fn signature(state: &AppState, key: &str, size: u64, expires: i64) -> String {
    webhook::sign(
        &state.upload_secret,
        format!("{key}\n{size}\n{expires}").as_bytes(),
    )
}

/// Blob keys are `[A-Za-z0-9._/-]`; only `/` needs no escaping in a query either.
fn url_escape(key: &str) -> String {
    key.replace('/', "%2F")
}

/// `PUBLIC_URL`, or what the request came to (`X-Forwarded-Proto` and `Host`).
pub(crate) fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(u) = &state.config.public_url {
        return u.clone();
    }
    let get = |h: &str| headers.get(h).and_then(|v| v.to_str().ok());
    let proto = get("x-forwarded-proto").unwrap_or("http");
    let host = get("host").unwrap_or("localhost");
    format!("{proto}://{host}")
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DirectQuery {
    key: String,
    size: u64,
    expires: i64,
    sig: String,
}

/// `PUT /api/media/uploads/direct?key&size&expires&sig`: the embedded mode's presigned PUT.
#[utoipa::path(put, path = "/api/media/uploads/direct", tag = "media",
    summary = "The embedded mode's presigned PUT (the URL `POST /api/media/uploads` gave)",
    params(DirectQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 200, description = "Stored", body = schemas::StoredUpload)))]
pub async fn direct(
    State(state): State<AppState>,
    Query(q): Query<DirectQuery>,
    req: Request,
) -> ApiResult<Response> {
    let expected = format!("{}\n{}\n{}", q.key, q.size, q.expires);
    if !webhook::verify(&state.upload_secret, expected.as_bytes(), &q.sig) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "upload_url_invalid",
            "this upload URL is not valid; ask POST /api/media/uploads for a new one",
        ));
    }
    if q.expires < now_ms() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "upload_url_expired",
            "this upload URL has expired; ask POST /api/media/uploads for a new one",
        ));
    }
    let Some(_claim) = Claim::take(&q.key) else {
        return Err(used());
    };
    if state.blobs.size(&q.key).await?.is_some() {
        return Err(used());
    }
    let announced = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|n| n > q.size) {
        return Err(over(q.size));
    }
    let mut writer = state.blobs.writer(&q.key).await?;
    let mut body = req.into_body().into_data_stream();
    let mut seen = 0u64;
    while let Some(chunk) = body.next().await {
        let chunk = match chunk {
            Ok(c) => c,
            Err(e) => {
                writer.abort().await;
                return Err(ApiError::bad_request(
                    "invalid_body",
                    format!("reading the body: {e}"),
                ));
            }
        };
        seen += chunk.len() as u64;
        if seen > q.size {
            writer.abort().await;
            return Err(over(q.size));
        }
        if let Err(e) = writer.write(chunk).await {
            writer.abort().await;
            return Err(e.into());
        }
    }
    if seen != q.size {
        writer.abort().await;
        return Err(ApiError::bad_request(
            "size_mismatch",
            format!(
                "the body has {seen} bytes; this URL is for exactly {}",
                q.size
            ),
        ));
    }
    let size = writer.finish().await?;
    Ok(axum::Json(json!({ "mediaKey": q.key, "size": size })).into_response())
}

/// Keys whose direct upload is under way in this process. `wagate local` is the only user of
/// the direct route and one process serves it, so a claim held from before the existence
/// check until the blob is in place makes "at most one PUT per URL succeeds" race-free.
static UPLOADING: LazyLock<Mutex<HashSet<String>>> = LazyLock::new(Mutex::default);

/// A key claimed for one upload; released when dropped (done, failed, or the client gone).
struct Claim(String);

impl Claim {
    fn take(key: &str) -> Option<Self> {
        let mut set = UPLOADING.lock().unwrap_or_else(PoisonError::into_inner);
        set.insert(key.to_owned()).then(|| Self(key.to_owned()))
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        UPLOADING
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.0);
    }
}

fn used() -> ApiError {
    ApiError::conflict(
        "upload_used",
        "this upload URL has already been used (an upload URL takes one upload); ask \
         POST /api/media/uploads for a new one",
    )
}

fn over(size: u64) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!("this upload URL is for {size} bytes"),
    )
}
