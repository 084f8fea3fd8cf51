//! What the end-to-end tests share: `wagate local` in-process on port 0 on the simulated
//! network, an HTTP client with the admin key, and a webhook receiver that refuses any body
//! whose signature does not check.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use axum::http::StatusCode;
use serde_json::{Value, json};
use tempfile::TempDir;
use wagate::Config;
use wagate::local::{self, Running};
use wagate_testkit::WebhookReceiver;

pub const KEY: &str = "e2e-admin-key-0123456789";
pub const SECRET: &str = "webhook-secret";

/// The test's webhook receiver (it refuses unsigned or wrongly signed bodies), seen as
/// event bodies.
pub struct Hook {
    pub receiver: WebhookReceiver,
    pub url: String,
}

pub async fn webhook_receiver() -> Hook {
    let receiver = WebhookReceiver::start(SECRET).await;
    let url = receiver.url();
    Hook { receiver, url }
}

impl Hook {
    /// The next event named `kind` (others are kept for later calls), or a panic after 10 s.
    pub async fn next(&mut self, kind: &str) -> Value {
        let got = self.receiver.next(kind, Duration::from_secs(10)).await;
        assert!(!got.id.is_empty(), "every delivery has an X-Webhook-Id");
        got.body
    }

    /// Every event not handed out yet, and every one that arrives within `d`.
    pub async fn drain(&mut self, d: Duration) -> Vec<Value> {
        self.receiver
            .drain(d)
            .await
            .into_iter()
            .map(|r| r.body)
            .collect()
    }
}

pub struct Local {
    pub running: Running,
    pub base: String,
    pub http: reqwest::Client,
    pub dir: TempDir,
}

/// A configuration for `wagate local` on the simulated network, port 0, in `data`.
pub fn config(data: &Path, extra: &[(&str, &str)]) -> Config {
    let data = data.to_string_lossy().into_owned();
    let mut vars: HashMap<&str, &str> = HashMap::from([
        ("DATA_DIR", data.as_str()),
        ("HOST", "127.0.0.1"),
        ("PORT", "0"),
        ("ADMIN_API_KEY", KEY),
        ("WA_CONNECTOR", "simulated"),
        ("SESSION_START_SPACING_MS", "0"),
    ]);
    vars.extend(extra.iter().copied());
    Config::from_lookup(&|name| vars.get(name).map(|v| (*v).to_owned())).expect("config")
}

pub async fn start_local() -> Local {
    start_local_with(&[]).await
}

pub async fn start_local_with(extra: &[(&str, &str)]) -> Local {
    let dir = TempDir::new().unwrap();
    let mut vars = vec![
        ("RATE_LIMIT_MAX", "100000"),
        ("SEND_MIN_GAP_MS", "0"),
        ("SEND_JITTER_MS", "0"),
    ];
    vars.extend_from_slice(extra);
    let cfg = config(dir.path(), &vars);
    Local::on(local::start(cfg).await.expect("wagate local starts"), dir)
}

impl Local {
    /// A client of `running`, keeping `dir` as long as it lives.
    pub fn on(running: Running, dir: TempDir) -> Self {
        Self {
            base: format!("http://{}", running.addr),
            running,
            http: reqwest::Client::new(),
            dir,
        }
    }

    pub async fn stop(self) {
        self.running.shutdown();
        self.running.wait().await.unwrap();
    }

    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("x-api-key", KEY);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = StatusCode::from_u16(resp.status().as_u16()).unwrap();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn get(&self, path: &str) -> Value {
        self.call(reqwest::Method::GET, path, None).await.1
    }

    /// Polls the session until `done` holds.
    pub async fn wait_session(&self, id: &str, done: impl Fn(&Value) -> bool) -> Value {
        for _ in 0..200 {
            let s = self.get(&format!("/api/sessions/{id}")).await;
            if done(&s) {
                return s;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("session {id} never got there");
    }

    /// Creates a session with the test webhook, scans its QR, and waits for `session_open`.
    pub async fn open_session(&self, id: &str, hook: &mut Hook) {
        let (st, _) = self
            .post(
                "/api/sessions",
                json!({ "sessionId": id, "webhookUrl": hook.url, "webhookSecret": SECRET }),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED);
        let s = self.wait_session(id, |s| s["status"] == "qr").await;
        let qr = s["qr"].as_str().unwrap().to_owned();
        assert!(qr.starts_with("2@"), "{qr}");
        let ev = hook.next("qr").await;
        assert_eq!(ev["data"]["id"], id);
        let (st, _) = self
            .post(&format!("/api/dev/sessions/{id}/scan"), json!({}))
            .await;
        assert_eq!(st, StatusCode::ACCEPTED);
        let open = hook.next("session_open").await;
        assert_eq!(open["data"]["id"], id);
        assert!(
            open["data"]["jid"]
                .as_str()
                .unwrap()
                .ends_with("@s.whatsapp.net")
        );
        self.wait_session(id, |s| s["status"] == "open").await;
    }
}
