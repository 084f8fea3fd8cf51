//! The `wagate` binary: reads the configuration once, then runs one command.

use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;
use wagate::{Config, local, signals, telemetry};

// Most of a request's allocations are small and short-lived, and freed on another worker
// thread than the one that made them: glibc's malloc spent 16 % of the accept path's CPU on
// them (docs/benchmarks.md). The Lambda bootstraps keep the system allocator (their size).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    let command = Cli::parse().command;
    let _ = dotenvy::dotenv();
    let config = Config::from_env()?;
    telemetry::init(config.log_json);
    match command {
        Command::Local => {
            let running = local::start(config).await?;
            cancel_on_signal(running.shutdown_token());
            running.wait().await
        }
        #[cfg(feature = "aws")]
        Command::Host => wagate::host::run(config, on_signal()).await,
        #[cfg(feature = "aws")]
        Command::Api => wagate::api::run(config, on_signal()).await,
        #[cfg(feature = "aws")]
        Command::Provision => wagate::aws::provision(config).await,
        #[cfg(not(feature = "aws"))]
        Command::Host | Command::Api | Command::Provision => anyhow::bail!(
            "this binary was built without the AWS adapters; build it with `--features aws` \
             (cargo run --release -p wagate --features aws -- <command>)"
        ),
    }
}

/// A token cancelled by SIGTERM or Ctrl-C.
#[cfg(feature = "aws")]
fn on_signal() -> CancellationToken {
    let token = CancellationToken::new();
    cancel_on_signal(token.clone());
    token
}

fn cancel_on_signal(token: CancellationToken) {
    tokio::spawn(async move {
        signals::shutdown_signal().await;
        token.cancel();
    });
}
