//! Limits under hostile settings: out-of-range windows and counts are refused without
//! changing anything, an admin cannot lock itself out, and keys are compared exactly.

mod common;

use axum::http::StatusCode;
use common::*;
use serde_json::{Value, json};

/// Every way an admin sets a limit, with a value that overflowed the arithmetic before.
fn overflowing_settings() -> Vec<(&'static str, Value)> {
    vec![
        (
            "/api/admin/ratelimit",
            json!({ "windowMs": i64::MAX, "max": 100 }),
        ),
        ("/api/admin/ratelimit", json!({ "windowMs": -1, "max": 3 })),
        (
            "/api/admin/ratelimit",
            json!({ "windowMs": 60000, "max": u64::MAX }),
        ),
        (
            "/api/admin/config",
            json!({ "rateLimit": { "windowMs": i64::MAX, "max": 100 } }),
        ),
        (
            "/api/admin/config",
            json!({ "quota": { "limit": 5, "windowMs": i64::MAX } }),
        ),
        (
            "/api/admin/config",
            json!({ "quota": { "limit": u64::MAX, "windowMs": 60000 } }),
        ),
        ("/api/admin/config", json!({ "cooldownMs": i64::MAX })),
        ("/api/admin/config", json!({ "cooldownMs": -5 })),
    ]
}

async fn assert_get(app: &TestApp, path: &str, key: &str, expected: StatusCode) {
    let r = app.get(path, key).await;
    assert_eq!(r.status, expected, "GET {path}: {:?}", r.body);
}

async fn set_rate_limit(app: &TestApp, window_ms: i64, max: u64) {
    app.post_expect(
        "/api/admin/ratelimit",
        ADMIN,
        json!({ "windowMs": window_ms, "max": max }),
        StatusCode::OK,
    )
    .await;
}

async fn create_session(app: &TestApp, key: &str, id: &str) {
    app.post_expect(
        "/api/sessions",
        key,
        json!({ "sessionId": id }),
        StatusCode::CREATED,
    )
    .await;
}

#[tokio::test]
async fn out_of_range_limits_are_refused_and_the_limit_keeps_limiting() {
    let app = spawn_app().await;
    set_rate_limit(&app, 60000, 3).await;
    for (path, body) in overflowing_settings() {
        let r = app.post(path, ADMIN, body.clone()).await;
        assert_eq!(
            r.status,
            StatusCode::BAD_REQUEST,
            "{path} {body}: {:?}",
            r.body
        );
        assert_eq!(r.error_code(), "validation_error", "{path} {body}");
    }
    let config = app.get("/api/admin/config", ADMIN).await;
    assert_eq!(config.body["rateLimit"]["max"], 3, "{:?}", config.body);

    for i in 0..3 {
        let r = app.get("/api/sessions", USER_A).await;
        assert_eq!(r.status, StatusCode::OK, "request {i}");
        let reset: i64 = r.header("x-ratelimit-reset").unwrap().parse().unwrap();
        assert!(reset > 0, "reset {reset}");
    }
    assert_get(&app, "/api/sessions", USER_A, StatusCode::TOO_MANY_REQUESTS).await;
}

#[tokio::test]
async fn a_rate_limit_of_one_does_not_lock_the_admin_out() {
    let app = spawn_app().await;
    set_rate_limit(&app, 3_600_000, 1).await;
    // Everyone's other routes are limited, the admin's included...
    assert_get(&app, "/api/sessions", USER_A, StatusCode::OK).await;
    assert_get(&app, "/api/sessions", USER_A, StatusCode::TOO_MANY_REQUESTS).await;
    assert_get(&app, "/api/sessions", ADMIN, StatusCode::OK).await;
    assert_get(&app, "/api/sessions", ADMIN, StatusCode::TOO_MANY_REQUESTS).await;
    // ...but the admin routes answer the admin, so the limit can be raised again.
    for _ in 0..5 {
        assert_get(&app, "/api/admin/config", ADMIN, StatusCode::OK).await;
    }
    set_rate_limit(&app, 60000, 100).await;
    assert_get(&app, "/api/sessions", USER_A, StatusCode::OK).await;
    // A user key gets no exemption from the admin prefix: it is refused there (403) and
    // still counted.
    assert_get(&app, "/api/admin/config", USER_A, StatusCode::FORBIDDEN).await;
}

