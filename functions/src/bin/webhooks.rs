//! The `webhooks` Lambda function: triggered by the events queue, delivers each event to its
//! signed webhook and reports the ones to retry as `batchItemFailures`.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use wagate_functions::{lambda, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let dispatcher = lambda::dispatcher().await?;
    let dispatcher = &dispatcher;
    run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<SqsBatchResponse, Error>(lambda::handle_webhook_batch(dispatcher, event.payload).await)
    }))
    .await
}
