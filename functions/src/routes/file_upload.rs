//! `POST /api/messages/media/file`: files sent as multipart (several files, per-file
//! captions, `delayMs` between sends, 200 or 207 Multi-Status) or as a raw binary body with
//! the fields in the query string. Each file streams into the blob store as it arrives, so a
//! 100 MiB upload never sits in memory; whatever the outcome, a file that ends up in no job
//! is deleted.

use axum::body::Body;
use axum::extract::multipart::{Field, MultipartError};
use axum::extract::{FromRequest, Multipart, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde::Deserialize;
use serde_json::{Value, json};
use wagate_core::{Jid, MediaKind, MediaSource, MessageContent, OutboundMessage};
use wagate_media::{IngestError, Ingested};

use crate::caller::Caller;
use crate::error::{ApiError, ApiResult};
use crate::media::{PendingBlobs, check_stored, ingest_error, new_key};
use crate::openapi::schemas;
use crate::send::{self, Outgoing, WaitQuery};
use crate::state::AppState;

pub const DELAY_MIN_MS: u64 = 300;
pub const DELAY_MAX_MS: u64 = 10_000;
pub const DELAY_DEFAULT_MS: u64 = 1_200;
/// The most files one request may carry.
pub const MAX_FILES: usize = 100;
/// The largest text field (a caption, `captions`, `delayMs`, …) of a multipart form.
pub const MAX_FIELD_BYTES: usize = 64 * 1024;
/// The most text fields one form may carry.
pub const MAX_FIELDS: usize = 256;

/// `POST /api/messages/media/file`: files as `multipart/form-data`, or one file as the raw body
/// with its fields in the query string.
#[utoipa::path(post, path = "/media/file", tag = "messages",
    summary = "Send uploaded files: multipart (several, paced by `delayMs`) or one raw body",
    description = "Multipart: one job per file, 200 when every file was queued, 207 when some \
        were refused (each result says why). Raw body: the fields come in the query string.",
    params(RawQuery),
    request_body(content(
        (schemas::UploadForm = "multipart/form-data"),
        (Vec<u8> = "application/octet-stream"))),
    responses(
        (status = 200, description = "Every file queued (or with `wait`, its outcome)",
            body = schemas::FilesAccepted),
        (status = 202, description = "A raw upload queued", body = schemas::Job),
        (status = 207, description = "Some files queued, some refused", body = schemas::FilesAccepted),
    ))]
pub async fn media_file(
    State(state): State<AppState>,
    caller: Caller,
    req: Request,
) -> ApiResult<Response> {
    let is_multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.to_ascii_lowercase().starts_with("multipart/form-data"));
    if is_multipart {
        let mp = Multipart::from_request(req, &state)
            .await
            .map_err(|e| ApiError::bad_request("invalid_multipart", e.body_text()))?;
        multipart(state, caller, mp).await
    } else {
        raw(state, caller, req).await
    }
}

fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        "the upload is larger than MAX_UPLOAD_BYTES",
    )
}

fn multipart_error(e: MultipartError) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        too_large()
    } else {
        ApiError::bad_request("invalid_multipart", e.body_text())
    }
}

/// One file part: stored, or refused with the reason.
#[derive(Debug)]
struct FilePart {
    file_name: String,
    content_type: Option<String>,
    outcome: Result<Ingested, ApiError>,
}

#[derive(Debug, Default)]
struct Form {
    fields: Vec<(String, String)>,
    files: Vec<FilePart>,
}

impl Form {
    fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// `captions[]` repeated, `captions[0]`…, or `captions` as a JSON array.
    fn captions(&self) -> Vec<Option<String>> {
        if let Some(raw) = self.field("captions")
            && let Ok(list) = serde_json::from_str::<Vec<Option<String>>>(raw)
        {
            return list;
        }
        self.fields
            .iter()
            .filter(|(k, _)| k == "captions[]" || k.starts_with("captions[") || k == "captions")
            .map(|(_, v)| Some(v.clone()))
            .collect()
    }

    fn hint(&self) -> ApiResult<Option<MediaKind>> {
        Ok(self
            .field("mediaType")
            .filter(|t| !t.trim().is_empty())
            .map(MediaKind::parse)
            .transpose()?)
    }
}

