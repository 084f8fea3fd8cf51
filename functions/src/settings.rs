//! Runtime settings: the limits and default webhook admins change without a restart. They
//! live in the store's config so every process sees the change; each process caches them for
//! a second to keep the request path to one store read per second.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use wagate_core::policy::{Quota, RateLimit};
use wagate_core::ports::{PortResult, Store};

use crate::config::ApiConfig;

pub const RATE_LIMIT: &str = "rateLimit";
pub const QUOTA: &str = "quota";
pub const COOLDOWN_MS: &str = "cooldownMs";
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
            rate_limit: pick(RATE_LIMIT)
                .and_then(|v| serde_json::from_value(v).ok())
                .unwrap_or(self.defaults.rate_limit),
            quota: pick(QUOTA)
                .and_then(|v| serde_json::from_value(v).ok())
                .unwrap_or(self.defaults.quota),
            cooldown_ms: pick(COOLDOWN_MS)
                .and_then(|v| v.as_i64())
                .unwrap_or(self.defaults.cooldown_ms),
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
            if r.window_ms < 1000 || r.max == 0 {
                return Err("rateLimit needs windowMs >= 1000 and max >= 1".into());
            }
            Ok(())
        }
        QUOTA => {
            let q: Quota = serde_json::from_value(value.clone())
                .map_err(|e| format!("quota must be {{ limit, windowMs }}: {e}"))?;
            if q.window_ms < 1000 {
                return Err("quota needs windowMs >= 1000 (limit 0 turns it off)".into());
            }
            Ok(())
        }
        COOLDOWN_MS => match value.as_i64() {
            Some(ms) if ms >= 0 => Ok(()),
            _ => Err("cooldownMs must be a whole number of milliseconds >= 0".into()),
        },
        DEFAULT_WEBHOOK => {
            let w: WebhookSetting = serde_json::from_value(value.clone())
                .map_err(|e| format!("defaultWebhook must be {{ url, secret? }}: {e}"))?;
            wagate_core::validate_webhook_url("defaultWebhook.url", &w.url)
                .map_err(|e| e.to_string())
        }
        other => Err(format!(
            "unknown setting '{other}'; known: {RATE_LIMIT}, {QUOTA}, {COOLDOWN_MS}, {DEFAULT_WEBHOOK}"
        )),
    }
}
