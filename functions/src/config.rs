//! The API's configuration. `wagate`'s one configuration fills it from the seed server's
//! environment variable names, so an existing `.env` keeps working.

use wagate_core::policy::{Quota, RateLimit};
use wagate_media::MediaConfig;

/// Settings fixed at start. Rate limit, quota, cooldown and the default webhook start from
/// here and can be changed at runtime by admins (the `settings` module).
#[derive(Clone)]
pub struct ApiConfig {
    pub admin_key: Option<String>,
    pub user_keys: Vec<String>,
    pub rate_limit: RateLimit,
    pub quota: Quota,
    pub cooldown_ms: i64,
    /// `SESSIONS_PER_KEY`: how many sessions one user key may hold (admins: no cap);
    /// changeable at runtime (`sessionsPerKey`).
    pub sessions_per_key: u64,
    /// `AUTH_FAILURES_MAX` per `AUTH_FAILURES_WINDOW_MS`: wrong API keys one client address
    /// may send before it gets 429 for the rest of the window.
    pub auth_failures: RateLimit,
    /// `ALLOWED_ORIGINS`: origins allowed by CORS; `*` allows any; empty sends no CORS headers.
    pub allowed_origins: Vec<String>,
    pub max_json_bytes: usize,
    pub max_upload_bytes: usize,
    /// Routes under `/api/dev` that drive the simulated WhatsApp network.
    pub dev_routes: bool,
    /// How long `POST /api/sessions/:id/pair-code` waits for the code before answering 202.
    pub pair_code_wait_ms: u64,
    /// How long `GET …/messages/:id/media` waits for the host's download before answering
    /// 202 (`MEDIA_WAIT_MS`).
    pub media_wait_ms: u64,
    /// How long a received file's download URL works (`MEDIA_URL_TTL_SECS`).
    pub media_url_ttl: std::time::Duration,
    /// How long a query (`POST /api/contacts/check`) waits for the host's answer before
    /// answering 202 (`QUERY_WAIT_MS`).
    pub query_wait_ms: u64,
    /// Caps, fetch limits and trusted private hosts for media.
    pub media: MediaConfig,
    /// `PUBLIC_URL`: how clients reach this server (`https://wa.example.com`), for the upload
    /// URLs wagate hands out itself; without it they follow the request's `Host`.
    pub public_url: Option<String>,
}

impl std::fmt::Debug for ApiConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiConfig")
            .field("admin_key", &self.admin_key.as_ref().map(|_| "***"))
            .field("user_keys", &self.user_keys.len())
            .field("rate_limit", &self.rate_limit)
            .field("quota", &self.quota)
            .field("cooldown_ms", &self.cooldown_ms)
            .field("allowed_origins", &self.allowed_origins)
            .field("media", &self.media)
            .finish_non_exhaustive()
    }
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            admin_key: None,
            user_keys: Vec::new(),
            rate_limit: RateLimit {
                window_ms: 60_000,
                max: 100,
            },
            quota: Quota {
                limit: 0,
                window_ms: 86_400_000,
            },
            cooldown_ms: 0,
            sessions_per_key: 50,
            auth_failures: RateLimit {
                window_ms: 60_000,
                max: 30,
            },
            allowed_origins: Vec::new(),
            max_json_bytes: 1024 * 1024,
            max_upload_bytes: 100 * 1024 * 1024,
            dev_routes: false,
            pair_code_wait_ms: 10_000,
            media_wait_ms: 8_000,
            query_wait_ms: 5_000,
            media_url_ttl: std::time::Duration::from_secs(3600),
            media: MediaConfig::default(),
            public_url: None,
        }
    }
}
