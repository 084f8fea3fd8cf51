//! The validation rules of every message kind.

use super::validate::MAX_TEXT;
use super::*;

fn msg(content: MessageContent) -> OutboundMessage {
    OutboundMessage::new(content)
}

fn err_field(content: MessageContent) -> &'static str {
    msg(content).validate().unwrap_err().field
}

fn text(t: &str) -> MessageContent {
    MessageContent::Text {
        text: t.into(),
        mentions: vec![],
    }
}

fn url_media(kind: MediaKind, url: &str) -> MessageContent {
    MessageContent::Media {
        media: kind,
        source: MediaSource::Url(url.into()),
        caption: None,
        file_name: None,
        mimetype: None,
        ptt: false,
        gif_playback: false,
    }
}

fn buttons(n: usize) -> MessageContent {
    MessageContent::Buttons {
        text: "pick".into(),
        footer: None,
        buttons: (0..n)
            .map(|i| Button {
                id: format!("b{i}"),
                text: format!("B {i}"),
            })
            .collect(),
    }
}

fn poll(options: &[&str], selectable: u32) -> MessageContent {
    MessageContent::Poll {
        name: "Lunch?".into(),
        options: options.iter().map(|s| s.to_string()).collect(),
        selectable_count: selectable,
    }
}

#[test]
fn text_must_not_be_empty_or_huge() {
    assert!(msg(text("hi")).validate().is_ok());
    assert_eq!(err_field(text("   ")), "text");
    assert_eq!(err_field(text(&"x".repeat(MAX_TEXT + 1))), "text");
}

#[test]
fn media_urls_must_be_http_with_a_host() {
    assert!(
        msg(url_media(MediaKind::Image, "https://example.com/a.jpg"))
            .validate()
            .is_ok()
    );
    for bad in [
        "file:///etc/passwd",
        "gopher://x",
        "not a url",
        "https://user:pw@example.com/x",
        "ftp://example.com/a",
    ] {
        assert_eq!(
            err_field(url_media(MediaKind::Image, bad)),
            "mediaUrl",
            "{bad}"
        );
    }
}

#[test]
fn voice_notes_are_audio_and_gifs_are_video() {
    let mut m = url_media(MediaKind::Image, "https://e.com/a");
    if let MessageContent::Media { ptt, .. } = &mut m {
        *ptt = true;
    }
    assert_eq!(err_field(m), "ptt");
    let mut g = url_media(MediaKind::Image, "https://e.com/a");
    if let MessageContent::Media { gif_playback, .. } = &mut g {
        *gif_playback = true;
    }
    assert_eq!(err_field(g), "mediaType");
}

#[test]
fn locations_must_be_on_earth() {
    let loc = |lat, lng| MessageContent::Location {
        latitude: lat,
        longitude: lng,
        name: None,
        address: None,
    };
    assert!(msg(loc(-6.2, 106.8)).validate().is_ok());
    assert_eq!(err_field(loc(91.0, 0.0)), "latitude");
    assert_eq!(err_field(loc(f64::NAN, 0.0)), "latitude");
    assert_eq!(err_field(loc(0.0, -180.5)), "longitude");
}

#[test]
fn buttons_allow_one_to_three_unique_ids() {
    assert!(msg(buttons(1)).validate().is_ok());
    assert!(msg(buttons(3)).validate().is_ok());
    assert_eq!(err_field(buttons(0)), "buttons");
    let four = msg(buttons(4)).validate().unwrap_err();
    assert_eq!(four.field, "buttons");
    assert!(four.message.contains("got 4"));
    let mut dup = buttons(2);
    if let MessageContent::Buttons { buttons, .. } = &mut dup {
        buttons[1].id = "b0".into();
    }
    assert_eq!(err_field(dup), "buttons[].id");
}

#[test]
fn lists_need_rows_and_a_button_text() {
    let list = |rows: usize, button: &str| MessageContent::List {
        text: "Menu".into(),
        title: None,
        button_text: button.into(),
        footer: None,
        sections: vec![ListSection {
            title: "Food".into(),
            rows: (0..rows)
                .map(|i| ListRow {
                    id: format!("r{i}"),
                    title: format!("Row {i}"),
                    description: None,
                })
                .collect(),
        }],
    };
    assert!(msg(list(2, "Open")).validate().is_ok());
    assert_eq!(err_field(list(0, "Open")), "sections");
    assert_eq!(err_field(list(11, "Open")), "sections");
    assert_eq!(err_field(list(2, "")), "buttonText");
}

#[test]
fn polls_need_two_to_twelve_distinct_options() {
    assert!(msg(poll(&["a", "b"], 1)).validate().is_ok());
    assert!(msg(poll(&["a", "b", "c"], 0)).validate().is_ok());
    assert_eq!(err_field(poll(&["only"], 1)), "options");
    assert_eq!(err_field(poll(&["a"; 13], 1)), "options");
    assert_eq!(err_field(poll(&["a", "a"], 1)), "options");
    assert_eq!(err_field(poll(&["a", ""], 1)), "options[]");
    assert_eq!(err_field(poll(&["a", "b"], 3)), "selectableCount");
}

#[test]
fn contacts_need_a_name_and_an_international_phone() {
    let c = |name: &str, phone: &str| MessageContent::Contact {
        contact: Contact {
            full_name: name.into(),
            phone: phone.into(),
            organization: None,
            email: None,
        },
    };
    assert!(msg(c("Ana", "628123456789")).validate().is_ok());
    assert_eq!(err_field(c("", "628123456789")), "fullName");
    assert_eq!(err_field(c("Ana", "0812")), "phone");
}

#[test]
fn vcard_has_the_fields_whatsapp_reads() {
    let c = Contact {
        full_name: "Ana, Jr.".into(),
        phone: "628123456789".into(),
        organization: Some("Clinic".into()),
        email: Some("ana@example.com".into()),
    };
    let v = c.to_vcard();
    let lines: Vec<&str> = v.lines().collect();
    assert_eq!(lines[0], "BEGIN:VCARD");
    assert_eq!(lines[1], "VERSION:3.0");
    assert_eq!(lines[2], "FN:Ana\\, Jr.");
    assert_eq!(lines[3], "ORG:Clinic;");
    assert_eq!(
        lines[4],
        "TEL;type=CELL;type=VOICE;waid=628123456789:+628123456789"
    );
    assert_eq!(lines[5], "EMAIL:ana@example.com");
    assert_eq!(*lines.last().unwrap(), "END:VCARD");
}

#[test]
fn raw_and_forward_need_objects() {
    assert_eq!(
        err_field(MessageContent::Raw {
            message: serde_json::json!([])
        }),
        "message"
    );
    assert_eq!(
        err_field(MessageContent::Raw {
            message: serde_json::json!({})
        }),
        "message"
    );
    assert!(
        msg(MessageContent::Raw {
            message: serde_json::json!({"conversation": "hi"})
        })
        .validate()
        .is_ok()
    );
}

#[test]
fn quoted_reply_needs_an_id() {
    let mut m = msg(text("re"));
    m.quoted = Some(Quoted {
        id: " ".into(),
        participant: None,
        text: None,
    });
    assert_eq!(m.validate().unwrap_err().field, "quoted.id");
}

#[test]
fn messages_roundtrip_through_json() {
    let m = msg(poll(&["a", "b"], 1));
    let back: OutboundMessage = serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
    assert_eq!(back, m);
    assert_eq!(m.kind(), "poll");
}
