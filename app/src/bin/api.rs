//! The `api` Lambda function: every route (auth, limits, validation, uploads, enqueue), the
//! same router as `wagate local`, behind API Gateway. The template's `upload` function runs
//! this binary too, with more memory and a longer timeout.

use lambda_http::Error;
use wagate::{Config, api, lambda, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let config = Config::from_env()?;
    telemetry::init(config.log_json);
    let state = api::state(&config, wagate::aws::AwsPorts::for_lambda(&config));
    lambda::run_http(&config, wagate_functions::app(state)).await
}
