//! Commands that drive the simulated WhatsApp network (a phone scanning a QR, a message
//! arriving). Not part of the domain: they exist for demos and tests, and a host on the real
//! network ignores them. They travel on the control queue beside the host's commands, so the
//! API's `/api/dev` routes reach a simulated host in another process too.

use serde::{Deserialize, Serialize};

use crate::{HostCommand, InboundAction, InboundContent, SessionId};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SimCommand {
    /// A phone scans the session's current QR code.
    SimScan { session_id: SessionId },
    /// A message arrives for the session.
    SimIncoming {
        session_id: SessionId,
        incoming: Box<SimIncoming>,
    },
    /// A group the account is in changes: members `add`ed, `remove`d, `promote`d or
    /// `demote`d, or (`action: "subject"`) its subject set to `subject`.
    SimGroup {
        session_id: SessionId,
        group: String,
        action: String,
        #[serde(default)]
        participants: Vec<String>,
        #[serde(default)]
        subject: Option<String>,
        #[serde(default)]
        by: Option<String>,
    },
    /// The session's connection stops hearing from WhatsApp (a socket that died without
    /// closing): its last traffic stays where it is until it reconnects.
    SimSilence { session_id: SessionId },
    /// Someone calls the session's account (or, with `missed`, a call went unanswered).
    SimCall {
        session_id: SessionId,
        from: String,
        #[serde(default)]
        video: bool,
        #[serde(default)]
        missed: bool,
    },
}

/// A message injected into the simulated network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimIncoming {
    /// Sender JID or phone.
    pub from: String,
    /// Chat JID when it is not the sender's own chat (a group, a newsletter, status@broadcast).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat: Option<String>,
    /// The text of a text message (ignored when `content` is given).
    #[serde(default)]
    pub text: String,
    /// Any other kind of message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<InboundContent>,
    /// The id of a message it quotes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quoted_id: Option<String>,
    /// Instead of a new message: a reaction to, an edit of or the deletion of an earlier one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<InboundAction>,
    #[serde(default)]
    pub from_me: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push_name: Option<String>,
    /// The file of a media `content`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media: Option<SimMedia>,
}

/// The file behind a simulated media message, and how its downloads go.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SimMedia {
    /// The file itself, base64 (at most [`SimMedia::MAX_DATA_BYTES`] decoded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// Or a generated file of this many bytes (at most [`SimMedia::MAX_SIZE`]), the same bytes
    /// for the same message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Downloads fail with this reason (as when WhatsApp no longer has the file) …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail: Option<String>,
    /// … this many times, then work (absent: always).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_times: Option<u32>,
}

impl SimMedia {
    /// Inline files travel on the control queue (SQS takes 256 KiB per message).
    pub const MAX_DATA_BYTES: usize = 128 * 1024;
    /// Generated files: enough for any WhatsApp media.
    pub const MAX_SIZE: u64 = 2 * 1024 * 1024 * 1024;
}

impl SimIncoming {
    /// What the message holds: `content`, or else a text.
    pub fn content(&self) -> InboundContent {
        self.content
            .clone()
            .unwrap_or_else(|| InboundContent::Text {
                text: self.text.clone(),
                mentions: vec![],
            })
    }
}

impl SimCommand {
    pub fn session_id(&self) -> &SessionId {
        match self {
            Self::SimScan { session_id }
            | Self::SimIncoming { session_id, .. }
            | Self::SimSilence { session_id }
            | Self::SimCall { session_id, .. }
            | Self::SimGroup { session_id, .. } => session_id,
        }
    }
}

/// One message of the control queue: a command for the session host, or one for the
/// simulated network. Both carry their kind in `type`, so the JSON is one flat object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ControlMessage {
    Host(HostCommand),
    Sim(SimCommand),
}

impl From<HostCommand> for ControlMessage {
    fn from(cmd: HostCommand) -> Self {
        Self::Host(cmd)
    }
}

impl From<SimCommand> for ControlMessage {
    fn from(cmd: SimCommand) -> Self {
        Self::Sim(cmd)
    }
}

impl ControlMessage {
    pub fn session_id(&self) -> &SessionId {
        match self {
            Self::Host(c) => c.session_id(),
            Self::Sim(c) => c.session_id(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_and_simulator_commands_share_the_queue_and_read_back_as_themselves() {
        let id = SessionId::parse("shop").unwrap();
        let host = HostCommand::Start {
            session_id: id.clone(),
        };
        let sim = SimCommand::SimScan {
            session_id: id.clone(),
        };
        let host_json = serde_json::to_string(&host).unwrap();
        let sim_json = serde_json::to_string(&sim).unwrap();
        assert_eq!(sim_json, r#"{"type":"sim_scan","session_id":"shop"}"#);
        assert_eq!(
            serde_json::from_str::<ControlMessage>(&host_json).unwrap(),
            ControlMessage::Host(host)
        );
        assert_eq!(
            serde_json::from_str::<ControlMessage>(&sim_json).unwrap(),
            ControlMessage::Sim(sim)
        );
        assert!(serde_json::from_str::<ControlMessage>(r#"{"type":"reboot"}"#).is_err());
    }
}
