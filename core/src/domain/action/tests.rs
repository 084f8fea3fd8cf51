use super::*;
use crate::{MessageContent, OutboundMessage};

fn jid(s: &str) -> Jid {
    Jid::parse(s).unwrap()
}

fn mine(id: &str) -> MessageRef {
    MessageRef {
        id: id.into(),
        from_me: true,
        participant: None,
    }
}

#[test]
fn an_action_job_round_trips_through_its_stored_json() {
    let actions = [
        Action::React {
            message: mine("3EB0AA"),
            emoji: "👍".into(),
        },
        Action::Chat {
            change: ChatChange::Mute {
                until_ms: Some(1_800_000_000_000),
            },
        },
        Action::Members {
            change: MemberChange::Promote,
            participants: vec![jid("6281234567890")],
        },
        Action::ResetInvite,
        Action::GroupSettings {
            settings: GroupSettings {
                announce: Some(true),
                ..Default::default()
            },
        },
    ];
    for a in actions {
        let m = OutboundMessage::new(MessageContent::Action(a.clone()));
        let json = serde_json::to_string(&m).unwrap();
        let back: OutboundMessage = serde_json::from_str(&json).unwrap();
        assert_eq!(back.action(), Some(&a), "{json}");
        assert_eq!(back.kind(), a.kind());
    }
}

#[test]
fn group_actions_refuse_a_chat_that_is_not_a_group() {
    let leave = Action::LeaveGroup;
    assert_eq!(
        leave.validate(&jid("6281234567890")).unwrap_err().field,
        "groupId"
    );
    assert!(leave.validate(&jid("1203630@g.us")).is_ok());
    let react = Action::React {
        message: mine("ABC"),
        emoji: "x".into(),
    };
    assert_eq!(react.validate(&account_lane()).unwrap_err().field, "to");
}

#[test]
fn member_lists_are_bounded_and_hold_people_only() {
    let to = jid("1203630@g.us");
    let add = |p: Vec<Jid>| Action::Members {
        change: MemberChange::Add,
        participants: p,
    };
    assert_eq!(add(vec![]).validate(&to).unwrap_err().field, "participants");
    let many = (0..=MAX_PARTICIPANTS as u64)
        .map(|i| jid(&format!("628{:09}", i)))
        .collect();
    assert_eq!(add(many).validate(&to).unwrap_err().field, "participants");
    assert!(add(vec![jid("1203630@g.us")]).validate(&to).is_err());
    assert!(add(vec![jid("6281234567890")]).validate(&to).is_ok());
}

#[test]
fn edits_are_for_own_messages_with_text() {
    let to = jid("6281234567890");
    let edit = |from_me: bool, text: &str| Action::Edit {
        message: MessageRef {
            id: "ABC".into(),
            from_me,
            participant: None,
        },
        text: text.into(),
    };
    assert_eq!(edit(false, "x").validate(&to).unwrap_err().field, "fromMe");
    assert_eq!(edit(true, "  ").validate(&to).unwrap_err().field, "text");
    assert!(edit(true, "fixed").validate(&to).is_ok());
}

#[test]
fn message_ids_pins_and_timers_take_only_what_whatsapp_does() {
    let to = jid("6281234567890");
    let react = Action::React {
        message: mine("has space"),
        emoji: "👍".into(),
    };
    assert_eq!(react.validate(&to).unwrap_err().field, "messageId");
    let pin = |secs| Action::Pin {
        message: mine("ABC"),
        pin: true,
        duration_secs: secs,
    };
    assert_eq!(pin(3600).validate(&to).unwrap_err().field, "durationSecs");
    assert!(pin(86_400).validate(&to).is_ok());
    let timer = |secs| Action::GroupSettings {
        settings: GroupSettings {
            ephemeral_secs: Some(secs),
            ..Default::default()
        },
    };
    let group = jid("1203630@g.us");
    assert!(timer(5).validate(&group).is_err());
    assert!(timer(604_800).validate(&group).is_ok());
    let nothing = Action::GroupSettings {
        settings: GroupSettings::default(),
    };
    assert_eq!(nothing.validate(&group).unwrap_err().field, "body");
    let read = Action::Read {
        message_ids: vec![],
        participant: None,
        played: false,
    };
    assert_eq!(read.validate(&to).unwrap_err().field, "messageIds");
}

#[test]
fn invite_codes_come_bare_or_as_links() {
    assert_eq!(invite_code("AbCdEf123456").unwrap(), "AbCdEf123456");
    assert_eq!(
        invite_code("https://chat.whatsapp.com/AbCdEf123456/").unwrap(),
        "AbCdEf123456"
    );
    assert!(invite_code("https://evil.example/AbCdEf123456").is_err());
    assert!(invite_code("short").is_err());
    assert!(invite_code("AbCd Ef123456").is_err());
}

#[test]
fn only_contacts_can_be_blocked() {
    let block = Action::Block { block: true };
    assert!(block.validate(&jid("6281234567890")).is_ok());
    assert!(block.validate(&jid("1203630@g.us")).is_err());
}
