//! The `Blobs` port on S3. Objects are written with server-side encryption (credentials live
//! here too); keys are checked with the same rule as the embedded adapter so both behave alike.

use async_trait::async_trait;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use bytes::Bytes;
use wagate_core::ports::{
    BlobStream, BlobWriter, Blobs, PortError, PortResult, PresignedGet, PresignedPut,
    check_blob_key,
};

use crate::AwsSettings;

#[derive(Debug, Clone)]
pub struct S3Blobs {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl S3Blobs {
    pub fn new(settings: &AwsSettings) -> Self {
        let conf = aws_sdk_s3::config::Builder::from(&settings.sdk)
            .force_path_style(settings.names.endpoint.is_some())
            .build();
        Self {
            client: aws_sdk_s3::Client::from_conf(conf),
            bucket: settings.names.bucket.clone(),
        }
    }

    /// Creates the bucket if it does not exist (provisioning and tests).
    pub async fn ensure_bucket(&self) -> PortResult<()> {
        if self
            .client
            .head_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .is_ok()
        {
            return Ok(());
        }
        match self
            .client
            .create_bucket()
            .bucket(&self.bucket)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_bucket_already_owned_by_you()) =>
            {
                Ok(())
            }
            Err(e) => Err(backend(e)),
        }
    }
}

fn backend(e: impl std::error::Error + Send + Sync + 'static) -> PortError {
    let text = aws_error_text(&e);
    if text.contains("Throttl") || text.contains("SlowDown") {
        return PortError::Throttled;
    }
    PortError::Backend(anyhow::Error::new(e).context(text))
}

/// The error with its sources, for logs (the SDK's Display is terse).
pub(crate) fn aws_error_text(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        out.push_str(": ");
        out.push_str(&s.to_string());
        src = s.source();
    }
    out
}

/// Parts of a streamed upload. S3 wants at least 5 MiB for every part but the last; 8 MiB
/// keeps a 100 MiB file at 13 requests while bounding memory to one part.
const PART_BYTES: usize = 8 * 1024 * 1024;

/// A streamed write: one `PutObject` when the blob fits in one part, else a multipart upload
/// that is completed at `finish` and aborted when the writer is dropped or aborted.
#[derive(Debug)]
struct S3Writer {
    client: aws_sdk_s3::Client,
    bucket: String,
    key: String,
    buf: Vec<u8>,
    upload_id: Option<String>,
    parts: Vec<CompletedPart>,
    written: u64,
    done: bool,
}

impl S3Writer {
    async fn flush_part(&mut self) -> PortResult<()> {
        let upload_id = match &self.upload_id {
            Some(id) => id.clone(),
            None => {
                let out = self
                    .client
                    .create_multipart_upload()
                    .bucket(&self.bucket)
                    .key(&self.key)
                    .server_side_encryption(ServerSideEncryption::Aes256)
                    .send()
                    .await
                    .map_err(backend)?;
                let id = out.upload_id().unwrap_or_default().to_owned();
                self.upload_id = Some(id.clone());
                id
            }
        };
        let number = i32::try_from(self.parts.len() + 1).unwrap_or(i32::MAX);
        let body = std::mem::take(&mut self.buf);
        let out = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(&upload_id)
            .part_number(number)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(backend)?;
        self.parts.push(
            CompletedPart::builder()
                .part_number(number)
                .set_e_tag(out.e_tag().map(str::to_owned))
                .build(),
        );
        Ok(())
    }

    async fn abort_upload(&mut self) {
        self.done = true;
        if let Some(id) = self.upload_id.take()
            && let Err(e) = self
                .client
                .abort_multipart_upload()
                .bucket(&self.bucket)
                .key(&self.key)
                .upload_id(id)
                .send()
                .await
        {
            tracing::warn!(key = %self.key, error = %aws_error_text(&e), "could not abort a multipart upload");
        }
    }
}

