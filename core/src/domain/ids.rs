//! Identifiers: session ids chosen by clients (validated), and ids wagate makes itself.

use std::fmt;

use rand::Rng;
use rand::distr::Alphanumeric;
use serde::{Deserialize, Serialize};

use super::ValidationError;

/// A random alphanumeric token of `len` characters.
pub fn random_token(len: usize) -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

/// The current Unix time in milliseconds as 8 base-62 digits (`0-9A-Za-z`, in ASCII order, so
/// the fixed-width text sorts as the number does for the next 6,000 years), then 12 random
/// letters and digits (71 bits): as long as the random ids before it.
fn time_ordered_token() -> String {
    const DIGITS: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut ms = u64::try_from(crate::clock::now_ms()).unwrap_or(0);
    let mut time = [b'0'; 8];
    for digit in time.iter_mut().rev() {
        *digit = DIGITS[(ms % 62) as usize];
        ms /= 62;
    }
    let mut out = String::with_capacity(20);
    out.extend(time.iter().map(|&b| char::from(b)));
    out.push_str(&random_token(12));
    out
}

/// A WhatsApp message id in the form WhatsApp Web uses (`3EB0` + 16 upper-case hex digits).
/// It is fixed when a job is accepted so a redelivered job is the same message.
pub fn wa_message_id() -> String {
    let n: u64 = rand::rng().random();
    format!("3EB0{n:016X}")
}

/// A session id: 1–64 characters of `[A-Za-z0-9_-]`. It names queues, blobs and store keys,
/// hence the narrow charset.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SessionId(String);

impl SessionId {
    pub const MAX_LEN: usize = 64;

    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(ValidationError::new("sessionId", "must not be empty"));
        }
        if s.len() > Self::MAX_LEN {
            return Err(ValidationError::new(
                "sessionId",
                format!("must be at most {} characters", Self::MAX_LEN),
            ));
        }
        if !s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(ValidationError::new(
                "sessionId",
                "may contain only letters, digits, '-' and '_'",
            ));
        }
        Ok(Self(s.to_owned()))
    }

    /// A fresh id for a session created without one.
    pub fn generate() -> Self {
        Self(format!("s-{}", random_token(12).to_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for SessionId {
    type Error = ValidationError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<SessionId> for String {
    fn from(id: SessionId) -> Self {
        id.0
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

macro_rules! generated_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The prefix, the time (so ids made one after the other sort together: a batch
            /// of them writes a few index pages, not one page each) and 16 random characters.
            pub fn generate() -> Self {
                Self(format!("{}{}", $prefix, time_ordered_token()))
            }
            /// Wraps an id read back from storage or a URL path (not checked: an unknown id
            /// simply finds nothing).
            pub fn from_string(s: impl Into<String>) -> Self {
                Self(s.into())
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

generated_id!(
    /// The id of one accepted send (`msg_…`), returned by the API with 202.
    JobId,
    "msg_"
);
generated_id!(
    /// The id of one event; webhook receivers dedup on it (`X-Webhook-Id`).
    EventId,
    "evt_"
);
generated_id!(
    /// The id of an API key record, derived from its hash; it owns the sessions the key creates.
    KeyId,
    "key_"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_id_accepts_the_documented_charset() {
        assert_eq!(SessionId::parse("shop_1-A").unwrap().as_str(), "shop_1-A");
        assert_eq!(SessionId::parse("  padded ").unwrap().as_str(), "padded");
    }

    #[test]
    fn session_id_rejects_empty_long_and_odd_characters() {
        assert!(SessionId::parse("").is_err());
        assert!(SessionId::parse(&"a".repeat(65)).is_err());
        assert!(SessionId::parse(&"a".repeat(64)).is_ok());
        for bad in ["a b", "a/b", "../x", "é", "a.b"] {
            assert!(SessionId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn generated_ids_sort_by_creation_time() {
        let a = JobId::generate();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = JobId::generate();
        assert!(a < b, "{a} then {b}");
        assert_eq!(a.as_str().len(), "msg_".len() + 20);
        let ms = a.as_str()[4..12].bytes().fold(0i64, |n, c| {
            let d = match c {
                b'0'..=b'9' => c - b'0',
                b'A'..=b'Z' => c - b'A' + 10,
                _ => c - b'a' + 36,
            };
            n * 62 + i64::from(d)
        });
        assert!((crate::clock::now_ms() - ms).abs() < 60_000, "{a}");
    }

    #[test]
    fn generated_ids_are_valid_and_distinct() {
        let a = SessionId::generate();
        let b = SessionId::generate();
        assert_ne!(a, b);
        assert!(SessionId::parse(a.as_str()).is_ok());
        assert!(JobId::generate().as_str().starts_with("msg_"));
    }

    #[test]
    fn wa_message_ids_look_like_whatsapp_web_ids() {
        let id = wa_message_id();
        assert_eq!(id.len(), 20);
        assert!(id.starts_with("3EB0"));
        assert!(
            id[4..]
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_lowercase())
        );
        assert_ne!(id, wa_message_id());
    }
}
