//! `POST /api/webhooks/configure`: where a session's events go.

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::caller::Caller;
use crate::caller::load_session;
use crate::error::{ApiError, ApiResult};
use crate::extract::Json;
use crate::settings::{DEFAULT_WEBHOOK, WebhookSetting};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/configure", post(configure))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConfigureBody {
    #[serde(default)]
    session_id: Option<String>,
    /// `null` or absent clears the session's webhook (events then go to the default one).
    #[serde(default, alias = "webhookUrl")]
    url: Option<String>,
    #[serde(default, alias = "webhookSecret")]
    secret: Option<String>,
}

/// With `sessionId`: that session's webhook. Without: the default webhook (admin only).
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
            state
                .store
                .set_session_webhook(&s.id, body.url.as_deref(), body.secret.as_deref())
                .await?;
            Ok(axum::Json(json!({
                "sessionId": s.id,
                "webhookUrl": body.url,
                "hasWebhookSecret": body.secret.is_some(),
            })))
        }
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
