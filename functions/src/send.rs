//! The enqueue path every message route shares: session access, idempotency, quota,
//! cooldown, job record, queue. A job is recorded before it is enqueued, and an idempotent
//! replay re-enqueues it (deduplicated by job id), so a crash between the two loses nothing.

use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use wagate_core::clock::now_ms;
use wagate_core::policy::{self, LimitStatus};
use wagate_core::ports::{Admission, Admitted, SessionCheck};
use wagate_core::ports::{PortError, enqueue_send};
use wagate_core::{Jid, Job, JobId, OutboundMessage, Session, SessionStatus};

use crate::caller::Caller;
use crate::error::{ApiError, ApiResult};
use crate::limit_headers::{QUOTA, RATE_LIMIT};
use crate::media::PendingBlobs;
use crate::state::AppState;

pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";
const IDEMPOTENCY_TTL_MS: i64 = 24 * 3600 * 1000;
/// The longest `?wait=` a client may ask for.
pub const MAX_WAIT_SECS: u64 = 25;

/// `?wait=N`: hold the answer up to N seconds for the job's final state.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WaitQuery {
    /// Hold the answer up to this many seconds (0 to 25, fractions allowed) for the job's
    /// final state.
    #[param(value_type = Option<f64>, minimum = 0, maximum = 25)]
    pub wait: Option<String>,
}

/// The `Idempotency-Key` header, for the spec: the same key within 24 h answers with the first
/// request's job (`replayed: true`) instead of sending again.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IdempotencyKey {
    /// 1 to 255 visible characters.
    #[param(rename = "Idempotency-Key", min_length = 1, max_length = 255)]
    pub key: Option<String>,
}

impl WaitQuery {
    pub fn duration(&self) -> ApiResult<Option<Duration>> {
        let Some(raw) = self.wait.as_deref() else {
            return Ok(None);
        };
        let secs: f64 = raw.trim().parse().map_err(|_| {
            ApiError::bad_request("validation_error", "wait: must be a number of seconds")
        })?;
        if !secs.is_finite() || !(0.0..=MAX_WAIT_SECS as f64).contains(&secs) {
            return Err(ApiError::bad_request(
                "validation_error",
                format!("wait: must be between 0 and {MAX_WAIT_SECS} seconds"),
            ));
        }
        Ok((secs > 0.0).then(|| Duration::from_secs_f64(secs)))
    }
}

/// One message of a request, with the gap to keep before it (multi-file `delayMs`).
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub message: OutboundMessage,
    pub pace_ms: Option<u64>,
}

impl Outgoing {
    /// A message sent with the session's normal pacing.
    pub fn paced_normally(message: OutboundMessage) -> Vec<Self> {
        vec![Self {
            message,
            pace_ms: None,
        }]
    }
}

/// What the enqueue path decided.
#[derive(Debug)]
pub struct Accepted {
    pub jobs: Vec<Job>,
    pub quota: Option<LimitStatus>,
    /// An `Idempotency-Key` replay: nothing new was enqueued.
    pub replayed: bool,
}

/// Accepts messages for one recipient as one unit: all are queued or none is. `pending` holds
/// the blobs the messages point to: kept when they are accepted, deleted otherwise.
///
/// Cancel-safe: once the request's body is read and this is called, the acceptance runs in a
/// task of its own to the end, so a client that hangs up cannot leave a job recorded but never
/// queued, or queued with its blob deleted. The answer is lost with the client; the outcome
/// is not.
pub async fn accept(
    state: &AppState,
    caller: &Caller,
    session: &Session,
    to: &Jid,
    outgoing: Vec<Outgoing>,
    idempotency_key: Option<&str>,
    pending: PendingBlobs,
) -> ApiResult<Accepted> {
    let what = Acceptance {
        state: state.clone(),
        caller: caller.clone(),
        session: session.clone(),
        to: to.clone(),
        idempotency_key: idempotency_key.map(str::to_owned),
    };
    tokio::spawn(async move {
        let result = accept_now(&what, outgoing).await;
        match &result {
            Ok(accepted) if !accepted.replayed => pending.keep(),
            // A replay's jobs carry the first request's copy of the media.
            _ => pending.clean_up().await,
        }
        result
    })
    .await
    .map_err(ApiError::internal)?
}

