//! `/api/admin`: runtime settings, API keys and dead letters. Admin keys only (the router
//! adds the guard).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use wagate_core::clock::now_ms;
use wagate_core::{ApiKey, ApiKeyRecord, KeyId, Role};

use crate::error::{ApiError, ApiResult};
use crate::extract::Json;
use crate::paging::{PageQuery, page_json};
use crate::settings::{self, DEFAULT_WEBHOOK, RATE_LIMIT, WebhookSetting, validate_setting};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/config", get(get_config).post(set_config))
        .route("/ratelimit", get(get_rate_limit).post(set_rate_limit))
        .route("/webhook", get(get_webhook).post(set_webhook))
        // The seed server's name for it.
        .route("/webhook-default", get(get_webhook).post(set_webhook))
        .route("/keys", get(list_keys).post(create_key))
        .route("/keys/{id}", delete(delete_key))
        .route("/dead-letters", get(dead_letters))
        .route("/dead-letters/{id}/replay", post(replay))
        .route("/dead-sends", get(dead_sends))
        .route("/dead-sends/redrive", post(redrive_sends))
}

/// The settings in force (secrets shown only as `hasSecret`).
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

async fn get_rate_limit(State(state): State<AppState>) -> ApiResult<axum::Json<Value>> {
    let s = state.settings.get(state.store.as_ref()).await?;
    Ok(axum::Json(json!(s.rate_limit)))
}

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

fn key_view(k: &ApiKeyRecord) -> Value {
    json!({ "id": k.id, "role": k.role, "label": k.label, "createdAt": k.created_at })
}

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

#[derive(Debug, Deserialize)]
struct NewKey {
    #[serde(default = "user_role")]
    role: Role,
    #[serde(default)]
    label: String,
}

fn user_role() -> Role {
    Role::User
}

/// Creates a key; the only time its secret is shown.
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

async fn delete_key(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    let key_id = KeyId::from_string(id.clone());
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

#[derive(Debug, Deserialize)]
struct Limit {
    limit: Option<usize>,
}

/// Sends parked after their attempts ran out, oldest first, with their reason; paged like
/// every list route, with the number waiting in the queue (`queued`).
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
