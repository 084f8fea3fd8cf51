//! The action path every action route shares (react, revoke, group and chat changes,
//! blocking, presence): the action is checked against its chat, then accepted like a send
//! (`send::accept`: idempotency, the job record, the session's FIFO queue in the chat's lane),
//! so it runs in order with the sends before it and survives a crash. Actions count against
//! neither the quota nor the per-recipient cooldown, which are about messages. The answer is
//! the job (202), or with `?wait=N` its outcome and result (200).

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use axum::response::Response;
use serde_json::{Value, json};
use wagate_core::clock::now_ms;
use wagate_core::{Action, ActionResult, Jid, Job, MessageContent, OutboundMessage, Session};

use crate::caller::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::Query;
use crate::media::PendingBlobs;
use crate::send::{self, Outgoing, WaitQuery};
use crate::state::AppState;

/// Validates `action` on chat `to` and queues it for `session`.
pub async fn submit(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    wait: &WaitQuery,
    session: &Session,
    to: Jid,
    action: Action,
) -> ApiResult<Response> {
    let wait = wait.duration()?;
    let idem = send::idempotency_key(headers)?;
    action.validate(&to)?;
    let message = OutboundMessage::new(MessageContent::Action(action));
    let accepted = send::accept(
        state,
        caller,
        session,
        &to,
        Outgoing::paced_normally(message),
        idem.as_deref(),
        PendingBlobs::new(state.blobs.clone()),
    )
    .await?;
    send::single_response(state, accepted, wait).await
}

/// What every action route takes besides its body and path: the state, the caller, the
/// headers (`Idempotency-Key`) and `?wait=N`.
#[derive(Debug)]
pub struct Acting {
    pub state: AppState,
    pub caller: Caller,
    headers: HeaderMap,
    wait: WaitQuery,
}

impl FromRequestParts<AppState> for Acting {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        let caller = Caller::from_request_parts(parts, state).await?;
        let Query(wait) = Query::<WaitQuery>::from_request_parts(parts, state).await?;
        Ok(Self {
            state: state.clone(),
            caller,
            headers: parts.headers.clone(),
            wait,
        })
    }
}

impl Acting {
    /// Loads session `session_id` (which the caller must be allowed to see) and submits
    /// `action` on `to` for it.
    pub async fn submit(&self, session_id: &str, to: Jid, action: Action) -> ApiResult<Response> {
        let session =
            crate::caller::load_session_to_send(&self.state, &self.caller, session_id).await?;
        submit(
            &self.state,
            &self.caller,
            &self.headers,
            &self.wait,
            &session,
            to,
            action,
        )
        .await
    }
}

/// The public view of a job, with an action's result once it is done, and what became of its
/// webhook once the dispatcher tried it.
pub async fn job_body(state: &AppState, job: &Job) -> ApiResult<Value> {
    let mut v = send::job_view(job);
    if job.state.is_final()
        && let Some(d) =
            wagate_core::job_delivery::load(state.store.as_ref(), job.id.as_str(), now_ms()).await
    {
        v["webhook"] = json!(d);
    }
    if job.message.action().is_some() && job.state.is_final() {
        if job.state == wagate_core::JobState::Sent {
            v["status"] = json!("done");
        }
        let raw = state
            .store
            .get_record(&ActionResult::key(job.id.as_str()), now_ms())
            .await?;
        if let Some(r) = raw.and_then(|r| serde_json::from_str::<Value>(&r).ok()) {
            v["result"] = r;
        }
    }
    Ok(v)
}