/// What one acceptance is about, owned by the task that carries it out.
struct Acceptance {
    state: AppState,
    caller: Caller,
    session: Session,
    to: Jid,
    idempotency_key: Option<String>,
}

async fn accept_now(what: &Acceptance, outgoing: Vec<Outgoing>) -> ApiResult<Accepted> {
    let Acceptance {
        state,
        caller,
        session,
        to,
        idempotency_key,
    } = what;
    let idempotency_key = idempotency_key.as_deref();
    for o in &outgoing {
        o.message.validate()?;
    }
    if session.status == SessionStatus::LoggedOut {
        return Err(logged_out(session));
    }
    let now = now_ms();
    let mut ids: Vec<JobId> = outgoing.iter().map(|_| JobId::generate()).collect();

    if let Some(key) = idempotency_key {
        let scoped = format!("idem:{}:{key}", caller.key_id);
        let value = ids.iter().map(JobId::as_str).collect::<Vec<_>>().join(",");
        if let Some(prior) = state
            .store
            .claim_idempotency(&scoped, &value, IDEMPOTENCY_TTL_MS, now)
            .await?
        {
            let prior_ids: Vec<JobId> = prior.split(',').map(JobId::from_string).collect();
            let mut jobs = Vec::with_capacity(prior_ids.len());
            for id in &prior_ids {
                if let Some(job) = state.store.get_job(id).await? {
                    jobs.push(job);
                }
            }
            if jobs.len() == prior_ids.len() {
                for job in &jobs {
                    if !job.state.is_final() {
                        enqueue(state, job).await?;
                    }
                }
                return Ok(Accepted {
                    jobs,
                    quota: None,
                    replayed: true,
                });
            }
            // The first request died before recording its jobs: finish it under its ids.
            ids = prior_ids;
            if ids.len() != outgoing.len() {
                return Err(ApiError::conflict(
                    "idempotency_key_reused",
                    "this Idempotency-Key was used for a different request",
                ));
            }
        }
    }

    let settings = state.settings.get(state.store.as_ref()).await?;
    // Actions (react, a group change, …) are not messages: no quota, no cooldown.
    let n = outgoing
        .iter()
        .filter(|o| o.message.action().is_none())
        .count() as u64;
    let jobs: Vec<Job> = outgoing
        .into_iter()
        .zip(ids)
        .map(|(o, id)| {
            let mut job = Job::new(
                session.id.clone(),
                caller.key_id.clone(),
                to.clone(),
                o.message,
                now,
            );
            job.id = id;
            job.pace_ms = o.pace_ms;
            job.request_id = caller.request_id.clone();
            job
        })
        .collect();
    let admission = Admission {
        rate: caller.rate.as_ref().and_then(|d| d.claim()),
        quota: (n > 0)
            .then(|| policy::quota_charge(&caller.key_id, settings.quota, n))
            .flatten(),
        cooldown: (n > 0)
            .then(|| policy::cooldown_charge(&session.id, to, settings.cooldown_ms))
            .flatten(),
        jobs,
        session: Some(SessionCheck {
            id: session.id.clone(),
            created_at: session.created_at,
        }),
        now_ms: now,
    };
    let verdict = state.intake.admit(&admission).await?;
    if let (Some(deferred), Some(st)) = (&caller.rate, &verdict.rate) {
        deferred.settle(*st);
    }
    match verdict.admitted {
        Admitted::Queued { quota } => {
            for job in &admission.jobs {
                wagate_core::measure::job_accepted(job.message.kind());
            }
            Ok(Accepted {
                jobs: admission.jobs,
                quota,
                replayed: false,
            })
        }
        Admitted::RateLimited => Err(match verdict.rate {
            Some(st) => RATE_LIMIT.refusal(&st, settings.rate_limit.window_ms, now),
            None => ApiError::internal("the intake refused a rate limit it was not given"),
        }),
        Admitted::OverQuota(q) => Err(QUOTA.refusal(&q, settings.quota.window_ms, now)),
        Admitted::CoolingDown(cd) => Err(ApiError::too_many(
            "recipient_cooldown",
            format!(
                "wait {} ms between messages to the same recipient",
                settings.cooldown_ms
            ),
            cd.retry_after_secs(now),
        )),
        Admitted::SessionGone => {
            state.sessions.forget(&session.id);
            Err(ApiError::session_not_found(session.id.as_str()))
        }
        Admitted::LoggedOut => {
            state.sessions.forget(&session.id);
            Err(logged_out(session))
        }
    }
}

