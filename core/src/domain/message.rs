//! The outbound message model: every kind of message the seed server could send, and the
//! validation that runs before a send is accepted (so a job in a queue is always sendable).

use serde::{Deserialize, Serialize};

use super::{Jid, ValidationError};

/// One message to one recipient.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboundMessage {
    pub content: MessageContent,
    /// The message this one replies to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quoted: Option<Quoted>,
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

    /// The largest file accepted for this kind by default (WhatsApp's own limits).
    pub fn default_max_bytes(self) -> u64 {
        match self {
            Self::Image => 5 * 1024 * 1024,
            Self::Video | Self::Audio => 16 * 1024 * 1024,
            Self::Document => 100 * 1024 * 1024,
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
}

pub const MAX_TEXT: usize = 65_536;
pub const MAX_CAPTION: usize = 4_096;
pub const MAX_BUTTONS: usize = 3;
pub const MAX_BUTTON_TEXT: usize = 20;
pub const MAX_LIST_ROWS: usize = 10;
pub const MAX_POLL_OPTIONS: usize = 12;
pub const MAX_MENTIONS: usize = 1_024;

fn required(field: &'static str, value: &str, max: usize) -> Result<(), ValidationError> {
    if value.trim().is_empty() {
        return Err(ValidationError::new(field, "must not be empty"));
    }
    optional(field, value, max)
}

fn optional(field: &'static str, value: &str, max: usize) -> Result<(), ValidationError> {
    if value.chars().count() > max {
        return Err(ValidationError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    Ok(())
}

/// Checks a media URL is an absolute http(s) URL with a host. Whether the host may be fetched
/// (SSRF rules) is decided when it is fetched, after DNS resolution.
pub fn validate_media_url(field: &'static str, raw: &str) -> Result<(), ValidationError> {
    let url = url::Url::parse(raw.trim())
        .map_err(|e| ValidationError::new(field, format!("is not a valid URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ValidationError::new(
            field,
            format!(
                "scheme '{}' is not allowed; use http or https",
                url.scheme()
            ),
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(ValidationError::new(field, "must name a host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ValidationError::new(field, "must not carry credentials"));
    }
    Ok(())
}

impl MediaSource {
    fn validate(&self, field: &'static str) -> Result<(), ValidationError> {
        match self {
            Self::Url(u) => validate_media_url(field, u),
            Self::Blob { key, .. } if key.is_empty() => {
                Err(ValidationError::new(field, "must not be empty"))
            }
            Self::Blob { .. } => Ok(()),
        }
    }
}

impl OutboundMessage {
    pub fn new(content: MessageContent) -> Self {
        Self {
            content,
            quoted: None,
        }
    }

    /// The short name of the kind, as used in logs, events and the job view.
    pub fn kind(&self) -> &'static str {
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
        }
    }

    /// Every rule a message must pass before it is accepted. Errors name the client's field.
    pub fn validate(&self) -> Result<(), ValidationError> {
        if let Some(q) = &self.quoted {
            required("quoted.id", &q.id, 128)?;
        }
        match &self.content {
            MessageContent::Text { text, mentions } => {
                required("text", text, MAX_TEXT)?;
                if mentions.len() > MAX_MENTIONS {
                    return Err(ValidationError::new(
                        "mentions",
                        format!("at most {MAX_MENTIONS} mentions"),
                    ));
                }
                Ok(())
            }
            MessageContent::Media {
                media,
                source,
                caption,
                file_name,
                ptt,
                gif_playback,
                ..
            } => {
                source.validate("mediaUrl")?;
                if let Some(c) = caption {
                    optional("caption", c, MAX_CAPTION)?;
                }
                if let Some(f) = file_name {
                    optional("fileName", f, 255)?;
                }
                if *ptt && *media != MediaKind::Audio {
                    return Err(ValidationError::new(
                        "ptt",
                        "only audio can be a voice note",
                    ));
                }
                if *gif_playback && *media != MediaKind::Video {
                    return Err(ValidationError::new(
                        "mediaType",
                        "a GIF is sent as an MP4 video",
                    ));
                }
                Ok(())
            }
            MessageContent::Location {
                latitude,
                longitude,
                name,
                address,
            } => {
                if !latitude.is_finite() || !(-90.0..=90.0).contains(latitude) {
                    return Err(ValidationError::new(
                        "latitude",
                        "must be between -90 and 90",
                    ));
                }
                if !longitude.is_finite() || !(-180.0..=180.0).contains(longitude) {
                    return Err(ValidationError::new(
                        "longitude",
                        "must be between -180 and 180",
                    ));
                }
                if let Some(n) = name {
                    optional("name", n, 1_000)?;
                }
                if let Some(a) = address {
                    optional("address", a, 1_000)?;
                }
                Ok(())
            }
            MessageContent::Forward {
                message_id,
                message,
                ..
            } => {
                required("messageId", message_id, 128)?;
                if !message.is_object() {
                    return Err(ValidationError::new("message", "must be a JSON object"));
                }
                Ok(())
            }
            MessageContent::Buttons {
                text,
                footer,
                buttons,
            } => {
                required("text", text, MAX_TEXT)?;
                if let Some(f) = footer {
                    optional("footer", f, 60)?;
                }
                if buttons.is_empty() || buttons.len() > MAX_BUTTONS {
                    return Err(ValidationError::new(
                        "buttons",
                        format!(
                            "must have 1 to {MAX_BUTTONS} buttons (got {})",
                            buttons.len()
                        ),
                    ));
                }
                for b in buttons {
                    required("buttons[].id", &b.id, 256)?;
                    required("buttons[].text", &b.text, MAX_BUTTON_TEXT)?;
                }
                unique("buttons[].id", buttons.iter().map(|b| b.id.as_str()))
            }
            MessageContent::List {
                text,
                title,
                button_text,
                footer,
                sections,
            } => {
                required("text", text, MAX_TEXT)?;
                required("buttonText", button_text, MAX_BUTTON_TEXT)?;
                if let Some(t) = title {
                    optional("title", t, 60)?;
                }
                if let Some(f) = footer {
                    optional("footer", f, 60)?;
                }
                if sections.is_empty() {
                    return Err(ValidationError::new(
                        "sections",
                        "must have at least one section",
                    ));
                }
                let rows: usize = sections.iter().map(|s| s.rows.len()).sum();
                if rows == 0 || rows > MAX_LIST_ROWS {
                    return Err(ValidationError::new(
                        "sections",
                        format!("must have 1 to {MAX_LIST_ROWS} rows in all (got {rows})"),
                    ));
                }
                for s in sections {
                    optional("sections[].title", &s.title, 24)?;
                    for r in &s.rows {
                        required("sections[].rows[].id", &r.id, 200)?;
                        required("sections[].rows[].title", &r.title, 24)?;
                        if let Some(d) = &r.description {
                            optional("sections[].rows[].description", d, 72)?;
                        }
                    }
                }
                unique(
                    "sections[].rows[].id",
                    sections
                        .iter()
                        .flat_map(|s| s.rows.iter().map(|r| r.id.as_str())),
                )
            }
            MessageContent::Poll {
                name,
                options,
                selectable_count,
            } => {
                required("name", name, 255)?;
                if options.len() < 2 || options.len() > MAX_POLL_OPTIONS {
                    return Err(ValidationError::new(
                        "options",
                        format!(
                            "a poll needs 2 to {MAX_POLL_OPTIONS} options (got {})",
                            options.len()
                        ),
                    ));
                }
                for o in options {
                    required("options[]", o, 100)?;
                }
                unique("options", options.iter().map(|o| o.trim()))?;
                if *selectable_count as usize > options.len() {
                    return Err(ValidationError::new(
                        "selectableCount",
                        "cannot exceed the number of options",
                    ));
                }
                Ok(())
            }
            MessageContent::Sticker { source } => source.validate("imageUrl"),
            MessageContent::Contact { contact } => {
                required("fullName", &contact.full_name, 256)?;
                super::normalize_phone(&contact.phone, "phone")?;
                if let Some(o) = &contact.organization {
                    optional("organization", o, 256)?;
                }
                if let Some(e) = &contact.email
                    && (!e.contains('@') || e.len() > 256)
                {
                    return Err(ValidationError::new("email", "is not an email address"));
                }
                Ok(())
            }
            MessageContent::Raw { message } => {
                if message.as_object().is_none_or(|m| m.is_empty()) {
                    return Err(ValidationError::new(
                        "message",
                        "must be a non-empty JSON object",
                    ));
                }
                Ok(())
            }
        }
    }
}

fn unique<'a>(
    field: &'static str,
    values: impl Iterator<Item = &'a str>,
) -> Result<(), ValidationError> {
    let mut seen = std::collections::HashSet::new();
    for v in values {
        if !seen.insert(v) {
            return Err(ValidationError::new(field, format!("'{v}' appears twice")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(content: MessageContent) -> OutboundMessage {
        OutboundMessage::new(content)
    }

    fn err_field(content: MessageContent) -> &'static str {
        msg(content).validate().unwrap_err().field
    }

    fn text(t: &str) -> MessageContent {
        MessageContent::Text {
            text: t.into(),
            mentions: vec![],
        }
    }

    fn url_media(kind: MediaKind, url: &str) -> MessageContent {
        MessageContent::Media {
            media: kind,
            source: MediaSource::Url(url.into()),
            caption: None,
            file_name: None,
            mimetype: None,
            ptt: false,
            gif_playback: false,
        }
    }

    fn buttons(n: usize) -> MessageContent {
        MessageContent::Buttons {
            text: "pick".into(),
            footer: None,
            buttons: (0..n)
                .map(|i| Button {
                    id: format!("b{i}"),
                    text: format!("B {i}"),
                })
                .collect(),
        }
    }

    fn poll(options: &[&str], selectable: u32) -> MessageContent {
        MessageContent::Poll {
            name: "Lunch?".into(),
            options: options.iter().map(|s| s.to_string()).collect(),
            selectable_count: selectable,
        }
    }

    #[test]
    fn text_must_not_be_empty_or_huge() {
        assert!(msg(text("hi")).validate().is_ok());
        assert_eq!(err_field(text("   ")), "text");
        assert_eq!(err_field(text(&"x".repeat(MAX_TEXT + 1))), "text");
    }

    #[test]
    fn media_urls_must_be_http_with_a_host() {
        assert!(
            msg(url_media(MediaKind::Image, "https://example.com/a.jpg"))
                .validate()
                .is_ok()
        );
        for bad in [
            "file:///etc/passwd",
            "gopher://x",
            "not a url",
            "https://user:pw@example.com/x",
            "ftp://example.com/a",
        ] {
            assert_eq!(
                err_field(url_media(MediaKind::Image, bad)),
                "mediaUrl",
                "{bad}"
            );
        }
    }

    #[test]
    fn voice_notes_are_audio_and_gifs_are_video() {
        let mut m = url_media(MediaKind::Image, "https://e.com/a");
        if let MessageContent::Media { ptt, .. } = &mut m {
            *ptt = true;
        }
        assert_eq!(err_field(m), "ptt");
        let mut g = url_media(MediaKind::Image, "https://e.com/a");
        if let MessageContent::Media { gif_playback, .. } = &mut g {
            *gif_playback = true;
        }
        assert_eq!(err_field(g), "mediaType");
    }

    #[test]
    fn locations_must_be_on_earth() {
        let loc = |lat, lng| MessageContent::Location {
            latitude: lat,
            longitude: lng,
            name: None,
            address: None,
        };
        assert!(msg(loc(-6.2, 106.8)).validate().is_ok());
        assert_eq!(err_field(loc(91.0, 0.0)), "latitude");
        assert_eq!(err_field(loc(f64::NAN, 0.0)), "latitude");
        assert_eq!(err_field(loc(0.0, -180.5)), "longitude");
    }

    #[test]
    fn buttons_allow_one_to_three_unique_ids() {
        assert!(msg(buttons(1)).validate().is_ok());
        assert!(msg(buttons(3)).validate().is_ok());
        assert_eq!(err_field(buttons(0)), "buttons");
        let four = msg(buttons(4)).validate().unwrap_err();
        assert_eq!(four.field, "buttons");
        assert!(four.message.contains("got 4"));
        let mut dup = buttons(2);
        if let MessageContent::Buttons { buttons, .. } = &mut dup {
            buttons[1].id = "b0".into();
        }
        assert_eq!(err_field(dup), "buttons[].id");
    }

    #[test]
    fn lists_need_rows_and_a_button_text() {
        let list = |rows: usize, button: &str| MessageContent::List {
            text: "Menu".into(),
            title: None,
            button_text: button.into(),
            footer: None,
            sections: vec![ListSection {
                title: "Food".into(),
                rows: (0..rows)
                    .map(|i| ListRow {
                        id: format!("r{i}"),
                        title: format!("Row {i}"),
                        description: None,
                    })
                    .collect(),
            }],
        };
        assert!(msg(list(2, "Open")).validate().is_ok());
        assert_eq!(err_field(list(0, "Open")), "sections");
        assert_eq!(err_field(list(11, "Open")), "sections");
        assert_eq!(err_field(list(2, "")), "buttonText");
    }

    #[test]
    fn polls_need_two_to_twelve_distinct_options() {
        assert!(msg(poll(&["a", "b"], 1)).validate().is_ok());
        assert!(msg(poll(&["a", "b", "c"], 0)).validate().is_ok());
        assert_eq!(err_field(poll(&["only"], 1)), "options");
        assert_eq!(err_field(poll(&["a"; 13], 1)), "options");
        assert_eq!(err_field(poll(&["a", "a"], 1)), "options");
        assert_eq!(err_field(poll(&["a", ""], 1)), "options[]");
        assert_eq!(err_field(poll(&["a", "b"], 3)), "selectableCount");
    }

    #[test]
    fn contacts_need_a_name_and_an_international_phone() {
        let c = |name: &str, phone: &str| MessageContent::Contact {
            contact: Contact {
                full_name: name.into(),
                phone: phone.into(),
                organization: None,
                email: None,
            },
        };
        assert!(msg(c("Ana", "628123456789")).validate().is_ok());
        assert_eq!(err_field(c("", "628123456789")), "fullName");
        assert_eq!(err_field(c("Ana", "0812")), "phone");
    }

    #[test]
    fn vcard_has_the_fields_whatsapp_reads() {
        let c = Contact {
            full_name: "Ana, Jr.".into(),
            phone: "628123456789".into(),
            organization: Some("Clinic".into()),
            email: Some("ana@example.com".into()),
        };
        let v = c.to_vcard();
        let lines: Vec<&str> = v.lines().collect();
        assert_eq!(lines[0], "BEGIN:VCARD");
        assert_eq!(lines[1], "VERSION:3.0");
        assert_eq!(lines[2], "FN:Ana\\, Jr.");
        assert_eq!(lines[3], "ORG:Clinic;");
        assert_eq!(
            lines[4],
            "TEL;type=CELL;type=VOICE;waid=628123456789:+628123456789"
        );
        assert_eq!(lines[5], "EMAIL:ana@example.com");
        assert_eq!(*lines.last().unwrap(), "END:VCARD");
    }

    #[test]
    fn raw_and_forward_need_objects() {
        assert_eq!(
            err_field(MessageContent::Raw {
                message: serde_json::json!([])
            }),
            "message"
        );
        assert_eq!(
            err_field(MessageContent::Raw {
                message: serde_json::json!({})
            }),
            "message"
        );
        assert!(
            msg(MessageContent::Raw {
                message: serde_json::json!({"conversation": "hi"})
            })
            .validate()
            .is_ok()
        );
    }

    #[test]
    fn quoted_reply_needs_an_id() {
        let mut m = msg(text("re"));
        m.quoted = Some(Quoted {
            id: " ".into(),
            participant: None,
            text: None,
        });
        assert_eq!(m.validate().unwrap_err().field, "quoted.id");
    }

    #[test]
    fn messages_roundtrip_through_json() {
        let m = msg(poll(&["a", "b"], 1));
        let back: OutboundMessage =
            serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
        assert_eq!(back, m);
        assert_eq!(m.kind(), "poll");
    }
}
