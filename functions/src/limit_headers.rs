//! The `X-RateLimit-*` and `X-Quota-*` headers: one format for every limit the API reports.

use axum::http::{HeaderMap, HeaderValue};
use wagate_core::policy::LimitStatus;

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
