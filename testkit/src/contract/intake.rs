//! The intake port (`wagate_core::ports::Intake`) on a store and the queue of the same
//! backend: an admission records and queues its jobs and charges its limits, or, refused by a
//! limit, leaves no job, no queue entry and no charge behind. `in_one_step`: the intake is one
//! transaction, so a session whose queue is gone leaves no job record either (step by step,
//! the job is recorded before the queue says it is gone, as the send path always allowed).

use std::sync::Arc;
use std::time::Duration;

use wagate_core::clock::now_ms;
use wagate_core::policy::{Quota, RateLimit, cooldown_charge, quota_charge, rate_charge};
use wagate_core::ports::{Admission, Admitted, Intake, Queue, QueueSpec, Store, names};
use wagate_core::{Jid, KeyId, SessionId, random_token};

pub async fn intake_admits_all_or_nothing(
    intake: Arc<dyn Intake>,
    store: Arc<dyn Store>,
    queue: Arc<dyn Queue>,
    in_one_step: bool,
) {
    let session = SessionId::parse(&format!("in{}", random_token(8).to_lowercase())).unwrap();
    let key = KeyId::from_string(format!("key_{}", random_token(8)));
    let q = names::send(&session);
    queue.create(&q, QueueSpec::FIFO).await.unwrap();
    let now = now_ms();
    let to = Jid::parse("628123456789").unwrap();
    let quota = Quota {
        limit: 3,
        window_ms: 60_000,
    };
    let admission = |n: u64, cooldown_ms: i64| Admission {
        rate: None,
        quota: quota_charge(&key, quota, n),
        cooldown: cooldown_charge(&session, &to, cooldown_ms),
        jobs: (0..n)
            .map(|i| super::text_job_at(&session, now + i as i64))
            .collect(),
        session: None,
        now_ms: now,
    };

    // Two sends in one request: both recorded and queued in order, two of three taken.
    let two = admission(2, 0);
    let Admitted::Queued { quota: Some(st) } = intake.admit(&two).await.unwrap().admitted else {
        panic!("two sends within the quota are queued");
    };
    assert_eq!((st.allowed, st.limit, st.remaining), (true, 3, 1));
    for job in &two.jobs {
        assert!(store.get_job(&job.id).await.unwrap().is_some());
    }
    let got = queue
        .receive(&q, 10, Duration::from_secs(30), Duration::from_secs(1))
        .await
        .unwrap();
    let bodies: Vec<&str> = got.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(bodies, [two.jobs[0].id.as_str(), two.jobs[1].id.as_str()]);
    for m in &got {
        queue.ack(&q, &m.receipt).await.unwrap();
    }

    // Two more do not fit: nothing is written, and the one left is still there.
    let over = admission(2, 0);
    assert!(matches!(
        intake.admit(&over).await.unwrap().admitted,
        Admitted::OverQuota(st) if !st.allowed
    ));
    assert!(store.get_job(&over.jobs[0].id).await.unwrap().is_none());
    assert_eq!(queue.depth(&q).await.unwrap(), 0);

    // With a recipient cooldown: the first send goes (the last of the quota) …
    let first = admission(1, 60_000);
    let Admitted::Queued { quota: Some(st) } = intake.admit(&first).await.unwrap().admitted else {
        panic!("the first send to a recipient is queued");
    };
    assert_eq!(st.remaining, 0);
    // … and after a refund, a second one to the same recipient is cooling down: the quota it
    // took is given back, nothing is recorded.
    let quota_key = quota_charge(&key, quota, 1).unwrap().key;
    store.unhit_counter(&quota_key, now).await.unwrap();
    let second = admission(1, 60_000);
    assert!(matches!(
        intake.admit(&second).await.unwrap().admitted,
        Admitted::CoolingDown(st) if !st.allowed
    ));
    assert!(store.get_job(&second.jobs[0].id).await.unwrap().is_none());
    let freed = admission(1, 0);
    assert!(
        matches!(
            intake.admit(&freed).await.unwrap().admitted,
            Admitted::Queued { quota: Some(st) } if st.remaining == 0
        ),
        "the cooldown's refusal gave its quota back"
    );

    // A session whose queue is gone: nothing recorded, nothing charged.
    let gone = SessionId::parse(&format!("go{}", random_token(8).to_lowercase())).unwrap();
    let other = KeyId::from_string(format!("key_{}", random_token(8)));
    let orphan = Admission {
        rate: None,
        quota: quota_charge(&other, quota, 1),
        cooldown: None,
        jobs: vec![super::text_job_at(&gone, now)],
        session: None,
        now_ms: now,
    };
    assert_eq!(
        intake.admit(&orphan).await.unwrap().admitted,
        Admitted::SessionGone
    );
    if in_one_step {
        assert!(store.get_job(&orphan.jobs[0].id).await.unwrap().is_none());
    }

    rate_is_charged_first_and_kept(intake.as_ref(), store.as_ref(), queue.as_ref()).await;
}

/// The rate hit an admission carries: charged before anything else, kept whatever the rest
/// decides (the request was made), and when refused nothing else is written or charged.
async fn rate_is_charged_first_and_kept(intake: &dyn Intake, store: &dyn Store, queue: &dyn Queue) {
    let session = SessionId::parse(&format!("rt{}", random_token(8).to_lowercase())).unwrap();
    let key = KeyId::from_string(format!("key_{}", random_token(8)));
    queue
        .create(&names::send(&session), QueueSpec::FIFO)
        .await
        .unwrap();
    let now = now_ms();
    let rate = RateLimit {
        window_ms: 60_000,
        max: 2,
    };
    let quota = Quota {
        limit: 1,
        window_ms: 60_000,
    };
    let admission = |at: i64| Admission {
        rate: Some(rate_charge(&key, rate)),
        quota: quota_charge(&key, quota, 1),
        cooldown: None,
        jobs: vec![super::text_job_at(&session, at)],
        session: None,
        now_ms: now,
    };

    let first = intake.admit(&admission(now)).await.unwrap();
    assert!(matches!(first.admitted, Admitted::Queued { .. }));
    let st = first.rate.expect("the rate status of a charged admission");
    assert_eq!((st.allowed, st.limit, st.remaining), (true, 2, 1));

    // Over the quota: refused, and the request still took its rate hit.
    let over = intake.admit(&admission(now + 1)).await.unwrap();
    assert!(matches!(over.admitted, Admitted::OverQuota(_)));
    assert_eq!(over.rate.map(|st| st.remaining), Some(0));

    // Over the rate limit: refused before the quota, nothing written.
    store
        .unhit_counter(&quota_charge(&key, quota, 1).unwrap().key, now)
        .await
        .unwrap();
    let limited = admission(now + 2);
    let verdict = intake.admit(&limited).await.unwrap();
    assert_eq!(verdict.admitted, Admitted::RateLimited);
    assert!(verdict.rate.is_some_and(|st| !st.allowed));
    assert!(store.get_job(&limited.jobs[0].id).await.unwrap().is_none());
    let freed = Admission {
        rate: None,
        ..admission(now + 3)
    };
    assert!(
        matches!(
            intake.admit(&freed).await.unwrap().admitted,
            Admitted::Queued { quota: Some(st) } if st.remaining == 0
        ),
        "the refused rate hit took nothing from the quota"
    );
}
