//! The AWS side: the three ports on DynamoDB, SQS and S3, and `wagate provision`, which creates
//! what they need (table, bucket, shared queues) idempotently, against AWS or an emulator.

use std::sync::Arc;

use anyhow::Context;
use wagate_aws::{AwsSettings, DynamoStore, S3Blobs, SqsQueue};
use wagate_core::ports::{Blobs, Queue, Store};
use wagate_functions::AppState;

use crate::Config;

/// The three AWS adapters.
#[derive(Debug, Clone)]
pub struct AwsPorts {
    pub store: Arc<dyn Store>,
    pub queue: Arc<dyn Queue>,
    pub blobs: Arc<dyn Blobs>,
}

impl AwsPorts {
    pub fn new(settings: &AwsSettings) -> Self {
        Self {
            store: Arc::new(DynamoStore::new(settings)),
            queue: Arc::new(SqsQueue::new(settings)),
            blobs: Arc::new(S3Blobs::new(settings)),
        }
    }

    /// The SDK's configuration (no network call) with `config`'s names.
    pub async fn load(config: &Config) -> Self {
        Self::new(&AwsSettings::load(config.aws.clone()).await)
    }

    /// The Lambda functions' ports: the SDK configured from the environment Lambda sets
    /// ([`AwsSettings::from_env`]), with `config`'s names.
    pub fn for_lambda(config: &Config) -> Self {
        Self::new(&AwsSettings::from_env(config.aws.clone()))
    }
}

/// Creates the table, the bucket and the shared queues, and stores the hashes of the keys in
/// `ADMIN_API_KEY` / `USER_API_KEYS`. Safe to run again.
pub async fn provision(config: Config) -> anyhow::Result<()> {
    let settings = AwsSettings::load(config.aws.clone()).await;
    DynamoStore::new(&settings)
        .ensure_table()
        .await
        .with_context(|| format!("creating table {}", settings.names.table))?;
    S3Blobs::new(&settings)
        .ensure_bucket()
        .await
        .with_context(|| format!("creating bucket {}", settings.names.bucket))?;
    SqsQueue::new(&settings)
        .ensure_events_dead_letter_queue()
        .await
        .context("creating the events' dead-letter queue")?;
    let ports = AwsPorts::new(&settings);
    let state = AppState::new(ports.store, ports.queue, ports.blobs, config.api);
    state.bootstrap().await?;
    tracing::info!(
        table = %settings.names.table,
        bucket = %settings.names.bucket,
        queue_prefix = %settings.names.queue_prefix,
        "provisioned"
    );
    Ok(())
}
