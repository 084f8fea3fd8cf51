//! The simulated network's commands (scan, incoming message, group change, silence, call),
//! carried out by the host that runs the session: another host's command is handed back.

use std::time::Duration;

use tokio::time::Instant;
use wagate_core::simulator::SimCommand;

use super::{Elsewhere, SIM_SCAN_WAIT, SessionHost};

impl SessionHost {
    /// Makes sure the session runs on this host: `Ok(false)` when it does not exist (or is
    /// logged out), [`Elsewhere`] when another host holds it.
    async fn run_here(&mut self, id: &wagate_core::SessionId) -> anyhow::Result<bool> {
        if self.live_runner(id).is_some() {
            return Ok(true);
        }
        let exists = self.ctx.deps.store.get_session(id).await?;
        if !exists.is_some_and(|s| s.status != wagate_core::SessionStatus::LoggedOut) {
            return Ok(false);
        }
        match self.ensure_runner(id).await? {
            Some(_) => Ok(true),
            None => Err(Elsewhere.into()),
        }
    }

    /// Drives the simulated network; a host on the real network ignores these. Each host has
    /// its own simulated network, so the command is carried out where the session runs: on
    /// this host (starting it if no host runs it), or handed back with [`Elsewhere`].
    #[tracing::instrument(skip_all, fields(session_id = %cmd.session_id()))]
    pub(super) async fn simulate(&mut self, cmd: SimCommand) -> anyhow::Result<()> {
        let Some(sim) = self.sim.clone() else {
            tracing::warn!("simulated command ignored: not using the simulated network");
            return Ok(());
        };
        if !self.run_here(cmd.session_id()).await? {
            tracing::warn!("simulated command for an unknown session ignored");
            return Ok(());
        }
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
