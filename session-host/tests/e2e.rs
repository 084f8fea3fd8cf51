//! End to end through HTTP on the simulated network: `wagate local` in-process on port 0, a
//! real webhook receiver on loopback that checks every signature.

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::sync::mpsc;
use wagate_core::webhook;
use wagate_host::local::{self, LocalConfig, Running};

const KEY: &str = "e2e-admin-key-0123456789";
const SECRET: &str = "webhook-secret";

struct Hook {
    url: String,
    events: mpsc::UnboundedReceiver<Value>,
    /// Events received while waiting for another kind: webhooks carry no order (a receipt
    /// can overtake the `message_sent` of its message), so none is thrown away.
    skipped: Vec<Value>,
}

/// A webhook receiver that accepts only correctly signed bodies (401 otherwise).
async fn webhook_receiver() -> Hook {
    let (tx, rx) = mpsc::unbounded_channel();
    async fn receive(
        State(tx): State<mpsc::UnboundedSender<Value>>,
        headers: HeaderMap,
        body: Bytes,
    ) -> StatusCode {
        let sig = headers
            .get("x-webhook-signature")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !webhook::verify(SECRET, &body, sig) || headers.get("x-webhook-id").is_none() {
            return StatusCode::UNAUTHORIZED;
        }
        let _ = tx.send(serde_json::from_slice(&body).unwrap_or(Value::Null));
        StatusCode::OK
    }
    let app = axum::Router::new()
        .route("/hook", post(receive))
        .with_state(tx);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    Hook {
        url: format!("http://{addr}/hook"),
        events: rx,
        skipped: Vec::new(),
    }
}

impl Hook {
    /// The next event named `kind` (others are kept for later calls), or a panic after 10 s.
    async fn next(&mut self, kind: &str) -> Value {
        if let Some(i) = self.skipped.iter().position(|ev| ev["event"] == kind) {
            return self.skipped.remove(i);
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let ev = tokio::time::timeout_at(deadline, self.events.recv())
                .await
                .unwrap_or_else(|_| panic!("no {kind} webhook in time"))
                .expect("receiver open");
            if ev["event"] == kind {
                return ev;
            }
            self.skipped.push(ev);
        }
    }

    /// Every event kept so far and every one that arrives within `d`.
    async fn drain(&mut self, d: Duration) -> Vec<Value> {
        let mut out = std::mem::take(&mut self.skipped);
        let deadline = tokio::time::Instant::now() + d;
        while let Ok(Some(ev)) = tokio::time::timeout_at(deadline, self.events.recv()).await {
            out.push(ev);
        }
        out
    }
}

struct Local {
    running: Running,
    base: String,
    http: reqwest::Client,
    _dir: TempDir,
}

async fn start_local() -> Local {
    let dir = TempDir::new().unwrap();
    let mut cfg = LocalConfig {
        data_dir: dir.path().to_path_buf(),
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        api: wagate_functions::ApiConfig {
            admin_key: Some(KEY.into()),
            dev_routes: true,
            ..Default::default()
        },
        host: wagate_host::HostConfig::default(),
        dispatch: Default::default(),
        sqlite_sync_full: false,
        connector: wagate_host::connector::ConnectorKind::Simulated,
        media_retention: Duration::from_secs(7 * 86_400),
    };
    cfg.api.rate_limit.max = 100_000;
    cfg.host.send_min_gap = Duration::ZERO;
    cfg.host.send_jitter = Duration::ZERO;
    cfg.host.session_start_spacing = Duration::ZERO;
    let running = local::start(cfg).await.expect("wagate local starts");
    let base = format!("http://{}", running.addr);
    Local {
        running,
        base,
        http: reqwest::Client::new(),
        _dir: dir,
    }
}

