//! The simulated WhatsApp network: linking, credentials, sends and its send log.

mod common;

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use std::sync::Arc;

use common::{World, connect, linked, next_event, text_job};
use tokio::sync::mpsc;
use wagate_core::simulator::SimIncoming;
use wagate_core::{Account, SessionId};
use wagate_host::SimNetwork;
use wagate_host::connector::{Connection, ConnectorEvent, SendError};
use wagate_host::read_send_log;

fn qr_of(ev: ConnectorEvent) -> String {
    match ev {
        ConnectorEvent::Qr { code } => code,
        other => panic!("expected a QR, got {other:?}"),
    }
}

fn account_of(ev: ConnectorEvent) -> Account {
    match ev {
        ConnectorEvent::Open { account } => account,
        other => panic!("expected Open, got {other:?}"),
    }
}

/// Links `session` and takes the QR and Open events the link produces.
async fn linked_and_open(
    world: &World,
    session: &SessionId,
) -> (Arc<dyn Connection>, mpsc::Receiver<ConnectorEvent>) {
    let (conn, mut events) = linked(&world.sim, session).await;
    qr_of(next_event(&mut events).await);
    account_of(next_event(&mut events).await);
    (conn, events)
}

/// A message from 6289876543210 (a direct chat unless `chat` is given).
fn from_budi(chat: Option<&str>, text: &str, push_name: Option<&str>) -> SimIncoming {
    SimIncoming {
        from: "6289876543210".into(),
        chat: chat.map(Into::into),
        text: text.into(),
        content: None,
        quoted_id: None,
        action: None,
        from_me: false,
        push_name: push_name.map(Into::into),
        media: None,
    }
}

#[tokio::test]
async fn unlinked_session_shows_whatsapp_shaped_qr_codes_that_rotate() {
    let world = World::with_qr_interval(Duration::from_millis(50)).await;
    let session = world.session("shop").await;

    let mut c = connect(&world.sim, &session).await;
    let first = qr_of(next_event(&mut c.events).await);
    let second = qr_of(next_event(&mut c.events).await);

    let parts: Vec<&str> = first.split(',').collect();
    assert_eq!(parts.len(), 4, "{first}");
    let reference = parts[0].strip_prefix("2@").expect("starts with 2@");
    assert!(B64.decode(reference).is_ok(), "{reference}");
    for key in &parts[1..] {
        assert_eq!(B64.decode(key).expect("base64").len(), 32);
    }
    assert_ne!(first, second, "the reference rotates");
    assert_eq!(
        first.split_once(',').map(|x| x.1),
        second.split_once(',').map(|x| x.1),
        "the keys stay for the whole linking attempt"
    );
}

#[tokio::test]
async fn scan_opens_the_session_and_persists_its_credentials() {
    let world = World::new().await;
    let session = world.session("shop").await;
    let mut c = connect(&world.sim, &session).await;
    qr_of(next_event(&mut c.events).await);

    let scanned = world.sim.scan(&session).await.expect("scan");

    let account = account_of(next_event(&mut c.events).await);
    assert_eq!(account, scanned);
    assert_eq!(account.jid.server(), "s.whatsapp.net");
    assert!(account.jid.user().bytes().all(|b| b.is_ascii_digit()));
    let creds = world.creds(&session).await.expect("credentials stored");
    let stored: Account = serde_json::from_slice(&creds).expect("credentials json");
    assert_eq!(stored.jid, account.jid);
    assert!(world.sim.is_linked(&session));
}

#[tokio::test]
async fn reconnect_with_stored_credentials_opens_without_a_qr_even_after_a_restart() {
    let world = World::with_qr_interval(Duration::from_millis(30)).await;
    let session = world.session("shop").await;
    let (conn, _events) = linked(&world.sim, &session).await;
    conn.disconnect().await;

    for sim in [world.sim.clone(), world.reopen_sim()] {
        let mut c = connect(&sim, &session).await;
        let account = account_of(next_event(&mut c.events).await);
        assert!(account.jid.as_str().ends_with("@s.whatsapp.net"));
        let more = tokio::time::timeout(Duration::from_millis(150), c.events.recv()).await;
        assert!(more.is_err(), "no QR after opening: {more:?}");
        c.connection.disconnect().await;
    }
}

