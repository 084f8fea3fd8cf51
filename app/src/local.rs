//! `wagate local`: the API, the session host and the webhook dispatcher in one process, on the
//! embedded backend (one SQLite file and a blob directory under `DATA_DIR`). This is what a
//! newcomer starts first, and what the end-to-end tests start.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use tokio_util::sync::CancellationToken;
use wagate_core::dispatch::Dispatcher;
use wagate_functions::AppState;
use wagate_functions::live::LiveFeed;
use wagate_host::connector::ConnectorKind;
use wagate_host::{HostDeps, SimNetwork};
use wagate_local::{LocalBackend, LocalOptions};

use crate::serve::{self, Tasks};
use crate::{Config, connector, retention};

/// A running `wagate local`.
#[derive(Debug)]
pub struct Running {
    /// Where the API listens (useful with port 0).
    pub addr: SocketAddr,
    pub backend: LocalBackend,
    /// The simulated network, when it is the connector.
    pub sim: Option<Arc<SimNetwork>>,
    tasks: Tasks,
}

impl Running {
    /// Starts a graceful shutdown: the server stops accepting, each session finishes the send
    /// in flight, everything else stays queued.
    pub fn shutdown(&self) {
        self.tasks.shutdown().cancel();
    }

    /// The token that [`Running::shutdown`] cancels, for a signal handler to hold.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.tasks.shutdown().clone()
    }

    /// Waits for every part to stop; the first failure is returned.
    pub async fn wait(self) -> anyhow::Result<()> {
        self.tasks.wait().await
    }
}

/// Opens the data directory, binds the port and starts the parts.
pub async fn start(mut cfg: Config) -> anyhow::Result<Running> {
    wagate_functions::metrics::install();
    wagate_host::connector::whatsapp::telemetry::describe();
    let data_dir = cfg.data_dir.clone();
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("creating DATA_DIR {}", data_dir.display()))?;
    let backend = LocalBackend::open(
        &data_dir,
        LocalOptions {
            synchronous_full: cfg.sqlite_sync_full,
        },
    )?;
    // One process owns the file: whatever was in flight belonged to a process that died.
    let released = backend.release_inflight().await?;
    if released > 0 {
        tracing::info!(
            released,
            "requeued messages left in flight by the previous run"
        );
    }
    if cfg.api.admin_key.is_none() {
        cfg.api.admin_key = Some(generated_admin_key(&data_dir)?);
    }
    // The `/api/dev` routes drive the simulated network; WhatsApp has nothing to drive.
    cfg.api.dev_routes = cfg.connector == ConnectorKind::Simulated;

    let live = LiveFeed::default();
    let state = AppState::new(
        backend.store(),
        backend.queue(),
        backend.blobs(),
        cfg.api.clone(),
    )
    .with_intake(backend.intake())
    .with_live(live.clone());
    state.bootstrap().await?;
    let deps = HostDeps::new(backend.store(), backend.queue(), backend.blobs())
        .with_batch(backend.batch());
    let (host, sim) = connector::session_host(&cfg, deps, &data_dir)?;
    let dispatcher = Arc::new(
        Dispatcher::new(backend.store(), backend.queue(), cfg.dispatch.clone())
            .with_batch(backend.batch())
            .with_tap(live.sender()),
    );

    let listener = serve::bind(cfg.listen, "the API").await?;
    let addr = listener.local_addr()?;
    let mut tasks = Tasks::new(CancellationToken::new());
    let stop = tasks.shutdown().clone();
    tasks.spawn(serve::http(
        listener,
        wagate_functions::app(state),
        stop.clone(),
    ));
    tasks.spawn(host.run(stop.clone()));
    let live_stop = stop.clone();
    tasks.spawn(async move {
        live_stop.cancelled().await;
        live.close().await;
        Ok(())
    });
    let dispatch_stop = stop.clone();
    tasks.spawn(async move {
        dispatcher
            .run(async move { dispatch_stop.cancelled().await })
            .await
    });
    tasks.spawn(retention::sweep_media(
        backend.fs_blobs(),
        cfg.media_retention,
        cfg.retention_interval,
        stop.clone(),
    ));
    tasks.spawn(retention::sweep_records(
        backend.clone(),
        retention::job_ttl(cfg.aws.job_ttl_days),
        cfg.retention_interval,
        stop,
    ));

    tracing::info!(%addr, data_dir = %data_dir.display(), connector = ?cfg.connector, "wagate local is listening");
    Ok(Running {
        addr,
        backend,
        sim,
        tasks,
    })
}

/// Without `ADMIN_API_KEY`, a key is generated once per data directory and kept in
/// `admin-key.txt` (mode 0600) so the newcomer can read it; it is logged once, when made.
fn generated_admin_key(dir: &Path) -> anyhow::Result<String> {
    let path = dir.join("admin-key.txt");
    if let Ok(k) = std::fs::read_to_string(&path)
        && !k.trim().is_empty()
    {
        return Ok(k.trim().to_owned());
    }
    let key = wagate_core::ApiKey::generate().expose().to_owned();
    std::fs::write(&path, &key).with_context(|| format!("writing {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    }
    tracing::warn!(
        path = %path.display(),
        "ADMIN_API_KEY is not set: generated an admin key for this data directory (read it from that file)"
    );
    Ok(key)
}
