//! The API's configuration, read from the seed server's environment variable names so an
//! existing `.env` keeps working.

use wagate_core::env::{var, var_bool, var_list, var_parsed};
use wagate_core::policy::{Quota, RateLimit};
use wagate_media::MediaConfig;

/// Settings fixed at start. Rate limit, quota, cooldown and the default webhook start from
/// here and can be changed at runtime by admins (see [`crate::settings`]).
#[derive(Clone)]
pub struct ApiConfig {
    pub admin_key: Option<String>,
    pub user_keys: Vec<String>,
    pub rate_limit: RateLimit,
    pub quota: Quota,
    pub cooldown_ms: i64,
    /// `ALLOWED_ORIGINS`: origins allowed by CORS; `*` allows any; empty sends no CORS headers.
    pub allowed_origins: Vec<String>,
    pub max_json_bytes: usize,
    pub max_upload_bytes: usize,
    /// Routes under `/api/dev` that drive the simulated WhatsApp network.
    pub dev_routes: bool,
    /// How long `POST /api/sessions/:id/pair-code` waits for the code before answering 202.
    pub pair_code_wait_ms: u64,
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
            allowed_origins: Vec::new(),
            max_json_bytes: 1024 * 1024,
            max_upload_bytes: 100 * 1024 * 1024,
            dev_routes: false,
            pair_code_wait_ms: 10_000,
            media: MediaConfig::default(),
            public_url: None,
        }
    }
}

impl ApiConfig {
    pub fn from_env() -> anyhow::Result<Self> {
        let d = Self::default();
        Ok(Self {
            admin_key: var("ADMIN_API_KEY"),
            user_keys: var_list("USER_API_KEYS"),
            rate_limit: RateLimit {
                window_ms: var_parsed("RATE_LIMIT_WINDOW_MS", d.rate_limit.window_ms)?,
                max: var_parsed("RATE_LIMIT_MAX", d.rate_limit.max)?,
            },
            quota: Quota {
                limit: var_parsed("QUOTA_LIMIT", d.quota.limit)?,
                window_ms: var_parsed("QUOTA_WINDOW_MS", d.quota.window_ms)?,
            },
            cooldown_ms: var_parsed("SPAM_COOLDOWN_MS", d.cooldown_ms)?,
            allowed_origins: var_list("ALLOWED_ORIGINS"),
            max_json_bytes: var_parsed("MAX_JSON_BODY_BYTES", d.max_json_bytes)?,
            max_upload_bytes: var_parsed("MAX_UPLOAD_BYTES", d.max_upload_bytes)?,
            dev_routes: var_bool("DEV_ROUTES", false)?,
            pair_code_wait_ms: var_parsed("PAIR_CODE_WAIT_MS", d.pair_code_wait_ms)?,
            media: MediaConfig::from_env()?,
            public_url: var("PUBLIC_URL").map(|u| u.trim_end_matches('/').to_owned()),
        })
    }
}
