//! `X-API-Key` authentication and the per-key rate limit, as one middleware in front of
//! every `/api` route. Keys are looked up by their SHA-256 hash, so the secret itself is never
//! compared byte by byte, and the store never holds it.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use wagate_core::ApiKey;
use wagate_core::clock::now_ms;
use wagate_core::policy;

use crate::caller::Caller;
use crate::error::ApiError;
use crate::limit_headers::{insert_limit_headers, limit_headers};
use crate::state::AppState;

pub const API_KEY_HEADER: &str = "x-api-key";

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
