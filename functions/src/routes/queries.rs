//! The query path: a question for a session's WhatsApp connection that changes nothing (is
//! this number on WhatsApp, a group's members, the blocklist). The API records it `pending`,
//! sends it to the session's host on the control queue and waits `QUERY_WAIT_MS` for the
//! answer: 200 with it, 202 with where to read it (`GET /api/queries/:id`), or 502 when
//! WhatsApp could not answer.

use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use wagate_core::clock::now_ms;
use wagate_core::{
    HostCommand, QUERY_TTL_MS, QueryFailure, QueryRecord, QueryStatus, SessionId, SessionQuery,
    random_token,
};

use super::send_command;
use crate::caller::{Caller, load_session};
use crate::error::{ApiError, ApiResult};
use crate::openapi::schemas;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(show))
}

/// `?sessionId=` of the query routes.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SessionParam {
    /// The session that asks.
    pub session_id: String,
}

/// Asks `query` of session `session_id` (which `caller` must be allowed to see) and answers
/// with what came back in time.
pub async fn run(
    state: &AppState,
    caller: &Caller,
    session_id: &str,
    query: SessionQuery,
) -> ApiResult<Response> {
    let session = load_session(state, caller, session_id).await?;
    run_for(state, caller, &session.id, query).await
}

/// As [`run`], for a session the route already loaded (and checked the caller may see).
pub async fn run_for(
    state: &AppState,
    caller: &Caller,
    session: &SessionId,
    query: SessionQuery,
) -> ApiResult<Response> {
    let rec = new_query(caller, session, query);
    ask(state, &rec).await?;
    let rec = wait(state, rec).await?;
    Ok(answer(rec))
}

fn new_query(caller: &Caller, session: &SessionId, query: SessionQuery) -> QueryRecord {
    QueryRecord {
        id: format!("q_{}", random_token(20)),
        session_id: session.clone(),
        owner: caller.key_id.clone(),
        query,
        status: QueryStatus::Pending,
        result: None,
        error: None,
        failure: None,
        created_at: now_ms(),
    }
}

/// Records `rec` as pending and sends it to the session's host.
async fn ask(state: &AppState, rec: &QueryRecord) -> ApiResult<()> {
    let body = serde_json::to_string(rec).map_err(ApiError::internal)?;
    state
        .store
        .put_record(
            &QueryRecord::key(&rec.id),
            &body,
            rec.created_at.saturating_add(QUERY_TTL_MS),
        )
        .await?;
    send_command(
        state,
        HostCommand::Query {
            session_id: rec.session_id.clone(),
            query_id: rec.id.clone(),
        },
    )
    .await
}

async fn load(state: &AppState, id: &str) -> ApiResult<Option<QueryRecord>> {
    let now = now_ms();
    let raw = state.store.get_record(&QueryRecord::key(id), now).await?;
    Ok(raw
        .and_then(|r| serde_json::from_str::<QueryRecord>(&r).ok())
        .map(|r| r.as_of(now)))
}

/// Waits up to `QUERY_WAIT_MS` for the host's answer.
async fn wait(state: &AppState, rec: QueryRecord) -> ApiResult<QueryRecord> {
    let deadline = tokio::time::Instant::now() + Duration::from_millis(state.config.query_wait_ms);
    while tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if let Some(now) = load(state, &rec.id).await?
            && now.status != QueryStatus::Pending
        {
            return Ok(now);
        }
    }
    Ok(rec)
}

/// 200 with the answer, 202 while pending; a failure by its cause: 409 the session is not
/// open, 422 WhatsApp refused (no such group, not an admin), 502 nobody answered.
fn answer(rec: QueryRecord) -> Response {
    let mut v = json!({
        "queryId": rec.id,
        "sessionId": rec.session_id,
        "status": rec.status,
    });
    match rec.status {
        QueryStatus::Done => {
            if let (Value::Object(m), Some(Value::Object(r))) = (&mut v, rec.result) {
                m.extend(r);
            }
            axum::Json(v).into_response()
        }
        QueryStatus::Pending => (
            StatusCode::ACCEPTED,
            [(header::RETRY_AFTER, "1")],
            axum::Json(json!({
                "queryId": rec.id,
                "sessionId": rec.session_id,
                "status": "pending",
                "message": format!("the answer will be at GET /api/queries/{}", rec.id),
            })),
        )
            .into_response(),
        QueryStatus::Failed => {
            let (status, code) = match rec.failure {
                Some(QueryFailure::NotConnected) => (StatusCode::CONFLICT, "session_not_connected"),
                Some(QueryFailure::Refused) => {
                    (StatusCode::UNPROCESSABLE_ENTITY, "whatsapp_refused")
                }
                Some(QueryFailure::Unavailable) | None => (StatusCode::BAD_GATEWAY, "query_failed"),
            };
            let message = rec
                .error
                .unwrap_or_else(|| "WhatsApp did not answer".into());
            ApiError::new(status, code, message).into_response()
        }
    }
}

/// `GET /api/queries/:id`: only the key that asked (and admins) see it.
#[utoipa::path(get, path = "/{id}", tag = "queries",
    summary = "A query's answer (a number check, a group's members, …), once it is there",
    description = "The answer a query route (e.g. `POST /api/contacts/check`) could not wait for. \
        200 with it, 202 while the session's host has not answered, 502 when WhatsApp could \
        not. Answers are kept 10 minutes; only the key that asked (and admins) may read one.",
    params(("id" = String, Path, description = "The `queryId` the query route answered")),
    responses(
        (status = 200, description = "The answer: its fields beside `queryId`, `sessionId`, \
            `status`", body = schemas::QueryAnswer),
        (status = 202, description = "Not answered yet; ask again after `Retry-After`",
            body = schemas::QueryPending),
        (status = 502, description = "WhatsApp could not answer, or no host answered within \
            60 s", body = schemas::ErrorBody),
    ))]
async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    // Ids are ours (`q_` and 20 characters): anything else is not one, and is never looked up
    // (a store key has a length limit).
    let plausible = id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    let rec = if plausible {
        load(&state, &id).await?
    } else {
        None
    };
    match rec {
        Some(rec) if caller.is_admin() || rec.owner == caller.key_id => Ok(answer(rec)),
        _ => Err(ApiError::not_found(
            "query_not_found",
            format!("no query {id:?} (answers are kept 10 minutes)"),
        )),
    }
}
