//! Runtime settings: the limits and default webhook admins change without a restart. They
//! live in the store's config so every process sees the change; each process caches them for
//! a second to keep the request path to one store read per second.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use wagate_core::policy::{Quota, RateLimit, check_cooldown_ms};
use wagate_core::ports::{PortResult, Store};

use crate::config::ApiConfig;

pub const RATE_LIMIT: &str = "rateLimit";
pub const QUOTA: &str = "quota";
pub const COOLDOWN_MS: &str = "cooldownMs";
pub const SESSIONS_PER_KEY: &str = "sessionsPerKey";
/// The highest per-key session cap an admin may set.
pub const MAX_SESSIONS_PER_KEY: u64 = 100_000;
pub const DEFAULT_WEBHOOK: &str = wagate_core::dispatch::DEFAULT_WEBHOOK_KEY;

const CACHE_TTL: Duration = Duration::from_secs(1);

/// The default webhook as stored under `defaultWebhook` (the dispatcher reads the same key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookSetting {
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    pub rate_limit: RateLimit,
    pub quota: Quota,
    pub cooldown_ms: i64,
    pub sessions_per_key: u64,
}

#[derive(Debug)]
pub struct SettingsCache {
    defaults: Settings,
    cached: Mutex<Option<(Instant, Settings)>>,
}

impl SettingsCache {
    pub fn new(cfg: &ApiConfig) -> Self {
        Self {
            defaults: Settings {
                rate_limit: cfg.rate_limit,
                quota: cfg.quota,
                cooldown_ms: cfg.cooldown_ms,
                sessions_per_key: cfg.sessions_per_key,
            },
            cached: Mutex::new(None),
        }
    }

    /// The settings in force: the store's values over the environment's.
    pub async fn get(&self, store: &dyn Store) -> PortResult<Settings> {
        if let Ok(guard) = self.cached.lock()
            && let Some((at, s)) = *guard
            && at.elapsed() < CACHE_TTL
        {
            return Ok(s);
        }
        let all = store.all_config().await?;
        let pick = |k: &str| all.get(k).cloned();
        let s = Settings {
            // A stored value outside today's bounds (written before they existed) is ignored.
            rate_limit: pick(RATE_LIMIT)
                .and_then(|v| serde_json::from_value::<RateLimit>(v).ok())
                .filter(|r| r.check().is_ok())
                .unwrap_or(self.defaults.rate_limit),
            quota: pick(QUOTA)
                .and_then(|v| serde_json::from_value::<Quota>(v).ok())
                .filter(|q| q.check().is_ok())
                .unwrap_or(self.defaults.quota),
            cooldown_ms: pick(COOLDOWN_MS)
                .and_then(|v| v.as_i64())
                .filter(|ms| check_cooldown_ms(*ms).is_ok())
                .unwrap_or(self.defaults.cooldown_ms),
            sessions_per_key: pick(SESSIONS_PER_KEY)
                .and_then(|v| v.as_u64())
                .filter(|n| check_sessions_per_key(*n).is_ok())
                .unwrap_or(self.defaults.sessions_per_key),
        };
        if let Ok(mut guard) = self.cached.lock() {
            *guard = Some((Instant::now(), s));
        }
        Ok(s)
    }

    /// Drops the cached value so this process sees an admin's change at once.
    pub fn invalidate(&self) {
        if let Ok(mut guard) = self.cached.lock() {
            *guard = None;
        }
    }
}

/// Whether a config key may be set through `POST /api/admin/config`, and its value checked.
pub fn validate_setting(key: &str, value: &Value) -> Result<(), String> {
    match key {
        RATE_LIMIT => {
            let r: RateLimit = serde_json::from_value(value.clone())
                .map_err(|e| format!("rateLimit must be {{ windowMs, max }}: {e}"))?;
            r.check()
        }
        QUOTA => {
            let q: Quota = serde_json::from_value(value.clone())
                .map_err(|e| format!("quota must be {{ limit, windowMs }}: {e}"))?;
            q.check()
        }
        COOLDOWN_MS => match value.as_i64() {
            Some(ms) => check_cooldown_ms(ms),
            None => Err("cooldownMs must be a whole number of milliseconds".into()),
        },
        DEFAULT_WEBHOOK => {
            let w: WebhookSetting = serde_json::from_value(value.clone())
                .map_err(|e| format!("defaultWebhook must be {{ url, secret? }}: {e}"))?;
            wagate_core::validate_webhook_url("defaultWebhook.url", &w.url)
                .map_err(|e| e.to_string())
        }
        SESSIONS_PER_KEY => match value.as_u64() {
            Some(n) => check_sessions_per_key(n),
            None => Err("sessionsPerKey must be a whole number".into()),
        },
        other => Err(format!(
            "unknown setting '{other}'; known: {RATE_LIMIT}, {QUOTA}, {COOLDOWN_MS}, {SESSIONS_PER_KEY}, {DEFAULT_WEBHOOK}"
        )),
    }
}

/// A per-key session cap is 1 … [`MAX_SESSIONS_PER_KEY`].
pub fn check_sessions_per_key(n: u64) -> Result<(), String> {
    wagate_core::policy::check_range("sessionsPerKey", n, 1..=MAX_SESSIONS_PER_KEY)
}
