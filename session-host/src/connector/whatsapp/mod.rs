//! The real WhatsApp connector, over whatsapp-rust. One `connect` builds one client on the
//! session's own SQLite store (restored from the blob store when this host has no copy),
//! makes one connection and reports what happens to it; reconnecting, with backoff and
//! jitter, stays the runner's job, so the client's own reconnect loop is switched off.
//!
//! - [`outbound`]: every message kind as WhatsApp's protobuf (pure).
//! - [`translate`]: the client's events as wagate's (pure).
//! - [`errors`]: permanent or transient (pure).
//! - [`creds`]: credentials files and their blob-store backups.
//! - [`proxy`]: the WebSocket through an HTTP(S) proxy.

pub mod actions;
mod connection;
pub mod creds;
pub mod errors;
mod group_info;
pub mod inbound;
pub mod media_in;
pub mod outbound;
pub mod polls;
pub mod proto_json;
pub mod proxy;
mod pump;
pub mod refusals;
pub mod translate;

/// whatsapp-rust's own counters (its `metrics` feature: `wa_recv_total`, `wa_send_total`,
/// `wa_iq_total`, `wa_reconnect_total`, `wa_connected`, latency histograms…), recorded
/// through the same facade as wagate's, summed over the process's sessions.
pub use whatsapp_rust::telemetry;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use rand::Rng;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use wagate_core::ports::Blobs;
use wagate_core::{
    Account, ContactProfile, Jid, JidKind, MediaCaps, MediaSource, NumberCheck, OutboundMessage,
    ProxyUrl, SessionId,
};
use whatsapp_rust::http::{HttpClient, UreqHttpClient};
use whatsapp_rust::pair_code::PairCodeOptions;
use whatsapp_rust::prelude::{Bot, Client, Event, EventHandler, SendOptions};
use whatsapp_rust::store::SqliteStore;
use whatsapp_rust::transport::TransportFactory;
use whatsapp_rust::upload::UploadOptions;

use self::connection::WaConnection;
use self::creds::CredsStore;
use self::errors::{NOT_ON_WHATSAPP, check_media_size, classify_send, classify_upload};
use self::outbound::{URL_MEDIA_UNSUPPORTED, UploadedMedia, media_of, to_proto};
use self::proxy::ProxyTransportFactory;
use self::pump::Pump;
use self::translate::{Action, translate, wagate_jid};
use super::{
    Connected, Connection, Connector, ConnectorEvent, IncomingCall, SendError, SendReceipt,
    SessionSettings,
};

/// Events a connection can hold for the runner before the pump waits for it.
const EVENT_BUFFER: usize = 256;

/// How often an open session's credentials are backed up by default.
pub const DEFAULT_BACKUP_INTERVAL: Duration = Duration::from_secs(300);

/// How long the final backup and the client's own flush may take when a connection closes.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(15);

/// Settings of the WhatsApp connector.
#[derive(Clone)]
pub struct WhatsAppOptions {
    /// Where the per-session credentials files live (`DATA_DIR/whatsapp`).
    pub dir: PathBuf,
    /// How often an open session's credentials are backed up to the blob store.
    pub backup_interval: Duration,
    /// The WebSocket dialer; `None` is whatsapp-rust's own (TLS straight to WhatsApp).
    pub transport: Option<Arc<dyn TransportFactory>>,
    /// The HTTP client for media and the version check; `None` is whatsapp-rust's own.
    pub http: Option<Arc<dyn HttpClient>>,
    /// The WhatsApp Web version to announce instead of asking WhatsApp for the current one.
    pub version: Option<(u32, u32, u32)>,
    /// The proxy of sessions that have none of their own (`HTTPS_PROXY`).
    pub proxy: Option<ProxyUrl>,
    /// The largest media file of each kind it uploads (`MEDIA_MAX_*_BYTES`, as the API).
    pub media_caps: MediaCaps,
}

