//! Slowing down key guessing: wrong API keys are counted per client address (a store counter,
//! so the count holds across processes), and an address past `AUTH_FAILURES_MAX` in its window
//! gets 429 for every request until the window ends — a right key included, so a guesser
//! cannot tell a hit from a miss while locked out.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;

use axum::extract::{ConnectInfo, Request};
use wagate_core::policy::{LimitStatus, RateLimit};
use wagate_core::ports::{PortResult, Store};

/// Locked addresses remembered by this process, at most this many.
const MAX_LOCKED: usize = 10_000;

/// Addresses locked out until a moment (ms since the epoch), as this process saw them.
#[derive(Debug, Default)]
pub struct AuthFailures {
    locked: Mutex<HashMap<String, i64>>,
}

impl AuthFailures {
    /// The lock on `addr`, if it holds at `now_ms`.
    pub fn locked(&self, addr: &str, now_ms: i64) -> Option<LimitStatus> {
        let locked = self.locked.lock().ok()?;
        let until = *locked.get(addr)?;
        (until > now_ms).then_some(LimitStatus {
            allowed: false,
            limit: 0,
            remaining: 0,
            reset_at_ms: until,
        })
    }

    /// Counts a wrong key from `addr`; the refusal when the address is now over its limit.
    pub async fn record(
        &self,
        store: &dyn Store,
        addr: &str,
        limit: RateLimit,
        now_ms: i64,
    ) -> PortResult<Option<LimitStatus>> {
        let window_ms = limit.window_ms;
        let hit = store
            .hit_counter(&format!("authfail:{addr}"), limit.max, window_ms, now_ms)
            .await?;
        if hit.allowed {
            return Ok(None);
        }
        if let Ok(mut locked) = self.locked.lock() {
            if locked.len() >= MAX_LOCKED {
                locked.retain(|_, until| *until > now_ms);
            }
            if locked.len() < MAX_LOCKED {
                locked.insert(addr.to_owned(), hit.reset_at_ms);
            }
        }
        Ok(Some(LimitStatus {
            allowed: false,
            limit: limit.max,
            remaining: 0,
            reset_at_ms: hit.reset_at_ms,
        }))
    }
}

/// Who is asking: the peer's address when wagate serves HTTP itself, else the address the
/// nearest proxy added last to `X-Forwarded-For` (API Gateway does), else `unknown`.
pub fn client_address(req: &Request) -> String {
    address_of(req.extensions(), req.headers())
}

/// [`client_address`] from a request's parts (a Socket.IO handshake's).
pub fn address_of(extensions: &axum::http::Extensions, headers: &axum::http::HeaderMap) -> String {
    if let Some(ConnectInfo(addr)) = extensions.get::<ConnectInfo<SocketAddr>>() {
        return addr.ip().to_string();
    }
    headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(',').next())
        .map(str::trim)
        .filter(|a| !a.is_empty() && a.len() <= 64)
        .map_or_else(|| "unknown".to_owned(), str::to_owned)
}
