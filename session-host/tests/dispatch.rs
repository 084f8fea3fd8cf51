//! The webhook dispatcher (`wagate_core::dispatch`) against a real HTTP receiver on loopback
//! that checks the signature the way a customer's server does.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{World, eventually, join_clean};
use serde_json::json;
use tokio_util::sync::CancellationToken;
use wagate_core::clock::now_ms;
use wagate_core::dispatch::{DispatchConfig, Dispatcher, Outcome, replay};
use wagate_core::ports::{DeadLetter, QueueMessage, names};
use wagate_core::webhook::Target;
use wagate_core::{Event, EventKind, SessionId};
use wagate_testkit::WebhookReceiver;

const SECRET: &str = "whsec_test";

async fn spawn_receiver() -> (String, WebhookReceiver) {
    let r = WebhookReceiver::start(SECRET).await;
    (r.base().to_owned(), r)
}

/// The dispatcher as `wagate local` runs it: a batch's writes in one transaction.
fn dispatcher(world: &World, config: DispatchConfig) -> Dispatcher {
    Dispatcher::new(world.store.clone(), world.queue.clone(), config)
        .with_batch(world.backend.batch())
}

fn config() -> DispatchConfig {
    DispatchConfig {
        max_attempts: 2,
        request_timeout: Duration::from_secs(5),
        poll_wait: Duration::from_millis(50),
        ..DispatchConfig::default()
    }
}

async fn session_with_webhook(world: &World, url: &str) -> SessionId {
    let id = world.session("shop").await;
    world
        .store
        .set_session_webhook(&id, Some(url), Some(SECRET))
        .await
        .expect("set webhook");
    id
}

/// A fresh receiver, and session `shop` with its webhook at `path` on it.
async fn hooked_session(world: &World, path: &str) -> (String, WebhookReceiver, SessionId) {
    let (base, receiver) = spawn_receiver().await;
    let id = session_with_webhook(world, &format!("{base}{path}")).await;
    (base, receiver, id)
}

async fn emit(world: &World, session: &SessionId, text: &str) -> Event {
    let event = Event::new(
        session.clone(),
        EventKind::MessageReceived,
        json!({ "text": text }),
        now_ms(),
    );
    wagate_host::events::emit(world.queue.as_ref(), &event)
        .await
        .expect("emit");
    event
}

/// The next visible message of the events queue, waiting out retry delays.
async fn next_message(world: &World) -> QueueMessage {
    eventually(Duration::from_secs(5), "an event in the queue", || async {
        world
            .queue
            .receive(
                names::EVENTS,
                1,
                Duration::from_secs(30),
                Duration::from_millis(100),
            )
            .await
            .expect("receive")
            .pop()
    })
    .await
}

async fn handle_next(d: &Dispatcher, world: &World) -> Outcome {
    d.handle(&next_message(world).await).await
}

async fn dead_letters(world: &World) -> Vec<DeadLetter> {
    world
        .store
        .list_dead_letters(None, 10)
        .await
        .expect("list")
        .items
}

/// [`config`] with an environment default webhook.
fn with_default(url: String, secret: Option<String>) -> DispatchConfig {
    DispatchConfig {
        default_target: Some(Target { url, secret }),
        ..config()
    }
}

async fn events_depth(world: &World) -> u64 {
    world.queue.depth(names::EVENTS).await.expect("depth")
}

#[tokio::test]
async fn event_for_a_session_with_a_webhook_is_delivered_signed_and_acked() {
    let world = World::new().await;
    let (_, receiver, id) = hooked_session(&world, "/hook").await;
    let event = emit(&world, &id, "hello").await;
    let d = dispatcher(&world, config());

    let outcome = handle_next(&d, &world).await;

    assert_eq!(outcome, Outcome::Delivered);
    let got = receiver.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].id, event.id.as_str());
    assert_eq!(got[0].event, "message_received");
    assert_eq!(got[0].body["event"], "message_received");
    assert_eq!(got[0].body["data"]["id"], "shop");
    assert_eq!(got[0].body["data"]["text"], "hello");
    assert_eq!(events_depth(&world).await, 0);
}

