//! A simulated WhatsApp network, for `wagate local` demos and end-to-end tests: sessions link
//! by "scanning" a QR payload shaped like WhatsApp's, credentials survive a restart through the
//! `Blobs` port, incoming messages are injected, and sends succeed or fail by rules a test can
//! set. Like WhatsApp it deduplicates sends by message id, and it appends every send attempt to
//! a JSONL log that is reloaded at startup, so a test that kills the process mid-run can still
//! count what was delivered, exactly once or not.

mod actions;
mod arrivals;
mod connection;
mod media;
mod qr;
mod send_log;
mod world;

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use anyhow::{Context, bail};
use async_trait::async_trait;
use bytes::Bytes;
use rand::Rng;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use wagate_core::clock::now_ms;
use wagate_core::ports::{BlobWriter, Blobs};
use wagate_core::{
    Account, Action, ActionResult, BusinessProfile, ContactProfile, GroupInfo, Jid, JidKind,
    JoinRequest, MessageContent, NumberCheck, OutboundMessage, SessionId, normalize_phone,
};

pub use send_log::{SimSendRecord, read_send_log};
pub use world::{ChatFlags, PRIVACY_PREFIX, SimActionRecord};

use self::qr::{QrKeys, pairing_code};
use self::send_log::{SendLog, rotated};
use super::{
    ChatState, Connected, Connection, Connector, ConnectorEvent, IncomingCall, MessageReceipt,
    ReceiptStatus, SendError, SendReceipt, SessionSettings,
};

/// The default time between two QR payloads, as WhatsApp Web rotates them.
pub const DEFAULT_QR_INTERVAL: Duration = Duration::from_secs(20);

/// The error of a send to a number that has no WhatsApp account.
pub const NOT_ON_WHATSAPP: &str = "not on WhatsApp";

/// Events a connection can hold before the network starts dropping them.
const EVENT_BUFFER: usize = 256;

/// The blob holding a simulated session's credentials.
pub fn creds_key(session: &SessionId) -> String {
    format!("sessions/{session}/sim-creds.json")
}

/// First deliveries the network remembers by default (their ids deduplicate resends).
pub const DEFAULT_REMEMBER: usize = 100_000;

/// Rejected calls the network remembers (see [`SimNetwork::rejected_calls`]).
const REMEMBER_CALLS: usize = 1_000;

/// Size past which the send log is rotated by default.
pub const DEFAULT_LOG_MAX_BYTES: u64 = 64 << 20;

/// Settings of the simulated network.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// Where the send log (`sent.jsonl`, and `sent.jsonl.1` once rotated) lives.
    pub dir: PathBuf,
    /// Time between two QR payloads of an unlinked session.
    pub qr_interval: Duration,
    /// The most recent first deliveries kept in memory; a resend of an older message id is
    /// delivered again. Minutes of traffic at any realistic rate, far beyond the few seconds to
    /// minutes in which a crashed send is redelivered, and a flat memory bound.
    pub remember: usize,
    /// The send log is moved to `sent.jsonl.1` (replacing the one before) past this size, so
    /// the log takes at most twice this on disk.
    pub log_max_bytes: u64,
}

impl SimOptions {
    /// Options with the send log under `dir` and the defaults.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            qr_interval: DEFAULT_QR_INTERVAL,
            remember: DEFAULT_REMEMBER,
            log_max_bytes: DEFAULT_LOG_MAX_BYTES,
        }
    }
}

/// The simulated network. It is also the [`Connector`] that connects sessions to it.
pub struct SimNetwork {
    me: Weak<SimNetwork>,
    blobs: Arc<dyn Blobs>,
    qr_interval: Duration,
    log_path: PathBuf,
    log_max_bytes: u64,
    log: Mutex<SendLog>,
    state: Mutex<SimState>,
}

impl fmt::Debug for SimNetwork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimNetwork")
            .field("log_path", &self.log_path)
            .field("qr_interval", &self.qr_interval)
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct SimState {
    links: HashMap<SessionId, Link>,
    next_link: u64,
    /// The last `remember` first deliveries, oldest first, and their ids.
    delivered: VecDeque<SimSendRecord>,
    delivered_ids: HashSet<String>,
    remember: usize,
    attempts: u64,
    unregistered: HashSet<String>,
    /// Numbers whose next sends fail transiently, with how many failures are left.
    flaky: HashMap<String, u32>,
    /// Ids of the calls sessions rejected, in order (the last [`REMEMBER_CALLS`]).
    rejected_calls: Vec<String>,
    /// Failed downloads so far per message, for media set to fail a number of times.
    media_failures: media::FailureCounts,
    /// What sessions showed in chats ("typing…"), in order: the last [`REMEMBER_CALLS`].
    chat_states: VecDeque<(SessionId, Jid, ChatState)>,
    /// How many numbers sessions asked about ("is it on WhatsApp?").
    numbers_checked: u64,
    send_delay: Duration,
    /// Groups, blocklists, presence and chat flags.
    world: world::World,
}

