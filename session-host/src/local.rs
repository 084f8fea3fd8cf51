//! `wagate local`: the API, the session host and the webhook dispatcher in one process, on the
//! embedded backend (one SQLite file and a blob directory under `DATA_DIR`). This is what a
//! newcomer starts first, and what the end-to-end tests start.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use wagate_core::adapters::local::{LocalBackend, LocalOptions};
use wagate_core::dispatch::{DispatchConfig, Dispatcher};
use wagate_core::env::{var, var_bool, var_parsed};
use wagate_functions::{ApiConfig, AppState};

use crate::connector::simulated::SimOptions;
use crate::connector::{Connector, ConnectorKind, WhatsAppConnector, WhatsAppOptions};
use crate::{HostConfig, HostDeps, SessionHost, SimNetwork};

/// Everything `wagate local` is configured with.
#[derive(Debug, Clone)]
pub struct LocalConfig {
    pub data_dir: PathBuf,
    pub addr: SocketAddr,
    pub api: ApiConfig,
    pub host: HostConfig,
    pub dispatch: DispatchConfig,
    /// `SQLITE_SYNC_FULL`: fsync every commit (survives power loss, not only crashes).
    pub sqlite_sync_full: bool,
    /// `WA_CONNECTOR`: WhatsApp (default) or the simulated network.
    pub connector: ConnectorKind,
    /// `MEDIA_RETENTION_DAYS`: uploaded and fetched media is deleted after this long (the
    /// cloud's bucket lifecycle rule does the same).
    pub media_retention: std::time::Duration,
}

impl LocalConfig {
    /// From the environment (the seed's variable names; see `.env.example`).
    pub fn from_env() -> anyhow::Result<Self> {
        let connector = ConnectorKind::from_env(ConnectorKind::WhatsApp)?;
        let port: u16 = var_parsed("PORT", 4000)?;
        let host: std::net::IpAddr = var_parsed("HOST", std::net::Ipv4Addr::UNSPECIFIED.into())?;
        let mut api = ApiConfig::from_env()?;
        // The `/api/dev` routes drive the simulated network; WhatsApp has nothing to drive.
        api.dev_routes = connector == ConnectorKind::Simulated;
        Ok(Self {
            data_dir: var("DATA_DIR").unwrap_or_else(|| "./data".into()).into(),
            addr: SocketAddr::new(host, port),
            api,
            host: HostConfig::from_env()?,
            dispatch: DispatchConfig::from_env()?,
            sqlite_sync_full: var_bool("SQLITE_SYNC_FULL", false)?,
            connector,
            media_retention: std::time::Duration::from_secs(
                var_parsed::<u64>("MEDIA_RETENTION_DAYS", 7)? * 86_400,
            ),
        })
    }
}

/// A running `wagate local`.
#[derive(Debug)]
pub struct Running {
    /// Where the API listens (useful with port 0).
    pub addr: SocketAddr,
    pub backend: LocalBackend,
    pub sim: Arc<SimNetwork>,
    shutdown: CancellationToken,
    tasks: JoinSet<anyhow::Result<()>>,
}

impl Running {
    /// Starts a graceful shutdown: the server stops accepting, each session finishes the send
    /// in flight, everything else stays queued.
    pub fn shutdown(&self) {
        self.shutdown.cancel();
    }

    /// The token that [`Running::shutdown`] cancels, for a signal handler to hold.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Waits for every part to stop; the first failure is returned.
    pub async fn wait(mut self) -> anyhow::Result<()> {
        let mut result = Ok(());
        while let Some(done) = self.tasks.join_next().await {
            let r = done.context("a wagate task panicked").and_then(|r| r);
            if let Err(e) = r {
                // One part failing stops the others.
                self.shutdown.cancel();
                if result.is_ok() {
                    result = Err(e);
                }
            }
        }
        result
    }
}

/// Opens the data directory, binds the port and starts the three parts.
pub async fn start(mut cfg: LocalConfig) -> anyhow::Result<Running> {
    std::fs::create_dir_all(&cfg.data_dir)
        .with_context(|| format!("creating DATA_DIR {}", cfg.data_dir.display()))?;
    let backend = LocalBackend::open(
        &cfg.data_dir,
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
        cfg.api.admin_key = Some(generated_admin_key(&cfg.data_dir)?);
    }

    let state = AppState::new(
        backend.store(),
        backend.queue(),
        backend.blobs(),
        cfg.api.clone(),
    );
    state.bootstrap().await?;
    let mut sim_options = SimOptions::new(cfg.data_dir.join("sim"));
    sim_options.qr_interval = cfg.host.sim_qr_interval;
    let sim = SimNetwork::open(backend.blobs(), sim_options)?;
    let deps = HostDeps {
        store: backend.store(),
        queue: backend.queue(),
        blobs: backend.blobs(),
    };
    let host = match cfg.connector {
        ConnectorKind::Simulated => {
            SessionHost::new(deps, cfg.host.clone(), sim.clone(), Some(sim.clone()))
        }
        ConnectorKind::WhatsApp => {
            let wa: Arc<dyn Connector> = Arc::new(WhatsAppConnector::new(
                backend.blobs(),
                WhatsAppOptions::from_env(cfg.data_dir.join("whatsapp"))?,
            ));
            SessionHost::new(deps, cfg.host.clone(), wa, None)
        }
    };
    let dispatcher = Arc::new(Dispatcher::new(
        backend.store(),
        backend.queue(),
        cfg.dispatch.clone(),
    ));

    let listener = tokio::net::TcpListener::bind(cfg.addr)
        .await
        .with_context(|| format!("binding {}", cfg.addr))?;
    let addr = listener.local_addr()?;
    let shutdown = CancellationToken::new();
    let mut tasks = JoinSet::new();

    let stop = shutdown.clone();
    let router = wagate_functions::app(state);
    tasks.spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .await
            .context("HTTP server")
    });
    tasks.spawn(host.run(shutdown.clone()));
    let stop = shutdown.clone();
    tasks.spawn(async move { dispatcher.run(async move { stop.cancelled().await }).await });
    tasks.spawn(crate::retention::sweep_media(
        backend.fs_blobs(),
        cfg.media_retention,
        shutdown.clone(),
    ));

    tracing::info!(%addr, data_dir = %cfg.data_dir.display(), connector = ?cfg.connector, "wagate local is listening");
    Ok(Running {
        addr,
        backend,
        sim,
        shutdown,
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
