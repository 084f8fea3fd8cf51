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

pub mod creds;
pub mod errors;
pub mod inbound;
pub mod media_in;
pub mod outbound;
pub mod polls;
pub mod proto_json;
pub mod proxy;
mod pump;
pub mod translate;

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

/// The handle on one session's WhatsApp connection.
struct WaConnection {
    shared: Arc<Shared>,
}

impl WaConnection {
    async fn media_bytes(&self, source: &MediaSource) -> Result<Vec<u8>, SendError> {
        match source {
            MediaSource::Url(_) => Err(SendError::Permanent(URL_MEDIA_UNSUPPORTED.into())),
            MediaSource::Blob { key, .. } => match self.shared.blobs.get(key).await {
                Ok(Some(b)) => Ok(b.to_vec()),
                Ok(None) => Err(SendError::Permanent(format!("media blob {key} is gone"))),
                Err(e) => Err(SendError::Transient(format!(
                    "reading media blob {key}: {e}"
                ))),
            },
        }
    }

    /// Fails permanently for a number WhatsApp says has no account; any doubt lets the send
    /// go ahead (the server has the last word).
    async fn check_registered(
        &self,
        to: &Jid,
        wa_to: &whatsapp_rust::Jid,
    ) -> Result<(), SendError> {
        if to.kind() != JidKind::User {
            return Ok(());
        }
        let known = self
            .shared
            .on_whatsapp
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(to.user());
        if known {
            return Ok(());
        }
        match self
            .shared
            .client
            .contacts()
            .is_on_whatsapp(std::slice::from_ref(wa_to))
            .await
        {
            Ok(results) if results.iter().any(|r| r.is_registered) => {
                self.shared
                    .on_whatsapp
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(to.user().to_owned());
                Ok(())
            }
            Ok(results) if !results.is_empty() => Err(SendError::Permanent(NOT_ON_WHATSAPP.into())),
            Ok(_) => Ok(()),
            Err(e) => {
                tracing::debug!(session_id = %self.shared.session, error = %e, "could not check the recipient; sending anyway");
                Ok(())
            }
        }
    }
}

#[async_trait]
impl Connection for WaConnection {
    async fn send(
        &self,
        to: &Jid,
        msg: &OutboundMessage,
        wa_message_id: &str,
    ) -> Result<SendReceipt, SendError> {
        let s = &self.shared;
        let wa_to: whatsapp_rust::Jid = to
            .as_str()
            .parse()
            .map_err(|e| SendError::Permanent(format!("recipient {to}: {e}")))?;
        self.check_registered(to, &wa_to).await?;
        let media = match media_of(msg) {
            None => None,
            Some((source, media_type)) => {
                let bytes = self.media_bytes(source).await?;
                if let wagate_core::MessageContent::Media { media, .. } = &msg.content {
                    check_media_size(&s.media_caps, *media, bytes.len() as u64)?;
                }
                let up = s
                    .client
                    .upload(bytes, media_type, UploadOptions::default())
                    .await
                    .map_err(|e| classify_upload(&e))?;
                Some(UploadedMedia::from(up))
            }
        };
        let secret = match &msg.content {
            // Kept before the send, and the same on a resend: votes open with it.
            wagate_core::MessageContent::Poll { options, .. } => {
                polls::secret_for(s.blobs.as_ref(), &s.session, wa_message_id, options)
                    .await
                    .map_err(|e| {
                        SendError::Transient(format!("keeping the poll's secret: {e:#}"))
                    })?
            }
            _ => rand::rng().random(),
        };
        let proto = to_proto(msg, to, media.as_ref(), secret)?;
        let sent = s
            .client
            .send_message_with_options(
                wa_to,
                proto,
                SendOptions::default().with_message_id(wa_message_id),
            )
            .await
            .map_err(|e| classify_send(&e, s.logged_out.load(Ordering::SeqCst)))?;
        Ok(SendReceipt {
            message_id: sent.message_id,
            timestamp_ms: wagate_core::clock::now_ms(),
        })
    }

    async fn reject_call(&self, call: &IncomingCall) -> anyhow::Result<()> {
        let peer: whatsapp_rust::Jid = call
            .peer
            .parse()
            .map_err(|e| anyhow::anyhow!("call peer {}: {e:?}", call.peer))?;
        let creator: whatsapp_rust::Jid = call
            .creator
            .parse()
            .map_err(|e| anyhow::anyhow!("call creator {}: {e:?}", call.creator))?;
        self.shared
            .client
            .voip()
            .reject_call(&call.call_id, &peer, &creator)
            .await
            .map_err(|e| anyhow::anyhow!("rejecting the call: {e}"))
    }