#[tokio::test]
async fn a_sessions_event_filter_decides_what_is_delivered() {
    let world = World::new().await;
    let (_, receiver, id) = hooked_session(&world, "/hook").await;
    let d = dispatcher(&world, config());
    let sent = |text: &str| {
        Event::new(
            id.clone(),
            EventKind::MessageSent,
            json!({ "text": text }),
            now_ms(),
        )
    };

    // Only message_received: a message_sent goes nowhere, a message_received is delivered.
    let only = wagate_core::EventFilter {
        only: Some(vec![EventKind::MessageReceived]),
        ..Default::default()
    };
    assert!(world.store.set_session_events(&id, &only).await.unwrap());
    wagate_host::events::emit(world.queue.as_ref(), &sent("left out"))
        .await
        .unwrap();
    assert_eq!(handle_next(&d, &world).await, Outcome::Dropped);
    emit(&world, &id, "wanted").await;
    assert_eq!(handle_next(&d, &world).await, Outcome::Delivered);

    // Disabled: nothing; enabled again with every event: delivered.
    let off = wagate_core::EventFilter {
        disabled: true,
        ..Default::default()
    };
    assert!(world.store.set_session_events(&id, &off).await.unwrap());
    emit(&world, &id, "while off").await;
    assert_eq!(handle_next(&d, &world).await, Outcome::Dropped);
    assert!(
        world
            .store
            .set_session_events(&id, &wagate_core::EventFilter::default())
            .await
            .unwrap()
    );
    wagate_host::events::emit(world.queue.as_ref(), &sent("back on"))
        .await
        .unwrap();
    assert_eq!(handle_next(&d, &world).await, Outcome::Delivered);

    let texts: Vec<_> = receiver
        .received()
        .iter()
        .map(|r| {
            r.body["data"]["text"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    assert_eq!(texts, ["wanted", "back on"]);
    assert_eq!(events_depth(&world).await, 0);
}

#[tokio::test]
async fn failing_receiver_is_retried_then_dead_lettered_after_max_attempts_and_replay_puts_it_back()
{
    let world = World::new().await;
    let (base, receiver, id) = hooked_session(&world, "/fail").await;
    let event = emit(&world, &id, "doomed").await;
    let d = dispatcher(&world, config());

    let first = handle_next(&d, &world).await;
    assert!(matches!(first, Outcome::Retry { .. }), "{first:?}");
    assert_eq!(events_depth(&world).await, 1, "still queued for a retry");
    let second = handle_next(&d, &world).await;

    assert_eq!(second, Outcome::DeadLettered);
    assert_eq!(receiver.failed(), 2);
    assert_eq!(events_depth(&world).await, 0);
    let dead = dead_letters(&world).await;
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].id, event.id.as_str());
    assert_eq!(dead[0].session_id, "shop");
    assert_eq!(dead[0].attempts, 2);
    assert!(dead[0].last_error.contains("500"), "{}", dead[0].last_error);

    // The receiver is fixed; an admin replays the dead letter.
    world
        .store
        .set_session_webhook(&id, Some(&format!("{base}/hook")), Some(SECRET))
        .await
        .expect("fix webhook");
    assert!(
        replay(
            world.store.as_ref(),
            world.queue.as_ref(),
            &event.id.to_string()
        )
        .await
        .expect("replay")
    );
    assert!(dead_letters(&world).await.is_empty());
    assert_eq!(handle_next(&d, &world).await, Outcome::Delivered);
    assert_eq!(receiver.received().len(), 1);
    assert_eq!(receiver.received()[0].id, event.id.as_str());
    assert!(
        !replay(world.store.as_ref(), world.queue.as_ref(), "evt_unknown")
            .await
            .expect("replay")
    );
}

#[tokio::test]
async fn runtime_default_webhook_serves_sessions_without_their_own() {
    let world = World::new().await;
    let (base, receiver) = spawn_receiver().await;
    let id = world.session("shop").await;
    world
        .store
        .set_config(
            "defaultWebhook",
            &json!({ "url": format!("{base}/hook"), "secret": SECRET }),
        )
        .await
        .expect("set config");
    emit(&world, &id, "via default").await;
    // The environment default loses to the runtime one.
    let d = dispatcher(&world, with_default(format!("{base}/fail"), None));

    assert_eq!(handle_next(&d, &world).await, Outcome::Delivered);
    assert_eq!(receiver.received().len(), 1);
    assert_eq!(receiver.failed(), 0);
}

#[tokio::test]
async fn configured_default_webhook_is_the_last_resort() {
    let world = World::new().await;
    let (base, receiver) = spawn_receiver().await;
    let id = world.session("shop").await;
    emit(&world, &id, "via env default").await;
    let d = dispatcher(
        &world,
        with_default(format!("{base}/hook"), Some(SECRET.into())),
    );

    assert_eq!(handle_next(&d, &world).await, Outcome::Delivered);
    assert_eq!(receiver.received().len(), 1);
}

#[tokio::test]
async fn event_without_any_webhook_is_dropped() {
    let world = World::new().await;
    let id = world.session("shop").await;
    emit(&world, &id, "nobody listens").await;
    let d = dispatcher(&world, config());

    assert_eq!(handle_next(&d, &world).await, Outcome::Dropped);
    assert_eq!(events_depth(&world).await, 0);
    assert!(dead_letters(&world).await.is_empty());
}

#[tokio::test]
async fn malformed_queue_message_is_dead_lettered_not_a_panic() {
    let world = World::new().await;
    world
        .queue
        .send(names::EVENTS, "junk", "{ not an event")
        .await
        .expect("send");
    let d = dispatcher(&world, config());

    assert_eq!(handle_next(&d, &world).await, Outcome::DeadLettered);
    assert_eq!(events_depth(&world).await, 0);
    let dead = dead_letters(&world).await;
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].body, "{ not an event");
    assert!(dead[0].last_error.starts_with("malformed event"));
}

