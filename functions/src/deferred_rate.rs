//! A send's hit on its key's rate limit, counted in the intake's transaction instead of by
//! the auth middleware before the handler: one trip to the store per accepted message instead
//! of two. Only the JSON message routes that fetch and store nothing defer it ([`defers`]): a
//! client over its limit must not get media fetched or uploads stored before its refusal.
//! Nor do requests with an `Idempotency-Key`, whose claim is written before the intake. A
//! request that ends before the intake (a bad body) is counted by the middleware after its
//! handler, so every request still counts once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use axum::http::{HeaderMap, Method};
use wagate_core::policy::{Charge, LimitStatus};

/// The message routes (under `/api`) whose requests leave their rate hit to the intake.
const DEFERRING: &[&str] = &[
    "/messages/text",
    "/messages/location",
    "/messages/poll",
    "/messages/vcard",
    "/messages/contact",
    "/messages/list",
];

/// Whether a request to `path` (with or without the `/api` prefix) leaves its rate hit to
/// the intake. Not with an `Idempotency-Key`: a client over its limit must not get the key's
/// claim written (kept a day) before its refusal.
pub fn defers(method: &Method, path: &str, headers: &HeaderMap) -> bool {
    let path = path.strip_prefix("/api").unwrap_or(path);
    method == Method::POST
        && DEFERRING.contains(&path)
        && !headers.contains_key(crate::send::IDEMPOTENCY_HEADER)
}

/// One request's rate hit, waiting for the acceptance that takes it.
#[derive(Debug)]
pub struct DeferredRate {
    charge: Charge,
    claimed: AtomicBool,
    status: OnceLock<LimitStatus>,
}

/// What became of a [`DeferredRate`] once its handler is done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settled {
    /// The intake charged it: its status.
    Charged(LimitStatus),
    /// Taken by an acceptance that failed before its answer (a store error): unknown.
    Unknown,
    /// Never taken: the middleware charges it.
    Unclaimed,
}

impl DeferredRate {
    pub fn new(charge: Charge) -> Arc<Self> {
        Arc::new(Self {
            charge,
            claimed: AtomicBool::new(false),
            status: OnceLock::new(),
        })
    }

    /// The charge, for the first acceptance that asks (a request is one hit however many
    /// acceptances it makes).
    pub fn claim(&self) -> Option<Charge> {
        (!self.claimed.swap(true, Ordering::AcqRel)).then(|| self.charge.clone())
    }

    /// The status the intake answered for the charge.
    pub fn settle(&self, status: LimitStatus) {
        let _ = self.status.set(status);
    }

    pub fn settled(&self) -> Settled {
        match self.status.get() {
            Some(st) => Settled::Charged(*st),
            None if self.claimed.load(Ordering::Acquire) => Settled::Unknown,
            None => Settled::Unclaimed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn charge() -> Charge {
        Charge {
            key: "rl:k".into(),
            limit: 5,
            window_ms: 60_000,
            n: 1,
        }
    }

    #[test]
    fn only_the_listed_posts_defer() {
        let none = HeaderMap::new();
        assert!(defers(&Method::POST, "/api/messages/text", &none));
        assert!(defers(&Method::POST, "/messages/poll", &none));
        assert!(!defers(&Method::GET, "/api/messages/text", &none));
        // Media is fetched or stored before the intake: counted first.
        assert!(!defers(&Method::POST, "/api/messages/media", &none));
        assert!(!defers(&Method::POST, "/api/messages/sticker", &none));
        assert!(!defers(&Method::POST, "/api/messages/text/extra", &none));
        // An idempotency claim is written before the intake: counted first.
        let mut idem = HeaderMap::new();
        idem.insert("idempotency-key", "order-1".parse().unwrap());
        assert!(!defers(&Method::POST, "/api/messages/text", &idem));
    }

    #[test]
    fn the_charge_goes_to_the_first_claim_only() {
        let d = DeferredRate::new(charge());
        assert_eq!(d.settled(), Settled::Unclaimed);
        assert_eq!(d.claim(), Some(charge()));
        assert_eq!(d.claim(), None);
        assert_eq!(d.settled(), Settled::Unknown);
        let st = LimitStatus {
            allowed: true,
            limit: 5,
            remaining: 4,
            reset_at_ms: 1,
        };
        d.settle(st);
        assert_eq!(d.settled(), Settled::Charged(st));
    }
}