    async fn chat_state(&self, to: &Jid, state: super::ChatState) -> anyhow::Result<()> {
        let wa_to: whatsapp_rust::Jid = to
            .as_str()
            .parse()
            .map_err(|e| anyhow::anyhow!("chat {to}: {e:?}"))?;
        let chatstate = self.shared.client.chatstate();
        match state {
            super::ChatState::Composing => chatstate.send_composing(&wa_to).await,
            super::ChatState::Recording => chatstate.send_recording(&wa_to).await,
            super::ChatState::Paused => chatstate.send_paused(&wa_to).await,
        }
        .map_err(|e| anyhow::anyhow!("chat state: {e}"))
    }

    async fn check_numbers(&self, numbers: &[String]) -> anyhow::Result<Vec<NumberCheck>> {
        let jids: Vec<whatsapp_rust::Jid> = numbers
            .iter()
            .map(|n| {
                format!("{n}@s.whatsapp.net")
                    .parse()
                    .map_err(|e| anyhow::anyhow!("number {n}: {e:?}"))
            })
            .collect::<anyhow::Result<_>>()?;
        let answers = self
            .shared
            .client
            .contacts()
            .is_on_whatsapp(&jids)
            .await
            .map_err(|e| anyhow::anyhow!("is_on_whatsapp: {e}"))?;
        let answers: Vec<translate::RegisteredAnswer> = answers.iter().map(Into::into).collect();
        Ok(translate::number_checks(numbers, &answers))
    }

    async fn profile(&self, number: &str) -> anyhow::Result<ContactProfile> {
        let jid: whatsapp_rust::Jid = format!("{number}@s.whatsapp.net")
            .parse()
            .map_err(|e| anyhow::anyhow!("number {number}: {e:?}"))?;
        let contacts = self.shared.client.contacts();
        let infos = contacts
            .get_user_info(std::slice::from_ref(&jid))
            .await
            .map_err(|e| anyhow::anyhow!("user info: {e}"))?;
        let Some(info) = infos.values().next() else {
            anyhow::bail!("{number} is not on WhatsApp");
        };
        // A hidden or absent picture is no picture, not a failure.
        let picture = contacts
            .get_profile_picture(&jid, false)
            .await
            .ok()
            .flatten()
            .map(|p| p.url);
        Ok(translate::profile(
            number,
            &translate::ProfileFacts {
                jid: info.jid.clone(),
                lid: info.lid.clone(),
                about: info.status.clone(),
                business: info.is_business,
                business_name: info.verified_name.as_ref().and_then(|v| v.name.clone()),
            },
            picture,
        ))
    }

    async fn download_media(
        &self,
        message_id: &str,
        handle: &serde_json::Value,
        max_bytes: u64,
        out: &mut dyn wagate_core::ports::BlobWriter,
    ) -> anyhow::Result<()> {
        media_in::download(&self.shared.client, message_id, handle, max_bytes, out).await
    }

    async fn pair_code(&self, phone: &str) -> anyhow::Result<String> {
        let digits = wagate_core::normalize_phone(phone, "phone")?;
        let code = self
            .shared
            .client
            .pair_with_code(PairCodeOptions {
                phone_number: digits,
                ..Default::default()
            })
            .await
            .context("asking WhatsApp for a pairing code")?;
        Ok(code)
    }

    async fn logout(&self) -> anyhow::Result<()> {
        let s = &self.shared;
        // The client tells WhatsApp to unlink the device and dispatches `LoggedOut`, which the
        // pump turns into deleted credentials and the runner's `LoggedOut`.
        s.client.logout().await;
        s.logged_out.store(true, Ordering::SeqCst);
        // Offline, no event may come: delete here too (deleting twice is fine).
        s.creds.delete(&s.session).await
    }

    async fn disconnect(&self) {
        self.shared.stop.cancel();
        // Wait for the final backup and the client's flush, so a shutdown keeps them.
        let _ = tokio::time::timeout(3 * CLOSE_TIMEOUT, self.shared.finished.cancelled()).await;
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
