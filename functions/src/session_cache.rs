//! Sessions as the send path last read them, so an accepted message costs one trip to the
//! store (the intake) instead of two. Only used where the intake checks the session in its
//! own transaction (`Intake::checks_sessions`): a session deleted, created anew or logged out
//! since it was cached is refused there, so a stale entry can cost a moment of freshness but
//! never a send to the wrong session. What the send path takes from the session before the
//! intake (its id, its owner, its status) is exactly what that check covers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wagate_core::{Session, SessionId};

/// How long a read session is used before it is read again.
const TTL: Duration = Duration::from_secs(2);
/// Most sessions held; a full cache starts over.
const MAX: usize = 10_000;

#[derive(Debug, Default)]
pub struct SessionCache {
    map: Mutex<HashMap<SessionId, (Arc<Session>, Instant)>>,
}

impl SessionCache {
    pub fn get(&self, id: &SessionId) -> Option<Arc<Session>> {
        let map = self.map.lock().ok()?;
        map.get(id)
            .filter(|(_, at)| at.elapsed() < TTL)
            .map(|(s, _)| s.clone())
    }

    pub fn put(&self, session: Arc<Session>) {
        if let Ok(mut map) = self.map.lock() {
            if map.len() >= MAX {
                map.retain(|_, (_, at)| at.elapsed() < TTL);
                if map.len() >= MAX {
                    map.clear();
                }
            }
            map.insert(session.id.clone(), (session, Instant::now()));
        }
    }

    /// Drops a session changed or deleted through this process.
    pub fn forget(&self, id: &SessionId) {
        if let Ok(mut map) = self.map.lock() {
            map.remove(id);
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.map.lock().map(|m| m.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wagate_core::KeyId;

    fn session(id: &str) -> Arc<Session> {
        Arc::new(Session::new(
            SessionId::parse(id).unwrap(),
            KeyId::from_string("key_a"),
            1,
        ))
    }

    #[test]
    fn holds_what_was_put_until_forgotten() {
        let cache = SessionCache::default();
        let id = SessionId::parse("s1").unwrap();
        assert!(cache.get(&id).is_none());
        cache.put(session("s1"));
        assert_eq!(cache.get(&id).map(|s| s.id.clone()), Some(id.clone()));
        cache.forget(&id);
        assert!(cache.get(&id).is_none());
    }

    #[test]
    fn is_bounded() {
        let cache = SessionCache::default();
        for i in 0..=MAX {
            cache.put(session(&format!("s{i}")));
        }
        assert!(cache.len() <= MAX);
        assert!(
            cache
                .get(&SessionId::parse(&format!("s{MAX}")).unwrap())
                .is_some()
        );
    }
}
