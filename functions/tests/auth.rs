//! Who may call what: the auth matrix and session isolation.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::*;
use serde_json::json;
use tempfile::TempDir;
use tower::ServiceExt;
use wagate_functions::{ApiConfig, AppState};
use wagate_local::{LocalBackend, LocalOptions};

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

#[tokio::test]
async fn configured_keys_work_before_their_records_are_stored() {
    // A state whose keys were never seeded, as a Lambda function's first request can find it.
    let dir = TempDir::new().unwrap();
    let backend = LocalBackend::open(dir.path(), LocalOptions::default()).unwrap();
    let config = ApiConfig {
        admin_key: Some(ADMIN.into()),
        user_keys: vec![USER_A.into()],
        ..ApiConfig::default()
    };
    let state = AppState::new(backend.store(), backend.queue(), backend.blobs(), config);
    let stored = |key: &'static str| {
        let store = backend.store();
        async move {
            store
                .api_key_by_hash(&wagate_core::ApiKey::new(key).hash())
                .await
                .unwrap()
        }
    };
    assert!(stored(ADMIN).await.is_none(), "nothing seeded");
    let router = wagate_functions::app(state.clone());
    let status = |key: &'static str, path: &'static str| {
        let router = router.clone();
        async move {
            let req = Request::get(path)
                .header("x-api-key", key)
                .body(Body::empty())
                .unwrap();
            router.oneshot(req).await.unwrap().status()
        }
    };
    assert_eq!(status(ADMIN, "/api/admin/keys").await, StatusCode::OK);
    assert_eq!(status(USER_A, "/api/sessions").await, StatusCode::OK);
    assert_eq!(
        status(USER_A, "/api/admin/keys").await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        status(USER_B, "/api/sessions").await,
        StatusCode::UNAUTHORIZED
    );

    state.seed_keys().await.unwrap();
    let admin = stored(ADMIN).await.expect("seeded");
    assert_eq!(admin.label, "ADMIN_API_KEY");
    assert!(stored(USER_A).await.is_some());
}

#[tokio::test]
async fn a_configured_key_cannot_be_deleted_and_keeps_working() {
    let app = spawn_app().await;
    let list = app.get("/api/admin/keys", ADMIN).await;
    let id = list.body["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["label"] == "ADMIN_API_KEY")
        .expect("the admin key is listed")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let del = app.delete(&format!("/api/admin/keys/{id}"), ADMIN).await;
    del.assert_error(StatusCode::CONFLICT, "key_configured");
    assert_eq!(
        app.get("/api/admin/keys", ADMIN).await.status,
        StatusCode::OK
    );
    let again = app.get("/api/admin/keys", ADMIN).await;
    assert_eq!(again.body["keys"], list.body["keys"], "nothing deleted");
}
