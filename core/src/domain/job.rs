//! A send job: one accepted message and where it stands in the send state machine
//! `queued → sending → sent | failed`.

use serde::{Deserialize, Serialize};

use super::{Jid, JobId, KeyId, OutboundMessage, SessionId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    Queued,
    Sending,
    Sent,
    Failed,
}

impl JobState {
    pub fn is_final(self) -> bool {
        matches!(self, Self::Sent | Self::Failed)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "queued" => Some(Self::Queued),
            "sending" => Some(Self::Sending),
            "sent" => Some(Self::Sent),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub id: JobId,
    pub session_id: SessionId,
    /// The API key that asked for the send.
    pub owner: KeyId,
    pub to: Jid,
    pub message: OutboundMessage,
    /// Fixed at acceptance, so every attempt sends the same WhatsApp message.
    pub wa_message_id: String,
    pub state: JobState,
    pub attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Minimum gap in ms between the previous send of the session and this one (multi-file
    /// uploads use it for `delayMs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pace_ms: Option<u64>,
    pub created_at: i64,
    pub updated_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<i64>,
    /// The `X-Request-Id` of the API call that accepted it: in the worker's log lines and on
    /// the job's webhook, so one id follows a message across processes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// Whether a request id is worth carrying: 1 to 128 visible ASCII characters (a client may
/// send its own `X-Request-Id`, and it ends up in logs and webhook headers).
pub fn is_sane_request_id(id: &str) -> bool {
    (1..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_graphic())
}

impl Job {
    pub fn new(
        session_id: SessionId,
        owner: KeyId,
        to: Jid,
        message: OutboundMessage,
        now_ms: i64,
    ) -> Self {
        Self {
            id: JobId::generate(),
            session_id,
            owner,
            to,
            message,
            wa_message_id: super::wa_message_id(),
            state: JobState::Queued,
            attempts: 0,
            error: None,
            pace_ms: None,
            created_at: now_ms,
            updated_at: now_ms,
            sent_at: None,
            request_id: None,
        }
    }
}

#[cfg(test)]
mod request_id_tests {
    use super::is_sane_request_id;

    #[test]
    fn only_short_visible_request_ids_are_carried() {
        assert!(is_sane_request_id("3f2a9c1e-7b7d-4e0f-9d7c-2b4f1a6e8c90"));
        assert!(is_sane_request_id(&"a".repeat(128)));
        assert!(!is_sane_request_id(""));
        assert!(!is_sane_request_id(&"a".repeat(129)));
        assert!(!is_sane_request_id("two words"));
        assert!(!is_sane_request_id("tab\there"));
        assert!(!is_sane_request_id("é"));
    }
}
