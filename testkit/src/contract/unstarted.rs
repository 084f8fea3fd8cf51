//! The sweep for cut-off acceptances (`wagate_core::unstarted`) on a store and the queue of
//! the same backend: a job recorded but never queued is queued by the sweep, once however often
//! it runs, and a job that was queued is not queued again.

use std::sync::Arc;
use std::time::Duration;

use wagate_core::clock::now_ms;
use wagate_core::ports::{Queue, QueueSpec, Store, enqueue_send, names};
use wagate_core::unstarted::{SETTLE, WINDOW, sweep};
use wagate_core::{SessionId, random_token};

pub async fn unstarted_sweep_queues_a_cut_off_job_once(
    store: Arc<dyn Store>,
    queue: Arc<dyn Queue>,
) {
    let session = SessionId::parse(&format!("cut{}", random_token(8).to_lowercase())).unwrap();
    let q = names::send(&session);
    queue.create(&q, QueueSpec::FIFO).await.unwrap();
    let now = now_ms();
    let created = now - 30_000;

    // Accepted whole: recorded and queued.
    let whole = super::text_job_at(&session, created);
    assert!(store.create_job(&whole).await.unwrap());
    enqueue_send(queue.as_ref(), &whole, whole.id.as_str())
        .await
        .unwrap();
    // Cut off by a crash between the two steps.
    let cut = super::text_job_at(&session, created + 1);
    assert!(store.create_job(&cut).await.unwrap());
    // Still being accepted (younger than SETTLE): left alone.
    let young = super::text_job_at(&session, now - 1_000);
    assert!(store.create_job(&young).await.unwrap());
    assert_eq!(queue.depth(&q).await.unwrap(), 1);

    for _ in 0..3 {
        sweep(store.as_ref(), queue.as_ref(), now, WINDOW)
            .await
            .unwrap();
    }
    assert_eq!(
        queue.depth(&q).await.unwrap(),
        2,
        "the cut-off job queued, once"
    );
    let mut bodies = Vec::new();
    for m in queue
        .receive(&q, 10, Duration::from_secs(30), Duration::ZERO)
        .await
        .unwrap()
    {
        bodies.push(m.body.clone());
        queue.ack(&q, &m.receipt).await.unwrap();
    }
    let mut more = queue
        .receive(&q, 10, Duration::from_secs(30), Duration::from_secs(1))
        .await
        .unwrap();
    bodies.extend(more.drain(..).map(|m| m.body));
    bodies.sort();
    let mut want = vec![whole.id.to_string(), cut.id.to_string()];
    want.sort();
    assert_eq!(bodies, want);
    assert!(
        SETTLE < Duration::from_secs(30),
        "the test's job is past SETTLE"
    );
}
