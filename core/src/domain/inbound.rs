//! What a received message holds, kind by kind, in the shape `message_received` documents
//! under `content`. The connectors fill it (the real one from WhatsApp's protobuf, the
//! simulated one from what a test injects); the webhook sends it as it is.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// A received message's content. `kind()` is the `type` beside it in the event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "snake_case",
    rename_all_fields = "camelCase"
)]
pub enum InboundContent {
    /// Plain or extended text.
    Text {
        text: String,
        /// JIDs mentioned in it.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        mentions: Vec<String>,
    },
    /// An image, video, GIF, audio (voice note with `ptt`), document or sticker.
    Media(InboundMedia),
    /// A pinned or live location.
    Location {
        latitude: f64,
        longitude: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        address: Option<String>,
        /// A live location (it updates for a while).
        #[serde(default)]
        live: bool,
    },
    /// One or several contact cards.
    Contacts { contacts: Vec<ContactCard> },
    /// A poll was created.
    Poll {
        name: String,
        options: Vec<String>,
        /// How many options a voter may pick (0: any number).
        selectable_count: u32,
    },
    /// A tap on a button, a list row or a template button of a message this session sent.
    Reply {
        /// The id of what was picked.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        selected_id: Option<String>,
        /// Its text.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        selected_text: Option<String>,
    },
    /// Anything else, as WhatsApp's own JSON (see `message` in the event).
    Unknown { raw: Value },
}

/// Something done to a message that was already there: a reaction, an edit, a deletion. Each
/// becomes an event of its own (`message_reaction`, `message_edited`, `message_revoked`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "snake_case",
    rename_all_fields = "camelCase"
)]
pub enum InboundAction {
    /// An emoji put on `target_id`; an empty emoji takes the reaction away.
    Reaction { target_id: String, emoji: String },
    /// `target_id` now says `content`.
    Edited {
        target_id: String,
        content: InboundContent,
    },
    /// `target_id` was deleted for everyone.
    Revoked { target_id: String },
    /// A vote on the poll `target_id` this session sent: the option names picked (none: the
    /// vote was taken back).
    PollVote {
        target_id: String,
        selected_options: Vec<String>,
    },
}

impl InboundAction {
    /// The message acted on.
    pub fn target_id(&self) -> &str {
        match self {
            Self::Reaction { target_id, .. }
            | Self::Edited { target_id, .. }
            | Self::Revoked { target_id }
            | Self::PollVote { target_id, .. } => target_id,
        }
    }
}

/// The kinds of [`InboundContent::Media`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InboundMediaKind {
    Image,
    Video,
    Gif,
    Audio,
    Document,
    Sticker,
}

impl InboundMediaKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Image => "image",
            Self::Video => "video",
            Self::Gif => "gif",
            Self::Audio => "audio",
            Self::Document => "document",
            Self::Sticker => "sticker",
        }
    }
}

/// A received media message's description. The file itself is not part of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InboundMedia {
    pub media_kind: InboundMediaKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mimetype: Option<String>,
    /// Bytes, as WhatsApp announces them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    /// SHA-256 of the plain file, hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Length of an audio or video, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds: Option<u32>,
    /// A voice note (push-to-talk), not an audio file.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ptt: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
}

impl InboundMedia {
    /// A `kind` of media with nothing known about it yet.
    pub fn of(kind: InboundMediaKind) -> Self {
        Self {
            media_kind: kind,
            caption: None,
            mimetype: None,
            size: None,
            file_name: None,
            sha256: None,
            seconds: None,
            ptt: false,
            width: None,
            height: None,
        }
    }
}

/// One contact card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactCard {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// The vCard text.
    pub vcard: String,
}

impl InboundContent {
    /// The event's `type`: `text`, `image`, `video`, `gif`, `audio`, `document`, `sticker`,
    /// `location`, `vcard`, `poll`, `button_reply` or `unknown`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Text { .. } => "text",
            Self::Media(m) => m.media_kind.as_str(),
            Self::Location { .. } => "location",
            Self::Contacts { .. } => "vcard",
            Self::Poll { .. } => "poll",
            Self::Reply { .. } => "button_reply",
            Self::Unknown { .. } => "unknown",
        }
    }

    /// The text the event's flat `text` field carries: the text, a caption, a poll's question,
    /// a reply's text, a location's name.
    pub fn text(&self) -> Option<&str> {
        match self {
            Self::Text { text, .. } => Some(text),
            Self::Media(m) => m.caption.as_deref(),
            Self::Location { name, .. } => name.as_deref(),
            Self::Poll { name, .. } => Some(name),
            Self::Reply { selected_text, .. } => selected_text.as_deref(),
            Self::Contacts { contacts } => contacts.first().and_then(|c| c.display_name.as_deref()),
            Self::Unknown { .. } => None,
        }
    }
}

