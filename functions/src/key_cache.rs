//! Known API keys by hash, so most requests cost no store read for authentication.

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
}

impl KeyCache {
    pub fn get(&self, hash: &KeyHash) -> Option<ApiKeyRecord> {
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
