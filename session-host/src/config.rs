//! The session host's settings (the variables named on each field are read by `wagate`'s
//! one configuration).

use std::time::Duration;

use wagate_core::MediaCaps;
use wagate_core::inbound_media::InboundMediaMode;

/// How the session host paces, retries and starts sessions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostConfig {
    /// Minimum gap between two sends of one session (`SEND_MIN_GAP_MS`).
    pub send_min_gap: Duration,
    /// Up to this much random extra on top of the gap (`SEND_JITTER_MS`).
    pub send_jitter: Duration,
    /// Attempts before a transiently failing send is given up (`SEND_MAX_ATTEMPTS`).
    pub send_max_attempts: u32,
    /// Time between two session starts when the host starts (`SESSION_START_SPACING_MS`).
    pub session_start_spacing: Duration,
    /// Answer `ping` with `pong` (`AUTOREPLY_PING_PONG`).
    pub autoreply_ping_pong: bool,
    /// `REJECT_CALLS`: decline every incoming call (the `call` event still goes out).
    pub reject_calls: bool,
    /// `REJECT_CALL_MESSAGE`: sent to the caller (a normal paced send) after a call is declined.
    pub reject_call_message: Option<String>,
    /// Time between two QR payloads of the simulated network (`SIM_QR_INTERVAL_MS`).
    pub sim_qr_interval: Duration,
    /// How long a received send job stays hidden from other consumers; extended while a send
    /// is in flight.
    pub send_visibility: Duration,
    /// How long one receive on a queue waits for a message.
    pub poll_wait: Duration,
    /// This host's name in session leases (`HOST_ID`). `wagate local` uses a fixed name so a
    /// restart takes its sessions back at once; `wagate host` adds a random suffix so a
    /// replacement container waits for the old leases to expire.
    pub host_id: String,
    /// How long a lease lasts unless renewed (`LEASE_TTL_MS`); renewed every third of it. A
    /// crashed host's sessions move to another host after at most this long.
    pub lease_ttl: Duration,
    /// An open session that has heard nothing from WhatsApp (no frame, no keepalive answer)
    /// for this long is reconnected (`SESSION_STALE_MS`; 0 turns the watchdog off).
    pub stale_after: Duration,
    /// What sessions do with the media of received messages (`INBOUND_MEDIA`), unless a
    /// session says otherwise.
    pub inbound_media: InboundMediaMode,
    /// The largest received file of each kind that is downloaded (`INBOUND_MEDIA_MAX_*_BYTES`).
    pub inbound_caps: MediaCaps,
    /// How long a received file's download URL works (`MEDIA_URL_TTL_SECS`).
    pub media_url_ttl: Duration,
    /// How clients reach the API, for the download URLs wagate signs itself (`PUBLIC_URL`,
    /// else this machine's `PORT`).
    pub public_url: String,
}

/// Received files may be larger than what WhatsApp lets an account send.
pub fn default_inbound_caps() -> MediaCaps {
    const MIB: u64 = 1024 * 1024;
    MediaCaps {
        image: 16 * MIB,
        video: 100 * MIB,
        audio: 100 * MIB,
        document: 100 * MIB,
        sticker: MIB,
    }
}

impl Default for HostConfig {
    fn default() -> Self {
        Self {
            send_min_gap: Duration::from_millis(1000),
            send_jitter: Duration::from_millis(500),
            send_max_attempts: 5,
            session_start_spacing: Duration::from_millis(250),
            autoreply_ping_pong: true,
            reject_calls: false,
            reject_call_message: None,
            sim_qr_interval: Duration::from_millis(20_000),
            send_visibility: Duration::from_secs(30),
            poll_wait: Duration::from_secs(1),
            host_id: "local".into(),
            lease_ttl: Duration::from_secs(30),
            stale_after: Duration::from_secs(120),
            inbound_media: InboundMediaMode::Auto,
            inbound_caps: default_inbound_caps(),
            media_url_ttl: Duration::from_secs(3600),
            public_url: "http://localhost:4000".into(),
        }
    }
}

impl HostConfig {
    /// The lease length as the store counts it (milliseconds).
    pub fn lease_ttl_ms(&self) -> i64 {
        i64::try_from(self.lease_ttl.as_millis()).unwrap_or(i64::MAX)
    }
}
