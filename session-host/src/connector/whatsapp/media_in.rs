//! The files of received media messages: what a message says about its file (CDN path, keys,
//! hashes), kept as the connector's handle so the file can be fetched at once or much later,
//! and the download itself: decrypted by whatsapp-rust into an anonymous temporary file (its
//! writer must seek), then streamed into the blob store, so no file is ever held in memory.
//! A file WhatsApp no longer has is asked for again from the sender's phone (media re-upload).

use anyhow::{Context, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::io::AsyncReadExt;
use wagate_core::ports::BlobWriter;
use waproto::whatsapp as wa;
use whatsapp_rust::download::{DownloadParams, MediaType};
use whatsapp_rust::prelude::Client;
use whatsapp_rust::{MediaRetryResult, MediaReuploadRequest};

const CHUNK: usize = 256 * 1024;

/// What a media message says about its file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WaMediaHandle {
    pub direct_path: String,
    /// base64, as are the hashes.
    pub media_key: String,
    pub file_sha256: String,
    pub file_enc_sha256: String,
    pub file_length: u64,
    /// `image`, `video`, `audio`, `document` or `sticker` (the key derivation differs).
    pub media_type: String,
    /// The chat and sender as WhatsApp wrote them, for a re-upload request.
    pub chat: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participant: Option<String>,
    #[serde(default)]
    pub from_me: bool,
}

/// The CDN fields every media message kind shares.
struct Fields<'a> {
    direct_path: Option<&'a String>,
    media_key: Option<&'a Vec<u8>>,
    file_sha256: Option<&'a Vec<u8>>,
    file_enc_sha256: Option<&'a Vec<u8>>,
    file_length: Option<u64>,
}

macro_rules! fields {
    ($x:expr) => {
        Fields {
            direct_path: $x.direct_path.as_ref(),
            media_key: $x.media_key.as_ref(),
            file_sha256: $x.file_sha256.as_ref(),
            file_enc_sha256: $x.file_enc_sha256.as_ref(),
            file_length: $x.file_length,
        }
    };
}

/// The handle of the media in `m` (a message body, wrappers removed), or `None` when it has
/// no downloadable file. `chat`, `participant` and `from_me` are the message's.
pub fn handle(
    m: &wa::Message,
    chat: &str,
    participant: Option<&str>,
    from_me: bool,
) -> Option<Value> {
    let document = m.document_message.as_option().or_else(|| {
        m.document_with_caption_message
            .as_option()
            .and_then(|d| d.message.as_option())
            .and_then(|d| d.document_message.as_option())
    });
    let video = m.video_message.as_option().or(m.ptv_message.as_option());
    let (f, media_type) = if let Some(x) = m.image_message.as_option() {
        (fields!(x), "image")
    } else if let Some(x) = video {
        (fields!(x), "video")
    } else if let Some(x) = m.audio_message.as_option() {
        (fields!(x), "audio")
    } else if let Some(x) = document {
        (fields!(x), "document")
    } else if let Some(x) = m.sticker_message.as_option() {
        (fields!(x), "sticker")
    } else {
        return None;
    };
    let nonempty = |b: Option<&Vec<u8>>| b.filter(|b| !b.is_empty()).map(|b| B64.encode(b));
    let h = WaMediaHandle {
        direct_path: f.direct_path.filter(|p| !p.is_empty())?.clone(),
        media_key: nonempty(f.media_key)?,
        file_sha256: nonempty(f.file_sha256)?,
        file_enc_sha256: nonempty(f.file_enc_sha256)?,
        file_length: f.file_length.unwrap_or(0),
        media_type: media_type.into(),
        chat: chat.into(),
        participant: participant.map(Into::into),
        from_me,
    };
    serde_json::to_value(h).ok()
}

impl WaMediaHandle {
    fn media_type(&self) -> anyhow::Result<MediaType> {
        Ok(match self.media_type.as_str() {
            "image" => MediaType::Image,
            "video" => MediaType::Video,
            "audio" => MediaType::Audio,
            "document" => MediaType::Document,
            "sticker" => MediaType::Sticker,
            other => bail!("unknown media type {other:?}"),
        })
    }

