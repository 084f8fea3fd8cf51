//! Where the AWS resources are: the SDK configuration plus wagate's own names.

use anyhow::Context;
use wagate_core::env::var;

/// The SDK configuration and the names of wagate's resources.
#[derive(Debug, Clone)]
pub struct AwsSettings {
    pub sdk: aws_config::SdkConfig,
    /// Set when talking to an emulator (`AWS_ENDPOINT_URL`): S3 then uses path-style URLs.
    pub endpoint: Option<String>,
    /// The table of every record (`WAGATE_TABLE`, default `wagate`).
    pub table: String,
    /// Days a job stays readable (`JOB_TTL_DAYS`; `None` = the store's default, 30).
    pub job_ttl_days: Option<i64>,
    /// Receives after which SQS moves a send to the dead-letter queue of sends
    /// (`SEND_DLQ_MAX_RECEIVES`, default 20): a safety net for a job that crashes its host
    /// every time; the worker parks jobs that fail normally itself, after `SEND_MAX_ATTEMPTS`.
    pub send_max_receives: u32,
    /// The media and credentials bucket (`WAGATE_BUCKET`).
    pub bucket: String,
    /// Prefix of every queue name (`WAGATE_QUEUE_PREFIX`, default `wagate-`), so IAM can grant
    /// the per-session queues by prefix.
    pub queue_prefix: String,
}

impl AwsSettings {
    /// From the environment, with the SDK's own defaults and credential chain.
    pub async fn from_env() -> anyhow::Result<Self> {
        let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        Ok(Self {
            send_max_receives: wagate_core::env::var_parsed("SEND_DLQ_MAX_RECEIVES", 20)?,
            table: var("WAGATE_TABLE").unwrap_or_else(|| "wagate".into()),
            job_ttl_days: var("JOB_TTL_DAYS")
                .map(|v| {
                    v.parse()
                        .context("JOB_TTL_DAYS must be a whole number of days")
                })
                .transpose()?,
            endpoint: var("AWS_ENDPOINT_URL"),
            bucket: var("WAGATE_BUCKET").unwrap_or_else(|| "wagate-media".into()),
            queue_prefix: var("WAGATE_QUEUE_PREFIX").unwrap_or_else(|| "wagate-".into()),
            sdk,
        })
    }
}
