//! Shared test helpers: an embedded backend in a temp dir per test, the simulated network on
//! top of it, and small waits that poll instead of sleeping blindly.

#![allow(dead_code)]

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tempfile::TempDir;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use wagate_core::clock::now_ms;
use wagate_core::ports::{Blobs, Queue, QueueSpec, Store, ensure_shared_queues, names};
use wagate_core::{
    Event, EventKind, Jid, Job, JobState, KeyId, MessageContent, OutboundMessage, Session,
    SessionId,
};
use wagate_host::connector::simulated::creds_key;
use wagate_host::connector::{Connected, Connection, Connector, ConnectorEvent};
use wagate_host::{SimNetwork, SimOptions};
use wagate_local::{LocalBackend, LocalOptions};

/// Logs go to the test output only when `TEST_LOG` is set.
pub fn init_logs() {
    if std::env::var_os("TEST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| "debug".into()),
            )
            .with_test_writer()
            .try_init();
    }
}

/// One test's world: a backend in a fresh directory and a simulated network.
pub struct World {
    pub dir: TempDir,
    pub backend: LocalBackend,
    pub store: Arc<dyn Store>,
    pub queue: Arc<dyn Queue>,
    pub blobs: Arc<dyn Blobs>,
    pub sim: Arc<SimNetwork>,
}

impl World {
    pub async fn new() -> Self {
        Self::with_qr_interval(Duration::from_secs(20)).await
    }

    pub async fn with_qr_interval(qr_interval: Duration) -> Self {
        init_logs();
        let dir = tempfile::tempdir().expect("temp dir");
        let backend =
            LocalBackend::open(dir.path(), LocalOptions::default()).expect("open backend");
        let (store, queue, blobs) = (backend.store(), backend.queue(), backend.blobs());
        ensure_shared_queues(queue.as_ref())
            .await
            .expect("shared queues");
        let sim = open_sim(&dir, blobs.clone(), qr_interval);
        Self {
            dir,
            backend,
            store,
            queue,
            blobs,
            sim,
        }
    }

    /// A new simulated network on the same directory and blobs (a restart).
    pub fn reopen_sim(&self) -> Arc<SimNetwork> {
        open_sim(&self.dir, self.blobs.clone(), Duration::from_secs(20))
    }

    /// A session record owned by `key_test` with its send queue, as the API creates it.
    pub async fn session(&self, id: &str) -> SessionId {
        let id = SessionId::parse(id).expect("session id");
        self.queue
            .create(&names::send(&id), QueueSpec::for_session(&id))
            .await
            .expect("send queue");
        let s = Session::new(id.clone(), owner(), now_ms());
        assert!(self.store.create_session(&s).await.expect("create session"));
        id
    }

    /// Accepts a text send the way the API does: record, then enqueue.
    pub async fn enqueue_text(&self, session: &SessionId, to: &str, text: &str) -> Job {
        self.enqueue_job(text_job(session, to, text)).await
    }

    pub async fn enqueue_job(&self, job: Job) -> Job {
        assert!(self.store.create_job(&job).await.expect("create job"));
        wagate_core::ports::enqueue_send(self.queue.as_ref(), &job, job.id.as_str())
            .await
            .expect("enqueue");
        job
    }

    pub async fn job(&self, job: &Job) -> Job {
        self.store
            .get_job(&job.id)
            .await
            .expect("get job")
            .expect("job exists")
    }

    pub async fn depth(&self, session: &SessionId) -> u64 {
        self.queue
            .depth(&names::send(session))
            .await
            .expect("depth")
    }

    /// Takes everything currently visible on the events queue (acking it).
    pub async fn drain_events(&self) -> Vec<Event> {
        let mut out = Vec::new();
        loop {
            let msgs = self
                .queue
                .receive(names::EVENTS, 10, Duration::from_secs(30), Duration::ZERO)
                .await
                .expect("receive events");
            if msgs.is_empty() {
                return out;
            }
            for m in msgs {
                out.push(serde_json::from_str(&m.body).expect("an event"));
                self.queue
                    .ack(names::EVENTS, &m.receipt)
                    .await
                    .expect("ack event");
            }
        }
    }

    /// The session's stored credentials, if any.
    pub async fn creds(&self, session: &SessionId) -> Option<Bytes> {
        self.blobs.get(&creds_key(session)).await.expect("blobs")
    }

    /// Sends a control command as the API does.
    pub async fn command(&self, cmd: &impl serde::Serialize) {
        let body = serde_json::to_string(cmd).expect("command json");
        let msg: wagate_core::simulator::ControlMessage =
            serde_json::from_str(&body).expect("a control message");
        let group = msg.session_id().as_str();
        self.queue
            .send_in_group(names::CONTROL, group, &wagate_core::random_token(16), &body)
            .await
            .expect("send command");
    }
}

fn open_sim(dir: &TempDir, blobs: Arc<dyn Blobs>, qr_interval: Duration) -> Arc<SimNetwork> {
    let mut opts = SimOptions::new(dir.path().join("sim"));
    opts.qr_interval = qr_interval;
    SimNetwork::open(blobs, opts).expect("open simulated network")
}

impl World {
    /// A new simulated network on the same directory and blobs that remembers `remember`
    /// deliveries and rotates its log past `log_max_bytes`.
    pub fn reopen_sim_bounded(&self, remember: usize, log_max_bytes: u64) -> Arc<SimNetwork> {
        let mut opts = SimOptions::new(self.dir.path().join("sim"));
        opts.remember = remember;
        opts.log_max_bytes = log_max_bytes;
        SimNetwork::open(self.blobs.clone(), opts).expect("open simulated network")
    }
}

pub fn owner() -> KeyId {
    KeyId::from_string("key_test")
}

pub fn text_job(session: &SessionId, to: &str, text: &str) -> Job {
    Job::new(
        session.clone(),
        owner(),
        Jid::parse(to).expect("recipient"),
        OutboundMessage::new(MessageContent::Text {
            text: text.into(),
            mentions: Vec::new(),
        }),
        now_ms(),
    )
}

/// Connects `session` to the simulated network with default settings.
pub async fn connect(sim: &SimNetwork, session: &SessionId) -> Connected {
    sim.connect(session, &Default::default())
        .await
        .expect("connect")
}

/// Connects `session` to the simulated network and links it (a QR scan).
pub async fn linked(
    sim: &Arc<SimNetwork>,
    session: &SessionId,
) -> (Arc<dyn Connection>, mpsc::Receiver<ConnectorEvent>) {
    let c = connect(sim, session).await;
    sim.scan(session).await.expect("scan");
    (c.connection, c.events)
}

/// The next event of a connection, within a second.
pub async fn next_event(rx: &mut mpsc::Receiver<ConnectorEvent>) -> ConnectorEvent {
    tokio::time::timeout(Duration::from_secs(1), rx.recv())
        .await
        .expect("an event within 1 s")
        .expect("the stream is open")
}

/// Polls `check` every 20 ms until it returns `Some`, failing after `within`.
pub async fn eventually<T, F, Fut>(within: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if tokio::time::Instant::now() >= deadline {
            panic!("timed out after {within:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits up to `within` for a task that must end without a panic or an error.
pub async fn join_clean(within: Duration, task: JoinHandle<anyhow::Result<()>>) {
    tokio::time::timeout(within, task)
        .await
        .expect("the task stops")
        .expect("no panic")
        .expect("clean exit");
}

pub fn events_of(events: &[Event], kind: EventKind) -> Vec<&Event> {
    events.iter().filter(|e| e.kind == kind).collect()
}

pub fn is_state(job: &Job, state: JobState) -> bool {
    job.state == state
}