/// The live connection of one session.
struct Link {
    id: u64,
    tx: mpsc::Sender<ConnectorEvent>,
    /// Set once linked.
    account: Option<Account>,
    /// The phone a pairing code was asked for; the account it links as.
    pairing_phone: Option<String>,
    qr_task: Option<JoinHandle<()>>,
    /// Since when the connection hears nothing (`SimCommand::SimSilence`): a dead socket that
    /// only a reconnect (a new link) cures. Until then it hears WhatsApp all the time.
    silent_since: Option<i64>,
}

impl Link {
    fn emit(&self, session: &SessionId, ev: ConnectorEvent) {
        if let Err(e) = self.tx.try_send(ev) {
            tracing::warn!(session_id = %session, error = %e, "simulated connection dropped an event");
        }
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        if let Some(t) = self.qr_task.take() {
            t.abort();
        }
    }
}

impl SimState {
    /// Keeps a first delivery, forgetting the oldest past `remember`.
    fn remember_delivery(&mut self, rec: SimSendRecord) {
        self.delivered_ids.insert(rec.wa_message_id.clone());
        self.delivered.push_back(rec);
        while self.delivered.len() > self.remember {
            if let Some(old) = self.delivered.pop_front() {
                self.delivered_ids.remove(&old.wa_message_id);
            }
        }
    }
}

impl SimNetwork {
    /// Opens the network, reloading the delivered message ids from `<dir>/sent.jsonl`.
    pub fn open(blobs: Arc<dyn Blobs>, options: SimOptions) -> anyhow::Result<Arc<Self>> {
        std::fs::create_dir_all(&options.dir)
            .with_context(|| format!("creating {}", options.dir.display()))?;
        let log_path = options.dir.join("sent.jsonl");
        let mut state = SimState {
            remember: options.remember.max(1),
            ..SimState::default()
        };
        for path in [rotated(&log_path), log_path.clone()] {
            for rec in read_send_log(&path)? {
                state.attempts += 1;
                if rec.is_first_delivery() && !state.delivered_ids.contains(&rec.wa_message_id) {
                    state.remember_delivery(rec);
                }
            }
        }
        let log = SendLog::open(&log_path)?;
        tracing::info!(
            log = %log_path.display(),
            delivered = state.delivered.len(),
            "simulated WhatsApp network ready"
        );
        Ok(Arc::new_cyclic(|me| Self {
            me: me.clone(),
            blobs,
            qr_interval: options.qr_interval.max(Duration::from_millis(10)),
            log_path,
            log_max_bytes: options.log_max_bytes,
            log: Mutex::new(log),
            state: Mutex::new(state),
        }))
    }

    fn state(&self) -> MutexGuard<'_, SimState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The send log file.
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// Messages delivered (first deliveries only), oldest first, including those reloaded
    /// from the log: the last [`SimOptions::remember`] of them.
    pub fn delivered(&self) -> Vec<SimSendRecord> {
        self.state().delivered.iter().cloned().collect()
    }

    /// Send attempts that reached the network (delivered, duplicate or failed), including
    /// those reloaded from the log.
    pub fn attempts(&self) -> u64 {
        self.state().attempts
    }

    /// Numbers (digits) that are "not on WhatsApp" besides those starting with `999`.
    pub fn set_unregistered<I, S>(&self, numbers: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.state().unregistered = numbers.into_iter().map(Into::into).collect();
    }

    /// Makes the next `times` first deliveries to `number` (digits) fail transiently, as a
    /// recipient whose phone is briefly unreachable would.
    pub fn fail_transiently(&self, number: impl Into<String>, times: u32) {
        self.state().flaky.insert(number.into(), times);
    }

    /// The ids of the calls sessions rejected, in order.
    /// Answers "is it on WhatsApp?" by the sending rules: `999…` and the numbers a test
    /// marked unregistered are not; `…0` numbers are business accounts.
    pub fn check_numbers(&self, numbers: &[String]) -> Vec<NumberCheck> {
        let mut st = self.state();
        st.numbers_checked = st.numbers_checked.saturating_add(numbers.len() as u64);
        numbers
            .iter()
            .map(|n| {
                let on = !n.starts_with("999") && !st.unregistered.contains(n);
                NumberCheck {
                    number: n.clone(),
                    on_whatsapp: on,
                    jid: on.then(|| format!("{n}@s.whatsapp.net")),
                    lid: None,
                    business: on && n.ends_with('0'),
                }
            })
            .collect()
    }

