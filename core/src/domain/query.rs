//! Questions for a session's WhatsApp connection that change nothing (is this number on
//! WhatsApp?). The API records a [`QueryRecord`] `pending` in the store, sends the question to
//! the host running the session on the control queue (`HostCommand::Query`), and waits a few
//! seconds for the host to record the answer; a client that did not wait reads it later at
//! `GET /api/queries/:id`. Answers expire ([`QUERY_TTL_MS`]).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{KeyId, SessionId};

/// How long a query's record (and its answer) is kept.
pub const QUERY_TTL_MS: i64 = 10 * 60 * 1000;
/// The most numbers one check may hold.
pub const MAX_NUMBERS_PER_CHECK: usize = 50;

/// What is asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "snake_case",
    rename_all_fields = "camelCase"
)]
pub enum SessionQuery {
    /// Which of these numbers (digits, international format) have a WhatsApp account.
    CheckNumbers { numbers: Vec<String> },
    /// What a number's account shows: its about text, picture, business name.
    Profile { number: String },
}

/// Where a query stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueryStatus {
    Pending,
    Done,
    Failed,
}

/// A query and, once there, its answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryRecord {
    pub id: String,
    pub session_id: SessionId,
    /// The key that asked; only it (and admins) may read the answer.
    pub owner: KeyId,
    pub query: SessionQuery,
    pub status: QueryStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub created_at: i64,
}

impl QueryRecord {
    /// The store key of query `id`.
    pub fn key(id: &str) -> String {
        format!("query:{id}")
    }
}

/// One number's answer to [`SessionQuery::CheckNumbers`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NumberCheck {
    /// As asked (digits).
    pub number: String,
    pub on_whatsapp: bool,
    /// The account's phone-number JID, when on WhatsApp.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jid: Option<String>,
    /// Its LID, when WhatsApp tells it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lid: Option<String>,
    #[serde(default)]
    pub business: bool,
}

/// What [`SessionQuery::Profile`] finds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactProfile {
    pub number: String,
    pub jid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lid: Option<String>,
    /// The "about" text, unless the account hides it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub about: Option<String>,
    /// A time-limited URL of the profile picture, unless there is none or it is hidden.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub picture_url: Option<String>,
    #[serde(default)]
    pub business: bool,
    /// A business account's verified name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_name: Option<String>,
}

impl NumberCheck {
    /// The store key under which a session caches the answer for `number`.
    pub fn cache_key(session: &SessionId, number: &str) -> String {
        format!("onwa:{session}:{number}")
    }
}
