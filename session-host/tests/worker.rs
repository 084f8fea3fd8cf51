//! The send worker, driven one step at a time against the embedded backend and the simulated
//! network.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{World, events_of, linked, text_job};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use wagate_core::ports::{QueueMessage, names};
use wagate_core::{EventKind, Job, JobState, SessionId};
use wagate_host::connector::{ChatState, Connection};
use wagate_host::worker::LinkRx;
use wagate_host::{Outcome, SendWorker, WorkerConfig, read_send_log};

fn config() -> WorkerConfig {
    WorkerConfig {
        min_gap: Duration::ZERO,
        jitter: Duration::ZERO,
        max_attempts: 5,
        visibility: Duration::from_secs(30),
        poll_wait: Duration::from_millis(50),
        batch: 1,
    }
}

struct Rig {
    world: World,
    session: SessionId,
    link: watch::Sender<Option<Arc<dyn Connection>>>,
    shutdown: CancellationToken,
}

impl Rig {
    /// A session linked on the simulated network, with its connection published as open.
    async fn open() -> Self {
        let world = World::new().await;
        let session = world.session("shop").await;
        let (conn, _events) = linked(&world.sim, &session).await;
        let (link, _) = watch::channel(Some(conn));
        Self {
            world,
            session,
            link,
            shutdown: CancellationToken::new(),
        }
    }

    fn link_rx(&self) -> LinkRx {
        self.link.subscribe()
    }

    fn worker(&self, config: WorkerConfig) -> SendWorker {
        SendWorker::new(
            self.session.clone(),
            self.world.store.clone(),
            self.world.queue.clone(),
            self.link_rx(),
            config,
            self.shutdown.clone(),
        )
    }

    async fn enqueue(&self, to: &str, text: &str) -> Job {
        self.world.enqueue_text(&self.session, to, text).await
    }

    async fn depth(&self) -> u64 {
        self.world.depth(&self.session).await
    }

    async fn state(&self, job: &Job) -> JobState {
        self.world.job(job).await.state
    }

    /// Records `state` on the job after one attempt, as an earlier worker would have.
    async fn mark(&self, job: &Job, state: JobState, sent_at: Option<i64>) {
        self.world
            .store
            .update_job(&job.id, state, 1, None, sent_at)
            .await
            .expect("update job");
    }

    /// The queue message was acked without anything reaching the network.
    async fn assert_acked_unsent(&self) {
        assert_eq!(self.world.sim.attempts(), 0);
        assert_eq!(self.depth().await, 0);
    }

    /// Takes one message off the session's send queue, as a worker would.
    async fn take(&self, visibility: Duration) -> Vec<QueueMessage> {
        self.world
            .queue
            .receive(&names::send(&self.session), 1, visibility, Duration::ZERO)
            .await
            .expect("receive")
    }
}

/// One worker step, which must end as `expected`.
async fn step(worker: &mut SendWorker, expected: Outcome) {
    assert_eq!(worker.try_step().await.expect("step"), expected);
}

/// Steps the worker until it has processed `n` messages (skipping empty polls).
async fn process(worker: &mut SendWorker, n: usize, within: Duration) {
    let deadline = tokio::time::Instant::now() + within;
    let mut done = 0;
    while done < n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "processed {done} of {n} within {within:?}"
        );
        match worker.try_step().await.expect("worker step") {
            Outcome::Processed => done += 1,
            Outcome::Empty => {}
            Outcome::NotReady => panic!("the session is open; the worker should be ready"),
        }
    }
}

