//! What the three Lambda entry points share, so each `bin/` file is only wiring: the state on
//! the AWS adapters (built from the environment with no network call but the key seeding),
//! and the SQS-triggered webhook handler that reports the events to retry as
//! `batchItemFailures`.

use std::sync::Arc;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use wagate_aws::{AwsSettings, DynamoStore, S3Blobs, SqsQueue};
use wagate_core::dispatch::{DispatchConfig, Dispatcher, Outcome};
use wagate_core::ports::{Blobs, Queue, QueueMessage, Store};

use crate::{ApiConfig, AppState};

/// The three AWS adapters, configured from the environment (`WAGATE_TABLE`, `WAGATE_BUCKET`,
/// `WAGATE_QUEUE_PREFIX`, `AWS_ENDPOINT_URL`, …).
#[derive(Clone)]
pub struct AwsPorts {
    pub store: Arc<dyn Store>,
    pub queue: Arc<dyn Queue>,
    pub blobs: Arc<dyn Blobs>,
}

impl std::fmt::Debug for AwsPorts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsPorts").finish_non_exhaustive()
    }
}

impl AwsPorts {
    pub fn new(settings: &AwsSettings) -> Self {
        Self {
            store: Arc::new(DynamoStore::new(settings)),
            queue: Arc::new(SqsQueue::new(settings)),
            blobs: Arc::new(S3Blobs::new(settings)),
        }
    }

    pub async fn from_env() -> anyhow::Result<Self> {
        Ok(Self::new(&AwsSettings::from_env().await?))
    }
}

/// The API's state for the `api` and `upload` functions: AWS ports, configuration from the
/// environment, keys from the environment seeded into the table.
pub async fn api_state() -> anyhow::Result<AppState> {
    let ports = AwsPorts::from_env().await?;
    let state = AppState::new(
        ports.store,
        ports.queue,
        ports.blobs,
        ApiConfig::from_env()?,
    );
    state.seed_keys().await?;
    Ok(state)
}

/// Serves `router` to the Lambda runtime; started outside Lambda (no `AWS_LAMBDA_RUNTIME_API`)
/// it serves plain HTTP on `PORT` (default 9000) instead, so the function's own release binary
/// can be run and measured without API Gateway.
pub async fn run_http(router: axum::Router) -> Result<(), lambda_http::Error> {
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some() {
        return lambda_http::run(router).await;
    }
    let port: u16 = wagate_core::env::var_parsed("PORT", 9000)?;
    let listener = tokio::net::TcpListener::bind(("0.0.0.0", port)).await?;
    tracing::info!(port, "not under Lambda: serving plain HTTP");
    axum::serve(listener, router).await?;
    Ok(())
}

/// The dispatcher of the `webhooks` function.
pub async fn dispatcher() -> anyhow::Result<Dispatcher> {
    let ports = AwsPorts::from_env().await?;
    Ok(Dispatcher::new(
        ports.store,
        ports.queue,
        DispatchConfig::from_env()?,
    ))
}

/// The queue message a record of an SQS event stands for.
fn queue_message(record: &SqsMessage) -> Option<QueueMessage> {
    Some(QueueMessage {
        body: record.body.clone()?,
        receipt: record.receipt_handle.clone()?,
        receive_count: record
            .attributes
            .get("ApproximateReceiveCount")
            .and_then(|c| c.parse().ok())
            .unwrap_or(1),
    })
}

/// Delivers every event of the batch (concurrently). A delivery to retry has already been
/// handed back with its backoff delay; it is reported as a failure so Lambda does not delete
/// it. Delivered, dropped and dead-lettered events were acked by the dispatcher.
pub async fn handle_webhook_batch(dispatcher: &Dispatcher, event: SqsEvent) -> SqsBatchResponse {
    let outcomes = futures::future::join_all(event.records.iter().map(|record| async move {
        let id = record.message_id.clone().unwrap_or_default();
        let outcome = match queue_message(record) {
            Some(msg) => Some(dispatcher.handle(&msg).await),
            None => {
                tracing::warn!(message_id = %id, "SQS record without body or receipt handle");
                None
            }
        };
        (id, outcome)
    }))
    .await;
    let mut response = SqsBatchResponse::default();
    for (id, outcome) in outcomes {
        if matches!(outcome, None | Some(Outcome::Retry { .. })) {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            response.batch_item_failures.push(failure);
        }
    }
    response
}
