//! The store contract: keys, sessions, leases, jobs, idempotency, counters, config and dead
//! letters behave the same on every adapter.

use std::sync::Arc;

use serde_json::json;
use wagate_core::clock::now_ms;
use wagate_core::ports::{CounterHit, DeadLetter, Store};
use wagate_core::{
    Account, ApiKey, ApiKeyRecord, EventFilter, EventKind, Jid, Job, JobId, JobState, KeyId, Role,
    Session, SessionId, SessionStatus, random_token,
};

fn sid() -> SessionId {
    SessionId::parse(&format!("s{}", random_token(10))).unwrap()
}

fn text_job(session: &SessionId) -> Job {
    super::text_job_at(session, now_ms())
}

async fn lease(store: &dyn Store, id: &SessionId, host: &str, now: i64) -> bool {
    store.acquire_lease(id, host, 1_000, now).await.unwrap()
}

async fn claim(store: &dyn Store, key: &str, value: &str, now: i64) -> Option<String> {
    store
        .claim_idempotency(key, value, 1_000, now)
        .await
        .unwrap()
}

/// A hit on counter `key` in a one-second window.
async fn hit(store: &dyn Store, key: &str, limit: u64, now: i64) -> CounterHit {
    store.hit_counter(key, limit, 1_000, now).await.unwrap()
}

fn dead_letter(attempts: u32, last_error: &str, failed_at: i64) -> DeadLetter {
    DeadLetter {
        id: format!("evt_{}", random_token(8)),
        session_id: "s".into(),
        body: "{}".into(),
        attempts,
        last_error: last_error.into(),
        failed_at,
    }
}

async fn all_dead_letters(store: &dyn Store) -> Vec<DeadLetter> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = store
            .list_dead_letters(after.as_deref(), 100)
            .await
            .unwrap();
        out.extend(page.items);
        match page.next {
            Some(n) => after = Some(n),
            None => return out,
        }
    }
}

/// Hits counter `key` (a one-minute window) `n` times at once, the i-th hit through
/// `store_for(i)`; how many of the hits were allowed.
pub async fn allowed_of_concurrent_hits(
    n: usize,
    key: &str,
    limit: u64,
    store_for: impl Fn(usize) -> Arc<dyn Store>,
) -> usize {
    let now = now_ms();
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let (store, key) = (store_for(i), key.to_owned());
            tokio::spawn(async move {
                store
                    .hit_counter(&key, limit, 60_000, now)
                    .await
                    .unwrap()
                    .allowed
            })
        })
        .collect();
    let mut allowed = 0;
    for t in tasks {
        allowed += usize::from(t.await.unwrap());
    }
    allowed
}

// ---------------------------------------------------------------- store

pub async fn store_keys_roundtrip_by_hash(store: Arc<dyn Store>) {
    let key = ApiKey::new(format!("k-{}", random_token(16)));
    let rec = ApiKeyRecord::new(&key, Role::User, "shop", now_ms());
    store.put_api_key(&rec).await.unwrap();
    let got = store.api_key_by_hash(&key.hash()).await.unwrap().unwrap();
    assert_eq!(got, rec);
    assert!(
        store
            .api_key_by_hash(&ApiKey::new("other").hash())
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .all_api_keys()
            .await
            .unwrap()
            .iter()
            .any(|k| k.id == rec.id)
    );
    assert!(store.delete_api_key(&rec.id).await.unwrap());
    assert!(!store.delete_api_key(&rec.id).await.unwrap());
    assert!(store.api_key_by_hash(&key.hash()).await.unwrap().is_none());
}

pub async fn store_session_create_is_conditional(store: Arc<dyn Store>) {
    let id = sid();
    let mut s = Session::new(id.clone(), KeyId::from_string("key_a"), now_ms());
    s.proxy = Some(wagate_core::ProxyUrl::parse("http://bob:pw@proxy.corp:3128", "proxy").unwrap());
    assert!(store.create_session(&s).await.unwrap());
    let mut other = s.clone();
    other.owner = KeyId::from_string("key_b");
    other.proxy = None;
    assert!(!store.create_session(&other).await.unwrap());
    let got = store.get_session(&id).await.unwrap().unwrap();
    assert_eq!(got.owner.as_str(), "key_a");
    // The proxy comes back whole, credentials included: the connection needs them.
    assert_eq!(got.proxy, s.proxy);
    assert_eq!(
        got.proxy.as_ref().map(wagate_core::ProxyUrl::expose),
        Some("http://bob:pw@proxy.corp:3128")
    );
}

