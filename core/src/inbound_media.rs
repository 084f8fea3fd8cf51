//! Media of received messages: where its file and its record live in the blob store, what the
//! record says, and the download URLs handed out for it. The session host writes both (it
//! alone can download from WhatsApp); the API reads them to answer
//! `GET /api/sessions/:id/messages/:messageId/media` and to serve its own signed URLs.
//!
//! A download URL is an S3 presigned GET where the blob store can sign one; the embedded store
//! cannot, so wagate serves [`DOWNLOAD_PATH`] itself, authorised by an HMAC over the key and
//! expiry with a key kept in the blob store ([`link_secret`]), so URLs in queued webhooks keep
//! working across restarts.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::ports::{Blobs, PortResult};
use crate::{InboundMediaKind, SessionId, random_token, webhook};

/// Where the embedded mode serves signed downloads (no API key: the signature is the grant).
pub const DOWNLOAD_PATH: &str = "/api/media/download";
const SECRET_KEY: &str = "keys/media-links";

/// What a session does with the media of the messages it receives (`INBOUND_MEDIA`, and
/// `inboundMedia` per session).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InboundMediaMode {
    /// Downloaded into the blob store before the event goes out; the event carries a URL.
    #[default]
    Auto,
    /// The event says the media is there; `GET …/messages/:id/media` downloads it then.
    OnRequest,
    /// Not downloaded, not kept: the event describes the media only.
    Off,
}

impl InboundMediaMode {
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Some(Self::Auto),
            "on-request" | "on_request" | "onrequest" => Some(Self::OnRequest),
            "off" => Some(Self::Off),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::OnRequest => "on-request",
            Self::Off => "off",
        }
    }
}

/// Where a received message's media stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "status",
    rename_all = "snake_case",
    rename_all_fields = "camelCase"
)]
pub enum MediaState {
    /// Known, not downloaded (yet).
    Available,
    /// In the blob store at [`file_key`].
    Stored { size: u64, sha256: String },
    /// The last download failed; another may work (WhatsApp can re-upload expired media).
    Failed { error: String },
}

/// What the host knows of one received media file: enough to download it again and to
/// describe it. Stored as JSON at [`record_key`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MediaRecord {
    pub session_id: SessionId,
    pub message_id: String,
    pub media_kind: InboundMediaKind,
    pub mimetype: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    /// The size WhatsApp announced, before any download.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declared_size: Option<u64>,
    /// The connector's own reference to the file (CDN path and keys on WhatsApp).
    pub handle: Value,
    #[serde(flatten)]
    pub state: MediaState,
    /// Downloads tried so far.
    #[serde(default)]
    pub attempts: u32,
    pub updated_at: i64,
}

impl MediaRecord {
    /// The event's `media` object: `{ status, mimetype, size?, fileName?, sha256?, url?,
    /// expiresAt?, error?, downloadPath }`.
    pub fn event_json(&self, link: Option<&Link>) -> Value {
        let mut v = json!({
            "mimetype": self.mimetype,
            "downloadPath": download_route(&self.session_id, &self.message_id),
        });
        match &self.state {
            MediaState::Available => {
                v["status"] = json!("available");
                if let Some(s) = self.declared_size {
                    v["size"] = json!(s);
                }
            }
            MediaState::Stored { size, sha256 } => {
                v["status"] = json!("stored");
                v["size"] = json!(size);
                v["sha256"] = json!(sha256);
            }
            MediaState::Failed { error } => {
                v["status"] = json!("failed");
                v["error"] = json!(error);
                if let Some(s) = self.declared_size {
                    v["size"] = json!(s);
                }
            }
        }
        if let Some(name) = &self.file_name {
            v["fileName"] = json!(name);
        }
        if let Some(l) = link {
            v["url"] = json!(l.url);
            v["expiresAt"] = json!(l.expires_at_ms);
        }
        v
    }
}

/// The API route that downloads (or re-downloads) a message's media.
pub fn download_route(session: &SessionId, message_id: &str) -> String {
    format!("/api/sessions/{session}/messages/{message_id}/media")
}

/// A message id as one blob-key segment: itself when it is made of key characters (WhatsApp's
/// are), else a hash of it, so no id can escape its directory.
fn id_segment(message_id: &str) -> String {
    let plain = !message_id.is_empty()
        && message_id.len() <= 128
        && message_id != "."
        && message_id != ".."
        && message_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'));
    if plain {
        message_id.to_owned()
    } else {
        format!(
            "h.{}",
            &hex::encode(Sha256::digest(message_id.as_bytes()))[..40]
        )
    }
}

