//! One runner per session: connects it, turns what the connection reports into session state
//! and events, runs the send worker while the session is open, and reconnects with backoff
//! when the link drops (never after a logout or a delete).

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use wagate_core::backoff::backoff;
use wagate_core::clock::now_ms;
use wagate_core::connection_history::{self, DropCause};
use wagate_core::inbound_media::InboundMediaMode;
use wagate_core::ports::{Queue, QueueSpec, names};
use wagate_core::{
    Account, Event, EventFilter, Job, MessageContent, OutboundMessage, SessionId, SessionStatus,
};

use crate::connector::{
    CallStatus, Connection, ConnectorEvent, IncomingCall, IncomingMessage, SessionSettings,
};
use crate::context::HostContext;
use crate::events;
use crate::incoming::{Disposition, classify};
use crate::worker::{SendWorker, WorkerConfig};

mod drops;

/// How long a stopping runner may take to finish its send in flight.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// What the supervisor asks of a running session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunnerCommand {
    /// Ask the connection for a pairing code for `phone` and record it on the session.
    PairCode { phone: String },
    /// Unlink the account; the runner ends once the connection reports `LoggedOut`.
    Logout,
    /// Download (again) the file of the received message `message_id`, whose media record
    /// the API found not stored.
    DownloadMedia { message_id: String },
    /// Answer the query recorded as `query_id`.
    Query { query_id: String },
}

/// The supervisor's handle on a runner.
pub struct RunnerHandle {
    commands: mpsc::Sender<RunnerCommand>,
    stop: CancellationToken,
    purge: Arc<AtomicBool>,
    join: JoinHandle<()>,
}

impl fmt::Debug for RunnerHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunnerHandle")
            .field("finished", &self.join.is_finished())
            .finish_non_exhaustive()
    }
}

impl RunnerHandle {
    /// Starts the runner of `session`.
    pub fn spawn(session: SessionId, ctx: Arc<HostContext>) -> Self {
        let (commands, rx) = mpsc::channel(16);
        let stop = CancellationToken::new();
        let purge = Arc::new(AtomicBool::new(false));
        let (link_tx, _) = watch::channel(None);
        let runner = Runner {
            session,
            ctx,
            commands: rx,
            stop: stop.clone(),
            purge: purge.clone(),
            link: link_tx,
            worker: None,
            worker_stop: CancellationToken::new(),
            check_pace: crate::queries::CheckPace::default(),
            qr: None,
            pairing_code: None,
            account: None,
        };
        Self {
            commands,
            stop,
            purge,
            join: tokio::spawn(runner.run()),
        }
    }

    /// Whether the runner has ended (logged out, or stopped).
    pub fn is_finished(&self) -> bool {
        self.join.is_finished()
    }

    /// Passes a command on; false when the runner is gone.
    pub async fn command(&self, cmd: RunnerCommand) -> bool {
        self.commands.send(cmd).await.is_ok()
    }

    /// The runner's stop: cancelling it stops the runner as [`RunnerHandle::signal_stop`]
    /// without `purge` does.
    pub fn stop_token(&self) -> CancellationToken {
        self.stop.clone()
    }

    /// Asks the runner to stop without waiting; `purge` logs the account out on the way.
    pub fn signal_stop(&self, purge: bool) {
        if purge {
            self.purge.store(true, Ordering::SeqCst);
        }
        self.stop.cancel();
    }

    /// Stops the runner and waits for it: the send in flight finishes, then the connection
    /// is closed (or, with `purge`, logged out).
    pub async fn stop(self, purge: bool) {
        self.signal_stop(purge);
        self.join_within(STOP_TIMEOUT).await;
    }

    /// Waits for a stopping runner, aborting it after `timeout`.
    pub async fn join_within(mut self, timeout: Duration) {
        if tokio::time::timeout(timeout, &mut self.join).await.is_err() {
            tracing::warn!("session runner did not stop in time; aborting it");
            self.join.abort();
        }
    }
}

/// How one connection ended.
enum End {
    /// The link dropped: reconnect after a backoff.
    Reconnect,
    /// Logged out, deleted or shut down: the runner ends.
    Finished,
}

