//! The API's routes, one module per concern.

pub mod admin;
mod body;
pub mod dev;
pub mod health;
pub mod messages;
pub mod sessions;
pub mod upload;
pub mod uploads;
pub mod webhooks;

use wagate_core::ports::names;
use wagate_core::{HostCommand, ValidationError};

use crate::error::ApiResult;
use crate::state::AppState;

/// Sends a command to the session host through the control queue.
pub async fn send_command(state: &AppState, cmd: HostCommand) -> ApiResult<()> {
    let body = serde_json::to_string(&cmd).map_err(crate::error::ApiError::internal)?;
    let dedup = wagate_core::random_token(24);
    state.queue.send(names::CONTROL, &dedup, &body).await?;
    Ok(())
}

/// A webhook must be an absolute http(s) URL. Private addresses are allowed on purpose: the
/// receiving app often sits next to wagate on a private network.
pub fn validate_webhook_url(field: &'static str, raw: &str) -> Result<(), ValidationError> {
    wagate_core::validate_media_url(field, raw)
}
