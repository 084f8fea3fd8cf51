//! The `X-RateLimit-*` and `X-Quota-*` headers: one format for every limit the API reports.

use axum::http::{HeaderMap, HeaderValue};
use wagate_core::policy::LimitStatus;

use crate::error::ApiError;

/// `<prefix>-limit`, `-remaining`, `-reset` (reset in Unix seconds).
fn limit_headers(prefix: &str, st: &LimitStatus) -> Vec<(axum::http::HeaderName, String)> {
    [
        ("limit", st.limit.to_string()),
        ("remaining", st.remaining.to_string()),
        ("reset", st.reset_secs().to_string()),
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

/// A 429 for a limit that refused a request: `Retry-After` and the limit's headers set.
pub fn refusal(
    code: &'static str,
    message: String,
    prefix: &str,
    st: &LimitStatus,
    now_ms: i64,
) -> ApiError {
    let mut err = ApiError::too_many(code, message, st.retry_after_secs(now_ms));
    for (k, v) in limit_headers(prefix, st) {
        err = err.with_header(k, v);
    }
    err
}
