//! Answers of the action, group, status and contact routes.

#![allow(dead_code)]

use utoipa::ToSchema;

/// A change `POST /api/chats/{change}` makes to a chat.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum ChatChangeName {
    Archive,
    Unarchive,
    Pin,
    Unpin,
    Mute,
    Unmute,
    Read,
    Unread,
    Delete,
}

/// The group settings a change may name (at least one); those left out stay as they are.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct GroupSettingsBody {
    pub subject: Option<String>,
    /// An empty description removes it.
    pub description: Option<String>,
    /// Only admins may send.
    pub announce: Option<bool>,
    /// Only admins may change the group's info.
    pub locked: Option<bool>,
    /// Disappearing messages after this many seconds: 0 (off), 86400, 604800 or 7776000.
    pub ephemeral_secs: Option<u32>,
    /// New members need an admin's approval.
    pub approval: Option<bool>,
}

/// A query the session's host has not answered yet; the answer will be at
/// `GET /api/queries/{queryId}`.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct QueryPending {
    pub query_id: String,
    pub session_id: String,
    /// `pending`.
    pub status: String,
    /// Where the answer will be.
    pub message: String,
}

/// A member's role in a group.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum GroupRole {
    Member,
    Admin,
    /// The group's creator (or whoever WhatsApp made its owner).
    SuperAdmin,
}

/// One member of a group.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct GroupMember {
    /// By phone number when WhatsApp tells it, else the LID.
    pub jid: String,
    pub lid: Option<String>,
    pub role: GroupRole,
}

/// A group: subject, description, owner, members with roles, settings.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct GroupInfo {
    /// `…@g.us`.
    pub jid: String,
    pub subject: String,
    pub description: Option<String>,
    pub owner: Option<String>,
    /// Seconds since the Unix epoch.
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

/// Someone who asked to join a group.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct JoinRequest {
    pub jid: String,
    /// Seconds since the Unix epoch.
    pub requested_secs: i64,
}

/// One number's answer to a number check.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct NumberCheck {
    /// As asked (digits).
    pub number: String,
    pub on_whatsapp: bool,
    /// The account's phone-number JID, when on WhatsApp.
    pub jid: Option<String>,
    /// Its LID, when WhatsApp tells it.
    pub lid: Option<String>,
    pub business: bool,
}

/// What a number's account shows.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct ContactProfile {
    pub number: String,
    pub jid: String,
    pub lid: Option<String>,
    /// The "about" text, unless the account hides it.
    pub about: Option<String>,
    /// A time-limited URL of the profile picture, unless there is none or it is hidden.
    pub picture_url: Option<String>,
    pub business: bool,
    /// A business account's verified name.
    pub business_name: Option<String>,
}

/// A business account's profile.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct BusinessProfile {
    pub jid: String,
    pub description: Option<String>,
    pub address: Option<String>,
    pub email: Option<String>,
    /// Absent when there are none.
    pub websites: Option<Vec<String>>,
    /// Absent when there are none.
    pub categories: Option<Vec<String>>,
}

/// `GET /api/groups`, answered.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct GroupsAnswer {
    pub query_id: String,
    pub session_id: String,
    /// `done`.
    pub status: String,
    pub groups: Vec<GroupInfo>,
}

/// `GET /api/groups/{group}` or `GET /api/groups/invite/{code}`, answered.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct GroupAnswer {
    pub query_id: String,
    pub session_id: String,
    /// `done`.
    pub status: String,
    pub group: GroupInfo,
}

/// `GET /api/groups/{group}/invite`, answered.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct InviteLinkAnswer {
    pub query_id: String,
    pub session_id: String,
    /// `done`.
    pub status: String,
    /// `https://chat.whatsapp.com/…`.
    pub invite_link: String,
}

/// `GET /api/groups/{group}/requests`, answered.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct JoinRequestsAnswer {
    pub query_id: String,
    pub session_id: String,
    /// `done`.
    pub status: String,
    pub requests: Vec<JoinRequest>,
}

/// `POST /api/contacts/check`, answered.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct NumberChecksAnswer {
    pub query_id: String,
    pub session_id: String,
    /// `done`.
    pub status: String,
    /// One per number asked (duplicates once), in order.
    pub results: Vec<NumberCheck>,
}

/// `GET /api/contacts/{phone}/profile`, answered.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct ProfileAnswer {
    pub query_id: String,
    pub session_id: String,
    /// `done`.
    pub status: String,
    pub profile: ContactProfile,
}

/// `GET /api/contacts/{phone}/business`, answered.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct BusinessAnswer {
    pub query_id: String,
    pub session_id: String,
    /// `done`.
    pub status: String,
    pub business: BusinessProfile,
}

/// `GET /api/contacts/blocklist`, answered.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct BlocklistAnswer {
    pub query_id: String,
    pub session_id: String,
    /// `done`.
    pub status: String,
    /// The blocked accounts' JIDs.
    pub blocked: Vec<String>,
}