struct Runner {
    session: SessionId,
    ctx: Arc<HostContext>,
    commands: mpsc::Receiver<RunnerCommand>,
    stop: CancellationToken,
    purge: Arc<AtomicBool>,
    link: watch::Sender<Option<Arc<dyn Connection>>>,
    worker: Option<JoinHandle<()>>,
    worker_stop: CancellationToken,
    /// When the session last asked WhatsApp about numbers.
    check_pace: crate::queries::CheckPace,
    // What the store shows of the session, kept here because the store sets it all at once.
    qr: Option<String>,
    pairing_code: Option<String>,
    account: Option<Account>,
}

impl Runner {
    fn queue(&self) -> &dyn Queue {
        self.ctx.deps.queue.as_ref()
    }

    #[tracing::instrument(name = "session_runner", skip_all, fields(session_id = %self.session))]
    async fn run(mut self) {
        tracing::info!("session runner started");
        match self.ctx.deps.store.get_session(&self.session).await {
            Ok(Some(s)) => self.account = s.account,
            Ok(None) => tracing::warn!("starting a session that has no record"),
            Err(e) => tracing::warn!(error = %e, "could not load the session record"),
        }
        let send_queue = names::send(&self.session);
        if let Err(e) = self
            .queue()
            .create(&send_queue, QueueSpec::for_session(&self.session))
            .await
        {
            tracing::warn!(error = %e, "could not make sure the send queue exists");
        }
        self.send_recovered_events().await;
        let worker = SendWorker::new(
            self.session.clone(),
            self.ctx.deps.store.clone(),
            self.ctx.deps.queue.clone(),
            self.link.subscribe(),
            WorkerConfig::from(&self.ctx.config),
            self.worker_stop.clone(),
        )
        .with_batch(self.ctx.deps.batch.clone());
        self.worker = Some(tokio::spawn(worker.run()));

        let mut failures = 0u32;
        while !self.stop.is_cancelled() {
            self.set_state(SessionStatus::Connecting).await;
            let connected = match self.settings().await {
                Ok(settings) => tokio::select! {
                    () = self.stop.cancelled() => break,
                    c = self.ctx.connector.connect(&self.session, &settings) => c,
                },
                Err(e) => Err(e),
            };
            let end = match connected {
                Ok(c) => self.drive(c.connection, c.events, &mut failures).await,
                Err(e) => {
                    tracing::warn!(error = %e, "connect failed");
                    self.set_state(SessionStatus::Closed).await;
                    End::Reconnect
                }
            };
            match end {
                End::Finished => break,
                End::Reconnect => {
                    let delay = backoff(failures);
                    failures = failures.saturating_add(1);
                    tracing::info!(
                        retry_in_ms = delay.as_millis() as u64,
                        "reconnecting after a backoff"
                    );
                    tokio::select! {
                        () = self.stop.cancelled() => {}
                        () = tokio::time::sleep(delay) => {}
                    }
                }
            }
        }
        self.stop_worker().await;
        if self.stop.is_cancelled() && !self.purge.load(Ordering::SeqCst) {
            self.set_state(SessionStatus::Closed).await;
        }
        tracing::info!("session runner stopped");
    }

    /// The session's connection settings as its record has them now. Unreadable settings
    /// fail the attempt (it is retried with backoff) rather than connect without the
    /// session's proxy.
    async fn settings(&self) -> anyhow::Result<SessionSettings> {
        let record = self
            .ctx
            .deps
            .store
            .get_session(&self.session)
            .await
            .map_err(|e| anyhow::anyhow!("reading the session's settings: {e}"))?;
        Ok(SessionSettings {
            proxy: record.and_then(|s| s.proxy),
        })
    }

    async fn stop_worker(&mut self) {
        self.worker_stop.cancel();
        if let Some(w) = self.worker.take()
            && let Err(e) = w.await
        {
            tracing::warn!(session_id = %self.session, error = %e, "send worker ended abnormally");
        }
    }

