//! `POST /api/webhooks/configure`: where a session's events go, and which of them.

use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use wagate_core::inbound_media::InboundMediaMode;
use wagate_core::{EventFilter, EventKind};

use crate::caller::Caller;
use crate::caller::load_session;
use crate::error::{ApiError, ApiResult};
use crate::extract::Json;
use crate::openapi::schemas;
use crate::settings::{DEFAULT_WEBHOOK, WebhookSetting};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(configure))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ConfigureBody {
    /// The session to configure; absent: the default webhook (admin keys only).
    #[serde(default)]
    session_id: Option<String>,
    /// `null` or absent clears the session's webhook (events then go to the default one).
    #[serde(default, alias = "webhookUrl")]
    url: Option<String>,
    /// Signs each delivery.
    #[serde(default, alias = "webhookSecret")]
    secret: Option<String>,
    /// `false` stops deliveries for the session, `true` resumes them.
    #[serde(default)]
    enabled: Option<bool>,
    /// The event names to deliver (`["*"]`: all of them).
    #[serde(default)]
    #[schema(value_type = Option<Vec<schemas::EventName>>, min_items = 1, max_items = 32)]
    events: Option<Vec<String>>,
    /// Deliver the messages the account sends from its other devices (`fromMe: true`).
    #[serde(default)]
    own_messages: Option<bool>,
    /// `auto`, `on-request` or `off`: what happens to received media (default: the host's
    /// `INBOUND_MEDIA`).
    #[serde(default)]
    #[schema(value_type = Option<schemas::InboundMedia>)]
    inbound_media: Option<String>,
    /// Decline incoming calls (default: the host's `REJECT_CALLS`).
    #[serde(default)]
    reject_calls: Option<bool>,
}

impl ConfigureBody {
    fn filter_change(&self) -> FilterChange<'_> {
        FilterChange {
            enabled: self.enabled,
            events: self.events.as_deref(),
            own_messages: self.own_messages,
            inbound_media: self.inbound_media.as_deref(),
            reject_calls: self.reject_calls,
        }
    }
}

/// Most names an `events` list may hold.
const MAX_EVENT_NAMES: usize = 32;

/// What a request may change of a session's filter; each part only when given.
#[derive(Debug, Default, Clone, Copy)]
pub struct FilterChange<'a> {
    pub enabled: Option<bool>,
    pub events: Option<&'a [String]>,
    pub own_messages: Option<bool>,
    pub inbound_media: Option<&'a str>,
    pub reject_calls: Option<bool>,
}

impl FilterChange<'_> {
    fn is_empty(&self) -> bool {
        self.enabled.is_none()
            && self.events.is_none()
            && self.own_messages.is_none()
            && self.inbound_media.is_none()
            && self.reject_calls.is_none()
    }
}

/// `base` with `change` applied.
pub fn event_filter(base: &EventFilter, change: FilterChange<'_>) -> ApiResult<EventFilter> {
    let mut f = base.clone();
    if let Some(e) = change.enabled {
        f.disabled = !e;
    }
    if let Some(own) = change.own_messages {
        f.own_messages = own;
    }
    if let Some(raw) = change.inbound_media {
        f.inbound_media = Some(InboundMediaMode::parse(raw).ok_or_else(|| {
            ApiError::bad_request(
                "validation_error",
                format!("inboundMedia: {raw:?} is not auto, on-request or off"),
            )
        })?);
    }
    if let Some(reject) = change.reject_calls {
        f.reject_calls = Some(reject);
    }
    let events = change.events;
    if let Some(names) = events {
        if names.is_empty() || names.len() > MAX_EVENT_NAMES {
            return Err(ApiError::bad_request(
                "validation_error",
                format!(
                    "events: 1 to {MAX_EVENT_NAMES} event names (to stop every event, set enabled: false)"
                ),
            ));
        }
        f.only = if names.iter().any(|n| n == "*") {
            None
        } else {
            let mut kinds = Vec::new();
            for n in names {
                let k = EventKind::parse(n).ok_or_else(|| {
                    let known: Vec<&str> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
                    ApiError::bad_request(
                        "validation_error",
                        format!(
                            "events: unknown event {n:?} (known: {}, or \"*\")",
                            known.join(", ")
                        ),
                    )
                })?;
                if !kinds.contains(&k) {
                    kinds.push(k);
                }
            }
            Some(kinds)
        };
    }
    Ok(f)
}

