//! The Socket.IO endpoint of the live channel (see the parent module).

use serde_json::{Value, json};
use socketioxide::SocketIo;
use socketioxide::extract::{AckSender, Data, Extension, SocketRef, State, TryData};
use socketioxide::handler::ConnectHandler;
use socketioxide::layer::SocketIoLayer;
use tokio::sync::broadcast;
use wagate_core::{Event, EventKind};

use super::LiveFeed;
use crate::auth::{API_KEY_HEADER, caller_of};
use crate::auth_failures::address_of;
use crate::caller::{Caller, load_session};
use crate::state::AppState;

#[derive(Debug, serde::Deserialize)]
struct Auth {
    #[serde(alias = "apiKey", alias = "api_key", alias = "key", alias = "token")]
    api_key: String,
}

/// The Socket.IO layer to put on the router, and its handle. Events of `feed` are forwarded
/// until the handle is closed.
pub fn layer(state: AppState, feed: &LiveFeed) -> (SocketIoLayer, SocketIo) {
    let (layer, io) = SocketIo::builder().with_state(state).build_layer();
    io.ns("/", on_connect.with(authenticate));
    tokio::spawn(forward(io.clone(), feed.events.subscribe()));
    let _ = feed.io.set(io.clone());
    (layer, io)
}

/// Refuses a handshake without a valid key (the client gets `connect_error` with the reason).
async fn authenticate(
    s: SocketRef,
    TryData(auth): TryData<Auth>,
    State(state): State<AppState>,
) -> Result<(), String> {
    let parts = s.req_parts();
    let raw = match auth {
        Ok(a) => a.api_key,
        Err(_) => parts
            .headers
            .get(API_KEY_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .ok_or_else(|| {
                "missing_api_key: send your API key in the handshake as auth.apiKey".to_owned()
            })?,
    };
    let address = address_of(&parts.extensions, &parts.headers);
    let caller = caller_of(&state, &raw, &address)
        .await
        .map_err(|e| format!("{}: {}", e.code, e.message))?;
    s.extensions.insert(caller);
    // Here rather than in the connect handler: that one runs only after the client has its
    // CONNECT answer, so a `join` sent at once would find no handler and never be acked.
    s.on("join", join);
    s.on("leave", leave);
    Ok(())
}

async fn on_connect(s: SocketRef) {
    tracing::debug!(socket = %s.id, "live client connected");
}

/// The session a `join` / `leave` names: `{ sessionId }` or the id itself.
fn session_of(v: &Value) -> Option<&str> {
    v.as_str()
        .or_else(|| v.get("sessionId").and_then(Value::as_str))
        .or_else(|| v.get("id").and_then(Value::as_str))
}

async fn join(
    s: SocketRef,
    Data(req): Data<Value>,
    ack: AckSender,
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) {
    let Some(id) = session_of(&req) else {
        let _ = ack.send(&json!({ "ok": false, "error": {
            "code": "validation_error", "message": "join: { sessionId } or the session id" } }));
        return;
    };
    // Others' sessions and unknown ones look alike, as on the HTTP API.
    let answer = match load_session(&state, &caller, id).await {
        Ok(session) => {
            s.join(session.id.to_string());
            json!({ "ok": true, "sessionId": session.id, "status": session.status.as_str() })
        }
        Err(e) => json!({ "ok": false, "error": { "code": e.code, "message": e.message } }),
    };
    let _ = ack.send(&answer);
}

async fn leave(s: SocketRef, Data(req): Data<Value>, ack: AckSender) {
    if let Some(id) = session_of(&req) {
        s.leave(id.to_owned());
    }
    let _ = ack.send(&json!({ "ok": true }));
}

/// The seed's name for an event, when it had one.
fn seed_alias(kind: EventKind) -> Option<&'static str> {
    match kind {
        EventKind::SessionOpen => Some("ready"),
        EventKind::SessionClosed => Some("closed"),
        _ => None,
    }
}

async fn forward(io: SocketIo, mut events: broadcast::Receiver<Event>) {
    loop {
        let event = match events.recv().await {
            Ok(e) => e,
            Err(broadcast::error::RecvError::Lagged(n)) => {
                tracing::warn!(
                    skipped = n,
                    "the live channel fell behind and skipped events"
                );
                continue;
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        // Closed (shutting down): no namespace any more.
        let Some(ns) = io.of("/") else { return };
        let room = event.session_id.to_string();
        let body = event.webhook_json();
        let names = std::iter::once(event.kind.as_str()).chain(seed_alias(event.kind));
        for name in names {
            if let Err(e) = ns.clone().to(room.clone()).emit(name, &body).await {
                tracing::debug!(error = %e, event = name, "live event not sent to every socket");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_join_names_its_session_either_way() {
        assert_eq!(session_of(&json!("shop")), Some("shop"));
        assert_eq!(session_of(&json!({ "sessionId": "shop" })), Some("shop"));
        assert_eq!(session_of(&json!({ "id": "shop" })), Some("shop"));
        assert_eq!(session_of(&json!(42)), None);
        assert_eq!(seed_alias(EventKind::SessionOpen), Some("ready"));
        assert_eq!(seed_alias(EventKind::Qr), None);
    }
}
