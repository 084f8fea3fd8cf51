//! The queue contract: the SQS-shaped semantics (receipts, visibility, dedup ids, FIFO
//! order per message group) every queue adapter offers.

use std::sync::Arc;
use std::time::Duration;

use wagate_core::ports::{PortError, Queue, QueueMessage, QueueSpec};
use wagate_core::random_token;

fn qname(prefix: &str) -> String {
    format!("{prefix}-{}", random_token(8).to_lowercase())
}

const VIS: Duration = Duration::from_secs(30);
const NOW: Duration = Duration::ZERO;

async fn new_queue(queue: &dyn Queue, prefix: &str, spec: QueueSpec) -> String {
    let q = qname(prefix);
    queue.create(&q, spec).await.unwrap();
    q
}

/// Sends `bodies` in order, the i-th with the dedup id `m{i}`.
async fn send_each(queue: &dyn Queue, q: &str, bodies: &[&str]) {
    for (i, body) in bodies.iter().enumerate() {
        queue.send(q, &format!("m{i}"), body).await.unwrap();
    }
}

async fn depth(queue: &dyn Queue, q: &str) -> u64 {
    queue.depth(q).await.unwrap()
}

/// Sends one message and lets its first delivery time out: the first and the second delivery.
async fn redelivered(queue: &dyn Queue, q: &str) -> (QueueMessage, QueueMessage) {
    queue.send(q, "m", "x").await.unwrap();
    // Whole seconds: SQS counts visibility in seconds.
    let first = queue
        .receive(q, 1, Duration::from_secs(1), NOW)
        .await
        .unwrap()
        .remove(0);
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let second = queue.receive(q, 1, VIS, NOW).await.unwrap().remove(0);
    (first, second)
}

pub async fn queue_send_receive_ack(queue: Arc<dyn Queue>) {
    let q = new_queue(queue.as_ref(), "t", QueueSpec::STANDARD).await;
    queue.create(&q, QueueSpec::STANDARD).await.unwrap();
    queue.send(&q, "m1", "one").await.unwrap();
    assert_eq!(depth(queue.as_ref(), &q).await, 1);
    let got = queue.receive(&q, 10, VIS, NOW).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!((got[0].body.as_str(), got[0].receive_count), ("one", 1));
    // In flight: invisible, still counted.
    assert!(queue.receive(&q, 10, VIS, NOW).await.unwrap().is_empty());
    assert_eq!(depth(queue.as_ref(), &q).await, 1);
    queue.ack(&q, &got[0].receipt).await.unwrap();
    assert_eq!(depth(queue.as_ref(), &q).await, 0);
}

pub async fn queue_dedup_ignores_a_repeated_id(queue: Arc<dyn Queue>) {
    let q = new_queue(queue.as_ref(), "d", QueueSpec::FIFO).await;
    queue.send(&q, "same", "first").await.unwrap();
    queue.send(&q, "same", "second").await.unwrap();
    assert_eq!(depth(queue.as_ref(), &q).await, 1);
    let got = queue.receive(&q, 10, VIS, NOW).await.unwrap();
    assert_eq!(got[0].body, "first");
    queue.ack(&q, &got[0].receipt).await.unwrap();
    assert_eq!(depth(queue.as_ref(), &q).await, 0);
    // Whether an id is still remembered after its ack differs (SQS: five minutes from the
    // send; moto: not at all), so wagate never relies on it: a replay re-enqueues only jobs
    // that are not final, and a final job is acked before anything could replay it.
}

pub async fn queue_fifo_head_in_flight_blocks_the_rest(queue: Arc<dyn Queue>) {
    let q = new_queue(queue.as_ref(), "f", QueueSpec::FIFO).await;
    send_each(queue.as_ref(), &q, &["0", "1", "2"]).await;
    let head = queue.receive(&q, 1, VIS, NOW).await.unwrap();
    assert_eq!(head[0].body, "0");
    assert!(
        queue.receive(&q, 1, VIS, NOW).await.unwrap().is_empty(),
        "head in flight must block"
    );
    queue.ack(&q, &head[0].receipt).await.unwrap();
    let next = queue.receive(&q, 1, VIS, NOW).await.unwrap();
    assert_eq!(next[0].body, "1");
    queue
        .nack(&q, &next[0].receipt, Duration::ZERO)
        .await
        .unwrap();
    let again = queue.receive(&q, 1, VIS, NOW).await.unwrap();
    assert_eq!((again[0].body.as_str(), again[0].receive_count), ("1", 2));
}

