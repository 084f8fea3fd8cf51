//! The write-ahead log stays bounded under sustained load: many tasks send, receive, ack and
//! read without pause, and the `-wal` file never grows past the limit by more than what one
//! write batch adds. Sizes are asserted, not speed.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use wagate_core::clock::now_ms;
use wagate_core::ports::{Queue, QueueSpec, Store};
use wagate_core::{Jid, Job, JobState, KeyId, MessageContent, OutboundMessage, SessionId};
use wagate_local::{LocalBackend, LocalOptions, WAL_LIMIT_BYTES};

/// How long the load runs, and the most sends it makes (whichever comes first).
const RUN_FOR: Duration = Duration::from_secs(6);
const MAX_SENDS: u64 = 400_000;
/// Concurrent senders, and consumers (one queue each, senders spread over them).
const SENDERS: usize = 64;
const QUEUES: usize = 8;
/// What one write batch may add past the limit before the WAL is truncated.
const ONE_BATCH: u64 = 16 * 1024 * 1024;

fn job(session: &SessionId, n: u64) -> Job {
    Job::new(
        session.clone(),
        KeyId::from_string("key_load"),
        Jid::parse("628123456789").unwrap(),
        OutboundMessage::new(MessageContent::Text {
            // A few hundred bytes, like a real notification.
            text: format!("order {n} is ready for pickup; {}", "x".repeat(400)),
            mentions: vec![],
        }),
        now_ms(),
    )
}

async fn sender(
    store: Arc<dyn Store>,
    queue: Arc<dyn Queue>,
    i: usize,
    stop: Arc<AtomicBool>,
    sends: Arc<AtomicU64>,
) {
    let session = SessionId::parse(&format!("s{}", i % QUEUES)).unwrap();
    let q = format!("send-{}", i % QUEUES);
    while !stop.load(Ordering::Relaxed) {
        let n = sends.fetch_add(1, Ordering::Relaxed);
        if n >= MAX_SENDS {
            break;
        }
        let j = job(&session, n);
        let idem = format!("idem:{i}:{n}");
        store
            .claim_idempotency(&idem, j.id.as_str(), 86_400_000, now_ms())
            .await
            .unwrap();
        store
            .hit_counter(&format!("rl:{session}"), u64::MAX, 60_000, now_ms())
            .await
            .unwrap();
        assert!(store.create_job(&j).await.unwrap());
        store
            .complete_idempotency(&idem, j.id.as_str())
            .await
            .unwrap();
        let body = serde_json::json!({ "job": j.id.as_str(), "pad": "y".repeat(200) });
        queue
            .send(&q, j.id.as_str(), &body.to_string())
            .await
            .unwrap();
        // A client polling its job.
        assert!(store.get_job(&j.id).await.unwrap().is_some());
    }
}

async fn consumer(store: Arc<dyn Store>, queue: Arc<dyn Queue>, q: String, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::Relaxed) {
        let got = queue
            .receive(&q, 10, Duration::from_secs(30), Duration::from_millis(50))
            .await
            .unwrap();
        for m in got {
            let v: serde_json::Value = serde_json::from_str(&m.body).unwrap();
            let id = wagate_core::JobId::from_string(v["job"].as_str().unwrap().to_owned());
            store
                .update_job(&id, JobState::Sending, 1, None, None)
                .await
                .unwrap();
            store
                .update_job(&id, JobState::Sent, 1, None, Some(now_ms()))
                .await
                .unwrap();
            queue.ack(&q, &m.receipt).await.unwrap();
        }
        queue.depth(&q).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wal_stays_bounded_under_sustained_load() {
    let dir = tempfile::TempDir::new().unwrap();
    let backend = LocalBackend::open(dir.path(), LocalOptions::default()).unwrap();
    let (store, queue) = (backend.store(), backend.queue());
    for q in 0..QUEUES {
        queue
            .create(&format!("send-{q}"), QueueSpec::FIFO)
            .await
            .unwrap();
    }

    // Samples the WAL's size on a thread of its own until the load is over; a WAL past the
    // bound ends the load at once (the test has failed; no need to fill the disk).
    let wal = dir.path().join("wagate.db-wal");
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (done, stop) = (done.clone(), stop.clone());
        std::thread::spawn(move || {
            let (mut max, mut samples) = (0u64, 0u64);
            while !done.load(Ordering::Relaxed) {
                let size = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
                max = max.max(size);
                samples += 1;
                if size > WAL_LIMIT_BYTES + ONE_BATCH {
                    stop.store(true, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            (max, samples)
        })
    };

    let sends = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for i in 0..SENDERS {
        tasks.push(tokio::spawn(sender(
            store.clone(),
            queue.clone(),
            i,
            stop.clone(),
            sends.clone(),
        )));
    }
    for q in 0..QUEUES {
        tasks.push(tokio::spawn(consumer(
            store.clone(),
            queue.clone(),
            format!("send-{q}"),
            stop.clone(),
        )));
    }
    let started = Instant::now();
    while started.elapsed() < RUN_FOR
        && sends.load(Ordering::Relaxed) < MAX_SENDS
        && !stop.load(Ordering::Relaxed)
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    done.store(true, Ordering::Relaxed);
    let (max, samples) = sampler.join().unwrap();
    let db_size = std::fs::metadata(dir.path().join("wagate.db"))
        .unwrap()
        .len();
    let sent = sends.load(Ordering::Relaxed).min(MAX_SENDS);
    eprintln!(
        "{sent} sends in {:?}; database {db_size} bytes; WAL at most {max} bytes ({samples} samples)",
        started.elapsed()
    );
    assert!(
        max <= WAL_LIMIT_BYTES + ONE_BATCH,
        "the WAL reached {max} bytes, past the limit of {WAL_LIMIT_BYTES} + {ONE_BATCH}"
    );
    assert!(samples > 100, "the sampler barely ran ({samples} samples)");
}
