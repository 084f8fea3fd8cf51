//! Session routes: create, list, get, delete, QR, pairing code, status, logout.

use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use wagate_core::JobId;
use wagate_core::clock::now_ms;
use wagate_core::ports::{QueueSpec, names};
use wagate_core::{HostCommand, ProxyUrl, Session, SessionId, SessionStatus, normalize_phone};

use super::body::Loose;
use super::send_command;
use crate::caller::Caller;
use crate::caller::load_session;
use crate::error::{ApiError, ApiResult};
use crate::extract::Json;
use crate::openapi::schemas;
use crate::paging::{PageQuery, page_json};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(show, remove))
        .routes(routes!(qr))
        .routes(routes!(status))
        .routes(routes!(pair_code))
        .routes(routes!(super::received_media::get_media))
        .routes(routes!(logout))
        .routes(routes!(restart))
}

/// The public view of a session; never includes the webhook secret or the proxy's password.
pub fn session_view(s: &Session) -> Value {
    json!({
        "id": s.id,
        "status": s.status.as_str(),
        "qr": s.qr,
        "pairingCode": s.pairing_code,
        "account": s.account,
        "webhookUrl": s.webhook_url,
        "hasWebhookSecret": s.webhook_secret.is_some(),
        "proxy": s.proxy.as_ref().map(ProxyUrl::redacted),
        "webhookEnabled": !s.events.disabled,
        "events": super::webhooks::event_names(&s.events),
        "ownMessages": s.events.own_messages,
        "inboundMedia": s.events.inbound_media.map(wagate_core::inbound_media::InboundMediaMode::as_str),
        "rejectCalls": s.events.reject_calls,
        "createdAt": s.created_at,
        "updatedAt": s.updated_at,
    })
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct CreateBody {
    /// 1 to 64 of `[A-Za-z0-9_-]`; generated when absent.
    #[serde(default, alias = "id")]
    session_id: Option<String>,
    /// Where this session's events go (else the default webhook).
    #[serde(default)]
    webhook_url: Option<String>,
    /// Signs each delivery; needs `webhookUrl`.
    #[serde(default)]
    webhook_secret: Option<String>,
    /// `http://[user:pass@]host:port` (or https): this session's WhatsApp connection goes
    /// through it instead of `HTTPS_PROXY`.
    #[serde(default)]
    proxy: Option<String>,
    /// The event names delivered to its webhook (default: all).
    #[serde(default)]
    #[schema(value_type = Option<Vec<schemas::EventName>>, min_items = 1, max_items = 32)]
    events: Option<Vec<String>>,
    /// Deliver the messages the account sends from its other devices.
    #[serde(default)]
    own_messages: Option<bool>,
    /// `auto`, `on-request` or `off` (default: the host's `INBOUND_MEDIA`).
    #[serde(default)]
    #[schema(value_type = Option<schemas::InboundMedia>)]
    inbound_media: Option<String>,
    /// Decline incoming calls (default: the host's `REJECT_CALLS`).
    #[serde(default)]
    reject_calls: Option<bool>,
}

/// `POST /api/sessions`: records the session, creates its send queue and starts it.
#[utoipa::path(post, path = "/", tag = "sessions",
    summary = "Create a session and start linking it",
    description = "The session starts at once: read its QR code at `GET /api/sessions/{id}/qr` \
        (or the `qr` webhook), or ask for a pairing code. The body may be empty (the id is \
        then generated). A user key holds at most `sessionsPerKey` sessions.",
    request_body(content = Option<CreateBody>,
        description = "Everything is optional; an empty body is allowed too"),
    responses((status = 201, description = "Created", body = schemas::Session)))]
async fn create(
    State(state): State<AppState>,
    caller: Caller,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    // An empty body is allowed: the id is then generated. Anything else must be a JSON
    // object (whitespace alone is not JSON).
    let body: CreateBody = if body.is_empty() {
        CreateBody::default()
    } else {
        crate::extract::require_object(&body)?;
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request("invalid_body", e.to_string()))?
    };
    let id = match body.session_id.as_deref() {
        Some(raw) => SessionId::parse(raw)?,
        None => SessionId::generate(),
    };
    if let Some(url) = &body.webhook_url {
        wagate_core::validate_webhook_url("webhookUrl", url)?;
    }
    if body.webhook_secret.is_some() && body.webhook_url.is_none() {
        return Err(ApiError::bad_request(
            "validation_error",
            "webhookSecret: needs webhookUrl",
        ));
    }
    let proxy = body
        .proxy
        .as_deref()
        .filter(|p| !p.trim().is_empty())
        .map(|p| ProxyUrl::parse(p, "proxy"))
        .transpose()?;
    let events = super::webhooks::event_filter(
        &wagate_core::EventFilter::default(),
        super::webhooks::FilterChange {
            events: body.events.as_deref(),
            own_messages: body.own_messages,
            inbound_media: body.inbound_media.as_deref(),
            reject_calls: body.reject_calls,
            ..Default::default()
        },
    )?;
    if !caller.is_admin() {
        let cap = state
            .settings
            .get(state.store.as_ref())
            .await?
            .sessions_per_key;
        let held = state.store.all_sessions(Some(&caller.key_id)).await?.len() as u64;
        if held >= cap {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "session_limit",
                format!("this key holds {held} sessions, the most it may (sessionsPerKey {cap})"),
            ));
        }
    }
    let mut session = Session::new(id.clone(), caller.key_id.clone(), now_ms());
    session.proxy = proxy;
    session.webhook_url = body.webhook_url;
    session.webhook_secret = body.webhook_secret;
    session.events = events;
    // The queue first: a session record always has its queue, whatever crashes in between.
    state
        .queue
        .create(&names::send(&id), QueueSpec::for_session(&id))
        .await?;
    if !state.store.create_session(&session).await? {
        return Err(ApiError::conflict(
            "session_exists",
            format!("session '{id}' already exists"),
        ));
    }
    send_command(&state, HostCommand::Start { session_id: id }).await?;
    Ok((StatusCode::CREATED, axum::Json(session_view(&session))).into_response())
}

