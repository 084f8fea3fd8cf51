//! The session host end to end on the embedded backend: control commands in, session state,
//! events and sends out.

mod common;

use std::time::Duration;

use common::{World, events_of, eventually, join_clean, text_job};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use wagate_core::simulator::{SimCommand, SimIncoming};
use wagate_core::{
    Event, EventKind, HostCommand, JobId, JobState, Session, SessionId, SessionStatus,
};
use wagate_host::{HostConfig, HostDeps, SessionHost};

const WAIT: Duration = Duration::from_secs(5);
/// The sender of the simulated incoming messages.
const BUDI: &str = "6289876543210";

fn config() -> HostConfig {
    HostConfig {
        send_min_gap: Duration::ZERO,
        send_jitter: Duration::ZERO,
        session_start_spacing: Duration::from_millis(10),
        poll_wait: Duration::from_millis(50),
        ..HostConfig::default()
    }
}

struct Host {
    stop: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Host {
    fn start(world: &World) -> Self {
        Self::start_with(world, config())
    }

    /// A host with its own id and a short lease, as one of several hosts sharing a backend.
    fn named(world: &World, host_id: &str) -> Self {
        Self::start_with(
            world,
            HostConfig {
                host_id: host_id.into(),
                lease_ttl: Duration::from_secs(3),
                ..config()
            },
        )
    }

    fn start_with(world: &World, config: HostConfig) -> Self {
        let deps = HostDeps::new(
            world.store.clone(),
            world.queue.clone(),
            world.blobs.clone(),
        )
        .with_batch(world.backend.batch());
        let host = SessionHost::new(deps, config, world.sim.clone(), Some(world.sim.clone()));
        let stop = CancellationToken::new();
        let task = tokio::spawn(host.run(stop.clone()));
        Self { stop, task }
    }

    async fn stop(self) {
        self.stop.cancel();
        join_clean(WAIT, self.task).await;
    }
}

async fn status_when(world: &World, id: &SessionId, what: &str, status: SessionStatus) -> Session {
    session_when(world, id, what, |s| s.status == status).await
}

async fn session_when(
    world: &World,
    id: &SessionId,
    what: &str,
    pred: impl Fn(&Session) -> bool,
) -> Session {
    eventually(WAIT, what, || async {
        world
            .store
            .get_session(id)
            .await
            .expect("get session")
            .filter(|s| pred(s))
    })
    .await
}

/// A running host with session `shop` linked (QR shown, then scanned through the control
/// queue as the API's dev route does).
async fn open_shop(world: &World) -> (Host, SessionId) {
    let id = world.session("shop").await;
    let host = Host::start(world);
    let qr = status_when(world, &id, "a QR", SessionStatus::Qr).await;
    assert!(qr.qr.as_deref().is_some_and(|q| q.starts_with("2@")));
    scan(world, &id).await;
    status_when(world, &id, "the session open", SessionStatus::Open).await;
    (host, id)
}

/// Tells the simulated phone to scan the session's QR, as the API's dev route does.
async fn scan(world: &World, id: &SessionId) {
    world
        .command(&SimCommand::SimScan {
            session_id: id.clone(),
        })
        .await;
}

async fn stored(world: &World, id: &SessionId) -> Session {
    world
        .store
        .get_session(id)
        .await
        .expect("get")
        .expect("session")
}

/// [`open_shop`], with the events of the linking drained.
async fn open_shop_drained(world: &World) -> (Host, SessionId) {
    let opened = open_shop(world).await;
    world.drain_events().await;
    opened
}

async fn incoming(world: &World, id: &SessionId, from: &str, chat: Option<&str>, text: &str) {
    incoming_full(world, id, from, chat, text, false).await;
}

async fn incoming_full(
    world: &World,
    id: &SessionId,
    from: &str,
    chat: Option<&str>,
    text: &str,
    from_me: bool,
) {
    world
        .command(&SimCommand::SimIncoming {
            session_id: id.clone(),
            incoming: Box::new(SimIncoming {
                from: from.into(),
                chat: chat.map(Into::into),
                text: text.into(),
                content: None,
                quoted_id: None,
                action: None,
                from_me,
                push_name: Some("Budi".into()),
                media: None,
            }),
        })
        .await;
}

/// Drains the events queue until an event of `kind` has come.
async fn events_until_one(world: &World, what: &str, kind: EventKind) -> Vec<Event> {
    events_until(world, what, |e| !events_of(e, kind).is_empty()).await
}

/// Drains the events queue until `done` holds for everything seen so far.
async fn events_until(world: &World, what: &str, done: impl Fn(&[Event]) -> bool) -> Vec<Event> {
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut seen = Vec::new();
    loop {
        seen.extend(world.drain_events().await);
        if done(&seen) {
            return seen;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}; saw {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn linking_through_the_control_queue_records_the_account_and_emits_qr_then_session_open() {
    let world = World::new().await;

    let (host, id) = open_shop(&world).await;

    let s = stored(&world, &id).await;
    let account = s.account.expect("account recorded");
    assert!(s.qr.is_none(), "QR cleared once open");
    let events = events_until_one(&world, "session_open", EventKind::SessionOpen).await;
    let qr = events_of(&events, EventKind::Qr);
    assert!(!qr.is_empty());
    assert!(
        qr[0].data["qr"]
            .as_str()
            .is_some_and(|q| q.starts_with("2@"))
    );
    let open = events_of(&events, EventKind::SessionOpen)[0];
    assert_eq!(open.data["status"], "open");
    assert_eq!(open.data["jid"], account.jid.as_str());
    host.stop().await;
}

#[tokio::test]
async fn incoming_ping_queues_a_pong_and_emits_no_message_received() {
    let world = World::new().await;
    let (host, id) = open_shop_drained(&world).await;

    incoming(&world, &id, BUDI, None, "  PiNg ").await;

    let events = events_until_one(&world, "the pong's message_sent", EventKind::MessageSent).await;
    let sent = events_of(&events, EventKind::MessageSent)[0];
    assert_eq!(sent.data["to"], "6289876543210@s.whatsapp.net");
    let job_id = JobId::from_string(sent.data["jobId"].as_str().expect("jobId"));
    let job = world
        .store
        .get_job(&job_id)
        .await
        .expect("get")
        .expect("the pong job");
    assert_eq!(job.owner, common::owner(), "owned by the session's owner");
    assert_eq!(job.state, JobState::Sent);
    let delivered = world.sim.delivered();
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].text.as_deref(), Some("pong"));
    assert!(events_of(&events, EventKind::MessageReceived).is_empty());
    host.stop().await;
}

#[tokio::test]
async fn newsletter_broadcast_and_status_produce_no_event_own_messages_no_reply() {
    let world = World::new().await;
    let (host, id) = open_shop_drained(&world).await;

    for (chat, text) in [
        ("120363123456789@newsletter", "ping"),
        ("1234567@broadcast", "ping"),
        ("status@broadcast", "hello"),
    ] {
        incoming(&world, &id, BUDI, Some(chat), text).await;
    }
    incoming_full(&world, &id, BUDI, None, "ping", true).await;
    // A normal message last: once its event is out, the ones before it were handled.
    incoming(&world, &id, "6281112223334", None, "marker").await;

    let events = events_until(&world, "the marker", |evs| {
        events_of(evs, EventKind::MessageReceived)
            .iter()
            .any(|e| e.data["text"] == "marker")
    })
    .await;
    let received = events_of(&events, EventKind::MessageReceived);
    // The account's own message is queued marked `fromMe` (the dispatcher delivers it only
    // to sessions that ask), and never answered.
    assert_eq!(received.len(), 2, "{events:?}");
    let by_text = |t: &str| {
        received
            .iter()
            .find(|e| e.data["text"] == t)
            .map(|e| e.data["fromMe"].clone())
    };
    assert_eq!(by_text("ping"), Some(serde_json::json!(true)));
    assert_eq!(by_text("marker"), Some(serde_json::json!(false)));
    // Give a wrongly queued pong the time to go out before checking none did.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(world.sim.delivered().is_empty());
    assert!(events_of(&world.drain_events().await, EventKind::MessageSent).is_empty());
    host.stop().await;
}

#[tokio::test]
async fn a_normal_message_becomes_message_received_with_the_documented_fields() {
    let world = World::new().await;
    let (host, id) = open_shop_drained(&world).await;

    incoming(&world, &id, BUDI, Some("120363025246125244@g.us"), "halo").await;

    let events = events_until_one(&world, "message_received", EventKind::MessageReceived).await;
    let e = events_of(&events, EventKind::MessageReceived)[0];
    assert_eq!(e.session_id, id);
    let d = &e.data;
    assert!(d["messageId"].as_str().is_some_and(|m| !m.is_empty()));
    assert_eq!(d["from"], "6289876543210@s.whatsapp.net");
    assert_eq!(d["chat"], "120363025246125244@g.us");
    assert_eq!(d["isGroup"], true);
    assert_eq!(d["participant"], "6289876543210@s.whatsapp.net");
    assert_eq!(d["pushName"], "Budi");
    assert_eq!(d["type"], "text");
    assert_eq!(d["text"], "halo");
    assert!(d["timestamp"].as_i64().is_some_and(|t| t > 1_600_000_000));
    let body: serde_json::Value = serde_json::from_slice(&e.webhook_body()).expect("json");
    assert_eq!(body["data"]["id"], "shop");
    host.stop().await;
}

#[tokio::test]
async fn a_restarted_host_reopens_linked_sessions_without_a_new_qr() {
    let world = World::new().await;
    let (host, id) = open_shop(&world).await;
    host.stop().await;
    let closed = stored(&world, &id).await;
    assert_eq!(
        closed.status,
        SessionStatus::Closed,
        "shutdown closes the session"
    );
    world.drain_events().await;

    let host = Host::start(&world);

    let s = status_when(&world, &id, "reopened", SessionStatus::Open).await;
    assert!(s.account.is_some());
    let events = world.drain_events().await;
    assert!(events_of(&events, EventKind::Qr).is_empty(), "{events:?}");
    host.stop().await;
}

#[tokio::test]
async fn a_job_recorded_but_never_queued_before_a_crash_is_sent_after_the_restart() {
    let world = World::new().await;
    let (host, id) = open_shop(&world).await;
    host.stop().await;
    // What a process killed between recording a job and queueing it leaves: a `queued` job on
    // no queue, created a minute ago.
    let mut job = text_job(&id, "6281234567890", "cut off");
    job.created_at -= 60_000;
    job.updated_at = job.created_at;
    assert!(world.store.create_job(&job).await.expect("create"));
    assert_eq!(world.depth(&id).await, 0);

    let host = Host::start(&world);
    eventually(WAIT, "the cut-off job sent", || async {
        let j = world.job(&job).await;
        (j.state == wagate_core::JobState::Sent).then_some(())
    })
    .await;
    let delivered = world.sim.delivered();
    assert_eq!(
        delivered
            .iter()
            .filter(|r| r.wa_message_id == job.wa_message_id)
            .count(),
        1
    );
    host.stop().await;
}

#[tokio::test]
async fn a_dropped_connection_is_reported_and_reconnected() {
    let world = World::new().await;
    let (host, id) = open_shop_drained(&world).await;

    assert!(world.sim.kick(&id, "stream error"));

    let events = events_until(&world, "closed then open again", |e| {
        !events_of(e, EventKind::SessionClosed).is_empty()
            && !events_of(e, EventKind::SessionOpen).is_empty()
    })
    .await;
    let closed = events_of(&events, EventKind::SessionClosed)[0];
    assert_eq!(closed.data["status"], "closed");
    assert_eq!(closed.data["reason"], "stream error");
    status_when(&world, &id, "open again", SessionStatus::Open).await;
    // Sends work on the new connection.
    let job = world.enqueue_text(&id, "6281234567890", "after").await;
    eventually(WAIT, "the send", || async {
        (world.job(&job).await.state == JobState::Sent).then_some(())
    })
    .await;
    host.stop().await;
}

#[tokio::test]
async fn pair_code_command_records_a_pairing_code() {
    let world = World::new().await;
    let id = world.session("shop").await;
    let host = Host::start(&world);
    status_when(&world, &id, "a QR", SessionStatus::Qr).await;

    world
        .command(&HostCommand::PairCode {
            session_id: id.clone(),
            phone: "6281234567890".into(),
        })
        .await;

    let s = session_when(&world, &id, "a pairing code", |s| s.pairing_code.is_some()).await;
    let code = s.pairing_code.expect("code");
    assert_eq!(code.len(), 9);
    assert_eq!(&code[4..5], "-");
    scan(&world, &id).await;
    let s = status_when(&world, &id, "open", SessionStatus::Open).await;
    assert_eq!(
        s.account.map(|a| a.jid.to_string()).as_deref(),
        Some("6281234567890@s.whatsapp.net")
    );
    assert!(s.pairing_code.is_none());
    host.stop().await;
}

#[tokio::test]
async fn logout_command_logs_the_account_out_and_forgets_its_credentials() {
    let world = World::new().await;
    let (host, id) = open_shop_drained(&world).await;

    world
        .command(&HostCommand::Logout {
            session_id: id.clone(),
        })
        .await;

    let s = status_when(&world, &id, "logged out", SessionStatus::LoggedOut).await;
    assert!(s.account.is_none());
    assert!(world.creds(&id).await.is_none());
    let events = events_until_one(&world, "session_closed", EventKind::SessionClosed).await;
    assert_eq!(
        events_of(&events, EventKind::SessionClosed)[0].data["status"],
        "logged_out"
    );
    host.stop().await;
}

#[tokio::test]
async fn delete_command_stops_the_session_and_removes_its_blobs() {
    let world = World::new().await;
    let (host, id) = open_shop(&world).await;
    assert!(world.creds(&id).await.is_some());

    // What the API does: the record and the queue first, then the command.
    world
        .store
        .delete_session(&id)
        .await
        .expect("delete record");
    world
        .command(&HostCommand::Delete {
            session_id: id.clone(),
            deleted_at_ms: None,
        })
        .await;

    eventually(WAIT, "the blobs gone", || async {
        let left = world
            .blobs
            .list(&format!("sessions/{id}/"))
            .await
            .expect("list");
        left.is_empty().then_some(())
    })
    .await;
    eventually(WAIT, "the link gone", || async {
        (!world.sim.is_linked(&id)).then_some(())
    })
    .await;
    host.stop().await;
}

/// Takes the session's lease for a minute as `host`, a host that never runs it.
async fn hold_as(world: &World, id: &SessionId, host: &str) {
    let now = wagate_core::clock::now_ms();
    assert!(
        world
            .store
            .acquire_lease(id, host, 60_000, now)
            .await
            .unwrap(),
        "the lease is free"
    );
}

/// Who holds the lease: a probe cannot take it while it is held, and only the holder can
/// renew it (renewing as the holder changes nothing).
async fn lease_holder(world: &World, id: &SessionId, candidates: &[&str]) -> Option<String> {
    let now = wagate_core::clock::now_ms();
    if world
        .store
        .acquire_lease(id, "probe", 1, now)
        .await
        .unwrap()
    {
        world.store.release_lease(id, "probe").await.unwrap();
        return None;
    }
    for c in candidates {
        if world.store.acquire_lease(id, c, 3_000, now).await.unwrap() {
            return Some((*c).to_owned());
        }
    }
    None
}

#[tokio::test]
async fn two_hosts_never_run_one_session_and_the_second_takes_over() {
    let world = World::new().await;
    let id = world.session("shop").await;
    let a = Host::named(&world, "host-a");
    status_when(&world, &id, "a QR from host a", SessionStatus::Qr).await;
    let b = Host::named(&world, "host-b");
    // Host b's lease rounds (every second) must leave the session with a.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert_eq!(
        lease_holder(&world, &id, &["host-a", "host-b"])
            .await
            .as_deref(),
        Some("host-a")
    );
    a.stop().await;
    // A clean stop releases the lease; b takes the session at its next round.
    let holder = eventually(WAIT, "host b holding the session", || async {
        lease_holder(&world, &id, &["host-b"]).await
    })
    .await;
    assert_eq!(holder, "host-b");
    status_when(&world, &id, "a QR from host b", SessionStatus::Qr).await;
    b.stop().await;
    assert_eq!(
        lease_holder(&world, &id, &[]).await,
        None,
        "released on stop"
    );
}

#[tokio::test]
async fn a_logout_for_a_session_another_host_runs_is_left_to_that_host() {
    let world = World::new().await;
    let id = world.session("shop").await;
    hold_as(&world, &id, "host-b").await;
    let a = Host::named(&world, "host-a");
    world
        .command(&HostCommand::Logout {
            session_id: id.clone(),
        })
        .await;
    // Host a hands the command back (it retries later) instead of logging out a session it
    // does not run.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let s = world.store.get_session(&id).await.unwrap().unwrap();
    assert_ne!(s.status, SessionStatus::LoggedOut);
    assert_eq!(
        lease_holder(&world, &id, &["host-a", "host-b"])
            .await
            .as_deref(),
        Some("host-b")
    );
    // Once b's lease is gone, a carries the logout out.
    world.store.release_lease(&id, "host-b").await.unwrap();
    status_when(
        &world,
        &id,
        "logged out by host a",
        SessionStatus::LoggedOut,
    )
    .await;
    a.stop().await;
}

#[tokio::test]
async fn a_session_only_another_host_knew_of_is_taken_over_when_that_host_stops() {
    let world = World::new().await;
    let b = Host::named(&world, "host-b");
    // Created after b listed the sessions, with no command b could receive: only a, started
    // next, knows of it.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let id = world.session("shop").await;
    let a = Host::named(&world, "host-a");
    status_when(&world, &id, "a QR from host a", SessionStatus::Qr).await;
    a.stop().await;
    // b reads the session list once a lease TTL (3 s), then takes the released session.
    let holder = eventually(
        Duration::from_secs(10),
        "host b holding the session",
        || async { lease_holder(&world, &id, &["host-b"]).await },
    )
    .await;
    assert_eq!(holder, "host-b");
    status_when(&world, &id, "a QR from host b", SessionStatus::Qr).await;
    b.stop().await;
}

#[tokio::test]
async fn a_simulated_scan_received_by_the_other_host_reaches_the_session() {
    let world = World::new().await;
    let id = world.session("shop").await;
    hold_as(&world, &id, "host-b").await;
    let a = Host::named(&world, "host-a");
    scan(&world, &id).await;
    // a cannot carry the scan out while b holds the session: it hands the command back
    // rather than dropping it.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_ne!(stored(&world, &id).await.status, SessionStatus::Open);
    // b is gone: a takes the session and the waiting scan links it.
    world.store.release_lease(&id, "host-b").await.unwrap();
    status_when(
        &world,
        &id,
        "the session open on host a",
        SessionStatus::Open,
    )
    .await;
    a.stop().await;
}

#[tokio::test]
async fn a_host_that_loses_a_lease_stops_the_session_and_takes_it_back_once_free() {
    let world = World::new().await;
    let id = world.session("shop").await;
    let a = Host::named(&world, "host-a");
    status_when(&world, &id, "a QR from host a", SessionStatus::Qr).await;
    scan(&world, &id).await;
    status_when(&world, &id, "the session open", SessionStatus::Open).await;
    // Another host takes the lease (as if host a's renewals had stalled past the TTL).
    world.store.release_lease(&id, "host-a").await.unwrap();
    hold_as(&world, &id, "host-b").await;
    // Host a's keeper finds it at its next renewal (a third of the 3 s TTL) and stops the
    // session there: a send waits.
    tokio::time::sleep(Duration::from_millis(2_000)).await;
    let job = world.enqueue_text(&id, BUDI, "wait for your host").await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(world.job(&job).await.state, JobState::Queued);
    // Let go: host a takes the session back and sends.
    world.store.release_lease(&id, "host-b").await.unwrap();
    eventually(WAIT, "the send from host a", || async {
        (world.job(&job).await.state == JobState::Sent).then_some(())
    })
    .await;
    a.stop().await;
}
