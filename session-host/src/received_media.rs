//! The files of received media messages, on the host (the only place that can download them):
//! the record saved as the message arrives, the download — before the event goes out with
//! `auto`, when the API asks with `on-request` — and the event held meanwhile.
//!
//! An event waiting for its download is also written to the blob store under
//! [`pending_prefix`], so a host that dies mid-download sends it when the session starts
//! again (its media marked failed; a later on-request download retries). Downloads run a
//! few at a time per host; past [`MAX_WAITING`] waiting, events go out at once with their
//! media `available`, so a burst of photos never holds events back without bound.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;
use wagate_core::clock::now_ms;
use wagate_core::inbound_media::{
    InboundMediaMode, Linker, MediaRecord, MediaState, file_key, load_record, save_record,
};
use wagate_core::ports::{BlobWriter, Blobs, PortResult, Queue};
use wagate_core::{Event, InboundContent, MediaCaps, MediaKind, SessionId};

use crate::config::HostConfig;
use crate::connector::{Connection, IncomingMessage};
use crate::events;

/// Downloads at once per host.
const CONCURRENT: usize = 4;
/// Events waiting for a download slot, per host, before new ones stop waiting.
pub const MAX_WAITING: usize = 256;

/// The host's download slots, its URL signer and its limits.
#[derive(Debug)]
pub struct ReceivedMedia {
    pub linker: Linker,
    pub caps: MediaCaps,
    pub default_mode: InboundMediaMode,
    slots: Arc<Semaphore>,
    waiting: AtomicUsize,
}

/// Where events waiting for their media are kept until sent.
pub fn pending_prefix(session: &SessionId) -> String {
    format!("media/in-pending/{session}/")
}

fn pending_key(session: &SessionId, event: &Event) -> String {
    format!("{}{}.json", pending_prefix(session), event.id)
}

impl ReceivedMedia {
    pub fn new(config: &HostConfig) -> Self {
        Self {
            linker: Linker::new(&config.public_url, config.media_url_ttl),
            caps: config.inbound_caps,
            default_mode: config.inbound_media,
            slots: Arc::new(Semaphore::new(CONCURRENT)),
            waiting: AtomicUsize::new(0),
        }
    }

    /// The largest file of `kind` a session downloads.
    pub fn cap(&self, r: &MediaRecord) -> u64 {
        use wagate_core::InboundMediaKind as K;
        match r.media_kind {
            K::Image => self.caps.max_bytes(MediaKind::Image),
            K::Video | K::Gif => self.caps.max_bytes(MediaKind::Video),
            K::Audio => self.caps.max_bytes(MediaKind::Audio),
            K::Document => self.caps.max_bytes(MediaKind::Document),
            K::Sticker => self.caps.sticker,
        }
    }

    /// Saves the record of `m`'s file and returns it; `None` when `m` has none to download
    /// or the session keeps no media.
    pub async fn register(
        &self,
        blobs: &dyn Blobs,
        session: &SessionId,
        m: &IncomingMessage,
        mode: InboundMediaMode,
    ) -> PortResult<Option<MediaRecord>> {
        let (InboundContent::Media(media), Some(handle)) = (&m.content, &m.media_handle) else {
            return Ok(None);
        };
        if mode == InboundMediaMode::Off {
            return Ok(None);
        }
        let r = MediaRecord {
            session_id: session.clone(),
            message_id: m.id.clone(),
            media_kind: media.media_kind,
            mimetype: media
                .mimetype
                .clone()
                .filter(|t| !t.is_empty())
                .unwrap_or_else(|| "application/octet-stream".into()),
            file_name: media.file_name.clone(),
            declared_size: media.size,
            handle: handle.clone(),
            state: MediaState::Available,
            attempts: 0,
            updated_at: now_ms(),
        };
        save_record(blobs, &r).await?;
        Ok(Some(r))
    }

    /// Takes a place in the download queue, unless too many events already wait.
    pub fn try_wait(self: &Arc<Self>) -> Option<WaitTicket> {
        let before = self.waiting.fetch_add(1, Ordering::SeqCst);
        if before >= MAX_WAITING {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return None;
        }
        Some(WaitTicket(self.clone()))
    }

