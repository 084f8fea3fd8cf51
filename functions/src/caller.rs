//! Who is calling: the key the auth middleware found ([`Caller`], an extractor), and what that
//! key may see — admins every session, users only their own.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use wagate_core::{KeyId, Role, Session, SessionId, SessionStatus};

use crate::deferred_rate::DeferredRate;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The authenticated key behind a request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub key_id: KeyId,
    pub role: Role,
    /// The request's `X-Request-Id` (ours, or the client's when it is a sane one): a job
    /// carries it to the worker's log lines and to its `message_sent` / `message_failed`
    /// webhook.
    pub request_id: Option<String>,
    /// The request's rate hit, when the send path charges it (see `deferred_rate`).
    pub rate: Option<Arc<DeferredRate>>,
}

impl Caller {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Admins reach every session; users only their own.
    pub fn can_see(&self, session: &Session) -> bool {
        self.is_admin() || session.owner == self.key_id
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| ApiError::internal("Caller extracted on a route without auth"))
    }
}

/// [`load_session`] for a send: from the cache of sessions when the intake checks the session
/// again in its own transaction (see `session_cache`).
pub async fn load_session_to_send(
    state: &AppState,
    caller: &Caller,
    raw_id: &str,
) -> ApiResult<Arc<Session>> {
    if !state.intake.checks_sessions() {
        return load_session(state, caller, raw_id).await.map(Arc::new);
    }
    let cached = SessionId::parse(raw_id)
        .ok()
        .and_then(|id| state.sessions.get(&id))
        .filter(|s| caller.can_see(s));
    if let Some(s) = cached {
        return Ok(s);
    }
    let s = Arc::new(load_session(state, caller, raw_id).await?);
    // A logged-out session is refused before the intake: not kept, so that linking it again
    // takes effect at once.
    if s.status != SessionStatus::LoggedOut {
        state.sessions.put(s.clone());
    }
    Ok(s)
}

/// The session named by a request, if the caller may use it. Others' sessions and invalid
/// ids are both "not found": a user learns nothing about sessions that are not theirs.
pub async fn load_session(state: &AppState, caller: &Caller, raw_id: &str) -> ApiResult<Session> {
    let id = SessionId::parse(raw_id).map_err(|_| ApiError::session_not_found(raw_id))?;
    match state.store.get_session(&id).await? {
        Some(s) if caller.can_see(&s) => Ok(s),
        _ => Err(ApiError::session_not_found(raw_id)),
    }
}
