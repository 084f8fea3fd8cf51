//! `X-API-Key` authentication and the per-key rate limit, as one middleware in front of
//! every `/api` route. Keys are looked up by their SHA-256 hash, so the secret itself is never
//! compared byte by byte, and the store never holds it.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use wagate_core::clock::now_ms;
use wagate_core::policy::{self, LimitStatus};
use wagate_core::{ApiKey, ApiKeyRecord, KeyHash, KeyId, Role, Session};

use crate::error::ApiError;
use crate::state::AppState;

pub const API_KEY_HEADER: &str = "x-api-key";

/// The authenticated key behind a request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub key_id: KeyId,
    pub role: Role,
}

impl Caller {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Admins reach every session; users only their own.
    pub fn can_see(&self, session: &Session) -> bool {
        self.is_admin() || session.owner == self.key_id
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| ApiError::internal("Caller extracted on a route without auth"))
    }
}

/// Authenticates the key and counts the request against its rate limit.
pub async fn authenticate(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let Some(raw) = req.headers().get(API_KEY_HEADER) else {
        return Err(ApiError::new(
            axum::http::StatusCode::UNAUTHORIZED,
            "missing_api_key",
            "send your API key in the X-API-Key header",
        ));
    };
    let key = ApiKey::new(raw.to_str().unwrap_or_default().trim().to_owned());
    let hash = key.hash();
    let record = match state.keys.get(&hash) {
        Some(rec) => Some(rec),
        None => {
            let rec = state.store.api_key_by_hash(&hash).await?;
            if let Some(r) = &rec {
                state.keys.put(r);
            }
            rec
        }
    };
    let Some(record) = record.filter(|r| r.hash.ct_eq(&hash)) else {
        return Err(ApiError::new(
            axum::http::StatusCode::UNAUTHORIZED,
            "invalid_api_key",
            "the API key is not valid",
        ));
    };
    let caller = Caller {
        key_id: record.id,
        role: record.role,
    };

    let now = now_ms();
    let settings = state.settings.get(state.store.as_ref()).await?;
    let rate = policy::check_rate(
        state.store.as_ref(),
        &caller.key_id,
        settings.rate_limit,
        now,
    )
    .await?;
    if !rate.allowed {
        let mut err = ApiError::too_many(
            "rate_limited",
            format!(
                "rate limit of {} requests per {} ms reached",
                settings.rate_limit.max, settings.rate_limit.window_ms
            ),
            rate.retry_after_secs(now),
        );
        for (k, v) in limit_headers("x-ratelimit", &rate) {
            err = err.with_header(k, v);
        }
        return Err(err);
    }

    req.extensions_mut().insert(caller);
    let mut resp = next.run(req).await;
    insert_limit_headers(resp.headers_mut(), "x-ratelimit", &rate);
    Ok(resp)
}

/// `/api/admin/*` is for admin keys only.
pub async fn require_admin(caller: Caller, req: Request, next: Next) -> Result<Response, ApiError> {
    if !caller.is_admin() {
        return Err(ApiError::forbidden("this route needs an admin API key"));
    }
    Ok(next.run(req).await)
}

/// `<prefix>-limit`, `-remaining`, `-reset` (reset in Unix seconds).
pub fn limit_headers(prefix: &str, st: &LimitStatus) -> Vec<(axum::http::HeaderName, String)> {
    [
        ("limit", st.limit.to_string()),
        ("remaining", st.remaining.to_string()),
        ("reset", ((st.reset_at_ms + 999) / 1000).to_string()),
    ]
    .into_iter()
    .filter_map(|(suffix, v)| {
        axum::http::HeaderName::try_from(format!("{prefix}-{suffix}"))
            .ok()
            .map(|n| (n, v))
    })
    .collect()
}

pub fn insert_limit_headers(headers: &mut HeaderMap, prefix: &str, st: &LimitStatus) {
    for (k, v) in limit_headers(prefix, st) {
        if let Ok(v) = HeaderValue::from_str(&v) {
            headers.insert(k, v);
        }
    }
}

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
    fn get(&self, hash: &KeyHash) -> Option<ApiKeyRecord> {
        let map = self.map.lock().ok()?;
        map.get(hash)
            .filter(|(_, at)| at.elapsed() < KEY_CACHE_TTL)
            .map(|(rec, _)| rec.clone())
    }

    fn put(&self, rec: &ApiKeyRecord) {
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
