//! The session host's supervisor: starts a runner for every session at startup (spaced out, so
//! a restart does not reconnect every account at once), then follows the control queue —
//! start, delete, logout, pairing code, and the simulated network's scan and incoming
//! messages. On shutdown every runner finishes its send in flight and closes its connection.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use wagate_core::clock::now_ms;
use wagate_core::ports::{QueueMessage, ensure_shared_queues, names};
use wagate_core::simulator::ControlMessage;
use wagate_core::{HostCommand, QUERY_DEADLINE_MS, SessionId, SessionStatus};

use crate::config::HostConfig;
use crate::connector::{Connector, SimNetwork};
use crate::context::HostContext;
pub use crate::context::HostDeps;
use crate::deletion;
use crate::events;
use crate::received_media::ReceivedMedia;
use crate::runner::{RunnerCommand, RunnerHandle};

/// How long a received control command stays hidden while it is handled.
const CONTROL_VISIBILITY: Duration = Duration::from_secs(60);
/// A command that keeps failing is dropped after this many deliveries.
const CONTROL_MAX_ATTEMPTS: u32 = 5;
/// How long the runners get, all together, to stop on shutdown.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(30);
/// A simulated scan waits this long for the session's connection to come up.
const SIM_SCAN_WAIT: Duration = Duration::from_secs(2);
/// A command for a session another host runs is handed back visible at once, and the host
/// that handed it back stops receiving for this long per delivery so far (up to
/// [`ELSEWHERE_PAUSE_MAX`]), so the host running the session, waiting on its own receive, gets
/// it next.
const ELSEWHERE_PAUSE_STEP: Duration = Duration::from_millis(100);
const ELSEWHERE_PAUSE_MAX: Duration = Duration::from_secs(1);
/// A command no host running its session picks up in this many deliveries (over a minute and a
/// half: past a dead host's lease TTL, when another host takes the session) is dropped.
const ELSEWHERE_MAX_ATTEMPTS: u32 = 100;

mod lease;
mod simulate;

use lease::LeaseKeeper;

/// The command is for a session another host holds the lease of: only that host can carry it
/// out, so it goes back to the control queue for that host to receive.
#[derive(Debug, thiserror::Error)]
#[error("another host runs the session")]
struct Elsewhere;

/// The session host: one runner per session, driven by the control queue.
#[derive(Debug)]
pub struct SessionHost {
    ctx: Arc<HostContext>,
    sim: Option<Arc<SimNetwork>>,
    runners: HashMap<SessionId, RunnerHandle>,
    /// Sessions still to start after a restart, in order.
    pending: VecDeque<SessionId>,
    /// Sessions another host holds the lease of; taken over when that lease expires.
    elsewhere: BTreeSet<SessionId>,
    /// The keeper of each running session's lease.
    leases: HashMap<SessionId, LeaseKeeper>,
    /// Handed a command back: receive nothing until then.
    paused_until: Option<Instant>,
    /// When the session list was last read for sessions this host has not heard of (started
    /// through a command another host received): those are taken over too when their host dies.
    listed: Instant,
}

impl SessionHost {
    /// A host connecting sessions through `connector`. `sim` is the simulated network when
    /// that is the connector, so the `SimScan` / `SimIncoming` commands can reach it.
    pub fn new(
        deps: HostDeps,
        config: HostConfig,
        connector: Arc<dyn Connector>,
        sim: Option<Arc<SimNetwork>>,
    ) -> Self {
        Self {
            ctx: Arc::new(HostContext {
                media: Arc::new(ReceivedMedia::new(&config)),
                deps,
                config,
                connector,
            }),
            sim,
            runners: HashMap::new(),
            pending: VecDeque::new(),
            elsewhere: BTreeSet::new(),
            leases: HashMap::new(),
            paused_until: None,
            listed: Instant::now(),
        }
    }

