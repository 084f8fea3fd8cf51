//! The seam between the session host and WhatsApp. The runner and the send worker only see
//! these traits, so the simulated network (demos, tests) and the real whatsapp-rust client are
//! interchangeable. Reconnecting is the runner's business: a connector makes one connection per
//! call and reports, through its event stream, what happens to it.

pub mod simulated;
pub mod whatsapp;

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::mpsc;
use wagate_core::ports::BlobWriter;
use wagate_core::{
    Account, Action, ActionResult, BusinessProfile, ContactProfile, GroupInfo, InboundAction,
    InboundContent, Jid, JoinRequest, NumberCheck, OutboundMessage, ProxyUrl, SessionId,
};

pub use simulated::SimNetwork;
pub use whatsapp::{WhatsAppConnector, WhatsAppOptions};

/// Which connector a host uses (`WA_CONNECTOR`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectorKind {
    /// The built-in simulated network (demos, tests).
    Simulated,
    /// WhatsApp itself, through whatsapp-rust.
    WhatsApp,
}

impl ConnectorKind {
    /// Parses `simulated` or `whatsapp` (any case).
    pub fn parse(s: &str) -> anyhow::Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "simulated" | "sim" => Ok(Self::Simulated),
            "whatsapp" => Ok(Self::WhatsApp),
            other => anyhow::bail!(
                "WA_CONNECTOR={other:?}: expected `whatsapp` (the real network) or `simulated`"
            ),
        }
    }
}

/// What a connection needs of its session's record besides the id, read before each attempt
/// so a change applies at the next reconnect.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionSettings {
    /// The session's own proxy; `None` uses the connector's default (`HTTPS_PROXY`).
    pub proxy: Option<ProxyUrl>,
}

/// Something that can connect a session to WhatsApp.
#[async_trait]
pub trait Connector: fmt::Debug + Send + Sync + 'static {
    /// Opens one connection for `session`, loading its stored credentials if it has any.
    /// What happens next (a QR to scan, the account opening, the link dropping) arrives on the
    /// returned event stream; the stream ends when the connection is gone for good.
    async fn connect(
        &self,
        session: &SessionId,
        settings: &SessionSettings,
    ) -> anyhow::Result<Connected>;
}

/// A connection just made: the handle to act on it and the stream of what happens to it.
pub struct Connected {
    /// The handle to send, pair, log out and disconnect.
    pub connection: Arc<dyn Connection>,
    /// What happens to the connection, in order; ends when the connection is gone.
    pub events: mpsc::Receiver<ConnectorEvent>,
}

impl fmt::Debug for Connected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connected").finish_non_exhaustive()
    }
}

