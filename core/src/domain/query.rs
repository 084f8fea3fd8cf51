//! Questions for a session's WhatsApp connection that change nothing (is this number on
//! WhatsApp?). The API records a [`QueryRecord`] `pending` in the store, sends the question to
//! the host running the session on the control queue (`HostCommand::Query`), and waits a few
//! seconds for the host to record the answer; a client that did not wait reads it later at
//! `GET /api/queries/:id`. Answers expire ([`QUERY_TTL_MS`]).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Jid, KeyId, SessionId};

/// How long a query's record (and its answer) is kept.
pub const QUERY_TTL_MS: i64 = 10 * 60 * 1000;
/// How long a query may stay unanswered: past it the API calls it failed (no host ran the
/// session in time) and a host that gets it late drops it.
pub const QUERY_DEADLINE_MS: i64 = 60 * 1000;
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
    /// A business account's profile: description, address, email, websites, categories.
    BusinessProfile { number: String },
    /// The numbers this account blocked.
    Blocklist,
    /// The groups the account is in.
    Groups,
    /// One group's subject, description, members and settings.
    Group { jid: Jid },
    /// A group's invite link (admins only).
    InviteLink { jid: Jid },
    /// What group an invite code is for, before joining it.
    InviteInfo { code: String },
    /// Who asked to join a group that wants approval (admins only).
    JoinRequests { jid: Jid },
}

/// Where a query stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueryStatus {
    Pending,
    Done,
    Failed,
}

/// Why a query failed, which decides the answer's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueryFailure {
    /// The session is not open (a QR waits for a person, or it is reconnecting).
    NotConnected,
    /// WhatsApp said no for good: no such group, not an admin, an unknown invite.
    Refused,
    /// WhatsApp or the session's host did not answer.
    Unavailable,
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
    /// Why it failed (absent on records from before it was kept: read as unavailable).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<QueryFailure>,
    pub created_at: i64,
}

impl QueryRecord {
    /// The store key of query `id`.
    pub fn key(id: &str) -> String {
        format!("query:{id}")
    }

    /// The record as it stands at `now_ms`: a query still pending past its deadline failed.
    pub fn as_of(mut self, now_ms: i64) -> Self {
        if self.status == QueryStatus::Pending
            && now_ms > self.created_at.saturating_add(QUERY_DEADLINE_MS)
        {
            self.status = QueryStatus::Failed;
            self.failure = Some(QueryFailure::Unavailable);
            self.error = Some(format!(
                "no host answered within {} s: is the session's host running and the session open?",
                QUERY_DEADLINE_MS / 1000
            ));
        }
        self
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

/// A member's role in a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GroupRole {
    Member,
    Admin,
    /// The group's creator (or whoever WhatsApp made its owner).
    SuperAdmin,
}

/// One member of a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupMember {
    /// By phone number when WhatsApp tells it, else the LID.
    pub jid: Jid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lid: Option<Jid>,
    pub role: GroupRole,
}

/// A group as [`SessionQuery::Group`] (and the groups list, and an invite's preview) shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupInfo {
    pub jid: Jid,
    pub subject: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<Jid>,
    /// Seconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_secs: Option<i64>,
    pub participants: Vec<GroupMember>,
    /// Only admins may send.
    pub announce: bool,
    /// Only admins may edit the group's info.
    pub locked: bool,
    /// Disappearing messages timer, 0 when off.
    pub ephemeral_secs: u32,
    /// New members need an admin's approval.
    pub approval: bool,
}

impl GroupInfo {
    /// The store key under which a session caches group `jid`'s info.
    pub fn cache_key(session: &SessionId, jid: &Jid) -> String {
        format!("group:{session}:{jid}")
    }
}

/// Someone who asked to join a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JoinRequest {
    pub jid: Jid,
    /// Seconds since the Unix epoch.
    pub requested_secs: i64,
}

/// What [`SessionQuery::BusinessProfile`] finds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BusinessProfile {
    pub jid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub websites: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_unanswered_past_its_deadline_reads_as_failed() {
        let rec = QueryRecord {
            id: "q_1".into(),
            session_id: SessionId::parse("shop").unwrap(),
            owner: KeyId::from_string("k"),
            query: SessionQuery::Blocklist,
            status: QueryStatus::Pending,
            result: None,
            error: None,
            failure: None,
            created_at: 1_000,
        };
        let fresh = rec.clone().as_of(1_000 + QUERY_DEADLINE_MS);
        assert_eq!(fresh.status, QueryStatus::Pending);
        let late = rec.clone().as_of(1_001 + QUERY_DEADLINE_MS);
        assert_eq!(late.status, QueryStatus::Failed);
        assert_eq!(late.failure, Some(QueryFailure::Unavailable));
        assert!(late.error.unwrap().contains("no host answered"));
        let done = QueryRecord {
            status: QueryStatus::Done,
            ..rec
        };
        assert_eq!(done.as_of(i64::MAX).status, QueryStatus::Done);
    }
}
