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
use wagate_core::{ApiKey, KeyId, Role, Session};

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
    let record = state.store.api_key_by_hash(&hash).await?;
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
