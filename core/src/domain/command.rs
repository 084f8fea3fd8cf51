//! Commands from the API to the session host, carried by the control queue
//! (`ports::names::CONTROL`) as JSON.

use serde::{Deserialize, Serialize};

use super::SessionId;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum HostCommand {
    /// A session was created: connect it (QR or stored credentials).
    Start { session_id: SessionId },
    /// A session was deleted: disconnect, log out, delete its credentials.
    Delete { session_id: SessionId },
    /// Log the account out but keep the session (it goes `logged_out`, then can be started).
    Logout { session_id: SessionId },
    /// Ask WhatsApp for a pairing code for `phone` (digits, international format).
    PairCode {
        session_id: SessionId,
        phone: String,
    },
    /// Simulated network only: a phone scans the session's current QR code.
    SimScan { session_id: SessionId },
    /// Simulated network only: a message arrives for the session.
    SimIncoming {
        session_id: SessionId,
        incoming: SimIncoming,
    },
}

/// A message injected into the simulated network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimIncoming {
    /// Sender JID or phone.
    pub from: String,
    /// Chat JID when it is not the sender's own chat (a group, a newsletter, status@broadcast).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat: Option<String>,
    pub text: String,
    #[serde(default)]
    pub from_me: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push_name: Option<String>,
}

impl HostCommand {
    pub fn session_id(&self) -> &SessionId {
        match self {
            Self::Start { session_id }
            | Self::Delete { session_id }
            | Self::Logout { session_id }
            | Self::PairCode { session_id, .. }
            | Self::SimScan { session_id }
            | Self::SimIncoming { session_id, .. } => session_id,
        }
    }
}
