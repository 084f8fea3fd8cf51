//! What the supervisor hands every runner: the ports, the host's settings and the connector.

use std::fmt;
use std::sync::Arc;

use wagate_core::ports::{Blobs, Queue, Store};

use crate::config::HostConfig;
use crate::connector::Connector;

/// The storage the session host works with.
#[derive(Clone)]
pub struct HostDeps {
    /// Sessions, jobs and their states.
    pub store: Arc<dyn Store>,
    /// The control, events and per-session send queues.
    pub queue: Arc<dyn Queue>,
    /// Credentials under `sessions/<id>/`.
    pub blobs: Arc<dyn Blobs>,
}

impl fmt::Debug for HostDeps {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HostDeps").finish_non_exhaustive()
    }
}

/// What every runner shares.
pub struct HostContext {
    pub deps: HostDeps,
    pub config: HostConfig,
    pub connector: Arc<dyn Connector>,
}

impl fmt::Debug for HostContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HostContext")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}