impl Drop for S3Writer {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        // Dropped mid-upload (a client gone, a request cancelled): abort in the background so
        // the parts do not linger. The bucket's lifecycle rule catches what this misses.
        if let (Some(id), Ok(rt)) = (self.upload_id.take(), tokio::runtime::Handle::try_current()) {
            let req = self
                .client
                .abort_multipart_upload()
                .bucket(&self.bucket)
                .key(&self.key)
                .upload_id(id);
            rt.spawn(async move {
                let _ = req.send().await;
            });
        }
    }
}

#[async_trait]
impl BlobWriter for S3Writer {
    async fn write(&mut self, chunk: Bytes) -> PortResult<()> {
        self.written += chunk.len() as u64;
        let mut rest = chunk.as_ref();
        while !rest.is_empty() {
            let room = PART_BYTES - self.buf.len();
            let take = room.min(rest.len());
            self.buf.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.buf.len() == PART_BYTES {
                self.flush_part().await?;
            }
        }
        Ok(())
    }

    async fn finish(mut self: Box<Self>) -> PortResult<u64> {
        let Some(upload_id) = self.upload_id.clone() else {
            let body = std::mem::take(&mut self.buf);
            self.client
                .put_object()
                .bucket(&self.bucket)
                .key(&self.key)
                .body(ByteStream::from(body))
                .server_side_encryption(ServerSideEncryption::Aes256)
                .send()
                .await
                .map_err(backend)?;
            self.done = true;
            return Ok(self.written);
        };
        let result = async {
            if !self.buf.is_empty() {
                self.flush_part().await?;
            }
            self.client
                .complete_multipart_upload()
                .bucket(&self.bucket)
                .key(&self.key)
                .upload_id(&upload_id)
                .multipart_upload(
                    CompletedMultipartUpload::builder()
                        .set_parts(Some(self.parts.clone()))
                        .build(),
                )
                .send()
                .await
                .map_err(backend)?;
            Ok::<_, PortError>(())
        }
        .await;
        match result {
            Ok(()) => {
                self.done = true;
                Ok(self.written)
            }
            Err(e) => {
                self.abort_upload().await;
                Err(e)
            }
        }
    }

    async fn abort(mut self: Box<Self>) {
        self.abort_upload().await;
    }
}

#[async_trait]
impl Blobs for S3Blobs {
    async fn put(&self, key: &str, bytes: Bytes) -> PortResult<()> {
        check_blob_key(key)?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(ByteStream::from(bytes))
            .server_side_encryption(ServerSideEncryption::Aes256)
            .send()
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn get(&self, key: &str) -> PortResult<Option<Bytes>> {
        check_blob_key(key)?;
        match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => {
                let data = out
                    .body
                    .collect()
                    .await
                    .map_err(|e| PortError::Backend(anyhow::anyhow!("reading {key}: {e}")))?;
                Ok(Some(data.into_bytes()))
            }
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => Ok(None),
            Err(e) => Err(backend(e)),
        }
    }

    async fn writer(&self, key: &str) -> PortResult<Box<dyn BlobWriter>> {
        check_blob_key(key)?;
        Ok(Box::new(S3Writer {
            client: self.client.clone(),
            bucket: self.bucket.clone(),
            key: key.to_owned(),
            buf: Vec::new(),
            upload_id: None,
            parts: Vec::new(),
            written: 0,
            done: false,
        }))
    }

