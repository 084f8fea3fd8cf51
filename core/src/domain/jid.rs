//! Recipients: phone numbers and WhatsApp JIDs, normalised the way the seed server did
//! (`628…` → `628…@s.whatsapp.net`, group and special JIDs kept as they are).

use std::fmt;

use serde::{Deserialize, Serialize};

use super::ValidationError;

/// What kind of chat a JID names. Newsletters, broadcasts and status never reach webhooks or
/// the auto-reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JidKind {
    User,
    Lid,
    Group,
    Newsletter,
    Broadcast,
    Status,
}

/// A WhatsApp address, `user@server`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Jid(String);

const USER_SERVER: &str = "s.whatsapp.net";

/// Strips the punctuation people type into phone numbers (`+62 812-3456 7890`) and checks what
/// is left is an international number: 7–15 digits (E.164), not starting with 0.
pub fn normalize_phone(input: &str, field: &'static str) -> Result<String, ValidationError> {
    let digits: String = input
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '+' | '(' | ')' | '.'))
        .collect();
    if digits.is_empty() {
        return Err(ValidationError::new(field, "must not be empty"));
    }
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ValidationError::new(
            field,
            format!("'{input}' is not a phone number or WhatsApp JID"),
        ));
    }
    if digits.starts_with('0') {
        return Err(ValidationError::new(
            field,
            "use the international format with the country code (628123456789, not 08123456789)",
        ));
    }
    if !(7..=15).contains(&digits.len()) {
        return Err(ValidationError::new(
            field,
            "a phone number has 7 to 15 digits including the country code",
        ));
    }
    Ok(digits)
}

impl Jid {
    /// Parses what a client puts in `to`: a phone number, or a JID with a known server.
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        Self::parse_field(input, "to")
    }

    /// As [`Jid::parse`], naming `field` in the error.
    pub fn parse_field(input: &str, field: &'static str) -> Result<Self, ValidationError> {
        let input = input.trim();
        let Some((user, server)) = input.split_once('@') else {
            let digits = normalize_phone(input, field)?;
            return Ok(Self(format!("{digits}@{USER_SERVER}")));
        };
        // A device suffix (`628…:12@s.whatsapp.net`) addresses the account, not the device.
        let user = user.split(':').next().unwrap_or(user);
        let bad = || ValidationError::new(field, format!("'{input}' is not a valid WhatsApp JID"));
        match server {
            "s.whatsapp.net" | "c.us" => {
                let digits = normalize_phone(user, field)?;
                Ok(Self(format!("{digits}@{USER_SERVER}")))
            }
            "g.us" => {
                let ok = !user.is_empty()
                    && user.len() <= 64
                    && user.bytes().all(|b| b.is_ascii_digit() || b == b'-');
                if ok {
                    Ok(Self(format!("{user}@g.us")))
                } else {
                    Err(bad())
                }
            }
            "lid" | "newsletter" => {
                if !user.is_empty() && user.len() <= 64 && user.bytes().all(|b| b.is_ascii_digit())
                {
                    Ok(Self(format!("{user}@{server}")))
                } else {
                    Err(bad())
                }
            }
            "broadcast" => {
                let ok = !user.is_empty()
                    && user.len() <= 64
                    && user.bytes().all(|b| b.is_ascii_alphanumeric());
                if ok {
                    Ok(Self(format!("{user}@broadcast")))
                } else {
                    Err(bad())
                }
            }
            _ => Err(bad()),
        }
    }

    pub fn kind(&self) -> JidKind {
        match self.server() {
            "g.us" => JidKind::Group,
            "lid" => JidKind::Lid,
            "newsletter" => JidKind::Newsletter,
            "broadcast" if self.user() == "status" => JidKind::Status,
            "broadcast" => JidKind::Broadcast,
            _ => JidKind::User,
        }
    }

    /// Newsletter, broadcast-list and status chats: never forwarded to webhooks, never
    /// auto-replied to.
    pub fn is_broadcast_like(&self) -> bool {
        matches!(
            self.kind(),
            JidKind::Newsletter | JidKind::Broadcast | JidKind::Status
        )
    }

    pub fn user(&self) -> &str {
        self.0.split_once('@').map_or(&self.0, |(u, _)| u)
    }

    pub fn server(&self) -> &str {
        self.0.split_once('@').map_or("", |(_, s)| s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Jid {
    type Error = ValidationError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<Jid> for String {
    fn from(j: Jid) -> Self {
        j.0
    }
}

impl fmt::Display for Jid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers_become_user_jids() {
        assert_eq!(
            Jid::parse("6281234567890").unwrap().as_str(),
            "6281234567890@s.whatsapp.net"
        );
        assert_eq!(
            Jid::parse("+62 812-3456-7890").unwrap().as_str(),
            "6281234567890@s.whatsapp.net"
        );
        assert_eq!(
            Jid::parse("(1) 415 555 0100").unwrap().as_str(),
            "14155550100@s.whatsapp.net"
        );
    }

    #[test]
    fn user_jids_are_canonicalised() {
        assert_eq!(
            Jid::parse("628123456789@s.whatsapp.net").unwrap().as_str(),
            "628123456789@s.whatsapp.net"
        );
        assert_eq!(
            Jid::parse("628123456789@c.us").unwrap().as_str(),
            "628123456789@s.whatsapp.net"
        );
        assert_eq!(
            Jid::parse("628123456789:7@s.whatsapp.net")
                .unwrap()
                .as_str(),
            "628123456789@s.whatsapp.net"
        );
    }

    #[test]
    fn group_and_special_jids_are_kept() {
        let g = Jid::parse("120363025246125244@g.us").unwrap();
        assert_eq!(g.kind(), JidKind::Group);
        let legacy = Jid::parse("6281234567890-1600000000@g.us").unwrap();
        assert_eq!(legacy.as_str(), "6281234567890-1600000000@g.us");
        assert_eq!(
            Jid::parse("120363123456789@newsletter").unwrap().kind(),
            JidKind::Newsletter
        );
        assert_eq!(
            Jid::parse("status@broadcast").unwrap().kind(),
            JidKind::Status
        );
        assert_eq!(
            Jid::parse("1234567@broadcast").unwrap().kind(),
            JidKind::Broadcast
        );
        assert_eq!(
            Jid::parse("123456789012345@lid").unwrap().kind(),
            JidKind::Lid
        );
    }

    #[test]
    fn broadcast_like_covers_newsletter_broadcast_and_status_only() {
        for j in ["1@newsletter", "status@broadcast", "99@broadcast"] {
            assert!(Jid::parse(j).unwrap().is_broadcast_like(), "{j}");
        }
        for j in ["6281234567@s.whatsapp.net", "1203630@g.us", "12345678@lid"] {
            assert!(!Jid::parse(j).unwrap().is_broadcast_like(), "{j}");
        }
    }

    #[test]
    fn bad_recipients_are_refused_with_the_field_named() {
        for bad in [
            "",
            "abc",
            "08123456789",
            "123",
            "1234567890123456",
            "62812@example.com",
            "@g.us",
            "x@g.us",
            "62a@s.whatsapp.net",
        ] {
            let err = Jid::parse(bad).unwrap_err();
            assert_eq!(err.field, "to", "{bad}");
        }
        assert!(
            Jid::parse("08123456789")
                .unwrap_err()
                .message
                .contains("international")
        );
    }
}
