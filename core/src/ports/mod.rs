//! The ports: what wagate needs from storage, as traits. The embedded adapters
//! (`adapters::local`) and the AWS adapters implement the same traits and pass the same
//! contract suite.

mod batch;
mod blobs;
mod intake;
mod queue;
mod store;

pub use batch::{OneByOne, Write, WriteBatch};
pub use blobs::{BlobStream, BlobWriter, Blobs, PresignedGet, PresignedPut, check_blob_key};
pub use intake::{Admission, Admitted, Intake, Sequential, SessionCheck, Verdict};
pub use queue::{
    Queue, QueueKind, QueueMessage, QueueSpec, enqueue_send, ensure_shared_queues, names,
};
pub use store::{CounterHit, DeadLetter, Page, ParkedSend, Store, time_key};

/// What can go wrong in an adapter. `Throttled` is worth retrying soon (the API answers 503
/// with `Retry-After`); anything else is an internal error.
#[derive(Debug, thiserror::Error)]
pub enum PortError {
    #[error("backend throttled the request")]
    Throttled,
    #[error("{0} not found")]
    NotFound(String),
    #[error(transparent)]
    Backend(#[from] anyhow::Error),
}

pub type PortResult<T> = Result<T, PortError>;
