//! Contract suites for the ports, written once and run against every adapter family (the
//! embedded adapters under plain `cargo test`, the cloud adapters against a local emulator).
//! Each case is a public async function; the `*_contract_tests!` macros expand them into one
//! `#[tokio::test]` each, given an expression that makes a fresh adapter.
#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde_json::json;

use crate::clock::now_ms;
use crate::ports::{Blobs, DeadLetter, PortError, Queue, QueueSpec, Store};
use crate::{
    Account, ApiKey, ApiKeyRecord, Jid, Job, JobState, KeyId, MessageContent, OutboundMessage,
    Role, Session, SessionId, SessionStatus, random_token,
};

fn sid() -> SessionId {
    SessionId::parse(&format!("s{}", random_token(10))).unwrap()
}

fn text_job(session: &SessionId) -> Job {
    Job::new(
        session.clone(),
        KeyId::from_string("key_owner"),
        Jid::parse("628123456789").unwrap(),
        OutboundMessage::new(MessageContent::Text {
            text: "hi".into(),
            mentions: vec![],
        }),
        now_ms(),
    )
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
            .list_api_keys()
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
    s.proxy = Some(crate::ProxyUrl::parse("http://bob:pw@proxy.corp:3128", "proxy").unwrap());
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
        got.proxy.as_ref().map(crate::ProxyUrl::expose),
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
    let mine = store.list_sessions(Some(&owner)).await.unwrap();
    assert_eq!(mine.iter().map(|s| &s.id).collect::<Vec<_>>(), vec![&a]);
    let all = store.list_sessions(None).await.unwrap();
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

    assert!(store.delete_session(&a).await.unwrap());
    assert!(store.get_session(&a).await.unwrap().is_none());
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
        !store.acquire_lease(&id, "host-a", 1_000, t0).await.unwrap(),
        "no lease on a missing session"
    );
    store
        .create_session(&Session::new(id.clone(), KeyId::from_string("key_a"), t0))
        .await
        .unwrap();
    assert!(store.acquire_lease(&id, "host-a", 1_000, t0).await.unwrap());
    assert!(
        !store
            .acquire_lease(&id, "host-b", 1_000, t0 + 10)
            .await
            .unwrap()
    );
    // Renewing moves the expiry: b still waits past the first expiry.
    assert!(
        store
            .acquire_lease(&id, "host-a", 1_000, t0 + 500)
            .await
            .unwrap()
    );
    assert!(
        !store
            .acquire_lease(&id, "host-b", 1_000, t0 + 1_200)
            .await
            .unwrap()
    );
    // Expired: anyone may take it, and then the old holder may not.
    assert!(
        store
            .acquire_lease(&id, "host-b", 1_000, t0 + 1_500)
            .await
            .unwrap()
    );
    assert!(
        !store
            .acquire_lease(&id, "host-a", 1_000, t0 + 1_600)
            .await
            .unwrap()
    );
    // Releasing works only for the holder.
    store.release_lease(&id, "host-a").await.unwrap();
    assert!(
        !store
            .acquire_lease(&id, "host-c", 1_000, t0 + 1_700)
            .await
            .unwrap()
    );
    store.release_lease(&id, "host-b").await.unwrap();
    assert!(
        store
            .acquire_lease(&id, "host-c", 1_000, t0 + 1_800)
            .await
            .unwrap()
    );
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
}

pub async fn store_idempotency_returns_the_first_value_until_it_expires(store: Arc<dyn Store>) {
    let key = format!("idem:{}", random_token(8));
    let now = now_ms();
    assert_eq!(
        store
            .claim_idempotency(&key, "first", 1_000, now)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .claim_idempotency(&key, "second", 1_000, now + 10)
            .await
            .unwrap()
            .as_deref(),
        Some("first")
    );
    store.complete_idempotency(&key, "final").await.unwrap();
    assert_eq!(
        store
            .claim_idempotency(&key, "third", 1_000, now + 20)
            .await
            .unwrap()
            .as_deref(),
        Some("final")
    );
    // Expired: claimable again.
    assert_eq!(
        store
            .claim_idempotency(&key, "later", 1_000, now + 5_000)
            .await
            .unwrap(),
        None
    );
}