/// The event names a filter delivers (`["*"]`: all).
pub fn event_names(f: &EventFilter) -> Value {
    f.only.as_ref().map_or_else(
        || json!(["*"]),
        |o| json!(o.iter().map(|k| k.as_str()).collect::<Vec<_>>()),
    )
}

/// What the session's filter says, for answers.
pub fn filter_view(f: &EventFilter) -> Value {
    json!({
        "enabled": !f.disabled,
        "ownMessages": f.own_messages,
        "events": event_names(f),
        "inboundMedia": f.inbound_media.map(InboundMediaMode::as_str),
        "rejectCalls": f.reject_calls,
    })
}

/// With `sessionId`: that session's webhook. Without: the default webhook (admin only).
#[utoipa::path(post, path = "/configure", tag = "webhooks",
    summary = "Set a session's webhook and which events it gets, or the default webhook",
    description = "With `sessionId`: the session's webhook changes when `url` is given, or \
        when nothing else is (`{ sessionId }` alone clears it); `enabled`, `events`, \
        `ownMessages`, `inboundMedia` and `rejectCalls` change its filter. Without \
        `sessionId` (admin keys only): `url` and `secret` set the default webhook, where the \
        events of sessions without a webhook of their own go.",
    request_body = ConfigureBody,
    responses((status = 200, description = "The webhook as it now is",
        body = schemas::WebhookConfig)))]
async fn configure(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<ConfigureBody>,
) -> ApiResult<axum::Json<Value>> {
    if let Some(url) = &body.url {
        wagate_core::validate_webhook_url("url", url)?;
    }
    match &body.session_id {
        Some(id) => {
            let s = load_session(&state, &caller, id).await?;
            let change = body.filter_change();
            let filter_given = !change.is_empty();
            let filter = event_filter(&s.events, change)?;
            // The webhook itself changes when given, or when nothing else is (`{ sessionId }`
            // alone clears it, as before).
            let (url, secret) = if body.url.is_some() || !filter_given {
                state
                    .store
                    .set_session_webhook(&s.id, body.url.as_deref(), body.secret.as_deref())
                    .await?;
                (body.url.clone(), body.secret.is_some())
            } else {
                (s.webhook_url.clone(), s.webhook_secret.is_some())
            };
            if filter != s.events {
                state.store.set_session_events(&s.id, &filter).await?;
            }
            let mut v = json!({
                "sessionId": s.id,
                "webhookUrl": url,
                "hasWebhookSecret": secret,
            });
            if let (Value::Object(m), Value::Object(f)) = (&mut v, filter_view(&filter)) {
                m.extend(f);
            }
            Ok(axum::Json(v))
        }
        None if !body.filter_change().is_empty() => Err(ApiError::bad_request(
            "validation_error",
            "enabled, events, ownMessages, inboundMedia, rejectCalls: apply to one \
                 session; give its sessionId",
        )),
        None if caller.is_admin() => {
            let url = body.url.clone().ok_or_else(|| {
                ApiError::bad_request("validation_error", "url: required for the default webhook")
            })?;
            let setting = WebhookSetting {
                url,
                secret: body.secret.clone(),
            };
            let value = serde_json::to_value(&setting).map_err(ApiError::internal)?;
            state.store.set_config(DEFAULT_WEBHOOK, &value).await?;
            Ok(axum::Json(
                json!({ "default": true, "webhookUrl": setting.url, "hasWebhookSecret": setting.secret.is_some() }),
            ))
        }
        None => Err(ApiError::bad_request(
            "validation_error",
            "sessionId: required (only admins set the default webhook)",
        )),
    }
}
