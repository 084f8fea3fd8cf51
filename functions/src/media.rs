//! The API's side of the media pipeline. Media named by URL is fetched when the send is
//! accepted, not when it is sent: the client hears at once why a URL was refused (private
//! address, too large, not an image), a retried send never fetches twice, and the session
//! host never talks to arbitrary URLs. Every send therefore reaches the queue with its media
//! in the blob store.

use std::sync::Arc;

use axum::http::StatusCode;
use wagate_core::ports::Blobs;
use wagate_core::{MediaKind, MediaSource, MessageContent, OutboundMessage, random_token};
use wagate_media::ingest::{human_bytes, kind_name};
use wagate_media::sniff::{SNIFF_LEN, fits, kind_of, sniff};
use wagate_media::{FetchError, IngestError, Ingested, MediaConfig, fetch};

use crate::caller::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Blobs written for a request that is not accepted yet. Unless [`keep`](Self::keep) is
/// called they are deleted, also when the request's future is dropped (a client gone).
#[derive(Debug)]
pub struct PendingBlobs {
    blobs: Arc<dyn Blobs>,
    keys: Vec<String>,
}

impl PendingBlobs {
    pub fn new(blobs: Arc<dyn Blobs>) -> Self {
        Self {
            blobs,
            keys: Vec::new(),
        }
    }

    pub fn push(&mut self, key: String) {
        self.keys.push(key);
    }

    /// Streams `stream` into the blob store under `key`, which is pending from before its first
    /// byte is written: a request dropped while the write finishes (a rename on a blocking
    /// thread) still deletes it.
    pub async fn ingest<S, E>(
        &mut self,
        key: String,
        stream: S,
        hint: Option<MediaKind>,
        config: &MediaConfig,
    ) -> Result<Ingested, IngestError<E>>
    where
        S: futures::Stream<Item = Result<bytes::Bytes, E>> + Unpin,
    {
        self.keys.push(key.clone());
        wagate_media::ingest(self.blobs.as_ref(), &key, stream, hint, config).await
    }

    /// Forgets `key` after deleting it (a file refused after it was stored).
    pub async fn discard(&mut self, key: &str) {
        self.keys.retain(|k| k != key);
        delete(self.blobs.as_ref(), key).await;
    }

    /// The request was accepted: its jobs own the blobs now.
    pub fn keep(mut self) {
        self.keys.clear();
    }

    /// Deletes every pending blob now (rather than in the background on drop).
    pub async fn clean_up(mut self) {
        for key in std::mem::take(&mut self.keys) {
            delete(self.blobs.as_ref(), &key).await;
        }
    }
}

impl Drop for PendingBlobs {
    fn drop(&mut self) {
        let keys = std::mem::take(&mut self.keys);
        if keys.is_empty() {
            return;
        }
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let blobs = self.blobs.clone();
            rt.spawn(async move {
                for key in keys {
                    delete(blobs.as_ref(), &key).await;
                }
            });
        }
    }
}

async fn delete(blobs: &dyn Blobs, key: &str) {
    if let Err(e) = blobs.delete(key).await {
        tracing::warn!(%key, error = %e, "could not delete an unaccepted upload");
    }
}

/// Keeps the name a phone shows, but only safe characters in the blob key.
pub fn safe_name(name: &str) -> String {
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

/// Where a file of a request goes: `media/<what>/<random>/<name>` (the bucket's retention
/// rule covers `media/`).
pub fn new_key(what: &str, name: &str) -> String {
    format!("media/{what}/{}/{}", random_token(16), safe_name(name))
}

/// Where a key's presigned uploads live; only that key may send them.
pub fn uploads_prefix(caller: &Caller) -> String {
    format!("media/uploads/{}/", caller.key_id)
}

pub fn fetch_error(field: &str, e: FetchError) -> ApiError {
    match e {
        FetchError::Refused(why) => {
            ApiError::bad_request("media_url_refused", format!("{field}: {why}"))
        }
        FetchError::Failed(why) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "media_fetch_failed",
            format!("{field}: {why}"),
        ),
        FetchError::TooLarge { size, limit } => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "media_too_large",
            format!(
                "{field}: the file is {size} bytes, over the limit of {}",
                human_bytes(limit)
            ),
        ),
    }
}

/// The status, code and message for a refused file; `source` maps the stream's own errors.
pub fn ingest_error<E>(
    field: &str,
    e: IngestError<E>,
    source: impl FnOnce(E) -> ApiError,
) -> ApiError
where
    E: std::fmt::Display,
{
    match e {
        IngestError::Source(inner) => source(inner),
        IngestError::Store(port) => port.into(),
        IngestError::WrongType {
            kind: MediaKind::Video,
            found: Some("image/gif"),
        } => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!(
                "{field}: this is a .gif; WhatsApp plays GIFs as MP4 video: convert it to .mp4 \
                 and send that"
            ),
        ),
        other @ IngestError::WrongType { .. } => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("{field}: {other}"),
        ),
        other @ IngestError::TooLarge { .. } => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "media_too_large",
            format!("{field}: {other}"),
        ),
        IngestError::Empty => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "empty_file",
            format!("{field}: the file is empty"),
        ),
    }
}

