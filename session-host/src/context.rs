//! What the supervisor hands every runner: the ports, the host's settings and the connector.

use std::sync::Arc;

use wagate_core::ports::{Blobs, OneByOne, Queue, Store, WriteBatch};

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
    /// Writes of the store and the queues that go together (a send worker's batch).
    pub batch: Arc<dyn WriteBatch>,
}

impl HostDeps {
    /// The ports, a batch's writes made one by one with the store's and the queue's calls.
    pub fn new(store: Arc<dyn Store>, queue: Arc<dyn Queue>, blobs: Arc<dyn Blobs>) -> Self {
        Self {
            batch: Arc::new(OneByOne::new(store.clone(), queue.clone())),
            store,
            queue,
            blobs,
        }
    }

    /// With a backend's own batch of writes (one transaction on the embedded store).
    #[must_use]
    pub fn with_batch(mut self, batch: Arc<dyn WriteBatch>) -> Self {
        self.batch = batch;
        self
    }
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
