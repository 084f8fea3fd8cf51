//! `/api/admin`: runtime settings, API keys and dead letters. Admin keys only (the router
//! adds the guard).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use wagate_core::clock::now_ms;
use wagate_core::{ApiKey, ApiKeyRecord, KeyId, Role};

use crate::error::{ApiError, ApiResult};
use crate::extract::Json;
use crate::openapi::schemas;
use crate::paging::{PageQuery, page_json};
use crate::settings::{self, DEFAULT_WEBHOOK, RATE_LIMIT, WebhookSetting, validate_setting};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_config, set_config))
        .routes(routes!(get_rate_limit, set_rate_limit))
        .routes(routes!(get_webhook, set_webhook))
        // The seed server's name for it.
        .routes(routes!(get_webhook_default, set_webhook_default))
        .routes(routes!(list_keys, create_key))
        .routes(routes!(delete_key))
        .routes(routes!(dead_letters))
        .routes(routes!(replay))
        .routes(routes!(dead_sends))
        .routes(routes!(redrive_sends))
}

/// The settings in force (secrets shown only as `hasSecret`).
#[utoipa::path(get, path = "/config", tag = "admin",
    summary = "The runtime settings in force: rate limit, quota, cooldown, sessions per key, default webhook",
    responses((status = 200, description = "The settings", body = schemas::AdminConfig)))]
async fn get_config(State(state): State<AppState>) -> ApiResult<axum::Json<Value>> {
    let s = state.settings.get(state.store.as_ref()).await?;
    let webhook: Option<WebhookSetting> = state
        .store
        .get_config(DEFAULT_WEBHOOK)
        .await?
        .and_then(|v| serde_json::from_value(v).ok());
    Ok(axum::Json(json!({
        settings::RATE_LIMIT: s.rate_limit,
        settings::QUOTA: s.quota,
        settings::COOLDOWN_MS: s.cooldown_ms,
        settings::SESSIONS_PER_KEY: s.sessions_per_key,
        DEFAULT_WEBHOOK: webhook.map(|w| json!({ "url": w.url, "hasSecret": w.secret.is_some() })),
    })))
}

/// Sets any of `rateLimit`, `quota`, `cooldownMs`, `sessionsPerKey`, `defaultWebhook`; all
/// are checked before
/// any is stored.
#[utoipa::path(post, path = "/config", tag = "admin",
    summary = "Change runtime settings (every process sees the change within a second)",
    description = "Give one or more of `rateLimit`, `quota`, `cooldownMs`, `sessionsPerKey`, \
        `defaultWebhook`; all are checked before any is stored. Answers with the settings \
        now in force.",
    request_body = schemas::ConfigChange,
    responses((status = 200, description = "The settings", body = schemas::AdminConfig)))]
async fn set_config(
    State(state): State<AppState>,
    Json(body): Json<Map<String, Value>>,
) -> ApiResult<axum::Json<Value>> {
    if body.is_empty() {
        return Err(ApiError::bad_request(
            "validation_error",
            "give at least one setting",
        ));
    }
    for (k, v) in &body {
        validate_setting(k, v).map_err(|m| ApiError::bad_request("validation_error", m))?;
    }
    for (k, v) in &body {
        state.store.set_config(k, v).await?;
    }
    state.settings.invalidate();
    get_config(State(state)).await
}

#[utoipa::path(get, path = "/ratelimit", tag = "admin",
    summary = "The rate limit in force (requests per key per window)",
    responses((status = 200, description = "The rate limit", body = schemas::RateLimit)))]
async fn get_rate_limit(State(state): State<AppState>) -> ApiResult<axum::Json<Value>> {
    let s = state.settings.get(state.store.as_ref()).await?;
    Ok(axum::Json(json!(s.rate_limit)))
}

#[utoipa::path(post, path = "/ratelimit", tag = "admin",
    summary = "Set the rate limit",
    request_body = schemas::RateLimitSetting,
    responses((status = 200, description = "The rate limit now in force",
        body = schemas::RateLimit)))]
async fn set_rate_limit(
    State(state): State<AppState>,
    Json(body): Json<Value>,
) -> ApiResult<axum::Json<Value>> {
    validate_setting(RATE_LIMIT, &body)
        .map_err(|m| ApiError::bad_request("validation_error", m))?;
    state.store.set_config(RATE_LIMIT, &body).await?;
    state.settings.invalidate();
    get_rate_limit(State(state)).await
}

#[utoipa::path(get, path = "/webhook", tag = "admin",
    summary = "The default webhook (for sessions without one of their own)",
    responses((status = 200, description = "The default webhook", body = schemas::DefaultWebhook)))]