pub async fn store_counter_window_semantics(store: Arc<dyn Store>) {
    let key = format!("c:{}", random_token(8));
    let t0 = now_ms();
    let a = store.hit_counter(&key, 2, 1_000, t0).await.unwrap();
    assert!(a.allowed && a.count == 1 && a.reset_at_ms == t0 + 1_000);
    let b = store.hit_counter(&key, 2, 1_000, t0 + 10).await.unwrap();
    assert!(b.allowed && b.count == 2 && b.reset_at_ms == t0 + 1_000);
    let c = store.hit_counter(&key, 2, 1_000, t0 + 20).await.unwrap();
    assert!(!c.allowed && c.count == 2 && c.reset_at_ms == t0 + 1_000);
    store.unhit_counter(&key, t0 + 30).await.unwrap();
    assert!(
        store
            .hit_counter(&key, 2, 1_000, t0 + 40)
            .await
            .unwrap()
            .allowed
    );
    // A new window starts at the first hit after the old one ended.
    let d = store.hit_counter(&key, 2, 1_000, t0 + 1_500).await.unwrap();
    assert!(d.allowed && d.count == 1 && d.reset_at_ms == t0 + 2_500);
    let zero = store
        .hit_counter(&format!("z:{}", random_token(8)), 0, 1_000, t0)
        .await
        .unwrap();
    assert!(!zero.allowed);
}

pub async fn store_concurrent_counter_hits_never_pass_the_limit(store: Arc<dyn Store>) {
    let key = format!("q:{}", random_token(8));
    let now = now_ms();
    let mut tasks = Vec::new();
    for _ in 0..200 {
        let store = store.clone();
        let key = key.clone();
        tasks.push(tokio::spawn(async move {
            store
                .hit_counter(&key, 50, 60_000, now)
                .await
                .unwrap()
                .allowed
        }));
    }
    let mut allowed = 0;
    for t in tasks {
        allowed += usize::from(t.await.unwrap());
    }
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

    let dl = DeadLetter {
        id: format!("evt_{}", random_token(8)),
        session_id: "s".into(),
        body: "{}".into(),
        attempts: 8,
        last_error: "HTTP 500".into(),
        failed_at: now_ms(),
    };
    store.put_dead_letter(&dl).await.unwrap();
    assert!(store.list_dead_letters(100).await.unwrap().contains(&dl));
    assert_eq!(
        store.take_dead_letter(&dl.id).await.unwrap(),
        Some(dl.clone())
    );
    assert_eq!(store.take_dead_letter(&dl.id).await.unwrap(), None);
    assert!(!store.list_dead_letters(100).await.unwrap().contains(&dl));
}

