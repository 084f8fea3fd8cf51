//! What every handler shares: the ports, the configuration and the runtime settings.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use wagate_core::clock::now_ms;
use wagate_core::ports::{Blobs, Intake, Queue, Sequential, Store, ensure_shared_queues};
use wagate_core::{ApiKey, ApiKeyRecord, Role};

use wagate_media::Fetcher;

use crate::auth_failures::AuthFailures;
use crate::config::ApiConfig;
use crate::key_cache::KeyCache;
use crate::session_cache::SessionCache;
use crate::session_counts::SessionCounts;
use crate::settings::SettingsCache;

/// The shared state, behind one `Arc`: every request and every layer clones it, and one
/// reference count is cheaper to move than a dozen.
#[derive(Clone, Debug)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

#[derive(Clone)]
pub struct Shared {
    pub store: Arc<dyn Store>,
    pub queue: Arc<dyn Queue>,
    /// What an accepted send writes, as one operation (see [`AppState::with_intake`]).
    pub intake: Arc<dyn Intake>,
    pub blobs: Arc<dyn Blobs>,
    pub config: Arc<ApiConfig>,
    pub settings: Arc<SettingsCache>,
    pub keys: Arc<KeyCache>,
    /// Sessions as the send path last read them (used when the intake checks sessions).
    pub sessions: Arc<SessionCache>,
    pub auth_failures: Arc<AuthFailures>,
    pub started: Instant,
    /// The session counts `/health` shows, computed at most every few seconds.
    pub health: Arc<SessionCounts>,
    pub fetcher: Arc<Fetcher>,
    /// Signs the upload URLs wagate serves itself when the blob store cannot presign. Random
    /// per process: those URLs live minutes and the embedded mode is one process.
    pub upload_secret: Arc<str>,
    /// Signs and checks the download URLs of received media.
    pub links: wagate_core::inbound_media::Linker,
    /// The live channel's events, where this process dispatches them (`None`: no live
    /// channel, as on Lambda).
    pub live: Option<crate::live::LiveFeed>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl AppState {
    pub fn new(
        store: Arc<dyn Store>,
        queue: Arc<dyn Queue>,
        blobs: Arc<dyn Blobs>,
        config: ApiConfig,
    ) -> Self {
        let settings = Arc::new(SettingsCache::new(&config));
        let links = wagate_core::inbound_media::Linker::new(
            config.public_url.as_deref().unwrap_or("http://localhost"),
            config.media_url_ttl,
        );
        let fetcher = Fetcher::new(Arc::new(config.media.clone()))
            .unwrap_or_else(|e| panic!("building the media HTTP client: {e}"));
        Self(Arc::new(Shared {
            intake: Arc::new(Sequential::new(store.clone(), queue.clone())),
            store,
            queue,
            blobs,
            settings,
            keys: Arc::new(KeyCache::with_configured(configured_keys(&config))),
            config: Arc::new(config),
            sessions: Arc::default(),
            auth_failures: Arc::default(),
            started: Instant::now(),
            health: Arc::default(),
            fetcher: Arc::new(fetcher),
            upload_secret: Arc::from(wagate_core::random_token(43)),
            links,
            live: None,
        }))
    }

    /// Takes sends in with `intake` (the embedded backend's one-transaction intake) instead of
    /// the store's and queue's operations one after the other.
    pub fn with_intake(mut self, intake: Arc<dyn Intake>) -> Self {
        Arc::make_mut(&mut self.0).intake = intake;
        self
    }

    /// Feeds the live channel from `live` (where this process dispatches the events).
    pub fn with_live(mut self, live: crate::live::LiveFeed) -> Self {
        Arc::make_mut(&mut self.0).live = Some(live);
        self
    }

    /// Run once at start: stores the hashes of the keys from the environment and makes sure
    /// the shared queues exist. Idempotent, so every process may run it.
    pub async fn bootstrap(&self) -> anyhow::Result<()> {
        self.seed_keys().await?;
        ensure_shared_queues(self.queue.as_ref())
            .await
            .context("creating the shared queues")?;
        Ok(())
    }

    /// Stores the hashes of `ADMIN_API_KEY` and `USER_API_KEYS` (idempotent), so the key
    /// listing shows them and other processes know them. This process knows them already (the
    /// key cache holds them from the start): a Lambda function runs this after its cold start.
    pub async fn seed_keys(&self) -> anyhow::Result<()> {
        for rec in configured_keys(&self.config) {
            self.store
                .put_api_key(&rec)
                .await
                .with_context(|| format!("storing {}", rec.label))?;
        }
        Ok(())
    }
}

/// The records of the configuration's keys (`ADMIN_API_KEY`, `USER_API_KEYS`).
fn configured_keys(config: &ApiConfig) -> Vec<ApiKeyRecord> {
    let now = now_ms();
    let admin = config
        .admin_key
        .iter()
        .map(|k| ApiKeyRecord::new(&ApiKey::new(k.clone()), Role::Admin, "ADMIN_API_KEY", now));
    let users = config.user_keys.iter().enumerate().map(|(i, k)| {
        ApiKeyRecord::new(
            &ApiKey::new(k.clone()),
            Role::User,
            format!("USER_API_KEYS[{i}]"),
            now,
        )
    });
    admin.chain(users).collect()
}