/// The image at `url` as a sticker in the blob store: kept when it already is one (a 512x512
/// WebP within the cap), converted otherwise.
#[cfg(feature = "images")]
async fn sticker_from_url(
    state: &AppState,
    url: &str,
    pending: &mut PendingBlobs,
) -> ApiResult<MediaSource> {
    use wagate_media::sticker::{self, StickerError};
    let field = "imageUrl";
    let cfg = state.fetcher.config();
    let resp = state
        .fetcher
        .open(url, cfg.caps.image)
        .await
        .map_err(|e| fetch_error(field, e))?;
    let input = fetch::read_capped(resp, cfg.caps.image)
        .await
        .map_err(|e| fetch_error(field, e))?;
    let max = cfg.caps.sticker;
    let webp = if sticker::is_ready_sticker(&input, max) {
        input
    } else {
        sticker::convert_queued(input, max)
            .await
            .map_err(|e| {
                let (status, code) = match e {
                    StickerError::TooLarge(_) => (
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "sticker_conversion_failed",
                    ),
                    StickerError::TooManyPixels(..) => {
                        (StatusCode::PAYLOAD_TOO_LARGE, "image_too_large")
                    }
                    StickerError::Undecodable(_) => (
                        StatusCode::UNSUPPORTED_MEDIA_TYPE,
                        "sticker_conversion_failed",
                    ),
                };
                ApiError::new(status, code, format!("{field}: {e}"))
            })?
            .webp
    };
    let key = new_key("stickers", "sticker.webp");
    let size = webp.len() as u64;
    pending.push(key.clone());
    state.blobs.put(&key, webp.into()).await?;
    Ok(MediaSource::Blob { key, size })
}

/// Built without image processing (the `api` Lambda function, whose deployment routes
/// stickers to the `upload` function): a sticker by URL is refused before anything is fetched.
#[cfg(not(feature = "images"))]
async fn sticker_from_url(
    _state: &AppState,
    _url: &str,
    _pending: &mut PendingBlobs,
) -> ApiResult<MediaSource> {
    Err(ApiError::new(
        StatusCode::NOT_IMPLEMENTED,
        "sticker_conversion_unavailable",
        "imageUrl: this deployment of the API converts stickers in its upload function; \
         route POST /api/messages/sticker there",
    ))
}

/// The last path segment of a URL, as a file name for documents.
fn url_file_name(raw: &str) -> Option<String> {
    let url = url::Url::parse(raw).ok()?;
    let last = url.path_segments()?.next_back()?.to_owned();
    (!last.is_empty()).then_some(last)
}

/// Puts every URL media of `message` into the blob store, checks media sent by `mediaKey`,
/// and converts stickers. `sniff_kind`: the client named no kind, so the bytes decide it.
pub async fn materialize(
    state: &AppState,
    caller: &Caller,
    message: &mut OutboundMessage,
    sniff_kind: bool,
    pending: &mut PendingBlobs,
) -> ApiResult<()> {
    let cfg = state.fetcher.config();
    match &mut message.content {
        MessageContent::Media {
            media,
            source,
            file_name,
            mimetype,
            gif_playback,
            ..
        } => {
            let field = if *gif_playback {
                "videoUrl"
            } else {
                "mediaUrl"
            };
            let hint = (!sniff_kind).then_some(*media);
            let sniffed = match source {
                MediaSource::Url(url) => {
                    let limit = hint.map_or_else(|| cfg.max_any(), |k| cfg.max_bytes(k));
                    let resp = state
                        .fetcher
                        .open(url, limit)
                        .await
                        .map_err(|e| fetch_error(field, e))?;
                    let url_name = url_file_name(url);
                    let key = new_key(
                        "fetched",
                        file_name
                            .as_deref()
                            .or(url_name.as_deref())
                            .unwrap_or("file"),
                    );
                    let got = pending
                        .ingest(key, fetch::body(resp), hint, cfg)
                        .await
                        .map_err(|e| ingest_error(field, e, |f| fetch_error(field, f)))?;
                    if file_name.is_none() && got.kind == MediaKind::Document {
                        *file_name = url_name;
                    }
                    *media = got.kind;
                    *source = MediaSource::Blob {
                        key: got.key,
                        size: got.size,
                    };
                    got.sniffed
                }
                MediaSource::Blob { key, size } => {
                    let (pinned, kind, bytes, sniffed) =
                        pin_upload(state, caller, key, hint, pending).await?;
                    *key = pinned;
                    *media = kind;
                    *size = bytes;
                    sniffed
                }
            };
            if *gif_playback && sniffed != Some("video/mp4") {
                return Err(ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_media_type",
                    format!(
                        "{field}: a GIF message is an MP4 video played in a loop; these bytes \
                         are {}",
                        sniffed.unwrap_or("not a known format")
                    ),
                ));
            }
            *mimetype = match (*media, sniffed, mimetype.take()) {
                (MediaKind::Document, _, Some(given)) => Some(given),
                (_, Some(s), _) => Some(s.to_owned()),
                (_, None, _) => Some("application/octet-stream".into()),
            };
        }
        MessageContent::Sticker { source } => {
            let MediaSource::Url(url) = source else {
                return Ok(());
            };
            *source = sticker_from_url(state, url, pending).await?;
        }
        _ => {}
    }
    Ok(())
}