/// Reads the whole form, streaming each file into the blob store. Fields may come in any
/// order; a `mediaType` seen before a file caps it by that kind, one seen after is checked
/// once the form is read.
async fn read_form(
    state: &AppState,
    mut mp: Multipart,
    pending: &mut PendingBlobs,
) -> ApiResult<Form> {
    let mut form = Form::default();
    while let Some(field) = mp.next_field().await.map_err(multipart_error)? {
        let name = field.name().unwrap_or_default().to_owned();
        // Any part with a filename is a file, whatever its field name (`file`, `files`, `file1`…).
        let Some(file_name) = field.file_name().map(str::to_owned) else {
            if form.fields.len() >= MAX_FIELDS {
                return Err(ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "too_many_fields",
                    format!("a form carries at most {MAX_FIELDS} text fields"),
                ));
            }
            let value = read_text_field(&name, field).await?;
            form.fields.push((name, value));
            continue;
        };
        if form.files.len() >= MAX_FILES {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_many_files",
                format!("one request carries at most {MAX_FILES} files"),
            ));
        }
        let content_type = field.content_type().map(str::to_owned);
        let hint = form.hint()?;
        let key = new_key("files", &file_name);
        let outcome = match pending
            .ingest(key.clone(), field, hint, state.fetcher.config())
            .await
        {
            Ok(got) => Ok(got),
            // The request itself failed (over the body limit, malformed, client gone).
            Err(IngestError::Source(e)) => return Err(multipart_error(e)),
            Err(IngestError::Store(e)) => return Err(e.into()),
            Err(refused) => {
                pending.discard(&key).await;
                Err(ingest_error("file", refused, multipart_error))
            }
        };
        form.files.push(FilePart {
            file_name,
            content_type,
            outcome,
        });
    }
    Ok(form)
}

/// A text field, read chunk by chunk and refused (413) as soon as it passes
/// [`MAX_FIELD_BYTES`], so a huge "caption" never sits in memory.
async fn read_text_field(name: &str, mut field: Field<'_>) -> ApiResult<String> {
    let mut buf = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        if buf.len() + chunk.len() > MAX_FIELD_BYTES {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "field_too_large",
                format!("form field '{name}' is larger than {MAX_FIELD_BYTES} bytes"),
            ));
        }
        buf.extend_from_slice(&chunk);
    }
    String::from_utf8(buf).map_err(|_| {
        ApiError::bad_request(
            "invalid_multipart",
            format!("form field '{name}' is not UTF-8 text"),
        )
    })
}

/// `typingMs` of a form or query string: absent or 0 for none.
fn parse_typing(raw: Option<&str>) -> ApiResult<Option<u32>> {
    let Some(raw) = raw.map(str::trim).filter(|r| !r.is_empty()) else {
        return Ok(None);
    };
    match raw.parse::<u32>() {
        Ok(n) if n <= wagate_core::MAX_TYPING_MS => Ok((n > 0).then_some(n)),
        _ => Err(ApiError::bad_request(
            "validation_error",
            format!(
                "typingMs: whole milliseconds, 0 to {}",
                wagate_core::MAX_TYPING_MS
            ),
        )),
    }
}

fn parse_delay(raw: Option<&str>) -> ApiResult<u64> {
    let Some(raw) = raw.filter(|r| !r.trim().is_empty()) else {
        return Ok(DELAY_DEFAULT_MS);
    };
    let ms: u64 = raw.trim().parse().map_err(|_| {
        ApiError::bad_request(
            "validation_error",
            "delayMs: must be a whole number of milliseconds",
        )
    })?;
    if !(DELAY_MIN_MS..=DELAY_MAX_MS).contains(&ms) {
        return Err(ApiError::bad_request(
            "validation_error",
            format!("delayMs: must be between {DELAY_MIN_MS} and {DELAY_MAX_MS}"),
        ));
    }
    Ok(ms)
}

/// A `mediaType` given after the file was stored: the file must still fit it.
fn recheck(state: &AppState, got: &Ingested, hint: Option<MediaKind>) -> Result<(), ApiError> {
    match hint.filter(|k| *k != got.kind) {
        Some(kind) => check_stored(state, "file", kind, got.sniffed, got.size),
        None => Ok(()),
    }
}

