//! `X-API-Key` authentication and the per-key rate limit, as one middleware in front of
//! every `/api` route. Keys are looked up by their SHA-256 hash, so the secret itself is never
//! compared byte by byte, and the store never holds it.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use wagate_core::ApiKey;
use wagate_core::clock::now_ms;
use wagate_core::policy::{self, LimitStatus};

use crate::auth_failures::client_address;
use crate::caller::Caller;
use crate::deferred_rate::{self, DeferredRate, Settled};
use crate::error::ApiError;
use crate::limit_headers::RATE_LIMIT;
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
    let address = client_address(&req);
    let mut caller = caller_of(&state, raw.to_str().unwrap_or_default(), &address).await?;
    caller.request_id = req
        .headers()
        .get(crate::layers::REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|id| wagate_core::is_sane_request_id(id))
        .map(str::to_owned);
    let now = now_ms();

    // An admin's own routes never hit the rate limit: a limit set too low must not lock out
    // the one key that can raise it again.
    if caller.is_admin() && is_admin_route(&req) {
        req.extensions_mut().insert(caller);
        return Ok(next.run(req).await);
    }

    let settings = state.settings.get(state.store.as_ref()).await?;
    if deferred_rate::defers(req.method(), original_path(&req), req.headers()) {
        let deferred = DeferredRate::new(policy::rate_charge(&caller.key_id, settings.rate_limit));
        caller.rate = Some(deferred.clone());
        req.extensions_mut().insert(caller.clone());
        let mut resp = next.run(req).await;
        let rate = match deferred.settled() {
            Settled::Charged(st) => Some(st),
            Settled::Unknown => None,
            Settled::Unclaimed => {
                let rate = settings.rate_limit;
                match policy::check_rate(state.store.as_ref(), &caller.key_id, rate, now).await {
                    Ok(st) => Some(st),
                    Err(e) => {
                        tracing::warn!(error = %e, "could not count a request against its rate limit");
                        None
                    }
                }
            }
        };
        if let Some(st) = rate {
            RATE_LIMIT.insert_headers(resp.headers_mut(), &st);
        }
        return Ok(resp);
    }
    let rate = policy::check_rate(
        state.store.as_ref(),
        &caller.key_id,
        settings.rate_limit,
        now,
    )
    .await?;
    if !rate.allowed {
        return Err(RATE_LIMIT.refusal(&rate, settings.rate_limit.window_ms, now));
    }

    req.extensions_mut().insert(caller);
    let mut resp = next.run(req).await;
    RATE_LIMIT.insert_headers(resp.headers_mut(), &rate);
    Ok(resp)
}

/// The key `raw` sent from `address`: its caller, or 401 (counted against the address) or 429
/// (the address sent too many wrong keys). The HTTP routes and the live channel's handshake
/// both come through here.
pub async fn caller_of(state: &AppState, raw: &str, address: &str) -> Result<Caller, ApiError> {
    let now = now_ms();
    if let Some(lock) = state.auth_failures.locked(address, now) {
        return Err(too_many_failures(&lock, now));
    }
    // Compared exactly: a key with a trailing space is another key.
    let key = ApiKey::new(raw.to_owned());
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
        let limit = state.config.auth_failures;
        if let Some(lock) = state
            .auth_failures
            .record(state.store.as_ref(), address, limit, now)
            .await?
        {
            return Err(too_many_failures(&lock, now));
        }
        return Err(ApiError::new(
            axum::http::StatusCode::UNAUTHORIZED,
            "invalid_api_key",
            "the API key is not valid",
        ));
    };
    Ok(Caller {
        key_id: record.id,
        role: record.role,
        request_id: None,
        rate: None,
    })
}

/// The 429 of an address that sent too many wrong keys.
fn too_many_failures(lock: &LimitStatus, now_ms: i64) -> ApiError {
    ApiError::too_many(
        "too_many_auth_failures",
        "too many wrong API keys from this address; wait before trying again",
        lock.retry_after_secs(now_ms),
    )
}

/// Whether the request is for `/api/admin/*` (seen from inside the `/api` router, whose
/// prefix axum strips, or from outside it).
fn is_admin_route(req: &Request) -> bool {
    let path = original_path(req);
    let path = path.strip_prefix("/api").unwrap_or(path);
    path == "/admin" || path.starts_with("/admin/")
}

/// The request's path as the client sent it (a nested router sees it without its prefix).
fn original_path(req: &Request) -> &str {
    req.extensions()
        .get::<axum::extract::OriginalUri>()
        .map_or_else(|| req.uri().path(), |o| o.0.path())
}

/// `/api/admin/*` is for admin keys only.
pub async fn require_admin(caller: Caller, req: Request, next: Next) -> Result<Response, ApiError> {
    if !caller.is_admin() {
        return Err(ApiError::forbidden("this route needs an admin API key"));
    }
    Ok(next.run(req).await)
}
