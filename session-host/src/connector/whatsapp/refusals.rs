//! WhatsApp refusing or ending a connection on purpose (a temporary ban, another client
//! taking the session over, an outdated client, a refused connect, a logout), named for
//! `wagate_whatsapp_refusals_total`: the events an operator wants counted apart from plain
//! network drops.

use whatsapp_rust::types::events::Event;

/// The refusal `ev` is, if it is one.
pub fn kind(ev: &Event) -> Option<&'static str> {
    match ev {
        Event::TemporaryBan(_) => Some("temporary_ban"),
        Event::StreamReplaced(_) => Some("stream_replaced"),
        Event::ClientOutdated(_) => Some("client_outdated"),
        Event::ConnectFailure(_) => Some("connect_failure"),
        Event::LoggedOut(_) => Some("logged_out"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use whatsapp_rust::types::events as ev;

    use super::*;

    #[test]
    fn bans_takeovers_and_refused_connects_are_refusals_drops_are_not() {
        let ban = Event::TemporaryBan(
            ev::TemporaryBan::builder()
                .code(ev::TempBanReason::SentToTooManyPeople)
                .expire(whatsapp_rust::chrono::TimeDelta::seconds(60))
                .build(),
        );
        let replaced = Event::StreamReplaced(ev::StreamReplaced::builder().build());
        let refused = Event::ConnectFailure(
            ev::ConnectFailure::builder()
                .reason(ev::ConnectFailureReason::ServiceUnavailable)
                .build(),
        );
        assert_eq!(
            [&ban, &replaced, &refused].map(kind),
            [
                Some("temporary_ban"),
                Some("stream_replaced"),
                Some("connect_failure")
            ]
        );
        assert_eq!(
            kind(&Event::Connected(ev::Connected::builder().build())),
            None
        );
    }
}
