//! Every message kind mapped to the protobuf, field by field.

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
fn media_needs_its_upload_and_a_url_left_in_a_job_fails() {
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
