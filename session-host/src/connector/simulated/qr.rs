//! What a linking phone sees of a simulated session: QR payloads shaped like WhatsApp Web's,
//! and pairing codes.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use rand::Rng;

/// Characters of a pairing code (WhatsApp leaves out look-alikes such as 0/O and 1/I).
const PAIRING_ALPHABET: &[u8] = b"123456789ABCDEFGHJKLMNPQRSTVWXYZ";

/// The device keys a QR payload carries. They stay the same for one linking attempt; only the
/// server reference rotates.
pub(super) struct QrKeys {
    noise: String,
    identity: String,
    adv_secret: String,
}

impl QrKeys {
    pub(super) fn generate() -> Self {
        let key = || B64.encode(rand::rng().random::<[u8; 32]>());
        Self {
            noise: key(),
            identity: key(),
            adv_secret: key(),
        }
    }

    /// `2@<ref>,<noise key>,<identity key>,<adv secret>`, as WhatsApp Web encodes in its QR.
    pub(super) fn payload(&self) -> String {
        let reference = B64.encode(rand::rng().random::<[u8; 32]>());
        format!(
            "2@{reference},{},{},{}",
            self.noise, self.identity, self.adv_secret
        )
    }
}

pub(super) fn pairing_code() -> String {
    let mut rng = rand::rng();
    let mut pick = || char::from(PAIRING_ALPHABET[rng.random_range(0..PAIRING_ALPHABET.len())]);
    let a: String = (0..4).map(|_| pick()).collect();
    let b: String = (0..4).map(|_| pick()).collect();
    format!("{a}-{b}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qr_payload_has_a_reference_and_three_32_byte_keys() {
        let keys = QrKeys::generate();
        let a = keys.payload();
        let parts: Vec<&str> = a.split(',').collect();
        assert_eq!(parts.len(), 4);
        assert!(parts[0].starts_with("2@"));
        for key in &parts[1..] {
            assert_eq!(B64.decode(key).map(|k| k.len()).ok(), Some(32));
        }
        let b = keys.payload();
        assert_ne!(a, b, "the reference rotates");
        assert_eq!(
            a.split_once(',').map(|x| x.1),
            b.split_once(',').map(|x| x.1)
        );
    }

    #[test]
    fn pairing_codes_are_two_groups_of_four() {
        let code = pairing_code();
        assert_eq!(code.len(), 9);
        assert_eq!(&code[4..5], "-");
        assert!(
            code.bytes()
                .filter(|&b| b != b'-')
                .all(|b| PAIRING_ALPHABET.contains(&b))
        );
    }
}
