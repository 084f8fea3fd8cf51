//! The port contract suites on the embedded adapters, plus durability across a reopen.

use std::sync::Arc;
use std::time::Duration;

use wagate_core::adapters::local::{LocalBackend, LocalOptions};
use wagate_core::clock::now_ms;
use wagate_core::ports::{Blobs, Queue, QueueSpec, Store};
use wagate_core::{blobs_contract_tests, queue_contract_tests, store_contract_tests};

/// A backend in a temp dir that lives as long as the test process (tests are short).
fn backend() -> LocalBackend {
    let dir = Box::leak(Box::new(tempfile::TempDir::new().unwrap()));
    LocalBackend::open(dir.path(), LocalOptions::default()).unwrap()
}

async fn store() -> Arc<dyn Store> {
    backend().store()
}

async fn queue() -> Arc<dyn Queue> {
    backend().queue()
}

async fn blobs() -> Arc<dyn Blobs> {
    backend().blobs()
}

mod store_suite {
    use super::*;
    store_contract_tests!(store());
}

mod queue_suite {
    use super::*;
    queue_contract_tests!(queue());
}

mod blobs_suite {
    use super::*;
    blobs_contract_tests!(blobs());
}

#[tokio::test]
async fn everything_survives_a_reopen_and_in_flight_messages_come_back() {
    let dir = tempfile::TempDir::new().unwrap();
    let id = wagate_core::SessionId::parse("keep").unwrap();
    let owner = wagate_core::KeyId::from_string("key_x");
    {
        let b = LocalBackend::open(dir.path(), LocalOptions::default()).unwrap();
        b.store()
            .create_session(&wagate_core::Session::new(
                id.clone(),
                owner.clone(),
                now_ms(),
            ))
            .await
            .unwrap();
        b.store()
            .set_config(
                "rateLimit",
                &serde_json::json!({ "windowMs": 1000, "max": 3 }),
            )
            .await
            .unwrap();
        b.store()
            .hit_counter("rl:key_x", 10, 60_000, now_ms())
            .await
            .unwrap();
        b.queue()
            .create("send-keep", QueueSpec::FIFO)
            .await
            .unwrap();
        b.queue().send("send-keep", "j1", "job-1").await.unwrap();
        b.queue().send("send-keep", "j2", "job-2").await.unwrap();
        let inflight = b
            .queue()
            .receive("send-keep", 1, Duration::from_secs(600), Duration::ZERO)
            .await
            .unwrap();
        assert_eq!(inflight[0].body, "job-1");
    }
    let b = LocalBackend::open(dir.path(), LocalOptions::default()).unwrap();
    assert_eq!(
        b.store().get_session(&id).await.unwrap().unwrap().owner,
        owner
    );
    assert_eq!(
        b.store().get_config("rateLimit").await.unwrap().unwrap()["max"],
        3
    );
    assert_eq!(
        b.store()
            .hit_counter("rl:key_x", 10, 60_000, now_ms())
            .await
            .unwrap()
            .count,
        2
    );
    assert_eq!(b.queue().depth("send-keep").await.unwrap(), 2);
    // job-1 was in flight when the process went away; release makes it deliverable at once.
    assert!(
        b.queue()
            .receive("send-keep", 1, Duration::from_secs(30), Duration::ZERO)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(b.release_inflight().await.unwrap(), 1);
    let again = b
        .queue()
        .receive("send-keep", 1, Duration::from_secs(30), Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(
        (again[0].body.as_str(), again[0].receive_count),
        ("job-1", 2)
    );
}