#[utoipa::path(get, path = "/", tag = "sessions",
    summary = "The sessions this key sees (an admin: all of them), a page at a time",
    params(
        PageQuery,
    ),
    responses((status = 200, description = "A page of sessions", body = schemas::SessionPage)))]
async fn list(
    State(state): State<AppState>,
    caller: Caller,
    crate::extract::Query(q): crate::extract::Query<PageQuery>,
) -> ApiResult<axum::Json<Value>> {
    let page = q.parse()?;
    let owner = (!caller.is_admin()).then_some(&caller.key_id);
    let sessions = state
        .store
        .list_sessions(owner, page.after.as_deref(), page.limit)
        .await?;
    Ok(page_json("sessions", &sessions, session_view))
}

#[utoipa::path(get, path = "/{id}", tag = "sessions", summary = "A session",
    params(("id" = String, Path, description = "Session id")),
    responses((status = 200, description = "The session", body = schemas::Session)))]
async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    let s = load_session(&state, &caller, &id).await?;
    let mut view = session_view(&s);
    // The connection history and the send queue (as the queue service counts it; its head
    // where the queue can tell, the embedded one), asked together.
    let send_queue = wagate_core::ports::names::send(&s.id);
    let store = state.store.as_ref();
    let head = async {
        let id = state.queue.oldest(&send_queue).await.ok().flatten()?;
        store.get_job(&JobId::from_string(id)).await.ok().flatten()
    };
    let (history, depth, head) = tokio::join!(
        wagate_core::connection_history::load(store, &s.id, now_ms()),
        state.queue.depth(&send_queue),
        head,
    );
    view["lastDisconnect"] = json!(history.last_disconnect);
    view["reconnects"] = json!(history.reconnects);
    view["queueDepth"] = json!(depth.ok());
    view["oldestQueuedAt"] = json!(head.map(|j| j.created_at));
    Ok(axum::Json(view))
}

#[utoipa::path(delete, path = "/{id}", tag = "sessions",
    summary = "Delete a session and its send queue (sends still queued fail)",
    params(("id" = String, Path, description = "Session id")),
    responses((status = 200, description = "Deleted", body = schemas::SessionDeleted)))]
async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    let s = load_session(&state, &caller, &id).await?;
    // The record goes, then the host is told; in a task of its own, so a client that hangs up
    // in between cannot leave a deleted session whose host never heard of it. The host fails
    // the sends still queued and deletes the queue.
    let id = s.id.clone();
    tokio::spawn(async move {
        state.store.delete_session(&id).await?;
        state.sessions.forget(&id);
        send_command(
            &state,
            HostCommand::Delete {
                session_id: id,
                deleted_at_ms: Some(now_ms()),
            },
        )
        .await
    })
    .await
    .map_err(ApiError::internal)??;
    Ok(axum::Json(json!({ "id": s.id, "deleted": true })))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct QrQuery {
    /// `json` (the default) or `svg`: the QR code as an image.
    #[param(value_type = Option<schemas::QrFormat>, inline)]
    format: Option<String>,
}

/// The current QR: JSON `{ sessionId, status, qr }`, or with `?format=svg` the QR code itself
/// as an SVG image (404 while there is none), so a page needs no QR library.
#[utoipa::path(get, path = "/{id}/qr", tag = "sessions",
    summary = "The current QR code, as JSON or (`?format=svg`) an SVG image",
    description = "`qr` is `null` (and the SVG a 404) while the session shows no QR code: \
        it is linked, or still connecting.",
    params(("id" = String, Path, description = "Session id"), QrQuery),
    responses((status = 200, description = "The QR code", content(
        (schemas::SessionQr = "application/json"),
        (String = "image/svg+xml")))))]
