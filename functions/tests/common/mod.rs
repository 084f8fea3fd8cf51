//! Test harness: the API on the embedded adapters in a temp dir, called with `oneshot`.
#![allow(dead_code)]

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tempfile::TempDir;
use tower::ServiceExt;
use wagate_functions::{ApiConfig, AppState, app};
use wagate_local::{LocalBackend, LocalOptions};

pub const ADMIN: &str = "admin-key-0123456789";
pub const USER_A: &str = "user-a-key-0123456789";
pub const USER_B: &str = "user-b-key-0123456789";

pub struct TestApp {
    pub router: Router,
    pub state: AppState,
    pub backend: LocalBackend,
    _dir: Arc<TempDir>,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn error_code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(tweak: impl FnOnce(&mut ApiConfig)) -> TestApp {
    let dir = TempDir::new().expect("temp dir");
    let backend = LocalBackend::open(dir.path(), LocalOptions::default()).expect("open backend");
    let mut config = ApiConfig {
        admin_key: Some(ADMIN.into()),
        user_keys: vec![USER_A.into(), USER_B.into()],
        dev_routes: true,
        pair_code_wait_ms: 200,
        ..ApiConfig::default()
    };
    config.rate_limit.max = 10_000;
    tweak(&mut config);
    let state = AppState::new(backend.store(), backend.queue(), backend.blobs(), config);
    state.bootstrap().await.expect("bootstrap");
    TestApp {
        router: app(state.clone()),
        state,
        backend,
        _dir: Arc::new(dir),
    }
}

impl TestApp {
    pub async fn request(&self, req: Request<Body>) -> Reply {
        let resp = self
            .router
            .clone()
            .oneshot(req)
            .await
            .expect("router never fails");
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(k) = key {
            req = req.header("x-api-key", k);
        }
        let req = match body {
            Some(b) => req
                .header("content-type", "application/json")
                .body(Body::from(b.to_string())),
            None => req.body(Body::empty()),
        };
        self.request(req.expect("request")).await
    }

    pub async fn get(&self, path: &str, key: &str) -> Reply {
        self.call(Method::GET, path, Some(key), None).await
    }

    pub async fn post(&self, path: &str, key: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(key), Some(body)).await
    }

    pub async fn create_session(&self, key: &str, id: &str) -> Reply {
        let r = self
            .post("/api/sessions", key, json!({ "sessionId": id }))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        r
    }

    /// Messages waiting in a session's send queue.
    pub async fn queued(&self, session: &str) -> u64 {
        let id = wagate_core::SessionId::parse(session).expect("session id");
        self.state
            .queue
            .depth(&wagate_core::ports::names::send(&id))
            .await
            .expect("depth")
    }

    pub async fn set_config(&self, body: Value) {
        let r = self.post("/api/admin/config", ADMIN, body).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    }
}
