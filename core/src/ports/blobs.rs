//! Blob storage for media and session credentials: a directory locally, S3 in the cloud.

use async_trait::async_trait;
use bytes::Bytes;

use super::{PortError, PortResult};

/// Keys are `/`-separated paths of `[A-Za-z0-9._-]` segments (never `..`).
#[async_trait]
pub trait Blobs: std::fmt::Debug + Send + Sync + 'static {
    /// Stores `bytes` under `key`, replacing what was there; readers never see a partial blob.
    async fn put(&self, key: &str, bytes: Bytes) -> PortResult<()>;
    async fn get(&self, key: &str) -> PortResult<Option<Bytes>>;
    /// Deleting a missing key is not an error.
    async fn delete(&self, key: &str) -> PortResult<()>;
    async fn list(&self, prefix: &str) -> PortResult<Vec<String>>;
    /// Starts a streamed write of `key`: the blob appears only when the writer finishes, and
    /// a writer dropped or aborted before that leaves nothing behind. Memory use stays at one
    /// part (S3) or one chunk (files), whatever the blob's size.
    async fn writer(&self, key: &str) -> PortResult<Box<dyn BlobWriter>>;
    /// The size of the blob `key`, or `None` when there is none.
    async fn size(&self, key: &str) -> PortResult<Option<u64>> {
        Ok(self.get(key).await?.map(|b| b.len() as u64))
    }
    /// At most the first `len` bytes of the blob `key` (to sniff its type without reading it
    /// all), or `None` when there is none.
    async fn get_prefix(&self, key: &str, len: usize) -> PortResult<Option<Bytes>> {
        Ok(self.get(key).await?.map(|b| b.slice(..len.min(b.len()))))
    }
    /// A URL through which a client can PUT the blob `key` itself (large media past the API's
    /// body limit), valid for `ttl`. `None` when this store cannot sign URLs (the embedded
    /// one), so the API has to take the upload itself.
    async fn presign_put(
        &self,
        key: &str,
        content_type: &str,
        ttl: std::time::Duration,
    ) -> PortResult<Option<PresignedPut>> {
        let _ = (key, content_type, ttl);
        Ok(None)
    }
    /// A URL through which anyone holding it can GET the blob `key` for `ttl`; `None` when
    /// this store cannot sign URLs (the embedded one).
    async fn presign_get(
        &self,
        key: &str,
        ttl: std::time::Duration,
    ) -> PortResult<Option<PresignedGet>> {
        let _ = (key, ttl);
        Ok(None)
    }
    /// The blob `key` as a stream of chunks and its size, or `None` when there is none, so a
    /// large file is served without being held in memory.
    async fn read_stream(&self, key: &str) -> PortResult<Option<(u64, BlobStream)>> {
        Ok(self.get(key).await?.map(|b| {
            let len = b.len() as u64;
            let s: BlobStream = Box::pin(futures::stream::once(async move { Ok(b) }));
            (len, s)
        }))
    }
}

/// The chunks of a blob being read.
pub type BlobStream = std::pin::Pin<Box<dyn futures::Stream<Item = PortResult<Bytes>> + Send>>;

/// A signed download: `GET url` until `expires_at_ms` (ms since epoch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresignedGet {
    pub url: String,
    pub expires_at_ms: i64,
}

/// A blob being written (see [`Blobs::writer`]).
#[async_trait]
pub trait BlobWriter: Send {
    async fn write(&mut self, chunk: Bytes) -> PortResult<()>;
    /// Makes the blob visible under its key; returns its size in bytes.
    async fn finish(self: Box<Self>) -> PortResult<u64>;
    /// Throws away what was written.
    async fn abort(self: Box<Self>);
}

/// A signed upload: `PUT url` with exactly these headers and the bytes as the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresignedPut {
    pub url: String,
    pub headers: Vec<(String, String)>,
    /// When the signature stops working (ms since epoch).
    pub expires_at_ms: i64,
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
