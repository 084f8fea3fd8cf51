//! The live channel (Socket.IO at `/socket.io/`) with a real client speaking the protocol over a
//! WebSocket (Engine.IO 4, Socket.IO 5 — what socket.io-client 3+ speaks): a handshake without
//! a valid key refused, a user key kept out of another key's session room, and `qr` then
//! `ready` / `session_open` pushed to a joined client when the simulated phone scans.

mod common;

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_websockets::{ClientBuilder, MaybeTlsStream, Message, WebSocketStream};

use common::*;

const USER_A: &str = "live-user-a-key-0123456789";
const USER_B: &str = "live-user-b-key-0123456789";

struct Client {
    ws: WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>,
    next_ack: u32,
}

impl Client {
    /// Opens the transport and sends the namespace CONNECT with `auth`; returns the client
    /// and the server's answer to the CONNECT (`40…` accepted, `44…` refused).
    async fn connect(local: &Local, auth: Option<Value>) -> (Self, String) {
        let uri = format!(
            "{}/socket.io/?EIO=4&transport=websocket",
            local.base.replace("http://", "ws://")
        );
        let (ws, _) = ClientBuilder::from_uri(uri.parse().unwrap())
            .connect()
            .await
            .expect("websocket");
        let mut c = Self { ws, next_ack: 1 };
        let open = c.text().await;
        assert!(open.starts_with("0{\"sid\""), "engine.io open: {open}");
        let connect = match auth {
            Some(a) => format!("40{a}"),
            None => "40".to_owned(),
        };
        c.ws.send(Message::text(connect)).await.unwrap();
        let answer = c.text().await;
        (c, answer)
    }

    /// The next text frame, answering pings on the way.
    async fn text(&mut self) -> String {
        loop {
            let msg = tokio::time::timeout(Duration::from_secs(10), self.ws.next())
                .await
                .expect("a frame within 10 s")
                .expect("the socket is open")
                .expect("a frame");
            let Some(t) = msg.as_text() else { continue };
            if t == "2" {
                self.ws.send(Message::text("3".to_owned())).await.unwrap();
                continue;
            }
            return t.to_owned();
        }
    }

    /// Emits `event` with `data` and waits for its acknowledgement.
    async fn call(&mut self, event: &str, data: Value) -> Value {
        let id = self.next_ack;
        self.next_ack += 1;
        let frame = format!("42{id}{}", json!([event, data]));
        self.ws.send(Message::text(frame)).await.unwrap();
        let prefix = format!("43{id}");
        loop {
            let t = self.text().await;
            if let Some(rest) = t.strip_prefix(&prefix) {
                let args: Value = serde_json::from_str(rest).unwrap();
                return args[0].clone();
            }
        }
    }

    /// The next pushed event named `name` (others skipped): its payload.
    async fn event(&mut self, name: &str) -> Value {
        loop {
            let t = self.text().await;
            if let Some(rest) = t.strip_prefix("42") {
                let v: Value = serde_json::from_str(rest).unwrap();
                if v[0] == name {
                    return v[1].clone();
                }
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_joined_client_sees_qr_then_ready_and_no_one_else_gets_in() {
    let users = format!("{USER_A},{USER_B}");
    let local = start_local_with(&[
        ("USER_API_KEYS", users.as_str()),
        ("SIM_QR_INTERVAL_MS", "300"),
    ])
    .await;

    let (_, refused) = Client::connect(&local, None).await;
    assert!(refused.starts_with("44"), "no key: {refused}");
    assert!(refused.contains("missing_api_key"), "{refused}");
    let (_, refused) = Client::connect(&local, Some(json!({ "apiKey": "wrong-key" }))).await;
    assert!(
        refused.starts_with("44") && refused.contains("invalid_api_key"),
        "{refused}"
    );

    // User A's session; user B may not join its room, A may.
    let resp = local
        .http
        .post(format!("{}/api/sessions", local.base))
        .header("x-api-key", USER_A)
        .json(&json!({ "sessionId": "live-a" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    let (mut b, ok) = Client::connect(&local, Some(json!({ "apiKey": USER_B }))).await;
    assert!(ok.starts_with("40"), "{ok}");
    let denied = b.call("join", json!({ "sessionId": "live-a" })).await;
    assert_eq!(denied["ok"], false, "{denied}");
    assert_eq!(denied["error"]["code"], "session_not_found");
    let bad = b.call("join", json!(7)).await;
    assert_eq!(bad["error"]["code"], "validation_error", "{bad}");

    let (mut a, ok) = Client::connect(&local, Some(json!({ "apiKey": USER_A }))).await;
    assert!(ok.starts_with("40"), "{ok}");
    let joined = a.call("join", json!({ "sessionId": "live-a" })).await;
    assert_eq!(joined["ok"], true, "{joined}");

    // The session's first QR may have gone out before the join; the next rotation comes.
    let qr = a.event("qr").await;
    assert_eq!(qr["data"]["id"], "live-a");
    let (st, _) = local.post("/api/dev/sessions/live-a/scan", json!({})).await;
    assert_eq!(st.as_u16(), 202);
    let open = a.event("session_open").await;
    assert_eq!(open["event"], "session_open");
    assert_eq!(open["data"]["id"], "live-a");
    assert!(
        open["data"]["jid"]
            .as_str()
            .unwrap()
            .ends_with("@s.whatsapp.net")
    );
    let ready = a.event("ready").await;
    assert_eq!(ready, open, "the seed's name, the same body");

    // Nothing of live-a reaches B, who was refused its room: B's next frame is a ping at
    // most (none within a second).
    let quiet = tokio::time::timeout(Duration::from_secs(1), b.event("session_open")).await;
    assert!(quiet.is_err(), "user B saw user A's event");
    local.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_qr_is_pushed_to_the_admin_who_joined_before_it_came() {
    let local = start_local_with(&[("SIM_QR_INTERVAL_MS", "300")]).await;
    let (mut c, ok) = Client::connect(&local, Some(json!({ "apiKey": KEY }))).await;
    assert!(ok.starts_with("40"), "{ok}");
    local
        .post("/api/sessions", json!({ "sessionId": "live-q" }))
        .await;
    let joined = c.call("join", "live-q".into()).await;
    assert_eq!(joined["ok"], true, "{joined}");
    let qr = c.event("qr").await;
    assert_eq!(qr["data"]["id"], "live-q");
    assert!(qr["data"]["qr"].as_str().unwrap().starts_with("2@"), "{qr}");
    local.stop().await;
}
