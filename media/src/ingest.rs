//! Streams a file into the blob store as it arrives: the first bytes decide its type (not the
//! `Content-Type` a client or server claimed), the cap for that type is enforced while the
//! bytes flow, and memory holds one chunk at a time whatever the file's size. A file that
//! fails any check leaves no blob behind.

use bytes::Bytes;
use futures::{Stream, StreamExt};
use wagate_core::MediaKind;
use wagate_core::ports::{BlobWriter, Blobs, PortError};

use crate::config::MediaConfig;
use crate::sniff::{SNIFF_LEN, fits, kind_of, sniff};

/// A file now in the blob store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ingested {
    pub key: String,
    pub size: u64,
    pub kind: MediaKind,
    /// The type read from the bytes, when wagate knows the format.
    pub sniffed: Option<&'static str>,
}

#[derive(Debug)]
pub enum IngestError<E> {
    Empty,
    TooLarge {
        kind: MediaKind,
        limit: u64,
    },
    /// The bytes are not what the kind needs (a PDF sent as an image).
    WrongType {
        kind: MediaKind,
        found: Option<&'static str>,
    },
    /// The stream itself failed (a client gone, a body over the request limit, a fetch that
    /// timed out).
    Source(E),
    Store(PortError),
}

impl<E: std::fmt::Display> std::fmt::Display for IngestError<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Empty => f.write_str("the file is empty"),
            Self::TooLarge { kind, limit } => write!(
                f,
                "the file is larger than the limit for {} ({})",
                kind_name(*kind),
                human_bytes(*limit)
            ),
            Self::WrongType { kind, found } => write!(
                f,
                "the bytes are {}, which cannot be sent as {}",
                found.map_or_else(|| "not a known format".into(), |m| m.to_string()),
                kind_name(*kind)
            ),
            Self::Source(e) => write!(f, "{e}"),
            Self::Store(e) => write!(f, "storing the file failed: {e}"),
        }
    }
}

pub fn kind_name(kind: MediaKind) -> &'static str {
    match kind {
        MediaKind::Image => "an image",
        MediaKind::Video => "a video",
        MediaKind::Audio => "audio",
        MediaKind::Document => "a document",
    }
}

pub fn human_bytes(n: u64) -> String {
    if n >= 1024 * 1024 && n.is_multiple_of(1024 * 1024) {
        format!("{} MiB", n / (1024 * 1024))
    } else if n >= 1024 && n.is_multiple_of(1024) {
        format!("{} KiB", n / 1024)
    } else {
        format!("{n} bytes")
    }
}

/// Writes `stream` to `key`. `hint` is the kind the client asked for; without one the kind
/// follows the sniffed type (unknown types are documents).
pub async fn ingest<S, E>(
    blobs: &dyn Blobs,
    key: &str,
    mut stream: S,
    hint: Option<MediaKind>,
    config: &MediaConfig,
) -> Result<Ingested, IngestError<E>>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
{
    let mut pending: Vec<Bytes> = Vec::new();
    let mut head = Vec::with_capacity(SNIFF_LEN);
    while head.len() < SNIFF_LEN {
        match stream.next().await {
            Some(Ok(chunk)) => {
                let take = (SNIFF_LEN - head.len()).min(chunk.len());
                head.extend_from_slice(&chunk[..take]);
                pending.push(chunk);
            }
            Some(Err(e)) => return Err(IngestError::Source(e)),
            None => break,
        }
    }
    if head.is_empty() {
        return Err(IngestError::Empty);
    }
    let sniffed = sniff(&head);
    let kind = hint.unwrap_or_else(|| kind_of(sniffed));
    if !fits(kind, sniffed) {
        return Err(IngestError::WrongType {
            kind,
            found: sniffed,
        });
    }
    let limit = config.max_bytes(kind);
    let mut writer = blobs.writer(key).await.map_err(IngestError::Store)?;
    let mut size = 0u64;
    let mut queued = pending.into_iter();
    loop {
        let chunk = match queued.next() {
            Some(c) => c,
            None => match stream.next().await {
                Some(Ok(c)) => c,
                Some(Err(e)) => return abort(writer, IngestError::Source(e)).await,
                None => break,
            },
        };
        size += chunk.len() as u64;
        if size > limit {
            return abort(writer, IngestError::TooLarge { kind, limit }).await;
        }
        if let Err(e) = writer.write(chunk).await {
            return abort(writer, IngestError::Store(e)).await;
        }
    }
    let size = writer.finish().await.map_err(IngestError::Store)?;
    Ok(Ingested {
        key: key.to_owned(),
        size,
        kind,
        sniffed,
    })
}

async fn abort<T, E>(
    writer: Box<dyn BlobWriter>,
    err: IngestError<E>,
) -> Result<T, IngestError<E>> {
    writer.abort().await;
    Err(err)
}
