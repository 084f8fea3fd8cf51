//! Every wagate message kind as WhatsApp's `Message` protobuf. Pure: media arrives here already
//! encrypted and uploaded ([`UploadedMedia`]), so each kind can be checked field by field
//! without a network. The connection (`super`) fetches and uploads the bytes, calls
//! [`to_proto`] and sends the result under the job's fixed message id.

use serde_json::Value;
use wagate_core::{Jid, MediaKind, MediaSource, MessageContent, OutboundMessage, Quoted};
use waproto::buffa::MessageField;
use waproto::whatsapp as wa;
use whatsapp_rust::proto_helpers::MessageExt;
use whatsapp_rust::wacore::download::MediaType;

use super::proto_json;
use crate::connector::SendError;

/// The error of a media message whose bytes live behind a URL. The API fetches URL media into
/// the blob store when it accepts a send, so a job that still holds a URL did not come from
/// the API: it fails permanently instead of being retried for nothing.
pub const URL_MEDIA_UNSUPPORTED: &str =
    "media by URL must be fetched into the blob store when the send is accepted";

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
            let original = proto_json::message_from_json(message)?;
            *original.prepare_for_forward()
        }
        MessageContent::Raw { message } => proto_json::message_from_json(message)?,
        // Actions are carried out by `Connection::act`, never sent as a message.
        MessageContent::Action(a) => {
            return Err(SendError::Permanent(format!(
                "'{}' is an action, not a message",
                a.kind()
            )));
        }
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

#[cfg(test)]
mod tests;