impl Local {
    async fn call(
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

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    async fn get(&self, path: &str) -> Value {
        self.call(reqwest::Method::GET, path, None).await.1
    }

    /// Polls the session until `done` holds.
    async fn wait_session(&self, id: &str, done: impl Fn(&Value) -> bool) -> Value {
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
    async fn open_session(&self, id: &str, hook: &mut Hook) {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_scan_send_and_receive_signed_webhooks() {
    let local = start_local().await;
    let mut hook = webhook_receiver().await;
    local.open_session("shop", &mut hook).await;

    let (st, accepted) = local
        .post(
            "/api/messages/text?wait=10",
            json!({ "sessionId": "shop", "to": "628123456789", "text": "hello" }),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{accepted}");
    assert_eq!(accepted["status"], "sent");
    let sent = hook.next("message_sent").await;
    assert_eq!(sent["data"]["id"], "shop");
    assert_eq!(sent["data"]["jobId"], accepted["id"]);
    assert_eq!(sent["data"]["messageId"], accepted["waMessageId"]);
    assert_eq!(sent["data"]["to"], "628123456789@s.whatsapp.net");
    // The recipient's phone confirms: a signed `message_status` names the same WhatsApp id.
    let status = hook.next("message_status").await;
    assert_eq!(status["data"]["id"], "shop");
    assert_eq!(status["data"]["messageId"], accepted["waMessageId"]);
    assert_eq!(status["data"]["status"], "delivered");
    assert_eq!(status["data"]["chat"], "628123456789@s.whatsapp.net");
    let delivered = local.running.sim.delivered();
    assert!(
        delivered
            .iter()
            .any(|d| d.wa_message_id == accepted["waMessageId"].as_str().unwrap())
    );

    // A number that is not on WhatsApp: the job fails with a reason and says so by webhook.
    let (_, failed) = local
        .post(
            "/api/messages/text?wait=10",
            json!({ "sessionId": "shop", "to": "999123456789", "text": "x" }),
        )
        .await;
    assert_eq!(failed["status"], "failed");
    assert!(
        failed["error"]
            .as_str()
            .unwrap()
            .contains("not on WhatsApp")
    );
    let ev = hook.next("message_failed").await;
    assert_eq!(ev["data"]["jobId"], failed["id"]);

    local.running.shutdown();
    local.running.wait().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incoming_ping_gets_pong_and_newsletters_never_reach_the_webhook() {
    let local = start_local().await;
    let mut hook = webhook_receiver().await;
    local.open_session("inbox", &mut hook).await;

    let inject = |body: Value| local.post("/api/dev/sessions/inbox/incoming", body);
    assert_eq!(
        inject(json!({ "from": "628555000111", "text": "ping" }))
            .await
            .0,
        StatusCode::ACCEPTED
    );
    let pong = hook.next("message_sent").await;
    assert_eq!(pong["data"]["to"], "628555000111@s.whatsapp.net");
    assert!(
        local
            .running
            .sim
            .delivered()
            .iter()
            .any(|d| d.text.as_deref() == Some("pong"))
    );

    inject(json!({ "from": "120363000000000001@newsletter", "text": "news" })).await;
    inject(json!({ "from": "628555000222", "chat": "status@broadcast", "text": "my status" }))
        .await;
    inject(json!({ "from": "628555000333", "text": "own", "fromMe": true })).await;
    inject(json!({ "from": "628555000444", "text": "hello there", "pushName": "Budi" })).await;

    let received = hook.next("message_received").await;
    assert_eq!(received["data"]["text"], "hello there");
    assert_eq!(received["data"]["from"], "628555000444@s.whatsapp.net");
    assert_eq!(received["data"]["pushName"], "Budi");
    // Nothing else arrives: no newsletter, status, own message, nor the ping itself.
    let rest = hook.drain(Duration::from_millis(700)).await;
    assert!(
        rest.iter().all(|e| e["event"] != "message_received"),
        "{rest:?}"
    );

    local.running.shutdown();
    local.running.wait().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_linked_session_reopens_after_a_restart_without_a_new_qr() {
    let dir = TempDir::new().unwrap();
    let data = dir.path().to_path_buf();
    let mk = |data: std::path::PathBuf| {
        let mut cfg = LocalConfig {
            data_dir: data,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            api: wagate_functions::ApiConfig {
                admin_key: Some(KEY.into()),
                dev_routes: true,
                ..Default::default()
            },
            host: wagate_host::HostConfig::default(),
            dispatch: Default::default(),
            sqlite_sync_full: false,
            connector: wagate_host::connector::ConnectorKind::Simulated,
            media_retention: Duration::from_secs(7 * 86_400),
        };
        cfg.host.session_start_spacing = Duration::ZERO;
        cfg
    };
    let first = local::start(mk(data.clone())).await.unwrap();
    let l = Local {
        base: format!("http://{}", first.addr),
        running: first,
        http: reqwest::Client::new(),
        _dir: TempDir::new().unwrap(),
    };
    let mut hook = webhook_receiver().await;
    l.open_session("keep", &mut hook).await;
    l.running.shutdown();
    l.running.wait().await.unwrap();

    let second = local::start(mk(data)).await.unwrap();
    let l = Local {
        base: format!("http://{}", second.addr),
        running: second,
        http: reqwest::Client::new(),
        _dir: TempDir::new().unwrap(),
    };
    let s = l.wait_session("keep", |s| s["status"] == "open").await;
    assert!(s["qr"].is_null());
    let open = hook.next("session_open").await;
    assert_eq!(open["data"]["id"], "keep");
    l.running.shutdown();
    l.running.wait().await.unwrap();
}
