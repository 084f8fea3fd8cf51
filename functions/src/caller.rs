//! Who is calling: the key the auth middleware found ([`Caller`], an extractor), and what that
//! key may see — admins every session, users only their own.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use wagate_core::{KeyId, Role, Session, SessionId};

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

/// The session named by a request, if the caller may use it. Others' sessions and invalid
/// ids are both "not found": a user learns nothing about sessions that are not theirs.
pub async fn load_session(state: &AppState, caller: &Caller, raw_id: &str) -> ApiResult<Session> {
    let id = SessionId::parse(raw_id).map_err(|_| ApiError::session_not_found(raw_id))?;
    match state.store.get_session(&id).await? {
        Some(s) if caller.can_see(&s) => Ok(s),
        _ => Err(ApiError::session_not_found(raw_id)),
    }
}
