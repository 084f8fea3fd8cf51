//! Where the AWS resources are: the SDK configuration plus wagate's own names. The names are
//! given by the wiring (`wagate`'s one configuration); the SDK reads its own settings
//! (region, credentials, `AWS_ENDPOINT_URL`) the way every AWS tool does.

use aws_config::BehaviorVersion;

/// wagate's names for its resources, and the knobs of the AWS adapters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsNames {
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

impl Default for AwsNames {
    fn default() -> Self {
        Self {
            endpoint: None,
            table: "wagate".into(),
            job_ttl_days: None,
            send_max_receives: 20,
            bucket: "wagate-media".into(),
            queue_prefix: "wagate-".into(),
        }
    }
}

/// The SDK configuration and the names of wagate's resources.
#[derive(Debug, Clone)]
pub struct AwsSettings {
    pub sdk: aws_config::SdkConfig,
    pub names: AwsNames,
}

impl AwsSettings {
    /// The SDK's own defaults and credential chain, with wagate's `names`.
    pub async fn load(names: AwsNames) -> Self {
        let sdk = aws_config::load_defaults(BehaviorVersion::latest()).await;
        Self { sdk, names }
    }

    /// Settings for a local emulator at `endpoint` (moto), with dummy credentials and names
    /// made unique by `unique`, so tests sharing one emulator never meet.
    pub async fn emulator(endpoint: &str, unique: &str) -> Self {
        use aws_sdk_s3::config::{Credentials, Region};
        let sdk = aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(endpoint)
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "static"))
            .load()
            .await;
        let names = AwsNames {
            endpoint: Some(endpoint.to_owned()),
            table: format!("wagate-test-{unique}"),
            bucket: format!("wagate-test-{unique}"),
            queue_prefix: format!("t{unique}-"),
            ..AwsNames::default()
        };
        Self { sdk, names }
    }
}
