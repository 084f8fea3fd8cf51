//! Contacts: `POST /api/contacts/check` (which numbers are on WhatsApp, answers cached by the
//! host), `GET /api/contacts/:phone/profile` (about text, picture, business name),
//! `GET /api/contacts/:phone/business` (a business's profile), `GET /api/contacts/blocklist`,
//! and `POST /api/contacts/:phone/block` / `unblock` (actions, queued like sends). Questions go
//! through the query path (`queries`), changes through the action path (`crate::action`).

use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use wagate_core::{Action, Jid, MAX_NUMBERS_PER_CHECK, SessionQuery, normalize_phone};

use super::body::Loose;
use super::queries::{self, SessionParam};
use crate::action::Acting;
use crate::caller::{Caller, load_session};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Query};
use crate::openapi::schemas;
use crate::send::{IdempotencyKey, WaitQuery};
use crate::state::AppState;

pub fn contacts() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(check))
        .routes(routes!(blocklist))
        .routes(routes!(profile))
        .routes(routes!(business))
        .routes(routes!(block))
        .routes(routes!(unblock))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = NumberCheckBody)]
struct CheckBody {
    session_id: String,
    /// 1 to 50 phone numbers with country code.
    #[schema(min_items = 1, max_items = 50)]
    numbers: Vec<Loose>,
}

/// `POST /api/contacts/check { sessionId, numbers }`.
#[utoipa::path(post, path = "/check", tag = "contacts",
    summary = "Which numbers are on WhatsApp",
    description = "Answers are cached by the session's host for a week; uncached numbers are \
        asked about at most one check a second.",
    request_body = CheckBody,
    responses(
        (status = 200, description = "One result per number, in order",
            body = schemas::NumberChecksAnswer),
        schemas::QueryWaiting,
    ))]
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
#[utoipa::path(get, path = "/{phone}/profile", tag = "contacts",
    summary = "A number's profile: about text, picture, business name",
    params(
        ("phone" = String, Path, description = "A phone number with country code"),
        ("sessionId" = String, Query, description = "The session to ask")),
    responses(
        (status = 200, description = "The profile", body = schemas::ProfileAnswer),
        schemas::QueryWaiting,
    ))]
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
#[utoipa::path(get, path = "/{phone}/business", tag = "contacts",
    summary = "A business account's profile: description, address, email, websites",
    params(
        ("phone" = String, Path, description = "A phone number with country code"),
        ("sessionId" = String, Query, description = "The session to ask")),
    responses(
        (status = 200, description = "The business profile", body = schemas::BusinessAnswer),
        schemas::QueryWaiting,
    ))]
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
#[utoipa::path(get, path = "/blocklist", tag = "contacts",
    summary = "The numbers this account blocked",
    params(("sessionId" = String, Query, description = "The session to ask")),
    responses(
        (status = 200, description = "The blocked JIDs", body = schemas::BlocklistAnswer),
        schemas::QueryWaiting,
    ))]
async fn blocklist(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<SessionParam>,
) -> ApiResult<Response> {
    queries::run(&state, &caller, &q.session_id, SessionQuery::Blocklist).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ContactSessionBody)]
struct SessionBody {
    session_id: String,
}

/// `POST /api/contacts/:phone/block { sessionId }`.
#[utoipa::path(post, path = "/{phone}/block", tag = "contacts", summary = "Block a contact",
    params(
        ("phone" = String, Path, description = "A phone number with country code, or a JID"),
        WaitQuery,
        IdempotencyKey),
    request_body = SessionBody,
    responses(
        schemas::JobAnswers,
    ))]
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
#[utoipa::path(post, path = "/{phone}/unblock", tag = "contacts", summary = "Unblock a contact",
    params(
        ("phone" = String, Path, description = "A phone number with country code, or a JID"),
        WaitQuery,
        IdempotencyKey),
    request_body = SessionBody,
    responses(
        schemas::JobAnswers,
    ))]
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
