//! Rate limit, quota, cooldown and idempotency through HTTP.

mod common;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::*;
use serde_json::json;
use wagate_core::policy::RateLimit;

const RATE_LIMIT: &str = "/api/admin/ratelimit";
const THREE_A_MINUTE: RateLimit = RateLimit {
    window_ms: 60_000,
    max: 3,
};

fn text_to(session: &str, to: &str) -> serde_json::Value {
    json!({ "sessionId": session, "to": to, "text": "hello" })
}

/// Sends "hello" to `to` through `session` as `USER_A`.
async fn send_text(app: &TestApp, session: &str, to: &str) -> Reply {
    app.post("/api/messages/text", USER_A, text_to(session, to))
        .await
}

/// A text send through `session` as `key`, with the Idempotency-Key `order-42`.
fn idempotent_send(key: &str, session: &str) -> Request<Body> {
    let body = text_to(session, "628333333333").to_string();
    post_request("/api/messages/text", key, "application/json")
        .header("idempotency-key", "order-42")
        .body(Body::from(body))
        .unwrap()
}

#[tokio::test]
async fn rate_limit_refuses_with_429_and_headers() {
    let app = spawn_app_with(|c| c.rate_limit = THREE_A_MINUTE).await;
    for i in 0..3 {
        let r = app.get("/api/sessions", USER_A).await;
        assert_eq!(r.status, StatusCode::OK, "request {i}");
        assert_eq!(r.header("x-ratelimit-limit"), Some("3"));
        assert_eq!(
            r.header("x-ratelimit-remaining"),
            Some((2 - i).to_string().as_str())
        );
        assert!(r.header("x-ratelimit-reset").is_some());
    }
    let r = app.get("/api/sessions", USER_A).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.error_code(), "rate_limited");
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry));
    assert_eq!(r.header("x-ratelimit-remaining"), Some("0"));
    // The limit is per key.
    app.expect_get("/api/sessions", USER_B, StatusCode::OK)
        .await;
}

/// A text's rate hit is counted with its intake (`deferred_rate`): the same limit and headers
/// as every other request, a refused text queues nothing, and a text that never reaches the
/// intake (a bad body) still counts.
#[tokio::test]
async fn texts_count_against_the_rate_limit_like_every_request() {
    let app = spawn_app_with(|c| c.rate_limit = THREE_A_MINUTE).await;
    app.create_session(USER_A, "r1").await;
    let sent = send_text(&app, "r1", "628111111111").await;
    assert_eq!(sent.status, StatusCode::ACCEPTED);
    assert_eq!(sent.header("x-ratelimit-limit"), Some("3"));
    assert_eq!(sent.header("x-ratelimit-remaining"), Some("1"));
    let bad = app
        .post(
            "/api/messages/text",
            USER_A,
            json!({ "sessionId": "r1", "to": "6281" }),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.header("x-ratelimit-remaining"), Some("0"));
    let over = send_text(&app, "r1", "628111111112").await;
    assert_eq!(over.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(over.error_code(), "rate_limited");
    assert!(over.header("retry-after").is_some());
    assert_eq!(over.header("x-ratelimit-remaining"), Some("0"));
    assert_eq!(app.queued("r1").await, 1);
    // Counted once per request, whichever way: a sessions listing is now refused too.
    app.expect_get("/api/sessions", USER_A, StatusCode::TOO_MANY_REQUESTS)
        .await;
    // With an Idempotency-Key (whose claim is written before the intake) the limit is checked
    // first, as on every other route: refused before its body is even read.
    let keyed = post_request("/api/messages/text", USER_A, "application/json")
        .header("idempotency-key", "order-7")
        .body(Body::from("{}"))
        .unwrap();
    let r = app.request(keyed).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.error_code(), "rate_limited");
}

