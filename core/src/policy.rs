//! Limits: rate limit per key, quota per key, cooldown per (session, recipient). Each is one
//! atomic windowed counter in the store, so they hold across processes.

use serde::{Deserialize, Serialize};

use crate::ports::{CounterHit, PortError, PortResult, Store};
use crate::{Jid, KeyId, SessionId};

/// The shortest window a limit may count over: 1 s.
pub const MIN_WINDOW_MS: i64 = 1_000;
/// The longest window a limit (or a cooldown) may count over: 30 days.
pub const MAX_WINDOW_MS: i64 = 30 * 86_400_000;
/// The most requests or sends one window may allow.
pub const MAX_LIMIT: u64 = 1_000_000_000;

fn check_window(field: &str, window_ms: i64) -> Result<(), String> {
    if (MIN_WINDOW_MS..=MAX_WINDOW_MS).contains(&window_ms) {
        Ok(())
    } else {
        Err(format!(
            "{field} must be between {MIN_WINDOW_MS} (1 s) and {MAX_WINDOW_MS} (30 days) ms"
        ))
    }
}

/// When a window opened at `now_ms` ends. Saturates instead of overflowing, whatever the
/// inputs; the window is taken within its bounds.
pub fn window_end(now_ms: i64, window_ms: i64) -> i64 {
    now_ms.saturating_add(window_ms.clamp(1, MAX_WINDOW_MS))
}

/// Requests per key per window; changeable at runtime (`POST /api/admin/ratelimit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RateLimit {
    pub window_ms: i64,
    pub max: u64,
}

impl RateLimit {
    /// Within bounds: a window of 1 s … 30 days and a `max` of 1 … [`MAX_LIMIT`].
    pub fn check(&self) -> Result<(), String> {
        check_window("rateLimit.windowMs", self.window_ms)?;
        if !(1..=MAX_LIMIT).contains(&self.max) {
            return Err(format!("rateLimit.max must be between 1 and {MAX_LIMIT}"));
        }
        Ok(())
    }
}

/// Sends per key per window; `limit` 0 means unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Quota {
    pub limit: u64,
    pub window_ms: i64,
}

impl Quota {
    /// Within bounds: a window of 1 s … 30 days and a `limit` of 0 (off) … [`MAX_LIMIT`].
    pub fn check(&self) -> Result<(), String> {
        check_window("quota.windowMs", self.window_ms)?;
        if self.limit > MAX_LIMIT {
            return Err(format!(
                "quota.limit must be between 0 (off) and {MAX_LIMIT}"
            ));
        }
        Ok(())
    }
}

/// `value` is within `range`, else an error naming `field` and the range.
pub fn check_range<T>(
    field: &str,
    value: T,
    range: std::ops::RangeInclusive<T>,
) -> Result<(), String>
where
    T: PartialOrd + std::fmt::Display,
{
    if range.contains(&value) {
        Ok(())
    } else {
        Err(format!(
            "{field} must be between {} and {}",
            range.start(),
            range.end()
        ))
    }
}

/// A cooldown is 0 (off) … 30 days.
pub fn check_cooldown_ms(cooldown_ms: i64) -> Result<(), String> {
    check_range("cooldownMs (0 is off)", cooldown_ms, 0..=MAX_WINDOW_MS)
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
        let left = u64::try_from(self.reset_at_ms.saturating_sub(now_ms)).unwrap_or(0);
        left.div_ceil(1000).max(1)
    }

    /// When the window ends, in whole Unix seconds rounded up (the `*-Reset` headers).
    pub fn reset_secs(&self) -> u64 {
        u64::try_from(self.reset_at_ms).unwrap_or(0).div_ceil(1000)
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
    let window_ms = window_ms.clamp(MIN_WINDOW_MS, MAX_WINDOW_MS);
    let h = store.hit_counter(key, limit, window_ms, now_ms).await?;
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

/// What one request takes from the key's rate limit, when the intake charges it (see
/// `ports::Admission::rate`); [`check_rate`] is the same hit on its own.
pub fn rate_charge(key: &KeyId, rate: RateLimit) -> Charge {
    Charge {
        key: rate_key(key),
        limit: rate.max,
        window_ms: rate.window_ms.clamp(MIN_WINDOW_MS, MAX_WINDOW_MS),
        n: 1,
    }
}

/// `n` hits of one counter, all or nothing: what a send takes from a quota or a cooldown.
/// Resolved from the settings by [`quota_charge`] and [`cooldown_charge`], and applied by the
/// intake port (one transaction on the embedded store) or by [`charge`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Charge {
    pub key: String,
    pub limit: u64,
    /// Already clamped to the allowed window range.
    pub window_ms: i64,
    pub n: u64,
}

