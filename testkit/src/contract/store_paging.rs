//! The store contract for paged listings: walking a listing page by page gives every record
//! exactly once, in the listing's order, and the last page says it is the last.

use std::sync::Arc;

use wagate_core::clock::now_ms;
use wagate_core::ports::{DeadLetter, Page, ParkedSend, Store};
use wagate_core::{
    ApiKey, ApiKeyRecord, Job, JobState, KeyId, Role, Session, SessionId, random_token,
};

/// Walks a listing `limit` at a time; returns the pages' sizes and every item in order.
async fn walk<T, F, Fut>(limit: usize, mut list: F) -> (Vec<usize>, Vec<T>)
where
    F: FnMut(Option<String>) -> Fut,
    Fut: std::future::Future<Output = Page<T>>,
{
    let (mut sizes, mut items) = (Vec::new(), Vec::new());
    let mut after = None;
    for _ in 0..10_000 {
        let page = list(after.take()).await;
        assert!(page.items.len() <= limit, "a page holds at most the limit");
        sizes.push(page.items.len());
        items.extend(page.items);
        match page.next {
            Some(n) => after = Some(n),
            None => return (sizes, items),
        }
    }
    panic!("the listing never ended");
}

/// The positions of `wanted` in `got`, each of which must appear exactly once.
fn once_each<T: PartialEq + std::fmt::Debug>(got: &[T], wanted: &[T]) -> Vec<usize> {
    wanted
        .iter()
        .map(|w| {
            let at: Vec<usize> = (0..got.len()).filter(|&i| got[i] == *w).collect();
            assert_eq!(at.len(), 1, "{w:?} appears {} times", at.len());
            at[0]
        })
        .collect()
}

fn session_ids(n: usize, tag: &str) -> Vec<SessionId> {
    let mut ids: Vec<SessionId> = (0..n)
        .map(|i| SessionId::parse(&format!("p{tag}{i:02}{}", random_token(4))).unwrap())
        .collect();
    ids.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    ids
}

pub async fn store_sessions_page_by_owner_in_id_order(store: Arc<dyn Store>) {
    let owner = KeyId::from_string(format!("key_{}", random_token(8)));
    let other = KeyId::from_string(format!("key_{}", random_token(8)));
    let tag = random_token(6);
    let mine = session_ids(25, &tag);
    // Someone else's sessions interleaved with ours: the owner filter applies before the limit.
    for (i, id) in mine.iter().enumerate() {
        let s = Session::new(id.clone(), owner.clone(), now_ms());
        assert!(store.create_session(&s).await.unwrap());
        let theirs = SessionId::parse(&format!("{}x{i}", id.as_str())).unwrap();
        let s = Session::new(theirs, other.clone(), now_ms());
        assert!(store.create_session(&s).await.unwrap());
    }
    let (sizes, got) = walk(10, |after| {
        let (store, owner) = (store.clone(), owner.clone());
        async move {
            store
                .list_sessions(Some(&owner), after.as_deref(), 10)
                .await
                .unwrap()
        }
    })
    .await;
    assert_eq!(sizes, vec![10, 10, 5]);
    let ids: Vec<SessionId> = got.into_iter().map(|s| s.id).collect();
    assert_eq!(ids, mine);
}

pub async fn store_sessions_page_without_owner_and_keys_page(store: Arc<dyn Store>) {
    let owner = KeyId::from_string(format!("key_{}", random_token(8)));
    let mine = session_ids(25, &random_token(6));
    for id in &mine {
        let s = Session::new(id.clone(), owner.clone(), now_ms());
        assert!(store.create_session(&s).await.unwrap());
    }
    let (_, got) = walk(10, |after| {
        let store = store.clone();
        async move {
            store
                .list_sessions(None, after.as_deref(), 10)
                .await
                .unwrap()
        }
    })
    .await;
    let ids: Vec<SessionId> = got.into_iter().map(|s| s.id).collect();
    let at = once_each(&ids, &mine);
    assert!(at.windows(2).all(|w| w[0] < w[1]), "sessions come by id");

    let base = now_ms();
    let mut keys: Vec<ApiKeyRecord> = Vec::new();
    for i in 0..25 {
        let key = ApiKey::new(format!("paging-{}-{i}", random_token(12)));
        let rec = ApiKeyRecord::new(&key, Role::User, format!("k{i}"), base + i);
        store.put_api_key(&rec).await.unwrap();
        keys.push(rec);
    }
    let (_, got) = walk(10, |after| {
        let store = store.clone();
        async move { store.list_api_keys(after.as_deref(), 10).await.unwrap() }
    })
    .await;
    let ids: Vec<KeyId> = got.into_iter().map(|k| k.id).collect();
    let wanted: Vec<KeyId> = keys.iter().map(|k| k.id.clone()).collect();
    let at = once_each(&ids, &wanted);
    assert!(at.windows(2).all(|w| w[0] < w[1]), "keys come by creation");
}