fn media_message(
    kind: MediaKind,
    got: &Ingested,
    file_name: &str,
    declared: Option<&str>,
    caption: Option<String>,
) -> OutboundMessage {
    let mimetype = match (kind, got.sniffed, declared) {
        (MediaKind::Document, _, Some(d)) => d.to_owned(),
        (_, Some(s), _) => s.to_owned(),
        (_, None, Some(d)) => d.to_owned(),
        (_, None, None) => "application/octet-stream".to_owned(),
    };
    OutboundMessage::new(MessageContent::Media {
        media: kind,
        source: MediaSource::Blob {
            key: got.key.clone(),
            size: got.size,
        },
        caption: caption.filter(|c| !c.is_empty()),
        file_name: Some(file_name.to_owned()),
        mimetype: Some(mimetype),
        ptt: false,
        gif_playback: false,
    })
}

fn refusal_view(i: usize, file_name: &str, e: &ApiError) -> Value {
    json!({
        "index": i,
        "fileName": file_name,
        "status": e.status.as_u16(),
        "error": { "code": e.code, "message": e.message },
    })
}

async fn multipart(state: AppState, caller: Caller, mp: Multipart) -> ApiResult<Response> {
    let mut pending = PendingBlobs::new(state.blobs.clone());
    let result = multipart_inner(&state, &caller, mp, &mut pending).await;
    match &result {
        Ok(_) => pending.keep(),
        Err(_) => pending.clean_up().await,
    }
    result
}

async fn multipart_inner(
    state: &AppState,
    caller: &Caller,
    mp: Multipart,
    pending: &mut PendingBlobs,
) -> ApiResult<Response> {
    let form = read_form(state, mp, pending).await?;
    let session_id = form
        .field("sessionId")
        .ok_or_else(|| ApiError::bad_request("validation_error", "sessionId: required"))?;
    let session = crate::caller::load_session(state, caller, session_id).await?;
    let to = Jid::parse(form.field("to").unwrap_or_default())?;
    let delay = parse_delay(form.field("delayMs"))?;
    let typing_ms = parse_typing(form.field("typingMs"))?;
    let hint = form.hint()?;

    if form.files.is_empty() {
        let Some(text) = form.field("text").or(form.field("caption")) else {
            return Err(ApiError::bad_request(
                "validation_error",
                "file: send at least one file, or text",
            ));
        };
        let mut msg = OutboundMessage::new(MessageContent::Text {
            text: text.to_owned(),
            mentions: vec![],
        });
        msg.typing_ms = typing_ms;
        let accepted = send::accept(
            state,
            caller,
            &session,
            &to,
            Outgoing::paced_normally(msg),
            None,
            PendingBlobs::new(state.blobs.clone()),
        )
        .await?;
        return send::single_response(state, accepted, None).await;
    }

    let captions = form.captions();
    let global_caption = form.field("caption").map(str::to_owned);
    let mut results: Vec<Value> = Vec::with_capacity(form.files.len());
    let mut outgoing = Vec::new();
    let mut slots = Vec::new();
    for (i, file) in form.files.iter().enumerate() {
        let checked = match &file.outcome {
            Ok(got) => recheck(state, got, hint).map(|()| got),
            Err(e) => Err(ApiError::new(e.status, e.code, e.message.clone())),
        };
        match checked {
            Ok(got) => {
                let caption = captions
                    .get(i)
                    .cloned()
                    .flatten()
                    .or_else(|| global_caption.clone());
                let kind = hint.unwrap_or(got.kind);
                let pace_ms = (!outgoing.is_empty()).then_some(delay);
                let mut message = media_message(
                    kind,
                    got,
                    &file.file_name,
                    file.content_type.as_deref(),
                    caption,
                );
                message.typing_ms = typing_ms;
                outgoing.push(Outgoing { message, pace_ms });
                slots.push(i);
                results.push(json!({ "index": i, "fileName": file.file_name }));
            }
            Err(e) => {
                if let Ok(got) = &file.outcome {
                    pending.discard(&got.key).await;
                }
                results.push(refusal_view(i, &file.file_name, &e));
            }
        }
    }

    if outgoing.is_empty() {
        let first = results
            .first()
            .and_then(|r| r["status"].as_u64())
            .unwrap_or(400) as u16;
        let status = StatusCode::from_u16(first).unwrap_or(StatusCode::BAD_REQUEST);
        // Nothing was accepted: the refusal is the answer, with every file's reason.
        return Ok((status, axum::Json(json!({
            "error": { "code": "no_file_accepted", "message": "none of the files could be sent" },
            "results": results,
        }))).into_response());
    }

    // The stored files go with the acceptance, which runs to the end whatever the client does.
    let files = std::mem::replace(pending, PendingBlobs::new(state.blobs.clone()));
    let accepted = send::accept(state, caller, &session, &to, outgoing, None, files).await?;
    for (slot, job) in slots.iter().zip(&accepted.jobs) {
        let mut view = send::job_view(job);
        view["index"] = json!(slot);
        view["fileName"] = results[*slot]["fileName"].clone();
        view["status"] = json!(job.state.as_str());
        results[*slot] = view;
    }
    let all_ok = accepted.jobs.len() == form.files.len();
    let status = if all_ok {
        StatusCode::OK
    } else {
        StatusCode::MULTI_STATUS
    };
    let body = json!({
        "sessionId": session.id,
        "to": to,
        "delayMs": delay,
        "queued": accepted.jobs.len(),
        "failed": form.files.len() - accepted.jobs.len(),
        "results": results,
    });
    let mut resp = (status, axum::Json(body)).into_response();
    if let Some(q) = accepted.quota {
        crate::limit_headers::QUOTA.insert_headers(resp.headers_mut(), &q);
    }
    Ok(resp)
}

