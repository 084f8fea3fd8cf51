//! The media settings: size caps per kind (WhatsApp's own limits by default), the fetch
//! timeout and redirect budget, and the operator's allow-list of private hosts.

use std::time::Duration;

use wagate_core::MediaKind;
use wagate_core::env::{var_list, var_parsed};

use crate::address::AllowList;

const MIB: u64 = 1024 * 1024;

#[derive(Debug, Clone)]
pub struct MediaConfig {
    pub max_image: u64,
    pub max_video: u64,
    pub max_audio: u64,
    pub max_document: u64,
    /// A converted sticker (WebP) must come out at or under this.
    pub max_sticker: u64,
    /// The whole fetch of one URL, body included.
    pub fetch_timeout: Duration,
    pub connect_timeout: Duration,
    pub max_redirects: u8,
    pub allow: AllowList,
}

impl Default for MediaConfig {
    fn default() -> Self {
        Self {
            max_image: 5 * MIB,
            max_video: 16 * MIB,
            max_audio: 16 * MIB,
            max_document: 100 * MIB,
            max_sticker: 100 * 1024,
            fetch_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
            max_redirects: 5,
            allow: AllowList::default(),
        }
    }
}

impl MediaConfig {
    /// `MEDIA_MAX_{IMAGE,VIDEO,AUDIO,DOCUMENT,STICKER}_BYTES`, `MEDIA_FETCH_TIMEOUT_MS`,
    /// `MEDIA_MAX_REDIRECTS`, `MEDIA_ALLOW_PRIVATE`.
    pub fn from_env() -> anyhow::Result<Self> {
        let d = Self::default();
        Ok(Self {
            max_image: var_parsed("MEDIA_MAX_IMAGE_BYTES", d.max_image)?,
            max_video: var_parsed("MEDIA_MAX_VIDEO_BYTES", d.max_video)?,
            max_audio: var_parsed("MEDIA_MAX_AUDIO_BYTES", d.max_audio)?,
            max_document: var_parsed("MEDIA_MAX_DOCUMENT_BYTES", d.max_document)?,
            max_sticker: var_parsed("MEDIA_MAX_STICKER_BYTES", d.max_sticker)?,
            fetch_timeout: Duration::from_millis(var_parsed(
                "MEDIA_FETCH_TIMEOUT_MS",
                d.fetch_timeout.as_millis() as u64,
            )?),
            connect_timeout: d.connect_timeout,
            max_redirects: var_parsed("MEDIA_MAX_REDIRECTS", d.max_redirects)?,
            allow: AllowList::parse(&var_list("MEDIA_ALLOW_PRIVATE"))
                .map_err(anyhow::Error::msg)?,
        })
    }

    /// The largest file of `kind` wagate accepts.
    pub fn max_bytes(&self, kind: MediaKind) -> u64 {
        match kind {
            MediaKind::Image => self.max_image,
            MediaKind::Video => self.max_video,
            MediaKind::Audio => self.max_audio,
            MediaKind::Document => self.max_document,
        }
    }

    /// The largest upload of any kind (the cap before the kind is known).
    pub fn max_any(&self) -> u64 {
        self.max_image
            .max(self.max_video)
            .max(self.max_audio)
            .max(self.max_document)
    }
}