#[tokio::test]
async fn pairing_code_then_confirmation_links_the_paired_phone() {
    let world = World::new().await;
    let session = world.session("shop").await;
    let mut c = connect(&world.sim, &session).await;

    let code = c
        .connection
        .pair_code("+62 812-3456-7890")
        .await
        .expect("pairing code");
    world
        .sim
        .scan(&session)
        .await
        .expect("confirm on the phone");

    assert_eq!(code.len(), 9);
    assert_eq!(code.as_bytes()[4], b'-');
    assert!(
        code.bytes()
            .filter(|&b| b != b'-')
            .all(|b| b.is_ascii_alphanumeric())
    );
    qr_of(next_event(&mut c.events).await);
    let account = account_of(next_event(&mut c.events).await);
    assert_eq!(account.jid.as_str(), "6281234567890@s.whatsapp.net");
    assert!(
        c.connection.pair_code("6281234567890").await.is_err(),
        "already linked"
    );
}

#[tokio::test]
async fn logout_forgets_the_credentials_and_reports_logged_out() {
    let world = World::new().await;
    let session = world.session("shop").await;
    let (conn, mut events) = linked_and_open(&world, &session).await;

    conn.logout().await.expect("logout");

    assert_eq!(next_event(&mut events).await, ConnectorEvent::LoggedOut);
    assert!(world.creds(&session).await.is_none());
    let mut again = connect(&world.sim, &session).await;
    qr_of(next_event(&mut again.events).await);
}

#[tokio::test]
async fn sends_are_deduplicated_by_wa_id_across_a_reload_of_the_log() {
    let world = World::new().await;
    let session = world.session("shop").await;
    let job = text_job(&session, "6281234567890", "once");
    let (conn, _events) = linked(&world.sim, &session).await;

    conn.send(&job.to, &job.message, &job.wa_message_id)
        .await
        .expect("send");
    conn.send(&job.to, &job.message, &job.wa_message_id)
        .await
        .expect("same id again");
    assert_eq!(world.sim.delivered().len(), 1);
    assert_eq!(world.sim.attempts(), 2);
    conn.disconnect().await;

    let restarted = world.reopen_sim();
    assert_eq!(restarted.delivered().len(), 1, "reloaded from the log");
    let c = connect(&restarted, &session).await;
    let receipt = c
        .connection
        .send(&job.to, &job.message, &job.wa_message_id)
        .await
        .expect("after the restart");

    assert_eq!(receipt.message_id, job.wa_message_id);
    assert_eq!(restarted.delivered().len(), 1);
    let log = read_send_log(restarted.log_path()).expect("log");
    assert_eq!(log.len(), 3);
    assert_eq!(log.iter().filter(|r| r.is_first_delivery()).count(), 1);
    assert!(log.iter().all(|r| r.session == "shop" && r.kind == "text"));
}

#[tokio::test]
async fn memory_and_log_are_bounded_and_a_reload_reads_the_rotated_log_too() {
    let world = World::new().await;
    let session = world.session("shop").await;
    let sim = world.reopen_sim_bounded(3, 600);
    let c = connect(&sim, &session).await;
    sim.scan(&session).await.expect("scan");
    let jobs: Vec<_> = (0..5)
        .map(|i| text_job(&session, "6281234567890", &format!("m{i}")))
        .collect();
    for job in &jobs {
        c.connection
            .send(&job.to, &job.message, &job.wa_message_id)
            .await
            .expect("send");
    }
    let texts = |sim: &SimNetwork| -> Vec<String> {
        sim.delivered().into_iter().filter_map(|r| r.text).collect()
    };
    assert_eq!(
        texts(&sim),
        ["m2", "m3", "m4"],
        "only the last three are kept"
    );

    // Each record is ~250 bytes: the log was rotated, and the two files stay near the bound.
    let log = sim.log_path().to_owned();
    let rotated = log.with_extension("jsonl.1");
    let on_disk = |p: &std::path::Path| std::fs::metadata(p).map_or(0, |m| m.len());
    assert!(on_disk(&rotated) > 0, "rotated");
    assert!(on_disk(&rotated) <= 600 + 400, "{}", on_disk(&rotated));
    assert!(on_disk(&log) <= 600 + 400, "{}", on_disk(&log));

    // A remembered id is still deduplicated; a forgotten one is delivered again.
    let last = &jobs[4];
    c.connection
        .send(&last.to, &last.message, &last.wa_message_id)
        .await
        .expect("resend");
    assert_eq!(
        texts(&sim),
        ["m2", "m3", "m4"],
        "a duplicate is not delivered"
    );
    c.connection.disconnect().await;

    // A reload reads both files, in order, and keeps the same bound.
    let attempts_before = sim.attempts();
    let lines =
        read_send_log(&rotated).expect("rotated").len() + read_send_log(&log).expect("log").len();
    drop(sim);
    let again = world.reopen_sim_bounded(3, 600);
    assert_eq!(again.attempts() as usize, lines);
    assert!(
        attempts_before as usize >= lines,
        "older rotations are gone"
    );
    assert_eq!(texts(&again).last().map(String::as_str), Some("m4"));
    assert!(texts(&again).len() <= 3);
}

