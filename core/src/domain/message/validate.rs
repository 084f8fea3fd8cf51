//! The rules a message must pass before a send is accepted, one function per kind, so a job
//! in a queue is always sendable. Errors name the client's field.

use serde_json::Value;

use super::{
    Button, Contact, ListSection, MediaKind, MediaSource, MessageContent, OutboundMessage,
    StatusAudience,
};
use crate::domain::{Jid, ValidationError};

pub const MAX_TEXT: usize = 65_536;
pub const MAX_CAPTION: usize = 4_096;
pub const MAX_BUTTONS: usize = 3;
pub const MAX_BUTTON_TEXT: usize = 20;
pub const MAX_LIST_ROWS: usize = 10;
pub const MAX_POLL_OPTIONS: usize = 12;
pub const MAX_MENTIONS: usize = 1_024;
/// The longest "typing…" before a send: it holds the session's worker meanwhile.
pub const MAX_TYPING_MS: u32 = 20_000;

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

/// A webhook must be an absolute http(s) URL. Private addresses are allowed on purpose: the
/// receiving app often sits next to wagate on a private network.
pub fn validate_webhook_url(field: &'static str, raw: &str) -> Result<(), ValidationError> {
    validate_media_url(field, raw)
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
    /// Every rule a message must pass before it is accepted. Errors name the client's field.
    pub fn validate(&self) -> Result<(), ValidationError> {
        if let Some(q) = &self.quoted {
            required("quoted.id", &q.id, 128)?;
        }
        if let Some(audience) = &self.status {
            status(&self.content, audience)?;
        }
        if self.typing_ms.is_some_and(|t| t > MAX_TYPING_MS) {
            return Err(ValidationError::new(
                "typingMs",
                format!("at most {MAX_TYPING_MS} ms"),
            ));
        }
        match &self.content {
            MessageContent::Text { text: t, mentions } => text(t, mentions),
            MessageContent::Media {
                media: kind,
                source,
                caption,
                file_name,
                ptt,
                gif_playback,
                ..
            } => media(
                *kind,
                source,
                caption.as_deref(),
                file_name.as_deref(),
                *ptt,
                *gif_playback,
            ),
            MessageContent::Location {
                latitude,
                longitude,
                name,
                address,
            } => location(*latitude, *longitude, name.as_deref(), address.as_deref()),
            MessageContent::Forward {
                message_id,
                message,
                ..
            } => forward(message_id, message),
            MessageContent::Buttons {
                text: t,
                footer,
                buttons: b,
            } => buttons(t, footer.as_deref(), b),
            MessageContent::List {
                text: t,
                title,
                button_text,
                footer,
                sections,
            } => list(
                t,
                title.as_deref(),
                button_text,
                footer.as_deref(),
                sections,
            ),
            MessageContent::Poll {
                name,
                options,
                selectable_count,
            } => poll(name, options, *selectable_count),
            MessageContent::Sticker { source } => sticker(source),
            MessageContent::Contact { contact: c } => contact(c),
            MessageContent::Raw { message } => raw(message),
            // Its chat is checked with it when it is accepted (`Action::validate`).
            MessageContent::Action(_) => Ok(()),
        }
    }
}

/// The most contacts one status post may be shown to.
pub const MAX_STATUS_RECIPIENTS: usize = 1_024;

fn status(content: &MessageContent, audience: &StatusAudience) -> Result<(), ValidationError> {
    let n = audience.recipients.len();
    if n == 0 || n > MAX_STATUS_RECIPIENTS {
        return Err(ValidationError::new(
            "recipients",
            format!("must hold 1 to {MAX_STATUS_RECIPIENTS} contacts"),
        ));
    }
    if let Some(r) = audience
        .recipients
        .iter()
        .find(|r| r.kind() != crate::domain::JidKind::User)
    {
        return Err(ValidationError::new(
            "recipients",
            format!("'{r}' is not a contact's number"),
        ));
    }
    if audience.font.is_some_and(|f| f > 7) {
        return Err(ValidationError::new("font", "0 to 7"));
    }
    match content {
        MessageContent::Text { .. } => Ok(()),
        MessageContent::Media {
            media: MediaKind::Image | MediaKind::Video,
            ptt: false,
            ..
        } => Ok(()),
        _ => Err(ValidationError::new(
            "type",
            "a status is a text, an image or a video",
        )),
    }
}

fn text(text: &str, mentions: &[Jid]) -> Result<(), ValidationError> {
    required("text", text, MAX_TEXT)?;
    if mentions.len() > MAX_MENTIONS {
        return Err(ValidationError::new(
            "mentions",
            format!("at most {MAX_MENTIONS} mentions"),
        ));
    }
    Ok(())
}

fn media(
    media: MediaKind,
    source: &MediaSource,
    caption: Option<&str>,
    file_name: Option<&str>,
    ptt: bool,
    gif_playback: bool,
) -> Result<(), ValidationError> {
    source.validate("mediaUrl")?;
    if let Some(c) = caption {
        optional("caption", c, MAX_CAPTION)?;
    }
    if let Some(f) = file_name {
        optional("fileName", f, 255)?;
    }
    if ptt && media != MediaKind::Audio {
        return Err(ValidationError::new(
            "ptt",
            "only audio can be a voice note",
        ));
    }
    if gif_playback && media != MediaKind::Video {
        return Err(ValidationError::new(
            "mediaType",
            "a GIF is sent as an MP4 video",
        ));
    }
    Ok(())
}

fn location(
    latitude: f64,
    longitude: f64,
    name: Option<&str>,
    address: Option<&str>,
) -> Result<(), ValidationError> {
    if !latitude.is_finite() || !(-90.0..=90.0).contains(&latitude) {
        return Err(ValidationError::new(
            "latitude",
            "must be between -90 and 90",
        ));
    }
    if !longitude.is_finite() || !(-180.0..=180.0).contains(&longitude) {
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

fn forward(message_id: &str, message: &Value) -> Result<(), ValidationError> {
    required("messageId", message_id, 128)?;
    if !message.is_object() {
        return Err(ValidationError::new("message", "must be a JSON object"));
    }
    Ok(())
}

fn buttons(text: &str, footer: Option<&str>, buttons: &[Button]) -> Result<(), ValidationError> {
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

fn list(
    text: &str,
    title: Option<&str>,
    button_text: &str,
    footer: Option<&str>,
    sections: &[ListSection],
) -> Result<(), ValidationError> {
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

fn poll(name: &str, options: &[String], selectable_count: u32) -> Result<(), ValidationError> {
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
    if selectable_count as usize > options.len() {
        return Err(ValidationError::new(
            "selectableCount",
            "cannot exceed the number of options",
        ));
    }
    Ok(())
}

fn sticker(source: &MediaSource) -> Result<(), ValidationError> {
    source.validate("imageUrl")
}

fn contact(contact: &Contact) -> Result<(), ValidationError> {
    required("fullName", &contact.full_name, 256)?;
    super::super::normalize_phone(&contact.phone, "phone")?;
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

fn raw(message: &Value) -> Result<(), ValidationError> {
    if message.as_object().is_none_or(|m| m.is_empty()) {
        return Err(ValidationError::new(
            "message",
            "must be a non-empty JSON object",
        ));
    }
    Ok(())
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
