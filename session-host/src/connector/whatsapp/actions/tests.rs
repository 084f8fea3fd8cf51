use super::*;

fn jid(s: &str) -> Jid {
    Jid::parse(s).unwrap()
}

fn mref(id: &str, from_me: bool, participant: Option<&str>) -> MessageRef {
    MessageRef {
        id: id.into(),
        from_me,
        participant: participant.map(jid),
    }
}

#[test]
fn message_keys_name_the_chat_the_id_and_a_group_sender_when_not_ours() {
    let group = jid("120363001@g.us");
    let theirs = message_key(&group, &mref("3EB0A", false, Some("6281111111111")));
    assert_eq!(theirs.remote_jid.as_deref(), Some("120363001@g.us"));
    assert_eq!(theirs.id.as_deref(), Some("3EB0A"));
    assert_eq!(theirs.from_me, Some(false));
    assert_eq!(
        theirs.participant.as_deref(),
        Some("6281111111111@s.whatsapp.net")
    );
    let ours = message_key(&group, &mref("3EB0B", true, Some("6281111111111")));
    assert_eq!(ours.from_me, Some(true));
    assert_eq!(ours.participant, None, "our own key carries no participant");
    let direct = message_key(
        &jid("6282222222222"),
        &mref("X", false, Some("6282222222222")),
    );
    assert_eq!(direct.participant, None, "a 1:1 chat's key has none");
}

#[test]
fn an_edit_carries_the_new_text_as_a_plain_message() {
    let m = edit_content("fixed typo");
    assert_eq!(m.conversation.as_deref(), Some("fixed typo"));
    assert!(!m.extended_text_message.is_set());
}

#[test]
fn pin_durations_map_to_whatsapps_three() {
    assert!(matches!(pin_duration(86_400), PinDuration::Hours24));
    assert!(matches!(pin_duration(604_800), PinDuration::Days7));
    assert!(matches!(pin_duration(2_592_000), PinDuration::Days30));
}

#[test]
fn revoking_someone_elses_message_is_an_admin_revoke_naming_its_sender() {
    assert!(matches!(
        revoke_type(&mref("A", true, None)).unwrap(),
        RevokeType::Sender
    ));
    match revoke_type(&mref("A", false, Some("6281111111111"))).unwrap() {
        RevokeType::Admin { original_sender } => {
            assert_eq!(original_sender.to_string(), "6281111111111@s.whatsapp.net")
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        revoke_type(&mref("A", false, None)),
        Err(SendError::Permanent(_))
    ));
}

#[test]
fn group_errors_are_permanent_for_refusals_and_transient_otherwise() {
    let server = |code: u16| {
        GroupError::Iq(whatsapp_rust::IqError::ServerError {
            code,
            text: "x".into(),
            error_type: None,
            backoff: None,
        })
    };
    assert!(matches!(
        classify_group(&server(403)),
        SendError::Permanent(_)
    ));
    assert!(matches!(
        classify_group(&server(404)),
        SendError::Permanent(_)
    ));
    assert!(matches!(
        classify_group(&server(429)),
        SendError::Transient(_)
    ));
    assert!(matches!(
        classify_group(&server(500)),
        SendError::Transient(_)
    ));
    assert!(matches!(
        classify_group(&GroupError::InvalidRequest("bad".into())),
        SendError::Permanent(_)
    ));
}

fn answer(j: &str, error: Option<&str>, code: Option<&str>) -> MemberAnswer {
    MemberAnswer {
        jid: Some(jid(j)),
        phone: None,
        error: error.map(str::to_owned),
        add_request_code: code.map(str::to_owned),
    }
}

#[test]
fn member_results_follow_the_asked_order_and_whatsapps_codes() {
    let asked = [
        jid("6281000000001"),
        jid("6281000000002"),
        jid("6281000000003"),
        jid("6281000000004"),
        jid("6281000000005"),
        jid("6281000000006"),
    ];
    let answers = [
        answer("6281000000006", None, None),
        answer("6281000000001", None, None),
        answer("6281000000002", Some("409"), None),
        answer("6281000000003", Some("403"), Some("AbCdEf123456")),
        answer("6281000000004", Some("408"), None),
    ];
    let r = member_results(
        MemberChange::Add,
        &asked,
        &answers,
        Some("https://chat.whatsapp.com/GROUPLINK1"),
    );
    let statuses: Vec<MemberOutcome> = r.iter().map(|m| m.status).collect();
    assert_eq!(
        statuses,
        [
            MemberOutcome::Ok,
            MemberOutcome::AlreadyMember,
            MemberOutcome::PrivacyRefused,
            MemberOutcome::NotOnWhatsapp,
            MemberOutcome::Refused,
            MemberOutcome::Ok,
        ]
    );
    assert_eq!(r[0].jid, asked[0]);
    assert_eq!(
        r[2].invite_link.as_deref(),
        Some("https://chat.whatsapp.com/AbCdEf123456"),
        "WhatsApp's own add-request code first"
    );
    assert_eq!(r[2].code, Some(403));
    assert_eq!(r[4].code, None, "no answer for that one");
}

#[test]
fn a_privacy_refusal_without_a_code_gets_the_groups_link_and_answers_match_by_phone() {
    let asked = [jid("6281000000001")];
    let by_phone = MemberAnswer {
        jid: Some(jid("99887766@lid")),
        phone: Some(jid("6281000000001")),
        error: Some("403".into()),
        add_request_code: None,
    };
    let r = member_results(
        MemberChange::Add,
        &asked,
        &[by_phone],
        Some("https://chat.whatsapp.com/GROUPLINK1"),
    );
    assert_eq!(r[0].status, MemberOutcome::PrivacyRefused);
    assert_eq!(
        r[0].invite_link.as_deref(),
        Some("https://chat.whatsapp.com/GROUPLINK1")
    );
    let removed = member_results(
        MemberChange::Remove,
        &asked,
        &[answer("6281000000001", Some("404"), None)],
        None,
    );
    assert_eq!(removed[0].status, MemberOutcome::NotFound);
}

#[test]
fn a_text_status_is_an_extended_text_with_its_background_and_font() {
    let audience = |argb, font| StatusAudience {
        recipients: vec![jid("6281000000001")],
        background_argb: argb,
        font,
    };
    let text = wa::Message {
        conversation: Some("Open until 9 tonight".into()),
        ..Default::default()
    };
    let m = status_message(text.clone(), &audience(Some(0x801E_6E4F), Some(3)));
    assert_eq!(m.conversation, None);
    let ext = m.extended_text_message.as_option().unwrap();
    assert_eq!(ext.text.as_deref(), Some("Open until 9 tonight"));
    assert_eq!(ext.background_argb, Some(0x801E_6E4F));
    assert_eq!(ext.font, Some(FontType::SYSTEM_BOLD));
    let plain = status_message(text, &audience(None, None));
    let ext = plain.extended_text_message.as_option().unwrap();
    assert_eq!(ext.background_argb, Some(DEFAULT_STATUS_BACKGROUND));
    assert_eq!(ext.font, Some(FontType::SYSTEM));

    let image = wa::Message {
        image_message: MessageField::some(wa::message::ImageMessage {
            caption: Some("menu".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    assert_eq!(
        status_message(image.clone(), &audience(Some(1), Some(1))),
        image,
        "media go as they are"
    );
}
