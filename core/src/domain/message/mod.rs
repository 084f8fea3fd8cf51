//! The outbound message model: every kind of message the seed server could send. Its
//! validation is in `validate.rs`.

use serde::{Deserialize, Serialize};

use super::{Action, Jid, ValidationError};

mod validate;

pub use validate::{
    MAX_BUTTONS, MAX_POLL_OPTIONS, MAX_STATUS_RECIPIENTS, MAX_TYPING_MS, validate_media_url,
    validate_webhook_url,
};

/// One message to one recipient.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboundMessage {
    pub content: MessageContent,
    /// The message this one replies to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quoted: Option<Quoted>,
    /// Show "typing…" (or "recording audio…" before a voice note) in the chat for this long
    /// before the message goes, as a person would (`typingMs`, at most [`MAX_TYPING_MS`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub typing_ms: Option<u32>,
    /// Posted to the account's status (`to` is `status@broadcast`) rather than sent to a chat.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<StatusAudience>,
}

/// Who sees a status post, and how a text status looks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusAudience {
    /// The contacts it is shown to (WhatsApp sends a status to a list, never to "everyone").
    pub recipients: Vec<Jid>,
    /// A text status's background, `0xAARRGGBB`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background_argb: Option<u32>,
    /// A text status's font, 0–7 (WhatsApp's eight status fonts, in its order).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub font: Option<u8>,
}

/// A reference to an earlier message for a quoted reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quoted {
    /// WhatsApp message id of the quoted message.
    pub id: String,
    /// Sender of the quoted message (groups need it); absent for the chat's own messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participant: Option<Jid>,
    /// Text of the quoted message, shown in the reply bubble.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaKind {
    Image,
    Video,
    Audio,
    Document,
}

impl MediaKind {
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "image" => Ok(Self::Image),
            "video" => Ok(Self::Video),
            "audio" => Ok(Self::Audio),
            "document" => Ok(Self::Document),
            other => Err(ValidationError::new(
                "mediaType",
                format!("'{other}' is not one of image, video, audio, document"),
            )),
        }
    }

    /// The kind a file most likely is, from its MIME type (used when a client gives none).
    pub fn from_mimetype(mime: &str) -> Self {
        match mime.split('/').next() {
            Some("image") => Self::Image,
            Some("video") => Self::Video,
            Some("audio") => Self::Audio,
            _ => Self::Document,
        }
    }
}

/// Where the bytes of a media message come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaSource {
    /// Fetched by the session host when the job is sent.
    Url(String),
    /// Already in the blob store (multipart, raw or presigned upload).
    Blob { key: String, size: u64 },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Button {
    pub id: String,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListSection {
    pub title: String,
    pub rows: Vec<ListRow>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListRow {
    pub id: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A contact card; rendered to a vCard 3.0 by the connector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub full_name: String,
    /// Digits only, international format.
    pub phone: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

impl Contact {
    /// The vCard WhatsApp shows as a contact bubble; `waid` makes the number tappable.
    pub fn to_vcard(&self) -> String {
        let mut v = String::from("BEGIN:VCARD\nVERSION:3.0\n");
        v.push_str(&format!("FN:{}\n", escape_vcard(&self.full_name)));
        if let Some(org) = &self.organization {
            v.push_str(&format!("ORG:{};\n", escape_vcard(org)));
        }
        v.push_str(&format!(
            "TEL;type=CELL;type=VOICE;waid={0}:+{0}\n",
            self.phone
        ));
        if let Some(email) = &self.email {
            v.push_str(&format!("EMAIL:{}\n", escape_vcard(email)));
        }
        v.push_str("END:VCARD");
        v
    }
}

fn escape_vcard(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace(',', "\\,")
        .replace(';', "\\;")
        .replace('\n', "\\n")
}

/// What is sent. Each variant is one of the seed's message routes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MessageContent {
    Text {
        text: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        mentions: Vec<Jid>,
    },
    Media {
        media: MediaKind,
        source: MediaSource,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        caption: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        file_name: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mimetype: Option<String>,
        /// Audio sent as a voice note.
        #[serde(default)]
        ptt: bool,
        /// Video played as a looping GIF.
        #[serde(default)]
        gif_playback: bool,
    },
    Location {
        latitude: f64,
        longitude: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        address: Option<String>,
    },
    /// Forward of an earlier message: its WhatsApp id and chat, plus the message body as
    /// WhatsApp's JSON (the session host re-sends it with the forwarded flag).
    Forward {
        message_id: String,
        chat: Jid,
        message: serde_json::Value,
    },
    Buttons {
        text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        footer: Option<String>,
        buttons: Vec<Button>,
    },
    List {
        text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        title: Option<String>,
        button_text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        footer: Option<String>,
        sections: Vec<ListSection>,
    },
    Poll {
        name: String,
        options: Vec<String>,
        /// How many options a voter may pick; 0 means any number.
        selectable_count: u32,
    },
    Sticker {
        source: MediaSource,
    },
    Contact {
        contact: Contact,
    },
    /// A message in WhatsApp's own JSON shape, passed through as is.
    Raw {
        message: serde_json::Value,
    },
    /// Not a message but an action on WhatsApp (react, revoke, a group change, …): it rides
    /// the same durable, ordered lane as the sends of its chat.
    Action(Action),
}

impl OutboundMessage {
    pub fn new(content: MessageContent) -> Self {
        Self {
            content,
            quoted: None,
            typing_ms: None,
            status: None,
        }
    }

    /// The short name of the kind, as used in logs, events and the job view.
    pub fn kind(&self) -> &'static str {
        if self.status.is_some() {
            return "status";
        }
        match &self.content {
            MessageContent::Text { .. } => "text",
            MessageContent::Media {
                gif_playback: true, ..
            } => "gif",
            MessageContent::Media { .. } => "media",
            MessageContent::Location { .. } => "location",
            MessageContent::Forward { .. } => "forward",
            MessageContent::Buttons { .. } => "buttons",
            MessageContent::List { .. } => "list",
            MessageContent::Poll { .. } => "poll",
            MessageContent::Sticker { .. } => "sticker",
            MessageContent::Contact { .. } => "vcard",
            MessageContent::Raw { .. } => "raw",
            MessageContent::Action(a) => a.kind(),
        }
    }

    /// The action this job carries, if it is one rather than a message.
    pub fn action(&self) -> Option<&Action> {
        match &self.content {
            MessageContent::Action(a) => Some(a),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests;
