//! Actions: what a session does on WhatsApp besides sending a message (react, edit, revoke,
//! pin, star, mark read, presence, chat and group changes, blocking). An action is a job like a
//! send (`MessageContent::Action`): recorded, queued on the session's FIFO queue in its chat's
//! lane, retried when transient, idempotent, readable at `GET /api/jobs/:id`. That is what
//! orders a revoke after the send it revokes. What it produced (a new group's JID, each
//! participant's outcome) is its [`ActionResult`], kept beside the job.

use serde::{Deserialize, Serialize};

use super::{Jid, JidKind, ValidationError};

/// The most participants one group change may name.
pub const MAX_PARTICIPANTS: usize = 256;
/// The most message ids one read receipt may cover.
pub const MAX_READ_IDS: usize = 100;
/// How long after sending WhatsApp lets a message be edited.
pub const EDIT_WINDOW_MS: i64 = 15 * 60 * 1000;
/// The disappearing-message timers WhatsApp offers (seconds; 0 turns them off).
pub const EPHEMERAL_TIMERS: [u32; 4] = [0, 86_400, 604_800, 7_776_000];
/// The pin durations WhatsApp offers (seconds).
pub const PIN_DURATIONS: [u32; 3] = [86_400, 604_800, 2_592_000];
/// The longest chat mute, beside "always" (a year, in ms).
pub const MAX_MUTE_MS: i64 = 366 * 24 * 3600 * 1000;
const MAX_SUBJECT: usize = 100;
const MAX_DESCRIPTION: usize = 2_048;
const MAX_ID: usize = 128;
const MAX_EDIT_TEXT: usize = 65_536;

/// The session's own lane: actions on the account rather than on one chat (presence, creating
/// or joining a group) queue under this JID.
pub fn account_lane() -> Jid {
    Jid::parse("status@broadcast").expect("a valid JID")
}

/// An earlier message an action is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageRef {
    /// Its WhatsApp id (`waMessageId` of a send, `id` of a received message).
    pub id: String,
    /// Sent by this session's account (default) or received.
    #[serde(default = "yes")]
    pub from_me: bool,
    /// In a group, who sent it when it is not ours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participant: Option<Jid>,
}

fn yes() -> bool {
    true
}

/// "typing…", "recording audio…", or neither, in one chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Typing {
    Composing,
    Recording,
    Paused,
}

/// A change to one chat, as the phone's chat list makes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "change",
    rename_all = "snake_case",
    rename_all_fields = "camelCase"
)]
pub enum ChatChange {
    Archive,
    Unarchive,
    Pin,
    Unpin,
    /// Until this time (ms since the epoch), or for ever.
    Mute {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until_ms: Option<i64>,
    },
    Unmute,
    MarkRead,
    MarkUnread,
    Delete,
}

/// What to do to group members.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberChange {
    Add,
    Remove,
    Promote,
    Demote,
    /// Let in people who asked to join.
    Approve,
    /// Turn away people who asked to join.
    Reject,
}

impl MemberChange {
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "add" => Ok(Self::Add),
            "remove" => Ok(Self::Remove),
            "promote" => Ok(Self::Promote),
            "demote" => Ok(Self::Demote),
            "approve" => Ok(Self::Approve),
            "reject" => Ok(Self::Reject),
            other => Err(ValidationError::new(
                "action",
                format!("'{other}' is not one of add, remove, promote, demote, approve, reject"),
            )),
        }
    }
}

/// Group settings to change; the ones left `None` stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupSettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// An empty description removes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Only admins may send.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub announce: Option<bool>,
    /// Only admins may change the group's info.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locked: Option<bool>,
    /// Disappearing messages after this many seconds (one of [`EPHEMERAL_TIMERS`]; 0: off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ephemeral_secs: Option<u32>,
    /// New members need an admin's approval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<bool>,
}

impl GroupSettings {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// What a session is asked to do. The job's `to` is the chat it is about (a group for group
/// actions, the contact for blocking), or [`account_lane`] for the account's own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "action",
    rename_all = "snake_case",
    rename_all_fields = "camelCase"
)]
pub enum Action {
    /// An emoji on a message; an empty one removes this account's reaction.
    React {
        message: MessageRef,
        emoji: String,
    },
    /// New text for a text message this account sent (within [`EDIT_WINDOW_MS`]).
    Edit {
        message: MessageRef,
        text: String,
    },
    /// Delete for everyone: this account's message, or as a group admin anyone's.
    Revoke {
        message: MessageRef,
    },
    /// Pin (for `duration_secs`, one of [`PIN_DURATIONS`]) or unpin a message in its chat.
    Pin {
        message: MessageRef,
        pin: bool,
        #[serde(default)]
        duration_secs: u32,
    },
    Star {
        message: MessageRef,
        star: bool,
    },
    /// Read receipts for received messages (blue ticks), or "played" for voice notes.
    Read {
        message_ids: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        participant: Option<Jid>,
        #[serde(default)]
        played: bool,
    },
    /// "typing…" or "recording audio…" in the chat, or neither.
    Typing {
        state: Typing,
    },
    /// The account online or offline (account lane).
    Presence {
        available: bool,
    },
    Chat {
        change: ChatChange,
    },
    Block {
        block: bool,
    },
    /// A new group with this subject and these members (account lane).
    CreateGroup {
        subject: String,
        participants: Vec<Jid>,
    },
    Members {
        change: MemberChange,
        participants: Vec<Jid>,
    },
    GroupSettings {
        settings: GroupSettings,
    },
    /// A new invite link; the old one stops working.
    ResetInvite,
    /// Join by an invite code or link (account lane).
    JoinGroup {
        code: String,
    },
    LeaveGroup,
    /// Take back a status post from those it was shown to (the lane of status posts, so it
    /// follows the post).
    RevokeStatus {
        message_id: String,
        recipients: Vec<Jid>,
    },
}

