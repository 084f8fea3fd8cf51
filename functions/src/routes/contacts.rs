//! Contacts: `POST /api/contacts/check` (which numbers are on WhatsApp, answers cached by the
//! host), `GET /api/contacts/:phone/profile` (about text, picture, business name),
//! `GET /api/contacts/:phone/business` (a business's profile), `GET /api/contacts/blocklist`,
//! and `POST /api/contacts/:phone/block` / `unblock` (actions, queued like sends). Questions go
//! through the query path (`queries`), changes through the action path (`crate::action`).

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use wagate_core::{Action, Jid, MAX_NUMBERS_PER_CHECK, SessionQuery, normalize_phone};

use super::body::Loose;
use super::queries::{self, SessionParam};
use crate::action::Acting;
use crate::caller::{Caller, load_session};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Query};
use crate::state::AppState;

pub fn contacts() -> Router<AppState> {
    Router::new()
        .route("/check", post(check))
        .route("/blocklist", get(blocklist))
        .route("/{phone}/profile", get(profile))
        .route("/{phone}/business", get(business))
        .route("/{phone}/block", post(block))
        .route("/{phone}/unblock", post(unblock))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CheckBody {
    session_id: String,
    numbers: Vec<Loose>,
}

/// `POST /api/contacts/check { sessionId, numbers }`.
async fn check(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<CheckBody>,
) -> ApiResult<Response> {
    let session = load_session(&state, &caller, &body.session_id).await?;
    if body.numbers.is_empty() || body.numbers.len() > MAX_NUMBERS_PER_CHECK {
        return Err(ApiError::bad_request(
            "validation_error",
            format!("numbers: 1 to {MAX_NUMBERS_PER_CHECK} phone numbers"),
        ));
    }
    let mut numbers = Vec::with_capacity(body.numbers.len());
    for (i, n) in body.numbers.iter().enumerate() {
        let digits = normalize_phone(&n.0, "numbers").map_err(|e| {
            ApiError::bad_request("validation_error", format!("numbers[{i}]: {}", e.message))
        })?;
        if !numbers.contains(&digits) {
            numbers.push(digits);
        }
    }
    queries::run_for(
        &state,
        &caller,
        &session.id,
        SessionQuery::CheckNumbers { numbers },
    )
    .await
}

/// `GET /api/contacts/:phone/profile?sessionId=`.
async fn profile(
    State(state): State<AppState>,
    caller: Caller,
    Path(phone): Path<String>,
    Query(q): Query<SessionParam>,
) -> ApiResult<Response> {
    let number = normalize_phone(&phone, "phone")?;
    queries::run(
        &state,
        &caller,
        &q.session_id,
        SessionQuery::Profile { number },
    )
    .await
}

/// `GET /api/contacts/:phone/business?sessionId=`.
async fn business(
    State(state): State<AppState>,
    caller: Caller,
    Path(phone): Path<String>,
    Query(q): Query<SessionParam>,
) -> ApiResult<Response> {
    let number = normalize_phone(&phone, "phone")?;
    queries::run(
        &state,
        &caller,
        &q.session_id,
        SessionQuery::BusinessProfile { number },
    )
    .await
}

/// `GET /api/contacts/blocklist?sessionId=`.
async fn blocklist(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<SessionParam>,
) -> ApiResult<Response> {
    queries::run(&state, &caller, &q.session_id, SessionQuery::Blocklist).await
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SessionBody {
    session_id: String,
}

/// `POST /api/contacts/:phone/block { sessionId }`.
async fn block(
    acting: Acting,
    Path(phone): Path<String>,
    Json(b): Json<SessionBody>,
) -> ApiResult<Response> {
    let to = Jid::parse_field(&phone, "phone")?;
    acting
        .submit(&b.session_id, to, Action::Block { block: true })
        .await
}

/// `POST /api/contacts/:phone/unblock { sessionId }`.
async fn unblock(
    acting: Acting,
    Path(phone): Path<String>,
    Json(b): Json<SessionBody>,
) -> ApiResult<Response> {
    let to = Jid::parse_field(&phone, "phone")?;
    acting
        .submit(&b.session_id, to, Action::Block { block: false })
        .await
}
