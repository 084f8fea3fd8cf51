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
        }
    }
}
