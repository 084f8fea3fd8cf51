//! A WhatsApp account linked to wagate, and its connection status.

use serde::{Deserialize, Serialize};

use super::{EventFilter, Jid, KeyId, ProxyUrl, SessionId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    Connecting,
    Qr,
    Open,
    Closed,
    LoggedOut,
}

impl SessionStatus {
    /// Every status, in the order of a session's life.
    pub const ALL: [Self; 5] = [
        Self::Connecting,
        Self::Qr,
        Self::Open,
        Self::Closed,
        Self::LoggedOut,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Connecting => "connecting",
            Self::Qr => "qr",
            Self::Open => "open",
            Self::Closed => "closed",
            Self::LoggedOut => "logged_out",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "connecting" => Some(Self::Connecting),
            "qr" => Some(Self::Qr),
            "open" => Some(Self::Open),
            "closed" => Some(Self::Closed),
            "logged_out" => Some(Self::LoggedOut),
            _ => None,
        }
    }
}

/// The WhatsApp account a session is logged in as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub jid: Jid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub id: SessionId,
    /// The key that created it; user keys see only their own sessions.
    pub owner: KeyId,
    pub status: SessionStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_secret: Option<String>,
    /// The current QR payload while status is `qr`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qr: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pairing_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<Account>,
    /// The proxy this session's WhatsApp connection goes through (else `HTTPS_PROXY`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy: Option<ProxyUrl>,
    /// Which of its events reach a webhook.
    #[serde(default, skip_serializing_if = "EventFilter::is_default")]
    pub events: EventFilter,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Session {
    pub fn new(id: SessionId, owner: KeyId, now_ms: i64) -> Self {
        Self {
            id,
            owner,
            status: SessionStatus::Connecting,
            webhook_url: None,
            webhook_secret: None,
            qr: None,
            pairing_code: None,
            account: None,
            proxy: None,
            events: EventFilter::default(),
            created_at: now_ms,
            updated_at: now_ms,
        }
    }
}