#[tokio::test]
async fn keys_are_compared_exactly() {
    let app = spawn_app().await;
    assert_get(&app, "/api/sessions", ADMIN, StatusCode::OK).await;
    for near in [
        format!("{ADMIN} "),
        format!(" {ADMIN}"),
        format!("{ADMIN}\t"),
    ] {
        let r = app.get("/api/sessions", &near).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{near:?}");
        assert_eq!(r.error_code(), "invalid_api_key");
    }
}

#[tokio::test]
async fn unknown_api_paths_need_a_key_before_they_are_404() {
    let app = spawn_app().await;
    let r = app.get_without_key("/api/no-such-route").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.error_code(), "missing_api_key");
    let r = app.get("/api/no-such-route", "not-a-key").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = app.get("/api/no-such-route", USER_A).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.error_code(), "route_not_found");
}

#[tokio::test]
async fn a_user_key_holds_at_most_its_session_cap_and_an_admin_changes_it() {
    let app = spawn_app_with(|c| c.sessions_per_key = 2).await;
    for id in ["cap-1", "cap-2"] {
        create_session(&app, USER_A, id).await;
    }
    let r = app
        .post("/api/sessions", USER_A, json!({ "sessionId": "cap-3" }))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{:?}", r.body);
    assert_eq!(r.error_code(), "session_limit");
    assert!(app.stored_session("cap-3").await.is_none());
    // Per key: another user, and the admin, are not held by USER_A's count.
    create_session(&app, USER_B, "other-1").await;
    for bad in [json!(0), json!(-1), json!("many"), json!(u64::MAX)] {
        let r = app
            .post("/api/admin/config", ADMIN, json!({ "sessionsPerKey": bad }))
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}");
    }
    app.post_expect(
        "/api/admin/config",
        ADMIN,
        json!({ "sessionsPerKey": 3 }),
        StatusCode::OK,
    )
    .await;
    create_session(&app, USER_A, "cap-3").await;
}

#[tokio::test]
async fn wrong_keys_from_one_address_are_slowed_down_and_then_even_a_right_key_waits() {
    let app = spawn_app_with(|c| {
        c.auth_failures = wagate_core::policy::RateLimit {
            window_ms: 60_000,
            max: 5,
        }
    })
    .await;
    let from = |key: &str, addr: &str| {
        axum::http::Request::get("/api/sessions")
            .header("x-api-key", key)
            .header("x-forwarded-for", format!("203.0.113.9, {addr}"))
            .body(axum::body::Body::empty())
            .unwrap()
    };
    for i in 0..5 {
        let r = app
            .request(from(&format!("guess-{i}"), "198.51.100.7"))
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "guess {i}");
    }
    let r = app.request(from("guess-5", "198.51.100.7")).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.error_code(), "too_many_auth_failures");
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    // Locked out: the right key gets the same answer, so a guesser learns nothing.
    let r = app.request(from(USER_A, "198.51.100.7")).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    // Another address is not held by it.
    let r = app.request(from(USER_A, "198.51.100.8")).await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn oversized_headers_get_a_json_431() {
    let app = spawn_app().await;
    let big = axum::http::Request::get("/api/sessions")
        .header("x-api-key", USER_A)
        .header("x-filler", "a".repeat(40 * 1024))
        .body(axum::body::Body::empty())
        .unwrap();
    let r = app.request(big).await;
    assert_eq!(r.status, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    assert_eq!(r.error_code(), "headers_too_large");
    let mut many = axum::http::Request::get("/health").header("x-api-key", USER_A);
    for i in 0..80 {
        many = many.header(format!("x-h{i}"), "v");
    }
    let r = app
        .request(many.body(axum::body::Body::empty()).unwrap())
        .await;
    assert_eq!(r.status, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    assert_eq!(r.error_code(), "headers_too_large");
    // An ordinary request is not affected.
    assert_get(&app, "/api/sessions", USER_A, StatusCode::OK).await;
}
