//! The live channel, as the seed server had: a Socket.IO endpoint at `/socket.io/` beside the
//! HTTP API. A client authenticates with its API key in the handshake (`auth: { apiKey }`),
//! joins the rooms of sessions its key may see (`join`, `{ sessionId }` or the id, acked), and
//! receives every event of those sessions by name with the webhook's body — plus the seed's
//! names `ready` (for `session_open`) and `closed` (for `session_closed`).
//!
//! Events come from the dispatcher running in the same process ([`LiveFeed`]): `wagate local`
//! always, `wagate api` with `API_DISPATCH_WEBHOOKS`. The Lambda functions have no live
//! channel (a Lambda cannot hold a socket; webhooks are their channel): they are built without
//! the `live` feature, which leaves Socket.IO out, and a [`LiveFeed`] then feeds nothing.

#[cfg(feature = "live")]
mod socket;

#[cfg(feature = "live")]
pub use socket::layer;
use tokio::sync::broadcast;
use wagate_core::Event;

/// Events waiting for the live channel; a channel further behind than this skips ahead.
const BUFFER: usize = 4096;

/// The events the process's dispatcher receives, for the live channel, and the channel's
/// handle once it is mounted.
#[derive(Debug, Clone)]
pub struct LiveFeed {
    events: broadcast::Sender<Event>,
    #[cfg(feature = "live")]
    io: std::sync::Arc<std::sync::OnceLock<socketioxide::SocketIo>>,
}

impl Default for LiveFeed {
    fn default() -> Self {
        Self {
            events: broadcast::channel(BUFFER).0,
            #[cfg(feature = "live")]
            io: std::sync::Arc::default(),
        }
    }
}

impl LiveFeed {
    /// What the dispatcher sends to ([`wagate_core::dispatch::Dispatcher::with_tap`]).
    pub fn sender(&self) -> broadcast::Sender<Event> {
        self.events.clone()
    }

    /// Disconnects every client (at shutdown: a long-polling client would hold the server's
    /// graceful stop for up to its poll interval).
    pub async fn close(&self) {
        #[cfg(feature = "live")]
        if let Some(io) = self.io.get() {
            io.close().await;
        }
    }
}
