//! How a runner handles its connection going away: a drop it was told of (closed) or one
//! the watchdog found (an open session silent past `SESSION_STALE_MS`, see
//! [`crate::watchdog`]). Either way the drop is recorded in the session's connection history,
//! announced (`session_closed`, after `session_stale` for a silent one) and reconnected.

use std::sync::Arc;
use std::time::Duration;

use wagate_core::SessionStatus;
use wagate_core::clock::now_ms;
use wagate_core::connection_history::{self, DropCause};

use super::{End, Runner};
use crate::connector::Connection;
use crate::events;

impl Runner {
    /// Reconnects `conn` if it has heard nothing from WhatsApp for `stale_after`.
    pub(super) async fn check_stale(
        &mut self,
        conn: &Arc<dyn Connection>,
        stale_after: Duration,
    ) -> Option<End> {
        let last = conn.last_traffic_ms();
        let silent = crate::watchdog::silent_for(last, stale_after, now_ms())?;
        tracing::warn!(
            session_id = %self.session,
            silent_ms = u64::try_from(silent.as_millis()).unwrap_or(u64::MAX),
            "no traffic from WhatsApp: reconnecting"
        );
        wagate_core::measure::stale();
        self.emit(events::session_stale(
            &self.session,
            last.unwrap_or(0),
            silent,
        ))
        .await;
        conn.disconnect().await;
        let reason = format!("stale: nothing from WhatsApp for {} s", silent.as_secs());
        Some(self.dropped(DropCause::Stale, &reason).await)
    }

    /// The connection dropped (closed, or silent): recorded, announced, and reconnected.
    pub(super) async fn dropped(&mut self, cause: DropCause, reason: &str) -> End {
        tracing::info!(session_id = %self.session, %reason, "connection closed");
        wagate_core::measure::disconnect(cause.as_str());
        let store = self.ctx.deps.store.as_ref();
        connection_history::record(store, &self.session, cause, reason, now_ms()).await;
        self.link.send_replace(None);
        self.qr = None;
        self.pairing_code = None;
        self.set_state(SessionStatus::Closed).await;
        self.emit(events::session_closed(&self.session, false, reason))
            .await;
        End::Reconnect
    }
}
