//! Local retention: final jobs past `JOB_TTL_DAYS` are deleted, queued and sending ones never;
//! expired idempotency records, counters and acked queue messages go too; all in batches.

use std::time::Duration;

use wagate_core::clock::now_ms;
use wagate_core::ports::{QueueSpec, Store};
use wagate_core::{Jid, Job, JobState, KeyId, MessageContent, OutboundMessage, SessionId};
use wagate_local::{Db, LocalBackend, LocalOptions, SWEEP_BATCH, SqliteStore, Swept, job_cutoff};

const DAY_MS: i64 = 86_400_000;
const TTL: Duration = Duration::from_secs(30 * 86_400);

/// A job in `state`, created and last updated `age_days` ago.
fn job(state: JobState, age_days: i64) -> Job {
    let at = now_ms() - age_days * DAY_MS;
    let mut j = Job::new(
        SessionId::parse("s1").unwrap(),
        KeyId::from_string("key_x"),
        Jid::parse("628123456789").unwrap(),
        OutboundMessage::new(MessageContent::Text {
            text: "hi".into(),
            mentions: vec![],
        }),
        at,
    );
    j.state = state;
    j
}

fn count(dir: &std::path::Path, sql: &str) -> i64 {
    rusqlite::Connection::open(dir.join("wagate.db"))
        .unwrap()
        .query_row(sql, [], |r| r.get(0))
        .unwrap()
}

#[tokio::test]
async fn only_final_jobs_past_the_ttl_are_deleted() {
    let dir = tempfile::TempDir::new().unwrap();
    let store = SqliteStore::new(
        Db::open(&dir.path().join("wagate.db"), &LocalOptions::default()).unwrap(),
    );
    let states = [
        JobState::Queued,
        JobState::Sending,
        JobState::Sent,
        JobState::Failed,
    ];
    let mut jobs = Vec::new();
    for state in states {
        // New, just inside the TTL, just past it, long past it.
        for age in [0, 29, 31, 400] {
            let j = job(state, age);
            assert!(store.create_job(&j).await.unwrap());
            jobs.push(j);
        }
    }
    let cutoff = job_cutoff(now_ms(), TTL);
    assert_eq!(
        store.delete_final_jobs(cutoff, SWEEP_BATCH).await.unwrap(),
        4
    );
    for j in &jobs {
        let kept = store.get_job(&j.id).await.unwrap().is_some();
        let age_days = (now_ms() - j.created_at) / DAY_MS;
        let expired = j.state.is_final() && age_days >= 30;
        assert_eq!(kept, !expired, "{:?} created {age_days} days ago", j.state);
    }
    // Nothing more to delete.
    assert_eq!(
        store.delete_final_jobs(cutoff, SWEEP_BATCH).await.unwrap(),
        0
    );
}

#[tokio::test]
async fn a_job_finished_recently_stays_though_it_was_created_long_ago() {
    let dir = tempfile::TempDir::new().unwrap();
    let store = SqliteStore::new(
        Db::open(&dir.path().join("wagate.db"), &LocalOptions::default()).unwrap(),
    );
    // Queued 40 days ago (its session was offline), sent just now.
    let j = job(JobState::Queued, 40);
    store.create_job(&j).await.unwrap();
    store
        .update_job(&j.id, JobState::Sent, 1, None, Some(now_ms()))
        .await
        .unwrap();
    let cutoff = job_cutoff(now_ms(), TTL);
    assert_eq!(
        store.delete_final_jobs(cutoff, SWEEP_BATCH).await.unwrap(),
        0
    );
    assert!(store.get_job(&j.id).await.unwrap().is_some());
}

#[tokio::test]
async fn each_call_deletes_one_batch_at_most() {
    let dir = tempfile::TempDir::new().unwrap();
    let store = SqliteStore::new(
        Db::open(&dir.path().join("wagate.db"), &LocalOptions::default()).unwrap(),
    );
    for _ in 0..25 {
        store.create_job(&job(JobState::Sent, 60)).await.unwrap();
    }
    let cutoff = job_cutoff(now_ms(), TTL);
    assert_eq!(store.delete_final_jobs(cutoff, 10).await.unwrap(), 10);
    assert_eq!(store.delete_final_jobs(cutoff, 10).await.unwrap(), 10);
    assert_eq!(store.delete_final_jobs(cutoff, 10).await.unwrap(), 5);
    assert_eq!(store.delete_final_jobs(cutoff, 10).await.unwrap(), 0);
}

#[test]
fn the_cutoff_saturates() {
    assert_eq!(job_cutoff(1_000, Duration::from_millis(400)), 600);
    assert_eq!(job_cutoff(0, Duration::MAX), -i64::MAX);
    assert_eq!(job_cutoff(i64::MIN, Duration::from_secs(1)), i64::MIN);
}

#[tokio::test]
async fn a_sweep_deletes_old_final_jobs_and_expired_records_in_batches() {
    let dir = tempfile::TempDir::new().unwrap();
    let backend = LocalBackend::open(dir.path(), LocalOptions::default()).unwrap();
    let (store, queue) = (backend.store(), backend.queue());
    // More old jobs than one batch holds, of each final state; and some to keep.
    let old = SWEEP_BATCH + 100;
    for i in 0..old {
        let state = if i % 2 == 0 {
            JobState::Sent
        } else {
            JobState::Failed
        };
        store.create_job(&job(state, 45)).await.unwrap();
    }
    let keep = [
        job(JobState::Queued, 45),
        job(JobState::Sending, 45),
        job(JobState::Sent, 1),
        job(JobState::Failed, 0),
    ];
    for j in &keep {
        store.create_job(j).await.unwrap();
    }
    // Expired and live idempotency records and counters.
    let long_ago = now_ms() - 2 * DAY_MS;
    store
        .claim_idempotency("idem:old", "j1", 60_000, long_ago)
        .await
        .unwrap();
    store
        .claim_idempotency("idem:new", "j2", DAY_MS, now_ms())
        .await
        .unwrap();
    store
        .hit_counter("rl:old", 10, 60_000, long_ago)
        .await
        .unwrap();
    store
        .hit_counter("rl:new", 10, 60_000, now_ms())
        .await
        .unwrap();
    // An acked message: gone with its ack, nothing left for the sweep.
    queue.create("q", QueueSpec::FIFO).await.unwrap();
    queue.send("q", "m1", "body").await.unwrap();
    let got = queue
        .receive("q", 1, Duration::from_secs(30), Duration::ZERO)
        .await
        .unwrap();
    queue.ack("q", &got[0].receipt).await.unwrap();

    let swept = backend.sweep(TTL).await.unwrap();
    assert_eq!(
        swept,
        Swept {
            jobs: old as u64,
            expired: 2,
        }
    );
    assert_eq!(
        count(dir.path(), "SELECT COUNT(*) FROM jobs"),
        keep.len() as i64
    );
    for j in &keep {
        assert!(
            store.get_job(&j.id).await.unwrap().is_some(),
            "{:?}",
            j.state
        );
    }
    assert_eq!(
        count(
            dir.path(),
            "SELECT COUNT(*) FROM idempotency WHERE key = 'idem:new'"
        ),
        1
    );
    assert_eq!(count(dir.path(), "SELECT COUNT(*) FROM idempotency"), 1);
    assert_eq!(count(dir.path(), "SELECT COUNT(*) FROM counters"), 1);
    assert_eq!(count(dir.path(), "SELECT COUNT(*) FROM messages"), 0);

    // A second sweep finds nothing.
    assert_eq!(backend.sweep(TTL).await.unwrap(), Swept::default());
}
