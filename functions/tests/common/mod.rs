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
use wagate_core::{Job, JobId, MediaKind, MediaSource, MessageContent, Session, SessionId};
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

/// The fields of a media message, named so that a test checks only those it cares about.
#[derive(Debug)]
pub struct Media {
    pub media: MediaKind,
    pub caption: Option<String>,
    pub source: MediaSource,
    pub file_name: Option<String>,
    pub mimetype: Option<String>,
    pub ptt: bool,
    pub gif_playback: bool,
}

/// The media message `content` must be.
// One line each: rustfmt would spread both lists of seven fields over a line per field.
#[rustfmt::skip]
pub fn media_of(content: MessageContent) -> Media {
    match content {
        MessageContent::Media { media, source, caption, file_name, mimetype, ptt, gif_playback } => {
            Media { media, source, caption, file_name, mimetype, ptt, gif_playback }
        }
        other => panic!("not a media message: {other:?}"),
    }
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

    /// Asserts that the reply is the error `code` with `status`.
    pub fn assert_error(&self, status: StatusCode, code: &str) {
        assert_eq!(self.status, status, "{:?}", self.body);
        assert_eq!(self.error_code(), code);
    }

    pub fn error_message(&self) -> &str {
        self.body["error"]["message"].as_str().unwrap_or("")
    }
}

/// A POST to `path` with `key` and a `content-type`, for a test to add headers and a body to.
pub fn post_request(path: &str, key: &str, content_type: &str) -> axum::http::request::Builder {
    Request::post(path)
        .header("x-api-key", key)
        .header("content-type", content_type)
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// An app on which `USER_A` has created session `id`.
pub async fn app_with_session(id: &str) -> TestApp {
    let app = spawn_app().await;
    app.create_session(USER_A, id).await;
    app
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
    // The intake `wagate local` uses: one transaction per accepted send.
    let state = AppState::new(backend.store(), backend.queue(), backend.blobs(), config)
        .with_intake(backend.intake());
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

    /// `post`, asserting the status of the reply (its body shows when it differs).
    pub async fn post_expect(
        &self,
        path: &str,
        key: &str,
        body: Value,
        status: StatusCode,
    ) -> Reply {
        let r = self.post(path, key, body).await;
        assert_eq!(r.status, status, "POST {path}: {:?}", r.body);
        r
    }

    pub async fn get_without_key(&self, path: &str) -> Reply {
        self.call(Method::GET, path, None, None).await
    }

    /// `get`, asserting the status of the reply (its body shows when it differs).
    pub async fn expect_get(&self, path: &str, key: &str, status: StatusCode) -> Reply {
        let r = self.get(path, key).await;
        assert_eq!(r.status, status, "GET {path} as {key}: {:?}", r.body);
        r
    }

    pub async fn delete(&self, path: &str, key: &str) -> Reply {
        self.call(Method::DELETE, path, Some(key), None).await
    }

    /// The stored job whose id a reply gave as `id`.
    pub async fn job(&self, id: &Value) -> Job {
        let id = JobId::from_string(id.as_str().expect("a job id"));
        self.state
            .store
            .get_job(&id)
            .await
            .expect("get job")
            .expect("job exists")
    }

    /// The stored record of session `id`, if there is one.
    pub async fn stored_session(&self, id: &str) -> Option<Session> {
        let id = SessionId::parse(id).expect("session id");
        self.state
            .store
            .get_session(&id)
            .await
            .expect("get session")
    }

    pub async fn create_session(&self, key: &str, id: &str) -> Reply {
        let r = self
            .post("/api/sessions", key, json!({ "sessionId": id }))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        r
    }

    /// Messages waiting in a session's send queue.
    /// The embedded database file, for a test to look at rows the ports do not list.
    pub fn db_path(&self) -> std::path::PathBuf {
        self._dir.path().join("wagate.db")
    }

    pub async fn queued(&self, session: &str) -> u64 {
        let id = SessionId::parse(session).expect("session id");
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

/// A real PNG of `w`×`h` pixels (a gradient), as a client would upload.
pub fn png_bytes(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbaImage::from_fn(w, h, |x, y| image::Rgba([x as u8, y as u8, 90, 255]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}
