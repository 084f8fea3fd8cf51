//! Known API keys by hash, so most requests cost no store read for authentication. The keys of
//! the configuration (`ADMIN_API_KEY`, `USER_API_KEYS`) are held for good: they work from the
//! first request, before (or without) their records being seeded into the store, which keeps
//! that store write off a Lambda function's cold start.

use wagate_core::{ApiKeyRecord, KeyHash, KeyId};

/// How long a known key is trusted without asking the store again. A key revoked through
/// another process keeps working here for at most this long.
const KEY_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(5);
const KEY_CACHE_MAX: usize = 10_000;

/// Known keys by hash, so most requests cost no store read for authentication. Only keys
/// that exist are cached (a flood of wrong keys cannot grow it).
#[derive(Debug, Default)]
pub struct KeyCache {
    map: std::sync::Mutex<std::collections::HashMap<KeyHash, (ApiKeyRecord, std::time::Instant)>>,
    /// The configuration's keys: never expire, never evicted.
    configured: std::collections::HashMap<KeyHash, ApiKeyRecord>,
}

impl KeyCache {
    /// A cache that always knows `configured`.
    pub fn with_configured(configured: impl IntoIterator<Item = ApiKeyRecord>) -> Self {
        Self {
            map: std::sync::Mutex::default(),
            configured: configured.into_iter().map(|r| (r.hash, r)).collect(),
        }
    }

    /// Whether `id` is one of the configuration's keys.
    pub fn is_configured(&self, id: &KeyId) -> bool {
        self.configured.values().any(|r| &r.id == id)
    }

    pub fn get(&self, hash: &KeyHash) -> Option<ApiKeyRecord> {
        if let Some(rec) = self.configured.get(hash) {
            return Some(rec.clone());
        }
        let map = self.map.lock().ok()?;
        map.get(hash)
            .filter(|(_, at)| at.elapsed() < KEY_CACHE_TTL)
            .map(|(rec, _)| rec.clone())
    }

    pub fn put(&self, rec: &ApiKeyRecord) {
        if let Ok(mut map) = self.map.lock() {
            if map.len() >= KEY_CACHE_MAX {
                map.clear();
            }
            map.insert(rec.hash, (rec.clone(), std::time::Instant::now()));
        }
    }

    /// Drops a revoked key at once (in this process).
    pub fn forget(&self, id: &KeyId) {
        if let Ok(mut map) = self.map.lock() {
            map.retain(|_, (rec, _)| &rec.id != id);
        }
    }
}
