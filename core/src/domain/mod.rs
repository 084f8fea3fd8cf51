//! The domain: identifiers, recipients, the outbound message model and its validation, jobs,
//! sessions, events and API keys. Nothing here does I/O.

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

pub use apikey::{ApiKey, ApiKeyRecord, KeyHash, Role};
pub use caps::MediaCaps;
pub use command::HostCommand;
pub use error::ValidationError;
pub use event::{Event, EventFilter, EventKind};
pub use ids::{EventId, JobId, KeyId, SessionId, random_token, wa_message_id};
pub use inbound::{ContactCard, InboundAction, InboundContent, InboundMedia, InboundMediaKind};
pub use jid::{Jid, JidKind, normalize_phone};
pub use job::{Job, JobState};
pub use message::{
    Button, Contact, ListRow, ListSection, MAX_BUTTONS, MAX_POLL_OPTIONS, MAX_TYPING_MS, MediaKind,
    MediaSource, MessageContent, OutboundMessage, Quoted, validate_media_url, validate_webhook_url,
};
pub use proxy::ProxyUrl;
pub use query::{
    ContactProfile, MAX_NUMBERS_PER_CHECK, NumberCheck, QUERY_TTL_MS, QueryRecord, QueryStatus,
    SessionQuery,
};
pub use session::{Account, Session, SessionStatus};
