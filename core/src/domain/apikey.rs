//! API keys: what a client sends in `X-API-Key`, and the hashed record wagate keeps of it.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::KeyId;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    User,
}

/// A key as presented by a client. Never printed.
#[derive(Clone)]
pub struct ApiKey(String);

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

impl ApiKey {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// A new random key (`wg_` + 40 alphanumerics, ~238 bits).
    pub fn generate() -> Self {
        Self(format!("wg_{}", super::random_token(40)))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> KeyHash {
        KeyHash(Sha256::digest(self.0.as_bytes()).into())
    }
}

/// SHA-256 of a key. Keys are long random strings, so a fast hash is enough: there is
/// nothing to brute-force, and a lookup by hash never compares the secret itself.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyHash([u8; 32]);

impl fmt::Debug for KeyHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyHash({}…)", &self.to_hex()[..8])
    }
}

impl KeyHash {
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    pub fn from_hex(s: &str) -> Option<Self> {
        let bytes = hex::decode(s).ok()?;
        Some(Self(bytes.try_into().ok()?))
    }

    /// Constant-time equality, for when a hash is compared rather than looked up.
    pub fn ct_eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }

    /// The public id of the key: stable, short, reveals nothing usable.
    pub fn key_id(&self) -> KeyId {
        KeyId::from_string(format!("key_{}", &self.to_hex()[..16]))
    }
}

/// What the store keeps of a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    pub id: KeyId,
    pub hash: KeyHash,
    pub role: Role,
    pub label: String,
    pub created_at: i64,
}

impl ApiKeyRecord {
    pub fn new(key: &ApiKey, role: Role, label: impl Into<String>, now_ms: i64) -> Self {
        let hash = key.hash();
        Self {
            id: hash.key_id(),
            hash,
            role,
            label: label.into(),
            created_at: now_ms,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_hash_stably_and_never_print() {
        let k = ApiKey::new("secret-key");
        assert_eq!(k.hash(), ApiKey::new("secret-key").hash());
        assert_ne!(k.hash(), ApiKey::new("secret-kez").hash());
        assert!(!format!("{k:?}").contains("secret"));
        let h = k.hash();
        assert_eq!(KeyHash::from_hex(&h.to_hex()), Some(h));
        assert!(h.ct_eq(&ApiKey::new("secret-key").hash()));
        assert!(h.key_id().as_str().starts_with("key_"));
    }
}