pub async fn queue_fifo_groups_keep_their_own_order_and_hold_only_themselves(
    queue: Arc<dyn Queue>,
) {
    let q = new_queue(queue.as_ref(), "g", QueueSpec::FIFO).await;
    for (dedup, group, body) in [
        ("a0", "chat-a", "a0"),
        ("a1", "chat-a", "a1"),
        ("b0", "chat-b", "b0"),
        ("a2", "chat-a", "a2"),
        ("b1", "chat-b", "b1"),
    ] {
        queue.send_in_group(&q, group, dedup, body).await.unwrap();
    }
    let take = || async { queue.receive(&q, 1, VIS, NOW).await.unwrap() };
    let a0 = take().await;
    assert_eq!(a0[0].body, "a0", "the oldest message goes first");
    // a0 in flight holds chat-a only: chat-b's head goes next.
    let b0 = take().await;
    assert_eq!(
        b0[0].body, "b0",
        "another group is not held by chat-a's head"
    );
    assert!(
        take().await.is_empty(),
        "both heads in flight hold both groups"
    );
    // chat-a's head backs off: chat-b goes on in its order, chat-a waits.
    queue
        .nack(&q, &a0[0].receipt, Duration::from_secs(2))
        .await
        .unwrap();
    queue.ack(&q, &b0[0].receipt).await.unwrap();
    let b1 = take().await;
    assert_eq!(
        b1[0].body, "b1",
        "chat-b's order holds while chat-a backs off"
    );
    queue.ack(&q, &b1[0].receipt).await.unwrap();
    assert!(
        take().await.is_empty(),
        "nothing of chat-a passes its delayed head"
    );
    // The delay over, chat-a resumes in its order: the retried head first.
    let mut order = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while order.len() < 3 && tokio::time::Instant::now() < deadline {
        for m in queue
            .receive(&q, 1, VIS, Duration::from_secs(1))
            .await
            .unwrap()
        {
            order.push((m.body.clone(), m.receive_count));
            queue.ack(&q, &m.receipt).await.unwrap();
        }
    }
    assert_eq!(
        order,
        vec![("a0".into(), 2), ("a1".into(), 1), ("a2".into(), 1)]
    );
    assert_eq!(depth(queue.as_ref(), &q).await, 0);
}

pub async fn queue_visibility_timeout_redelivers_with_a_new_receipt(queue: Arc<dyn Queue>) {
    let q = new_queue(queue.as_ref(), "v", QueueSpec::STANDARD).await;
    let (first, second) = redelivered(queue.as_ref(), &q).await;
    assert_eq!(second.receive_count, 2);
    assert_ne!(second.receipt, first.receipt);
    // What a stale receipt's ack does differs too (SQS may still delete): the worker acks only
    // after the job is final, when deleting a redelivered copy is harmless.
    queue.ack(&q, &second.receipt).await.unwrap();
    assert_eq!(depth(queue.as_ref(), &q).await, 0);
}

pub async fn queue_nack_delays_and_extend_keeps_hidden(queue: Arc<dyn Queue>) {
    let q = new_queue(queue.as_ref(), "n", QueueSpec::STANDARD).await;
    queue.send(&q, "a", "a").await.unwrap();
    let m = queue.receive(&q, 1, VIS, NOW).await.unwrap().remove(0);
    queue
        .nack(&q, &m.receipt, Duration::from_millis(300))
        .await
        .unwrap();
    assert!(
        queue.receive(&q, 1, VIS, NOW).await.unwrap().is_empty(),
        "delayed"
    );
    let back = queue
        .receive(&q, 1, Duration::from_millis(300), Duration::from_secs(3))
        .await
        .unwrap();
    assert_eq!(back.len(), 1);
    queue.extend(&q, &back[0].receipt, VIS).await.unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(
        queue.receive(&q, 1, VIS, NOW).await.unwrap().is_empty(),
        "extended"
    );
}

