//! Every wagate message kind as WhatsApp's `Message` protobuf. Pure: media arrives here already
//! encrypted and uploaded ([`UploadedMedia`]), so each kind can be checked field by field
//! without a network. The send path (`super::live`) fetches and uploads the bytes, calls
//! [`to_proto`] and sends the result under the job's fixed message id.

use serde_json::Value;
use wagate_core::{Jid, MediaKind, MediaSource, MessageContent, OutboundMessage, Quoted};
use waproto::buffa::MessageField;
use waproto::whatsapp as wa;
use whatsapp_rust::proto_helpers::MessageExt;
use whatsapp_rust::wacore::download::MediaType;

use crate::connector::SendError;

/// The error of a media message whose bytes live behind a URL: fetching them is another
/// issue, so the send fails permanently instead of being retried for nothing.
pub const URL_MEDIA_UNSUPPORTED: &str = "media by URL is not supported by this connector yet";

/// What the media upload gave back: where the encrypted file lives and the keys to read it.
#[derive(Clone, PartialEq, Eq)]
pub struct UploadedMedia {
    pub url: String,
    pub direct_path: String,
    pub media_key: Vec<u8>,
    pub file_sha256: Vec<u8>,
    pub file_enc_sha256: Vec<u8>,
    pub file_length: u64,
    /// Seconds since the Unix epoch when the media key was made.
    pub media_key_timestamp: i64,
    /// Seek table for audio and video, when the upload made one.
    pub streaming_sidecar: Option<Vec<u8>>,
}

impl std::fmt::Debug for UploadedMedia {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The media key decrypts the file: never in a log line.
        f.debug_struct("UploadedMedia")
            .field("direct_path", &self.direct_path)
            .field("file_length", &self.file_length)
            .finish_non_exhaustive()
    }
}

impl From<whatsapp_rust::upload::UploadResponse> for UploadedMedia {
    fn from(r: whatsapp_rust::upload::UploadResponse) -> Self {
        Self {
            url: r.url,
            direct_path: r.direct_path,
            media_key: r.media_key.to_vec(),
            file_sha256: r.file_sha256.to_vec(),
            file_enc_sha256: r.file_enc_sha256.to_vec(),
            file_length: r.file_length,
            media_key_timestamp: r.media_key_timestamp,
            streaming_sidecar: r.streaming_sidecar,
        }
    }
}

/// The media a message needs uploaded before it can be mapped: where its bytes come from
/// and how WhatsApp encrypts them.
pub fn media_of(msg: &OutboundMessage) -> Option<(&MediaSource, MediaType)> {
    match &msg.content {
        MessageContent::Media { media, source, .. } => Some((
            source,
            match media {
                MediaKind::Image => MediaType::Image,
                MediaKind::Video => MediaType::Video,
                MediaKind::Audio => MediaType::Audio,
                MediaKind::Document => MediaType::Document,
            },
        )),
        MessageContent::Sticker { source } => Some((source, MediaType::Sticker)),
        _ => None,
    }
}

/// The MIME type a media message goes out with when the client gave none.
pub fn default_mimetype(kind: MediaKind, ptt: bool) -> &'static str {
    match kind {
        MediaKind::Image => "image/jpeg",
        MediaKind::Video => "video/mp4",
        // Voice notes must be Opus in Ogg to play as one.
        MediaKind::Audio if ptt => "audio/ogg; codecs=opus",
        MediaKind::Audio => "audio/mpeg",
        MediaKind::Document => "application/octet-stream",
    }
}

