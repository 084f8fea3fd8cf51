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
    /// An open session heard nothing from WhatsApp past `SESSION_STALE_MS`; it is reconnected.
    SessionStale,
    Qr,
    MessageReceived,
    MessageSent,
    MessageFailed,
    /// A message this session sent was delivered to, read or played on the recipient's phone.
    MessageStatus,
    /// Someone reacted to a message (or took the reaction back).
    MessageReaction,
    /// Someone edited a message they sent.
    MessageEdited,
    /// Someone deleted a message for everyone.
    MessageRevoked,
    /// Someone voted on a poll this session sent.
    PollVote,
    /// Someone called the account (an offer), or a call was missed.
    Call,
    /// Members of a group were added, removed, promoted or demoted.
    GroupParticipants,
    /// A group's subject, description or settings changed.
    GroupUpdated,
    /// An action job (react, revoke, a group change, …) was carried out, with its result.
    ActionDone,
    /// An action job failed for good.
    ActionFailed,
}

impl EventKind {
    /// Every kind, in the order the docs list them.
    pub const ALL: [Self; 17] = [
        Self::Qr,
        Self::SessionOpen,
        Self::SessionClosed,
        Self::SessionStale,
        Self::MessageReceived,
        Self::MessageSent,
        Self::MessageFailed,
        Self::MessageStatus,
        Self::MessageReaction,
        Self::MessageEdited,
        Self::MessageRevoked,
        Self::PollVote,
        Self::Call,
        Self::GroupParticipants,
        Self::GroupUpdated,
        Self::ActionDone,
        Self::ActionFailed,
    ];

    /// The kind named `name` (as on the wire: `message_received`, …).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::SessionOpen => "session_open",
            Self::SessionClosed => "session_closed",
            Self::SessionStale => "session_stale",
            Self::Qr => "qr",
            Self::MessageReceived => "message_received",
            Self::MessageSent => "message_sent",
            Self::MessageFailed => "message_failed",
            Self::MessageStatus => "message_status",
            Self::MessageReaction => "message_reaction",
            Self::MessageEdited => "message_edited",
            Self::MessageRevoked => "message_revoked",
            Self::PollVote => "poll_vote",
            Self::Call => "call",
            Self::GroupParticipants => "group_participants",
            Self::GroupUpdated => "group_updated",
            Self::ActionDone => "action_done",
            Self::ActionFailed => "action_failed",
        }
    }
}

/// Which of a session's events reach a webhook (`enabled`, `events` on
/// `/api/webhooks/configure` and session create), and what the host does about the ones that
/// need a decision (received media, calls). The default delivers everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventFilter {
    /// Nothing is delivered for the session while set.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disabled: bool,
    /// Only these kinds are delivered; `None` is all of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub only: Option<Vec<EventKind>>,
    /// Messages the account sent from its other devices (the phone) arrive as
    /// `message_received` with `fromMe: true`; off by default.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub own_messages: bool,
    /// What happens to the media of received messages; `None` is the host's
    /// `INBOUND_MEDIA`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inbound_media: Option<crate::inbound_media::InboundMediaMode>,
    /// Decline incoming calls; `None` is the host's `REJECT_CALLS`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reject_calls: Option<bool>,
}

impl EventFilter {
    /// Whether an event of `kind` is delivered.
    pub fn allows(&self, kind: EventKind) -> bool {
        !self.disabled && self.only.as_ref().is_none_or(|o| o.contains(&kind))
    }

    /// Whether `event` is delivered: its kind, and for a message of the account's own, whether
    /// the session asked for those.
    pub fn allows_event(&self, event: &Event) -> bool {
        let own = event.kind == EventKind::MessageReceived
            && event.data.get("fromMe").and_then(Value::as_bool) == Some(true);
        self.allows(event.kind) && (!own || self.own_messages)
    }

    /// True for the default (everything delivered).
    pub fn is_default(&self) -> bool {
        *self == Self::default()
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
    /// The request that caused it (a job's event): sent as `X-Request-Id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
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
            request_id: None,
        }
    }

    /// The webhook body as JSON: `{ event, data: { id, … }, ts }` (the live channel sends it
    /// as it is).
    pub fn webhook_json(&self) -> Value {
        let mut data = Map::with_capacity(self.data.len() + 1);
        data.insert("id".into(), Value::String(self.session_id.to_string()));
        data.extend(self.data.clone());
        json!({ "event": self.kind.as_str(), "data": data, "ts": self.ts })
    }

    /// The exact bytes POSTed to the webhook (and signed).
    pub fn webhook_body(&self) -> Vec<u8> {
        serde_json::to_vec(&self.webhook_json()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_parses_back_from_its_name_and_filters_select_kinds() {
        for k in EventKind::ALL {
            assert_eq!(EventKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(EventKind::parse("message_recieved"), None);
        let all = EventFilter::default();
        assert!(EventKind::ALL.into_iter().all(|k| all.allows(k)));
        let some = EventFilter {
            only: Some(vec![EventKind::MessageReceived]),
            ..EventFilter::default()
        };
        assert!(some.allows(EventKind::MessageReceived));
        assert!(!some.allows(EventKind::MessageSent));
        let off = EventFilter {
            disabled: true,
            ..EventFilter::default()
        };
        assert!(EventKind::ALL.into_iter().all(|k| !off.allows(k)));
        assert_eq!(serde_json::to_string(&all).unwrap(), "{}");

        let sid = SessionId::parse("shop").unwrap();
        let received = |from_me: bool| {
            Event::new(
                sid.clone(),
                EventKind::MessageReceived,
                json!({ "fromMe": from_me }),
                1,
            )
        };
        assert!(all.allows_event(&received(false)));
        assert!(
            !all.allows_event(&received(true)),
            "own messages only when asked"
        );
        let own = EventFilter {
            own_messages: true,
            ..EventFilter::default()
        };
        assert!(own.allows_event(&received(true)));
    }

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
