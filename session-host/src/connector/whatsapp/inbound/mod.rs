//! A received WhatsApp message in wagate's terms, field by field: what it holds
//! ([`InboundContent`]), what it quotes, or what it does to an earlier message (a reaction, an
//! edit, a deletion: [`InboundAction`]). Plain functions of the protobuf, so every kind is
//! tested without a connection.

use wagate_core::{ContactCard, InboundAction, InboundContent, InboundMedia, InboundMediaKind};
use waproto::whatsapp as wa;
use whatsapp_rust::proto_helpers::MessageExt;

/// What one received message is.
#[derive(Debug, Clone, PartialEq)]
pub enum Received {
    /// A message a person sent, and the id of the message it quotes.
    Message {
        content: InboundContent,
        quoted_id: Option<String>,
    },
    /// Something done to an earlier message.
    Action(InboundAction),
    /// A vote on a poll, still encrypted (see `polls`).
    PollVote(super::polls::EncryptedVote),
    /// Protocol traffic with nothing to show (key shares, history sync, …).
    Nothing,
}

/// Reads `msg` (its wrappers — ephemeral, view-once, sent from another device — removed).
pub fn read(msg: &wa::Message) -> Received {
    let m = msg.get_base_message();
    if let Some(r) = m.reaction_message.as_option() {
        return match r.key.as_option().and_then(|k| k.id.clone()) {
            Some(target_id) => Received::Action(InboundAction::Reaction {
                target_id,
                emoji: r.text.clone().unwrap_or_default(),
            }),
            None => Received::Nothing,
        };
    }
    if let Some(p) = m.protocol_message.as_option() {
        return protocol(p);
    }
    if let Some(u) = m.poll_update_message.as_option() {
        let poll_id = u
            .poll_creation_message_key
            .as_option()
            .and_then(|k| k.id.clone());
        let vote = u.vote.as_option();
        return match (
            poll_id,
            vote.and_then(|v| v.enc_payload.clone()),
            vote.and_then(|v| v.enc_iv.clone()),
        ) {
            (Some(poll_id), Some(enc_payload), Some(enc_iv)) => {
                Received::PollVote(super::polls::EncryptedVote {
                    poll_id,
                    enc_payload,
                    enc_iv,
                })
            }
            _ => Received::Nothing,
        };
    }
    match content(m) {
        Some(content) => Received::Message {
            content,
            quoted_id: context(m)
                .and_then(|c| c.stanza_id.clone())
                .filter(|s| !s.is_empty()),
        },
        None => Received::Nothing,
    }
}

/// An edit or a deletion; other protocol messages are nothing to show.
fn protocol(p: &wa::message::ProtocolMessage) -> Received {
    use wa::message::protocol_message::Type;
    let Some(target_id) = p.key.as_option().and_then(|k| k.id.clone()) else {
        return Received::Nothing;
    };
    match p.r#type {
        Some(Type::REVOKE) => Received::Action(InboundAction::Revoked { target_id }),
        Some(Type::MESSAGE_EDIT) => match p.edited_message.as_option().and_then(content_of) {
            Some(content) => Received::Action(InboundAction::Edited { target_id, content }),
            None => Received::Nothing,
        },
        _ => Received::Nothing,
    }
}

fn content_of(m: &wa::Message) -> Option<InboundContent> {
    content(m.get_base_message())
}

/// The context (mentions, quoted message) of the kinds that carry one.
fn context(m: &wa::Message) -> Option<&wa::ContextInfo> {
    m.extended_text_message
        .as_option()
        .and_then(|x| x.context_info.as_option())
        .or_else(|| {
            m.image_message
                .as_option()
                .and_then(|x| x.context_info.as_option())
        })
        .or_else(|| {
            m.video_message
                .as_option()
                .and_then(|x| x.context_info.as_option())
        })
        .or_else(|| {
            m.audio_message
                .as_option()
                .and_then(|x| x.context_info.as_option())
        })
        .or_else(|| {
            m.document_message
                .as_option()
                .and_then(|x| x.context_info.as_option())
        })
        .or_else(|| {
            m.sticker_message
                .as_option()
                .and_then(|x| x.context_info.as_option())
        })
        .or_else(|| {
            m.location_message
                .as_option()
                .and_then(|x| x.context_info.as_option())
        })
        .or_else(|| {
            m.contact_message
                .as_option()
                .and_then(|x| x.context_info.as_option())
        })
}

fn hex_of(b: Option<&Vec<u8>>) -> Option<String> {
    b.filter(|b| !b.is_empty()).map(hex::encode)
}