async fn get_webhook(State(state): State<AppState>) -> ApiResult<axum::Json<Value>> {
    let w: Option<WebhookSetting> = state
        .store
        .get_config(DEFAULT_WEBHOOK)
        .await?
        .and_then(|v| serde_json::from_value(v).ok());
    Ok(axum::Json(
        json!({ "webhookUrl": w.as_ref().map(|w| &w.url), "hasWebhookSecret": w.is_some_and(|w| w.secret.is_some()) }),
    ))
}

#[utoipa::path(post, path = "/webhook", tag = "admin",
    summary = "Set the default webhook (for sessions without one of their own)",
    description = "`{ url, secret? }`; the seed server's `{ webhookUrl, webhookSecret? }` is \
        accepted too.",
    request_body = schemas::DefaultWebhookSetting,
    responses((status = 200, description = "The default webhook", body = schemas::DefaultWebhook)))]
async fn set_webhook(
    State(state): State<AppState>,
    Json(body): Json<Value>,
) -> ApiResult<axum::Json<Value>> {
    // Accept the seed's `{ webhookUrl, webhookSecret }` as well as `{ url, secret }`.
    let pick = |a: &str, b: &str| body.get(a).or_else(|| body.get(b)).cloned();
    let value =
        json!({ "url": pick("url", "webhookUrl"), "secret": pick("secret", "webhookSecret") });
    let value = match value {
        Value::Object(mut m) => {
            m.retain(|_, v| !v.is_null());
            Value::Object(m)
        }
        other => other,
    };
    validate_setting(DEFAULT_WEBHOOK, &value)
        .map_err(|m| ApiError::bad_request("validation_error", m))?;
    state.store.set_config(DEFAULT_WEBHOOK, &value).await?;
    get_webhook(State(state)).await
}

/// `GET /webhook-default`: the seed server's path for `GET /webhook`.
#[utoipa::path(get, path = "/webhook-default", tag = "admin",
    summary = "The default webhook (the same as /webhook)",
    responses((status = 200, description = "The default webhook", body = schemas::DefaultWebhook)))]
async fn get_webhook_default(state: State<AppState>) -> ApiResult<axum::Json<Value>> {
    get_webhook(state).await
}

/// `POST /webhook-default`: the seed server's path for `POST /webhook`.
#[utoipa::path(post, path = "/webhook-default", tag = "admin",
    summary = "Set the default webhook (the same as /webhook)",
    request_body = schemas::DefaultWebhookSetting,
    responses((status = 200, description = "The default webhook", body = schemas::DefaultWebhook)))]
async fn set_webhook_default(
    state: State<AppState>,
    body: Json<Value>,
) -> ApiResult<axum::Json<Value>> {
    set_webhook(state, body).await
}

fn key_view(k: &ApiKeyRecord) -> Value {
    json!({ "id": k.id, "role": k.role, "label": k.label, "createdAt": k.created_at })
}

#[utoipa::path(get, path = "/keys", tag = "admin",
    summary = "The API keys (never the keys themselves), a page at a time",
    params(
        PageQuery,
    ),
    responses((status = 200, description = "A page of keys", body = schemas::KeyPage)))]
async fn list_keys(
    State(state): State<AppState>,
    crate::extract::Query(q): crate::extract::Query<PageQuery>,
) -> ApiResult<axum::Json<Value>> {
    let page = q.parse()?;
    let keys = state
        .store
        .list_api_keys(page.after.as_deref(), page.limit)
        .await?;
    Ok(page_json("keys", &keys, key_view))
}

#[derive(Debug, Deserialize, ToSchema)]
struct NewKey {
    /// `user` (the default) or `admin`.
    #[serde(default = "user_role")]
    #[schema(value_type = schemas::KeyRole)]
    role: Role,
    /// A note on whose key it is: at most 100 bytes.
    #[serde(default)]
    #[schema(max_length = 100)]
    label: String,
}

fn user_role() -> Role {
    Role::User
}

/// Creates a key; the only time its secret is shown.
#[utoipa::path(post, path = "/keys", tag = "admin",
    summary = "Create an API key (the answer is the only time the key is shown)",
    request_body = NewKey,
    responses((status = 201, description = "Created", body = schemas::NewApiKey)))]
async fn create_key(
    State(state): State<AppState>,
    Json(body): Json<NewKey>,
) -> ApiResult<Response> {
    if body.label.len() > 100 {
        return Err(ApiError::bad_request(
            "validation_error",
            "label: at most 100 characters",
        ));
    }
    let key = ApiKey::generate();
    let rec = ApiKeyRecord::new(&key, body.role, body.label, now_ms());
    state.store.put_api_key(&rec).await?;
    let mut view = key_view(&rec);
    view["key"] = json!(key.expose());
    Ok((StatusCode::CREATED, axum::Json(view)).into_response())
}

