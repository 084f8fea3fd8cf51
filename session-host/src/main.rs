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
    }
}