fn logged_out(session: &Session) -> ApiError {
    ApiError::conflict(
        "session_logged_out",
        format!(
            "session '{}' is logged out; link it again before sending",
            session.id
        ),
    )
}

async fn enqueue(state: &AppState, job: &Job) -> ApiResult<()> {
    match enqueue_send(state.queue.as_ref(), job, job.id.as_str()).await {
        Ok(()) => Ok(()),
        Err(PortError::NotFound(_)) => Err(ApiError::session_not_found(job.session_id.as_str())),
        Err(e) => Err(e.into()),
    }
}

/// The public view of a job.
pub fn job_view(job: &Job) -> Value {
    let mut v = json!({
        "id": job.id,
        "status": job.state.as_str(),
        "sessionId": job.session_id,
        "to": job.to,
        "type": job.message.kind(),
        "waMessageId": job.wa_message_id,
        "attempts": job.attempts,
        "createdAt": job.created_at,
        "updatedAt": job.updated_at,
    });
    if let Some(e) = &job.error {
        v["error"] = json!(e);
    }
    if let Some(t) = job.sent_at {
        v["sentAt"] = json!(t);
    }
    v
}

/// Polls a job until it is final or `wait` runs out; returns its latest state.
pub async fn wait_for_final(state: &AppState, job: Job, wait: Duration) -> ApiResult<Job> {
    let deadline = tokio::time::Instant::now() + wait;
    let mut latest = job;
    while !latest.state.is_final() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if let Some(j) = state.store.get_job(&latest.id).await? {
            latest = j;
        }
    }
    Ok(latest)
}

/// The answer to a single send: 202 `{ id, status: "queued", … }`, or with `?wait` the final
/// state (200) when it came in time.
pub async fn single_response(
    state: &AppState,
    accepted: Accepted,
    wait: Option<Duration>,
) -> ApiResult<Response> {
    let Accepted {
        mut jobs,
        quota,
        replayed,
    } = accepted;
    let Some(mut job) = jobs.pop() else {
        return Err(ApiError::internal("accepted a send without a job"));
    };
    if let Some(w) = wait {
        job = wait_for_final(state, job, w).await?;
    }
    let status = if job.state.is_final() && wait.is_some() {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    let mut body = crate::action::job_body(state, &job).await?;
    if replayed {
        body["replayed"] = json!(true);
    }
    let mut resp = (status, axum::Json(body)).into_response();
    if let Some(q) = quota {
        QUOTA.insert_headers(resp.headers_mut(), &q);
    }
    Ok(resp)
}

/// The `Idempotency-Key` header, if present and sane.
pub fn idempotency_key(headers: &HeaderMap) -> ApiResult<Option<String>> {
    let Some(v) = headers.get(IDEMPOTENCY_HEADER) else {
        return Ok(None);
    };
    let s = v.to_str().unwrap_or_default().trim();
    if s.is_empty() || s.len() > 255 {
        return Err(ApiError::bad_request(
            "validation_error",
            "Idempotency-Key: must be 1 to 255 visible characters",
        ));
    }
    Ok(Some(s.to_owned()))
}
