//! The pump of one connection: the client's events become the runner's, credentials are
//! backed up on open and every few minutes, and everything is closed when the connection ends.

use super::translate::PendingVote;
use super::*;
use crate::connector::IncomingAction;

/// Follows one connection: turns the client's events into the runner's, backs the
/// credentials up, and closes everything when the connection ends.
pub(super) struct Pump {
    pub(super) shared: Arc<Shared>,
    pub(super) events: mpsc::UnboundedReceiver<Arc<Event>>,
    pub(super) tx: mpsc::Sender<ConnectorEvent>,
    pub(super) hold: Arc<Mutex<HashMap<SessionId, Instant>>>,
    pub(super) backup_interval: Duration,
    pub(super) run: tokio::task::JoinHandle<()>,
    /// The client's loop has returned (its handle must not be awaited again).
    pub(super) run_done: bool,
}

/// How a connection ended, for the runner.
enum Ending {
    Closed(String),
    LoggedOut,
    /// `disconnect` was called: the runner is gone or going, nothing to report.
    Stopped,
}

impl Pump {
    pub(super) async fn run(mut self) {
        let s = self.shared.clone();
        let mut backups = tokio::time::interval_at(
            Instant::now() + self.backup_interval,
            self.backup_interval.max(Duration::from_secs(1)),
        );
        let mut online = false;
        let mut paired = false;
        let ending = loop {
            tokio::select! {
                biased;
                () = s.stop.cancelled() => break Ending::Stopped,
                ev = self.events.recv() => {
                    let Some(ev) = ev else { break Ending::Closed("client event stream ended".into()) };
                    let mut end = None;
                    for action in translate(&ev) {
                        match action {
                            Action::Emit(e) => {
                                let e = name_by_phone(&s, e).await;
                                if self.tx.send(e).await.is_err() {
                                    end = Some(Ending::Stopped);
                                }
                            }
                            Action::PollVote(v) => {
                                if let Some(e) = poll_vote(&s, &v).await
                                    && self.tx.send(e).await.is_err()
                                {
                                    end = Some(Ending::Stopped);
                                }
                            }
                            Action::Online => {
                                online = true;
                                paired = false;
                                match s.account() {
                                    Some(account) => {
                                        let _ = self.tx.send(ConnectorEvent::Open { account }).await;
                                    }
                                    None => tracing::warn!(session_id = %s.session, "online without a phone JID"),
                                }
                                s.backup("online").await;
                            }
                            Action::Paired { jid } => {
                                tracing::info!(session_id = %s.session, %jid, "a phone linked this session");
                                paired = true;
                                s.backup("paired").await;
                            }
                            Action::LoggedOut { reason } => {
                                tracing::info!(session_id = %s.session, %reason, "WhatsApp logged the session out");
                                end = Some(Ending::LoggedOut);
                            }
                            Action::Closed { reason, hold_off } => {
                                if let Some(d) = hold_off {
                                    self.hold_off(d);
                                }
                                end = Some(Ending::Closed(reason));
                            }
                        }
                    }
                    if let Some(end) = end {
                        break end;
                    }
                }
                _ = &mut self.run, if !self.run_done => {
                    self.run_done = true;
                    // After a phone links, WhatsApp closes the stream (515) for the client
                    // to log in with its new identity: that is one connection, not a drop.
                    if paired && !online && !s.stop.is_cancelled() {
                        paired = false;
                        tracing::info!(session_id = %s.session, "logging in after pairing");
                        let client = s.client.clone();
                        self.run = tokio::spawn(async move { client.run().await });
                        self.run_done = false;
                        continue;
                    }
                    break Ending::Closed(if online {
                        "connection closed".into()
                    } else {
                        "could not connect to WhatsApp".into()
                    });
                }
                _ = backups.tick(), if online => s.backup("periodic").await,
            }
        };
        self.close(ending, online).await;
    }

    fn hold_off(&self, d: Duration) {
        // A little jitter so sessions held off together don't come back together.
        let jitter = Duration::from_millis(rand::rng().random_range(0..1_000));
        self.hold
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(self.shared.session.clone(), Instant::now() + d + jitter);
    }

