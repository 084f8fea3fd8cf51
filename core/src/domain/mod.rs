//! The domain: identifiers, recipients, the outbound message model and its validation, jobs,
//! sessions, events and API keys. Nothing here does I/O.

mod action;
mod apikey;
mod caps;
mod command;
mod error;
mod event;
mod ids;
mod inbound;
mod jid;
mod job;
mod message;
mod proxy;
mod query;
mod session;

pub use action::{
    Action, ActionResult, ChatChange, EDIT_WINDOW_MS, GroupSettings, MAX_MUTE_MS, MAX_PARTICIPANTS,
    MemberChange, MemberOutcome, MemberResult, MessageRef, Typing, account_lane, invite_code,
    invite_link,
};
pub use apikey::{ApiKey, ApiKeyRecord, KeyHash, Role};
pub use caps::MediaCaps;
pub use command::HostCommand;
pub use error::ValidationError;
pub use event::{Event, EventFilter, EventKind};
pub use ids::{EventId, JobId, KeyId, SessionId, random_token, wa_message_id};
pub use inbound::{ContactCard, InboundAction, InboundContent, InboundMedia, InboundMediaKind};
pub use jid::{Jid, JidKind, normalize_phone};
pub use job::{Job, JobState, is_sane_request_id};
pub use message::{
    Button, Contact, ListRow, ListSection, MAX_BUTTONS, MAX_POLL_OPTIONS, MAX_STATUS_RECIPIENTS,
    MAX_TYPING_MS, MediaKind, MediaSource, MessageContent, OutboundMessage, Quoted, StatusAudience,
    validate_media_url, validate_webhook_url,
};
pub use proxy::ProxyUrl;
pub use query::{
    BusinessProfile, ContactProfile, GroupInfo, GroupMember, GroupRole, JoinRequest,
    MAX_NUMBERS_PER_CHECK, NumberCheck, QUERY_DEADLINE_MS, QUERY_TTL_MS, QueryFailure, QueryRecord,
    QueryStatus, SessionQuery,
};
pub use session::{Account, Session, SessionStatus};
