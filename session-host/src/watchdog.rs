//! The watchdog for silent sessions. A socket can die without closing: the session still
//! looks `open`, sends wait, nothing comes in (gateways built on WhatsApp Web know it as
//! "WORKING but no events"). Every connection reports when it last heard from WhatsApp
//! (`Connection::last_traffic_ms`: any frame, keepalive answers included, which whatsapp-rust
//! asks for every 15–30 s when idle); the runner checks an open session every quarter of
//! `SESSION_STALE_MS` and reconnects it once it has been silent that long, with a
//! `session_stale` event, the `wagate_session_stale_total` counter and `stale` as the cause of
//! its last disconnect. A check reads a timestamp: nothing is sent, nothing polls the network.

use std::time::Duration;

/// How often an open session is checked, for a threshold of `stale_after`.
pub fn check_every(stale_after: Duration) -> Duration {
    (stale_after / 4).max(Duration::from_millis(250))
}

/// How long the connection has been silent, if that is past `stale_after` (0: the watchdog
/// is off). A connection that does not report its traffic is never stale.
pub fn silent_for(
    last_traffic_ms: Option<i64>,
    stale_after: Duration,
    now_ms: i64,
) -> Option<Duration> {
    if stale_after.is_zero() {
        return None;
    }
    let silent = u64::try_from(now_ms.saturating_sub(last_traffic_ms?)).unwrap_or(0);
    let silent = Duration::from_millis(silent);
    (silent >= stale_after).then_some(silent)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(60);

    #[test]
    fn stale_only_past_the_threshold() {
        let now = 1_000_000_000;
        assert_eq!(silent_for(Some(now - 59_999), MIN, now), None);
        assert_eq!(silent_for(Some(now - 60_000), MIN, now), Some(MIN));
        assert_eq!(
            silent_for(Some(now - 90_000), MIN, now),
            Some(Duration::from_secs(90))
        );
    }

    #[test]
    fn unknown_traffic_off_and_clock_skew_are_never_stale() {
        let now = 1_000_000_000;
        assert_eq!(silent_for(None, MIN, now), None);
        assert_eq!(silent_for(Some(0), Duration::ZERO, now), None);
        // A timestamp ahead of this clock (another machine's) is not silence.
        assert_eq!(silent_for(Some(now + 5_000), MIN, now), None);
    }

    #[test]
    fn checks_four_times_per_threshold_but_not_in_a_busy_loop() {
        assert_eq!(
            check_every(Duration::from_secs(120)),
            Duration::from_secs(30)
        );
        assert_eq!(
            check_every(Duration::from_millis(100)),
            Duration::from_millis(250)
        );
    }
}
