//! Where the AWS resources are: the SDK configuration plus wagate's own names.

use wagate_core::env::var;

/// The SDK configuration and the names of wagate's resources.
#[derive(Debug, Clone)]
pub struct AwsSettings {
    pub sdk: aws_config::SdkConfig,
    /// Set when talking to an emulator (`AWS_ENDPOINT_URL`): S3 then uses path-style URLs.
    pub endpoint: Option<String>,
    /// The media and credentials bucket (`WAGATE_BUCKET`).
    pub bucket: String,
    /// Prefix of every queue name (`WAGATE_QUEUE_PREFIX`, default `wagate-`), so IAM can grant
    /// the per-session queues by prefix.
    pub queue_prefix: String,
}

impl AwsSettings {
    /// From the environment, with the SDK's own defaults and credential chain.
    pub async fn from_env() -> Self {
        let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        Self {
            endpoint: var("AWS_ENDPOINT_URL"),
            bucket: var("WAGATE_BUCKET").unwrap_or_else(|| "wagate-media".into()),
            queue_prefix: var("WAGATE_QUEUE_PREFIX").unwrap_or_else(|| "wagate-".into()),
            sdk,
        }
    }
}
