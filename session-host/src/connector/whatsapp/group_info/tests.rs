use super::*;

fn wa(s: &str) -> whatsapp_rust::Jid {
    s.parse().unwrap()
}

fn facts() -> GroupFacts {
    GroupFacts {
        id: wa("120363001@g.us"),
        subject: "Class 7B".into(),
        description: Some(String::new()),
        creator: Some(wa("111222333@lid")),
        creator_pn: Some(wa("6281000000001@s.whatsapp.net")),
        creation_time: Some(1_760_000_000),
        members: vec![
            MemberFacts {
                jid: wa("111222333@lid"),
                phone: Some(wa("6281000000001@s.whatsapp.net")),
                lid: None,
                role: GroupRole::SuperAdmin,
            },
            MemberFacts {
                jid: wa("6281000000002@s.whatsapp.net"),
                phone: None,
                lid: Some(wa("444555666@lid")),
                role: GroupRole::Admin,
            },
            MemberFacts {
                jid: wa("777888999@lid"),
                phone: None,
                lid: None,
                role: GroupRole::Member,
            },
        ],
        announce: true,
        locked: false,
        ephemeral: Some(604_800),
        approval: true,
    }
}

#[test]
fn a_group_shows_members_by_phone_with_their_lid_and_its_settings() {
    let g = group_info(&facts()).unwrap();
    assert_eq!(g.jid.as_str(), "120363001@g.us");
    assert_eq!(g.subject, "Class 7B");
    assert_eq!(g.description, None, "an empty description is none");
    assert_eq!(
        g.owner.as_ref().map(Jid::as_str),
        Some("6281000000001@s.whatsapp.net")
    );
    assert_eq!(g.created_secs, Some(1_760_000_000));
    let m = &g.participants;
    assert_eq!(m.len(), 3);
    assert_eq!(m[0].jid.as_str(), "6281000000001@s.whatsapp.net");
    assert_eq!(m[0].lid.as_ref().map(Jid::as_str), Some("111222333@lid"));
    assert_eq!(m[0].role, GroupRole::SuperAdmin);
    assert_eq!(m[1].jid.as_str(), "6281000000002@s.whatsapp.net");
    assert_eq!(m[1].lid.as_ref().map(Jid::as_str), Some("444555666@lid"));
    assert_eq!(m[1].role, GroupRole::Admin);
    assert_eq!(
        m[2].jid.as_str(),
        "777888999@lid",
        "no phone known: the LID"
    );
    assert_eq!(m[2].lid, None);
    assert!(g.announce && !g.locked && g.approval);
    assert_eq!(g.ephemeral_secs, 604_800);
}

#[test]
fn a_business_profile_drops_empty_fields() {
    let p = business(
        "6281000000000@s.whatsapp.net",
        "",
        Some(String::new()),
        Some("shop@example.com".into()),
        vec![String::new(), "https://shop.example.com".into()],
        vec!["Retail".into()],
    );
    assert_eq!(p.description, None);
    assert_eq!(p.address, None);
    assert_eq!(p.email.as_deref(), Some("shop@example.com"));
    assert_eq!(p.websites, ["https://shop.example.com"]);
    assert_eq!(p.categories, ["Retail"]);
}