#[tokio::test]
async fn open_session_sends_a_queued_job_with_its_fixed_wa_id_and_queues_message_sent() {
    let rig = Rig::open().await;
    let job = rig.enqueue("6281234567890", "hello").await;
    let mut worker = rig.worker(config());

    step(&mut worker, Outcome::Processed).await;

    let stored = rig.world.job(&job).await;
    assert_eq!(stored.state, JobState::Sent);
    assert_eq!(stored.attempts, 1);
    assert!(stored.sent_at.is_some());
    let delivered = rig.world.sim.delivered();
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].wa_message_id, job.wa_message_id);
    assert_eq!(delivered[0].to, "6281234567890@s.whatsapp.net");
    assert_eq!(delivered[0].text.as_deref(), Some("hello"));

    let events = rig.world.drain_events().await;
    let sent = events_of(&events, EventKind::MessageSent);
    assert_eq!(sent.len(), 1, "{events:?}");
    assert_eq!(sent[0].data["jobId"], job.id.as_str());
    assert_eq!(sent[0].data["messageId"], job.wa_message_id.as_str());
    assert_eq!(sent[0].data["to"], "6281234567890@s.whatsapp.net");
    assert_eq!(sent[0].data["type"], "text");
    assert_eq!(sent[0].data["status"], "sent");
    assert_eq!(rig.depth().await, 0);
    step(&mut worker, Outcome::Empty).await;
}

#[tokio::test]
async fn worker_takes_nothing_while_the_session_is_not_open() {
    let rig = Rig::open().await;
    rig.link.send_replace(None);
    let job = rig.enqueue("6281234567890", "hi").await;
    let mut worker = rig.worker(config());

    step(&mut worker, Outcome::NotReady).await;

    assert_eq!(rig.state(&job).await, JobState::Queued);
    assert_eq!(rig.depth().await, 1);
    assert_eq!(rig.world.sim.attempts(), 0);
}

#[tokio::test]
async fn permanent_failure_marks_the_job_failed_with_the_reason() {
    let rig = Rig::open().await;
    rig.world.sim.set_unregistered(["6287777777777"]);
    let prefix = rig.enqueue("9991234567", "x").await;
    let marked = rig.enqueue("6287777777777", "y").await;
    let mut worker = rig.worker(config());

    process(&mut worker, 2, Duration::from_secs(5)).await;

    for job in [&prefix, &marked] {
        let stored = rig.world.job(job).await;
        assert_eq!(stored.state, JobState::Failed);
        assert_eq!(stored.error.as_deref(), Some("not on WhatsApp"));
        assert_eq!(stored.attempts, 1);
    }
    let events = rig.world.drain_events().await;
    let failed = events_of(&events, EventKind::MessageFailed);
    assert_eq!(failed.len(), 2);
    assert!(
        failed
            .iter()
            .all(|e| e.data["status"] == "failed" && e.data["error"] == "not on WhatsApp")
    );
    assert!(rig.world.sim.delivered().is_empty());
    assert_eq!(rig.depth().await, 0);
}

#[tokio::test]
async fn transient_failure_is_retried_then_failed_after_max_attempts() {
    let rig = Rig::open().await;
    let job = rig.enqueue("9981234567", "x").await;
    let mut worker = rig.worker(WorkerConfig {
        max_attempts: 2,
        ..config()
    });

    process(&mut worker, 1, Duration::from_secs(5)).await;
    let after_first = rig.world.job(&job).await;
    assert_eq!(
        after_first.state,
        JobState::Queued,
        "back in line for a retry"
    );
    assert_eq!(after_first.attempts, 1);
    assert!(after_first.error.is_some());
    assert_eq!(rig.depth().await, 1);
    assert!(events_of(&rig.world.drain_events().await, EventKind::MessageFailed).is_empty());

    // The retry comes back after its backoff (≤ 1 s for a first retry).
    process(&mut worker, 1, Duration::from_secs(5)).await;
    let stored = rig.world.job(&job).await;
    assert_eq!(stored.state, JobState::Failed);
    assert_eq!(stored.attempts, 2);
    assert!(
        stored
            .error
            .as_deref()
            .is_some_and(|e| e.contains("gave up after 2 attempts")),
        "{:?}",
        stored.error
    );
    assert_eq!(rig.world.sim.attempts(), 2);
    assert!(rig.world.sim.delivered().is_empty());
    let failed = rig.world.drain_events().await;
    assert_eq!(events_of(&failed, EventKind::MessageFailed).len(), 1);
    assert_eq!(rig.depth().await, 0);

    // Parked in the dead-letter queue; listing it twice changes nothing.
    let (store, queue) = (rig.world.store.as_ref(), rig.world.queue.as_ref());
    for _ in 0..2 {
        let parked = wagate_core::dead_sends::list(store, None, 10)
            .await
            .unwrap()
            .items;
        assert_eq!(
            parked.iter().map(|j| &j.id).collect::<Vec<_>>(),
            vec![&job.id]
        );
        assert_eq!(parked[0].state, JobState::Failed);
    }
    // Redriven: queued again with fresh attempts, and the worker sends it once it works.
    let report = wagate_core::dead_sends::redrive(store, queue, 100)
        .await
        .unwrap();
    assert_eq!((report.redriven, report.dropped), (1, 0));
    assert!(
        wagate_core::dead_sends::list(store, None, 10)
            .await
            .unwrap()
            .items
            .is_empty()
    );
    let requeued = rig.world.job(&job).await;
    assert_eq!((requeued.state, requeued.attempts), (JobState::Queued, 0));
    assert_eq!(
        requeued.wa_message_id, job.wa_message_id,
        "the same WhatsApp message"
    );
    assert_eq!(rig.depth().await, 1);
    process(&mut worker, 1, Duration::from_secs(5)).await;
    assert_eq!(rig.world.job(&job).await.attempts, 1, "tried again");
}

