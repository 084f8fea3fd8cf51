//! The send worker taking several jobs per receive (an unpaced worker): queue order, order per
//! chat through retries inside a batch, and what a stop in the middle of a batch leaves.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{World, events_of, linked};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use wagate_core::ports::names;
use wagate_core::{EventKind, Job, JobState, SessionId};
use wagate_host::connector::Connection;
use wagate_host::{Outcome, SendWorker, WorkerConfig};

fn config(batch: usize) -> WorkerConfig {
    WorkerConfig {
        min_gap: Duration::ZERO,
        jitter: Duration::ZERO,
        max_attempts: 5,
        visibility: Duration::from_secs(30),
        poll_wait: Duration::from_millis(50),
        batch,
    }
}

struct Rig {
    world: World,
    session: SessionId,
    _link: watch::Sender<Option<Arc<dyn Connection>>>,
    link_rx: watch::Receiver<Option<Arc<dyn Connection>>>,
    shutdown: CancellationToken,
}

impl Rig {
    async fn open() -> Self {
        let world = World::new().await;
        let session = world.session("shop").await;
        let (conn, _events) = linked(&world.sim, &session).await;
        let (link, link_rx) = watch::channel(Some(conn));
        Self {
            world,
            session,
            _link: link,
            link_rx,
            shutdown: CancellationToken::new(),
        }
    }

    /// A worker as `wagate local` runs it: each step's writes in one transaction.
    fn worker(&self, config: WorkerConfig) -> SendWorker {
        SendWorker::new(
            self.session.clone(),
            self.world.store.clone(),
            self.world.queue.clone(),
            self.link_rx.clone(),
            config,
            self.shutdown.clone(),
        )
        .with_batch(self.world.backend.batch())
    }

    async fn enqueue(&self, to: &str, text: &str) -> Job {
        self.world.enqueue_text(&self.session, to, text).await
    }

    async fn job(&self, job: &Job) -> Job {
        self.world.job(job).await
    }

    /// Texts delivered, in delivery order, to numbers starting with `to` (all with "").
    fn delivered(&self, to: &str) -> Vec<String> {
        self.world
            .sim
            .delivered()
            .into_iter()
            .filter(|r| r.to.starts_with(to))
            .filter_map(|r| r.text)
            .collect()
    }

    /// Steps the worker until the queue is empty.
    async fn drain(&self, worker: &mut SendWorker, within: Duration) {
        let deadline = tokio::time::Instant::now() + within;
        while self.world.depth(&self.session).await > 0 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "queue not drained in {within:?}"
            );
            assert_ne!(
                worker.try_step().await.expect("step"),
                Outcome::NotReady,
                "the session is open"
            );
        }
    }
}

#[tokio::test]
async fn one_step_sends_a_whole_batch_in_queue_order_and_settles_every_job() {
    let rig = Rig::open().await;
    let mut jobs = Vec::new();
    for (to, text) in [
        ("6281000000001", "a"),
        ("6281000000002", "b"),
        ("6281000000001", "c"),
        ("6281000000003", "d"),
        ("6281000000002", "e"),
    ] {
        jobs.push(rig.enqueue(to, text).await);
    }
    let mut worker = rig.worker(config(8));

    assert_eq!(worker.try_step().await.expect("step"), Outcome::Processed);

    assert_eq!(rig.delivered(""), ["a", "b", "c", "d", "e"]);
    for job in &jobs {
        let stored = rig.job(job).await;
        assert_eq!(stored.state, JobState::Sent, "{}", job.id);
        assert_eq!(stored.attempts, 1);
        assert!(stored.sent_at.is_some());
    }
    assert_eq!(
        rig.world.depth(&rig.session).await,
        0,
        "every message acked"
    );
    let events = rig.world.drain_events().await;
    let sent = events_of(&events, EventKind::MessageSent);
    assert_eq!(sent.len(), jobs.len());
    for job in &jobs {
        assert!(
            sent.iter().any(|e| e.data["jobId"] == job.id.as_str()),
            "message_sent of {}",
            job.id
        );
    }
}