/// Where a session's received media lives (the retention sweep and S3's lifecycle rule cover
/// `media/`).
pub fn session_prefix(session: &SessionId) -> String {
    format!("media/in/{session}/")
}

/// The downloaded file of `message_id`.
pub fn file_key(session: &SessionId, message_id: &str) -> String {
    format!("{}{}/file", session_prefix(session), id_segment(message_id))
}

/// The [`MediaRecord`] of `message_id`.
pub fn record_key(session: &SessionId, message_id: &str) -> String {
    format!(
        "{}{}/record.json",
        session_prefix(session),
        id_segment(message_id)
    )
}

/// Reads the record of `message_id`; a record that no longer parses counts as none.
pub async fn load_record(
    blobs: &dyn Blobs,
    session: &SessionId,
    message_id: &str,
) -> PortResult<Option<MediaRecord>> {
    let Some(bytes) = blobs.get(&record_key(session, message_id)).await? else {
        return Ok(None);
    };
    Ok(serde_json::from_slice(&bytes).ok())
}

pub async fn save_record(blobs: &dyn Blobs, r: &MediaRecord) -> PortResult<()> {
    let body = serde_json::to_vec(r).map_err(anyhow::Error::from)?;
    blobs
        .put(&record_key(&r.session_id, &r.message_id), body.into())
        .await
}

/// A time-limited download URL.
pub use crate::ports::PresignedGet as Link;

/// Makes download URLs: presigned by the blob store when it can, else signed by wagate for
/// [`DOWNLOAD_PATH`] under `base_url` with the key from [`link_secret`] (read on first use).
#[derive(Clone)]
pub struct Linker {
    base_url: String,
    ttl: Duration,
    secret: std::sync::Arc<tokio::sync::OnceCell<String>>,
}

impl std::fmt::Debug for Linker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Linker")
            .field("base_url", &self.base_url)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

/// Why a wagate-signed URL was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LinkRefused {
    #[error("this download URL is not valid")]
    BadSignature,
    #[error("this download URL has expired")]
    Expired,
}

impl Linker {
    /// `base_url` is how clients reach the API (`PUBLIC_URL`); links live `ttl`.
    pub fn new(base_url: &str, ttl: Duration) -> Self {
        Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            ttl,
            secret: std::sync::Arc::default(),
        }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The same signer for URLs under another `base_url` (the one a request came to).
    pub fn with_base(&self, base_url: &str) -> Self {
        Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            ..self.clone()
        }
    }

    async fn secret(&self, blobs: &dyn Blobs) -> PortResult<&str> {
        self.secret
            .get_or_try_init(|| link_secret(blobs))
            .await
            .map(String::as_str)
    }

    /// A URL for the blob `key`, valid for the linker's TTL from `now_ms`.
    pub async fn link(&self, blobs: &dyn Blobs, key: &str, now_ms: i64) -> PortResult<Link> {
        if let Some(signed) = blobs.presign_get(key, self.ttl).await? {
            return Ok(signed);
        }
        let ttl_ms = i64::try_from(self.ttl.as_millis()).unwrap_or(i64::MAX);
        let expires = now_ms.saturating_add(ttl_ms);
        let sig = signature(self.secret(blobs).await?, key, expires);
        let key_q: String = url::form_urlencoded::byte_serialize(key.as_bytes()).collect();
        Ok(Link {
            url: format!(
                "{}{DOWNLOAD_PATH}?key={key_q}&expires={expires}&sig={sig}",
                self.base_url
            ),
            expires_at_ms: expires,
        })
    }

    /// Checks a URL this linker (or another with the same blob store) signed.
    pub async fn verify(
        &self,
        blobs: &dyn Blobs,
        key: &str,
        expires: i64,
        sig: &str,
        now_ms: i64,
    ) -> PortResult<Result<(), LinkRefused>> {
        Ok(check(self.secret(blobs).await?, key, expires, sig, now_ms))
    }
}

fn signature(secret: &str, key: &str, expires: i64) -> String {
    webhook::sign(secret, format!("{key}\n{expires}").as_bytes())
}

fn check(secret: &str, key: &str, expires: i64, sig: &str, now_ms: i64) -> Result<(), LinkRefused> {
    if !webhook::verify(secret, format!("{key}\n{expires}").as_bytes(), sig) {
        return Err(LinkRefused::BadSignature);
    }
    if now_ms >= expires {
        return Err(LinkRefused::Expired);
    }
    Ok(())
}