#[tokio::test]
async fn run_delivers_queued_events_concurrently_until_shutdown() {
    let world = World::new().await;
    let (_, receiver, id) = hooked_session(&world, "/hook").await;
    for n in 0..5 {
        emit(&world, &id, &format!("event {n}")).await;
    }
    let stop = CancellationToken::new();
    let d = Arc::new(dispatcher(&world, config()));
    let token = stop.clone();
    let running = tokio::spawn(async move { d.run(token.cancelled_owned()).await });

    eventually(Duration::from_secs(5), "five deliveries", || async {
        (receiver.received().len() == 5).then_some(())
    })
    .await;
    stop.cancel();

    join_clean(Duration::from_secs(5), running).await;
    assert_eq!(events_depth(&world).await, 0);
    let mut texts: Vec<String> = receiver
        .received()
        .iter()
        .filter_map(|r| r.body["data"]["text"].as_str().map(str::to_owned))
        .collect();
    texts.sort();
    assert_eq!(
        texts,
        (0..5).map(|n| format!("event {n}")).collect::<Vec<_>>()
    );
}

/// A job of `session` (stored) and its `message_sent` event (queued).
async fn emit_job_event(world: &World, session: &SessionId) -> (String, Event) {
    let job = common::text_job(session, "628123456789", "hi");
    assert!(world.store.create_job(&job).await.unwrap());
    let job = job.id.to_string();
    let event = Event::new(
        session.clone(),
        EventKind::MessageSent,
        json!({ "jobId": job, "status": "sent" }),
        now_ms(),
    );
    wagate_host::events::emit(world.queue.as_ref(), &event)
        .await
        .expect("emit");
    (job, event)
}

#[tokio::test]
async fn a_received_batch_is_delivered_side_by_side_and_settled_together() {
    let world = World::new().await;
    let (base, receiver) = spawn_receiver().await;
    let shop = session_with_webhook(&world, &format!("{base}/hook")).await;
    let down = world.session("down").await;
    world
        .store
        .set_session_webhook(&down, Some(&receiver.failing_url()), Some(SECRET))
        .await
        .unwrap();
    // No webhook of its own and no default: its events are dropped.
    let mute = world.session("mute").await;
    let (shop_job, shop_event) = emit_job_event(&world, &shop).await;
    let (down_job, down_event) = emit_job_event(&world, &down).await;
    let (mute_job, mute_event) = emit_job_event(&world, &mute).await;
    let sent = [
        shop_event,
        down_event,
        mute_event,
        emit(&world, &shop, "second").await,
    ];
    let msgs = world
        .queue
        .receive(names::EVENTS, 10, Duration::from_secs(30), Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(msgs.len(), 4);

    let outcomes = dispatcher(&world, config()).handle_batch(&msgs).await;
    let outcome_of = |e: &Event| {
        let i = msgs
            .iter()
            .position(|m| m.body.contains(e.id.as_str()))
            .unwrap();
        outcomes[i].clone()
    };
    assert_eq!(outcome_of(&sent[0]), Outcome::Delivered);
    assert!(matches!(outcome_of(&sent[1]), Outcome::Retry { .. }));
    assert_eq!(outcome_of(&sent[2]), Outcome::Dropped);
    assert_eq!(outcome_of(&sent[3]), Outcome::Delivered);
    let mut ids: Vec<String> = receiver.received().into_iter().map(|r| r.id).collect();
    ids.sort();
    let mut want = vec![sent[0].id.to_string(), sent[3].id.to_string()];
    want.sort();
    assert_eq!(ids, want);
    assert_eq!(receiver.failed(), 1);

    // Settled: the delivered and dropped events acked, the failed one handed back for later,
    // and each job's event noted beside its job.
    assert_eq!(events_depth(&world).await, 1);
    let noted = |job: String| {
        let store = world.store.clone();
        async move {
            wagate_core::job_delivery::load(store.as_ref(), &job, now_ms())
                .await
                .map(|d| (d.outcome, d.attempts))
        }
    };
    assert_eq!(noted(shop_job).await, Some(("delivered".into(), 1)));
    assert_eq!(noted(down_job).await, Some(("retrying".into(), 1)));
    assert_eq!(noted(mute_job).await, Some(("dropped".into(), 1)));
    assert!(
        world
            .queue
            .receive(names::EVENTS, 10, Duration::from_secs(30), Duration::ZERO)
            .await
            .unwrap()
            .is_empty(),
        "the retried event waits out its backoff"
    );
}