#[utoipa::path(delete, path = "/keys/{id}", tag = "admin",
    summary = "Delete an API key: it stops working at once (not one of the configuration's)",
    params(("id" = String, Path, description = "The key's id (as listed)")),
    responses((status = 200, description = "Deleted", body = schemas::KeyDeleted)))]
async fn delete_key(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    let key_id = KeyId::from_string(id.clone());
    if state.keys.is_configured(&key_id) {
        return Err(ApiError::conflict(
            "key_configured",
            format!(
                "key '{id}' comes from the configuration (ADMIN_API_KEY or USER_API_KEYS); remove it there and restart"
            ),
        ));
    }
    state.keys.forget(&key_id);
    if !state.store.delete_api_key(&key_id).await? {
        return Err(ApiError::not_found(
            "key_not_found",
            format!("key '{id}' not found"),
        ));
    }
    Ok(axum::Json(json!({ "id": id, "deleted": true })))
}

/// Dead letters, oldest first, a page at a time.
#[utoipa::path(get, path = "/dead-letters", tag = "admin",
    summary = "Events whose webhook deliveries all failed, oldest first",
    params(
        PageQuery,
    ),
    responses((status = 200, description = "A page of dead letters",
        body = schemas::DeadLetterPage)))]
async fn dead_letters(
    State(state): State<AppState>,
    crate::extract::Query(q): crate::extract::Query<PageQuery>,
) -> ApiResult<axum::Json<Value>> {
    let page = q.parse()?;
    let list = state
        .store
        .list_dead_letters(page.after.as_deref(), page.limit)
        .await?;
    Ok(page_json("deadLetters", &list, |d| json!(d)))
}

/// Puts a dead letter back on the events queue for another round of delivery attempts.
#[utoipa::path(post, path = "/dead-letters/{id}/replay", tag = "admin",
    summary = "Deliver a dead letter again (another round of attempts)",
    params(("id" = String, Path, description = "The dead letter's (event's) id")),
    responses((status = 200, description = "Back on the events queue",
        body = schemas::DeadLetterReplayed)))]
async fn replay(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    if !wagate_core::dispatch::replay(state.store.as_ref(), state.queue.as_ref(), &id).await? {
        return Err(ApiError::not_found(
            "dead_letter_not_found",
            format!("dead letter '{id}' not found"),
        ));
    }
    Ok(axum::Json(json!({ "id": id, "replayed": true })))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct Limit {
    /// The most sends to move (default 100; taken within 1 to 1000).
    limit: Option<usize>,
}

/// Sends parked after their attempts ran out, oldest first, with their reason; paged like
/// every list route, with the number waiting in the queue (`queued`).
#[utoipa::path(get, path = "/dead-sends", tag = "admin",
    summary = "Sends parked after their attempts ran out, oldest first, with their error",
    params(
        PageQuery,
    ),
    responses((status = 200, description = "A page of parked sends' jobs",
        body = schemas::DeadSendPage)))]
async fn dead_sends(
    State(state): State<AppState>,
    crate::extract::Query(q): crate::extract::Query<PageQuery>,
) -> ApiResult<axum::Json<Value>> {
    let page = q.parse()?;
    let jobs =
        wagate_core::dead_sends::list(state.store.as_ref(), page.after.as_deref(), page.limit)
            .await?;
    let queued = match state
        .queue
        .depth(wagate_core::ports::names::DEAD_SENDS)
        .await
    {
        Ok(n) => n,
        Err(wagate_core::ports::PortError::NotFound(_)) => 0,
        Err(e) => return Err(e.into()),
    };
    let axum::Json(mut body) = page_json("jobs", &jobs, crate::send::job_view);
    body["queued"] = json!(queued);
    Ok(axum::Json(body))
}

/// Puts parked sends back on their sessions' queues (`?limit=`, default 100, at most 1000).
#[utoipa::path(post, path = "/dead-sends/redrive", tag = "admin",
    summary = "Put parked sends back on their sessions' queues",
    params(Limit),
    responses((status = 200, description = "What was moved", body = schemas::Redriven)))]
async fn redrive_sends(
    State(state): State<AppState>,
    crate::extract::Query(q): crate::extract::Query<Limit>,
) -> ApiResult<axum::Json<Value>> {
    let report = wagate_core::dead_sends::redrive(
        state.store.as_ref(),
        state.queue.as_ref(),
        q.limit.unwrap_or(100).clamp(1, 1000),
    )
    .await?;
    Ok(axum::Json(json!(report)))
}