impl Charge {
    /// The status a client sees for a hit of this counter.
    pub fn status(&self, h: CounterHit) -> LimitStatus {
        LimitStatus {
            allowed: h.allowed,
            limit: self.limit,
            remaining: self.limit.saturating_sub(h.count),
            reset_at_ms: h.reset_at_ms,
        }
    }
}

/// What `n` sends of `key` take from its quota. `None` when the quota is off.
pub fn quota_charge(key: &KeyId, quota: Quota, n: u64) -> Option<Charge> {
    (quota.limit > 0).then(|| Charge {
        key: quota_key(key),
        limit: quota.limit,
        window_ms: quota.window_ms.clamp(MIN_WINDOW_MS, MAX_WINDOW_MS),
        n: n.max(1),
    })
}

/// What a send to `to` from `session` takes from the recipient cooldown (one send per
/// `cooldown_ms`). `None` when the cooldown is off.
pub fn cooldown_charge(session: &SessionId, to: &Jid, cooldown_ms: i64) -> Option<Charge> {
    (cooldown_ms > 0).then(|| Charge {
        key: cooldown_key(session, to),
        limit: 1,
        window_ms: cooldown_ms.clamp(MIN_WINDOW_MS, MAX_WINDOW_MS),
        n: 1,
    })
}

/// Applies `c` with the store's counter operations: `n` hits, taken back if one is refused.
/// Returns the refused hit's status, or the last one's.
pub async fn charge(store: &dyn Store, c: &Charge, now_ms: i64) -> PortResult<LimitStatus> {
    let mut last = None;
    for taken in 0..c.n.max(1) {
        let h = store
            .hit_counter(&c.key, c.limit, c.window_ms, now_ms)
            .await?;
        let st = c.status(h);
        if !st.allowed {
            refund(store, &c.key, taken, now_ms).await?;
            return Ok(st);
        }
        last = Some(st);
    }
    last.ok_or_else(|| PortError::Backend(anyhow::anyhow!("a charge of no hits")))
}

/// Takes back `n` hits of counter `key`.
pub async fn refund(store: &dyn Store, key: &str, n: u64, now_ms: i64) -> PortResult<()> {
    for _ in 0..n {
        store.unhit_counter(key, now_ms).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::any;

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

    proptest::proptest! {
        /// The limit arithmetic holds over the whole input range: no overflow, no panic,
        /// a reset never before the window opened, a `Retry-After` of 1 s … 30 days.
        #[test]
        fn limit_arithmetic_never_overflows(now in any::<i64>(), window in any::<i64>(), later in any::<i64>()) {
            let end = window_end(now, window);
            proptest::prop_assert!(end >= now);
            proptest::prop_assert!(end - now <= MAX_WINDOW_MS);
            let st = LimitStatus { allowed: false, limit: 1, remaining: 0, reset_at_ms: end };
            let retry = st.retry_after_secs(now);
            proptest::prop_assert!((1..=(MAX_WINDOW_MS as u64).div_ceil(1000)).contains(&retry));
            // Any moment, even one far from the window, gives a sane answer.
            proptest::prop_assert!(st.retry_after_secs(later) >= 1);
            let any = LimitStatus { reset_at_ms: later, ..st };
            let _ = any.retry_after_secs(now);
            proptest::prop_assert!(any.reset_secs() <= (i64::MAX as u64).div_ceil(1000));
        }

        #[test]
        fn checked_limits_are_exactly_the_bounded_ones(window in any::<i64>(), max in any::<u64>()) {
            let ok = RateLimit { window_ms: window, max }.check().is_ok();
            let bounded = (MIN_WINDOW_MS..=MAX_WINDOW_MS).contains(&window) && (1..=MAX_LIMIT).contains(&max);
            proptest::prop_assert_eq!(ok, bounded);
        }
    }

    #[test]
    fn limits_outside_their_bounds_are_refused() {
        let rate = |window_ms, max| RateLimit { window_ms, max }.check();
        assert!(rate(60_000, 100).is_ok());
        assert!(rate(i64::MAX, 100).is_err());
        assert!(rate(999, 100).is_err());
        assert!(rate(-1, 100).is_err());
        assert!(rate(60_000, 0).is_err());
        assert!(rate(60_000, MAX_LIMIT + 1).is_err());
        let quota = |limit, window_ms| Quota { limit, window_ms }.check();
        assert!(quota(0, 86_400_000).is_ok());
        assert!(quota(10, MAX_WINDOW_MS).is_ok());
        assert!(quota(10, MAX_WINDOW_MS + 1).is_err());
        assert!(quota(u64::MAX, 60_000).is_err());
        assert!(check_cooldown_ms(0).is_ok());
        assert!(check_cooldown_ms(-1).is_err());
        assert!(check_cooldown_ms(i64::MAX).is_err());
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
