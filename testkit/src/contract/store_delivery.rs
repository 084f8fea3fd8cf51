//! A job's webhook delivery note (`Store::put_delivery`): the latest replaces the one before,
//! each job has its own, and the job's own updates leave it alone.

use std::sync::Arc;

use wagate_core::clock::now_ms;
use wagate_core::ports::Store;
use wagate_core::{JobState, SessionId, random_token};

pub async fn store_delivery_notes_are_kept_per_job(store: Arc<dyn Store>) {
    let session = SessionId::parse(&format!("dn{}", random_token(8).to_lowercase())).unwrap();
    let now = now_ms();
    let (a, b) = (
        super::text_job_at(&session, now),
        super::text_job_at(&session, now + 1),
    );
    for job in [&a, &b] {
        assert!(store.create_job(job).await.unwrap());
    }
    let (a_id, b_id) = (a.id.as_str(), b.id.as_str());
    assert_eq!(store.get_delivery(a_id, now).await.unwrap(), None);

    let later = now + 60_000;
    store.put_delivery(a_id, "retrying", later).await.unwrap();
    store.put_delivery(a_id, "delivered", later).await.unwrap();
    store.put_delivery(b_id, "dropped", later).await.unwrap();
    store
        .update_job(&a.id, JobState::Sent, 1, None, Some(now))
        .await
        .unwrap();

    assert_eq!(
        store.get_delivery(a_id, now).await.unwrap().as_deref(),
        Some("delivered")
    );
    assert_eq!(
        store.get_delivery(b_id, now).await.unwrap().as_deref(),
        Some("dropped")
    );
    assert_eq!(
        store.get_job(&a.id).await.unwrap().unwrap().state,
        JobState::Sent
    );
}