    /// Follows one connection until it ends.
    async fn drive(
        &mut self,
        conn: Arc<dyn Connection>,
        mut events: mpsc::Receiver<ConnectorEvent>,
        failures: &mut u32,
    ) -> End {
        let stale_after = self.ctx.config.stale_after;
        let mut watch = tokio::time::interval(crate::watchdog::check_every(stale_after));
        watch.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let open = !stale_after.is_zero() && self.link.borrow().is_some();
            tokio::select! {
                biased;
                () = self.stop.cancelled() => {
                    // Finish the send in flight before the connection goes away.
                    self.stop_worker().await;
                    self.link.send_replace(None);
                    if self.purge.load(Ordering::SeqCst)
                        && let Err(e) = conn.logout().await
                    {
                        tracing::warn!(session_id = %self.session, error = %e, "logout on delete failed");
                    }
                    conn.disconnect().await;
                    return End::Finished;
                }
                cmd = self.commands.recv() => match cmd {
                    Some(cmd) => self.command(&conn, cmd).await,
                    // The supervisor is gone: nobody can stop this runner any more.
                    None => self.stop.cancel(),
                },
                ev = events.recv() => {
                    let ev = ev.unwrap_or_else(|| ConnectorEvent::Closed {
                        reason: "connection lost".into(),
                    });
                    if let Some(end) = self.event(&conn, ev, failures).await {
                        return end;
                    }
                }
                _ = watch.tick(), if open => {
                    if let Some(end) = self.check_stale(&conn, stale_after).await {
                        return end;
                    }
                }
            }
        }
    }

    async fn command(&mut self, conn: &Arc<dyn Connection>, cmd: RunnerCommand) {
        match cmd {
            RunnerCommand::PairCode { phone } => match conn.pair_code(&phone).await {
                Ok(code) => {
                    tracing::info!(session_id = %self.session, "pairing code issued");
                    self.pairing_code = Some(code);
                    self.set_state(SessionStatus::Qr).await;
                }
                Err(e) => {
                    tracing::warn!(session_id = %self.session, error = %e, "pairing code request failed");
                }
            },
            RunnerCommand::Logout => {
                if let Err(e) = conn.logout().await {
                    tracing::warn!(session_id = %self.session, error = %e, "logout failed");
                }
            }
            RunnerCommand::DownloadMedia { message_id } => {
                self.download_on_request(conn.clone(), message_id).await;
            }
            RunnerCommand::Query { query_id } => {
                let store = self.ctx.deps.store.clone();
                match crate::queries::load(store.as_ref(), &query_id).await {
                    Ok(Some(rec)) if rec.session_id == self.session => {
                        // A session showing a QR waits for a person, not for a reconnect.
                        let mut link = self.link.subscribe();
                        if self.qr.is_some() || self.pairing_code.is_some() {
                            link = watch::channel(None).1;
                        }
                        let pace = self.check_pace.clone();
                        tokio::spawn(crate::queries::answer_when_open(store, link, pace, rec));
                    }
                    Ok(_) => {
                        tracing::debug!(session_id = %self.session, %query_id, "query gone or not this session's")
                    }
                    Err(e) => {
                        tracing::warn!(session_id = %self.session, error = %e, "could not read a query")
                    }
                }
            }
        }
    }

    async fn event(
        &mut self,
        conn: &Arc<dyn Connection>,
        ev: ConnectorEvent,
        failures: &mut u32,
    ) -> Option<End> {
        match ev {
            ConnectorEvent::Qr { code } => {
                tracing::debug!(session_id = %self.session, "new QR code");
                self.qr = Some(code.clone());
                self.set_state(SessionStatus::Qr).await;
                self.emit(events::qr(&self.session, &code)).await;
            }
            ConnectorEvent::PairingCode { code } => {
                self.pairing_code = Some(code);
                self.set_state(SessionStatus::Qr).await;
            }
            ConnectorEvent::Open { account } => {
                tracing::info!(session_id = %self.session, jid = %account.jid, "session open");
                *failures = 0;
                self.qr = None;
                self.pairing_code = None;
                self.account = Some(account.clone());
                self.set_state(SessionStatus::Open).await;
                self.emit(events::session_open(&self.session, &account))
                    .await;
                self.link.send_replace(Some(conn.clone()));
            }
            ConnectorEvent::Closed { reason } => {
                return Some(self.dropped(DropCause::Closed, &reason).await);
            }
            ConnectorEvent::LoggedOut => {
                tracing::info!(session_id = %self.session, "session logged out");
                wagate_core::measure::disconnect("logged_out");
                let store = self.ctx.deps.store.as_ref();
                let (cause, at) = (DropCause::LoggedOut, now_ms());
                connection_history::record(store, &self.session, cause, "logged out", at).await;
                self.link.send_replace(None);
                self.qr = None;
                self.pairing_code = None;
                self.account = None;
                self.set_state(SessionStatus::LoggedOut).await;
                self.emit(events::session_closed(&self.session, true, "logged out"))
                    .await;
                // The send in flight (if any) finishes; the rest stays queued for a new link.
                self.stop_worker().await;
                conn.disconnect().await;
                return Some(End::Finished);
            }
            ConnectorEvent::Incoming(m) => {
                wagate_core::measure::inbound(m.kind());
                self.incoming(*m).await
            }
            ConnectorEvent::Call(c) => self.call(&c).await,
            ConnectorEvent::Group(g) => {
                crate::queries::forget_group(self.ctx.deps.store.as_ref(), &self.session, &g.group)
                    .await;
                self.emit(events::group_change(&self.session, &g)).await;
            }
            ConnectorEvent::Action(a) => {
                if a.from_me || a.chat.is_broadcast_like() || a.from.is_broadcast_like() {
                    tracing::debug!(session_id = %self.session, chat = %a.chat, "message action ignored");
                } else {
                    self.emit(events::message_action(&self.session, &a)).await;
                }
            }
            ConnectorEvent::Receipt(r) => {
                tracing::debug!(
                    session_id = %self.session,
                    chat = %r.chat,
                    status = r.status.as_str(),
                    messages = r.message_ids.len(),
                    "message receipt"
                );
                for id in &r.message_ids {
                    self.emit(events::message_status(&self.session, &r, id))
                        .await;
                }
            }
        }
        None
    }

    async fn incoming(&self, m: IncomingMessage) {
        match classify(&m, self.ctx.config.autoreply_ping_pong) {
            Disposition::Ignore(why) => {
                tracing::debug!(session_id = %self.session, chat = %m.chat, why, "incoming message ignored");
            }
            Disposition::Forward => self.forward(&m).await,
            Disposition::Pong => {
                if let Err(e) = self.reply_pong(&m).await {
                    tracing::warn!(session_id = %self.session, error = %e, "could not queue the pong");
                }
            }
        }
    }

    /// Queues `pong` to the chat of `ping` like any other send, so it is paced and recorded.
    async fn reply_pong(&self, ping: &IncomingMessage) -> anyhow::Result<()> {
        let job = self.reply(&ping.chat, "pong").await?;
        tracing::info!(session_id = %self.session, job_id = %job.id, chat = %ping.chat, "ping answered with a queued pong");
        Ok(())
    }

    /// Queues `text` to `chat` as a job of the session's owner: paced, recorded, retried.
    async fn reply(&self, chat: &wagate_core::Jid, text: &str) -> anyhow::Result<Job> {
        let store = &self.ctx.deps.store;
        let Some(session) = store.get_session(&self.session).await? else {
            anyhow::bail!("the session record is gone");
        };
        let job = Job::new(
            self.session.clone(),
            session.owner,
            chat.clone(),
            OutboundMessage::new(MessageContent::Text {
                text: text.into(),
                mentions: Vec::new(),
            }),
            now_ms(),
        );
        store.create_job(&job).await?;
        wagate_core::ports::enqueue_send(self.queue(), &job, job.id.as_str()).await?;
        Ok(job)
    }

    /// The session's own settings for its events (the host's defaults when unreadable).
    async fn preferences(&self) -> EventFilter {
        match self.ctx.deps.store.get_session(&self.session).await {
            Ok(Some(s)) => s.events,
            Ok(None) => EventFilter::default(),
            Err(e) => {
                tracing::warn!(session_id = %self.session, error = %e, "could not read the session's settings");
                EventFilter::default()
            }
        }
    }

    /// `message_received`, with its media: described (`on-request`), or downloaded first
    /// (`auto`, in a task of its own so the connection's other events are not held up).
    async fn forward(&self, m: &IncomingMessage) {
        let mut event = events::message_received(&self.session, m);
        if m.media_handle.is_none() {
            return self.emit(event).await;
        }
        let media = self.ctx.media.clone();
        let blobs = self.ctx.deps.blobs.clone();
        let mode = self
            .preferences()
            .await
            .inbound_media
            .unwrap_or(media.default_mode);
        let record = match media.register(blobs.as_ref(), &self.session, m, mode).await {
            Ok(Some(r)) => r,
            Ok(None) => return self.emit(event).await,
            Err(e) => {
                tracing::warn!(session_id = %self.session, error = %e, "could not record a received file");
                return self.emit(event).await;
            }
        };
        let ticket = match mode {
            InboundMediaMode::Auto => media.try_wait(),
            _ => None,
        };
        let Some(ticket) = ticket else {
            event.data.insert("media".into(), record.event_json(None));
            return self.emit(event).await;
        };
        let conn = self.link.borrow().clone();
        media.emit_after_download(
            blobs,
            self.ctx.deps.queue.clone(),
            conn,
            record,
            event,
            ticket,
        );
    }

    /// Events a host left waiting for their media when it stopped.
    async fn send_recovered_events(&self) {
        let media = &self.ctx.media;
        media
            .send_recovered(self.ctx.deps.blobs.as_ref(), self.queue(), &self.session)
            .await;
    }

    /// `GET …/messages/:id/media` found the file missing: download it, in the background.
    async fn download_on_request(&self, conn: Arc<dyn Connection>, message_id: String) {
        let media = self.ctx.media.clone();
        media
            .download_on_request(
                self.ctx.deps.blobs.clone(),
                conn,
                &self.session,
                &message_id,
            )
            .await;
    }

    /// A call: the event, and with `REJECT_CALLS` (or the session's `rejectCalls`) the call
    /// declined and the caller answered.
    async fn call(&self, call: &IncomingCall) {
        let reject = call.status == CallStatus::Offer
            && self
                .preferences()
                .await
                .reject_calls
                .unwrap_or(self.ctx.config.reject_calls);
        let mut rejected = false;
        let conn = self.link.borrow().clone();
        if reject && let Some(conn) = conn {
            match conn.reject_call(call).await {
                Ok(()) => rejected = true,
                Err(e) => {
                    tracing::warn!(session_id = %self.session, call_id = %call.call_id, error = %e, "could not reject the call");
                }
            }
        }
        self.emit(events::call(&self.session, call, rejected)).await;
        if rejected
            && !call.is_group
            && let Some(text) = self.ctx.config.reject_call_message.as_deref()
            && let Err(e) = self.reply(&call.from, text).await
        {
            tracing::warn!(session_id = %self.session, error = %e, "could not queue the reply to a rejected call");
        }
    }

    async fn set_state(&self, status: SessionStatus) {
        let r = self
            .ctx
            .deps
            .store
            .set_session_state(
                &self.session,
                status,
                self.qr.as_deref(),
                self.pairing_code.as_deref(),
                self.account.as_ref(),
            )
            .await;
        match r {
            Ok(true) => {}
            Ok(false) => tracing::debug!(session_id = %self.session, "session record is gone"),
            Err(e) => {
                tracing::warn!(session_id = %self.session, status = status.as_str(), error = %e, "could not record the session state");
            }
        }
    }

    async fn emit(&self, event: Event) {
        if let Err(e) = events::emit(self.queue(), &event).await {
            tracing::warn!(session_id = %self.session, event = event.kind.as_str(), error = %e, "could not queue an event");
        }
    }
}
