//! What the Lambda bootstraps share, so each `bin/` file is only wiring: serving the router to
//! the runtime, and the SQS-triggered webhook handler that reports the events to retry as
//! `batchItemFailures`.

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use metrics_cloudwatch_embedded::Collector;
use tokio_util::sync::CancellationToken;
use wagate_core::dispatch::{Dispatcher, Outcome};
use wagate_core::ports::QueueMessage;

use crate::aws::AwsPorts;
use crate::{Config, serve};

/// The metrics of a Lambda function: the same names as `GET /metrics` elsewhere, written as
/// CloudWatch Embedded Metric Format lines (namespace `wagate`) that CloudWatch Logs turns
/// into metrics; flushed after every invocation by the runtime layer. `None` if a recorder is
/// already installed.
pub fn emf_metrics() -> Option<&'static Collector> {
    match metrics_cloudwatch_embedded::Builder::new()
        .cloudwatch_namespace("wagate")
        .init()
    {
        Ok(collector) => {
            wagate_core::measure::describe();
            wagate_functions::metrics::recording();
            Some(collector)
        }
        Err(e) => {
            tracing::warn!(error = %e, "no CloudWatch metrics: a recorder is already installed");
            None
        }
    }
}

/// Serves `router` to the Lambda runtime; started outside Lambda (no
/// `AWS_LAMBDA_RUNTIME_API`) it serves plain HTTP on `HOST:PORT` instead, as `wagate api`
/// does, so the function's own release binary can be run and measured without API Gateway.
pub async fn run_http(config: &Config, router: axum::Router) -> Result<(), lambda_http::Error> {
    if config.under_lambda {
        return match emf_metrics() {
            Some(metrics) => {
                metrics_cloudwatch_embedded::lambda::service::run_http(metrics, router).await
            }
            None => lambda_http::run(router).await,
        };
    }
    let listener = serve::bind(config.listen, "the API").await?;
    tracing::info!(addr = %config.listen, "not under Lambda: serving plain HTTP");
    serve::http(listener, router, CancellationToken::new()).await?;
    Ok(())
}

/// The dispatcher of the `webhooks` function.
pub async fn dispatcher(config: &Config) -> Dispatcher {
    let ports = AwsPorts::for_lambda(config);
    Dispatcher::new(ports.store, ports.queue, config.dispatch.clone())
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

/// Delivers every event of the batch (concurrently, settled together). A delivery to retry
/// has already been handed back with its backoff delay; it is reported as a failure so Lambda
/// does not delete it. Delivered, dropped and dead-lettered events were acked by the
/// dispatcher.
pub async fn handle_webhook_batch(dispatcher: &Dispatcher, event: SqsEvent) -> SqsBatchResponse {
    let mut ids = Vec::with_capacity(event.records.len());
    let mut msgs = Vec::with_capacity(event.records.len());
    let mut outcomes: Vec<(String, Option<Outcome>)> = Vec::new();
    for record in &event.records {
        let id = record.message_id.clone().unwrap_or_default();
        match queue_message(record) {
            Some(msg) => {
                ids.push(id);
                msgs.push(msg);
            }
            None => {
                tracing::warn!(message_id = %id, "SQS record without body or receipt handle");
                outcomes.push((id, None));
            }
        }
    }
    let handled = dispatcher.handle_batch(&msgs).await;
    outcomes.extend(ids.into_iter().zip(handled.into_iter().map(Some)));
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
