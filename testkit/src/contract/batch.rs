//! The write batch (`wagate_core::ports::WriteBatch`) on a store and the queue of the same
//! backend: every kind of write lands where the store's and the queue's own calls put it, each
//! chain reports whether its jobs were found, and a send to a missing queue is an error.
//! `all_or_none`: the batch is one transaction, so a failing write leaves nothing of the call
//! behind.

use std::sync::Arc;
use std::time::Duration;

use wagate_core::clock::now_ms;
use wagate_core::ports::{
    DeadLetter, PortError, Queue, QueueSpec, Store, Write, WriteBatch, enqueue_send, names,
};
use wagate_core::{JobId, JobState, SessionId, random_token};

const VIS: Duration = Duration::from_secs(30);

pub async fn write_batch_applies_each_chain_in_order(
    batch: Arc<dyn WriteBatch>,
    store: Arc<dyn Store>,
    queue: Arc<dyn Queue>,
    all_or_none: bool,
) {
    let session = SessionId::parse(&format!("wb{}", random_token(8).to_lowercase())).unwrap();
    let sends = names::send(&session);
    queue.create(&sends, QueueSpec::FIFO).await.unwrap();
    let events = format!("wbev-{}", random_token(8).to_lowercase());
    queue.create(&events, QueueSpec::STANDARD).await.unwrap();
    let now = now_ms();
    let jobs = [
        super::text_job_at(&session, now),
        super::text_job_at(&session, now + 1),
    ];
    for job in &jobs {
        store.create_job(job).await.unwrap();
        enqueue_send(queue.as_ref(), job, job.id.as_str())
            .await
            .unwrap();
    }
    // Two recipients' groups would come apart; these are one chat's, in order.
    let got = queue
        .receive(&sends, 10, VIS, Duration::from_secs(1))
        .await
        .unwrap();
    assert_eq!(got.len(), 2);
    let record = format!("wb:{}", random_token(8));
    let dl = DeadLetter {
        id: format!("evt_{}", random_token(8)),
        session_id: session.to_string(),
        body: "{}".into(),
        attempts: 8,
        last_error: "HTTP 500".into(),
        failed_at: now,
    };
    let chains = vec![
        vec![
            Write::Record {
                key: record.clone(),
                value: "done".into(),
                expires_at_ms: now + 60_000,
            },
            Write::Send {
                queue: events.clone(),
                dedup_id: "evt-1".into(),
                body: "sent".into(),
            },
            Write::Job {
                id: jobs[0].id.clone(),
                state: JobState::Sent,
                attempts: 1,
                error: None,
                sent_at: Some(now),
            },
            Write::Ack {
                queue: sends.clone(),
                receipt: got[0].receipt.clone(),
            },
            Write::Delivery {
                job_id: jobs[0].id.to_string(),
                note: "dropped".into(),
                expires_at_ms: now + 60_000,
            },
        ],
        vec![
            Write::Job {
                id: jobs[1].id.clone(),
                state: JobState::Queued,
                attempts: 1,
                error: Some("offline".into()),
                sent_at: None,
            },
            Write::Nack {
                queue: sends.clone(),
                receipt: got[1].receipt.clone(),
                delay: Duration::ZERO,
            },
        ],
        vec![Write::Job {
            id: JobId::from_string(format!("msg_gone{}", random_token(8))),
            state: JobState::Sent,
            attempts: 1,
            error: None,
            sent_at: Some(now),
        }],
        vec![Write::DeadLetter(dl.clone())],
        vec![],
    ];
    assert_eq!(
        batch.apply(chains).await.unwrap(),
        [true, true, false, true, true]
    );

    let sent = store.get_job(&jobs[0].id).await.unwrap().unwrap();
    assert_eq!(
        (sent.state, sent.attempts, sent.sent_at),
        (JobState::Sent, 1, Some(now))
    );
    let back = store.get_job(&jobs[1].id).await.unwrap().unwrap();
    assert_eq!(
        (back.state, back.attempts, back.error.as_deref()),
        (JobState::Queued, 1, Some("offline"))
    );
    assert_eq!(
        store.get_record(&record, now).await.unwrap().as_deref(),
        Some("done")
    );
    assert_eq!(
        store
            .get_delivery(jobs[0].id.as_str(), now)
            .await
            .unwrap()
            .as_deref(),
        Some("dropped")
    );
    assert_eq!(
        store.get_delivery(jobs[1].id.as_str(), now).await.unwrap(),
        None
    );
    let listed = store.list_dead_letters(None, 100).await.unwrap();
    assert!(listed.items.contains(&dl), "the dead letter is stored");
    let event = queue
        .receive(&events, 10, VIS, Duration::from_secs(1))
        .await
        .unwrap();
    assert_eq!(event.len(), 1);
    assert_eq!(event[0].body, "sent");
    // The acked job is gone from its queue; the nacked one is back, delivered a second time.
    let again = queue
        .receive(&sends, 10, VIS, Duration::from_secs(1))
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(
        (again[0].body.as_str(), again[0].receive_count),
        (jobs[1].id.as_str(), 2)
    );
    assert_eq!(queue.depth(&sends).await.unwrap(), 1);
    assert!(batch.apply(Vec::new()).await.unwrap().is_empty());

    // A send to a queue that does not exist fails the call.
    let other = format!("wb:{}", random_token(8));
    let failing = vec![
        vec![Write::Record {
            key: other.clone(),
            value: "x".into(),
            expires_at_ms: now + 60_000,
        }],
        vec![Write::Send {
            queue: format!("gone-{}", random_token(8).to_lowercase()),
            dedup_id: "d".into(),
            body: "b".into(),
        }],
    ];
    assert!(matches!(
        batch.apply(failing).await,
        Err(PortError::NotFound(_))
    ));
    if all_or_none {
        assert_eq!(store.get_record(&other, now).await.unwrap(), None);
    }
}