/// One live connection of one session.
#[async_trait]
pub trait Connection: Send + Sync + 'static {
    /// Sends `msg` to `to` under the WhatsApp message id `wa_message_id`. Sending the same id
    /// twice is one message for the recipient (WhatsApp dedups on it), which is what makes a
    /// redelivered job safe to send again.
    async fn send(
        &self,
        to: &Jid,
        msg: &OutboundMessage,
        wa_message_id: &str,
    ) -> Result<SendReceipt, SendError>;
    /// Carries out `action` in the chat `to` (a group for group actions, the account's lane
    /// for the account's own). `wa_message_id` is the id of the message the action sends, where
    /// it sends one (reaction, edit, revoke, pin): fixed when the job was accepted, so a retry
    /// is the same message. Refusals that will not change (not an admin, not in the group, the
    /// edit window passed) are `Permanent`.
    async fn act(
        &self,
        to: &Jid,
        action: &Action,
        wa_message_id: &str,
    ) -> Result<ActionResult, SendError>;
    /// When this connection last heard from WhatsApp (Unix ms: any frame, keepalive answers
    /// included), for the watchdog; `None` where the transport does not tell.
    fn last_traffic_ms(&self) -> Option<i64> {
        None
    }
    /// Asks for a pairing code for `phone` (digits, international format), the alternative to
    /// scanning the QR code.
    async fn pair_code(&self, phone: &str) -> anyhow::Result<String>;
    /// Unlinks the device and forgets its credentials; a `LoggedOut` event follows.
    async fn logout(&self) -> anyhow::Result<()>;
    /// Declines a ringing call (the caller sees it rejected).
    async fn reject_call(&self, call: &IncomingCall) -> anyhow::Result<()>;
    /// Shows `state` ("typing…", "recording audio…", or neither) in the chat `to`.
    async fn chat_state(&self, to: &Jid, state: ChatState) -> anyhow::Result<()>;
    /// Asks WhatsApp which of `numbers` (digits) have an account; one answer per number, in
    /// order.
    async fn check_numbers(&self, numbers: &[String]) -> anyhow::Result<Vec<NumberCheck>>;
    /// What `number`'s account shows (fails for a number not on WhatsApp).
    async fn profile(&self, number: &str) -> anyhow::Result<ContactProfile>;
    /// A business account's profile (fails for a number that is not a business).
    async fn business_profile(&self, number: &str) -> anyhow::Result<BusinessProfile>;
    /// The contacts this account blocked.
    async fn blocklist(&self) -> anyhow::Result<Vec<Jid>>;
    /// The groups this account is in.
    async fn groups(&self) -> anyhow::Result<Vec<GroupInfo>>;
    /// One group the account is in.
    async fn group(&self, jid: &Jid) -> anyhow::Result<GroupInfo>;
    /// The invite link of a group the account administers.
    async fn invite_link(&self, group: &Jid) -> anyhow::Result<String>;
    /// The group an invite code leads to, without joining it.
    async fn invite_info(&self, code: &str) -> anyhow::Result<GroupInfo>;
    /// Who asked to join a group the account administers.
    async fn join_requests(&self, group: &Jid) -> anyhow::Result<Vec<JoinRequest>>;
    /// Downloads (and decrypts) the file of a received media message, `handle` being the
    /// message's [`IncomingMessage::media_handle`], writing it to `out` chunk by chunk. Fails
    /// without writing more once the file passes `max_bytes`. The caller finishes or aborts
    /// `out`.
    async fn download_media(
        &self,
        message_id: &str,
        handle: &serde_json::Value,
        max_bytes: u64,
        out: &mut dyn BlobWriter,
    ) -> anyhow::Result<()>;
    /// Closes the connection, keeping the credentials; the event stream ends.
    async fn disconnect(&self);
}

/// What a chat shows of this account: typing, recording a voice note, or neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatState {
    Composing,
    Recording,
    Paused,
}

/// What WhatsApp answered to a send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendReceipt {
    /// The WhatsApp message id the message went out with.
    pub message_id: String,
    /// Server timestamp, ms since the Unix epoch.
    pub timestamp_ms: i64,
}

/// Why a send failed: retrying helps only when it is `Transient`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Will fail again (not on WhatsApp, media too large, …).
    #[error("{0}")]
    Permanent(String),
    /// May work later (connection dropped, timeout, server error).
    #[error("{0}")]
    Transient(String),
}

/// What happens to a connection.
#[derive(Debug, Clone, PartialEq)]
pub enum ConnectorEvent {
    /// The session is not linked: show this QR payload (it rotates).
    Qr { code: String },
    /// A pairing code to type on the phone, as an alternative to the QR.
    PairingCode { code: String },
    /// Linked and online as `account`.
    Open { account: Account },
    /// The connection dropped; the credentials are still good, so reconnecting works.
    Closed { reason: String },
    /// The device was unlinked; the credentials are gone and a new link is needed.
    LoggedOut,
    /// A message arrived.
    Incoming(Box<IncomingMessage>),
    /// An earlier message was reacted to, edited or deleted.
    Action(Box<IncomingAction>),
    /// Someone called, or a call was missed.
    Call(Box<IncomingCall>),
    /// A group the account is in changed.
    Group(Box<GroupChange>),
    /// A recipient's phone got or read messages this session sent.
    Receipt(MessageReceipt),
}

/// How far a sent message got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReceiptStatus {
    /// On the recipient's phone.
    Delivered,
    /// Opened by the recipient.
    Read,
    /// A voice note or video played by the recipient.
    Played,
}

impl ReceiptStatus {
    /// The status as webhooks name it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Delivered => "delivered",
            Self::Read => "read",
            Self::Played => "played",
        }
    }
}