    /// Runs until `shutdown` is cancelled, then stops every runner (each finishing its send in
    /// flight). Fails only when the host cannot start (its queues or the session list are out
    /// of reach).
    pub async fn run(mut self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let queue = self.ctx.deps.queue.clone();
        ensure_shared_queues(queue.as_ref())
            .await
            .context("creating the shared queues")?;
        let sessions = self
            .ctx
            .deps
            .store
            .all_sessions(None)
            .await
            .context("listing sessions")?;
        self.pending = sessions
            .into_iter()
            .filter(|s| s.status != SessionStatus::LoggedOut)
            .map(|s| s.id)
            .collect();
        self.listed = Instant::now();
        tracing::info!(sessions = self.pending.len(), "session host started");
        let sweeper = tokio::spawn(crate::requeue::run(
            self.ctx.deps.store.clone(),
            queue.clone(),
            shutdown.clone(),
        ));

        let spacing = self.ctx.config.session_start_spacing;
        let poll_wait = self.ctx.config.poll_wait;
        let round_every = self.ctx.config.lease_ttl / 3;
        let mut next_start = Instant::now();
        let mut next_round = Instant::now() + round_every;
        while !shutdown.is_cancelled() {
            if !self.pending.is_empty() && Instant::now() >= next_start {
                if let Some(id) = self.pending.pop_front()
                    && let Err(e) = self.ensure_runner(&id).await
                {
                    tracing::warn!(session_id = %id, error = %e, "could not start the session; trying again at the next lease round");
                    self.elsewhere.insert(id);
                }
                next_start = Instant::now() + spacing;
            }
            if Instant::now() >= next_round {
                self.reap().await;
                self.take_over().await;
                next_round = Instant::now() + round_every;
            }
            if let Some(until) = self.paused_until.take() {
                tokio::select! {
                    () = shutdown.cancelled() => continue,
                    () = tokio::time::sleep_until(until) => {}
                }
            }
            let wait = if self.pending.is_empty() {
                poll_wait
            } else {
                next_start
                    .saturating_duration_since(Instant::now())
                    .min(poll_wait)
            }
            .min(next_round.saturating_duration_since(Instant::now()));
            match queue
                .receive(names::CONTROL, 10, CONTROL_VISIBILITY, wait)
                .await
            {
                Ok(msgs) => {
                    for msg in msgs {
                        self.handle_control(&msg).await;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "control queue receive failed; retrying in 1 s");
                    tokio::select! {
                        () = shutdown.cancelled() => {}
                        () = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                }
            }
        }
        self.stop_all().await;
        if let Err(e) = sweeper.await {
            tracing::warn!(error = %e, "the sweep for unstarted jobs ended abnormally");
        }
        tracing::info!("session host stopped");
        Ok(())
    }

    async fn stop_all(&mut self) {
        tracing::info!(runners = self.runners.len(), "stopping session runners");
        let runners: Vec<RunnerHandle> = self.runners.drain().map(|(_, h)| h).collect();
        for r in &runners {
            r.signal_stop(false);
        }
        let deadline = Instant::now() + SHUTDOWN_TIMEOUT;
        for r in runners {
            r.join_within(deadline.saturating_duration_since(Instant::now()))
                .await;
        }
        // The connections are closed: let another host take the sessions at once.
        for (id, lease) in std::mem::take(&mut self.leases) {
            if !lease.lost() {
                self.release(&id).await;
            }
        }
    }

    async fn release(&self, id: &SessionId) {
        if let Err(e) = self
            .ctx
            .deps
            .store
            .release_lease(id, &self.ctx.config.host_id)
            .await
        {
            tracing::warn!(session_id = %id, error = %e, "could not release the lease; it expires on its own");
        }
    }

    /// Forgets the runners that ended: their leases are released, or, when lost to another
    /// host, their sessions are watched for that host to let them go.
    async fn reap(&mut self) {
        let ended: Vec<SessionId> = self
            .runners
            .iter()
            .filter(|(_, r)| r.is_finished())
            .map(|(id, _)| id.clone())
            .collect();
        for id in ended {
            self.runners.remove(&id);
            match self.leases.remove(&id) {
                Some(lease) if lease.lost() => {
                    self.elsewhere.insert(id);
                }
                _ => self.release(&id).await,
            }
        }
    }

    /// Takes over the sessions whose holder let its lease expire.
    async fn take_over(&mut self) {
        let ctx = self.ctx.clone();
        let (store, cfg) = (ctx.deps.store.clone(), &ctx.config);
        if self.listed.elapsed() >= cfg.lease_ttl {
            self.note_unknown_sessions().await;
        }
        let waiting: Vec<SessionId> = std::mem::take(&mut self.elsewhere).into_iter().collect();
        for id in waiting {
            match store.get_session(&id).await {
                Ok(Some(s)) if s.status != SessionStatus::LoggedOut => {
                    if let Err(e) = self.ensure_runner(&id).await {
                        tracing::warn!(session_id = %id, error = %e, "could not start the session");
                        self.elsewhere.insert(id);
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(session_id = %id, error = %e, "could not read the session");
                    self.elsewhere.insert(id);
                }
            }
        }
    }

    /// Adds to `elsewhere` every session this host neither runs nor waits for, so the lease
    /// round takes it over once its holder stops renewing. Read once a lease TTL: a session
    /// another host started can wait up to one TTL longer for its takeover than the others.
    async fn note_unknown_sessions(&mut self) {
        self.listed = Instant::now();
        match self.ctx.deps.store.all_sessions(None).await {
            Ok(sessions) => {
                for s in sessions {
                    let known = self.runners.contains_key(&s.id) || self.pending.contains(&s.id);
                    if !known && s.status != SessionStatus::LoggedOut {
                        self.elsewhere.insert(s.id);
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not list the sessions"),
        }
    }

    /// Starts the session's runner unless it is running, once this host holds the session's
    /// lease. `None` when another host holds it (the session is then retried every lease
    /// round, and taken over if that host stops renewing).
    async fn ensure_runner(&mut self, id: &SessionId) -> anyhow::Result<Option<&RunnerHandle>> {
        self.pending.retain(|p| p != id);
        if self.runners.get(id).is_some_and(RunnerHandle::is_finished) {
            self.runners.remove(id);
        }
        if !self.runners.contains_key(id) {
            let cfg = &self.ctx.config;
            let ttl = cfg.lease_ttl_ms();
            let held = self
                .ctx
                .deps
                .store
                .acquire_lease(id, &cfg.host_id, ttl, wagate_core::clock::now_ms())
                .await
                .context("taking the session's lease")?;
            if !held {
                tracing::info!(session_id = %id, "another host holds the session");
                self.elsewhere.insert(id.clone());
                return Ok(None);
            }
            self.elsewhere.remove(id);
            let runner = RunnerHandle::spawn(id.clone(), self.ctx.clone());
            let lease = LeaseKeeper::start(self.ctx.clone(), id.clone(), runner.stop_token());
            self.leases.insert(id.clone(), lease);
            self.runners.insert(id.clone(), runner);
        }
        Ok(self.runners.get(id))
    }

    fn live_runner(&self, id: &SessionId) -> Option<&RunnerHandle> {
        self.runners.get(id).filter(|r| !r.is_finished())
    }

    async fn handle_control(&mut self, msg: &QueueMessage) {
        let queue = self.ctx.deps.queue.clone();
        let cmd: ControlMessage = match serde_json::from_str(&msg.body) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "dropping a malformed control command");
                if let Err(e) = queue.ack(names::CONTROL, &msg.receipt).await {
                    tracing::warn!(error = %e, "could not ack a control command");
                }
                return;
            }
        };
        let session_id = cmd.session_id().clone();
        let result = match cmd {
            ControlMessage::Host(cmd) => self.apply(cmd).await,
            ControlMessage::Sim(cmd) => self.simulate(cmd).await,
        };
        let settled = match result {
            Ok(()) => queue.ack(names::CONTROL, &msg.receipt).await,
            Err(e) if e.is::<Elsewhere>() && msg.receive_count < ELSEWHERE_MAX_ATTEMPTS => {
                tracing::debug!(session_id = %session_id, "command for a session another host runs; handing it back");
                let pause = ELSEWHERE_PAUSE_STEP
                    .saturating_mul(msg.receive_count.max(1))
                    .min(ELSEWHERE_PAUSE_MAX);
                self.paused_until = Some(Instant::now() + pause);
                queue
                    .nack(names::CONTROL, &msg.receipt, Duration::ZERO)
                    .await
            }
            Err(e) if msg.receive_count >= CONTROL_MAX_ATTEMPTS => {
                tracing::error!(session_id = %session_id, error = %e, attempts = msg.receive_count, "control command keeps failing; dropping it");
                queue.ack(names::CONTROL, &msg.receipt).await
            }
            Err(e) => {
                tracing::warn!(session_id = %session_id, error = %e, "control command failed; retrying");
                queue
                    .nack(
                        names::CONTROL,
                        &msg.receipt,
                        wagate_core::backoff::backoff(msg.receive_count),
                    )
                    .await
            }
        };
        if let Err(e) = settled {
            tracing::warn!(session_id = %session_id, error = %e, "could not settle a control command");
        }
    }

    /// Carries out one command. An error means "try again later".
    #[tracing::instrument(skip_all, fields(session_id = %cmd.session_id()))]
    async fn apply(&mut self, cmd: HostCommand) -> anyhow::Result<()> {
        let store = self.ctx.deps.store.clone();
        match cmd {
            HostCommand::Start { session_id } => {
                if store.get_session(&session_id).await?.is_none() {
                    tracing::warn!("start for an unknown session ignored");
                    return Ok(());
                }
                tracing::info!("starting session");
                self.ensure_runner(&session_id).await?;
            }
            HostCommand::Delete {
                session_id,
                deleted_at_ms,
            } => {
                self.pending.retain(|p| p != &session_id);
                self.elsewhere.remove(&session_id);
                self.leases.remove(&session_id);
                if let Some(r) = self.runners.remove(&session_id) {
                    r.stop(true).await;
                }
                self.purge_blobs(&session_id).await?;
                let drained = deletion::drain_deleted_session(
                    store.as_ref(),
                    self.ctx.deps.queue.as_ref(),
                    &session_id,
                    deleted_at_ms.unwrap_or(i64::MAX),
                )
                .await?;
                tracing::info!(failed_sends = drained.failed, "session deleted");
            }
            HostCommand::Logout { session_id } => {
                if let Some(r) = self.live_runner(&session_id)
                    && r.command(RunnerCommand::Logout).await
                {
                    return Ok(());
                }
                // Not connected here. If another host runs it, that host must log it out:
                // hand the command back until this host can take the lease (or that host
                // stops renewing it).
                let cfg = &self.ctx.config;
                let ttl = cfg.lease_ttl_ms();
                let exists = store.get_session(&session_id).await?.is_some();
                if exists
                    && !store
                        .acquire_lease(&session_id, &cfg.host_id, ttl, wagate_core::clock::now_ms())
                        .await?
                {
                    return Err(Elsewhere.into());
                }
                self.purge_blobs(&session_id).await?;
                let Some(s) = store.get_session(&session_id).await? else {
                    return Ok(());
                };
                if s.status != SessionStatus::LoggedOut {
                    store
                        .set_session_state(&session_id, SessionStatus::LoggedOut, None, None, None)
                        .await?;
                    let ev = events::session_closed(&session_id, true, "logged out");
                    events::emit(self.ctx.deps.queue.as_ref(), &ev).await?;
                }
                self.release(&session_id).await;
                tracing::info!("session logged out while not connected");
            }
            HostCommand::PairCode { session_id, phone } => {
                if store.get_session(&session_id).await?.is_none() {
                    tracing::warn!("pairing code for an unknown session ignored");
                    return Ok(());
                }
                let Some(r) = self.ensure_runner(&session_id).await? else {
                    return Err(Elsewhere.into());
                };
                if !r.command(RunnerCommand::PairCode { phone }).await {
                    anyhow::bail!("the session runner ended");
                }
            }
            HostCommand::Query {
                session_id,
                query_id,
            } => {
                if let Some(r) = self.live_runner(&session_id)
                    && r.command(RunnerCommand::Query {
                        query_id: query_id.clone(),
                    })
                    .await
                {
                    return Ok(());
                }
                let Some(rec) = crate::queries::load(store.as_ref(), &query_id).await? else {
                    return Ok(());
                };
                let session = store.get_session(&session_id).await?;
                let may_open = session.is_some_and(|s| s.status != SessionStatus::LoggedOut);
                let in_time = rec.created_at.saturating_add(QUERY_DEADLINE_MS) > now_ms();
                if may_open && in_time {
                    // Open on another host, or about to be opened by one (this one at its
                    // start, or the next one to take the lease): hand it back like any
                    // command for another host's session, until its deadline.
                    return Err(Elsewhere.into());
                }
                // Nobody can answer: say so rather than leave the asker waiting.
                crate::queries::answer(store.as_ref(), None, &Default::default(), rec).await;
            }
            HostCommand::DownloadMedia {
                session_id,
                message_id,
            } => {
                // Only the host running the session can download: hand the command back
                // while another host has it open. A session open nowhere drops it (the API's
                // wait ends in a 202 and the client asks again).
                if let Some(r) = self.live_runner(&session_id) {
                    r.command(RunnerCommand::DownloadMedia { message_id }).await;
                } else if store
                    .get_session(&session_id)
                    .await?
                    .is_some_and(|s| s.status == SessionStatus::Open)
                {
                    return Err(Elsewhere.into());
                }
            }
        }
        Ok(())
    }

    /// Deletes the session's blobs (credentials and whatever else lives under its prefix).
    async fn purge_blobs(&self, id: &SessionId) -> anyhow::Result<()> {
        let blobs = &self.ctx.deps.blobs;
        let prefix = format!("sessions/{id}/");
        for key in blobs.list(&prefix).await? {
            blobs.delete(&key).await?;
        }
        Ok(())
    }
}
