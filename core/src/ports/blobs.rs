//! Blob storage for media and session credentials: a directory locally, S3 in the cloud.

use async_trait::async_trait;
use bytes::Bytes;

use super::PortResult;

/// Keys are `/`-separated paths of `[A-Za-z0-9._-]` segments (never `..`).
#[async_trait]
pub trait Blobs: Send + Sync + 'static {
    /// Stores `bytes` under `key`, replacing what was there; readers never see a partial blob.
    async fn put(&self, key: &str, bytes: Bytes) -> PortResult<()>;
    async fn get(&self, key: &str) -> PortResult<Option<Bytes>>;
    /// Deleting a missing key is not an error.
    async fn delete(&self, key: &str) -> PortResult<()>;
    async fn list(&self, prefix: &str) -> PortResult<Vec<String>>;
}