pub async fn store_dead_letters_page_in_time_order(store: Arc<dyn Store>) {
    let base = now_ms();
    let mut mine: Vec<DeadLetter> = Vec::new();
    for i in 0..25 {
        let dl = DeadLetter {
            id: format!("evt_{}", random_token(8)),
            session_id: "s".into(),
            body: "{}".into(),
            attempts: 1,
            last_error: "HTTP 500".into(),
            failed_at: base + i,
        };
        store.put_dead_letter(&dl).await.unwrap();
        mine.push(dl);
    }
    let (sizes, got) = walk(10, |after| {
        let store = store.clone();
        async move { store.list_dead_letters(after.as_deref(), 10).await.unwrap() }
    })
    .await;
    assert!(sizes.len() >= 3, "25 records take three pages of 10");
    let at = once_each(&got, &mine);
    assert!(at.windows(2).all(|w| w[0] < w[1]), "oldest first");
}

pub async fn store_parked_sends_page_in_time_order_and_are_removed(store: Arc<dyn Store>) {
    let base = now_ms();
    let mut mine: Vec<ParkedSend> = Vec::new();
    for i in 0..12 {
        let p = ParkedSend {
            job_id: format!("job_{}", random_token(10)),
            session_id: "s".into(),
            parked_at: base + i,
        };
        store.put_parked_send(&p).await.unwrap();
        mine.push(p);
    }
    let list = |store: Arc<dyn Store>| async move {
        walk(5, |after| {
            let store = store.clone();
            async move { store.list_parked_sends(after.as_deref(), 5).await.unwrap() }
        })
        .await
    };
    let (sizes, got) = list(store.clone()).await;
    assert!(sizes.len() >= 3, "12 records take three pages of 5");
    let at = once_each(&got, &mine);
    assert!(at.windows(2).all(|w| w[0] < w[1]), "oldest first");

    // Parked again (a redriven send that failed again): once, at its new time.
    let mut again = mine.remove(0);
    again.parked_at = base + 100;
    store.put_parked_send(&again).await.unwrap();
    mine.push(again);
    // Removed once redriven; removing what is not there is no error.
    let gone = mine.remove(0);
    store.remove_parked_send(&gone.job_id).await.unwrap();
    store.remove_parked_send(&gone.job_id).await.unwrap();
    let (_, got) = list(store.clone()).await;
    let at = once_each(&got, &mine);
    assert!(at.windows(2).all(|w| w[0] < w[1]), "re-parked last");
    assert!(!got.contains(&gone));
}

pub async fn store_unstarted_jobs_are_listed_by_creation_until_their_first_update(
    store: Arc<dyn Store>,
) {
    let session = SessionId::parse(&format!("u{}", random_token(10))).unwrap();
    // Around a minute boundary, in the past (other cases' jobs are created now).
    let minute = (now_ms() / 60_000 - 30) * 60_000;
    let mut mine = Vec::new();
    for at in [minute - 2, minute - 1, minute, minute + 1, minute + 61_000] {
        let job = super::text_job_at(&session, at);
        assert!(store.create_job(&job).await.unwrap());
        mine.push(job);
    }
    let outside = super::text_job_at(&session, minute + 200_000);
    assert!(store.create_job(&outside).await.unwrap());
    let (from, to) = (minute - 10, minute + 120_000);
    let list = |store: Arc<dyn Store>| {
        let session = session.clone();
        async move {
            walk(2, |after| {
                let store = store.clone();
                async move {
                    store
                        .list_unstarted_jobs(from, to, after.as_deref(), 2)
                        .await
                        .unwrap()
                }
            })
            .await
            .1
            .into_iter()
            .filter(|j| j.session_id == session)
            .map(|j| j.id)
            .collect::<Vec<_>>()
        }
    };
    let ids = |jobs: &[Job]| jobs.iter().map(|j| j.id.clone()).collect::<Vec<_>>();
    assert_eq!(
        list(store.clone()).await,
        ids(&mine),
        "in creation order, across minutes"
    );

    // Started, or failed: no longer listed; a retry back to `queued` is not listed either.
    store
        .update_job(&mine[1].id, JobState::Sending, 1, None, None)
        .await
        .unwrap();
    store
        .update_job(
            &mine[2].id,
            JobState::Failed,
            0,
            Some("session deleted"),
            None,
        )
        .await
        .unwrap();
    store
        .update_job(&mine[3].id, JobState::Queued, 1, Some("timeout"), None)
        .await
        .unwrap();
    assert_eq!(
        list(store.clone()).await,
        vec![mine[0].id.clone(), mine[4].id.clone()]
    );
}