impl Action {
    /// The short name of the action, as the job view and events show it.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::React { .. } => "react",
            Self::Edit { .. } => "edit",
            Self::Revoke { .. } => "revoke",
            Self::Pin { .. } => "pin",
            Self::Star { .. } => "star",
            Self::Read { .. } => "read",
            Self::Typing { .. } => "typing",
            Self::Presence { .. } => "presence",
            Self::Chat { .. } => "chat",
            Self::Block { .. } => "block",
            Self::CreateGroup { .. } => "create_group",
            Self::Members { .. } => "group_members",
            Self::GroupSettings { .. } => "group_settings",
            Self::ResetInvite => "reset_invite",
            Self::JoinGroup { .. } => "join_group",
            Self::LeaveGroup => "leave_group",
            Self::RevokeStatus { .. } => "revoke_status",
        }
    }

    /// Whether the action is about a group, so its `to` must be a group JID.
    pub fn needs_group(&self) -> bool {
        matches!(
            self,
            Self::Members { .. }
                | Self::GroupSettings { .. }
                | Self::ResetInvite
                | Self::LeaveGroup
        )
    }

    /// Whether it runs in the account's lane rather than a chat's.
    pub fn on_account(&self) -> bool {
        matches!(
            self,
            Self::Presence { .. }
                | Self::CreateGroup { .. }
                | Self::JoinGroup { .. }
                | Self::RevokeStatus { .. }
        )
    }

    /// Every rule the action and its chat `to` must pass before it is accepted.
    pub fn validate(&self, to: &Jid) -> Result<(), ValidationError> {
        let kind = to.kind();
        if self.needs_group() && kind != JidKind::Group {
            return Err(ValidationError::new(
                "groupId",
                format!("'{to}' is not a group JID (…@g.us)"),
            ));
        }
        if !self.on_account() && matches!(kind, JidKind::Status | JidKind::Broadcast) {
            return Err(ValidationError::new(
                "to",
                "must be a contact or group chat",
            ));
        }
        match self {
            Self::React { message, emoji } => {
                message.validate()?;
                if emoji.chars().count() > 16 {
                    return Err(ValidationError::new("emoji", "must be one emoji"));
                }
                Ok(())
            }
            Self::Edit { message, text } => {
                message.validate()?;
                if !message.from_me {
                    return Err(ValidationError::new(
                        "fromMe",
                        "only this account's own messages can be edited",
                    ));
                }
                non_empty("text", text, MAX_EDIT_TEXT)
            }
            Self::Revoke { message } | Self::Star { message, .. } => message.validate(),
            Self::Pin {
                message,
                pin,
                duration_secs,
            } => {
                message.validate()?;
                if *pin && !PIN_DURATIONS.contains(duration_secs) {
                    return Err(ValidationError::new(
                        "durationSecs",
                        "must be 86400 (24 h), 604800 (7 days) or 2592000 (30 days)",
                    ));
                }
                Ok(())
            }
            Self::Read { message_ids, .. } => {
                if message_ids.is_empty() || message_ids.len() > MAX_READ_IDS {
                    return Err(ValidationError::new(
                        "messageIds",
                        format!("must hold 1 to {MAX_READ_IDS} message ids"),
                    ));
                }
                message_ids
                    .iter()
                    .try_for_each(|id| message_id("messageIds", id))
            }
            Self::Typing { .. } | Self::Presence { .. } | Self::ResetInvite | Self::LeaveGroup => {
                Ok(())
            }
            Self::Chat { change } => match change {
                ChatChange::Mute { until_ms: Some(t) } if *t <= 0 => {
                    Err(ValidationError::new("durationSecs", "must be positive"))
                }
                _ => Ok(()),
            },
            Self::Block { .. } => {
                if kind == JidKind::User || kind == JidKind::Lid {
                    Ok(())
                } else {
                    Err(ValidationError::new(
                        "number",
                        "only contacts can be blocked",
                    ))
                }
            }
            Self::CreateGroup {
                subject,
                participants,
            } => {
                non_empty("subject", subject, MAX_SUBJECT)?;
                members(participants)
            }
            Self::Members { participants, .. } => members(participants),
            Self::GroupSettings { settings } => settings.validate(),
            Self::JoinGroup { code } => invite_code(code).map(|_| ()),
            Self::RevokeStatus {
                message_id: id,
                recipients,
            } => {
                message_id("messageId", id)?;
                if recipients.is_empty() || recipients.len() > super::MAX_STATUS_RECIPIENTS {
                    return Err(ValidationError::new(
                        "recipients",
                        "the contacts the status was shown to (1 to 1024)",
                    ));
                }
                Ok(())
            }
        }
    }
}