    async fn size(&self, key: &str) -> PortResult<Option<u64>> {
        check_blob_key(key)?;
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => Ok(Some(
                out.content_length()
                    .and_then(|n| u64::try_from(n).ok())
                    .unwrap_or(0),
            )),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(None),
            Err(e) => Err(backend(e)),
        }
    }

    async fn get_prefix(&self, key: &str, len: usize) -> PortResult<Option<Bytes>> {
        check_blob_key(key)?;
        if len == 0 {
            return Ok(self.size(key).await?.map(|_| Bytes::new()));
        }
        match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .range(format!("bytes=0-{}", len - 1))
            .send()
            .await
        {
            Ok(out) => {
                // Into one buffer of the object's size: a large prefix (a whole upload read to
                // pin it) then costs one copy of memory, not the parts and then their join.
                let expected = out
                    .content_length()
                    .and_then(|n| usize::try_from(n).ok())
                    .unwrap_or(0);
                let mut buf = Vec::with_capacity(expected.min(len));
                let mut body = out.body;
                while buf.len() < len {
                    let Some(chunk) = body
                        .try_next()
                        .await
                        .map_err(|e| PortError::Backend(anyhow::anyhow!("reading {key}: {e}")))?
                    else {
                        break;
                    };
                    let take = chunk.len().min(len - buf.len());
                    buf.extend_from_slice(&chunk[..take]);
                }
                Ok(Some(Bytes::from(buf)))
            }
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => Ok(None),
            // An empty object has no byte 0 to range over.
            Err(e) if aws_error_text(&e).contains("InvalidRange") => {
                Ok(self.size(key).await?.map(|_| Bytes::new()))
            }
            Err(e) => Err(backend(e)),
        }
    }

    async fn delete(&self, key: &str) -> PortResult<()> {
        check_blob_key(key)?;
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn list(&self, prefix: &str) -> PortResult<Vec<String>> {
        let mut keys = Vec::new();
        let mut token = None;
        loop {
            let out = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(prefix)
                .set_continuation_token(token)
                .send()
                .await
                .map_err(backend)?;
            keys.extend(
                out.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_owned)),
            );
            match out.next_continuation_token() {
                Some(t) if out.is_truncated() == Some(true) => token = Some(t.to_owned()),
                _ => break,
            }
        }
        keys.sort();
        Ok(keys)
    }

    async fn presign_put(
        &self,
        key: &str,
        content_type: &str,
        ttl: std::time::Duration,
    ) -> PortResult<Option<PresignedPut>> {
        check_blob_key(key)?;
        let config = presigning(key, ttl)?;
        let signed = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .server_side_encryption(ServerSideEncryption::Aes256)
            .presigned(config)
            .await
            .map_err(backend)?;
        Ok(Some(PresignedPut {
            url: signed.uri().to_owned(),
            headers: signed
                .headers()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            expires_at_ms: expires_at_ms(ttl),
        }))
    }

    async fn presign_get(
        &self,
        key: &str,
        ttl: std::time::Duration,
    ) -> PortResult<Option<PresignedGet>> {
        check_blob_key(key)?;
        let config = presigning(key, ttl)?;
        let signed = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(config)
            .await
            .map_err(backend)?;
        Ok(Some(PresignedGet {
            url: signed.uri().to_owned(),
            expires_at_ms: expires_at_ms(ttl),
        }))
    }

    async fn read_stream(&self, key: &str) -> PortResult<Option<(u64, BlobStream)>> {
        check_blob_key(key)?;
        let out = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok(None),
            Err(e) => return Err(backend(e)),
        };
        let len = out
            .content_length()
            .and_then(|l| u64::try_from(l).ok())
            .unwrap_or(0);
        let key = key.to_owned();
        let chunks = futures::stream::unfold(Some(out.body), move |body| {
            let key = key.clone();
            async move {
                let mut body = body?;
                match body.next().await {
                    None => None,
                    Some(Ok(b)) => Some((Ok(b), Some(body))),
                    Some(Err(e)) => Some((
                        Err(PortError::Backend(anyhow::anyhow!("reading {key}: {e}"))),
                        None,
                    )),
                }
            }
        });
        Ok(Some((len, Box::pin(chunks))))
    }
}

fn presigning(key: &str, ttl: std::time::Duration) -> PortResult<PresigningConfig> {
    PresigningConfig::expires_in(ttl)
        .map_err(|e| PortError::Backend(anyhow::anyhow!("presigning {key}: {e}")))
}

/// When a URL presigned now for `ttl` stops working (ms since epoch).
fn expires_at_ms(ttl: std::time::Duration) -> i64 {
    wagate_core::clock::now_ms().saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX))
}
