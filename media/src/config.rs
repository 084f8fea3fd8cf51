//! The media settings: size caps per kind (WhatsApp's own limits by default), the fetch
//! timeout and redirect budget, and the operator's allow-list of private hosts.

use std::time::Duration;

use wagate_core::{MediaCaps, MediaKind};

use crate::address::AllowList;

#[derive(Debug, Clone)]
pub struct MediaConfig {
    /// The largest file of each kind (`MEDIA_MAX_*_BYTES`).
    pub caps: MediaCaps,
    /// The whole fetch of one URL, body included (`MEDIA_FETCH_TIMEOUT_MS`).
    pub fetch_timeout: Duration,
    pub connect_timeout: Duration,
    /// `MEDIA_MAX_REDIRECTS`.
    pub max_redirects: u8,
    /// Private hosts, addresses and networks media may be fetched from (`MEDIA_ALLOW_PRIVATE`).
    pub allow: AllowList,
}

impl Default for MediaConfig {
    fn default() -> Self {
        Self {
            caps: MediaCaps::default(),
            fetch_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
            max_redirects: 5,
            allow: AllowList::default(),
        }
    }
}

impl MediaConfig {
    /// The largest file of `kind` wagate accepts.
    pub fn max_bytes(&self, kind: MediaKind) -> u64 {
        self.caps.max_bytes(kind)
    }

    /// The largest upload of any kind (the cap before the kind is known).
    pub fn max_any(&self) -> u64 {
        self.caps.max_any()
    }
}
