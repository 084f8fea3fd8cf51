//! Cross-cutting HTTP layers: request ids, tracing, CORS, the security headers helmet sets,
//! and a JSON 431 for requests whose headers are too large.

use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::config::ApiConfig;
use crate::error::ApiError;

pub(crate) const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// The most header bytes (names and values) a request may carry.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;
/// The most headers a request may carry (hyper itself stops at 100 with a bare 431).
pub const MAX_HEADERS: usize = 64;

/// What helmet's defaults set, adjusted for a JSON API with one small page.
const SECURITY_HEADERS: [(HeaderName, HeaderValue); 12] = [
    header_pair(
        "content-security-policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'; connect-src 'self' *; frame-ancestors 'self'; base-uri 'self'; form-action 'self'; object-src 'none'",
    ),
    header_pair("cross-origin-opener-policy", "same-origin"),
    header_pair("cross-origin-resource-policy", "same-origin"),
    header_pair("origin-agent-cluster", "?1"),
    header_pair("referrer-policy", "no-referrer"),
    header_pair(
        "strict-transport-security",
        "max-age=31536000; includeSubDomains",
    ),
    header_pair("x-content-type-options", "nosniff"),
    header_pair("x-dns-prefetch-control", "off"),
    header_pair("x-download-options", "noopen"),
    header_pair("x-frame-options", "SAMEORIGIN"),
    header_pair("x-permitted-cross-domain-policies", "none"),
    header_pair("x-xss-protection", "0"),
];

const fn header_pair(name: &'static str, value: &'static str) -> (HeaderName, HeaderValue) {
    (
        HeaderName::from_static(name),
        HeaderValue::from_static(value),
    )
}

/// Refuses, with a JSON 431 like every other refusal, a request whose headers pass
/// [`MAX_HEADER_BYTES`] or [`MAX_HEADERS`], before any other work, and gives every answer the
/// security headers a handler did not set itself. One layer, not one per header: each layer
/// is a future wrapped around every request's.
async fn edge(req: Request, next: Next) -> Response {
    let mut resp = bounded(req, next).await;
    let headers = resp.headers_mut();
    for (name, value) in SECURITY_HEADERS {
        if let header::Entry::Vacant(slot) = headers.entry(name) {
            slot.insert(value);
        }
    }
    resp
}

async fn bounded(req: Request, next: Next) -> Response {
    let headers = req.headers();
    let bytes: usize = headers
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len())
        .sum();
    if bytes > MAX_HEADER_BYTES || headers.len() > MAX_HEADERS {
        return ApiError::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers_too_large",
            format!(
                "request headers may carry at most {MAX_HEADERS} fields and {MAX_HEADER_BYTES} bytes"
            ),
        )
        .into_response();
    }
    next.run(req).await
}

pub fn apply(mut router: Router, config: &ApiConfig) -> Router {
    router = router.layer(axum::middleware::from_fn(edge));
    if let Some(cors) = cors(&config.allowed_origins) {
        router = router.layer(cors);
    }
    // Outermost: the request id is set first and copied to the response last, so every log
    // line of the request and the client's answer carry the same id.
    router
        .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
            let id = req.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
            tracing::info_span!("http", method = %req.method(), path = %req.uri().path(), request_id = %id)
        }))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

/// `ALLOWED_ORIGINS`: a list of origins, or `*` for any. Unset: no CORS headers at all, so
/// only same-origin pages (the bundled UI) can call the API from a browser.
fn cors(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([Method::GET, Method::POST, Method::DELETE, Method::OPTIONS])
            .allow_headers([
                header::CONTENT_TYPE,
                HeaderName::from_static("x-api-key"),
                HeaderName::from_static("idempotency-key"),
            ])
            .expose_headers([
                header::RETRY_AFTER,
                HeaderName::from_static("x-ratelimit-limit"),
                HeaderName::from_static("x-ratelimit-remaining"),
                HeaderName::from_static("x-ratelimit-reset"),
                HeaderName::from_static("x-quota-limit"),
                HeaderName::from_static("x-quota-remaining"),
                HeaderName::from_static("x-quota-reset"),
                REQUEST_ID,
            ])
            .max_age(Duration::from_secs(600)),
    )
}