/// The key that signs the embedded mode's download URLs: read from the blob store, made on
/// first use.
pub async fn link_secret(blobs: &dyn Blobs) -> PortResult<String> {
    if let Some(b) = blobs.get(SECRET_KEY).await?
        && let Ok(s) = std::str::from_utf8(&b)
        && s.len() >= 32
    {
        return Ok(s.to_owned());
    }
    let secret = random_token(43);
    blobs.put(SECRET_KEY, secret.clone().into()).await?;
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_message_ids_are_hashed_into_one_segment() {
        let s = SessionId::parse("shop").unwrap();
        assert_eq!(file_key(&s, "3EB0A1"), "media/in/shop/3EB0A1/file");
        assert_eq!(record_key(&s, "3EB0A1"), "media/in/shop/3EB0A1/record.json");
        for id in ["../x", "a/b", "", ".", "x.json", &"A".repeat(200)] {
            let k = file_key(&s, id);
            assert!(k.starts_with("media/in/shop/h."), "{id:?} → {k}");
            crate::ports::check_blob_key(&k).unwrap();
        }
        assert_ne!(file_key(&s, "a/b"), file_key(&s, "a/c"));
    }

    #[test]
    fn signed_urls_verify_until_they_expire_and_only_for_their_key() {
        let secret = "s".repeat(40);
        let expires = 1_000 + 60_000;
        let key = "media/in/a/b/file";
        let sig = signature(&secret, key, expires);
        assert_eq!(check(&secret, key, expires, &sig, 1_000), Ok(()));
        assert_eq!(
            check(&secret, key, expires, &sig, expires),
            Err(LinkRefused::Expired)
        );
        assert_eq!(
            check(&secret, "media/in/a/c/file", expires, &sig, 1_000),
            Err(LinkRefused::BadSignature)
        );
        assert_eq!(
            check(&secret, key, expires + 1, &sig, 1_000),
            Err(LinkRefused::BadSignature)
        );
        assert_eq!(
            check(&"t".repeat(40), key, expires, &sig, 1_000),
            Err(LinkRefused::BadSignature)
        );
    }

    #[test]
    fn modes_parse_in_the_documented_spellings() {
        assert_eq!(
            InboundMediaMode::parse("AUTO"),
            Some(InboundMediaMode::Auto)
        );
        assert_eq!(
            InboundMediaMode::parse("on-request"),
            Some(InboundMediaMode::OnRequest)
        );
        assert_eq!(
            InboundMediaMode::parse(" off "),
            Some(InboundMediaMode::Off)
        );
        assert_eq!(InboundMediaMode::parse("sometimes"), None);
        assert_eq!(
            serde_json::to_value(InboundMediaMode::OnRequest).unwrap(),
            json!("on-request")
        );
    }

    #[test]
    fn the_event_object_follows_the_state() {
        let mut r = MediaRecord {
            session_id: SessionId::parse("shop").unwrap(),
            message_id: "M1".into(),
            media_kind: InboundMediaKind::Image,
            mimetype: "image/jpeg".into(),
            file_name: None,
            declared_size: Some(10),
            handle: json!({}),
            state: MediaState::Available,
            attempts: 0,
            updated_at: 0,
        };
        let v = r.event_json(None);
        assert_eq!(v["status"], "available");
        assert_eq!(v["downloadPath"], "/api/sessions/shop/messages/M1/media");
        assert!(v.get("url").is_none());
        r.state = MediaState::Stored {
            size: 9,
            sha256: "ab".into(),
        };
        let link = Link {
            url: "http://x".into(),
            expires_at_ms: 5,
        };
        let v = r.event_json(Some(&link));
        assert_eq!(
            (v["size"].as_u64(), v["sha256"].as_str()),
            (Some(9), Some("ab"))
        );
        assert_eq!(
            (v["url"].as_str(), v["expiresAt"].as_i64()),
            (Some("http://x"), Some(5))
        );
        r.state = MediaState::Failed {
            error: "expired".into(),
        };
        let v = r.event_json(None);
        assert_eq!(
            (v["status"].as_str(), v["error"].as_str()),
            (Some("failed"), Some("expired"))
        );
        let back: MediaRecord = serde_json::from_value(serde_json::to_value(&r).unwrap()).unwrap();
        assert_eq!(back, r);
    }
}