    /// What whatsapp-rust downloads from, at `direct_path` (a re-uploaded file's new one).
    pub fn params(&self, direct_path: Option<&str>) -> anyhow::Result<DownloadParams> {
        let bytes =
            |s: &str, what: &str| B64.decode(s).with_context(|| format!("{what}: not base64"));
        Ok(DownloadParams::encrypted(
            direct_path.unwrap_or(&self.direct_path),
            &bytes(&self.media_key, "mediaKey")?,
            &bytes(&self.file_sha256, "fileSha256")?,
            &bytes(&self.file_enc_sha256, "fileEncSha256")?,
            self.file_length,
            self.media_type()?,
        ))
    }
}

/// Downloads the file `handle` names into `out`: at most `max_bytes`, and when WhatsApp no
/// longer has it, once more after asking the sender's phone to upload it again.
pub async fn download(
    client: &Client,
    message_id: &str,
    handle: &Value,
    max_bytes: u64,
    out: &mut dyn BlobWriter,
) -> anyhow::Result<()> {
    let h: WaMediaHandle =
        serde_json::from_value(handle.clone()).context("not a WhatsApp media handle")?;
    if h.file_length > max_bytes {
        bail!(
            "the file is {} bytes, over the {max_bytes}-byte limit",
            h.file_length
        );
    }
    let file = match client
        .download_to_writer(&h.params(None)?, tempfile::tempfile()?)
        .await
    {
        Ok(f) => f,
        Err(first) => {
            let new_path = reupload(client, message_id, &h)
                .await
                .with_context(|| format!("download failed ({first:#})"))?;
            client
                .download_to_writer(&h.params(Some(&new_path))?, tempfile::tempfile()?)
                .await
                .context("download after the re-upload failed")?
        }
    };
    copy_into(tokio::fs::File::from_std(file), max_bytes, out).await
}

/// Asks the sender's phone to upload the file again; returns its new CDN path.
async fn reupload(client: &Client, message_id: &str, h: &WaMediaHandle) -> anyhow::Result<String> {
    let chat: whatsapp_rust::Jid = h
        .chat
        .parse()
        .map_err(|e| anyhow::anyhow!("chat {}: {e:?}", h.chat))?;
    let participant: Option<whatsapp_rust::Jid> = match &h.participant {
        Some(p) => Some(
            p.parse()
                .map_err(|e| anyhow::anyhow!("participant {p}: {e:?}"))?,
        ),
        None => None,
    };
    let key = B64.decode(&h.media_key).context("mediaKey: not base64")?;
    let result = client
        .media_reupload()
        .request(&MediaReuploadRequest {
            msg_id: message_id,
            chat_jid: &chat,
            media_key: &key,
            is_from_me: h.from_me,
            participant: participant.as_ref(),
        })
        .await
        .context("asking for a re-upload")?;
    match result {
        MediaRetryResult::Success { direct_path } => Ok(direct_path),
        other => bail!("the sender's phone could not upload it again ({other:?})"),
    }
}

/// Streams a downloaded file into `out`, refusing to pass `max_bytes`.
pub async fn copy_into<R: tokio::io::AsyncRead + Unpin>(
    mut file: R,
    max_bytes: u64,
    out: &mut dyn BlobWriter,
) -> anyhow::Result<()> {
    let mut buf = vec![0u8; CHUNK];
    let mut total = 0u64;
    loop {
        let n = file
            .read(&mut buf)
            .await
            .context("reading the downloaded file")?;
        if n == 0 {
            return Ok(());
        }
        total = total.saturating_add(n as u64);
        if total > max_bytes {
            bail!("the file is over the {max_bytes}-byte limit");
        }
        out.write(Bytes::copy_from_slice(&buf[..n])).await?;
    }
}

#[cfg(test)]
mod tests;
