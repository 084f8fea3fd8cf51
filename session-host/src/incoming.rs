//! What happens to a received message: dropped (newsletters, broadcasts, status), answered by
//! the ping → pong auto-reply, or forwarded as `message_received` (the account's own messages
//! too, marked `fromMe`: the dispatcher delivers those only to sessions that ask).

use crate::connector::IncomingMessage;

/// The fate of one incoming message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// Never reaches a webhook or the auto-reply.
    Ignore(&'static str),
    /// Answered with `pong` in the same chat; no `message_received`.
    Pong,
    /// Becomes a `message_received` event.
    Forward,
}

/// Decides what to do with `m`. `autoreply` is `AUTOREPLY_PING_PONG`.
pub fn classify(m: &IncomingMessage, autoreply: bool) -> Disposition {
    if m.chat.is_broadcast_like() || m.from.is_broadcast_like() {
        return Disposition::Ignore("newsletter, broadcast or status");
    }
    if m.from_me {
        // Sent from the account's phone: never answered; delivered when the session asks.
        return Disposition::Forward;
    }
    let is_ping = m.kind() == "text"
        && m.text()
            .is_some_and(|t| t.trim().eq_ignore_ascii_case("ping"));
    if autoreply && is_ping {
        Disposition::Pong
    } else {
        Disposition::Forward
    }
}

#[cfg(test)]
mod tests {
    use wagate_core::{InboundContent, Jid};

    use super::*;

    fn msg(from: &str, chat: &str, text: &str, from_me: bool) -> IncomingMessage {
        let j = |s: &str| Jid::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"));
        IncomingMessage {
            id: "3EB0AA".into(),
            from: j(from),
            sender_lid: None,
            chat: j(chat),
            from_me,
            push_name: None,
            content: InboundContent::Text {
                text: text.into(),
                mentions: vec![],
            },
            quoted_id: None,
            raw: None,
            media_handle: None,
            timestamp_secs: 1,
        }
    }

    #[test]
    fn ping_in_any_case_and_padding_gets_a_pong() {
        for text in ["ping", " PING ", "Ping\n"] {
            let m = msg("6281234567", "6281234567", text, false);
            assert_eq!(classify(&m, true), Disposition::Pong, "{text:?}");
        }
        let group = msg("6281234567", "120363025246125244@g.us", "ping", false);
        assert_eq!(classify(&group, true), Disposition::Pong);
    }

    #[test]
    fn ping_is_forwarded_when_the_autoreply_is_off_and_other_text_always() {
        let m = msg("6281234567", "6281234567", "ping", false);
        assert_eq!(classify(&m, false), Disposition::Forward);
        let m = msg("6281234567", "6281234567", "ping me", false);
        assert_eq!(classify(&m, true), Disposition::Forward);
        // Only a text says ping: a photo captioned "ping" is a photo.
        let mut photo = msg("6281234567", "6281234567", "", false);
        photo.content = InboundContent::Media(wagate_core::InboundMedia {
            caption: Some("ping".into()),
            ..wagate_core::InboundMedia::of(wagate_core::InboundMediaKind::Image)
        });
        assert_eq!(classify(&photo, true), Disposition::Forward);
    }

    #[test]
    fn own_messages_are_forwarded_never_answered() {
        let own = msg("6281234567", "6281234567", "ping", true);
        assert_eq!(classify(&own, true), Disposition::Forward);
    }

    #[test]
    fn newsletter_broadcast_and_status_are_ignored() {
        let cases = [
            msg("6281234567", "120363123456789@newsletter", "ping", false),
            msg("6281234567", "status@broadcast", "ping", false),
            msg("6281234567", "1234567@broadcast", "hello", false),
        ];
        for m in cases {
            assert!(
                matches!(classify(&m, true), Disposition::Ignore(_)),
                "{}",
                m.chat
            );
        }
    }
}
