//! `POST /api/messages/media/file`: files sent as multipart (several files, per-file
//! captions, `delayMs` between sends, 200 or 207 Multi-Status) or as a raw binary body with
//! the fields in the query string. Files go to the blob store; jobs reference them.

use axum::extract::{FromRequest, Multipart, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Value, json};
use wagate_core::{
    Jid, MediaKind, MediaSource, MessageContent, OutboundMessage, Session, random_token,
};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::send::{self, Outgoing, WaitQuery};
use crate::state::AppState;

pub const DELAY_MIN_MS: u64 = 300;
pub const DELAY_MAX_MS: u64 = 10_000;
pub const DELAY_DEFAULT_MS: u64 = 1_200;

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

/// One uploaded file.
#[derive(Debug)]
struct FilePart {
    file_name: String,
    content_type: Option<String>,
    data: Bytes,
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
}

fn multipart_error(e: axum::extract::multipart::MultipartError) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "the upload is larger than MAX_UPLOAD_BYTES",
        )
    } else {
        ApiError::bad_request("invalid_multipart", e.body_text())
    }
}

async fn read_form(mut mp: Multipart) -> ApiResult<Form> {
    let mut form = Form::default();
    while let Some(field) = mp.next_field().await.map_err(multipart_error)? {
        let name = field.name().unwrap_or_default().to_owned();
        match field.file_name().map(str::to_owned) {
            // Any part with a filename is a file, whatever its field name (`file`, `files`, `file1`…).
            Some(file_name) => {
                let content_type = field.content_type().map(str::to_owned);
                let data = field.bytes().await.map_err(multipart_error)?;
                form.files.push(FilePart {
                    file_name,
                    content_type,
                    data,
                });
            }
            None => {
                let value = field.text().await.map_err(multipart_error)?;
                form.fields.push((name, value));
            }
        }
    }
    Ok(form)
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

/// Keeps the name a phone shows, but only safe characters in the blob key.
fn safe_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let cleaned: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    let cleaned = cleaned.trim_start_matches('.').to_owned();
    if cleaned.is_empty() {
        "file".into()
    } else {
        cleaned
    }
}

/// Why one file was refused.
struct FileRefusal {
    status: StatusCode,
    code: &'static str,
    message: String,
}

fn check_file(file: &FilePart, hint: Option<MediaKind>) -> Result<MediaKind, FileRefusal> {
    if file.data.is_empty() {
        return Err(FileRefusal {
            status: StatusCode::BAD_REQUEST,
            code: "empty_file",
            message: "the file is empty".into(),
        });
    }
    let kind = hint
        .unwrap_or_else(|| MediaKind::from_mimetype(file.content_type.as_deref().unwrap_or("")));
    let max = kind.default_max_bytes();
    if file.data.len() as u64 > max {
        return Err(FileRefusal {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            code: "file_too_large",
            message: format!(
                "{} bytes is over the {} MiB limit for {kind:?}",
                file.data.len(),
                max / (1024 * 1024)
            )
            .to_lowercase(),
        });
    }
    Ok(kind)
}

async fn store_file(state: &AppState, session: &Session, file: &FilePart) -> ApiResult<String> {
    let key = format!(
        "media/{}/{}/{}",
        session.id,
        random_token(16),
        safe_name(&file.file_name)
    );
    state.blobs.put(&key, file.data.clone()).await?;
    Ok(key)
}

fn media_message(
    kind: MediaKind,
    key: String,
    file: &FilePart,
    caption: Option<String>,
) -> OutboundMessage {
    OutboundMessage::new(MessageContent::Media {
        media: kind,
        source: MediaSource::Blob {
            key,
            size: file.data.len() as u64,
        },
        caption: caption.filter(|c| !c.is_empty()),
        file_name: Some(file.file_name.clone()),
        mimetype: file.content_type.clone(),
        ptt: false,
        gif_playback: false,
    })
}

