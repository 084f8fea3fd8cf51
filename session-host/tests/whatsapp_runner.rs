//! A session on the real WhatsApp connector with no network, driven by the session host as in
//! production: each attempt builds a client, fails to reach WhatsApp, and the runner reports
//! `closed`, backs off with growing gaps (no reconnect storm), and stops cleanly on shutdown.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{World, events_of, eventually, join_clean};
use tokio_util::sync::CancellationToken;
use wagate_core::{EventKind, SessionStatus};
use wagate_host::connector::{Connector, WhatsAppConnector, WhatsAppOptions};
use wagate_host::{HostConfig, HostDeps, SessionHost};
use wagate_testkit::fakes::NoHttp;
use whatsapp_rust::async_channel;
use whatsapp_rust::transport::{Transport, TransportEvent, TransportFactory};

/// Fails every dial at once, noting when it was asked.
#[derive(Clone, Default)]
struct Unreachable {
    dials: Arc<Mutex<Vec<Instant>>>,
}

#[async_trait::async_trait]
impl TransportFactory for Unreachable {
    async fn create_transport(
        &self,
    ) -> anyhow::Result<(Arc<dyn Transport>, async_channel::Receiver<TransportEvent>)> {
        self.dials.lock().unwrap().push(Instant::now());
        anyhow::bail!("network unreachable (test)")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_whatsapp_gives_closed_and_growing_backoff_then_a_clean_stop() {
    let world = World::new().await;
    let id = world.session("offline").await;
    let net = Unreachable::default();
    let mut options = WhatsAppOptions::new(world.dir.path().join("whatsapp"));
    options.transport = Some(Arc::new(net.clone()));
    options.http = Some(Arc::new(NoHttp));
    options.version = Some((2, 3000, 1_000_000_000));
    let connector: Arc<dyn Connector> =
        Arc::new(WhatsAppConnector::new(world.blobs.clone(), options));
    let deps = HostDeps::new(
        world.store.clone(),
        world.queue.clone(),
        world.blobs.clone(),
    )
    .with_batch(world.backend.batch());
    let config = HostConfig {
        session_start_spacing: Duration::ZERO,
        poll_wait: Duration::from_millis(50),
        ..HostConfig::default()
    };
    let stop = CancellationToken::new();
    let host = tokio::spawn(SessionHost::new(deps, config, connector, None).run(stop.clone()));

    // Four dials: backoff(0..=2) waits 250–500 ms, 500–1000 ms, 1–2 s between them.
    eventually(Duration::from_secs(20), "four dials", || async {
        (net.dials.lock().unwrap().len() >= 4).then_some(())
    })
    .await;
    let dials = net.dials.lock().unwrap().clone();
    let gaps: Vec<Duration> = dials.windows(2).map(|w| w[1] - w[0]).collect();
    for (i, gap) in gaps.iter().take(3).enumerate() {
        let floor = Duration::from_millis(250 << i);
        assert!(
            *gap >= floor,
            "gap {i} was {gap:?}, under {floor:?}: {gaps:?}"
        );
    }
    let session = world.store.get_session(&id).await.unwrap().unwrap();
    assert!(
        matches!(
            session.status,
            SessionStatus::Closed | SessionStatus::Connecting
        ),
        "{:?}",
        session.status
    );
    assert!(session.qr.is_none() && session.account.is_none());
    let closed = world.drain_events().await;
    let closed = events_of(&closed, EventKind::SessionClosed);
    assert!(closed.len() >= 3, "{closed:?}");
    assert!(closed.iter().all(|e| e.data["status"] == "closed"));

    stop.cancel();
    join_clean(Duration::from_secs(30), host).await;
    let after = net.dials.lock().unwrap().len();
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        net.dials.lock().unwrap().len(),
        after,
        "no dial after the stop"
    );
    let session = world.store.get_session(&id).await.unwrap().unwrap();
    assert_eq!(session.status, SessionStatus::Closed);
}
