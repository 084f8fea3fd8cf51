//! The `webhooks` Lambda function: triggered by the events queue, delivers each event to its
//! signed webhook and reports the ones to retry as `batchItemFailures`.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use wagate::{Config, lambda, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let config = Config::from_env()?;
    telemetry::init(config.log_json);
    let dispatcher = lambda::dispatcher(&config).await;
    let dispatcher = &dispatcher;
    let handler = service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<SqsBatchResponse, Error>(lambda::handle_webhook_batch(dispatcher, event.payload).await)
    });
    match lambda::emf_metrics() {
        Some(metrics) => metrics_cloudwatch_embedded::lambda::service::run(metrics, handler).await,
        None => run(handler).await,
    }
}
