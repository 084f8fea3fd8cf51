//! Tests of the translation of the client's events, from whatsapp-rust values.

use std::sync::Arc;

use whatsapp_rust::prelude::MessageBuilderExt;
use whatsapp_rust::types::events as ev;
use whatsapp_rust::wacore::net::DisconnectReason;

use super::*;

fn wj(s: &str) -> whatsapp_rust::Jid {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e:?}"))
}

fn j(s: &str) -> Jid {
    Jid::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn info(sender: &str, alt: Option<&str>, chat: &str) -> MessageInfo {
    let chat = wj(chat);
    MessageInfo {
        id: "3EB0ABCDEF".into(),
        push_name: "Budi".into(),
        source: MessageSource {
            sender: wj(sender),
            sender_alt: alt.map(wj),
            is_group: chat.is_group(),
            chat,
            ..Default::default()
        },
        timestamp: whatsapp_rust::chrono::DateTime::from_timestamp(1_700_000_000, 0)
            .unwrap_or_default(),
        ..Default::default()
    }
}

fn one_incoming(e: &Event) -> IncomingMessage {
    match translate(e).as_slice() {
        [Action::Emit(ConnectorEvent::Incoming(m))] => (**m).clone(),
        other => panic!("expected one incoming message, got {other:?}"),
    }
}

fn batch(msg: wa::Message, info: MessageInfo) -> Event {
    let item = ev::InboundMessage::builder()
        .message(Arc::new(msg))
        .info(Arc::new(info))
        .build();
    Event::Messages(
        ev::MessageBatch::builder()
            .messages(Arc::from(vec![item]))
            .origin(ev::BatchOrigin::Live)
            .build(),
    )
}

#[test]
fn each_qr_code_and_pairing_code_is_passed_on() {
    let qr = Event::PairingQrCode(
        ev::PairingQrCode::builder()
            .code("2@ref,noise,identity,adv".into())
            .timeout(Duration::from_secs(60))
            .build(),
    );
    assert_eq!(
        translate(&qr),
        vec![Action::Emit(ConnectorEvent::Qr {
            code: "2@ref,noise,identity,adv".into()
        })]
    );
    let pc = Event::PairingCode(
        ev::PairingCode::builder()
            .code("ABCD-EFGH".into())
            .timeout(Duration::from_secs(180))
            .build(),
    );
    assert_eq!(
        translate(&pc),
        vec![Action::Emit(ConnectorEvent::PairingCode {
            code: "ABCD-EFGH".into()
        })]
    );
}

#[test]
fn pairing_connecting_and_dropping_become_lifecycle_actions() {
    let paired = Event::PairSuccess(
        ev::PairSuccess::builder()
            .id(wj("628123456789:5@s.whatsapp.net"))
            .lid(wj("12345678901234@lid"))
            .business_name(String::new())
            .platform("android".into())
            .build(),
    );
    assert_eq!(
        translate(&paired),
        vec![Action::Paired {
            jid: j("628123456789")
        }]
    );
    assert_eq!(
        translate(&Event::Connected(ev::Connected::builder().build())),
        vec![Action::Online]
    );
    let dropped = Event::Disconnected(
        ev::Disconnected::builder()
            .reason(DisconnectReason::StreamEnded)
            .build(),
    );
    assert!(matches!(
        translate(&dropped).as_slice(),
        [Action::Closed { hold_off: None, reason }] if reason.contains("stream ended")
    ));
    assert!(matches!(
        translate(&Event::PairingQrCodesExhausted(
            ev::PairingQrCodesExhausted::builder()
                .disconnected(true)
                .build()
        ))
        .as_slice(),
        [Action::Closed { hold_off: None, .. }]
    ));
}

#[test]
fn logout_replacement_and_bans_are_told_apart() {
    let out = Event::LoggedOut(
        ev::LoggedOut::builder()
            .on_connect(false)
            .reason(ev::ConnectFailureReason::LoggedOut)
            .build(),
    );
    assert!(matches!(
        translate(&out).as_slice(),
        [Action::LoggedOut { .. }]
    ));
    let locked = Event::ConnectFailure(
        ev::ConnectFailure::builder()
            .reason(ev::ConnectFailureReason::AccountLocked)
            .build(),
    );
    assert!(matches!(
        translate(&locked).as_slice(),
        [Action::LoggedOut { .. }]
    ));
    let busy = Event::ConnectFailure(
        ev::ConnectFailure::builder()
            .reason(ev::ConnectFailureReason::ServiceUnavailable)
            .build(),
    );
    assert!(matches!(
        translate(&busy).as_slice(),
        [Action::Closed { hold_off: None, .. }]
    ));
    let replaced = Event::StreamReplaced(ev::StreamReplaced::builder().build());
    assert!(matches!(
        translate(&replaced).as_slice(),
        [Action::Closed { hold_off: Some(d), .. }] if *d == REPLACED_HOLD_OFF
    ));
    let ban = Event::TemporaryBan(
        ev::TemporaryBan::builder()
            .code(ev::TempBanReason::BlockedByUsers)
            .expire(whatsapp_rust::chrono::TimeDelta::seconds(3600))
            .build(),
    );
    assert!(matches!(
        translate(&ban).as_slice(),
        [Action::Closed { hold_off: Some(d), reason }]
            if *d == Duration::from_secs(3600) && reason.contains("banned")
    ));
}

#[test]
fn a_lid_sender_is_named_by_phone_with_its_lid_kept() {
    let (from, lid) = normalize_sender(
        &wj("12345678901234@lid"),
        Some(&wj("628123456789@s.whatsapp.net")),
    )
    .unwrap();
    assert_eq!(from, j("628123456789"));
    assert_eq!(lid, Some(j("12345678901234@lid")));

    let (from, lid) = normalize_sender(
        &wj("628123456789:7@s.whatsapp.net"),
        Some(&wj("12345678901234@lid")),
    )
    .unwrap();
    assert_eq!(from, j("628123456789"));
    assert_eq!(lid, Some(j("12345678901234@lid")));

    let (from, lid) = normalize_sender(&wj("12345678901234@lid"), None).unwrap();
    assert_eq!(from, j("12345678901234@lid"));
    assert_eq!(lid, Some(j("12345678901234@lid")));

    let (from, lid) = normalize_sender(&wj("628123456789@s.whatsapp.net"), None).unwrap();
    assert_eq!((from, lid), (j("628123456789"), None));
}

#[test]
fn a_direct_text_becomes_an_incoming_message_in_the_senders_chat() {
    let e = batch(
        wa::Message::text("hello"),
        info(
            "12345678901234@lid",
            Some("628123456789@s.whatsapp.net"),
            "12345678901234@lid",
        ),
    );
    let m = one_incoming(&e);
    assert_eq!(m.id, "3EB0ABCDEF");
    assert_eq!(m.from, j("628123456789"));
    assert_eq!(m.sender_lid, Some(j("12345678901234@lid")));
    assert_eq!(m.chat, j("628123456789"));
    assert!(!m.from_me);
    assert_eq!(m.push_name.as_deref(), Some("Budi"));
    assert_eq!(m.kind(), "text");
    assert_eq!(m.text(), Some("hello"));
    assert_eq!(m.raw, Some(serde_json::json!({ "conversation": "hello" })));
    assert_eq!(m.timestamp_secs, 1_700_000_000);
}

#[test]
fn a_group_message_keeps_the_group_as_its_chat() {
    let e = batch(
        wa::Message::text("hi all"),
        info(
            "628123456789:3@s.whatsapp.net",
            None,
            "120363025246125244@g.us",
        ),
    );
    let m = one_incoming(&e);
    assert_eq!(m.chat, j("120363025246125244@g.us"));
    assert_eq!(m.from, j("628123456789"));
    assert_eq!(m.media_handle, None, "a text has no file");
}

#[test]
fn a_group_photo_carries_the_handle_to_download_it_later() {
    let photo = wa::Message {
        image_message: waproto::buffa::MessageField::some(wa::message::ImageMessage {
            direct_path: Some("/v/t62/x".into()),
            media_key: Some(vec![9; 32]),
            file_sha256: Some(vec![8; 32]),
            file_enc_sha256: Some(vec![7; 32]),
            file_length: Some(1234),
            mimetype: Some("image/jpeg".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let e = batch(
        photo,
        info(
            "628123456789:3@s.whatsapp.net",
            None,
            "120363025246125244@g.us",
        ),
    );
    let h = one_incoming(&e).media_handle.expect("a handle");
    assert_eq!(h["chat"], "120363025246125244@g.us");
    assert_eq!(h["participant"], "628123456789:3@s.whatsapp.net");
    assert_eq!(
        (h["mediaType"].as_str(), h["fileLength"].as_u64()),
        (Some("image"), Some(1234))
    );
}

#[test]
fn newsletter_broadcast_and_status_are_dropped_own_messages_are_marked() {
    let cases = [
        info("628123456789@s.whatsapp.net", None, "status@broadcast"),
        info(
            "628123456789@s.whatsapp.net",
            None,
            "120363123456789@newsletter",
        ),
        info("628123456789@s.whatsapp.net", None, "1234567@broadcast"),
    ];
    for i in cases {
        let chat = i.source.chat.to_string();
        assert!(
            translate(&batch(wa::Message::text("x"), i)).is_empty(),
            "{chat}"
        );
    }
    // Written from the account's phone to 628555000111: passed on as its own, in that chat.
    let mut own = info(
        "628123456789@s.whatsapp.net",
        None,
        "628555000111@s.whatsapp.net",
    );
    own.source.is_from_me = true;
    let m = one_incoming(&batch(wa::Message::text("x"), own));
    assert!(m.from_me);
    assert_eq!(m.chat, j("628555000111"));
}

#[test]
fn delivery_and_read_receipts_are_passed_on_others_are_not() {
    let src = info(
        "628123456789@s.whatsapp.net",
        None,
        "628123456789@s.whatsapp.net",
    )
    .source;
    let ids = vec!["3EB0AA".to_owned(), "3EB0BB".to_owned()];
    let r = receipt(&src, &ids, &ReceiptType::Delivered, 1_700_000_000).unwrap();
    assert_eq!(r.message_ids, ids);
    assert_eq!(r.chat, j("628123456789"));
    assert_eq!(r.status, ReceiptStatus::Delivered);
    assert_eq!(
        receipt(&src, &ids, &ReceiptType::Read, 1).map(|r| r.status),
        Some(ReceiptStatus::Read)
    );
    assert!(receipt(&src, &ids, &ReceiptType::Retry, 1).is_none());
    assert!(receipt(&src, &ids, &ReceiptType::ReadSelf, 1).is_none());
    assert!(receipt(&src, &[], &ReceiptType::Read, 1).is_none());
}

fn ts() -> whatsapp_rust::chrono::DateTime<whatsapp_rust::chrono::Utc> {
    whatsapp_rust::chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap()
}

#[test]
fn a_ringing_call_and_a_missed_one_become_calls_later_signalling_does_not() {
    use whatsapp_rust::types::call::{
        CallAction, IncomingCall as WaCall, MissedCall, MissedReason,
    };
    let offer = |video: bool, group: Option<&str>| {
        WaCall::builder()
            .from(wj("12345678901234@lid"))
            .stanza_id("st1".into())
            .timestamp(ts())
            .offline(false)
            .action(CallAction::Offer {
                call_id: "CALL1".into(),
                call_creator: wj("12345678901234@lid"),
                caller_pn: Some(wj("628123456789@s.whatsapp.net")),
                caller_country_code: None,
                device_class: None,
                joinable: false,
                is_video: video,
                audio: vec![],
                group_jid: group.map(wj),
            })
            .build()
    };
    let c = call(&offer(true, None)).unwrap();
    assert_eq!(c.call_id, "CALL1");
    assert_eq!(
        c.from,
        j("628123456789"),
        "the phone number when WhatsApp gives it"
    );
    assert_eq!(c.from_lid, Some(j("12345678901234@lid")));
    assert!(c.is_video && !c.is_group);
    assert_eq!(
        (c.status, c.timestamp_secs),
        (CallStatus::Offer, 1_700_000_000)
    );
    assert_eq!(
        (c.peer.as_str(), c.creator.as_str()),
        ("12345678901234@lid", "12345678901234@lid")
    );
    assert!(
        call(&offer(false, Some("120363025246125244@g.us")))
            .unwrap()
            .is_group
    );
    assert!(matches!(
        translate(&Event::IncomingCall(offer(false, None))).as_slice(),
        [Action::Emit(ConnectorEvent::Call(_))]
    ));

    let missed = MissedCall::new(
        wj("628123456789@s.whatsapp.net"),
        "CALL2".into(),
        ts(),
        MissedReason::Remote,
    );
    let m = missed_call(&missed).unwrap();
    assert_eq!(
        (m.call_id.as_str(), m.status),
        ("CALL2", CallStatus::Missed)
    );
    assert_eq!(m.from, j("628123456789"));
}

#[test]
fn group_membership_and_setting_changes_are_reported_with_who_made_them() {
    use whatsapp_rust::types::events::GroupUpdate;
    use whatsapp_rust::wacore::stanza::groups::{
        GroupNotificationAction as A, GroupParticipantInfo,
    };
    let member = |jid: &str, pn: Option<&str>| GroupParticipantInfo {
        jid: wj(jid),
        phone_number: pn.map(wj),
        display_name: None,
        r#type: None,
        lid: None,
        username: None,
        join_time: None,
        group_history_sent_state: None,
    };
    let update = |action: A| {
        GroupUpdate::builder()
            .group_jid(wj("120363025246125244@g.us"))
            .participant(wj("11111111111111@lid"))
            .participant_pn(wj("628111111@s.whatsapp.net"))
            .timestamp(ts())
            .is_lid_addressing_mode(true)
            .action(action)
            .build()
    };
    let added = group_change(&update(A::Add {
        participants: vec![
            member("22222222222222@lid", Some("628222222@s.whatsapp.net")),
            member("628333333@s.whatsapp.net", None),
        ],
        reason: None,
    }))
    .unwrap();
    assert_eq!(added.group, j("120363025246125244@g.us"));
    assert_eq!(added.by, Some(j("628111111")));
    assert_eq!(added.by_lid, Some(j("11111111111111@lid")));
    assert_eq!(
        added.change,
        GroupChangeKind::Participants {
            action: "add",
            participants: vec![j("628222222"), j("628333333")]
        }
    );
    let subject = group_change(&update(A::Subject {
        subject: "Shop team".into(),
        subject_owner: None,
        subject_time: None,
    }))
    .unwrap();
    assert_eq!(subject.change, GroupChangeKind::Subject("Shop team".into()));
    let locked = group_change(&update(A::Announce)).unwrap();
    assert_eq!(
        locked.change,
        GroupChangeKind::Setting {
            name: "announcement",
            value: serde_json::Value::Bool(true)
        }
    );
    assert!(group_change(&update(A::NoFrequentlyForwarded)).is_none());
}

#[test]
fn a_lid_only_sender_is_renamed_by_its_phone_and_its_chat_with_it() {
    let e = batch(
        wa::Message::text("hello"),
        info("12345678901234@lid", None, "12345678901234@lid"),
    );
    let [Action::Emit(ev)] =
        <[Action; 1]>::try_from(translate(&e)).unwrap_or_else(|a| panic!("{a:?}"))
    else {
        panic!("expected one event")
    };
    assert_eq!(lid_without_phone(&ev), Some(&j("12345678901234@lid")));
    let ConnectorEvent::Incoming(m) = with_phone(ev, j("628123456789")) else {
        panic!("still a message")
    };
    assert_eq!(m.from, j("628123456789"));
    assert_eq!(m.sender_lid, Some(j("12345678901234@lid")));
    assert_eq!(
        m.chat,
        j("628123456789"),
        "the one-to-one chat is the sender"
    );

    // Already named by phone: nothing to look up.
    let known = batch(
        wa::Message::text("hi"),
        info(
            "12345678901234@lid",
            Some("628123456789@s.whatsapp.net"),
            "12345678901234@lid",
        ),
    );
    let [Action::Emit(ev)] =
        <[Action; 1]>::try_from(translate(&known)).unwrap_or_else(|a| panic!("{a:?}"))
    else {
        panic!("expected one event")
    };
    assert_eq!(lid_without_phone(&ev), None);
}

#[test]
fn unrelated_events_give_no_action() {
    let e = Event::OfflineSyncCompleted(ev::OfflineSyncCompleted::builder().count(0).build());
    assert!(translate(&e).is_empty());
}

#[test]
fn number_checks_follow_the_asked_order_with_phone_lid_and_business() {
    let numbers: Vec<String> = ["628111", "628222", "628333", "628444"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    let answers = vec![
        // Answered out of order, by LID with the phone beside it.
        RegisteredAnswer {
            jid: wj("205744183902211@lid"),
            lid: None,
            pn_jid: Some(wj("628222@s.whatsapp.net")),
            registered: true,
            business: true,
        },
        RegisteredAnswer {
            jid: wj("628111@s.whatsapp.net"),
            lid: Some(wj("118220447310921@lid")),
            pn_jid: None,
            registered: true,
            business: false,
        },
        RegisteredAnswer {
            jid: wj("628333@s.whatsapp.net"),
            lid: None,
            pn_jid: None,
            registered: false,
            business: false,
        },
    ];
    let got = number_checks(&numbers, &answers);
    let check = |number: &str, on: bool, jid: Option<&str>, lid: Option<&str>, business: bool| {
        wagate_core::NumberCheck {
            number: number.into(),
            on_whatsapp: on,
            jid: jid.map(Into::into),
            lid: lid.map(Into::into),
            business,
        }
    };
    assert_eq!(
        got,
        vec![
            check(
                "628111",
                true,
                Some("628111@s.whatsapp.net"),
                Some("118220447310921@lid"),
                false
            ),
            check(
                "628222",
                true,
                Some("628222@s.whatsapp.net"),
                Some("205744183902211@lid"),
                true
            ),
            check("628333", false, None, None, false),
            check("628444", false, None, None, false),
        ]
    );
}

#[test]
fn a_profile_keeps_phone_and_lid_and_drops_empty_texts() {
    let by_phone = ProfileFacts {
        jid: wj("628111@s.whatsapp.net"),
        lid: Some(wj("118220447310921@lid")),
        about: Some("Open 9-5".into()),
        business: true,
        business_name: Some("Toko Budi".into()),
    };
    let p = profile(
        "628111",
        &by_phone,
        Some("https://pps.whatsapp.net/v/x.jpg".into()),
    );
    assert_eq!(p.jid, "628111@s.whatsapp.net");
    assert_eq!(p.lid.as_deref(), Some("118220447310921@lid"));
    assert_eq!(p.about.as_deref(), Some("Open 9-5"));
    assert_eq!(
        p.picture_url.as_deref(),
        Some("https://pps.whatsapp.net/v/x.jpg")
    );
    assert!(p.business);
    assert_eq!(p.business_name.as_deref(), Some("Toko Budi"));

    let by_lid = ProfileFacts {
        jid: wj("205744183902211@lid"),
        lid: None,
        about: Some(String::new()),
        business: false,
        business_name: Some(String::new()),
    };
    let p = profile("628222", &by_lid, Some(String::new()));
    assert_eq!(p.jid, "628222@s.whatsapp.net");
    assert_eq!(p.lid.as_deref(), Some("205744183902211@lid"));
    assert_eq!(
        (p.about, p.picture_url, p.business_name),
        (None, None, None)
    );
}