impl WhatsAppOptions {
    /// Credentials under `dir`, whatsapp-rust's own network stack.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            backup_interval: DEFAULT_BACKUP_INTERVAL,
            transport: None,
            http: None,
            version: None,
            proxy: None,
            media_caps: MediaCaps::default(),
        }
    }
}

impl fmt::Debug for WhatsAppOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WhatsAppOptions")
            .field("dir", &self.dir)
            .field("backup_interval", &self.backup_interval)
            .field("custom_transport", &self.transport.is_some())
            .field("custom_http", &self.http.is_some())
            .field("version", &self.version)
            .field("proxy", &self.proxy)
            .field("media_caps", &self.media_caps)
            .finish()
    }
}

/// Connects sessions to WhatsApp through whatsapp-rust.
pub struct WhatsAppConnector {
    creds: CredsStore,
    blobs: Arc<dyn Blobs>,
    options: WhatsAppOptions,
    /// Sessions that must not reconnect before a moment (replaced stream, temporary ban).
    hold: Arc<Mutex<HashMap<SessionId, Instant>>>,
}

impl fmt::Debug for WhatsAppConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WhatsAppConnector")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl WhatsAppConnector {
    /// A connector keeping credentials under `options.dir`, backed up to `blobs`.
    pub fn new(blobs: Arc<dyn Blobs>, options: WhatsAppOptions) -> Self {
        Self {
            creds: CredsStore::new(options.dir.clone(), blobs.clone()),
            blobs,
            options,
            hold: Arc::default(),
        }
    }

    /// The credentials of every session.
    pub fn creds(&self) -> &CredsStore {
        &self.creds
    }

    async fn wait_hold_off(&self, session: &SessionId) {
        let until = self
            .hold
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(session);
        if let Some(until) = until
            && until > Instant::now()
        {
            tracing::info!(
                session_id = %session,
                wait_ms = (until - Instant::now()).as_millis() as u64,
                "holding the reconnect back"
            );
            tokio::time::sleep_until(until).await;
        }
    }
}

/// Hands every client event to the pump, in order, without blocking the client.
struct Forward(mpsc::UnboundedSender<Arc<Event>>);

impl EventHandler for Forward {
    fn handle_event(&self, event: Arc<Event>) {
        let _ = self.0.send(event);
    }
}

#[async_trait]
impl Connector for WhatsAppConnector {
    async fn connect(
        &self,
        session: &SessionId,
        settings: &SessionSettings,
    ) -> anyhow::Result<Connected> {
        self.wait_hold_off(session).await;
        let restored = self.creds.restore(session).await?;
        let path = self.creds.db_path(session);
        let store = Arc::new(
            SqliteStore::new(&path.to_string_lossy())
                .await
                .with_context(|| format!("opening {}", path.display()))?,
        );
        let (raw_tx, raw_rx) = mpsc::unbounded_channel();
        let mut builder = Bot::builder()
            .with_backend_arc(store.clone())
            .with_event_handler(Forward(raw_tx))
            .skip_history_sync();
        if let Some(v) = self.options.version {
            builder = builder.with_version(v);
        }
        let proxy = settings.proxy.as_ref().or(self.options.proxy.as_ref());
        match (&self.options.transport, proxy) {
            (Some(t), _) => builder = builder.with_transport_factory(ArcTransport(t.clone())),
            (None, Some(p)) => {
                builder = builder.with_transport_factory(ProxyTransportFactory::new(p.clone()));
            }
            (None, None) => {}
        }
        match (&self.options.http, &settings.proxy) {
            (Some(h), _) => builder = builder.with_http_client(ArcHttp(h.clone())),
            // ureq follows `HTTPS_PROXY` by itself; a session's own proxy needs its own agent.
            (None, Some(p)) => builder = builder.with_http_client(proxied_http(p)?),
            (None, None) => {}
        }
        let bot = builder
            .build()
            .await
            .context("building the WhatsApp client")?;
        let client = bot.client();
        // One connection per `connect`: the runner reconnects with its own backoff.
        client.enable_auto_reconnect.store(false, Ordering::SeqCst);
        tracing::info!(session_id = %session, ?restored, proxy = ?proxy, "connecting to WhatsApp");

        let (tx, rx) = mpsc::channel(EVENT_BUFFER);
        let shared = Arc::new(Shared {
            session: session.clone(),
            client: client.clone(),
            store,
            creds: self.creds.clone(),
            blobs: self.blobs.clone(),
            stop: CancellationToken::new(),
            finished: CancellationToken::new(),
            logged_out: AtomicBool::new(false),
            on_whatsapp: Mutex::new(HashSet::new()),
            media_caps: self.options.media_caps,
        });
        let run = tokio::spawn(bot.run());
        let pump = Pump {
            shared: shared.clone(),
            events: raw_rx,
            tx,
            hold: self.hold.clone(),
            backup_interval: self.options.backup_interval,
            run,
            run_done: false,
        };
        tokio::spawn(pump.run());
        Ok(Connected {
            connection: Arc::new(WaConnection { shared }),
            events: rx,
        })
    }
}

