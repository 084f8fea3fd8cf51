//! Exponential backoff with full jitter, for everything that tries again: webhook deliveries,
//! send retries and reconnects.

use std::time::Duration;

/// 500 ms doubling per attempt, capped at 60 s, with full jitter (a random point in the upper
/// half), so many clients failing together do not retry together.
pub fn backoff(attempt: u32) -> Duration {
    use rand::Rng;
    let cap = 500u64.saturating_mul(1u64 << attempt.min(7)).min(60_000);
    Duration::from_millis(rand::rng().random_range(cap / 2..=cap))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        for attempt in 0..20 {
            let d = backoff(attempt).as_millis() as u64;
            let cap = (500u64 << attempt.min(7)).min(60_000);
            assert!(d >= cap / 2 && d <= cap, "attempt {attempt}: {d}");
        }
        assert!(backoff(30) <= Duration::from_secs(60));
    }
}