#[tokio::test]
async fn a_retry_inside_a_batch_holds_the_jobs_behind_it_in_its_chat_only() {
    let rig = Rig::open().await;
    rig.world.sim.fail_transiently("6281111111111", 1);
    let stuck = rig.enqueue("6281111111111", "stuck").await;
    let other = rig.enqueue("6282222222222", "other").await;
    let behind = rig.enqueue("6281111111111", "behind").await;
    let mut worker = rig.worker(config(8));

    assert_eq!(worker.try_step().await.expect("step"), Outcome::Processed);

    assert_eq!(rig.delivered(""), ["other"], "the other chat went at once");
    assert_eq!(rig.job(&other).await.state, JobState::Sent);
    let stuck_now = rig.job(&stuck).await;
    assert_eq!((stuck_now.state, stuck_now.attempts), (JobState::Queued, 1));
    assert!(stuck_now.error.is_some());
    let behind_now = rig.job(&behind).await;
    assert_eq!(
        (behind_now.state, behind_now.attempts, behind_now.error),
        (JobState::Queued, 0, None),
        "never tried out of order, and not counted as an attempt"
    );
    assert_eq!(rig.world.sim.attempts(), 2);

    rig.drain(&mut worker, Duration::from_secs(10)).await;
    assert_eq!(rig.delivered("6281111111111"), ["stuck", "behind"]);
    assert_eq!(rig.job(&behind).await.attempts, 1);
}

#[tokio::test]
async fn order_per_chat_holds_through_retries_with_batches() {
    let rig = Rig::open().await;
    rig.world.sim.fail_transiently("6281111111111", 1);
    rig.world.sim.fail_transiently("6282222222222", 2);
    let mut expected: Vec<(&str, Vec<String>)> = vec![
        ("6281111111111", Vec::new()),
        ("6282222222222", Vec::new()),
        ("6283333333333", Vec::new()),
    ];
    for i in 0..6 {
        for (to, texts) in &mut expected {
            let text = format!("{to}-{i}");
            rig.enqueue(to, &text).await;
            texts.push(text);
        }
    }
    let mut worker = rig.worker(config(4));

    rig.drain(&mut worker, Duration::from_secs(20)).await;

    for (to, texts) in &expected {
        assert_eq!(&rig.delivered(to), texts, "order of {to}");
    }
    assert_eq!(
        rig.world.sim.attempts(),
        18 + 3,
        "three failed attempts, then each once"
    );
}

#[tokio::test]
async fn a_stop_in_the_middle_of_a_batch_hands_the_unsent_jobs_back_as_they_were() {
    let rig = Rig::open().await;
    let first = rig.enqueue("6281111111111", "1").await;
    let second = rig.enqueue("6282222222222", "2").await;
    let third = rig.enqueue("6283333333333", "3").await;
    // The first job goes at once; the second waits out a 30 s gap, which the stop cuts short.
    let mut worker = rig.worker(WorkerConfig {
        min_gap: Duration::from_secs(30),
        ..config(8)
    });
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
    assert_eq!(rig.delivered(""), ["1"]);
    assert_eq!(rig.job(&first).await.state, JobState::Sent);
    for job in [&second, &third] {
        let now = rig.job(job).await;
        assert_eq!(
            (now.state, now.attempts),
            (JobState::Queued, 0),
            "{}",
            job.id
        );
    }
    let again = rig
        .world
        .queue
        .receive(
            &names::send(&rig.session),
            8,
            Duration::from_secs(30),
            Duration::ZERO,
        )
        .await
        .expect("receive");
    let bodies: Vec<&str> = again.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(
        bodies,
        [second.id.as_str(), third.id.as_str()],
        "visible again at once, in order"
    );
}
