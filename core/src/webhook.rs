//! Webhook signing and delivery. The signature is exactly what the seed's Laravel middleware
//! checks: `X-Webhook-Signature: hex(HMAC-SHA256(raw body, secret))`.

use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::Event;

pub const SIGNATURE_HEADER: &str = "X-Webhook-Signature";
pub const EVENT_ID_HEADER: &str = "X-Webhook-Id";
pub const EVENT_HEADER: &str = "X-Webhook-Event";
/// On a job's events: the `X-Request-Id` of the API call that accepted the job.
pub const REQUEST_ID_HEADER: &str = "X-Request-Id";

/// hex(HMAC-SHA256(body, secret)).
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// Constant-time check of a received signature (what a receiver does).
pub fn verify(secret: &str, body: &[u8], signature_hex: &str) -> bool {
    let Ok(sig) = hex::decode(signature_hex.trim()) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(body);
    mac.verify_slice(&sig).is_ok()
}

/// Where an event goes.
#[derive(Clone, PartialEq, Eq)]
pub struct Target {
    pub url: String,
    /// Without a secret the request carries no signature header.
    pub secret: Option<String>,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// Why a delivery failed. Every failure is retried until the attempts run out.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("webhook answered HTTP {0}")]
    Status(u16),
    #[error("webhook request failed: {0}")]
    Request(String),
}

/// POSTs one event. 2xx is success; anything else is an error to retry.
pub async fn deliver(
    client: &reqwest::Client,
    target: &Target,
    event: &Event,
) -> Result<(), DeliveryError> {
    let body = event.webhook_body();
    let mut req = client
        .post(&target.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(EVENT_ID_HEADER, event.id.as_str())
        .header(EVENT_HEADER, event.kind.as_str());
    if let Some(secret) = &target.secret {
        req = req.header(SIGNATURE_HEADER, sign(secret, &body));
    }
    if let Some(id) = &event.request_id {
        req = req.header(REQUEST_ID_HEADER, id);
    }
    let resp = req
        .body(body)
        .send()
        .await
        .map_err(|e| DeliveryError::Request(e.without_url().to_string()))?;
    if resp.status().is_success() {
        Ok(())
    } else {
        Err(DeliveryError::Status(resp.status().as_u16()))
    }
}

/// The HTTP client webhook deliveries share.
pub fn client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .user_agent(concat!("wagate/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_a_known_hmac_sha256_vector() {
        // RFC 4231 test case 2.
        assert_eq!(
            sign("Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn verify_accepts_only_the_right_signature() {
        let body = br#"{"event":"qr"}"#;
        let sig = sign("s3cret", body);
        assert!(verify("s3cret", body, &sig));
        assert!(!verify("other", body, &sig));
        assert!(!verify("s3cret", b"{}", &sig));
        assert!(!verify("s3cret", body, "zz"));
    }
}
