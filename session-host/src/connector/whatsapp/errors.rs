//! Which failures are worth retrying. A permanent failure (not on WhatsApp, media too large,
//! logged out, a request WhatsApp refuses) sends the job straight to `failed`; a transient one
//! (connection down, timeout, server error, rate limit) is retried by the worker.

use wagate_core::{MediaCaps, MediaKind};
use whatsapp_rust::IqError;
use whatsapp_rust::SendError as WaSendError;
use whatsapp_rust::client::ClientError;

use crate::connector::SendError;

/// The error of a send to a number that has no WhatsApp account.
pub const NOT_ON_WHATSAPP: &str = "not on WhatsApp";

/// The error of a send from a session whose device was unlinked.
pub const LOGGED_OUT: &str = "logged out";

/// Classifies a failed send. `logged_out` is whether the connection has seen the device
/// unlinked: only then is "not logged in" final, since the client also says so for the few
/// seconds of a reconnect.
pub fn classify_send(err: &WaSendError, logged_out: bool) -> SendError {
    let text = err.to_string();
    match err {
        WaSendError::InvalidRequest(_) => SendError::Permanent(text),
        WaSendError::NotLoggedIn if logged_out => SendError::Permanent(LOGGED_OUT.into()),
        WaSendError::NotLoggedIn => SendError::Transient(text),
        WaSendError::Iq(iq) => classify_iq(iq, text),
        WaSendError::Client(ClientError::Iq(iq)) => classify_iq(iq, text),
        WaSendError::Client(ClientError::NotLoggedIn) if logged_out => {
            SendError::Permanent(LOGGED_OUT.into())
        }
        _ => SendError::Transient(text),
    }
}

/// A server error code: 4xx is the request's fault (forbidden, not found, not acceptable)
/// except a timeout (408) and a rate limit (429); everything else may pass later.
fn classify_iq(iq: &IqError, text: String) -> SendError {
    match iq {
        IqError::ServerError { code, .. } if is_permanent_code(*code) => SendError::Permanent(text),
        _ => SendError::Transient(text),
    }
}

/// Whether a WhatsApp error code means the same request will fail again.
pub fn is_permanent_code(code: u16) -> bool {
    (400..500).contains(&code) && !matches!(code, 408 | 429)
}

/// A media file above the cap for its kind fails before it is uploaded.
pub fn check_media_size(caps: &MediaCaps, kind: MediaKind, len: u64) -> Result<(), SendError> {
    let max = caps.max_bytes(kind);
    if len > max {
        Err(SendError::Permanent(format!(
            "media too large: {len} bytes, at most {max} are sent for this kind"
        )))
    } else {
        Ok(())
    }
}

/// A failed media upload: a 413 (too large) or 415 (unsupported type) from the media server
/// is final, anything else (network, 5xx, expired auth) is worth another try.
pub fn classify_upload(err: &anyhow::Error) -> SendError {
    let text = format!("media upload failed: {err:#}");
    let lower = text.to_ascii_lowercase();
    if lower.contains("413") || lower.contains("too large") || lower.contains("415") {
        SendError::Permanent(text)
    } else {
        SendError::Transient(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_requests_are_permanent() {
        let e = WaSendError::InvalidRequest("newsletter JID on the E2E path".into());
        assert!(matches!(classify_send(&e, false), SendError::Permanent(_)));
    }

    #[test]
    fn not_logged_in_is_transient_until_the_device_is_unlinked() {
        assert!(matches!(
            classify_send(&WaSendError::NotLoggedIn, false),
            SendError::Transient(_)
        ));
        assert_eq!(
            classify_send(&WaSendError::NotLoggedIn, true),
            SendError::Permanent(LOGGED_OUT.into())
        );
        assert_eq!(
            classify_send(&WaSendError::Client(ClientError::NotLoggedIn), true),
            SendError::Permanent(LOGGED_OUT.into())
        );
    }

    #[test]
    fn server_errors_split_on_their_code() {
        let iq = |code| {
            WaSendError::Iq(IqError::ServerError {
                code,
                text: "x".into(),
                error_type: None,
                backoff: None,
            })
        };
        for code in [400, 401, 403, 404, 406] {
            assert!(
                matches!(classify_send(&iq(code), false), SendError::Permanent(_)),
                "{code}"
            );
        }
        for code in [408, 429, 500, 503] {
            assert!(
                matches!(classify_send(&iq(code), false), SendError::Transient(_)),
                "{code}"
            );
        }
    }

    #[test]
    fn connection_trouble_is_transient() {
        let cases = [
            WaSendError::Client(ClientError::NotConnected),
            WaSendError::Iq(IqError::Timeout),
            WaSendError::Iq(IqError::NotConnected),
            WaSendError::Internal(anyhow::anyhow!("signal session busy")),
        ];
        for e in cases {
            assert!(
                matches!(classify_send(&e, false), SendError::Transient(_)),
                "{e}"
            );
        }
    }

    #[test]
    fn media_over_the_kind_limit_is_permanent() {
        let caps = MediaCaps::default();
        assert!(check_media_size(&caps, MediaKind::Image, 5 * 1024 * 1024).is_ok());
        assert!(matches!(
            check_media_size(&caps, MediaKind::Image, 5 * 1024 * 1024 + 1),
            Err(SendError::Permanent(m)) if m.starts_with("media too large")
        ));
        assert!(check_media_size(&caps, MediaKind::Document, 100 * 1024 * 1024).is_ok());
        let lowered = MediaCaps { image: 10, ..caps };
        assert!(check_media_size(&lowered, MediaKind::Image, 11).is_err());
    }

    #[test]
    fn uploads_fail_permanently_only_on_size_or_type() {
        assert!(matches!(
            classify_upload(&anyhow::anyhow!("upload failed with status 413")),
            SendError::Permanent(_)
        ));
        assert!(matches!(
            classify_upload(&anyhow::anyhow!("connection reset")),
            SendError::Transient(_)
        ));
    }
}
