//! wagate's names for its AWS resources. Plain data, kept here rather than in `wagate-aws` so
//! the wiring reads them the same way whether or not it was built with the AWS SDK (the
//! `aws` feature of the `wagate` package): `wagate local` needs `JOB_TTL_DAYS` from it too.

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