pub async fn queue_long_poll_returns_when_a_message_arrives(queue: Arc<dyn Queue>) {
    let q = new_queue(queue.as_ref(), "l", QueueSpec::FIFO).await;
    let sender = {
        let (queue, q) = (queue.clone(), q.clone());
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            queue.send(&q, "late", "late").await.unwrap();
        })
    };
    let got = queue
        .receive(&q, 1, VIS, Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].body, "late");
    sender.await.unwrap();
}

pub async fn queue_standard_delivers_several_and_missing_queues_are_not_found(
    queue: Arc<dyn Queue>,
) {
    let q = new_queue(queue.as_ref(), "s", QueueSpec::STANDARD).await;
    send_each(queue.as_ref(), &q, &["x"; 5]).await;
    assert_eq!(queue.receive(&q, 3, VIS, NOW).await.unwrap().len(), 3);
    assert!(matches!(
        queue.send("missing-queue", "m", "x").await,
        Err(PortError::NotFound(_))
    ));
    queue.delete(&q).await.unwrap();
    assert!(matches!(
        queue.send(&q, "m9", "x").await,
        Err(PortError::NotFound(_))
    ));
    queue.delete(&q).await.unwrap();
}

pub async fn queue_fifo_batch_comes_in_send_order(queue: Arc<dyn Queue>) {
    let q = new_queue(queue.as_ref(), "b", QueueSpec::FIFO).await;
    send_each(queue.as_ref(), &q, &["0", "1", "2", "3", "4"]).await;
    let got = queue.receive(&q, 10, VIS, NOW).await.unwrap();
    let bodies: Vec<_> = got.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(bodies, ["0", "1", "2", "3", "4"]);
    queue.send(&q, "m5", "5").await.unwrap();
    assert!(
        queue.receive(&q, 10, VIS, NOW).await.unwrap().is_empty(),
        "the head is in flight"
    );
}

pub async fn queue_stale_receipts_do_not_touch_a_redelivered_message(queue: Arc<dyn Queue>) {
    let q = new_queue(queue.as_ref(), "r", QueueSpec::STANDARD).await;
    let (first, second) = redelivered(queue.as_ref(), &q).await;
    // Had either call reached the message, it would be visible again now.
    queue
        .nack(&q, &first.receipt, Duration::ZERO)
        .await
        .unwrap();
    queue
        .extend(&q, &first.receipt, Duration::ZERO)
        .await
        .unwrap();
    assert!(queue.receive(&q, 1, VIS, NOW).await.unwrap().is_empty());
    // A receipt nobody ever had is a no-op too.
    queue.ack(&q, "no-such-receipt").await.unwrap();
    assert_eq!(depth(queue.as_ref(), &q).await, 1);
    queue.ack(&q, &second.receipt).await.unwrap();
    assert_eq!(depth(queue.as_ref(), &q).await, 0);
}

pub async fn queue_depth_counts_in_flight_and_delayed_messages(queue: Arc<dyn Queue>) {
    let q = new_queue(queue.as_ref(), "c", QueueSpec::STANDARD).await;
    assert_eq!(depth(queue.as_ref(), &q).await, 0);
    send_each(queue.as_ref(), &q, &["x"; 3]).await;
    let got = queue.receive(&q, 2, VIS, NOW).await.unwrap();
    assert_eq!(got.len(), 2);
    queue
        .nack(&q, &got[0].receipt, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(depth(queue.as_ref(), &q).await, 3);
    queue.ack(&q, &got[1].receipt).await.unwrap();
    assert_eq!(depth(queue.as_ref(), &q).await, 2);
}

pub async fn queue_delete_drops_every_message(queue: Arc<dyn Queue>) {
    let q = new_queue(queue.as_ref(), "x", QueueSpec::FIFO).await;
    send_each(queue.as_ref(), &q, &["old"; 3]).await;
    queue.receive(&q, 1, VIS, NOW).await.unwrap();
    queue.delete(&q).await.unwrap();
    assert!(matches!(
        queue.receive(&q, 1, VIS, NOW).await,
        Err(PortError::NotFound(_))
    ));
    // Created again, it starts empty: nothing old, visible or in flight, is left.
    queue.create(&q, QueueSpec::FIFO).await.unwrap();
    assert_eq!(depth(queue.as_ref(), &q).await, 0);
    queue.send(&q, "new", "new").await.unwrap();
    let got = queue.receive(&q, 10, VIS, NOW).await.unwrap();
    assert_eq!(
        got.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(),
        ["new"]
    );
}
