//! Events that leave wagate as webhooks. The wire body is
//! `{ "event": kind, "data": { "id": sessionId, … }, "ts": ms }`, as the seed sent it.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::{EventId, SessionId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    SessionOpen,
    SessionClosed,
    Qr,
    MessageReceived,
    MessageSent,
    MessageFailed,
    /// A message this session sent was delivered to, read or played on the recipient's phone.
    MessageStatus,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SessionOpen => "session_open",
            Self::SessionClosed => "session_closed",
            Self::Qr => "qr",
            Self::MessageReceived => "message_received",
            Self::MessageSent => "message_sent",
            Self::MessageFailed => "message_failed",
            Self::MessageStatus => "message_status",
        }
    }
}

/// One event on its way to a webhook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub id: EventId,
    pub session_id: SessionId,
    pub kind: EventKind,
    /// Event fields besides the session id.
    pub data: Map<String, Value>,
    pub ts: i64,
}

impl Event {
    /// `data` must be a JSON object; anything else is wrapped as `{ "value": data }`.
    pub fn new(session_id: SessionId, kind: EventKind, data: Value, ts: i64) -> Self {
        let data = match data {
            Value::Object(m) => m,
            Value::Null => Map::new(),
            other => Map::from_iter([("value".to_owned(), other)]),
        };
        Self {
            id: EventId::generate(),
            session_id,
            kind,
            data,
            ts,
        }
    }

    /// The exact bytes POSTed to the webhook (and signed).
    pub fn webhook_body(&self) -> Vec<u8> {
        let mut data = Map::with_capacity(self.data.len() + 1);
        data.insert("id".into(), Value::String(self.session_id.to_string()));
        data.extend(self.data.clone());
        let body = json!({ "event": self.kind.as_str(), "data": data, "ts": self.ts });
        serde_json::to_vec(&body).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_body_has_the_seed_shape() {
        let sid = SessionId::parse("shop").unwrap();
        let e = Event::new(
            sid,
            EventKind::MessageReceived,
            json!({"from": "62812@s.whatsapp.net", "text": "hi"}),
            1700,
        );
        let v: Value = serde_json::from_slice(&e.webhook_body()).unwrap();
        assert_eq!(v["event"], "message_received");
        assert_eq!(v["data"]["id"], "shop");
        assert_eq!(v["data"]["text"], "hi");
        assert_eq!(v["ts"], 1700);
    }
}