async fn multipart(state: AppState, caller: Caller, mp: Multipart) -> ApiResult<Response> {
    let form = read_form(mp).await?;
    let session_id = form
        .field("sessionId")
        .ok_or_else(|| ApiError::bad_request("validation_error", "sessionId: required"))?;
    let session = send::load_session(&state, &caller, session_id).await?;
    let to = Jid::parse(form.field("to").unwrap_or_default())?;
    let delay = parse_delay(form.field("delayMs"))?;
    let hint = form
        .field("mediaType")
        .filter(|t| !t.trim().is_empty())
        .map(MediaKind::parse)
        .transpose()?;

    if form.files.is_empty() {
        let Some(text) = form.field("text").or(form.field("caption")) else {
            return Err(ApiError::bad_request(
                "validation_error",
                "file: send at least one file, or text",
            ));
        };
        let msg = OutboundMessage::new(MessageContent::Text {
            text: text.to_owned(),
            mentions: vec![],
        });
        let accepted = send::accept(
            &state,
            &caller,
            &session,
            &to,
            Outgoing::paced_normally(msg),
            None,
        )
        .await?;
        return send::single_response(&state, accepted, None).await;
    }

    let captions = form.captions();
    let global_caption = form.field("caption").map(str::to_owned);
    let mut results: Vec<Value> = Vec::with_capacity(form.files.len());
    let mut outgoing = Vec::new();
    let mut stored = Vec::new();
    let mut slots = Vec::new();
    for (i, file) in form.files.iter().enumerate() {
        match check_file(file, hint) {
            Ok(kind) => {
                let key = match store_file(&state, &session, file).await {
                    Ok(k) => k,
                    Err(e) => {
                        cleanup(&state, &stored).await;
                        return Err(e);
                    }
                };
                let caption = captions
                    .get(i)
                    .cloned()
                    .flatten()
                    .or_else(|| global_caption.clone());
                stored.push(key.clone());
                let pace_ms = (!outgoing.is_empty()).then_some(delay);
                outgoing.push(Outgoing {
                    message: media_message(kind, key, file, caption),
                    pace_ms,
                });
                slots.push(i);
                results.push(json!({ "index": i, "fileName": file.file_name }));
            }
            Err(r) => results.push(json!({
                "index": i,
                "fileName": file.file_name,
                "status": r.status.as_u16(),
                "error": { "code": r.code, "message": r.message },
            })),
        }
    }

    if outgoing.is_empty() {
        let first = results
            .first()
            .and_then(|r| r["status"].as_u64())
            .unwrap_or(400) as u16;
        let status = StatusCode::from_u16(first).unwrap_or(StatusCode::BAD_REQUEST);
        return Ok((status, axum::Json(json!({
            "error": { "code": "no_file_accepted", "message": "none of the files could be sent" },
            "results": results,
        }))).into_response());
    }

    let accepted = match send::accept(&state, &caller, &session, &to, outgoing, None).await {
        Ok(a) => a,
        Err(e) => {
            cleanup(&state, &stored).await;
            return Err(e);
        }
    };
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
        crate::auth::insert_limit_headers(resp.headers_mut(), "x-quota", &q);
    }
    Ok(resp)
}

async fn cleanup(state: &AppState, keys: &[String]) {
    for k in keys {
        if let Err(e) = state.blobs.delete(k).await {
            tracing::warn!(key = %k, error = %e, "could not delete an orphan upload");
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawQuery {
    session_id: Option<String>,
    to: Option<String>,
    media_type: Option<String>,
    caption: Option<String>,
    #[serde(alias = "filename")]
    file_name: Option<String>,
    delay_ms: Option<String>,
    wait: Option<String>,
}

/// A raw binary body; the fields come in the query string.
async fn raw(state: AppState, caller: Caller, req: Request) -> ApiResult<Response> {
    let Query(q) = Query::<RawQuery>::try_from_uri(req.uri())
        .map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let content_type = req
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
    let session = send::load_session(&state, &caller, session_id).await?;
    let to = Jid::parse(q.to.as_deref().unwrap_or_default())?;
    parse_delay(q.delay_ms.as_deref())?;
    let hint = q.media_type.as_deref().map(MediaKind::parse).transpose()?;
    let wait = WaitQuery {
        wait: q.wait.clone(),
    }
    .duration()?;
    let data = Bytes::from_request(req, &state).await.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "the upload is larger than MAX_UPLOAD_BYTES",
            )
        } else {
            ApiError::bad_request("invalid_body", e.body_text())
        }
    })?;
    let file = FilePart {
        file_name: q.file_name.clone().unwrap_or_else(|| "file".into()),
        content_type,
        data,
    };
    let kind = check_file(&file, hint).map_err(|r| ApiError::new(r.status, r.code, r.message))?;
    let key = store_file(&state, &session, &file).await?;
    let msg = media_message(kind, key.clone(), &file, q.caption.clone());
    match send::accept(
        &state,
        &caller,
        &session,
        &to,
        Outgoing::paced_normally(msg),
        None,
    )
    .await
    {
        Ok(accepted) => send::single_response(&state, accepted, wait).await,
        Err(e) => {
            cleanup(&state, &[key]).await;
            Err(e)
        }
    }
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

    #[test]
    fn blob_names_are_safe() {
        assert_eq!(safe_name("../../etc/passwd"), "passwd");
        assert_eq!(safe_name("C:\\x\\my photo.jpg"), "my_photo.jpg");
        assert_eq!(safe_name(".."), "file");
        assert_eq!(safe_name(".env"), "env");
    }
}