pub async fn store_sessions_list_by_owner_update_and_delete(store: Arc<dyn Store>) {
    let owner = KeyId::from_string(format!("key_{}", random_token(8)));
    let (a, b) = (sid(), sid());
    store
        .create_session(&Session::new(a.clone(), owner.clone(), now_ms()))
        .await
        .unwrap();
    store
        .create_session(&Session::new(
            b.clone(),
            KeyId::from_string("key_else"),
            now_ms(),
        ))
        .await
        .unwrap();
    let mine = store.all_sessions(Some(&owner)).await.unwrap();
    assert_eq!(mine.iter().map(|s| &s.id).collect::<Vec<_>>(), vec![&a]);
    let all = store.all_sessions(None).await.unwrap();
    assert!(all.iter().any(|s| s.id == a) && all.iter().any(|s| s.id == b));

    assert!(
        store
            .set_session_state(&a, SessionStatus::Qr, Some("2@qr"), None, None)
            .await
            .unwrap()
    );
    assert_eq!(
        store.get_session(&a).await.unwrap().unwrap().qr.as_deref(),
        Some("2@qr")
    );
    let acc = Account {
        jid: Jid::parse("6281112223").unwrap(),
        name: Some("Shop".into()),
    };
    store
        .set_session_state(&a, SessionStatus::Open, None, None, Some(&acc))
        .await
        .unwrap();
    let s = store.get_session(&a).await.unwrap().unwrap();
    assert_eq!(s.status, SessionStatus::Open);
    assert_eq!(s.qr, None);
    assert_eq!(s.account, Some(acc));
    assert!(
        store
            .set_session_webhook(&a, Some("https://x.example/h"), Some("sec"))
            .await
            .unwrap()
    );
    let s = store.get_session(&a).await.unwrap().unwrap();
    assert_eq!(
        (s.webhook_url.as_deref(), s.webhook_secret.as_deref()),
        (Some("https://x.example/h"), Some("sec"))
    );
    assert!(s.events.is_default(), "every event by default");
    let only = EventFilter {
        disabled: true,
        only: Some(vec![EventKind::MessageReceived, EventKind::Qr]),
        own_messages: true,
        inbound_media: Some(wagate_core::inbound_media::InboundMediaMode::OnRequest),
        reject_calls: Some(true),
    };
    assert!(store.set_session_events(&a, &only).await.unwrap());
    let s = store.get_session(&a).await.unwrap().unwrap();
    assert_eq!(s.events, only);
    assert_eq!(
        s.webhook_url.as_deref(),
        Some("https://x.example/h"),
        "untouched"
    );
    assert!(
        store
            .set_session_events(&a, &EventFilter::default())
            .await
            .unwrap()
    );
    assert!(
        store
            .get_session(&a)
            .await
            .unwrap()
            .unwrap()
            .events
            .is_default()
    );

    assert!(store.delete_session(&a).await.unwrap());
    assert!(store.get_session(&a).await.unwrap().is_none());
    assert!(!store.set_session_events(&a, &only).await.unwrap());
    assert!(
        !store
            .set_session_state(&a, SessionStatus::Open, None, None, None)
            .await
            .unwrap()
    );
}

pub async fn store_leases_have_one_holder_until_they_expire(store: Arc<dyn Store>) {
    let id = sid();
    let t0 = now_ms();
    assert!(
        !lease(&*store, &id, "host-a", t0).await,
        "no lease on a missing session"
    );
    store
        .create_session(&Session::new(id.clone(), KeyId::from_string("key_a"), t0))
        .await
        .unwrap();
    assert!(lease(&*store, &id, "host-a", t0).await);
    assert!(!lease(&*store, &id, "host-b", t0 + 10).await);
    // Renewing moves the expiry: b still waits past the first expiry.
    assert!(lease(&*store, &id, "host-a", t0 + 500).await);
    assert!(!lease(&*store, &id, "host-b", t0 + 1_200).await);
    // Expired: anyone may take it, and then the old holder may not.
    assert!(lease(&*store, &id, "host-b", t0 + 1_500).await);
    assert!(!lease(&*store, &id, "host-a", t0 + 1_600).await);
    // Releasing works only for the holder.
    store.release_lease(&id, "host-a").await.unwrap();
    assert!(!lease(&*store, &id, "host-c", t0 + 1_700).await);
    store.release_lease(&id, "host-b").await.unwrap();
    assert!(lease(&*store, &id, "host-c", t0 + 1_800).await);
    // Leases do not disturb the session record.
    let s = store.get_session(&id).await.unwrap().unwrap();
    assert_eq!(s.owner.as_str(), "key_a");
}

