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
use wagate_core::simulator::{ControlMessage, SimCommand};
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
    /// When each running session's lease was last renewed.
    renewed: HashMap<SessionId, Instant>,
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
            renewed: HashMap::new(),
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
        tracing::info!(sessions = self.pending.len(), "session host started");
        let sweeper = tokio::spawn(crate::requeue::run(
            self.ctx.deps.store.clone(),
            queue.clone(),
            shutdown.clone(),
        ));

        let spacing = self.ctx.config.session_start_spacing;
        let poll_wait = self.ctx.config.poll_wait;
        let renew_every = self.ctx.config.lease_ttl / 3;
        let mut next_start = Instant::now();
        let mut next_renewal = Instant::now() + renew_every;
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
            if Instant::now() >= next_renewal {
                self.lease_round().await;
                next_renewal = Instant::now() + renew_every;
            }
            let wait = if self.pending.is_empty() {
                poll_wait
            } else {
                next_start
                    .saturating_duration_since(Instant::now())
                    .min(poll_wait)
            }
            .min(next_renewal.saturating_duration_since(Instant::now()));
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
        for id in std::mem::take(&mut self.renewed).into_keys() {
            self.release(&id).await;
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

    /// Renews the lease of every running session (stopping the ones whose lease was lost or
    /// could not be renewed in time, so two hosts never run one session) and takes over the
    /// sessions whose holder let its lease expire.
    async fn lease_round(&mut self) {
        let ctx = self.ctx.clone();
        let (store, cfg) = (ctx.deps.store.clone(), &ctx.config);
        let ttl = cfg.lease_ttl_ms();
        let ids: Vec<SessionId> = self.runners.keys().cloned().collect();
        for id in ids {
            if self.runners.get(&id).is_some_and(RunnerHandle::is_finished) {
                self.runners.remove(&id);
                self.renewed.remove(&id);
                self.release(&id).await;
                continue;
            }
            match store
                .acquire_lease(&id, &cfg.host_id, ttl, wagate_core::clock::now_ms())
                .await
            {
                Ok(true) => {
                    self.renewed.insert(id, Instant::now());
                }
                Ok(false) => {
                    tracing::warn!(session_id = %id, "lease lost to another host; stopping the session here");
                    self.stop_runner(&id).await;
                    self.elsewhere.insert(id);
                }
                Err(e) => {
                    let last = self.renewed.get(&id).copied().unwrap_or_else(Instant::now);
                    if last.elapsed() + cfg.lease_ttl / 3 >= cfg.lease_ttl {
                        tracing::error!(session_id = %id, error = %e, "lease could not be renewed before it expires; stopping the session here");
                        self.stop_runner(&id).await;
                        self.elsewhere.insert(id);
                    } else {
                        tracing::warn!(session_id = %id, error = %e, "lease renewal failed; retrying");
                    }
                }
            }
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

    async fn stop_runner(&mut self, id: &SessionId) {
        self.renewed.remove(id);
        if let Some(r) = self.runners.remove(id) {
            r.stop(false).await;
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
            self.renewed.insert(id.clone(), Instant::now());
            let ctx = self.ctx.clone();
            self.runners
                .insert(id.clone(), RunnerHandle::spawn(id.clone(), ctx));
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
            ControlMessage::Sim(cmd) => {
                self.simulate(cmd).await;
                Ok(())
            }
        };
        let settled = match result {
            Ok(()) => queue.ack(names::CONTROL, &msg.receipt).await,
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
                self.renewed.remove(&session_id);
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
                    anyhow::bail!("another host runs the session");
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
                    anyhow::bail!("another host runs the session");
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
                    // start, or the next one to take the lease): ask again shortly.
                    anyhow::bail!("the session is not running here yet");
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
                    anyhow::bail!("another host runs the session");
                }
            }
        }
        Ok(())
    }

    /// Drives the simulated network; a host on the real network ignores these.
    #[tracing::instrument(skip_all, fields(session_id = %cmd.session_id()))]
    async fn simulate(&mut self, cmd: SimCommand) {
        let Some(sim) = self.sim.clone() else {
            tracing::warn!("simulated command ignored: not using the simulated network");
            return;
        };
        match cmd {
            SimCommand::SimScan { session_id } => {
                let deadline = Instant::now() + SIM_SCAN_WAIT;
                loop {
                    match sim.scan(&session_id).await {
                        Ok(_) => break,
                        Err(e)
                            if Instant::now() < deadline
                                && self.live_runner(&session_id).is_some() =>
                        {
                            tracing::debug!(error = %e, "session not connected yet; retrying the scan");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "simulated scan failed");
                            break;
                        }
                    }
                }
            }
            SimCommand::SimIncoming {
                session_id,
                incoming,
            } => {
                if let Err(e) = sim.inject(&session_id, &incoming) {
                    tracing::warn!(error = %e, "simulated message not delivered");
                }
            }
            SimCommand::SimGroup {
                session_id,
                group,
                action,
                participants,
                subject,
                by,
            } => {
                let change =
                    sim_group_change(&group, &action, &participants, subject, by.as_deref());
                if let Err(e) = change.and_then(|c| sim.group_change(&session_id, c)) {
                    tracing::warn!(error = %e, "simulated group change not delivered");
                }
            }
            SimCommand::SimSilence { session_id } => {
                if let Err(e) = sim.silence(&session_id) {
                    tracing::warn!(error = %e, "simulated silence not applied");
                }
            }
            SimCommand::SimCall {
                session_id,
                from,
                video,
                missed,
            } => {
                let rung = wagate_core::Jid::parse_field(&from, "from")
                    .map_err(anyhow::Error::from)
                    .and_then(|from| sim.ring(&session_id, &from, video, missed));
                if let Err(e) = rung {
                    tracing::warn!(error = %e, "simulated call not delivered");
                }
            }
        }
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

/// A simulated group change from the dev route's words.
fn sim_group_change(
    group: &str,
    action: &str,
    participants: &[String],
    subject: Option<String>,
    by: Option<&str>,
) -> anyhow::Result<crate::connector::GroupChange> {
    use crate::connector::{GroupChange, GroupChangeKind};
    use wagate_core::Jid;
    let change = match (action, subject) {
        ("subject", Some(s)) => GroupChangeKind::Subject(s),
        (a @ ("add" | "remove" | "promote" | "demote"), _) => GroupChangeKind::Participants {
            action: match a {
                "add" => "add",
                "remove" => "remove",
                "promote" => "promote",
                _ => "demote",
            },
            participants: participants
                .iter()
                .map(|p| Jid::parse_field(p, "participants"))
                .collect::<Result<_, _>>()?,
        },
        (other, _) => anyhow::bail!("unknown simulated group action {other:?}"),
    };
    Ok(GroupChange {
        group: Jid::parse_field(group, "group")?,
        by: by.map(|b| Jid::parse_field(b, "by")).transpose()?,
        by_lid: None,
        change,
        timestamp_secs: wagate_core::clock::now_ms() / 1000,
    })
}