pub async fn store_counter_unhit_never_goes_below_zero_nor_into_a_new_window(
    store: Arc<dyn Store>,
) {
    let key = format!("u:{}", random_token(8));
    let t0 = now_ms();
    // Taking back more than was counted must not bank spare hits.
    store.unhit_counter(&key, t0).await.unwrap();
    assert!(store.hit_counter(&key, 1, 1_000, t0).await.unwrap().allowed);
    store.unhit_counter(&key, t0 + 1).await.unwrap();
    store.unhit_counter(&key, t0 + 2).await.unwrap();
    let a = store.hit_counter(&key, 1, 1_000, t0 + 3).await.unwrap();
    assert!(a.allowed && a.count == 1);
    assert!(
        !store
            .hit_counter(&key, 1, 1_000, t0 + 4)
            .await
            .unwrap()
            .allowed
    );
    // An unhit after the window ended leaves the next window alone.
    store.unhit_counter(&key, t0 + 1_000).await.unwrap();
    let b = store.hit_counter(&key, 1, 1_000, t0 + 1_100).await.unwrap();
    assert!(b.allowed && b.count == 1 && b.reset_at_ms == t0 + 2_100);
    assert!(
        !store
            .hit_counter(&key, 1, 1_000, t0 + 1_200)
            .await
            .unwrap()
            .allowed
    );
    // Keys are independent.
    let other = format!("u:{}", random_token(8));
    assert!(
        store
            .hit_counter(&other, 1, 1_000, t0 + 1_200)
            .await
            .unwrap()
            .allowed
    );
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
        store
            .put_dead_letter(&DeadLetter {
                id: format!("evt_{}", random_token(8)),
                session_id: "s".into(),
                body: "{}".into(),
                attempts: 1,
                last_error: "timeout".into(),
                failed_at: base + i,
            })
            .await
            .unwrap();
    }
    assert_eq!(store.list_dead_letters(2).await.unwrap().len(), 2);
}

// ---------------------------------------------------------------- queue

fn qname(prefix: &str) -> String {
    format!("{prefix}-{}", random_token(8).to_lowercase())
}

const VIS: Duration = Duration::from_secs(30);
const NOW: Duration = Duration::ZERO;

pub async fn queue_send_receive_ack(queue: Arc<dyn Queue>) {
    let q = qname("t");
    queue.create(&q, QueueSpec::STANDARD).await.unwrap();
    queue.create(&q, QueueSpec::STANDARD).await.unwrap();
    queue.send(&q, "m1", "one").await.unwrap();
    assert_eq!(queue.depth(&q).await.unwrap(), 1);
    let got = queue.receive(&q, 10, VIS, NOW).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!((got[0].body.as_str(), got[0].receive_count), ("one", 1));
    // In flight: invisible, still counted.
    assert!(queue.receive(&q, 10, VIS, NOW).await.unwrap().is_empty());
    assert_eq!(queue.depth(&q).await.unwrap(), 1);
    queue.ack(&q, &got[0].receipt).await.unwrap();
    assert_eq!(queue.depth(&q).await.unwrap(), 0);
}

pub async fn queue_dedup_ignores_a_repeated_id(queue: Arc<dyn Queue>) {
    let q = qname("d");
    queue.create(&q, QueueSpec::FIFO).await.unwrap();
    queue.send(&q, "same", "first").await.unwrap();
    queue.send(&q, "same", "second").await.unwrap();
    assert_eq!(queue.depth(&q).await.unwrap(), 1);
    let got = queue.receive(&q, 10, VIS, NOW).await.unwrap();
    assert_eq!(got[0].body, "first");
    queue.ack(&q, &got[0].receipt).await.unwrap();
    assert_eq!(queue.depth(&q).await.unwrap(), 0);
    // Whether an id is still remembered after its ack differs (SQS: five minutes from the
    // send; moto: not at all), so wagate never relies on it: a replay re-enqueues only jobs
    // that are not final, and a final job is acked before anything could replay it.
}

