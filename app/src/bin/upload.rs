//! The `upload` Lambda function: the multipart and raw upload route and sticker conversion
//! (`wagate_functions::upload_app`), deployed apart from `api` with more memory, a longer
//! timeout and the image codecs, which no other function links.

use lambda_http::Error;
use wagate::{Config, api, lambda, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let config = Config::from_env()?;
    telemetry::init(config.log_json);
    let state = api::state(&config, wagate::aws::AwsPorts::for_lambda(&config));
    lambda::run_http(&config, wagate_functions::upload_app(state)).await
}
