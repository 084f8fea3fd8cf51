//! Who may call what: the auth matrix and session isolation.

mod common;

use axum::http::{Method, StatusCode};
use common::*;
use serde_json::json;

#[tokio::test]
async fn request_without_key_returns_401() {
    let app = spawn_app().await;
    let r = app.call(Method::GET, "/api/sessions", None, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.error_code(), "missing_api_key");
}

#[tokio::test]
async fn request_with_unknown_key_returns_401() {
    let app = spawn_app().await;
    let r = app.get("/api/sessions", "not-a-key").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.error_code(), "invalid_api_key");
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
    let r = app
        .post(
            "/api/admin/ratelimit",
            USER_A,
            json!({ "windowMs": 1000, "max": 1 }),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.get("/api/admin/config", ADMIN).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn user_cannot_see_or_use_another_users_session() {
    let app = spawn_app().await;
    app.create_session(USER_B, "b-shop").await;

    assert_eq!(
        app.get("/api/sessions/b-shop", USER_A).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("/api/sessions/b-shop/qr", USER_A).await.status,
        StatusCode::NOT_FOUND
    );
    let del = app
        .call(Method::DELETE, "/api/sessions/b-shop", Some(USER_A), None)
        .await;
    assert_eq!(del.status, StatusCode::NOT_FOUND);
    let send = app
        .post(
            "/api/messages/text",
            USER_A,
            json!({ "sessionId": "b-shop", "to": "628123456789", "text": "hi" }),
        )
        .await;
    assert_eq!(send.status, StatusCode::NOT_FOUND);
    assert_eq!(send.error_code(), "session_not_found");
    assert_eq!(app.queued("b-shop").await, 0);

    let list = app.get("/api/sessions", USER_A).await;
    assert_eq!(list.body["count"], 0);
    assert_eq!(app.get("/api/sessions", USER_B).await.body["count"], 1);
    assert_eq!(
        app.get("/api/sessions/b-shop", ADMIN).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn user_cannot_read_another_users_message() {
    let app = spawn_app().await;
    app.create_session(USER_B, "b2").await;
    let sent = app
        .post(
            "/api/messages/text",
            USER_B,
            json!({ "sessionId": "b2", "to": "628123456789", "text": "hi" }),
        )
        .await;
    let id = sent.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        app.get(&format!("/api/messages/{id}"), USER_A).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(&format!("/api/messages/{id}"), USER_B).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.get(&format!("/api/messages/{id}"), ADMIN).await.status,
        StatusCode::OK
    );
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
    let del = app
        .call(
            Method::DELETE,
            &format!("/api/admin/keys/{id}"),
            Some(ADMIN),
            None,
        )
        .await;
    assert_eq!(del.status, StatusCode::OK);
    assert_eq!(
        app.get("/api/sessions", &key).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn creating_a_key_with_a_bad_role_or_label_is_400_and_creates_nothing() {
    let app = spawn_app().await;
    let before = app.get("/api/admin/keys", ADMIN).await.body["keys"]
        .as_array()
        .unwrap()
        .len();
    let role = app
        .post("/api/admin/keys", ADMIN, json!({ "role": "superuser" }))
        .await;
    assert_eq!(role.status, StatusCode::BAD_REQUEST);
    let label = app
        .post(
            "/api/admin/keys",
            ADMIN,
            json!({ "label": "x".repeat(101) }),
        )
        .await;
    assert_eq!(label.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        app.get("/api/admin/keys", ADMIN).await.body["keys"]
            .as_array()
            .unwrap()
            .len(),
        before
    );
}