pub async fn store_job_create_is_conditional_and_updates_state(store: Arc<dyn Store>) {
    let job = text_job(&sid());
    assert!(store.create_job(&job).await.unwrap());
    assert!(!store.create_job(&job).await.unwrap());
    assert_eq!(store.get_job(&job.id).await.unwrap().unwrap(), job);
    assert!(
        store
            .update_job(&job.id, JobState::Sending, 1, None, None)
            .await
            .unwrap()
    );
    store
        .update_job(&job.id, JobState::Failed, 2, Some("not on WhatsApp"), None)
        .await
        .unwrap();
    let got = store.get_job(&job.id).await.unwrap().unwrap();
    assert_eq!(
        (got.state, got.attempts, got.error.as_deref()),
        (JobState::Failed, 2, Some("not on WhatsApp"))
    );
    assert_eq!(got.wa_message_id, job.wa_message_id);

    // Several at once, in the order asked, a missing one as `None`.
    let other = text_job(&sid());
    assert!(store.create_job(&other).await.unwrap());
    let missing = JobId::from_string(format!("msg_gone{}", random_token(8)));
    let got = store
        .get_jobs(&[other.id.clone(), missing, job.id.clone()])
        .await
        .unwrap();
    let ids: Vec<Option<&str>> = got
        .iter()
        .map(|j| j.as_ref().map(|j| j.id.as_str()))
        .collect();
    assert_eq!(ids, [Some(other.id.as_str()), None, Some(job.id.as_str())]);
    assert_eq!(got[2].as_ref().unwrap().state, JobState::Failed);
}

pub async fn store_idempotency_returns_the_first_value_until_it_expires(store: Arc<dyn Store>) {
    let key = format!("idem:{}", random_token(8));
    let now = now_ms();
    assert_eq!(claim(&*store, &key, "first", now).await, None);
    assert_eq!(
        claim(&*store, &key, "second", now + 10).await.as_deref(),
        Some("first")
    );
    store.complete_idempotency(&key, "final").await.unwrap();
    assert_eq!(
        claim(&*store, &key, "third", now + 20).await.as_deref(),
        Some("final")
    );
    // Expired: claimable again.
    assert_eq!(claim(&*store, &key, "later", now + 5_000).await, None);
}

pub async fn store_counter_window_semantics(store: Arc<dyn Store>) {
    let key = format!("c:{}", random_token(8));
    let t0 = now_ms();
    let a = hit(&*store, &key, 2, t0).await;
    assert!(a.allowed && a.count == 1 && a.reset_at_ms == t0 + 1_000);
    let b = hit(&*store, &key, 2, t0 + 10).await;
    assert!(b.allowed && b.count == 2 && b.reset_at_ms == t0 + 1_000);
    let c = hit(&*store, &key, 2, t0 + 20).await;
    assert!(!c.allowed && c.count == 2 && c.reset_at_ms == t0 + 1_000);
    store.unhit_counter(&key, t0 + 30).await.unwrap();
    assert!(hit(&*store, &key, 2, t0 + 40).await.allowed);
    // A new window starts at the first hit after the old one ended.
    let d = hit(&*store, &key, 2, t0 + 1_500).await;
    assert!(d.allowed && d.count == 1 && d.reset_at_ms == t0 + 2_500);
    let zero = store
        .hit_counter(&format!("z:{}", random_token(8)), 0, 1_000, t0)
        .await
        .unwrap();
    assert!(!zero.allowed);
}

pub async fn store_concurrent_counter_hits_never_pass_the_limit(store: Arc<dyn Store>) {
    let key = format!("q:{}", random_token(8));
    let allowed = allowed_of_concurrent_hits(200, &key, 50, |_| store.clone()).await;
    assert_eq!(allowed, 50);
}

pub async fn store_config_and_dead_letters(store: Arc<dyn Store>) {
    let key = format!("cfg{}", random_token(6));
    assert_eq!(store.get_config(&key).await.unwrap(), None);
    store.set_config(&key, &json!({ "max": 5 })).await.unwrap();
    store.set_config(&key, &json!({ "max": 6 })).await.unwrap();
    assert_eq!(
        store.get_config(&key).await.unwrap(),
        Some(json!({ "max": 6 }))
    );
    assert_eq!(
        store.all_config().await.unwrap().get(&key),
        Some(&json!({ "max": 6 }))
    );

    let dl = dead_letter(8, "HTTP 500", now_ms());
    store.put_dead_letter(&dl).await.unwrap();
    assert!(all_dead_letters(store.as_ref()).await.contains(&dl));
    assert_eq!(
        store.take_dead_letter(&dl.id).await.unwrap(),
        Some(dl.clone())
    );
    assert_eq!(store.take_dead_letter(&dl.id).await.unwrap(), None);
    assert!(!all_dead_letters(store.as_ref()).await.contains(&dl));
}

