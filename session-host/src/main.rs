//! The `wagate` binary: wiring only (config → adapters → run).

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "wagate", version, about = "Multi-session WhatsApp REST API")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// API + session host + webhook dispatcher in one process, state under DATA_DIR.
    Local,
    /// The session host in container mode, on DynamoDB, SQS and S3 (AWS_* and WAGATE_*).
    Host,
    /// Creates the table, bucket and shared queues (idempotent; AWS or an emulator).
    Provision,
    /// The API alone over plain HTTP on the AWS adapters (what the Lambda functions serve).
    Api,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _ = dotenvy::dotenv();
    wagate_functions::telemetry::init();
    match Cli::parse().command {
        Command::Local => {
            let config = wagate_host::local::LocalConfig::from_env()?;
            let running = wagate_host::local::start(config).await?;
            let token = running.shutdown_token();
            tokio::spawn(async move {
                wagate_host::signals::shutdown_signal().await;
                token.cancel();
            });
            running.wait().await
        }
        Command::Host => wagate_host::cloud::host(on_signal()).await,
        Command::Api => wagate_host::cloud::api(on_signal()).await,
        Command::Provision => wagate_host::cloud::provision().await,
    }
}

/// A token cancelled by SIGTERM or Ctrl-C.
fn on_signal() -> tokio_util::sync::CancellationToken {
    let token = tokio_util::sync::CancellationToken::new();
    let stop = token.clone();
    tokio::spawn(async move {
        wagate_host::signals::shutdown_signal().await;
        stop.cancel();
    });
    token
}