#[tokio::test]
async fn crash_redelivery_of_a_job_already_delivered_finishes_it_without_a_second_delivery() {
    let rig = Rig::open().await;
    let job = rig.enqueue("6281234567890", "once").await;
    // A previous worker took the job, marked it sending, sent it, and died before recording
    // the result: the message is still in the queue, invisible until its timeout.
    let taken = rig.take(Duration::from_millis(200)).await;
    assert_eq!(taken.len(), 1);
    rig.mark(&job, JobState::Sending, None).await;
    let conn = rig.link.borrow().clone().expect("open link");
    conn.send(&job.to, &job.message, &job.wa_message_id)
        .await
        .expect("first send");
    let mut worker = rig.worker(config());

    process(&mut worker, 1, Duration::from_secs(5)).await;

    let stored = rig.world.job(&job).await;
    assert_eq!(stored.state, JobState::Sent);
    assert_eq!(stored.attempts, 2);
    assert_eq!(
        rig.world.sim.delivered().len(),
        1,
        "one message for the recipient"
    );
    assert_eq!(rig.world.sim.attempts(), 2);
    let log = read_send_log(rig.world.sim.log_path()).expect("log");
    assert_eq!(
        log.iter().map(|r| r.duplicate).collect::<Vec<_>>(),
        [false, true]
    );
    let events = rig.world.drain_events().await;
    assert_eq!(events_of(&events, EventKind::MessageSent).len(), 1);
    assert_eq!(rig.depth().await, 0);
}

#[tokio::test]
async fn redelivered_job_that_is_already_sent_is_acked_without_sending() {
    let rig = Rig::open().await;
    let job = rig.enqueue("6281234567890", "x").await;
    rig.mark(&job, JobState::Sent, Some(1)).await;
    let mut worker = rig.worker(config());

    process(&mut worker, 1, Duration::from_secs(5)).await;

    rig.assert_acked_unsent().await;
    assert!(rig.world.drain_events().await.is_empty());
}

#[tokio::test]
async fn queue_message_whose_job_record_is_gone_is_dropped() {
    let rig = Rig::open().await;
    rig.world
        .queue
        .send(&names::send(&rig.session), "msg_gone", "msg_gone")
        .await
        .expect("enqueue");
    let mut worker = rig.worker(config());

    process(&mut worker, 1, Duration::from_secs(5)).await;

    rig.assert_acked_unsent().await;
}

