//! The `upload` Lambda function: the multipart, raw binary and presigned upload routes. It is
//! the same router as `api`, deployed apart with more memory and a longer timeout, and API
//! Gateway sends it only the upload routes.

use lambda_http::Error;
use wagate_functions::{app, lambda, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let state = lambda::api_state().await?;
    lambda::run_http(app(state)).await
}
