//! Tests of the reader of received messages, kind by kind, from protobuf values.

use waproto::buffa::MessageField;

use super::*;

fn some<T: Default>(t: T) -> MessageField<T> {
    MessageField::some(t)
}

fn message(content: &Received) -> (&InboundContent, Option<&str>) {
    match content {
        Received::Message { content, quoted_id } => (content, quoted_id.as_deref()),
        other => panic!("expected a message, got {other:?}"),
    }
}

fn media_of(m: wa::Message) -> InboundMedia {
    match read(&m) {
        Received::Message {
            content: InboundContent::Media(x),
            ..
        } => x,
        other => panic!("expected media, got {other:?}"),
    }
}

#[test]
fn text_and_extended_text_with_mentions_and_the_quoted_id() {
    let plain = wa::Message {
        conversation: Some("hello".into()),
        ..Default::default()
    };
    let r = read(&plain);
    assert_eq!(
        message(&r),
        (
            &InboundContent::Text {
                text: "hello".into(),
                mentions: vec![]
            },
            None
        )
    );
    let reply = wa::Message {
        extended_text_message: some(wa::message::ExtendedTextMessage {
            text: Some("hi @628111".into()),
            context_info: some(wa::ContextInfo {
                stanza_id: Some("3EB0QUOTED".into()),
                mentioned_jid: vec!["628111@s.whatsapp.net".into()],
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    };
    let r = read(&reply);
    let (content, quoted) = message(&r);
    assert_eq!(quoted, Some("3EB0QUOTED"));
    assert_eq!(
        content,
        &InboundContent::Text {
            text: "hi @628111".into(),
            mentions: vec!["628111@s.whatsapp.net".into()]
        }
    );
}

#[test]
fn every_media_kind_keeps_its_fields() {
    let img = media_of(wa::Message {
        image_message: some(wa::message::ImageMessage {
            caption: Some("our shop".into()),
            mimetype: Some("image/jpeg".into()),
            file_sha256: Some(vec![0xab; 32]),
            file_length: Some(2048),
            width: Some(640),
            height: Some(480),
            ..Default::default()
        }),
        ..Default::default()
    });
    assert_eq!(img.media_kind, InboundMediaKind::Image);
    assert_eq!(img.caption.as_deref(), Some("our shop"));
    assert_eq!(img.mimetype.as_deref(), Some("image/jpeg"));
    assert_eq!(img.sha256, Some("ab".repeat(32)));
    assert_eq!(
        (img.size, img.width, img.height),
        (Some(2048), Some(640), Some(480))
    );

    let video = |gif| wa::Message {
        video_message: some(wa::message::VideoMessage {
            caption: Some("clip".into()),
            mimetype: Some("video/mp4".into()),
            seconds: Some(12),
            gif_playback: Some(gif),
            ..Default::default()
        }),
        ..Default::default()
    };
    let v = media_of(video(false));
    assert_eq!(
        (v.media_kind, v.seconds),
        (InboundMediaKind::Video, Some(12))
    );
    assert_eq!(media_of(video(true)).media_kind, InboundMediaKind::Gif);

    let voice = media_of(wa::Message {
        audio_message: some(wa::message::AudioMessage {
            mimetype: Some("audio/ogg; codecs=opus".into()),
            seconds: Some(7),
            ptt: Some(true),
            file_length: Some(9000),
            ..Default::default()
        }),
        ..Default::default()
    });
    assert_eq!(voice.media_kind, InboundMediaKind::Audio);
    assert!(voice.ptt);
    assert_eq!((voice.seconds, voice.size), (Some(7), Some(9000)));

    let doc = media_of(wa::Message {
        document_message: some(wa::message::DocumentMessage {
            mimetype: Some("application/pdf".into()),
            file_name: Some("invoice.pdf".into()),
            title: Some("Invoice".into()),
            file_length: Some(100),
            ..Default::default()
        }),
        ..Default::default()
    });
    assert_eq!(doc.media_kind, InboundMediaKind::Document);
    assert_eq!(doc.file_name.as_deref(), Some("invoice.pdf"));
    assert_eq!(
        doc.caption.as_deref(),
        Some("Invoice"),
        "the title when no caption"
    );

    let sticker = media_of(wa::Message {
        sticker_message: some(wa::message::StickerMessage {
            mimetype: Some("image/webp".into()),
            width: Some(512),
            height: Some(512),
            ..Default::default()
        }),
        ..Default::default()
    });
    assert_eq!(sticker.media_kind, InboundMediaKind::Sticker);
    assert_eq!((sticker.width, sticker.height), (Some(512), Some(512)));
}

#[test]
fn location_contacts_poll_and_replies() {
    let loc = read(&wa::Message {
        location_message: some(wa::message::LocationMessage {
            degrees_latitude: Some(-6.1754),
            degrees_longitude: Some(106.8272),
            name: Some("Monas".into()),
            address: Some("Jakarta".into()),
            ..Default::default()
        }),
        ..Default::default()
    });
    assert_eq!(
        message(&loc).0,
        &InboundContent::Location {
            latitude: -6.1754,
            longitude: 106.8272,
            name: Some("Monas".into()),
            address: Some("Jakarta".into()),
            live: false
        }
    );
    let live = read(&wa::Message {
        live_location_message: some(wa::message::LiveLocationMessage {
            degrees_latitude: Some(1.0),
            degrees_longitude: Some(2.0),
            ..Default::default()
        }),
        ..Default::default()
    });
    assert!(matches!(
        message(&live).0,
        InboundContent::Location { live: true, .. }
    ));

    let vcard = "BEGIN:VCARD\nVERSION:3.0\nFN:Budi\nEND:VCARD";
    let contact = |name: &str| wa::message::ContactMessage {
        display_name: Some(name.into()),
        vcard: Some(vcard.into()),
        ..Default::default()
    };
    let one = read(&wa::Message {
        contact_message: some(contact("Budi")),
        ..Default::default()
    });
    assert_eq!(
        message(&one).0,
        &InboundContent::Contacts {
            contacts: vec![ContactCard {
                display_name: Some("Budi".into()),
                vcard: vcard.into()
            }]
        }
    );
    let many = read(&wa::Message {
        contacts_array_message: some(wa::message::ContactsArrayMessage {
            contacts: vec![contact("Budi"), contact("Ana")],
            ..Default::default()
        }),
        ..Default::default()
    });
    assert!(
        matches!(message(&many).0, InboundContent::Contacts { contacts } if contacts.len() == 2)
    );

    let poll = read(&wa::Message {
        poll_creation_message: some(wa::message::PollCreationMessage {
            name: Some("Lunch?".into()),
            options: ["Rice", "Noodles"]
                .map(|o| wa::message::poll_creation_message::Option {
                    option_name: Some(o.into()),
                    ..Default::default()
                })
                .to_vec(),
            selectable_options_count: Some(1),
            ..Default::default()
        }),
        ..Default::default()
    });
    assert_eq!(
        message(&poll).0,
        &InboundContent::Poll {
            name: "Lunch?".into(),
            options: vec!["Rice".into(), "Noodles".into()],
            selectable_count: 1
        }
    );

    use wa::message::buttons_response_message::Response;
    let tap = read(&wa::Message {
        buttons_response_message: some(wa::message::ButtonsResponseMessage {
            selected_button_id: Some("yes".into()),
            response: Some(Response::SelectedDisplayText("Yes please".into())),
            ..Default::default()
        }),
        ..Default::default()
    });
    assert_eq!(
        message(&tap).0,
        &InboundContent::Reply {
            selected_id: Some("yes".into()),
            selected_text: Some("Yes please".into())
        }
    );
}

#[test]
fn reactions_edits_and_deletions_are_actions_on_their_target() {
    let key = |id: &str| {
        some(wa::MessageKey {
            id: Some(id.into()),
            ..Default::default()
        })
    };
    let react = |emoji: &str| wa::Message {
        reaction_message: some(wa::message::ReactionMessage {
            key: key("3EB0TARGET"),
            text: Some(emoji.into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    assert_eq!(
        read(&react("👍")),
        Received::Action(InboundAction::Reaction {
            target_id: "3EB0TARGET".into(),
            emoji: "👍".into()
        })
    );
    assert_eq!(
        read(&react("")),
        Received::Action(InboundAction::Reaction {
            target_id: "3EB0TARGET".into(),
            emoji: String::new()
        }),
        "an empty emoji takes the reaction back"
    );

    use wa::message::protocol_message::Type;
    let protocol = |t: Type, edited: Option<wa::Message>| wa::Message {
        protocol_message: some(wa::message::ProtocolMessage {
            key: key("3EB0TARGET"),
            r#type: Some(t),
            edited_message: edited.map_or_else(MessageField::none, MessageField::some),
            ..Default::default()
        }),
        ..Default::default()
    };
    assert_eq!(
        read(&protocol(Type::REVOKE, None)),
        Received::Action(InboundAction::Revoked {
            target_id: "3EB0TARGET".into()
        })
    );
    let new_text = wa::Message {
        conversation: Some("fixed typo".into()),
        ..Default::default()
    };
    assert_eq!(
        read(&protocol(Type::MESSAGE_EDIT, Some(new_text))),
        Received::Action(InboundAction::Edited {
            target_id: "3EB0TARGET".into(),
            content: InboundContent::Text {
                text: "fixed typo".into(),
                mentions: vec![]
            }
        })
    );
    assert_eq!(
        read(&protocol(Type::EPHEMERAL_SETTING, None)),
        Received::Nothing
    );
    assert_eq!(read(&wa::Message::default()), Received::Nothing);
}

#[test]
fn a_poll_vote_is_kept_encrypted_with_its_polls_id() {
    let vote = wa::Message {
        poll_update_message: some(wa::message::PollUpdateMessage {
            poll_creation_message_key: some(wa::MessageKey {
                id: Some("3EB0POLL".into()),
                ..Default::default()
            }),
            vote: some(wa::message::PollEncValue {
                enc_payload: Some(vec![1, 2, 3]),
                enc_iv: Some(vec![4; 12]),
            }),
            ..Default::default()
        }),
        ..Default::default()
    };
    assert_eq!(
        read(&vote),
        Received::PollVote(super::super::polls::EncryptedVote {
            poll_id: "3EB0POLL".into(),
            enc_payload: vec![1, 2, 3],
            enc_iv: vec![4; 12],
        })
    );
    let empty = wa::Message {
        poll_update_message: some(wa::message::PollUpdateMessage::default()),
        ..Default::default()
    };
    assert_eq!(read(&empty), Received::Nothing);
}

#[test]
fn a_kind_without_a_shape_is_passed_on_raw() {
    let odd = wa::Message {
        event_message: some(wa::message::EventMessage {
            name: Some("Launch".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    match read(&odd) {
        Received::Message {
            content: InboundContent::Unknown { raw },
            ..
        } => assert_eq!(raw["eventMessage"]["name"], "Launch"),
        other => panic!("expected unknown, got {other:?}"),
    }
}