#[tokio::test]
async fn pacing_keeps_the_minimum_gap_and_a_jobs_own_pace_between_sends() {
    let rig = Rig::open().await;
    rig.enqueue("6281111111111", "a").await;
    let mut slow = text_job(&rig.session, "6282222222222", "b");
    slow.pace_ms = Some(600);
    rig.world.enqueue_job(slow).await;
    rig.enqueue("6283333333333", "c").await;
    let mut worker = rig.worker(WorkerConfig {
        min_gap: Duration::from_millis(250),
        jitter: Duration::from_millis(50),
        ..config()
    });

    process(&mut worker, 3, Duration::from_secs(10)).await;

    let sent = rig.world.sim.delivered();
    let texts: Vec<_> = sent.iter().filter_map(|r| r.text.clone()).collect();
    assert_eq!(texts, ["a", "b", "c"], "FIFO order");
    let gap_ab = sent[1].ts - sent[0].ts;
    let gap_bc = sent[2].ts - sent[1].ts;
    // Lower bounds are the point; the upper bounds only catch a runaway wait.
    assert!((595..3_000).contains(&gap_ab), "a→b took {gap_ab} ms");
    assert!((245..3_000).contains(&gap_bc), "b→c took {gap_bc} ms");
}

#[tokio::test]
async fn shutdown_finishes_the_send_in_flight_and_leaves_the_rest_queued() {
    let rig = Rig::open().await;
    rig.world.sim.set_send_delay(Duration::from_millis(300));
    let first = rig.enqueue("6281111111111", "1").await;
    let second = rig.enqueue("6282222222222", "2").await;
    let third = rig.enqueue("6283333333333", "3").await;
    let worker = rig.worker(config());
    let running = tokio::spawn(worker.run());
    common::eventually(
        Duration::from_secs(5),
        "the first send in flight",
        || async { (rig.state(&first).await == JobState::Sending).then_some(()) },
    )
    .await;

    rig.shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(5), running)
        .await
        .expect("the worker stops")
        .expect("no panic");

    assert_eq!(rig.state(&first).await, JobState::Sent);
    assert_eq!(rig.state(&second).await, JobState::Queued);
    assert_eq!(rig.state(&third).await, JobState::Queued);
    assert_eq!(rig.world.sim.delivered().len(), 1);
    assert_eq!(rig.depth().await, 2);
}

#[tokio::test]
async fn shutdown_while_pacing_hands_the_received_job_back_at_once() {
    let rig = Rig::open().await;
    let first = rig.enqueue("6281111111111", "1").await;
    let second = rig.enqueue("6282222222222", "2").await;
    let mut worker = rig.worker(WorkerConfig {
        min_gap: Duration::from_secs(30),
        ..config()
    });
    process(&mut worker, 1, Duration::from_secs(5)).await;
    assert_eq!(rig.state(&first).await, JobState::Sent);

    // The second job is taken and waits out the 30 s gap; shutdown interrupts the wait.
    let shutdown = rig.shutdown.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        shutdown.cancel();
    });
    let outcome = tokio::time::timeout(Duration::from_secs(5), worker.try_step())
        .await
        .expect("the wait is interrupted")
        .expect("step");

    assert_eq!(outcome, Outcome::NotReady);
    assert_eq!(rig.state(&second).await, JobState::Queued);
    assert_eq!(rig.world.sim.delivered().len(), 1);
    let again = rig.take(Duration::from_secs(30)).await;
    assert_eq!(
        again.len(),
        1,
        "visible again without waiting for a timeout"
    );
    assert_eq!(again[0].body, second.id.as_str());
}

/// The recipients' texts in delivery order.
fn delivered_texts(rig: &Rig, to: &str) -> Vec<String> {
    rig.world
        .sim
        .delivered()
        .into_iter()
        .filter(|r| r.to.starts_with(to))
        .filter_map(|r| r.text)
        .collect()
}

