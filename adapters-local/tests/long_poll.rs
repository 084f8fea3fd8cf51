//! Long polls of the embedded queue wake for what can make a message deliverable without a
//! send: a hidden message coming due (its visibility timeout, or a nack's delay).

use std::time::Duration;

use wagate_core::ports::{Queue, QueueSpec};
use wagate_local::{LocalBackend, LocalOptions};

const LONG: Duration = Duration::from_secs(20);
/// Far below `LONG`: a poll that returns within it was woken, not timed out.
const WITHIN: Duration = Duration::from_secs(10);

async fn queue() -> (tempfile::TempDir, std::sync::Arc<dyn Queue>) {
    let dir = tempfile::TempDir::new().unwrap();
    let q = LocalBackend::open(dir.path(), LocalOptions::default())
        .unwrap()
        .queue();
    q.create("q", QueueSpec::FIFO).await.unwrap();
    (dir, q)
}

#[tokio::test]
async fn a_waiting_poll_gets_a_message_whose_visibility_timeout_ends() {
    let (_dir, q) = queue().await;
    q.send("q", "m", "body").await.unwrap();
    let taken = q
        .receive("q", 1, Duration::from_millis(300), Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(taken.len(), 1);

    let again = tokio::time::timeout(WITHIN, q.receive("q", 1, LONG, LONG))
        .await
        .expect("woken when the message came due")
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].body, "body");
    assert_eq!(again[0].receive_count, 2);
}

#[tokio::test]
async fn a_waiting_poll_gets_a_message_nacked_with_a_delay_meanwhile() {
    let (_dir, q) = queue().await;
    q.send("q", "m", "body").await.unwrap();
    let taken = q.receive("q", 1, LONG, Duration::ZERO).await.unwrap();
    let receipt = taken[0].receipt.clone();

    // The poll starts while the message is hidden for 20 s; the nack shortens that to 300 ms.
    let poll = {
        let q = q.clone();
        tokio::spawn(async move { q.receive("q", 1, LONG, LONG).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    q.nack("q", &receipt, Duration::from_millis(300))
        .await
        .unwrap();

    let again = tokio::time::timeout(WITHIN, poll)
        .await
        .expect("woken when the delayed message came due")
        .unwrap()
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].receive_count, 2);
}

#[tokio::test]
async fn an_empty_queue_answers_empty_when_the_wait_ends() {
    let (_dir, q) = queue().await;
    let got = tokio::time::timeout(WITHIN, q.receive("q", 1, LONG, Duration::from_millis(200)))
        .await
        .expect("the wait ends")
        .unwrap();
    assert!(got.is_empty());
}
