//! Blob storage for media and session credentials: a directory locally, S3 in the cloud.

use async_trait::async_trait;
use bytes::Bytes;

use super::{PortError, PortResult};

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

/// The key rule every adapter enforces: non-empty `/`-separated segments of `[A-Za-z0-9._-]`,
/// none `.` or `..`, so no key can escape a directory or mean different things on S3 and disk.
pub fn check_blob_key(key: &str) -> PortResult<()> {
    let ok = !key.is_empty()
        && key.split('/').all(|seg| {
            !seg.is_empty()
                && seg != "."
                && seg != ".."
                && seg
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
        });
    if ok {
        Ok(())
    } else {
        Err(PortError::Backend(anyhow::anyhow!(
            "invalid blob key {key:?}: expected `/`-separated segments of [A-Za-z0-9._-], \
             none empty, `.` or `..`"
        )))
    }
}