/// The raw upload's fields (a multipart upload sends them as form fields instead).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
struct RawQuery {
    session_id: Option<String>,
    to: Option<String>,
    media_type: Option<String>,
    caption: Option<String>,
    #[serde(alias = "filename")]
    file_name: Option<String>,
    delay_ms: Option<String>,
    typing_ms: Option<String>,
    wait: Option<String>,
}

/// A raw binary body; the fields come in the query string, so everything is checked before
/// a byte of the body is read.
async fn raw(state: AppState, caller: Caller, req: Request) -> ApiResult<Response> {
    let Query(q) = Query::<RawQuery>::try_from_uri(req.uri())
        .map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let declared = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let session_id = q.session_id.as_deref().ok_or_else(|| {
        ApiError::bad_request(
            "validation_error",
            "sessionId: required in the query string",
        )
    })?;
    let session = crate::caller::load_session(&state, &caller, session_id).await?;
    let to = Jid::parse(q.to.as_deref().unwrap_or_default())?;
    parse_delay(q.delay_ms.as_deref())?;
    let typing_ms = parse_typing(q.typing_ms.as_deref())?;
    let hint = q.media_type.as_deref().map(MediaKind::parse).transpose()?;
    let wait = WaitQuery {
        wait: q.wait.clone(),
    }
    .duration()?;
    let limit = state.config.max_upload_bytes as u64;
    let announced = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let file_name = q.file_name.clone().unwrap_or_else(|| "file".into());
    let mut pending = PendingBlobs::new(state.blobs.clone());
    let body = capped(req.into_body(), limit);
    let got = pending
        .ingest(
            new_key("files", &file_name),
            body,
            hint,
            state.fetcher.config(),
        )
        .await
        .map_err(|e| ingest_error("body", e, |e| e))?;
    let kind = hint.unwrap_or(got.kind);
    let mut msg = media_message(
        kind,
        &got,
        &file_name,
        declared.as_deref(),
        q.caption.clone(),
    );
    msg.typing_ms = typing_ms;
    let accepted = send::accept(
        &state,
        &caller,
        &session,
        &to,
        Outgoing::paced_normally(msg),
        None,
        pending,
    )
    .await?;
    send::single_response(&state, accepted, wait).await
}

/// The request body as chunks, failing with 413 once more than `limit` bytes came.
fn capped(
    body: Body,
    limit: u64,
) -> impl futures::Stream<Item = Result<bytes::Bytes, ApiError>> + Unpin {
    let mut seen = 0u64;
    body.into_data_stream().map(move |chunk| {
        let chunk = chunk
            .map_err(|e| ApiError::bad_request("invalid_body", format!("reading the body: {e}")))?;
        seen += chunk.len() as u64;
        if seen > limit {
            return Err(too_large());
        }
        Ok(chunk)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delay_defaults_and_bounds() {
        assert_eq!(parse_delay(None).unwrap(), 1200);
        assert_eq!(parse_delay(Some("300")).unwrap(), 300);
        assert_eq!(parse_delay(Some("10000")).unwrap(), 10_000);
        assert!(parse_delay(Some("299")).is_err());
        assert!(parse_delay(Some("10001")).is_err());
        assert!(parse_delay(Some("soon")).is_err());
    }
}
