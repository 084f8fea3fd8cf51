//! Memory of idle WhatsApp sessions: builds N whatsapp-rust clients, each on its own SQLite
//! credentials file (as the connector does), on a transport that never answers (no network
//! needed), and reports the client's own estimate (`Client::memory_report`) and the process
//! RSS per session.
//!
//! ```sh
//! cargo run --release -p wagate-host --example wa_memory -- 100
//! ```

use std::sync::Arc;
use std::time::Duration;

use wagate_testkit::fakes::NoHttp;
use whatsapp_rust::async_channel;
use whatsapp_rust::prelude::{Bot, BotHandle};
use whatsapp_rust::store::SqliteStore;
use whatsapp_rust::transport::{Transport, TransportEvent, TransportFactory};

/// Dials forever: the session stays in "connecting", like an idle one waiting on a network.
struct Hang;

#[async_trait::async_trait]
impl TransportFactory for Hang {
    async fn create_transport(
        &self,
    ) -> anyhow::Result<(Arc<dyn Transport>, async_channel::Receiver<TransportEvent>)> {
        std::future::pending().await
    }
}

/// Resident set size of this process, from `/proc/self/status`.
fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(50);
    let dir = tempfile::TempDir::new()?;
    let before = rss_bytes();
    let mut handles: Vec<BotHandle> = Vec::with_capacity(n);
    for i in 0..n {
        let path = dir.path().join(format!("s{i}.db"));
        let store = SqliteStore::new(&path.to_string_lossy()).await?;
        let bot = Bot::builder()
            .with_backend(store)
            .with_transport_factory(Hang)
            .with_http_client(NoHttp)
            .with_version((2, 3000, 1_000_000_000))
            .skip_history_sync()
            .build()
            .await?;
        handles.push(bot.spawn());
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = rss_bytes();
    let mut reported = 0u64;
    for h in &handles {
        reported += h.client().memory_report().await.total_estimated_bytes();
    }
    let per_rss = after.saturating_sub(before) / n as u64;
    println!("sessions:                      {n}");
    println!(
        "process RSS before / after:    {} KiB / {} KiB",
        before / 1024,
        after / 1024
    );
    println!("RSS per idle session:          {} KiB", per_rss / 1024);
    println!(
        "memory_report per session:     {} KiB (the client's own estimate)",
        reported / n as u64 / 1024
    );
    println!(
        "target ≤ 5 MiB per session:    {}",
        if per_rss <= 5 * 1024 * 1024 {
            "met"
        } else {
            "NOT met"
        }
    );
    for h in handles {
        h.abort();
    }
    Ok(())
}