pub async fn queue_fifo_head_in_flight_blocks_the_rest(queue: Arc<dyn Queue>) {
    let q = qname("f");
    queue.create(&q, QueueSpec::FIFO).await.unwrap();
    for i in 0..3 {
        queue
            .send(&q, &format!("m{i}"), &format!("{i}"))
            .await
            .unwrap();
    }
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

pub async fn queue_visibility_timeout_redelivers_with_a_new_receipt(queue: Arc<dyn Queue>) {
    let q = qname("v");
    queue.create(&q, QueueSpec::STANDARD).await.unwrap();
    queue.send(&q, "m", "x").await.unwrap();
    // Whole seconds: SQS counts visibility in seconds.
    let first = queue
        .receive(&q, 1, Duration::from_secs(1), NOW)
        .await
        .unwrap()
        .remove(0);
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let second = queue.receive(&q, 1, VIS, NOW).await.unwrap().remove(0);
    assert_eq!(second.receive_count, 2);
    assert_ne!(second.receipt, first.receipt);
    // What a stale receipt's ack does differs too (SQS may still delete): the worker acks only
    // after the job is final, when deleting a redelivered copy is harmless.
    queue.ack(&q, &second.receipt).await.unwrap();
    assert_eq!(queue.depth(&q).await.unwrap(), 0);
}

pub async fn queue_nack_delays_and_extend_keeps_hidden(queue: Arc<dyn Queue>) {
    let q = qname("n");
    queue.create(&q, QueueSpec::STANDARD).await.unwrap();
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
    let q = qname("l");
    queue.create(&q, QueueSpec::FIFO).await.unwrap();
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
    let q = qname("s");
    queue.create(&q, QueueSpec::STANDARD).await.unwrap();
    for i in 0..5 {
        queue.send(&q, &format!("m{i}"), "x").await.unwrap();
    }
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
    let q = qname("b");
    queue.create(&q, QueueSpec::FIFO).await.unwrap();
    for i in 0..5 {
        queue
            .send(&q, &format!("m{i}"), &format!("{i}"))
            .await
            .unwrap();
    }
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
    let q = qname("r");
    queue.create(&q, QueueSpec::STANDARD).await.unwrap();
    queue.send(&q, "m", "x").await.unwrap();
    // Whole seconds: SQS counts visibility in seconds.
    let first = queue
        .receive(&q, 1, Duration::from_secs(1), NOW)
        .await
        .unwrap()
        .remove(0);
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let second = queue.receive(&q, 1, VIS, NOW).await.unwrap().remove(0);
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
    assert_eq!(queue.depth(&q).await.unwrap(), 1);
    queue.ack(&q, &second.receipt).await.unwrap();
    assert_eq!(queue.depth(&q).await.unwrap(), 0);
}

pub async fn queue_depth_counts_in_flight_and_delayed_messages(queue: Arc<dyn Queue>) {
    let q = qname("c");
    queue.create(&q, QueueSpec::STANDARD).await.unwrap();
    assert_eq!(queue.depth(&q).await.unwrap(), 0);
    for i in 0..3 {
        queue.send(&q, &format!("m{i}"), "x").await.unwrap();
    }
    let got = queue.receive(&q, 2, VIS, NOW).await.unwrap();
    assert_eq!(got.len(), 2);
    queue
        .nack(&q, &got[0].receipt, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(queue.depth(&q).await.unwrap(), 3);
    queue.ack(&q, &got[1].receipt).await.unwrap();
    assert_eq!(queue.depth(&q).await.unwrap(), 2);
}

pub async fn queue_delete_drops_every_message(queue: Arc<dyn Queue>) {
    let q = qname("x");
    queue.create(&q, QueueSpec::FIFO).await.unwrap();
    for i in 0..3 {
        queue.send(&q, &format!("m{i}"), "old").await.unwrap();
    }
    queue.receive(&q, 1, VIS, NOW).await.unwrap();
    queue.delete(&q).await.unwrap();
    assert!(matches!(
        queue.receive(&q, 1, VIS, NOW).await,
        Err(PortError::NotFound(_))
    ));
    // Created again, it starts empty: nothing old, visible or in flight, is left.
    queue.create(&q, QueueSpec::FIFO).await.unwrap();
    assert_eq!(queue.depth(&q).await.unwrap(), 0);
    queue.send(&q, "new", "new").await.unwrap();
    let got = queue.receive(&q, 10, VIS, NOW).await.unwrap();
    assert_eq!(
        got.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(),
        ["new"]
    );
}

// ---------------------------------------------------------------- blobs

pub async fn blobs_put_get_overwrite_delete_list(blobs: Arc<dyn Blobs>) {
    let p = format!("t{}", random_token(8));
    let k1 = format!("{p}/a/one.bin");
    blobs.put(&k1, Bytes::from_static(b"one")).await.unwrap();
    blobs.put(&k1, Bytes::from_static(b"uno")).await.unwrap();
    blobs
        .put(&format!("{p}/b.txt"), Bytes::from_static(b"b"))
        .await
        .unwrap();
    assert_eq!(
        blobs.get(&k1).await.unwrap().unwrap(),
        Bytes::from_static(b"uno")
    );
    assert_eq!(
        blobs.list(&format!("{p}/")).await.unwrap(),
        vec![format!("{p}/a/one.bin"), format!("{p}/b.txt")]
    );
    blobs.delete(&k1).await.unwrap();
    blobs.delete(&k1).await.unwrap();
    assert!(blobs.get(&k1).await.unwrap().is_none());
}

pub async fn blobs_refuse_keys_that_could_escape(blobs: Arc<dyn Blobs>) {
    for bad in [
        "../x", "/abs", "a//b", "", "a/../b", "a/./b", "sp ace", "..", "a/", "a\\b",
    ] {
        assert!(
            blobs.put(bad, Bytes::from_static(b"x")).await.is_err(),
            "put {bad:?}"
        );
        assert!(blobs.get(bad).await.is_err(), "get {bad:?}");
        assert!(blobs.delete(bad).await.is_err(), "delete {bad:?}");
    }
}

pub async fn blobs_list_matches_by_string_prefix_and_missing_keys_are_none(blobs: Arc<dyn Blobs>) {
    let p = format!("t{}", random_token(8));
    let big = Bytes::from(vec![7u8; 1 << 20]);
    for k in [
        format!("{p}/a/one.bin"),
        format!("{p}/ab.txt"),
        format!("{p}x/c"),
    ] {
        blobs.put(&k, big.clone()).await.unwrap();
    }
    assert_eq!(blobs.get(&format!("{p}/ab.txt")).await.unwrap(), Some(big));
    assert_eq!(
        blobs.list(&format!("{p}/a")).await.unwrap(),
        vec![format!("{p}/a/one.bin"), format!("{p}/ab.txt")]
    );
    assert_eq!(blobs.list(&format!("{p}/")).await.unwrap().len(), 2);
    assert_eq!(blobs.list(&p).await.unwrap().len(), 3);
    assert!(blobs.list(&format!("{p}/zz")).await.unwrap().is_empty());
    assert!(blobs.get(&format!("{p}/nope")).await.unwrap().is_none());
    // A "directory" of other keys is not a blob.
    assert!(blobs.get(&format!("{p}/a")).await.unwrap().is_none());
    blobs.delete(&format!("{p}/nope")).await.unwrap();
}

pub async fn blobs_streamed_writes_appear_whole_on_finish_and_never_on_abort(
    blobs: Arc<dyn Blobs>,
) {
    let p = format!("t{}", random_token(8));
    // 13 MiB in 1 MiB chunks: more than one S3 part, and a last part smaller than the rest.
    let chunk: Vec<u8> = (0..1u32 << 20).map(|i| (i % 251) as u8).collect();
    let key = format!("{p}/big.bin");
    let mut w = blobs.writer(&key).await.unwrap();
    for _ in 0..13 {
        w.write(Bytes::from(chunk.clone())).await.unwrap();
    }
    assert!(
        blobs.get(&key).await.unwrap().is_none(),
        "visible before finish"
    );
    assert_eq!(w.finish().await.unwrap(), 13 << 20);
    let got = blobs.get(&key).await.unwrap().unwrap();
    assert_eq!(got.len(), 13 << 20);
    assert!(got.chunks(1 << 20).all(|c| c == chunk.as_slice()));
    assert_eq!(blobs.size(&key).await.unwrap(), Some(13 << 20));
    assert_eq!(
        blobs.get_prefix(&key, 8).await.unwrap().unwrap().as_ref(),
        &chunk[..8]
    );

    let small = format!("{p}/small.txt");
    let mut w = blobs.writer(&small).await.unwrap();
    w.write(Bytes::from_static(b"hello ")).await.unwrap();
    w.write(Bytes::from_static(b"world")).await.unwrap();
    assert_eq!(w.finish().await.unwrap(), 11);
    assert_eq!(
        blobs.get(&small).await.unwrap().unwrap().as_ref(),
        b"hello world"
    );
    assert_eq!(
        blobs
            .get_prefix(&small, 100)
            .await
            .unwrap()
            .unwrap()
            .as_ref(),
        b"hello world"
    );

    let aborted = format!("{p}/aborted.bin");
    let mut w = blobs.writer(&aborted).await.unwrap();
    w.write(Bytes::from(chunk.clone())).await.unwrap();
    w.abort().await;
    let dropped = format!("{p}/dropped.bin");
    let mut w = blobs.writer(&dropped).await.unwrap();
    w.write(Bytes::from(chunk.clone())).await.unwrap();
    drop(w);
    assert!(blobs.get(&aborted).await.unwrap().is_none());
    assert!(blobs.get(&dropped).await.unwrap().is_none());
    assert_eq!(blobs.size(&dropped).await.unwrap(), None);
    assert!(blobs.get_prefix(&dropped, 4).await.unwrap().is_none());
    assert_eq!(
        blobs.list(&format!("{p}/")).await.unwrap(),
        vec![key, small],
        "an aborted or dropped write leaves no blob"
    );
    assert!(blobs.writer("../escape").await.is_err());
}

/// Expands every store case into a `#[tokio::test]`; `$make` is an async expression that
/// yields a fresh `Arc<dyn Store>`.
#[macro_export]
macro_rules! store_contract_tests {
    ($make:expr) => {
        $crate::contract_cases!($make; store_keys_roundtrip_by_hash, store_session_create_is_conditional,
            store_sessions_list_by_owner_update_and_delete, store_job_create_is_conditional_and_updates_state,
            store_idempotency_returns_the_first_value_until_it_expires, store_counter_window_semantics,
            store_concurrent_counter_hits_never_pass_the_limit, store_config_and_dead_letters,
            store_counter_unhit_never_goes_below_zero_nor_into_a_new_window,
            store_concurrent_conditional_writes_have_one_winner,
            store_missing_records_report_false_or_none, store_dead_letters_list_honours_the_limit,
            store_leases_have_one_holder_until_they_expire);
    };
}

/// As [`store_contract_tests!`], for `Arc<dyn Queue>`.
#[macro_export]
macro_rules! queue_contract_tests {
    ($make:expr) => {
        $crate::contract_cases!($make; queue_send_receive_ack, queue_dedup_ignores_a_repeated_id,
            queue_fifo_head_in_flight_blocks_the_rest, queue_visibility_timeout_redelivers_with_a_new_receipt,
            queue_nack_delays_and_extend_keeps_hidden, queue_long_poll_returns_when_a_message_arrives,
            queue_standard_delivers_several_and_missing_queues_are_not_found,
            queue_fifo_batch_comes_in_send_order, queue_stale_receipts_do_not_touch_a_redelivered_message,
            queue_depth_counts_in_flight_and_delayed_messages, queue_delete_drops_every_message);
    };
}

/// As [`store_contract_tests!`], for `Arc<dyn Blobs>`.
#[macro_export]
macro_rules! blobs_contract_tests {
    ($make:expr) => {
        $crate::contract_cases!($make; blobs_put_get_overwrite_delete_list, blobs_refuse_keys_that_could_escape,
            blobs_list_matches_by_string_prefix_and_missing_keys_are_none,
            blobs_streamed_writes_appear_whole_on_finish_and_never_on_abort);
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! contract_cases {
    ($make:expr; $($case:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                let adapter = $make.await;
                $crate::contract::$case(adapter).await;
            }
        )+
    };
}
