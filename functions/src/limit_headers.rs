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

fn insert_limit_headers(headers: &mut HeaderMap, prefix: &str, st: &LimitStatus) {
    for (k, v) in limit_headers(prefix, st) {
        if let Ok(v) = HeaderValue::from_str(&v) {
            headers.insert(k, v);
        }
    }
}

/// A limit the API reports: its refusal code, its name in messages, what it counts, and the
/// prefix of its headers.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub code: &'static str,
    pub name: &'static str,
    pub unit: &'static str,
    pub header: &'static str,
}

pub const RATE_LIMIT: Limit = Limit {
    code: "rate_limited",
    name: "rate limit",
    unit: "requests",
    header: "x-ratelimit",
};

pub const QUOTA: Limit = Limit {
    code: "quota_exceeded",
    name: "quota",
    unit: "messages",
    header: "x-quota",
};

impl Limit {
    /// A 429 for this limit refusing a request in a window of `window_ms`: `Retry-After` and
    /// the limit's headers set.
    pub fn refusal(&self, st: &LimitStatus, window_ms: i64, now_ms: i64) -> ApiError {
        let message = format!(
            "{} of {} {} per {window_ms} ms reached",
            self.name, st.limit, self.unit
        );
        let mut err = ApiError::too_many(self.code, message, st.retry_after_secs(now_ms));
        for (k, v) in limit_headers(self.header, st) {
            err = err.with_header(k, v);
        }
        err
    }

    /// Sets this limit's headers on an answer.
    pub fn insert_headers(&self, headers: &mut HeaderMap, st: &LimitStatus) {
        insert_limit_headers(headers, self.header, st);
    }
}