/// A `mediaKey` must be one of the caller's own presigned uploads, be there, and hold what
/// the kind needs within its cap. The send then pins what was checked: the bytes read for the
/// check are stored under a new key of the send's own, which no upload URL points to (an S3
/// presigned PUT can replace the upload until it expires), and that key is what is queued.
/// The copy is pending until the send is accepted. Returns the copy's key, the kind, the size
/// and the sniffed type.
async fn pin_upload(
    state: &AppState,
    caller: &Caller,
    key: &str,
    hint: Option<MediaKind>,
    pending: &mut PendingBlobs,
) -> ApiResult<(String, MediaKind, u64, Option<&'static str>)> {
    let not_found = || {
        ApiError::not_found(
            "media_not_found",
            "mediaKey: no upload under this key for this API key (uploads expire; ask \
             POST /api/media/uploads for a new one)",
        )
    };
    if !key.starts_with(&uploads_prefix(caller)) || wagate_core::ports::check_blob_key(key).is_err()
    {
        return Err(not_found());
    }
    // A first look from the size and the first bytes refuses what is wrong or too large
    // without reading it all, and bounds the read below to the kind's cap.
    let size = state.blobs.size(key).await?.ok_or_else(not_found)?;
    let head = state
        .blobs
        .get_prefix(key, SNIFF_LEN)
        .await?
        .ok_or_else(not_found)?;
    let (kind, _) = check_upload_bytes(state, hint, &head, size)?;
    // What is checked and copied is this one read: the upload may change under us.
    let limit = state.fetcher.config().max_bytes(kind);
    let read_cap = usize::try_from(limit.saturating_add(1)).unwrap_or(usize::MAX);
    let bytes = state
        .blobs
        .get_prefix(key, read_cap)
        .await?
        .ok_or_else(not_found)?;
    let size = bytes.len() as u64;
    if size > limit {
        return Err(too_large("mediaKey", kind, size, limit));
    }
    let (kind, sniffed) =
        check_upload_bytes(state, hint, &bytes[..SNIFF_LEN.min(bytes.len())], size)?;
    let name = key.rsplit('/').next().unwrap_or("file");
    let pinned = new_key("sent", name);
    // Pending before it exists: a request dropped mid-write still deletes it.
    pending.push(pinned.clone());
    state.blobs.put(&pinned, bytes).await?;
    Ok((pinned, kind, size, sniffed))
}

/// The kind and sniffed type of an upload of `size` bytes starting with `head`, if it is
/// not empty and holds what the kind needs within its cap.
fn check_upload_bytes(
    state: &AppState,
    hint: Option<MediaKind>,
    head: &[u8],
    size: u64,
) -> ApiResult<(MediaKind, Option<&'static str>)> {
    if size == 0 {
        return Err(ingest_error::<String>(
            "mediaKey",
            IngestError::Empty,
            ApiError::internal,
        ));
    }
    let sniffed = sniff(head);
    let kind = hint.unwrap_or_else(|| kind_of(sniffed));
    check_stored(state, "mediaKey", kind, sniffed, size)?;
    Ok((kind, sniffed))
}

fn too_large(field: &str, kind: MediaKind, size: u64, limit: u64) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "media_too_large",
        format!(
            "{field}: {size} bytes is over the limit for {} ({})",
            kind_name(kind),
            human_bytes(limit)
        ),
    )
}

/// A blob already stored must still be what `kind` needs and within its cap (a kind named
/// after the bytes were read, or a presigned upload checked when it is sent).
pub fn check_stored(
    state: &AppState,
    field: &str,
    kind: MediaKind,
    sniffed: Option<&'static str>,
    size: u64,
) -> ApiResult<()> {
    if !fits(kind, sniffed) {
        return Err(ingest_error::<String>(
            field,
            IngestError::WrongType {
                kind,
                found: sniffed,
            },
            ApiError::internal,
        ));
    }
    let limit = state.fetcher.config().max_bytes(kind);
    if size > limit {
        return Err(too_large(field, kind, size, limit));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_names_are_safe() {
        assert_eq!(safe_name("../../etc/passwd"), "passwd");
        assert_eq!(safe_name("C:\\x\\my photo.jpg"), "my_photo.jpg");
        assert_eq!(safe_name(".."), "file");
        assert_eq!(safe_name(".env"), "env");
    }

    #[test]
    fn document_names_come_from_the_url_path() {
        assert_eq!(
            url_file_name("https://e.com/files/report.pdf?x=1").as_deref(),
            Some("report.pdf")
        );
        assert_eq!(url_file_name("https://e.com/"), None);
    }
}