/// The content of a message body; `None` when there is nothing a person sent.
pub fn content(m: &wa::Message) -> Option<InboundContent> {
    if let Some(t) = &m.conversation {
        return Some(InboundContent::Text {
            text: t.clone(),
            mentions: vec![],
        });
    }
    if let Some(x) = m.extended_text_message.as_option() {
        return Some(InboundContent::Text {
            text: x.text.clone().unwrap_or_default(),
            mentions: x
                .context_info
                .as_option()
                .map(|c| c.mentioned_jid.clone())
                .unwrap_or_default(),
        });
    }
    if let Some(x) = m.image_message.as_option() {
        return Some(InboundContent::Media(InboundMedia {
            caption: x.caption.clone(),
            mimetype: x.mimetype.clone(),
            size: x.file_length,
            sha256: hex_of(x.file_sha256.as_ref()),
            width: x.width,
            height: x.height,
            ..InboundMedia::of(InboundMediaKind::Image)
        }));
    }
    if let Some(x) = m.video_message.as_option().or(m.ptv_message.as_option()) {
        let kind = if x.gif_playback == Some(true) {
            InboundMediaKind::Gif
        } else {
            InboundMediaKind::Video
        };
        return Some(InboundContent::Media(InboundMedia {
            caption: x.caption.clone(),
            mimetype: x.mimetype.clone(),
            size: x.file_length,
            sha256: hex_of(x.file_sha256.as_ref()),
            seconds: x.seconds,
            width: x.width,
            height: x.height,
            ..InboundMedia::of(kind)
        }));
    }
    if let Some(x) = m.audio_message.as_option() {
        return Some(InboundContent::Media(InboundMedia {
            mimetype: x.mimetype.clone(),
            size: x.file_length,
            sha256: hex_of(x.file_sha256.as_ref()),
            seconds: x.seconds,
            ptt: x.ptt == Some(true),
            ..InboundMedia::of(InboundMediaKind::Audio)
        }));
    }
    if let Some(x) = m.document_message.as_option().or_else(|| {
        m.document_with_caption_message
            .as_option()
            .and_then(|d| d.message.as_option())
            .and_then(|d| d.document_message.as_option())
    }) {
        return Some(InboundContent::Media(InboundMedia {
            caption: x.caption.clone().or_else(|| x.title.clone()),
            mimetype: x.mimetype.clone(),
            size: x.file_length,
            file_name: x.file_name.clone(),
            sha256: hex_of(x.file_sha256.as_ref()),
            ..InboundMedia::of(InboundMediaKind::Document)
        }));
    }
    if let Some(x) = m.sticker_message.as_option() {
        return Some(InboundContent::Media(InboundMedia {
            mimetype: x.mimetype.clone(),
            size: x.file_length,
            sha256: hex_of(x.file_sha256.as_ref()),
            width: x.width,
            height: x.height,
            ..InboundMedia::of(InboundMediaKind::Sticker)
        }));
    }
    if let Some(x) = m.location_message.as_option() {
        return Some(InboundContent::Location {
            latitude: x.degrees_latitude.unwrap_or_default(),
            longitude: x.degrees_longitude.unwrap_or_default(),
            name: x.name.clone(),
            address: x.address.clone(),
            live: x.is_live == Some(true),
        });
    }
    if let Some(x) = m.live_location_message.as_option() {
        return Some(InboundContent::Location {
            latitude: x.degrees_latitude.unwrap_or_default(),
            longitude: x.degrees_longitude.unwrap_or_default(),
            name: x.caption.clone(),
            address: None,
            live: true,
        });
    }
    if let Some(x) = m.contact_message.as_option() {
        return Some(InboundContent::Contacts {
            contacts: vec![card(x)],
        });
    }
    if let Some(x) = m.contacts_array_message.as_option() {
        return Some(InboundContent::Contacts {
            contacts: x.contacts.iter().map(card).collect(),
        });
    }
    if let Some(x) = m
        .poll_creation_message
        .as_option()
        .or(m.poll_creation_message_v2.as_option())
        .or(m.poll_creation_message_v3.as_option())
    {
        return Some(InboundContent::Poll {
            name: x.name.clone().unwrap_or_default(),
            options: x
                .options
                .iter()
                .filter_map(|o| o.option_name.clone())
                .collect(),
            selectable_count: x.selectable_options_count.unwrap_or(0),
        });
    }
    if let Some(reply) = reply(m) {
        return Some(reply);
    }
    // Something a person sent that wagate has no shape for: passed on as it is.
    let raw = crate::connector::whatsapp::proto_json::message_to_json(m);
    let empty = raw.as_object().is_none_or(serde_json::Map::is_empty);
    (!empty).then_some(InboundContent::Unknown { raw })
}

fn card(x: &wa::message::ContactMessage) -> ContactCard {
    ContactCard {
        display_name: x.display_name.clone(),
        vcard: x.vcard.clone().unwrap_or_default(),
    }
}

/// A button, list row or template button picked.
fn reply(m: &wa::Message) -> Option<InboundContent> {
    if let Some(b) = m.buttons_response_message.as_option() {
        use wa::message::buttons_response_message::Response;
        let text = b
            .response
            .as_ref()
            .map(|Response::SelectedDisplayText(t)| t.clone());
        return Some(InboundContent::Reply {
            selected_id: b.selected_button_id.clone(),
            selected_text: text,
        });
    }
    if let Some(l) = m.list_response_message.as_option() {
        return Some(InboundContent::Reply {
            selected_id: l
                .single_select_reply
                .as_option()
                .and_then(|r| r.selected_row_id.clone()),
            selected_text: l.title.clone(),
        });
    }
    if let Some(t) = m.template_button_reply_message.as_option() {
        return Some(InboundContent::Reply {
            selected_id: t.selected_id.clone(),
            selected_text: t.selected_display_text.clone(),
        });
    }
    m.interactive_response_message
        .as_option()
        .map(|i| InboundContent::Reply {
            selected_id: None,
            selected_text: i.body.as_option().and_then(|b| b.text.clone()),
        })
}

#[cfg(test)]
mod tests;