    /// Downloads `r`'s file into the blob store (one of the host's few slots at a time),
    /// leaving `r` stored or failed, saved.
    pub async fn fetch(
        &self,
        blobs: &dyn Blobs,
        conn: Option<&dyn Connection>,
        r: &mut MediaRecord,
    ) {
        let outcome = match conn {
            None => Err("the session is not connected; ask again once it is open".to_owned()),
            Some(conn) => {
                let _slot = self.slots.acquire().await;
                self.download(blobs, conn, r).await
            }
        };
        r.attempts = r.attempts.saturating_add(1);
        r.updated_at = now_ms();
        r.state = match outcome {
            Ok((size, sha256)) => MediaState::Stored { size, sha256 },
            Err(error) => {
                tracing::warn!(session_id = %r.session_id, message_id = %r.message_id, %error, "media download failed");
                MediaState::Failed { error }
            }
        };
        if let Err(e) = save_record(blobs, r).await {
            tracing::warn!(session_id = %r.session_id, error = %e, "could not save a media record");
        }
    }

    async fn download(
        &self,
        blobs: &dyn Blobs,
        conn: &dyn Connection,
        r: &MediaRecord,
    ) -> Result<(u64, String), String> {
        let key = file_key(&r.session_id, &r.message_id);
        let max = self.cap(r);
        if let Some(declared) = r.declared_size
            && declared > max
        {
            return Err(format!(
                "the file is {declared} bytes, over the {max}-byte limit for {}",
                r.media_kind.as_str()
            ));
        }
        let inner = blobs.writer(&key).await.map_err(|e| e.to_string())?;
        let mut out = Hashing {
            inner,
            sha: Sha256::new(),
            size: 0,
            max,
        };
        match conn
            .download_media(&r.message_id, &r.handle, max, &mut out)
            .await
        {
            Ok(()) => {
                let sha = hex::encode(out.sha.finalize());
                out.inner.finish().await.map_err(|e| e.to_string())?;
                Ok((out.size, sha))
            }
            Err(e) => {
                out.inner.abort().await;
                Err(format!("{e:#}"))
            }
        }
    }

    /// The event's `media` object for `r`, with a fresh download URL when it is stored.
    pub async fn describe(&self, blobs: &dyn Blobs, r: &MediaRecord) -> Value {
        let link = match r.state {
            MediaState::Stored { .. } => {
                match self
                    .linker
                    .link(blobs, &file_key(&r.session_id, &r.message_id), now_ms())
                    .await
                {
                    Ok(l) => Some(l),
                    Err(e) => {
                        tracing::warn!(error = %e, "could not sign a media URL");
                        None
                    }
                }
            }
            _ => None,
        };
        r.event_json(link.as_ref())
    }

    /// Holds `event` (in the blob store, against a crash), downloads `record`'s file in a task
    /// of its own, then sends the event with its `media` and lets the held copy go.
    pub fn emit_after_download(
        self: Arc<Self>,
        blobs: Arc<dyn Blobs>,
        queue: Arc<dyn Queue>,
        conn: Option<Arc<dyn Connection>>,
        mut record: MediaRecord,
        mut event: Event,
        ticket: WaitTicket,
    ) {
        tokio::spawn(async move {
            let _ticket = ticket;
            if let Err(e) = self.hold(blobs.as_ref(), &event).await {
                tracing::warn!(session_id = %event.session_id, error = %e, "could not keep an event waiting for its media");
            }
            self.fetch(blobs.as_ref(), conn.as_deref(), &mut record)
                .await;
            event
                .data
                .insert("media".into(), self.describe(blobs.as_ref(), &record).await);
            match events::emit(queue.as_ref(), &event).await {
                Ok(()) => self.release(blobs.as_ref(), &event).await,
                Err(e) => {
                    tracing::warn!(session_id = %event.session_id, error = %e, "could not queue an event; it is sent when the session starts again");
                }
            }
        });
    }

