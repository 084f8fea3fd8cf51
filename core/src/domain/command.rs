//! Commands from the API to the session host, carried by the control queue
//! (`ports::names::CONTROL`) as JSON.

use serde::{Deserialize, Serialize};

use super::SessionId;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum HostCommand {
    /// A session was created: connect it (QR or stored credentials).
    Start { session_id: SessionId },
    /// A session was deleted: disconnect, log out, delete its credentials, and fail the sends
    /// it still had queued (those accepted before `deleted_at_ms`; without it, all of them).
    Delete {
        session_id: SessionId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        deleted_at_ms: Option<i64>,
    },
    /// Log the account out but keep the session (it goes `logged_out`, then can be started).
    Logout { session_id: SessionId },
    /// Ask WhatsApp for a pairing code for `phone` (digits, international format).
    PairCode {
        session_id: SessionId,
        phone: String,
    },
    /// Download (again) the file of the received message `message_id`.
    DownloadMedia {
        session_id: SessionId,
        message_id: String,
    },
    /// Answer the query recorded as `query_id` (see `QueryRecord`).
    Query {
        session_id: SessionId,
        query_id: String,
    },
}

impl HostCommand {
    pub fn session_id(&self) -> &SessionId {
        match self {
            Self::Start { session_id }
            | Self::Delete { session_id, .. }
            | Self::Logout { session_id }
            | Self::PairCode { session_id, .. }
            | Self::DownloadMedia { session_id, .. }
            | Self::Query { session_id, .. } => session_id,
        }
    }
}