    /// How many numbers were asked about so far (cached answers are not asked again).
    pub fn numbers_checked(&self) -> u64 {
        self.state().numbers_checked
    }

    /// What sessions showed in chats, oldest first (the most recent ones).
    pub fn chat_states(&self) -> Vec<(SessionId, Jid, ChatState)> {
        self.state().chat_states.iter().cloned().collect()
    }

    fn record_chat_state(&self, session: &SessionId, to: &Jid, state: ChatState) {
        let mut st = self.state();
        st.chat_states
            .push_back((session.clone(), to.clone(), state));
        while st.chat_states.len() > REMEMBER_CALLS {
            st.chat_states.pop_front();
        }
    }

    pub fn rejected_calls(&self) -> Vec<String> {
        self.state().rejected_calls.clone()
    }

    /// Makes every send take `delay` (to test what happens while a send is in flight).
    pub fn set_send_delay(&self, delay: Duration) {
        self.state().send_delay = delay;
    }

    /// Whether `session` is connected and linked.
    pub fn is_linked(&self, session: &SessionId) -> bool {
        self.state()
            .links
            .get(session)
            .is_some_and(|l| l.account.is_some())
    }

    /// A phone scans the session's QR code (or confirms its pairing code): the session links,
    /// its credentials are stored and `Open` is emitted. Scanning a linked session returns its
    /// account.
    pub async fn scan(&self, session: &SessionId) -> anyhow::Result<Account> {
        let (link_id, account) = {
            let st = self.state();
            let Some(link) = st.links.get(session) else {
                bail!("session {session} is not connected to the simulated network");
            };
            if let Some(acc) = &link.account {
                return Ok(acc.clone());
            }
            let digits = match &link.pairing_phone {
                Some(phone) => phone.clone(),
                None => format!("628{:09}", rand::rng().random_range(0..1_000_000_000u32)),
            };
            let jid = Jid::parse(&digits).context("making the simulated account's JID")?;
            let account = Account {
                jid,
                name: Some(format!("Sim {session}")),
            };
            (link.id, account)
        };
        let creds = serde_json::to_vec(&account).context("encoding simulated credentials")?;
        self.blobs
            .put(&creds_key(session), Bytes::from(creds))
            .await
            .context("storing simulated credentials")?;
        let mut st = self.state();
        match st.links.get_mut(session) {
            Some(link) if link.id == link_id => {
                if let Some(t) = link.qr_task.take() {
                    t.abort();
                }
                link.account = Some(account.clone());
                link.pairing_phone = None;
                link.emit(
                    session,
                    ConnectorEvent::Open {
                        account: account.clone(),
                    },
                );
                tracing::info!(session_id = %session, jid = %account.jid, "simulated phone linked the session");
                Ok(account)
            }
            _ => bail!("session {session} disconnected during the scan"),
        }
    }

    /// The network drops the session's connection (`Closed`), as a flaky network would.
    /// Returns whether it was connected.
    pub fn kick(&self, session: &SessionId, reason: &str) -> bool {
        let Some(link) = self.state().links.remove(session) else {
            return false;
        };
        link.emit(
            session,
            ConnectorEvent::Closed {
                reason: reason.to_owned(),
            },
        );
        true
    }