    /// Sends the events a stopped host left waiting for their media (see [`Self::recover`]).
    pub async fn send_recovered(&self, blobs: &dyn Blobs, queue: &dyn Queue, session: &SessionId) {
        for event in self.recover(blobs, session).await {
            tracing::info!(session_id = %session, event_id = %event.id, "sending an event left waiting for its media");
            if events::emit(queue, &event).await.is_ok() {
                self.release(blobs, &event).await;
            }
        }
    }

    /// Downloads the file of `message_id` again in the background, unless it is stored.
    pub async fn download_on_request(
        self: Arc<Self>,
        blobs: Arc<dyn Blobs>,
        conn: Arc<dyn Connection>,
        session: &SessionId,
        message_id: &str,
    ) {
        let mut record = match load_record(blobs.as_ref(), session, message_id).await {
            Ok(Some(r)) => r,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(session_id = %session, error = %e, "could not read a media record");
                return;
            }
        };
        if let MediaState::Stored { .. } = record.state
            && matches!(
                blobs.size(&file_key(session, message_id)).await,
                Ok(Some(_))
            )
        {
            return;
        }
        tokio::spawn(async move {
            self.fetch(blobs.as_ref(), Some(conn.as_ref()), &mut record)
                .await;
        });
    }

    /// Keeps `event` until it is sent.
    pub async fn hold(&self, blobs: &dyn Blobs, event: &Event) -> PortResult<()> {
        let body = serde_json::to_vec(event).map_err(anyhow::Error::from)?;
        blobs
            .put(&pending_key(&event.session_id, event), body.into())
            .await
    }

    pub async fn release(&self, blobs: &dyn Blobs, event: &Event) {
        if let Err(e) = blobs.delete(&pending_key(&event.session_id, event)).await {
            tracing::warn!(error = %e, "could not delete a sent event's pending copy");
        }
    }

    /// The events a stopped host left waiting for their media, each with its media as it
    /// stands (a download left unfinished is marked failed, to be asked for again).
    pub async fn recover(&self, blobs: &dyn Blobs, session: &SessionId) -> Vec<Event> {
        let keys = match blobs.list(&pending_prefix(session)).await {
            Ok(k) => k,
            Err(e) => {
                tracing::warn!(session_id = %session, error = %e, "could not list the events waiting for media");
                return Vec::new();
            }
        };
        let mut out = Vec::new();
        for key in keys {
            let Ok(Some(bytes)) = blobs.get(&key).await else {
                continue;
            };
            let Ok(mut event) = serde_json::from_slice::<Event>(&bytes) else {
                let _ = blobs.delete(&key).await;
                continue;
            };
            let id = event
                .data
                .get("messageId")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            if let Ok(Some(mut r)) = load_record(blobs, session, &id).await {
                if r.state == MediaState::Available {
                    r.state = MediaState::Failed {
                        error: "the host stopped during the download; ask for it again".into(),
                    };
                    r.updated_at = now_ms();
                    let _ = save_record(blobs, &r).await;
                }
                event
                    .data
                    .insert("media".into(), self.describe(blobs, &r).await);
            }
            out.push(event);
        }
        out
    }
}

/// A place among the events waiting for a download; given back when dropped.
#[derive(Debug)]
pub struct WaitTicket(Arc<ReceivedMedia>);

impl Drop for WaitTicket {
    fn drop(&mut self) {
        self.0.waiting.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A blob writer that hashes and counts what passes through, and stops at `max`.
struct Hashing {
    inner: Box<dyn BlobWriter>,
    sha: Sha256,
    size: u64,
    max: u64,
}

#[async_trait::async_trait]
impl BlobWriter for Hashing {
    async fn write(&mut self, chunk: Bytes) -> PortResult<()> {
        self.size = self.size.saturating_add(chunk.len() as u64);
        if self.size > self.max {
            return Err(wagate_core::ports::PortError::Backend(anyhow::anyhow!(
                "the file is over the {}-byte limit",
                self.max
            )));
        }
        self.sha.update(&chunk);
        self.inner.write(chunk).await
    }

    async fn finish(self: Box<Self>) -> PortResult<u64> {
        self.inner.finish().await
    }

    async fn abort(self: Box<Self>) {
        self.inner.abort().await;
    }
}