impl InboundContent {
    /// The message as WhatsApp's JSON names it (what Baileys' clients parse:
    /// `conversation`, `extendedTextMessage.text`, `imageMessage.caption`, …), for connectors
    /// that have no protobuf of it (the simulated network). `quoted_id` goes into the
    /// `contextInfo` of the kinds that carry one.
    pub fn whatsapp_json(&self, quoted_id: Option<&str>) -> Value {
        let context = |mentions: &[String]| {
            let mut c = serde_json::Map::new();
            if !mentions.is_empty() {
                c.insert("mentionedJid".into(), json!(mentions));
            }
            if let Some(q) = quoted_id {
                c.insert("stanzaId".into(), json!(q));
            }
            (!c.is_empty()).then_some(Value::Object(c))
        };
        let strip_nulls = |mut v: Value| {
            if let Value::Object(m) = &mut v {
                m.retain(|_, x| !x.is_null());
            }
            v
        };
        match self {
            Self::Text { text, mentions } => match context(mentions) {
                None => json!({ "conversation": text }),
                Some(c) => json!({ "extendedTextMessage": { "text": text, "contextInfo": c } }),
            },
            Self::Media(m) => {
                let field = match m.media_kind {
                    InboundMediaKind::Image => "imageMessage",
                    InboundMediaKind::Video | InboundMediaKind::Gif => "videoMessage",
                    InboundMediaKind::Audio => "audioMessage",
                    InboundMediaKind::Document => "documentMessage",
                    InboundMediaKind::Sticker => "stickerMessage",
                };
                let body = strip_nulls(json!({
                    "caption": m.caption,
                    "mimetype": m.mimetype,
                    "fileLength": m.size,
                    "fileName": m.file_name,
                    "seconds": m.seconds,
                    "ptt": m.ptt.then_some(true),
                    "gifPlayback": (m.media_kind == InboundMediaKind::Gif).then_some(true),
                    "width": m.width,
                    "height": m.height,
                    "contextInfo": context(&[]),
                }));
                json!({ field: body })
            }
            Self::Location {
                latitude,
                longitude,
                name,
                address,
                live,
            } => {
                let field = if *live {
                    "liveLocationMessage"
                } else {
                    "locationMessage"
                };
                json!({ field: strip_nulls(json!({
                    "degreesLatitude": latitude,
                    "degreesLongitude": longitude,
                    "name": name,
                    "address": address,
                })) })
            }
            Self::Contacts { contacts } => match contacts.as_slice() {
                [one] => json!({ "contactMessage": strip_nulls(json!({
                    "displayName": one.display_name,
                    "vcard": one.vcard,
                })) }),
                many => json!({ "contactsArrayMessage": {
                    "contacts": many.iter().map(|c| strip_nulls(json!({
                        "displayName": c.display_name,
                        "vcard": c.vcard,
                    }))).collect::<Vec<_>>(),
                } }),
            },
            Self::Poll {
                name,
                options,
                selectable_count,
            } => json!({ "pollCreationMessage": {
                "name": name,
                "options": options.iter().map(|o| json!({ "optionName": o })).collect::<Vec<_>>(),
                "selectableOptionsCount": selectable_count,
            } }),
            Self::Reply {
                selected_id,
                selected_text,
            } => json!({ "buttonsResponseMessage": strip_nulls(json!({
                "selectedButtonId": selected_id,
                "selectedDisplayText": selected_text,
                "contextInfo": context(&[]),
            })) }),
            Self::Unknown { raw } => raw.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_serialises_in_the_documented_shape() {
        let media = InboundContent::Media(InboundMedia {
            mimetype: Some("audio/ogg; codecs=opus".into()),
            size: Some(4096),
            sha256: Some("ab".repeat(32)),
            seconds: Some(7),
            ptt: true,
            ..InboundMedia::of(InboundMediaKind::Audio)
        });
        assert_eq!(media.kind(), "audio");
        let v = serde_json::to_value(&media).unwrap();
        assert_eq!(
            v,
            json!({ "kind": "media", "mediaKind": "audio", "mimetype": "audio/ogg; codecs=opus",
                    "size": 4096, "sha256": "ab".repeat(32), "seconds": 7, "ptt": true })
        );
        let back: InboundContent = serde_json::from_value(v).unwrap();
        assert_eq!(back, media);

        let poll = InboundContent::Poll {
            name: "Lunch?".into(),
            options: vec!["yes".into(), "no".into()],
            selectable_count: 1,
        };
        assert_eq!(
            serde_json::to_value(&poll).unwrap(),
            json!({ "kind": "poll", "name": "Lunch?", "options": ["yes", "no"], "selectableCount": 1 })
        );
        assert_eq!((poll.kind(), poll.text()), ("poll", Some("Lunch?")));
    }

    #[test]
    fn whatsapp_json_names_fields_as_baileys_clients_read_them() {
        let text = InboundContent::Text {
            text: "hi".into(),
            mentions: vec![],
        };
        assert_eq!(text.whatsapp_json(None), json!({ "conversation": "hi" }));
        let reply = InboundContent::Text {
            text: "hi @62811".into(),
            mentions: vec!["62811@s.whatsapp.net".into()],
        };
        assert_eq!(
            reply.whatsapp_json(Some("3EB0QUOTED")),
            json!({ "extendedTextMessage": { "text": "hi @62811", "contextInfo": {
                "mentionedJid": ["62811@s.whatsapp.net"], "stanzaId": "3EB0QUOTED" } } })
        );
        let photo = InboundContent::Media(InboundMedia {
            caption: Some("look".into()),
            mimetype: Some("image/jpeg".into()),
            size: Some(10),
            width: Some(4),
            height: Some(3),
            ..InboundMedia::of(InboundMediaKind::Image)
        });
        assert_eq!(
            photo.whatsapp_json(None),
            json!({ "imageMessage": { "caption": "look", "mimetype": "image/jpeg",
                    "fileLength": 10, "width": 4, "height": 3 } })
        );
        let here = InboundContent::Location {
            latitude: -6.2,
            longitude: 106.8,
            name: Some("Monas".into()),
            address: None,
            live: false,
        };
        assert_eq!(
            here.whatsapp_json(None),
            json!({ "locationMessage": { "degreesLatitude": -6.2, "degreesLongitude": 106.8, "name": "Monas" } })
        );
    }
}
