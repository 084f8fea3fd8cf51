//! Limits: rate limit per key, quota per key, cooldown per (session, recipient). Each is one
//! atomic windowed counter in the store, so they hold across processes.

use serde::{Deserialize, Serialize};

use crate::ports::{PortResult, Store};
use crate::{Jid, KeyId, SessionId};

/// Requests per key per window; changeable at runtime (`POST /api/admin/ratelimit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RateLimit {
    pub window_ms: i64,
    pub max: u64,
}

/// Sends per key per window; `limit` 0 means unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Quota {
    pub limit: u64,
    pub window_ms: i64,
}

/// Where one limit stands after a check; becomes `X-RateLimit-*` / `X-Quota-*` headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitStatus {
    pub allowed: bool,
    pub limit: u64,
    pub remaining: u64,
    pub reset_at_ms: i64,
}

impl LimitStatus {
    /// Whole seconds until the window ends, at least 1 (for `Retry-After`).
    pub fn retry_after_secs(&self, now_ms: i64) -> u64 {
        (((self.reset_at_ms - now_ms).max(0) + 999) / 1000).max(1) as u64
    }
}

fn rate_key(key: &KeyId) -> String {
    format!("rl:{key}")
}

fn quota_key(key: &KeyId) -> String {
    format!("q:{key}")
}

fn cooldown_key(session: &SessionId, to: &Jid) -> String {
    format!("cd:{session}:{to}")
}

async fn hit(
    store: &dyn Store,
    key: &str,
    limit: u64,
    window_ms: i64,
    now_ms: i64,
) -> PortResult<LimitStatus> {
    let h = store
        .hit_counter(key, limit, window_ms.max(1), now_ms)
        .await?;
    Ok(LimitStatus {
        allowed: h.allowed,
        limit,
        remaining: limit.saturating_sub(h.count),
        reset_at_ms: h.reset_at_ms,
    })
}

/// Counts one request against the key's rate limit.
pub async fn check_rate(
    store: &dyn Store,
    key: &KeyId,
    rate: RateLimit,
    now_ms: i64,
) -> PortResult<LimitStatus> {
    hit(store, &rate_key(key), rate.max, rate.window_ms, now_ms).await
}

/// Counts `n` sends against the key's quota, all or nothing. `None` when the quota is off.
pub async fn check_quota(
    store: &dyn Store,
    key: &KeyId,
    quota: Quota,
    n: u64,
    now_ms: i64,
) -> PortResult<Option<LimitStatus>> {
    if quota.limit == 0 {
        return Ok(None);
    }
    let k = quota_key(key);
    let mut last = None;
    for taken in 0..n.max(1) {
        let st = hit(store, &k, quota.limit, quota.window_ms, now_ms).await?;
        if !st.allowed {
            for _ in 0..taken {
                store.unhit_counter(&k, now_ms).await?;
            }
            return Ok(Some(st));
        }
        last = Some(st);
    }
    Ok(last)
}

/// Gives back `n` sends counted by [`check_quota`] (a later check refused the send).
pub async fn refund_quota(
    store: &dyn Store,
    key: &KeyId,
    quota: Quota,
    n: u64,
    now_ms: i64,
) -> PortResult<()> {
    if quota.limit == 0 {
        return Ok(());
    }
    for _ in 0..n {
        store.unhit_counter(&quota_key(key), now_ms).await?;
    }
    Ok(())
}

/// One send to `to` from `session` per `cooldown_ms`. `None` when the cooldown is off.
pub async fn check_cooldown(
    store: &dyn Store,
    session: &SessionId,
    to: &Jid,
    cooldown_ms: i64,
    now_ms: i64,
) -> PortResult<Option<LimitStatus>> {
    if cooldown_ms <= 0 {
        return Ok(None);
    }
    hit(store, &cooldown_key(session, to), 1, cooldown_ms, now_ms)
        .await
        .map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        let st = LimitStatus {
            allowed: false,
            limit: 1,
            remaining: 0,
            reset_at_ms: 10_001,
        };
        assert_eq!(st.retry_after_secs(9_000), 2);
        assert_eq!(st.retry_after_secs(10_000), 1);
        assert_eq!(st.retry_after_secs(20_000), 1);
    }

    #[test]
    fn limit_configs_use_the_seed_json_names() {
        let r: RateLimit = serde_json::from_str(r#"{"windowMs":60000,"max":10}"#).unwrap();
        assert_eq!(
            r,
            RateLimit {
                window_ms: 60_000,
                max: 10
            }
        );
    }
}
