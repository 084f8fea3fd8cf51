//! The API's routes, one module per concern.

pub mod actions;
pub mod admin;
mod body;
pub mod contacts;
pub mod dev;
pub mod file_upload;
pub mod groups;
pub mod health;
pub mod messages;
pub mod presigned;
pub mod queries;
pub mod received_media;
pub mod sessions;
pub mod status;
pub mod webhooks;

use wagate_core::ports::names;
use wagate_core::simulator::ControlMessage;

use crate::error::ApiResult;
use crate::state::AppState;

/// Sends a command to the session host through the control queue (a
/// [`HostCommand`](wagate_core::HostCommand), or a
/// simulator command from the dev routes), in the session's own group: commands keep their
/// order per session, and one a host hands back (for the host running the session) holds up
/// no other session's.
pub async fn send_command(state: &AppState, cmd: impl Into<ControlMessage>) -> ApiResult<()> {
    let cmd: ControlMessage = cmd.into();
    let body = serde_json::to_string(&cmd).map_err(crate::error::ApiError::internal)?;
    let dedup = wagate_core::random_token(24);
    state
        .queue
        .send_in_group(names::CONTROL, cmd.session_id().as_str(), &dedup, &body)
        .await?;
    Ok(())
}
