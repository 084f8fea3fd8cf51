//! Who may call what: the auth matrix and session isolation.

mod common;

use axum::http::StatusCode;
use common::*;
use serde_json::json;

/// An app on which `USER_B` has created session `id`.
async fn app_where_b_owns(id: &str) -> TestApp {
    let app = spawn_app().await;
    app.create_session(USER_B, id).await;
    app
}

#[tokio::test]
async fn request_without_key_returns_401() {
    let app = spawn_app().await;
    let r = app.get_without_key("/api/sessions").await;
    r.assert_error(StatusCode::UNAUTHORIZED, "missing_api_key");
}

#[tokio::test]
async fn request_with_unknown_key_returns_401() {
    let app = spawn_app().await;
    let r = app.get("/api/sessions", "not-a-key").await;
    r.assert_error(StatusCode::UNAUTHORIZED, "invalid_api_key");
}

#[tokio::test]
async fn user_key_on_admin_route_returns_403() {
    let app = spawn_app().await;
    for path in [
        "/api/admin/config",
        "/api/admin/keys",
        "/api/admin/dead-letters",
        "/api/admin/dead-sends",
    ] {
        let r = app.get(path, USER_A).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}");
    }
    let limit = json!({ "windowMs": 1000, "max": 1 });
    let r = app.post("/api/admin/ratelimit", USER_A, limit).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    app.expect_get("/api/admin/config", ADMIN, StatusCode::OK)
        .await;
}

#[tokio::test]
async fn user_cannot_see_or_use_another_users_session() {
    let app = app_where_b_owns("b-shop").await;

    for path in ["/api/sessions/b-shop", "/api/sessions/b-shop/qr"] {
        app.expect_get(path, USER_A, StatusCode::NOT_FOUND).await;
    }
    let del = app.delete("/api/sessions/b-shop", USER_A).await;
    assert_eq!(del.status, StatusCode::NOT_FOUND);
    let text = json!({ "sessionId": "b-shop", "to": "628123456789", "text": "hi" });
    let send = app.post("/api/messages/text", USER_A, text).await;
    assert_eq!(send.status, StatusCode::NOT_FOUND);
    assert_eq!(send.error_code(), "session_not_found");
    assert_eq!(app.queued("b-shop").await, 0);

    let list = app.get("/api/sessions", USER_A).await;
    assert_eq!(list.body["count"], 0);
    assert_eq!(app.get("/api/sessions", USER_B).await.body["count"], 1);
    app.expect_get("/api/sessions/b-shop", ADMIN, StatusCode::OK)
        .await;
}

#[tokio::test]
async fn user_cannot_read_another_users_message() {
    let app = app_where_b_owns("b2").await;
    let text = json!({ "sessionId": "b2", "to": "628123456789", "text": "hi" });
    let sent = app.post("/api/messages/text", USER_B, text).await;
    let id = sent.body["id"].as_str().unwrap().to_owned();
    let path = format!("/api/messages/{id}");
    for (key, status) in [
        (USER_A, StatusCode::NOT_FOUND),
        (USER_B, StatusCode::OK),
        (ADMIN, StatusCode::OK),
    ] {
        app.expect_get(&path, key, status).await;
    }
}

#[tokio::test]
async fn admin_created_keys_work_and_can_be_revoked() {
    let app = spawn_app().await;
    let created = app
        .post("/api/admin/keys", ADMIN, json!({ "label": "shop" }))
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let key = created.body["key"].as_str().unwrap().to_owned();
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert_eq!(app.get("/api/sessions", &key).await.status, StatusCode::OK);
    // The listing never shows a secret.
    let list = app.get("/api/admin/keys", ADMIN).await;
    assert!(!list.body.to_string().contains(&key));
    let del = app.delete(&format!("/api/admin/keys/{id}"), ADMIN).await;
    assert_eq!(del.status, StatusCode::OK);
    app.expect_get("/api/sessions", &key, StatusCode::UNAUTHORIZED)
        .await;
}

#[tokio::test]
async fn creating_a_key_with_a_bad_role_or_label_is_400_and_creates_nothing() {
    let app = spawn_app().await;
    let key_count = async || {
        let keys = app.get("/api/admin/keys", ADMIN).await;
        keys.body["keys"].as_array().unwrap().len()
    };
    let before = key_count().await;
    for bad in [
        json!({ "role": "superuser" }),
        json!({ "label": "x".repeat(101) }),
    ] {
        let r = app.post("/api/admin/keys", ADMIN, bad.clone()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}");
    }
    assert_eq!(key_count().await, before);
}
