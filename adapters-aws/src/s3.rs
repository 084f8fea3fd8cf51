//! The `Blobs` port on S3. Objects are written with server-side encryption (credentials live
//! here too); keys are checked with the same rule as the embedded adapter so both behave alike.

use async_trait::async_trait;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption;
use bytes::Bytes;
use wagate_core::ports::{Blobs, PortError, PortResult, PresignedPut, check_blob_key};

use crate::AwsSettings;

#[derive(Debug, Clone)]
pub struct S3Blobs {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl S3Blobs {
    pub fn new(settings: &AwsSettings) -> Self {
        let conf = aws_sdk_s3::config::Builder::from(&settings.sdk)
            .force_path_style(settings.endpoint.is_some())
            .build();
        Self {
            client: aws_sdk_s3::Client::from_conf(conf),
            bucket: settings.bucket.clone(),
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
        let config = PresigningConfig::expires_in(ttl)
            .map_err(|e| PortError::Backend(anyhow::anyhow!("presigning {key}: {e}")))?;
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
            expires_at_ms: wagate_core::clock::now_ms()
                + i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX),
        }))
    }
}
