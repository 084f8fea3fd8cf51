//! The port contract suites on the AWS adapters, against a local AWS emulator (moto server).
//! `scripts/test.sh` starts one and sets `WAGATE_TEST_AWS_ENDPOINT`; each test gets its own
//! table, bucket and queue prefix.

use std::sync::Arc;

use wagate_aws::{AwsSettings, DynamoStore, S3Blobs, SqsQueue};
use wagate_core::ports::{Blobs, Queue, Store};
use wagate_testkit::port_contract_tests;

async fn settings() -> AwsSettings {
    let endpoint = std::env::var("WAGATE_TEST_AWS_ENDPOINT").expect(
        "WAGATE_TEST_AWS_ENDPOINT is not set: run the tests with `bash scripts/test.sh`, which starts moto",
    );
    AwsSettings::emulator(&endpoint, &wagate_core::random_token(10).to_lowercase()).await
}

async fn blobs() -> Arc<dyn Blobs> {
    let b = S3Blobs::new(&settings().await);
    b.ensure_bucket().await.expect("bucket");
    Arc::new(b)
}

async fn queue() -> Arc<dyn Queue> {
    Arc::new(SqsQueue::new(&settings().await))
}

async fn store() -> Arc<dyn Store> {
    let s = DynamoStore::new(&settings().await);
    s.ensure_table().await.expect("table");
    Arc::new(s)
}

port_contract_tests!(store: store(), queue: queue(), blobs: blobs());

/// SQS's own redrive: a send received `maxReceiveCount` times without an ack (a job that
/// crashes its host every time) moves to the dead-letter queue of sends.
#[tokio::test]
async fn send_queues_redrive_to_the_dead_letter_queue_of_sends() {
    use std::time::Duration;
    use wagate_core::ports::{QueueSpec, names};
    let mut s = settings().await;
    s.names.send_max_receives = 2;
    let queue = SqsQueue::new(&s);
    let q = "send-crashy";
    queue.create(q, QueueSpec::FIFO).await.unwrap();
    queue.send(q, "job_1", "job_1").await.unwrap();
    // Received and handed back twice (a host that dies mid-send does the same, slower).
    for _ in 0..2 {
        let got = queue
            .receive(q, 1, Duration::from_secs(30), Duration::from_secs(1))
            .await
            .unwrap();
        assert_eq!(got.len(), 1);
        queue
            .nack(q, &got[0].receipt, Duration::ZERO)
            .await
            .unwrap();
    }
    // The third receive finds it moved.
    let got = queue
        .receive(q, 1, Duration::ZERO, Duration::from_secs(1))
        .await
        .unwrap();
    assert!(got.is_empty());
    assert_eq!(queue.depth(names::DEAD_SENDS).await.unwrap(), 1);
    let parked = queue
        .receive(
            names::DEAD_SENDS,
            1,
            Duration::from_secs(30),
            Duration::ZERO,
        )
        .await
        .unwrap();
    assert_eq!(parked[0].body, "job_1");
}

#[tokio::test]
async fn provisioning_gives_the_events_queue_a_dead_letter_queue() {
    let queue = SqsQueue::new(&settings().await);
    queue.ensure_events_dead_letter_queue().await.unwrap();
    // Idempotent.
    queue.ensure_events_dead_letter_queue().await.unwrap();
    assert_eq!(queue.depth(wagate_aws::EVENTS_DLQ).await.unwrap(), 0);
}

/// A client uploads straight to S3 through a presigned PUT; the blob is then readable.
#[tokio::test]
async fn presigned_puts_upload_without_passing_through_wagate() {
    let blobs = blobs().await;
    let key = "media/shop/abc123/report.pdf";
    let signed = blobs
        .presign_put(key, "application/pdf", std::time::Duration::from_secs(300))
        .await
        .unwrap()
        .expect("S3 signs URLs");
    assert!(signed.expires_at_ms > wagate_core::clock::now_ms());
    let client = reqwest::Client::new();
    let mut req = client.put(&signed.url).body(b"%PDF-1.7 ...".to_vec());
    for (k, v) in &signed.headers {
        req = req.header(k, v);
    }
    let res = req.send().await.unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    assert_eq!(
        blobs.get(key).await.unwrap().as_deref(),
        Some(&b"%PDF-1.7 ..."[..])
    );
    // Keys are checked before anything is signed.
    assert!(
        blobs
            .presign_put(
                "media/../creds",
                "text/plain",
                std::time::Duration::from_secs(60)
            )
            .await
            .is_err()
    );
}

#[tokio::test]
async fn unstarted_sweep_queues_a_cut_off_job_once() {
    wagate_testkit::contract::unstarted_sweep_queues_a_cut_off_job_once(
        store().await,
        queue().await,
    )
    .await;
}

#[tokio::test]
async fn intake_step_by_step_admits_all_or_nothing() {
    let (store, queue) = (store().await, queue().await);
    let intake = Arc::new(wagate_core::ports::Sequential::new(
        store.clone(),
        queue.clone(),
    ));
    wagate_testkit::contract::intake_admits_all_or_nothing(intake, store, queue, false).await;
}

#[tokio::test]
async fn write_batch_one_by_one() {
    let (store, queue) = (store().await, queue().await);
    let batch = Arc::new(wagate_core::ports::OneByOne::new(
        store.clone(),
        queue.clone(),
    ));
    wagate_testkit::contract::write_batch_applies_each_chain_in_order(batch, store, queue, false)
        .await;
}