async fn qr(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    crate::extract::Query(q): crate::extract::Query<QrQuery>,
) -> ApiResult<Response> {
    let s = load_session(&state, &caller, &id).await?;
    match q.format.as_deref() {
        None | Some("json") => {}
        Some("svg") => {
            let Some(payload) = &s.qr else {
                return Err(ApiError::not_found(
                    "no_qr",
                    format!(
                        "session '{}' shows no QR code (status {})",
                        s.id,
                        s.status.as_str()
                    ),
                ));
            };
            let code = qrcode::QrCode::new(payload.as_bytes()).map_err(ApiError::internal)?;
            let svg = code
                .render::<qrcode::render::svg::Color<'_>>()
                .min_dimensions(256, 256)
                .quiet_zone(true)
                .build();
            return Ok((
                [
                    (axum::http::header::CONTENT_TYPE, "image/svg+xml"),
                    (axum::http::header::CACHE_CONTROL, "no-store"),
                ],
                svg,
            )
                .into_response());
        }
        Some(other) => {
            return Err(ApiError::bad_request(
                "validation_error",
                format!("format: '{other}' is not json or svg"),
            ));
        }
    }
    Ok(
        axum::Json(json!({ "sessionId": s.id, "status": s.status.as_str(), "qr": s.qr }))
            .into_response(),
    )
}

#[utoipa::path(get, path = "/{id}/status", tag = "sessions",
    summary = "A session's status and account",
    params(("id" = String, Path, description = "Session id")),
    responses((status = 200, description = "Its status", body = schemas::SessionState)))]
async fn status(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    let s = load_session(&state, &caller, &id).await?;
    Ok(axum::Json(
        json!({ "sessionId": s.id, "status": s.status.as_str(), "account": s.account }),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
struct PairBody {
    /// The account's phone number, with country code.
    #[serde(alias = "phoneNumber")]
    phone: Loose,
}

/// Asks the session host for a pairing code and waits a little for it; 202 if it is not
/// there yet (the client then reads it from `GET /api/sessions/:id`).
#[utoipa::path(post, path = "/{id}/pair-code", tag = "sessions",
    summary = "Link by pairing code instead of QR",
    description = "Asks WhatsApp for a code to type on the phone and waits a little for it. \
        202 when it has not come yet: it will be in `pairingCode` of \
        `GET /api/sessions/{id}`.",
    params(("id" = String, Path, description = "Session id")),
    request_body = PairBody,
    responses(
        (status = 200, description = "The code", body = schemas::PairingCode),
        (status = 202, description = "Asked; the code is not there yet",
            body = schemas::SessionCommand),
    ))]
async fn pair_code(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<PairBody>,
) -> ApiResult<Response> {
    let s = load_session(&state, &caller, &id).await?;
    let phone = normalize_phone(&body.phone.0, "phone")?;
    if s.status == SessionStatus::Open {
        return Err(ApiError::conflict(
            "session_open",
            "the session is already linked",
        ));
    }
    let previous = s.pairing_code.clone();
    send_command(
        &state,
        HostCommand::PairCode {
            session_id: s.id.clone(),
            phone,
        },
    )
    .await?;
    let deadline =
        tokio::time::Instant::now() + Duration::from_millis(state.config.pair_code_wait_ms);
    while tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if let Some(now) = state.store.get_session(&s.id).await?
            && now.pairing_code.is_some()
            && now.pairing_code != previous
        {
            return Ok(
                axum::Json(json!({ "sessionId": s.id, "pairingCode": now.pairing_code }))
                    .into_response(),
            );
        }
    }
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(json!({ "sessionId": s.id, "status": "pending" })),
    )
        .into_response())
}

/// `POST /:id/logout`: the host logs the account out (status `logging_out`).
#[utoipa::path(post, path = "/{id}/logout", tag = "sessions",
    summary = "Log the account out of WhatsApp (the session record stays)",
    params(("id" = String, Path, description = "Session id")),
    responses((status = 202, description = "Sent to the session's host",
        body = schemas::SessionCommand)))]
async fn logout(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    command_accepted(
        &state,
        &caller,
        &id,
        |session_id| HostCommand::Logout { session_id },
        "logging_out",
    )
    .await
}

/// `POST /:id/restart`: the host (re)starts the session (status `starting`).
#[utoipa::path(post, path = "/{id}/restart", tag = "sessions",
    summary = "Restart the session's connection",
    params(("id" = String, Path, description = "Session id")),
    responses((status = 202, description = "Sent to the session's host",
        body = schemas::SessionCommand)))]
async fn restart(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    command_accepted(
        &state,
        &caller,
        &id,
        |session_id| HostCommand::Start { session_id },
        "starting",
    )
    .await
}

/// Sends a command for the caller's session to the host and answers 202 with `status`.
async fn command_accepted(
    state: &AppState,
    caller: &Caller,
    id: &str,
    command: impl FnOnce(SessionId) -> HostCommand,
    status: &str,
) -> ApiResult<Response> {
    let s = load_session(state, caller, id).await?;
    send_command(state, command(s.id.clone())).await?;
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(json!({ "sessionId": s.id, "status": status })),
    )
        .into_response())
}
