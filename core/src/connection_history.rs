//! A session's connection history beside its record: why and when its connection last
//! dropped, and how many times it has reconnected. Kept as a store record
//! (`connection:<session>`, 30 days from the last drop) rather than in the session row, so
//! neither store's schema changes; the session's host writes it, `GET /api/sessions/:id`
//! shows it, and an operator tells a session reconnecting in a loop from one that dropped once.

use serde::{Deserialize, Serialize};

use crate::SessionId;
use crate::ports::Store;

/// How long the history is kept after the last drop.
pub const KEEP_MS: i64 = 30 * 24 * 3600 * 1000;

/// Why a connection dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DropCause {
    /// The connection closed (the network, WhatsApp ending the stream); it reconnects.
    Closed,
    /// Open but silent past `SESSION_STALE_MS`: the watchdog reconnected it.
    Stale,
    /// Logged out from the phone: a new link is needed.
    LoggedOut,
}

impl DropCause {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::Stale => "stale",
            Self::LoggedOut => "logged_out",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LastDisconnect {
    pub cause: DropCause,
    /// What the connection said (WhatsApp's reason, or how long it was silent).
    pub reason: String,
    /// Unix ms.
    pub at: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionHistory {
    pub last_disconnect: Option<LastDisconnect>,
    /// Drops that were followed by a reconnect (closed or stale).
    pub reconnects: u64,
}

fn key(session: &SessionId) -> String {
    format!("connection:{session}")
}

/// The history of `session` (empty when none was kept).
pub async fn load(store: &dyn Store, session: &SessionId, now_ms: i64) -> ConnectionHistory {
    match store.get_record(&key(session), now_ms).await {
        Ok(Some(raw)) => serde_json::from_str(&raw).unwrap_or_default(),
        _ => ConnectionHistory::default(),
    }
}

/// Records a drop of `session`'s connection. Best effort: the history is for people.
pub async fn record(
    store: &dyn Store,
    session: &SessionId,
    cause: DropCause,
    reason: &str,
    now_ms: i64,
) -> ConnectionHistory {
    let mut h = load(store, session, now_ms).await;
    if cause != DropCause::LoggedOut {
        h.reconnects = h.reconnects.saturating_add(1);
    }
    h.last_disconnect = Some(LastDisconnect {
        cause,
        reason: reason.chars().take(500).collect(),
        at: now_ms,
    });
    let body = serde_json::to_string(&h).unwrap_or_default();
    if let Err(e) = store
        .put_record(&key(session), &body, now_ms.saturating_add(KEEP_MS))
        .await
    {
        tracing::warn!(session_id = %session, error = %e, "could not keep the connection history");
    }
    h
}