    async fn close(mut self, ending: Ending, online: bool) {
        let s = self.shared.clone();
        let logged_out = matches!(ending, Ending::LoggedOut) || s.logged_out.load(Ordering::SeqCst);
        if !logged_out && online {
            // The last state before the connection goes: flushed by the client, then copied.
            let _ =
                tokio::time::timeout(CLOSE_TIMEOUT, s.client.persistence_manager().flush()).await;
            s.backup("closing").await;
        }
        if tokio::time::timeout(CLOSE_TIMEOUT, s.client.disconnect())
            .await
            .is_err()
        {
            tracing::warn!(session_id = %s.session, "WhatsApp client did not disconnect in time");
        }
        if !self.run_done
            && tokio::time::timeout(CLOSE_TIMEOUT, &mut self.run)
                .await
                .is_err()
        {
            tracing::warn!(session_id = %s.session, "WhatsApp client loop did not stop in time; aborting it");
            self.run.abort();
        }
        match ending {
            Ending::LoggedOut => {
                s.logged_out.store(true, Ordering::SeqCst);
                if let Err(e) = s.creds.delete(&s.session).await {
                    tracing::warn!(session_id = %s.session, error = %format!("{e:#}"), "could not delete the credentials");
                }
                let _ = self.tx.send(ConnectorEvent::LoggedOut).await;
            }
            Ending::Closed(reason) => {
                tracing::info!(session_id = %s.session, %reason, "WhatsApp connection closed");
                let _ = self.tx.send(ConnectorEvent::Closed { reason }).await;
            }
            Ending::Stopped => {}
        }
        s.finished.cancel();
        // Dropping `tx` ends the runner's event stream.
    }
}

/// Opens a vote on one of this session's polls; `None` (logged) when the poll is not one it
/// sent or the vote does not open.
async fn poll_vote(s: &Shared, v: &PendingVote) -> Option<ConnectorEvent> {
    use whatsapp_rust::wacore::poll::PollVoteAddressing;
    let record = match polls::recall(s.blobs.as_ref(), &s.session, &v.vote.poll_id).await {
        Ok(Some(r)) => r,
        Ok(None) => {
            tracing::debug!(session_id = %s.session, poll_id = %v.vote.poll_id, "a vote on a poll this session did not send");
            return None;
        }
        Err(e) => {
            tracing::warn!(session_id = %s.session, error = %format!("{e:#}"), "could not read a poll's record");
            return None;
        }
    };
    let own_pn = s.client.pn().map(|j| j.to_non_ad_string());
    let own_lid = s.client.lid().map(|j| j.to_non_ad_string());
    // The vote is keyed in the voter's namespace, the creator (us) in the same one.
    let voter_is_lid = v.voter.ends_with("@lid");
    let (own, own_other) = if voter_is_lid {
        (own_lid.clone(), own_pn.clone())
    } else {
        (own_pn.clone(), own_lid.clone())
    };
    let own = own.or(own_other.clone())?;
    let primary = PollVoteAddressing {
        poll_creator_jid: &own,
        voter_jid: &v.voter,
    };
    let fallback = match (&own_other, &v.voter_alt) {
        (Some(c), Some(vo)) => Some(PollVoteAddressing {
            poll_creator_jid: c,
            voter_jid: vo,
        }),
        _ => None,
    };
    match polls::decrypt(&record, &v.vote, primary, fallback) {
        Ok(selected_options) => Some(ConnectorEvent::Action(Box::new(IncomingAction {
            id: v.id.clone(),
            from: v.from.clone(),
            sender_lid: v.sender_lid.clone(),
            chat: v.chat.clone(),
            from_me: v.from_me,
            action: wagate_core::InboundAction::PollVote {
                target_id: v.vote.poll_id.clone(),
                selected_options,
            },
            timestamp_secs: v.timestamp_secs,
        }))),
        Err(e) => {
            tracing::warn!(session_id = %s.session, poll_id = %v.vote.poll_id, error = %e, "a poll vote did not open");
            None
        }
    }
}

/// `ev` with a LID-only sender named by phone number when the client's LID↔phone mapping knows
/// it (see `translate::with_phone`).
async fn name_by_phone(s: &Shared, ev: ConnectorEvent) -> ConnectorEvent {
    let Some(lid) = translate::lid_without_phone(&ev) else {
        return ev;
    };
    let Ok(wa_lid) = lid.as_str().parse::<whatsapp_rust::Jid>() else {
        return ev;
    };
    match s.client.get_lid_pn_entry(&wa_lid).await {
        Ok(Some(entry)) => {
            match wagate_core::Jid::parse(&format!("{}@s.whatsapp.net", entry.phone_number)) {
                Ok(phone) => translate::with_phone(ev, phone),
                Err(_) => ev,
            }
        }
        Ok(None) => ev,
        Err(e) => {
            tracing::debug!(session_id = %s.session, error = %e, "LID lookup failed; the sender stays a LID");
            ev
        }
    }
}