/// A receipt for messages this session sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageReceipt {
    /// The WhatsApp message ids it covers.
    pub message_ids: Vec<String>,
    /// The chat the messages went to.
    pub chat: Jid,
    /// Who sent the receipt (in a group: the member).
    pub from: Jid,
    pub status: ReceiptStatus,
    /// Seconds since the Unix epoch.
    pub timestamp_secs: i64,
}

/// A message received by a session.
#[derive(Debug, Clone, PartialEq)]
pub struct IncomingMessage {
    /// WhatsApp message id.
    pub id: String,
    /// Who sent it (in a group: the member), by phone number when WhatsApp tells it.
    pub from: Jid,
    /// The sender's LID (WhatsApp's phone-less id), when known.
    pub sender_lid: Option<Jid>,
    /// The chat it arrived in: the sender's own chat, a group, a newsletter, a broadcast.
    pub chat: Jid,
    /// Sent by this account itself (from another device of the same account).
    pub from_me: bool,
    /// The sender's display name, when WhatsApp gives one.
    pub push_name: Option<String>,
    /// What it holds, kind by kind.
    pub content: InboundContent,
    /// The id of the message it quotes (a reply), if any.
    pub quoted_id: Option<String>,
    /// The message as WhatsApp's JSON (camelCase protobuf names, bytes as base64), as the
    /// seed server's clients read it; `None` builds it from `content`.
    pub raw: Option<serde_json::Value>,
    /// For a media message: what this connector needs to download its file later
    /// ([`Connection::download_media`]); its own format, stored as it is.
    pub media_handle: Option<serde_json::Value>,
    /// Server timestamp, seconds since the Unix epoch (as WhatsApp counts).
    pub timestamp_secs: i64,
}

/// A reaction to, an edit of or the deletion of an earlier message, by someone in a chat of
/// this session.
#[derive(Debug, Clone, PartialEq)]
pub struct IncomingAction {
    /// The WhatsApp id of the message that carried the action.
    pub id: String,
    /// Who acted (by phone number when known), and their LID when known.
    pub from: Jid,
    pub sender_lid: Option<Jid>,
    pub chat: Jid,
    pub from_me: bool,
    pub action: InboundAction,
    pub timestamp_secs: i64,
}

/// Where a call stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallStatus {
    /// Ringing now.
    Offer,
    /// Nobody answered.
    Missed,
}

impl CallStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Offer => "offer",
            Self::Missed => "missed",
        }
    }
}

/// A call to this session's account.
#[derive(Debug, Clone, PartialEq)]
pub struct IncomingCall {
    pub call_id: String,
    /// The caller, by phone number when known, and their LID when known.
    pub from: Jid,
    pub from_lid: Option<Jid>,
    pub is_video: bool,
    pub is_group: bool,
    pub status: CallStatus,
    pub timestamp_secs: i64,
    /// What the connection needs to reject it: the signalling peer and the call's creator, as
    /// WhatsApp wrote them.
    pub peer: String,
    pub creator: String,
}

/// What changed in a group.
#[derive(Debug, Clone, PartialEq)]
pub enum GroupChangeKind {
    /// `add`, `remove`, `promote`, `demote` or `modify` (a member's new number), with the
    /// members concerned.
    Participants {
        action: &'static str,
        participants: Vec<Jid>,
    },
    /// The subject, the description (`None`: removed) or a setting (`locked`, `unlocked`,
    /// `announcement`, `not_announcement`, `ephemeral`, `approval`).
    Subject(String),
    Description(Option<String>),
    Setting {
        name: &'static str,
        value: serde_json::Value,
    },
}

/// A change in a group, and who made it.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupChange {
    pub group: Jid,
    pub by: Option<Jid>,
    pub by_lid: Option<Jid>,
    pub change: GroupChangeKind,
    pub timestamp_secs: i64,
}

impl IncomingMessage {
    /// The event's `type` (`text`, `image`, …).
    pub fn kind(&self) -> &'static str {
        self.content.kind()
    }

    /// The text, caption, or other text the message leads with.
    pub fn text(&self) -> Option<&str> {
        self.content.text()
    }
}