impl MessageRef {
    fn validate(&self) -> Result<(), ValidationError> {
        message_id("messageId", &self.id)?;
        if let Some(p) = &self.participant
            && !matches!(p.kind(), JidKind::User | JidKind::Lid)
        {
            return Err(ValidationError::new(
                "participant",
                "must be a member's number or JID",
            ));
        }
        Ok(())
    }
}

impl GroupSettings {
    fn validate(&self) -> Result<(), ValidationError> {
        if self.is_empty() {
            return Err(ValidationError::new(
                "body",
                "name at least one of subject, description, announce, locked, ephemeralSecs, approval",
            ));
        }
        if let Some(s) = &self.subject {
            non_empty("subject", s, MAX_SUBJECT)?;
        }
        if let Some(d) = &self.description
            && d.chars().count() > MAX_DESCRIPTION
        {
            return Err(ValidationError::new(
                "description",
                format!("must be at most {MAX_DESCRIPTION} characters"),
            ));
        }
        if let Some(e) = self.ephemeral_secs
            && !EPHEMERAL_TIMERS.contains(&e)
        {
            return Err(ValidationError::new(
                "ephemeralSecs",
                "must be 0 (off), 86400 (24 h), 604800 (7 days) or 7776000 (90 days)",
            ));
        }
        Ok(())
    }
}

/// The code of an invite, from the code itself or a `https://chat.whatsapp.com/<code>` link.
pub fn invite_code(input: &str) -> Result<&str, ValidationError> {
    let s = input.trim();
    let code = s
        .strip_prefix("https://chat.whatsapp.com/")
        .or_else(|| s.strip_prefix("http://chat.whatsapp.com/"))
        .or_else(|| s.strip_prefix("chat.whatsapp.com/"))
        .unwrap_or(s)
        .trim_end_matches('/');
    let ok = (8..=64).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_alphanumeric());
    if ok {
        Ok(code)
    } else {
        Err(ValidationError::new(
            "code",
            "must be an invite code or a https://chat.whatsapp.com/… link",
        ))
    }
}

fn members(participants: &[Jid]) -> Result<(), ValidationError> {
    if participants.is_empty() || participants.len() > MAX_PARTICIPANTS {
        return Err(ValidationError::new(
            "participants",
            format!("must hold 1 to {MAX_PARTICIPANTS} numbers"),
        ));
    }
    if let Some(p) = participants
        .iter()
        .find(|p| !matches!(p.kind(), JidKind::User | JidKind::Lid))
    {
        return Err(ValidationError::new(
            "participants",
            format!("'{p}' is not a person's number or JID"),
        ));
    }
    Ok(())
}

fn message_id(field: &'static str, id: &str) -> Result<(), ValidationError> {
    let ok = !id.is_empty()
        && id.len() <= MAX_ID
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(ValidationError::new(
            field,
            "must be a WhatsApp message id (letters, digits, -_.:)",
        ))
    }
}

fn non_empty(field: &'static str, value: &str, max: usize) -> Result<(), ValidationError> {
    if value.trim().is_empty() {
        return Err(ValidationError::new(field, "must not be empty"));
    }
    if value.chars().count() > max {
        return Err(ValidationError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    Ok(())
}

/// How one member change went for one person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberOutcome {
    /// Done (added, removed, promoted, demoted, approved, rejected).
    Ok,
    /// Already a member (add) or already in that role.
    AlreadyMember,
    NotOnWhatsapp,
    /// Their privacy settings refuse being added: send them the invite link instead.
    PrivacyRefused,
    /// Not in the group (remove, promote, demote) or never asked to join (approve, reject).
    NotFound,
    /// The group is full.
    GroupFull,
    /// Some other refusal, with WhatsApp's code.
    Refused,
}

/// One person's outcome of a member change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberResult {
    pub jid: Jid,
    pub status: MemberOutcome,
    /// WhatsApp's error code, when it refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<u16>,
    /// For [`MemberOutcome::PrivacyRefused`]: a link to the group to send them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invite_link: Option<String>,
}

/// What a done action produced, where it produced anything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionResult {
    /// The WhatsApp id of the message that carried it (reaction, edit, revoke, pin).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// The group created or joined.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<Jid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invite_link: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub participants: Vec<MemberResult>,
}

impl ActionResult {
    /// The store key of job `job_id`'s result.
    pub fn key(job_id: &str) -> String {
        format!("result:{job_id}")
    }
}

/// The invite link of an invite code.
pub fn invite_link(code: &str) -> String {
    format!("https://chat.whatsapp.com/{code}")
}

#[cfg(test)]
mod tests;