    /// Emits a new QR payload every `qr_interval` after the first (which `connect` emits
    /// itself, so a scan right after connecting always follows a QR).
    fn start_qr_rotation(&self, session: SessionId, link_id: u64, keys: QrKeys) -> JoinHandle<()> {
        let net = self.me.clone();
        let interval = self.qr_interval;
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(interval).await;
                {
                    let Some(net) = net.upgrade() else { return };
                    let st = net.state();
                    match st.links.get(&session) {
                        Some(l) if l.id == link_id && l.account.is_none() => l.emit(
                            &session,
                            ConnectorEvent::Qr {
                                code: keys.payload(),
                            },
                        ),
                        _ => return,
                    }
                }
            }
        })
    }

    async fn load_creds(&self, session: &SessionId) -> anyhow::Result<Option<Account>> {
        let Some(bytes) = self
            .blobs
            .get(&creds_key(session))
            .await
            .context("loading simulated credentials")?
        else {
            return Ok(None);
        };
        match serde_json::from_slice(&bytes) {
            Ok(acc) => Ok(Some(acc)),
            Err(e) => {
                tracing::warn!(session_id = %session, error = %e, "ignoring unreadable simulated credentials");
                Ok(None)
            }
        }
    }

    /// Writes one record to the log, then (only if it was written) to memory.
    fn record(&self, st: &mut SimState, rec: SimSendRecord) -> Result<(), SendError> {
        let mut line = serde_json::to_vec(&rec)
            .map_err(|e| SendError::Transient(format!("simulated network: {e}")))?;
        line.push(b'\n');
        let mut log = self.log.lock().unwrap_or_else(PoisonError::into_inner);
        log.append(&line)
            .map_err(|e| SendError::Transient(format!("simulated network could not log: {e}")))?;
        if log.len > self.log_max_bytes
            && let Err(e) = log.rotate(&self.log_path)
        {
            tracing::warn!(error = %e, "simulated network could not rotate its send log");
        }
        drop(log);
        st.attempts += 1;
        if rec.is_first_delivery() {
            st.remember_delivery(rec);
        }
        Ok(())
    }

    async fn send(
        &self,
        session: &SessionId,
        link_id: u64,
        to: &Jid,
        msg: &OutboundMessage,
        wa_message_id: &str,
    ) -> Result<SendReceipt, SendError> {
        let delay = self.state().send_delay;
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let mut st = self.state();
        let linked = st
            .links
            .get(session)
            .is_some_and(|l| l.id == link_id && l.account.is_some());
        if !linked {
            return Err(SendError::Transient("not connected".into()));
        }
        let ts = now_ms();
        let duplicate = st.delivered_ids.contains(wa_message_id);
        let verdict = if duplicate {
            Ok(())
        } else if let Some(left) = st.flaky.get_mut(to.user()).filter(|n| **n > 0) {
            *left -= 1;
            Err(SendError::Transient(
                "simulated network: recipient unreachable".into(),
            ))
        } else {
            rule_for(to, &st.unregistered)
        };
        let error = verdict.as_ref().err().map(ToString::to_string);
        let rec = SimSendRecord {
            session: session.to_string(),
            to: to.to_string(),
            wa_message_id: wa_message_id.to_owned(),
            kind: msg.kind().to_owned(),
            text: preview_text(msg),
            ts,
            duplicate,
            delivered: verdict.is_ok(),
            error,
        };
        let first_delivery = rec.is_first_delivery();
        self.record(&mut st, rec)?;
        if first_delivery && let Some(link) = st.links.get(session) {
            // The recipient's phone has it: WhatsApp sends a delivery receipt.
            link.emit(
                session,
                ConnectorEvent::Receipt(MessageReceipt {
                    message_ids: vec![wa_message_id.to_owned()],
                    chat: to.clone(),
                    from: to.clone(),
                    status: ReceiptStatus::Delivered,
                    timestamp_secs: ts / 1000,
                }),
            );
        }
        drop(st);
        if duplicate {
            tracing::info!(session_id = %session, wa_message_id, "simulated network: duplicate send, not delivered again");
        }
        verdict.map(|()| SendReceipt {
            message_id: wa_message_id.to_owned(),
            timestamp_ms: ts,
        })
    }
}

/// The sending rules: `999…` is not on WhatsApp, `998…` fails transiently, and so does
/// nothing else except the numbers a test marked unregistered.
fn rule_for(to: &Jid, unregistered: &HashSet<String>) -> Result<(), SendError> {
    if !matches!(to.kind(), JidKind::User) {
        return Ok(());
    }
    let number = to.user();
    if number.starts_with("999") || unregistered.contains(number) {
        Err(SendError::Permanent(NOT_ON_WHATSAPP.into()))
    } else if number.starts_with("998") {
        Err(SendError::Transient("simulated network timeout".into()))
    } else {
        Ok(())
    }
}

fn preview_text(msg: &OutboundMessage) -> Option<String> {
    match &msg.content {
        MessageContent::Text { text, .. }
        | MessageContent::Buttons { text, .. }
        | MessageContent::List { text, .. } => Some(text.clone()),
        MessageContent::Media { caption, .. } => caption.clone(),
        MessageContent::Poll { name, .. } => Some(name.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn send_rules_follow_the_number_prefix() {
        let none = HashSet::new();
        let j = |s: &str| Jid::parse(s).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            rule_for(&j("9991234567"), &none),
            Err(SendError::Permanent(NOT_ON_WHATSAPP.into()))
        );
        assert!(matches!(
            rule_for(&j("9981234567"), &none),
            Err(SendError::Transient(_))
        ));
        assert_eq!(rule_for(&j("6281234567"), &none), Ok(()));
        let extra = HashSet::from(["6281234567".to_owned()]);
        assert!(matches!(
            rule_for(&j("6281234567"), &extra),
            Err(SendError::Permanent(_))
        ));
        assert_eq!(rule_for(&j("999123@g.us"), &none), Ok(()));
    }
}
