//! Deleting a session fails the sends it still had queued, with a reason and an event, and
//! leaves alone a session created again under the same id.

mod common;

use common::{World, events_of, is_state, text_job};
use wagate_core::clock::now_ms;
use wagate_core::ports::{PortError, names};
use wagate_core::{EventKind, JobState};
use wagate_host::deletion::{SESSION_DELETED, drain_deleted_session};

#[tokio::test]
async fn the_queued_sends_of_a_deleted_session_fail_with_an_event() {
    let world = World::new().await;
    let id = world.session("gone").await;
    let mut jobs = Vec::new();
    for i in 0..3 {
        jobs.push(
            world
                .enqueue_text(&id, "628123456789", &format!("m{i}"))
                .await,
        );
    }
    // What the API does: the record goes, then the host drains.
    assert!(world.store.delete_session(&id).await.unwrap());
    let drained = drain_deleted_session(world.store.as_ref(), world.queue.as_ref(), &id, now_ms())
        .await
        .unwrap();
    assert_eq!(drained.failed, 3);
    assert!(drained.queue_deleted);
    for job in &jobs {
        let job = world.job(job).await;
        assert!(is_state(&job, JobState::Failed), "{job:?}");
        assert_eq!(job.error.as_deref(), Some(SESSION_DELETED));
    }
    let events = world.drain_events().await;
    let failed = events_of(&events, EventKind::MessageFailed);
    assert_eq!(failed.len(), 3);
    assert!(failed.iter().all(|e| e.data["error"] == SESSION_DELETED));
    assert!(matches!(
        world.queue.send(&names::send(&id), "x", "x").await,
        Err(PortError::NotFound(_))
    ));
}

#[tokio::test]
async fn a_session_created_again_keeps_its_new_sends_and_its_queue() {
    let world = World::new().await;
    let id = world.session("again").await;
    let old = world.enqueue_text(&id, "628123456789", "old").await;
    let deleted_at = now_ms();
    assert!(world.store.delete_session(&id).await.unwrap());
    // Created again before the host got to the deletion, and sent to at once.
    let id = world.session("again").await;
    let mut fresh = text_job(&id, "628123456789", "new");
    fresh.created_at = deleted_at + 1;
    let fresh = world.enqueue_job(fresh).await;

    let drained =
        drain_deleted_session(world.store.as_ref(), world.queue.as_ref(), &id, deleted_at)
            .await
            .unwrap();
    assert_eq!(drained.failed, 1);
    assert!(!drained.queue_deleted);
    assert!(is_state(&world.job(&old).await, JobState::Failed));
    assert!(is_state(&world.job(&fresh).await, JobState::Queued));
    assert_eq!(world.depth(&id).await, 1, "the new send is still queued");
}
