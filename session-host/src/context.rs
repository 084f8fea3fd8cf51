//! What the supervisor hands every runner: the ports, the host's settings and the connector.

use std::sync::Arc;

use wagate_core::ports::{Blobs, Queue, Store};

use crate::config::HostConfig;
use crate::connector::Connector;
use crate::received_media::ReceivedMedia;

/// The storage the session host works with.
#[derive(Debug, Clone)]
pub struct HostDeps {
    /// Sessions, jobs and their states.
    pub store: Arc<dyn Store>,
    /// The control, events and per-session send queues.
    pub queue: Arc<dyn Queue>,
    /// Credentials under `sessions/<id>/`.
    pub blobs: Arc<dyn Blobs>,
}

/// What every runner shares.
#[derive(Debug)]
pub struct HostContext {
    pub deps: HostDeps,
    pub config: HostConfig,
    pub connector: Arc<dyn Connector>,
    /// Downloads of received media.
    pub media: Arc<ReceivedMedia>,
}