#[tokio::test]
async fn a_torn_last_log_line_is_skipped_and_later_lines_still_parse() {
    let world = World::new().await;
    let session = world.session("shop").await;
    let path = world.sim.log_path().to_owned();
    std::fs::write(&path, b"{\"session\":\"shop\",\"to\":\"62").expect("torn line");

    let sim = world.reopen_sim();
    let c = connect(&sim, &session).await;
    sim.scan(&session).await.expect("scan");
    let job = text_job(&session, "6281234567890", "after");
    c.connection
        .send(&job.to, &job.message, &job.wa_message_id)
        .await
        .expect("send");

    let log = read_send_log(&path).expect("log");
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].wa_message_id, job.wa_message_id);
}

#[tokio::test]
async fn sends_fail_by_the_number_rules() {
    let world = World::new().await;
    let session = world.session("shop").await;
    world.sim.set_unregistered(["6285555555555"]);
    let (conn, _events) = linked(&world.sim, &session).await;
    let send = |to: &'static str| {
        let conn = conn.clone();
        let job = text_job(&session, to, "x");
        async move { conn.send(&job.to, &job.message, &job.wa_message_id).await }
    };

    assert_eq!(
        send("9991234567").await,
        Err(SendError::Permanent("not on WhatsApp".into()))
    );
    assert!(matches!(
        send("9981234567").await,
        Err(SendError::Transient(_))
    ));
    assert!(matches!(
        send("6285555555555").await,
        Err(SendError::Permanent(_))
    ));
    assert!(send("6281234567890").await.is_ok());
    assert_eq!(world.sim.attempts(), 4);
    assert_eq!(world.sim.delivered().len(), 1);
}

#[tokio::test]
async fn sends_on_a_closed_connection_fail_transiently_without_reaching_the_network() {
    let world = World::new().await;
    let session = world.session("shop").await;
    let (conn, _events) = linked(&world.sim, &session).await;
    assert!(world.sim.kick(&session, "network down"));
    let job = text_job(&session, "6281234567890", "x");

    let r = conn.send(&job.to, &job.message, &job.wa_message_id).await;

    assert!(matches!(r, Err(SendError::Transient(_))), "{r:?}");
    assert_eq!(world.sim.attempts(), 0);
}

#[tokio::test]
async fn injected_messages_reach_a_linked_session() {
    let world = World::new().await;
    let session = world.session("shop").await;
    let not_yet = world
        .sim
        .inject(&session, &from_budi(None, "too early", None));
    assert!(not_yet.is_err(), "not connected");
    let (_conn, mut events) = linked_and_open(&world, &session).await;

    let in_group = from_budi(Some("120363025246125244@g.us"), "hi all", Some("Ana"));
    world.sim.inject(&session, &in_group).expect("inject");

    match next_event(&mut events).await {
        ConnectorEvent::Incoming(m) => {
            assert_eq!(m.from.as_str(), "6289876543210@s.whatsapp.net");
            assert_eq!(m.chat.as_str(), "120363025246125244@g.us");
            assert_eq!(m.text(), Some("hi all"));
            assert_eq!(m.push_name.as_deref(), Some("Ana"));
            assert!(m.timestamp_secs > 1_600_000_000 && m.timestamp_secs < 10_000_000_000);
        }
        other => panic!("expected an incoming message, got {other:?}"),
    }
}