pub async fn store_counter_unhit_never_goes_below_zero_nor_into_a_new_window(
    store: Arc<dyn Store>,
) {
    let key = format!("u:{}", random_token(8));
    let t0 = now_ms();
    // Taking back more than was counted must not bank spare hits.
    store.unhit_counter(&key, t0).await.unwrap();
    assert!(hit(&*store, &key, 1, t0).await.allowed);
    store.unhit_counter(&key, t0 + 1).await.unwrap();
    store.unhit_counter(&key, t0 + 2).await.unwrap();
    let a = hit(&*store, &key, 1, t0 + 3).await;
    assert!(a.allowed && a.count == 1);
    assert!(!hit(&*store, &key, 1, t0 + 4).await.allowed);
    // An unhit after the window ended leaves the next window alone.
    store.unhit_counter(&key, t0 + 1_000).await.unwrap();
    let b = hit(&*store, &key, 1, t0 + 1_100).await;
    assert!(b.allowed && b.count == 1 && b.reset_at_ms == t0 + 2_100);
    assert!(!hit(&*store, &key, 1, t0 + 1_200).await.allowed);
    // Keys are independent.
    let other = format!("u:{}", random_token(8));
    assert!(hit(&*store, &other, 1, t0 + 1_200).await.allowed);
}

pub async fn store_concurrent_conditional_writes_have_one_winner(store: Arc<dyn Store>) {
    let id = sid();
    let idem = format!("idem:{}", random_token(8));
    let now = now_ms();
    let mut sessions = Vec::new();
    let mut claims = Vec::new();
    for i in 0..20 {
        let (store, id, idem) = (store.clone(), id.clone(), idem.clone());
        sessions.push(tokio::spawn({
            let store = store.clone();
            async move {
                let s = Session::new(id, KeyId::from_string(format!("key_{i}")), now);
                store.create_session(&s).await.unwrap()
            }
        }));
        claims.push(tokio::spawn(async move {
            store
                .claim_idempotency(&idem, &format!("v{i}"), 60_000, now)
                .await
                .unwrap()
        }));
    }
    let mut created = 0;
    for t in sessions {
        created += usize::from(t.await.unwrap());
    }
    assert_eq!(created, 1);
    let mut winners = 0;
    let mut held = std::collections::HashSet::new();
    for t in claims {
        match t.await.unwrap() {
            None => winners += 1,
            Some(v) => {
                held.insert(v);
            }
        }
    }
    assert_eq!(winners, 1);
    assert_eq!(held.len(), 1, "every loser sees the winner's value");
}

pub async fn store_missing_records_report_false_or_none(store: Arc<dyn Store>) {
    let id = sid();
    assert!(store.get_session(&id).await.unwrap().is_none());
    assert!(!store.delete_session(&id).await.unwrap());
    assert!(
        !store
            .set_session_webhook(&id, Some("https://x.example"), None)
            .await
            .unwrap()
    );
    let job = text_job(&id);
    assert!(store.get_job(&job.id).await.unwrap().is_none());
    assert!(
        !store
            .update_job(&job.id, JobState::Sent, 1, None, Some(now_ms()))
            .await
            .unwrap()
    );
    assert!(
        !store
            .delete_api_key(&KeyId::from_string(format!("key_{}", random_token(8))))
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .take_dead_letter(&format!("evt_{}", random_token(8)))
            .await
            .unwrap(),
        None
    );
}

pub async fn store_dead_letters_list_honours_the_limit(store: Arc<dyn Store>) {
    let base = now_ms();
    for i in 0..3 {
        let dl = dead_letter(1, "timeout", base + i);
        store.put_dead_letter(&dl).await.unwrap();
    }
    assert_eq!(
        store.list_dead_letters(None, 2).await.unwrap().items.len(),
        2
    );
}

pub async fn store_records_are_replaced_and_expire(store: Arc<dyn Store>) {
    let key = format!("query:{}", wagate_core::random_token(8));
    assert_eq!(store.get_record(&key, 1_000).await.unwrap(), None);
    store.put_record(&key, "first", 2_000).await.unwrap();
    assert_eq!(
        store.get_record(&key, 1_000).await.unwrap().as_deref(),
        Some("first")
    );
    store.put_record(&key, "second", 3_000).await.unwrap();
    assert_eq!(
        store.get_record(&key, 2_500).await.unwrap().as_deref(),
        Some("second"),
        "replaced, with the new expiry"
    );
    assert_eq!(
        store.get_record(&key, 3_000).await.unwrap(),
        None,
        "expired"
    );
    // Records and idempotency keys do not see each other.
    assert_eq!(
        store
            .claim_idempotency(&key, "idem", 10_000, 1_000)
            .await
            .unwrap(),
        None
    );
    store.put_record(&key, "third", 5_000).await.unwrap();
    assert_eq!(
        store
            .claim_idempotency(&key, "again", 10_000, 1_000)
            .await
            .unwrap()
            .as_deref(),
        Some("idem")
    );
}