/// Maps `msg`, sent to `to`, to WhatsApp's protobuf. `media` is the upload of the message's
/// media (see [`media_of`]); a media kind without it is a bug in the caller, reported as a
/// permanent error rather than a panic. `poll_secret` is the 32-byte secret a poll's votes are
/// encrypted with.
pub fn to_proto(
    msg: &OutboundMessage,
    to: &Jid,
    media: Option<&UploadedMedia>,
    poll_secret: [u8; 32],
) -> Result<wa::Message, SendError> {
    let mut context = quote_context(msg.quoted.as_ref(), to);
    let need_media = || {
        media.ok_or_else(|| {
            SendError::Permanent("the media was not uploaded before the send".into())
        })
    };
    let mut out = match &msg.content {
        MessageContent::Text { text, mentions } => {
            if !mentions.is_empty() {
                context.get_or_insert_with(Default::default).mentioned_jid =
                    mentions.iter().map(|j| j.to_string()).collect();
            }
            match context.take() {
                None => wa::Message {
                    conversation: Some(text.clone()),
                    ..Default::default()
                },
                Some(ctx) => wa::Message {
                    extended_text_message: MessageField::some(wa::message::ExtendedTextMessage {
                        text: Some(text.clone()),
                        context_info: MessageField::some(ctx),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
            }
        }
        MessageContent::Media {
            media: kind,
            caption,
            file_name,
            mimetype,
            ptt,
            gif_playback,
            ..
        } => {
            let m = need_media()?;
            let mimetype = Some(
                mimetype
                    .clone()
                    .unwrap_or_else(|| default_mimetype(*kind, *ptt).to_owned()),
            );
            media_message(
                *kind,
                m,
                mimetype,
                caption.clone(),
                file_name.clone(),
                *ptt,
                *gif_playback,
            )
        }
        MessageContent::Sticker { .. } => {
            let m = need_media()?;
            wa::Message {
                sticker_message: MessageField::some(wa::message::StickerMessage {
                    url: Some(m.url.clone()),
                    direct_path: Some(m.direct_path.clone()),
                    media_key: Some(m.media_key.clone()),
                    file_sha256: Some(m.file_sha256.clone()),
                    file_enc_sha256: Some(m.file_enc_sha256.clone()),
                    file_length: Some(m.file_length),
                    media_key_timestamp: Some(m.media_key_timestamp),
                    mimetype: Some("image/webp".into()),
                    width: Some(512),
                    height: Some(512),
                    is_animated: Some(false),
                    ..Default::default()
                }),
                ..Default::default()
            }
        }
        MessageContent::Location {
            latitude,
            longitude,
            name,
            address,
        } => wa::Message {
            location_message: MessageField::some(wa::message::LocationMessage {
                degrees_latitude: Some(*latitude),
                degrees_longitude: Some(*longitude),
                name: name.clone(),
                address: address.clone(),
                ..Default::default()
            }),
            ..Default::default()
        },
        MessageContent::Contact { contact } => wa::Message {
            contact_message: MessageField::some(wa::message::ContactMessage {
                display_name: Some(contact.full_name.clone()),
                vcard: Some(contact.to_vcard()),
                ..Default::default()
            }),
            ..Default::default()
        },
        MessageContent::Poll {
            name,
            options,
            selectable_count,
        } => poll_message(name, options, *selectable_count, poll_secret),
        MessageContent::Buttons {
            text,
            footer,
            buttons,
        } => {
            let buttons = buttons
                .iter()
                .map(|b| {
                    native_button(
                        "quick_reply",
                        serde_json::json!({ "display_text": b.text, "id": b.id }),
                    )
                })
                .collect();
            interactive(None, text, footer.as_deref(), buttons)
        }
        MessageContent::List {
            text,
            title,
            button_text,
            footer,
            sections,
        } => {
            let sections: Vec<Value> = sections
                .iter()
                .map(|s| {
                    let rows: Vec<Value> = s
                        .rows
                        .iter()
                        .map(|r| {
                            let mut row = serde_json::json!({ "id": r.id, "title": r.title });
                            if let Some(d) = &r.description {
                                row["description"] = Value::String(d.clone());
                            }
                            row
                        })
                        .collect();
                    serde_json::json!({ "title": s.title, "rows": rows })
                })
                .collect();
            let button = native_button(
                "single_select",
                serde_json::json!({ "title": button_text, "sections": sections }),
            );
            interactive(title.as_deref(), text, footer.as_deref(), vec![button])
        }
        MessageContent::Forward { message, .. } => {
            let original = message_from_json(message)?;
            *original.prepare_for_forward()
        }
        MessageContent::Raw { message } => message_from_json(message)?,
    };
    if let Some(ctx) = context
        && !out.set_context_info(ctx)
    {
        return Err(SendError::Permanent(format!(
            "a {} message cannot carry a quoted reply",
            msg.kind()
        )));
    }
    Ok(out)
}

/// The reply bubble of a quoted reply: the quoted message's id, its sender (the chat itself
/// when the client names none, which is right for a one-to-one chat) and its text.
fn quote_context(quoted: Option<&Quoted>, to: &Jid) -> Option<wa::ContextInfo> {
    let q = quoted?;
    let participant = q.participant.as_ref().unwrap_or(to).to_string();
    Some(wa::ContextInfo {
        stanza_id: Some(q.id.clone()),
        participant: Some(participant),
        quoted_message: MessageField::some(wa::Message {
            conversation: Some(q.text.clone().unwrap_or_default()),
            ..Default::default()
        }),
        ..Default::default()
    })
}

fn media_message(
    kind: MediaKind,
    m: &UploadedMedia,
    mimetype: Option<String>,
    caption: Option<String>,
    file_name: Option<String>,
    ptt: bool,
    gif_playback: bool,
) -> wa::Message {
    let url = Some(m.url.clone());
    let direct_path = Some(m.direct_path.clone());
    let media_key = Some(m.media_key.clone());
    let file_sha256 = Some(m.file_sha256.clone());
    let file_enc_sha256 = Some(m.file_enc_sha256.clone());
    let file_length = Some(m.file_length);
    let media_key_timestamp = Some(m.media_key_timestamp);
    match kind {
        MediaKind::Image => wa::Message {
            image_message: MessageField::some(wa::message::ImageMessage {
                url,
                direct_path,
                media_key,
                file_sha256,
                file_enc_sha256,
                file_length,
                media_key_timestamp,
                mimetype,
                caption,
                ..Default::default()
            }),
            ..Default::default()
        },
        MediaKind::Video => wa::Message {
            video_message: MessageField::some(wa::message::VideoMessage {
                url,
                direct_path,
                media_key,
                file_sha256,
                file_enc_sha256,
                file_length,
                media_key_timestamp,
                mimetype,
                caption,
                gif_playback: gif_playback.then_some(true),
                streaming_sidecar: m.streaming_sidecar.clone(),
                ..Default::default()
            }),
            ..Default::default()
        },
        MediaKind::Audio => wa::Message {
            audio_message: MessageField::some(wa::message::AudioMessage {
                url,
                direct_path,
                media_key,
                file_sha256,
                file_enc_sha256,
                file_length,
                media_key_timestamp,
                mimetype,
                ptt: Some(ptt),
                streaming_sidecar: m.streaming_sidecar.clone(),
                ..Default::default()
            }),
            ..Default::default()
        },
        MediaKind::Document => wa::Message {
            document_message: MessageField::some(wa::message::DocumentMessage {
                url,
                direct_path,
                media_key,
                file_sha256,
                file_enc_sha256,
                file_length,
                media_key_timestamp,
                mimetype,
                title: file_name.clone(),
                file_name,
                caption,
                ..Default::default()
            }),
            ..Default::default()
        },
    }
}

/// A poll as WhatsApp Web makes it: v3 when one option may be picked, v1 otherwise, with the
/// secret the votes are encrypted with. `selectable_count` 0 (any number) is WhatsApp's 0.
fn poll_message(
    name: &str,
    options: &[String],
    selectable_count: u32,
    secret: [u8; 32],
) -> wa::Message {
    let poll = wa::message::PollCreationMessage {
        name: Some(name.to_owned()),
        options: options
            .iter()
            .map(|o| wa::message::poll_creation_message::Option {
                option_name: Some(o.clone()),
                option_hash: None,
            })
            .collect(),
        selectable_options_count: Some(selectable_count),
        ..Default::default()
    };
    let mut out = wa::Message::default();
    if selectable_count == 1 {
        out.poll_creation_message_v3 = MessageField::some(poll);
    } else {
        out.poll_creation_message = MessageField::some(poll);
    }
    out.message_context_info = MessageField::some(wa::MessageContextInfo {
        message_secret: Some(secret.to_vec()),
        ..Default::default()
    });
    out
}

fn native_button(
    name: &str,
    params: Value,
) -> wa::message::interactive_message::native_flow_message::NativeFlowButton {
    wa::message::interactive_message::native_flow_message::NativeFlowButton {
        name: Some(name.to_owned()),
        button_params_json: Some(params.to_string()),
    }
}

/// Buttons and lists as a native-flow `InteractiveMessage`: the legacy `ButtonsMessage` and
/// `ListMessage` are accepted by the server and then silently dropped.
fn interactive(
    title: Option<&str>,
    text: &str,
    footer: Option<&str>,
    buttons: Vec<wa::message::interactive_message::native_flow_message::NativeFlowButton>,
) -> wa::Message {
    use wa::message::interactive_message as im;
    let header = match title {
        Some(t) => MessageField::some(im::Header {
            title: Some(t.to_owned()),
            has_media_attachment: Some(false),
            ..Default::default()
        }),
        None => MessageField::none(),
    };
    wa::Message {
        interactive_message: MessageField::some(wa::message::InteractiveMessage {
            header,
            body: MessageField::some(im::Body {
                text: Some(text.to_owned()),
            }),
            footer: match footer {
                Some(f) => MessageField::some(im::Footer {
                    text: Some(f.to_owned()),
                    ..Default::default()
                }),
                None => MessageField::none(),
            },
            interactive_message: Some(im::InteractiveMessage::NativeFlowMessage(Box::new(
                im::NativeFlowMessage {
                    buttons,
                    message_params_json: Some("{}".into()),
                    message_version: Some(1),
                },
            ))),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Reads a message written in WhatsApp's JSON shape (what Baileys' `proto.Message.fromObject`
/// takes): camelCase or snake_case field names, bytes as base64 strings or arrays of numbers,
/// 64-bit numbers as numbers or strings, enums by name. A oneof is written as its own object
/// (`{"interactiveMessage": {"NativeFlowMessage": {…}}}`).
pub fn message_from_json(value: &Value) -> Result<wa::Message, SendError> {
    let mut value = snake_keys(value);
    // Each round fixes the one value serde stopped at (a base64 string where bytes are
    // expected, a number in a string); real messages need a handful at most.
    for _ in 0..64 {
        match serde_path_to_error::deserialize::<_, wa::Message>(&value) {
            Ok(m) => return Ok(m),
            Err(e) => {
                let path = e.path().to_string();
                let cause = e.inner().to_string();
                if !repair(&mut value, e.path(), &cause) {
                    return Err(SendError::Permanent(format!(
                        "message is not a WhatsApp message: {path}: {cause}"
                    )));
                }
            }
        }
    }
    Err(SendError::Permanent(
        "message is not a WhatsApp message: too many fields to convert".into(),
    ))
}

/// `fileSha256` → `file_sha256`, as the protobuf compiler names the Rust fields.
fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    let chars: Vec<char> = name.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() {
            let prev = i.checked_sub(1).map(|p| chars[p]);
            let next = chars.get(i + 1).copied();
            let boundary = match prev {
                Some(p) if p.is_ascii_lowercase() || p.is_ascii_digit() => true,
                Some(p) if p.is_ascii_uppercase() => next.is_some_and(|n| n.is_ascii_lowercase()),
                _ => false,
            };
            if boundary && !out.ends_with('_') {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn snake_keys(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    // Oneof variants are Rust enum variants: their names stay as written.
                    let key = if k.starts_with(|c: char| c.is_ascii_uppercase()) {
                        k.clone()
                    } else {
                        snake_case(k)
                    };
                    (key, snake_keys(v))
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(snake_keys).collect()),
        other => other.clone(),
    }
}

/// Converts the value at `path` into what serde expected there; false when it cannot.
fn repair(root: &mut Value, path: &serde_path_to_error::Path, cause: &str) -> bool {
    use serde_path_to_error::Segment;
    let mut cur = root;
    for seg in path.iter() {
        cur = match (seg, cur) {
            (Segment::Map { key }, Value::Object(m)) => match m.get_mut(key) {
                Some(v) => v,
                None => return false,
            },
            (Segment::Seq { index }, Value::Array(a)) => match a.get_mut(*index) {
                Some(v) => v,
                None => return false,
            },
            _ => return false,
        };
    }
    let Value::String(s) = cur else {
        return false;
    };
    if cause.contains("expected a sequence") || cause.contains("expected a byte") {
        use base64::Engine;
        let engines = [
            base64::engine::general_purpose::STANDARD,
            base64::engine::general_purpose::URL_SAFE,
        ];
        let trimmed = s.trim_end_matches('=');
        for engine in engines {
            let padded = format!("{trimmed}{}", "=".repeat((4 - trimmed.len() % 4) % 4));
            if let Ok(bytes) = engine.decode(padded.as_bytes()) {
                *cur = Value::Array(bytes.into_iter().map(Value::from).collect());
                return true;
            }
        }
        return false;
    }
    if cause.contains("expected u") || cause.contains("expected i") || cause.contains("expected f")
    {
        if let Ok(n) = s.parse::<u64>() {
            *cur = Value::from(n);
            return true;
        }
        if let Ok(n) = s.parse::<i64>() {
            *cur = Value::from(n);
            return true;
        }
        if let Ok(n) = s.parse::<f64>() {
            *cur = Value::from(n);
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use wagate_core::{Button, Contact, ListRow, ListSection};
    use waproto::whatsapp::message::interactive_message::InteractiveMessage as Payload;

    use super::*;

    const SECRET: [u8; 32] = [7; 32];

    fn jid(s: &str) -> Jid {
        Jid::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn to() -> Jid {
        jid("628123456789")
    }

    fn upload() -> UploadedMedia {
        UploadedMedia {
            url: "https://mmg.whatsapp.net/o1/v/t62/abc".into(),
            direct_path: "/o1/v/t62/abc".into(),
            media_key: vec![1; 32],
            file_sha256: vec![2; 32],
            file_enc_sha256: vec![3; 32],
            file_length: 1234,
            media_key_timestamp: 1_700_000_000,
            streaming_sidecar: Some(vec![9; 10]),
        }
    }

    fn map(content: MessageContent) -> wa::Message {
        map_msg(OutboundMessage::new(content))
    }

    fn map_msg(msg: OutboundMessage) -> wa::Message {
        let media = media_of(&msg).map(|_| upload());
        to_proto(&msg, &to(), media.as_ref(), SECRET).unwrap_or_else(|e| panic!("{e}"))
    }

    fn media(kind: MediaKind) -> MessageContent {
        MessageContent::Media {
            media: kind,
            source: MediaSource::Blob {
                key: "media/x".into(),
                size: 1234,
            },
            caption: Some("look".into()),
            file_name: Some("report.pdf".into()),
            mimetype: None,
            ptt: false,
            gif_playback: false,
        }
    }

    /// Only the field under test is set on the top-level message.
    fn only_field_set(m: &wa::Message, expected: &str) {
        let set: Vec<&str> = [
            ("conversation", m.conversation.is_some()),
            ("extended_text_message", m.extended_text_message.is_set()),
            ("image_message", m.image_message.is_set()),
            ("video_message", m.video_message.is_set()),
            ("audio_message", m.audio_message.is_set()),
            ("document_message", m.document_message.is_set()),
            ("sticker_message", m.sticker_message.is_set()),
            ("location_message", m.location_message.is_set()),
            ("contact_message", m.contact_message.is_set()),
            ("poll_creation_message", m.poll_creation_message.is_set()),
            (
                "poll_creation_message_v3",
                m.poll_creation_message_v3.is_set(),
            ),
            ("interactive_message", m.interactive_message.is_set()),
            ("buttons_message", m.buttons_message.is_set()),
            ("list_message", m.list_message.is_set()),
        ]
        .into_iter()
        .filter_map(|(n, set)| set.then_some(n))
        .collect();
        assert_eq!(set, vec![expected]);
    }

    #[test]
    fn plain_text_is_a_conversation() {
        let m = map(MessageContent::Text {
            text: "Hello".into(),
            mentions: vec![],
        });
        only_field_set(&m, "conversation");
        assert_eq!(m.conversation.as_deref(), Some("Hello"));
    }

    #[test]
    fn mentions_go_in_the_extended_text_context() {
        let m = map(MessageContent::Text {
            text: "Hi @628111111111 and @628222222222".into(),
            mentions: vec![jid("628111111111"), jid("628222222222@s.whatsapp.net")],
        });
        only_field_set(&m, "extended_text_message");
        let ext = m.extended_text_message.as_option().unwrap();
        assert_eq!(
            ext.text.as_deref(),
            Some("Hi @628111111111 and @628222222222")
        );
        let ctx = ext.context_info.as_option().unwrap();
        assert_eq!(
            ctx.mentioned_jid,
            vec![
                "628111111111@s.whatsapp.net".to_owned(),
                "628222222222@s.whatsapp.net".to_owned()
            ]
        );
        assert!(ctx.stanza_id.is_none());
        assert!(ctx.quoted_message.is_unset());
    }

    #[test]
    fn an_image_carries_the_upload_caption_and_default_mimetype() {
        let m = map(media(MediaKind::Image));
        only_field_set(&m, "image_message");
        let img = m.image_message.as_option().unwrap();
        assert_eq!(
            img.url.as_deref(),
            Some("https://mmg.whatsapp.net/o1/v/t62/abc")
        );
        assert_eq!(img.direct_path.as_deref(), Some("/o1/v/t62/abc"));
        assert_eq!(img.media_key.as_deref(), Some(&[1u8; 32][..]));
        assert_eq!(img.file_sha256.as_deref(), Some(&[2u8; 32][..]));
        assert_eq!(img.file_enc_sha256.as_deref(), Some(&[3u8; 32][..]));
        assert_eq!(img.file_length, Some(1234));
        assert_eq!(img.media_key_timestamp, Some(1_700_000_000));
        assert_eq!(img.mimetype.as_deref(), Some("image/jpeg"));
        assert_eq!(img.caption.as_deref(), Some("look"));
    }

    #[test]
    fn a_video_has_its_sidecar_and_a_gif_plays_as_one() {
        let m = map(media(MediaKind::Video));
        only_field_set(&m, "video_message");
        let v = m.video_message.as_option().unwrap();
        assert_eq!(v.mimetype.as_deref(), Some("video/mp4"));
        assert_eq!(v.caption.as_deref(), Some("look"));
        assert_eq!(v.streaming_sidecar.as_deref(), Some(&[9u8; 10][..]));
        assert_eq!(v.gif_playback, None);

        let mut gif = media(MediaKind::Video);
        if let MessageContent::Media { gif_playback, .. } = &mut gif {
            *gif_playback = true;
        }
        let m = map(gif);
        only_field_set(&m, "video_message");
        assert_eq!(
            m.video_message.as_option().unwrap().gif_playback,
            Some(true)
        );
    }

    #[test]
    fn audio_is_music_or_a_voice_note() {
        let m = map(media(MediaKind::Audio));
        only_field_set(&m, "audio_message");
        let a = m.audio_message.as_option().unwrap();
        assert_eq!(a.ptt, Some(false));
        assert_eq!(a.mimetype.as_deref(), Some("audio/mpeg"));

        let mut ptt = media(MediaKind::Audio);
        if let MessageContent::Media { ptt: p, .. } = &mut ptt {
            *p = true;
        }
        let m = map(ptt);
        let a = m.audio_message.as_option().unwrap();
        assert_eq!(a.ptt, Some(true));
        assert_eq!(a.mimetype.as_deref(), Some("audio/ogg; codecs=opus"));
        assert_eq!(a.media_key.as_deref(), Some(&[1u8; 32][..]));
    }

    #[test]
    fn a_document_keeps_its_name_caption_and_mimetype() {
        let mut doc = media(MediaKind::Document);
        if let MessageContent::Media { mimetype, .. } = &mut doc {
            *mimetype = Some("application/pdf".into());
        }
        let m = map(doc);
        only_field_set(&m, "document_message");
        let d = m.document_message.as_option().unwrap();
        assert_eq!(d.file_name.as_deref(), Some("report.pdf"));
        assert_eq!(d.title.as_deref(), Some("report.pdf"));
        assert_eq!(d.caption.as_deref(), Some("look"));
        assert_eq!(d.mimetype.as_deref(), Some("application/pdf"));
        assert_eq!(d.file_length, Some(1234));
        assert_eq!(d.direct_path.as_deref(), Some("/o1/v/t62/abc"));
    }

    #[test]
    fn a_sticker_is_a_512_webp() {
        let m = map(MessageContent::Sticker {
            source: MediaSource::Blob {
                key: "media/s.webp".into(),
                size: 10,
            },
        });
        only_field_set(&m, "sticker_message");
        let s = m.sticker_message.as_option().unwrap();
        assert_eq!(s.mimetype.as_deref(), Some("image/webp"));
        assert_eq!((s.width, s.height), (Some(512), Some(512)));
        assert_eq!(s.media_key.as_deref(), Some(&[1u8; 32][..]));
        assert_eq!(s.direct_path.as_deref(), Some("/o1/v/t62/abc"));
    }

    #[test]
    fn media_needs_its_upload_and_urls_are_not_fetched_yet() {
        let msg = OutboundMessage::new(media(MediaKind::Image));
        assert!(matches!(
            to_proto(&msg, &to(), None, SECRET),
            Err(SendError::Permanent(_))
        ));
        let url = OutboundMessage::new(MessageContent::Media {
            media: MediaKind::Image,
            source: MediaSource::Url("https://example.com/a.jpg".into()),
            caption: None,
            file_name: None,
            mimetype: None,
            ptt: false,
            gif_playback: false,
        });
        assert!(matches!(
            media_of(&url),
            Some((MediaSource::Url(_), MediaType::Image))
        ));
        assert_eq!(
            URL_MEDIA_UNSUPPORTED,
            "media by URL is not supported by this connector yet"
        );
    }

    #[test]
    fn a_location_has_coordinates_name_and_address() {
        let m = map(MessageContent::Location {
            latitude: -6.2,
            longitude: 106.816666,
            name: Some("Monas".into()),
            address: Some("Jakarta".into()),
        });
        only_field_set(&m, "location_message");
        let l = m.location_message.as_option().unwrap();
        assert_eq!(l.degrees_latitude, Some(-6.2));
        assert_eq!(l.degrees_longitude, Some(106.816666));
        assert_eq!(l.name.as_deref(), Some("Monas"));
        assert_eq!(l.address.as_deref(), Some("Jakarta"));
    }

    #[test]
    fn a_poll_is_v3_for_one_choice_v1_for_many_with_its_secret() {
        let poll = |n| MessageContent::Poll {
            name: "Lunch?".into(),
            options: vec!["Rice".into(), "Noodles".into()],
            selectable_count: n,
        };
        let m = map(poll(1));
        only_field_set(&m, "poll_creation_message_v3");
        let p = m.poll_creation_message_v3.as_option().unwrap();
        assert_eq!(p.name.as_deref(), Some("Lunch?"));
        let names: Vec<_> = p.options.iter().map(|o| o.option_name.as_deref()).collect();
        assert_eq!(names, vec![Some("Rice"), Some("Noodles")]);
        assert_eq!(p.selectable_options_count, Some(1));
        let secret = m
            .message_context_info
            .as_option()
            .and_then(|c| c.message_secret.clone());
        assert_eq!(secret, Some(SECRET.to_vec()));

        let m = map(poll(0));
        only_field_set(&m, "poll_creation_message");
        assert_eq!(
            m.poll_creation_message
                .as_option()
                .unwrap()
                .selectable_options_count,
            Some(0)
        );
    }

    fn native_flow(m: &wa::Message) -> &wa::message::interactive_message::NativeFlowMessage {
        match m
            .interactive_message
            .as_option()
            .and_then(|i| i.interactive_message.as_ref())
        {
            Some(Payload::NativeFlowMessage(nf)) => nf,
            other => panic!("not a native flow: {other:?}"),
        }
    }

    #[test]
    fn buttons_are_native_flow_quick_replies() {
        let m = map(MessageContent::Buttons {
            text: "Pick one".into(),
            footer: Some("wagate".into()),
            buttons: vec![
                Button {
                    id: "yes".into(),
                    text: "Yes".into(),
                },
                Button {
                    id: "no".into(),
                    text: "No".into(),
                },
            ],
        });
        only_field_set(&m, "interactive_message");
        let im = m.interactive_message.as_option().unwrap();
        assert_eq!(
            im.body.as_option().and_then(|b| b.text.as_deref()),
            Some("Pick one")
        );
        assert_eq!(
            im.footer.as_option().and_then(|f| f.text.as_deref()),
            Some("wagate")
        );
        assert!(im.header.is_unset());
        let nf = native_flow(&m);
        assert_eq!(nf.message_version, Some(1));
        assert_eq!(nf.buttons.len(), 2);
        assert_eq!(nf.buttons[0].name.as_deref(), Some("quick_reply"));
        let params: Value =
            serde_json::from_str(nf.buttons[1].button_params_json.as_deref().unwrap()).unwrap();
        assert_eq!(params, json!({"display_text": "No", "id": "no"}));
    }

    #[test]
    fn a_list_is_one_native_flow_single_select() {
        let m = map(MessageContent::List {
            text: "Our menu".into(),
            title: Some("Menu".into()),
            button_text: "Open".into(),
            footer: None,
            sections: vec![ListSection {
                title: "Food".into(),
                rows: vec![
                    ListRow {
                        id: "r1".into(),
                        title: "Rice".into(),
                        description: Some("Fried".into()),
                    },
                    ListRow {
                        id: "r2".into(),
                        title: "Soup".into(),
                        description: None,
                    },
                ],
            }],
        });
        only_field_set(&m, "interactive_message");
        let im = m.interactive_message.as_option().unwrap();
        assert_eq!(
            im.header.as_option().and_then(|h| h.title.as_deref()),
            Some("Menu")
        );
        assert_eq!(
            im.body.as_option().and_then(|b| b.text.as_deref()),
            Some("Our menu")
        );
        assert!(im.footer.is_unset());
        let nf = native_flow(&m);
        assert_eq!(nf.buttons.len(), 1);
        assert_eq!(nf.buttons[0].name.as_deref(), Some("single_select"));
        let params: Value =
            serde_json::from_str(nf.buttons[0].button_params_json.as_deref().unwrap()).unwrap();
        assert_eq!(
            params,
            json!({
                "title": "Open",
                "sections": [{
                    "title": "Food",
                    "rows": [
                        {"id": "r1", "title": "Rice", "description": "Fried"},
                        {"id": "r2", "title": "Soup"}
                    ]
                }]
            })
        );
    }

    #[test]
    fn a_contact_is_a_vcard_3_with_a_tappable_number() {
        let m = map(MessageContent::Contact {
            contact: Contact {
                full_name: "Ana Putri".into(),
                phone: "628123456789".into(),
                organization: Some("Clinic".into()),
                email: Some("ana@example.com".into()),
            },
        });
        only_field_set(&m, "contact_message");
        let c = m.contact_message.as_option().unwrap();
        assert_eq!(c.display_name.as_deref(), Some("Ana Putri"));
        assert_eq!(
            c.vcard.as_deref(),
            Some(
                "BEGIN:VCARD\nVERSION:3.0\nFN:Ana Putri\nORG:Clinic;\n\
                 TEL;type=CELL;type=VOICE;waid=628123456789:+628123456789\n\
                 EMAIL:ana@example.com\nEND:VCARD"
            )
        );
    }

    #[test]
    fn a_quoted_reply_names_the_message_its_sender_and_text() {
        let mut msg = OutboundMessage::new(MessageContent::Text {
            text: "Sure".into(),
            mentions: vec![],
        });
        msg.quoted = Some(Quoted {
            id: "3EB0C0FFEE".into(),
            participant: Some(jid("628999000111")),
            text: Some("Can you come?".into()),
        });
        let m = map_msg(msg.clone());
        only_field_set(&m, "extended_text_message");
        let ctx = m
            .extended_text_message
            .as_option()
            .and_then(|e| e.context_info.as_option())
            .unwrap();
        assert_eq!(ctx.stanza_id.as_deref(), Some("3EB0C0FFEE"));
        assert_eq!(
            ctx.participant.as_deref(),
            Some("628999000111@s.whatsapp.net")
        );
        assert_eq!(
            ctx.quoted_message
                .as_option()
                .and_then(|q| q.conversation.as_deref()),
            Some("Can you come?")
        );

        // Without a participant, the quoted message is the chat's own.
        msg.quoted.as_mut().unwrap().participant = None;
        let m = map_msg(msg);
        let ctx = m
            .extended_text_message
            .as_option()
            .and_then(|e| e.context_info.as_option())
            .unwrap();
        assert_eq!(
            ctx.participant.as_deref(),
            Some("628123456789@s.whatsapp.net")
        );
    }

    #[test]
    fn a_quoted_image_carries_the_context_on_the_image() {
        let mut msg = OutboundMessage::new(media(MediaKind::Image));
        msg.quoted = Some(Quoted {
            id: "ABC".into(),
            participant: None,
            text: None,
        });
        let m = map_msg(msg);
        let ctx = m
            .image_message
            .as_option()
            .and_then(|i| i.context_info.as_option())
            .unwrap();
        assert_eq!(ctx.stanza_id.as_deref(), Some("ABC"));
    }

    #[test]
    fn raw_json_in_whatsapps_shape_becomes_the_protobuf() {
        let m = map(MessageContent::Raw {
            message: json!({
                "extendedTextMessage": {
                    "text": "raw hi",
                    "contextInfo": {"mentionedJid": ["628111111111@s.whatsapp.net"]}
                }
            }),
        });
        let ext = m.extended_text_message.as_option().unwrap();
        assert_eq!(ext.text.as_deref(), Some("raw hi"));
        assert_eq!(
            ext.context_info.as_option().unwrap().mentioned_jid,
            vec!["628111111111@s.whatsapp.net".to_owned()]
        );

        // Bytes as base64, 64-bit numbers as strings, as protobuf JSON writes them.
        let m = map(MessageContent::Raw {
            message: json!({
                "imageMessage": {
                    "url": "https://mmg.whatsapp.net/x",
                    "mediaKey": "AQIDBA==",
                    "fileLength": "2048",
                    "mimetype": "image/png"
                }
            }),
        });
        let img = m.image_message.as_option().unwrap();
        assert_eq!(img.media_key.as_deref(), Some(&[1u8, 2, 3, 4][..]));
        assert_eq!(img.file_length, Some(2048));
        assert_eq!(img.mimetype.as_deref(), Some("image/png"));

        let bad = OutboundMessage::new(MessageContent::Raw {
            message: json!({"conversation": {"not": "a string"}}),
        });
        assert!(matches!(
            to_proto(&bad, &to(), None, SECRET),
            Err(SendError::Permanent(m)) if m.contains("conversation")
        ));
    }

    #[test]
    fn a_forward_is_marked_forwarded_without_its_quote_chain() {
        let m = map(MessageContent::Forward {
            message_id: "3EB0AA".into(),
            chat: jid("628555000111"),
            message: json!({
                "extendedTextMessage": {
                    "text": "pass it on",
                    "contextInfo": {"stanzaId": "OLD", "participant": "1@s.whatsapp.net"}
                }
            }),
        });
        let ext = m.extended_text_message.as_option().unwrap();
        assert_eq!(ext.text.as_deref(), Some("pass it on"));
        let ctx = ext.context_info.as_option().unwrap();
        assert_eq!(ctx.is_forwarded, Some(true));
        // WhatsApp counts forwards of forwards: a first forward scores 0.
        assert_eq!(ctx.forwarding_score, Some(0));
        assert!(ctx.stanza_id.is_none());
        assert!(ctx.quoted_message.is_unset());
    }

    #[test]
    fn camel_case_names_become_the_protobuf_field_names() {
        assert_eq!(snake_case("fileSha256"), "file_sha256");
        assert_eq!(snake_case("extendedTextMessage"), "extended_text_message");
        assert_eq!(snake_case("mentionedJid"), "mentioned_jid");
        assert_eq!(snake_case("already_snake"), "already_snake");
        assert_eq!(snake_case("jpegThumbnail"), "jpeg_thumbnail");
    }
}
