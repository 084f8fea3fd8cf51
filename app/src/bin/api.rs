//! The `api` Lambda function: every route (auth, limits, validation, enqueue), the same router
//! as `wagate local`, behind API Gateway. The upload and sticker routes are sent to the
//! `upload` function instead (`bin/upload.rs`).

use lambda_http::Error;
use wagate::{Config, api, lambda, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let config = Config::from_env()?;
    telemetry::init(config.log_json);
    let state = api::state(&config, wagate::aws::AwsPorts::for_lambda(&config));
    lambda::run_http(&config, wagate_functions::app(state)).await
}