/// whatsapp-rust's HTTP client (media, version check) through `proxy`.
fn proxied_http(proxy: &ProxyUrl) -> anyhow::Result<UreqHttpClient> {
    let proxy = ureq::Proxy::new(proxy.expose())
        .map_err(|e| anyhow::anyhow!("the session's proxy {proxy}: {e}"))?;
    let agent: ureq::Agent = ureq::config::Config::builder()
        .proxy(Some(proxy))
        .build()
        .into();
    Ok(UreqHttpClient::with_agent(agent))
}

/// What the connection handle and its pump share.
struct Shared {
    session: SessionId,
    client: Arc<Client>,
    store: Arc<SqliteStore>,
    creds: CredsStore,
    blobs: Arc<dyn Blobs>,
    /// Cancelled by `disconnect` and `logout`: the pump closes the client and ends.
    stop: CancellationToken,
    /// Cancelled once the pump has closed the client and reported the end.
    finished: CancellationToken,
    logged_out: AtomicBool,
    /// Numbers already found on WhatsApp by this connection.
    on_whatsapp: Mutex<HashSet<String>>,
    media_caps: MediaCaps,
}

impl Shared {
    async fn backup(&self, why: &str) {
        if self.logged_out.load(Ordering::SeqCst) {
            return;
        }
        match self.creds.backup(&self.session, self.store.as_ref()).await {
            Ok(bytes) => {
                tracing::info!(session_id = %self.session, bytes, why, "credentials backed up")
            }
            Err(e) => {
                tracing::warn!(session_id = %self.session, error = %format!("{e:#}"), why, "credentials backup failed");
            }
        }
    }

    fn account(&self) -> Option<Account> {
        let jid = self.client.pn().as_ref().and_then(wagate_jid)?;
        let name = Some(self.client.push_name()).filter(|n| !n.is_empty());
        Some(Account { jid, name })
    }
}

/// Lets a shared transport factory be handed to the builder, which wants it by value.
struct ArcTransport(Arc<dyn TransportFactory>);

#[async_trait]
impl TransportFactory for ArcTransport {
    async fn create_transport(
        &self,
    ) -> anyhow::Result<(
        Arc<dyn whatsapp_rust::transport::Transport>,
        whatsapp_rust::async_channel::Receiver<whatsapp_rust::transport::TransportEvent>,
    )> {
        self.0.create_transport().await
    }
}

/// Lets a shared HTTP client be handed to the builder, which wants it by value.
struct ArcHttp(Arc<dyn HttpClient>);

#[async_trait]
impl HttpClient for ArcHttp {
    async fn execute(
        &self,
        request: whatsapp_rust::http::HttpRequest,
    ) -> anyhow::Result<whatsapp_rust::http::HttpResponse> {
        self.0.execute(request).await
    }
}
