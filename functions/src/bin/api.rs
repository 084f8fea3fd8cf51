//! The `api` Lambda function: every JSON route (auth, limits, validation, enqueue), the same
//! router as `wagate local`, behind API Gateway.

use lambda_http::Error;
use wagate_functions::{app, lambda, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let state = lambda::api_state().await?;
    lambda::run_http(app(state)).await
}