#[tokio::test]
async fn one_failing_chat_does_not_delay_the_others() {
    let rig = Rig::open().await;
    rig.world.sim.fail_transiently("6281111111111", 1);
    let stuck = rig.enqueue("6281111111111", "stuck").await;
    let behind = rig.enqueue("6281111111111", "behind").await;
    let others = [
        "6282000000001",
        "6282000000002",
        "6282000000003",
        "6282000000004",
        "6282000000005",
    ];
    for to in others {
        rig.enqueue(to, to).await;
    }
    let mut worker = rig.worker(config());

    // The first send fails and backs off (≥ 500 ms); the five other chats go at once, one
    // step each, while it waits: nothing of theirs is held behind it.
    process(&mut worker, 1, Duration::from_secs(5)).await;
    assert_eq!(rig.world.job(&stuck).await.attempts, 1);
    for _ in others {
        step(&mut worker, Outcome::Processed).await;
    }
    let sent: Vec<_> = rig
        .world
        .sim
        .delivered()
        .into_iter()
        .map(|r| r.to)
        .collect();
    assert_eq!(sent.len(), 5, "{sent:?}");
    for (to, got) in others.iter().zip(&sent) {
        assert!(got.starts_with(to), "{to} in send order: {sent:?}");
    }
    // The failing chat's next send waited behind its head, and both go once it recovers.
    assert_eq!(rig.state(&stuck).await, JobState::Queued);
    assert_eq!(rig.state(&behind).await, JobState::Queued);
    assert_eq!(
        rig.world.job(&behind).await.attempts,
        0,
        "never tried out of order"
    );
    process(&mut worker, 2, Duration::from_secs(10)).await;
    assert_eq!(delivered_texts(&rig, "6281111111111"), ["stuck", "behind"]);
    assert_eq!(rig.depth().await, 0);
}

#[tokio::test]
async fn order_per_chat_holds_through_retries() {
    let rig = Rig::open().await;
    // Each chat's first attempt fails once, at different points of the queue.
    rig.world.sim.fail_transiently("6281111111111", 1);
    rig.world.sim.fail_transiently("6282222222222", 2);
    let mut expected: Vec<(&str, Vec<String>)> = vec![
        ("6281111111111", Vec::new()),
        ("6282222222222", Vec::new()),
        ("6283333333333", Vec::new()),
    ];
    for i in 0..4 {
        for (to, texts) in &mut expected {
            let text = format!("{to}-{i}");
            rig.enqueue(to, &text).await;
            texts.push(text);
        }
    }
    let mut worker = rig.worker(config());

    process(&mut worker, 12 + 3, Duration::from_secs(20)).await;

    for (to, texts) in &expected {
        assert_eq!(&delivered_texts(&rig, to), texts, "order of {to}");
    }
    assert_eq!(
        rig.world.sim.attempts(),
        12 + 3,
        "three failed attempts, then each once"
    );
    assert_eq!(rig.depth().await, 0);
}

#[tokio::test]
async fn typing_is_shown_for_its_time_before_the_message_and_recording_before_a_voice_note() {
    let rig = Rig::open().await;
    let mut job = common::text_job(&rig.session, "6281234567890", "hello");
    job.message.typing_ms = Some(300);
    let job = rig.world.enqueue_job(job).await;
    let mut worker = rig.worker(config());
    let started = std::time::Instant::now();
    step(&mut worker, Outcome::Processed).await;
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "typing takes its time"
    );
    assert_eq!(rig.state(&job).await, JobState::Sent);
    let to = wagate_core::Jid::parse("6281234567890").unwrap();
    assert_eq!(
        rig.world.sim.chat_states(),
        vec![
            (rig.session.clone(), to.clone(), ChatState::Composing),
            (rig.session.clone(), to.clone(), ChatState::Paused),
        ]
    );

    let mut note = common::text_job(&rig.session, "6281234567890", "");
    note.message.content = wagate_core::MessageContent::Media {
        media: wagate_core::MediaKind::Audio,
        source: wagate_core::MediaSource::Url("https://example.com/a.ogg".into()),
        caption: None,
        file_name: None,
        mimetype: None,
        ptt: true,
        gif_playback: false,
    };
    note.message.typing_ms = Some(1);
    rig.world.enqueue_job(note).await;
    step(&mut worker, Outcome::Processed).await;
    let states = rig.world.sim.chat_states();
    assert_eq!(states[2].2, ChatState::Recording, "{states:?}");
    assert_eq!(states[3].2, ChatState::Paused);

    // Without typingMs nothing is shown.
    rig.enqueue("6281234567890", "plain").await;
    step(&mut worker, Outcome::Processed).await;
    assert_eq!(rig.world.sim.chat_states().len(), 4);
}
