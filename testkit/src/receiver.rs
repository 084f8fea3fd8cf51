//! A webhook receiver on loopback, as the apps behind wagate run one: `/hook` keeps every
//! request whose `X-Webhook-Signature` is right for the secret (401 otherwise, counted), and
//! `/fail` answers 500 (counted), for delivery retries.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::Value;
use tokio::sync::Notify;
use wagate_core::webhook;

/// One correctly signed delivery.
#[derive(Debug, Clone)]
pub struct Received {
    /// `X-Webhook-Id`.
    pub id: String,
    /// `X-Webhook-Event`.
    pub event: String,
    /// `X-Webhook-Signature`.
    pub signature: String,
    /// `X-Request-Id` (a job's events: the request that accepted the job), or empty.
    pub request_id: String,
    /// The raw body, exactly as signed.
    pub raw: String,
    /// The body as JSON (`Null` if it was not JSON).
    pub body: Value,
}

#[derive(Debug, Default)]
struct Shared {
    secret: String,
    /// Every delivery, and whether [`WebhookReceiver::next`] has handed it out.
    got: Mutex<Vec<(Received, bool)>>,
    failed: Mutex<u32>,
    bad_signatures: Mutex<u32>,
    arrived: Notify,
}

/// A running receiver; it stops with the test's runtime.
#[derive(Debug, Clone)]
pub struct WebhookReceiver {
    base: String,
    shared: Arc<Shared>,
}

impl WebhookReceiver {
    /// Starts a receiver on 127.0.0.1 that checks signatures against `secret`.
    pub async fn start(secret: &str) -> Self {
        let shared = Arc::new(Shared {
            secret: secret.to_owned(),
            ..Shared::default()
        });
        let app = axum::Router::new()
            .route("/hook", post(hook))
            .route("/fail", post(fail))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { base, shared }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The URL of the signature-checking endpoint.
    pub fn url(&self) -> String {
        format!("{}/hook", self.base)
    }

    /// The URL of the endpoint that always answers 500.
    pub fn failing_url(&self) -> String {
        format!("{}/fail", self.base)
    }

    /// Every correctly signed delivery so far, in arrival order.
    pub fn received(&self) -> Vec<Received> {
        let got = self.shared.got.lock().unwrap();
        got.iter().map(|(r, _)| r.clone()).collect()
    }

    /// Requests answered 500 by `/fail`.
    pub fn failed(&self) -> u32 {
        *self.shared.failed.lock().unwrap()
    }

    /// Requests refused for a wrong or missing signature.
    pub fn bad_signatures(&self) -> u32 {
        *self.shared.bad_signatures.lock().unwrap()
    }

    /// The first event named `kind` not handed out yet, waiting up to `within`. Webhooks carry
    /// no order (a receipt can overtake the `message_sent` of its message), so events of other
    /// kinds are left for later calls, never thrown away.
    pub async fn next(&self, kind: &str, within: Duration) -> Received {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let arrived = self.shared.arrived.notified();
            if let Some(found) = self.take(|r| r.event == kind) {
                return found;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                panic!("no {kind} webhook within {within:?}");
            }
        }
    }

    /// Every event not handed out yet, after waiting `settle` for more.
    pub async fn drain(&self, settle: Duration) -> Vec<Received> {
        tokio::time::sleep(settle).await;
        let mut got = self.shared.got.lock().unwrap();
        got.iter_mut()
            .filter(|(_, taken)| !*taken)
            .map(|(r, taken)| {
                *taken = true;
                r.clone()
            })
            .collect()
    }

    fn take(&self, pick: impl Fn(&Received) -> bool) -> Option<Received> {
        let mut got = self.shared.got.lock().unwrap();
        let (r, taken) = got.iter_mut().find(|(r, taken)| !*taken && pick(r))?;
        *taken = true;
        Some(r.clone())
    }
}

fn header(headers: &HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

async fn hook(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let signature = header(&headers, webhook::SIGNATURE_HEADER);
    if !webhook::verify(&s.secret, &body, &signature) {
        *s.bad_signatures.lock().unwrap() += 1;
        return StatusCode::UNAUTHORIZED;
    }
    let received = Received {
        id: header(&headers, webhook::EVENT_ID_HEADER),
        event: header(&headers, webhook::EVENT_HEADER),
        signature,
        request_id: header(&headers, webhook::REQUEST_ID_HEADER),
        raw: String::from_utf8_lossy(&body).into_owned(),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    };
    s.got.lock().unwrap().push((received, false));
    s.arrived.notify_waiters();
    StatusCode::OK
}

async fn fail(State(s): State<Arc<Shared>>) -> StatusCode {
    *s.failed.lock().unwrap() += 1;
    StatusCode::INTERNAL_SERVER_ERROR
}