#[tokio::test]
async fn admin_changes_the_rate_limit_at_runtime() {
    let app = spawn_app().await;
    let two = json!({ "windowMs": 60000, "max": 2 });
    let r = app
        .post_expect(RATE_LIMIT, ADMIN, two, StatusCode::OK)
        .await;
    assert_eq!(r.body["max"], 2);
    for status in [
        StatusCode::OK,
        StatusCode::OK,
        StatusCode::TOO_MANY_REQUESTS,
    ] {
        app.expect_get("/api/sessions", USER_A, status).await;
    }

    let bad = json!({ "windowMs": "soon", "max": 2 });
    let bad = app.post(RATE_LIMIT, ADMIN, bad).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn quota_refuses_with_429_and_quota_headers() {
    let app = spawn_app().await;
    app.set_config(json!({ "quota": { "limit": 2, "windowMs": 3600000 } }))
        .await;
    app.create_session(USER_A, "q1").await;
    let first = send_text(&app, "q1", "628111111111").await;
    assert_eq!(first.status, StatusCode::ACCEPTED);
    assert_eq!(first.header("x-quota-limit"), Some("2"));
    assert_eq!(first.header("x-quota-remaining"), Some("1"));
    assert!(first.header("x-quota-reset").is_some());
    let accepted = send_text(&app, "q1", "628111111112").await;
    assert_eq!(accepted.status, StatusCode::ACCEPTED);
    let over = send_text(&app, "q1", "628111111113").await;
    assert_eq!(over.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(over.error_code(), "quota_exceeded");
    assert!(over.header("retry-after").is_some());
    assert_eq!(over.header("x-quota-remaining"), Some("0"));
    assert_eq!(app.queued("q1").await, 2);
}

#[tokio::test]
async fn cooldown_refuses_a_second_send_to_the_same_recipient_and_refunds_quota() {
    let app = spawn_app().await;
    app.set_config(json!({ "cooldownMs": 60000, "quota": { "limit": 10, "windowMs": 3600000 } }))
        .await;
    app.create_session(USER_A, "c1").await;
    let accepted = send_text(&app, "c1", "628222222222").await;
    assert_eq!(accepted.status, StatusCode::ACCEPTED);
    let again = send_text(&app, "c1", "628222222222").await;
    assert_eq!(again.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(again.error_code(), "recipient_cooldown");
    let retry: u64 = again.header("retry-after").unwrap().parse().unwrap();
    assert!((50..=60).contains(&retry), "{retry}");
    let other = send_text(&app, "c1", "628222222223").await;
    assert_eq!(other.status, StatusCode::ACCEPTED);
    // Two sends counted, not three: the refused one was given back.
    assert_eq!(other.header("x-quota-remaining"), Some("8"));
}

#[tokio::test]
async fn idempotency_key_returns_the_first_answer_and_enqueues_once() {
    let app = app_with_session("i1").await;
    let a = app.request(idempotent_send(USER_A, "i1")).await;
    let b = app.request(idempotent_send(USER_A, "i1")).await;
    assert_eq!(a.status, StatusCode::ACCEPTED);
    assert_eq!(b.status, StatusCode::ACCEPTED);
    assert_eq!(a.body["id"], b.body["id"]);
    assert_eq!(b.body["replayed"], true);
    assert_eq!(app.queued("i1").await, 1);
    // Another key's same Idempotency-Key is a different request.
    app.create_session(USER_B, "i2").await;
    let other = app.request(idempotent_send(USER_B, "i2")).await;
    assert_ne!(other.body["id"], a.body["id"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_sends_against_a_quota_of_fifty_accept_exactly_fifty() {
    let app = Arc::new(spawn_app().await);
    app.set_config(json!({ "quota": { "limit": 50, "windowMs": 3600000 } }))
        .await;
    app.create_session(USER_A, "burst").await;
    let mut tasks = Vec::new();
    for i in 0..200 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            send_text(&app, "burst", &format!("6281000{i:05}"))
                .await
                .status
        }));
    }
    let mut accepted = 0;
    let mut refused = 0;
    for t in tasks {
        match t.await.unwrap() {
            StatusCode::ACCEPTED => accepted += 1,
            StatusCode::TOO_MANY_REQUESTS => refused += 1,
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(accepted, 50);
    assert_eq!(refused, 150);
    assert_eq!(app.queued("burst").await, 50);
}
