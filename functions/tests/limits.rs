//! Rate limit, quota, cooldown and idempotency through HTTP.

mod common;

use std::sync::Arc;

use axum::http::StatusCode;
use common::*;
use serde_json::json;

fn text_to(session: &str, to: &str) -> serde_json::Value {
    json!({ "sessionId": session, "to": to, "text": "hello" })
}

#[tokio::test]
async fn rate_limit_refuses_with_429_and_headers() {
    let app = spawn_app_with(|c| {
        c.rate_limit = wagate_core::policy::RateLimit {
            window_ms: 60_000,
            max: 3,
        }
    })
    .await;
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
    assert_eq!(
        app.get("/api/sessions", USER_B).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn admin_changes_the_rate_limit_at_runtime() {
    let app = spawn_app().await;
    let r = app
        .post(
            "/api/admin/ratelimit",
            ADMIN,
            json!({ "windowMs": 60000, "max": 2 }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["max"], 2);
    assert_eq!(
        app.get("/api/sessions", USER_A).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.get("/api/sessions", USER_A).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.get("/api/sessions", USER_A).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );

    let bad = app
        .post(
            "/api/admin/ratelimit",
            ADMIN,
            json!({ "windowMs": "soon", "max": 2 }),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn quota_refuses_with_429_and_quota_headers() {
    let app = spawn_app().await;
    app.set_config(json!({ "quota": { "limit": 2, "windowMs": 3600000 } }))
        .await;
    app.create_session(USER_A, "q1").await;
    let first = app
        .post("/api/messages/text", USER_A, text_to("q1", "628111111111"))
        .await;
    assert_eq!(first.status, StatusCode::ACCEPTED);
    assert_eq!(first.header("x-quota-limit"), Some("2"));
    assert_eq!(first.header("x-quota-remaining"), Some("1"));
    assert!(first.header("x-quota-reset").is_some());
    assert_eq!(
        app.post("/api/messages/text", USER_A, text_to("q1", "628111111112"))
            .await
            .status,
        StatusCode::ACCEPTED
    );
    let over = app
        .post("/api/messages/text", USER_A, text_to("q1", "628111111113"))
        .await;
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
    assert_eq!(
        app.post("/api/messages/text", USER_A, text_to("c1", "628222222222"))
            .await
            .status,
        StatusCode::ACCEPTED
    );
    let again = app
        .post("/api/messages/text", USER_A, text_to("c1", "628222222222"))
        .await;
    assert_eq!(again.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(again.error_code(), "recipient_cooldown");
    let retry: u64 = again.header("retry-after").unwrap().parse().unwrap();
    assert!((50..=60).contains(&retry), "{retry}");
    let other = app
        .post("/api/messages/text", USER_A, text_to("c1", "628222222223"))
        .await;
    assert_eq!(other.status, StatusCode::ACCEPTED);
    // Two sends counted, not three: the refused one was given back.
    assert_eq!(other.header("x-quota-remaining"), Some("8"));
}

#[tokio::test]
async fn idempotency_key_returns_the_first_answer_and_enqueues_once() {
    let app = spawn_app().await;
    app.create_session(USER_A, "i1").await;
    let send = || {
        let req = axum::http::Request::post("/api/messages/text")
            .header("x-api-key", USER_A)
            .header("content-type", "application/json")
            .header("idempotency-key", "order-42")
            .body(axum::body::Body::from(
                text_to("i1", "628333333333").to_string(),
            ))
            .unwrap();
        app.request(req)
    };
    let a = send().await;
    let b = send().await;
    assert_eq!(a.status, StatusCode::ACCEPTED);
    assert_eq!(b.status, StatusCode::ACCEPTED);
    assert_eq!(a.body["id"], b.body["id"]);
    assert_eq!(b.body["replayed"], true);
    assert_eq!(app.queued("i1").await, 1);
    // Another key's same Idempotency-Key is a different request.
    app.create_session(USER_B, "i2").await;
    let other = app
        .request(
            axum::http::Request::post("/api/messages/text")
                .header("x-api-key", USER_B)
                .header("content-type", "application/json")
                .header("idempotency-key", "order-42")
                .body(axum::body::Body::from(
                    text_to("i2", "628333333333").to_string(),
                ))
                .unwrap(),
        )
        .await;
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
            app.post(
                "/api/messages/text",
                USER_A,
                text_to("burst", &format!("6281000{i:05}")),
            )
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
