//! Wall-clock helpers. wagate counts time in milliseconds since the Unix epoch; the few
//! timestamps kept in seconds, as WhatsApp counts them, are named `*_secs`.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
