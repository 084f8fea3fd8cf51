//! The port contract suites on the embedded adapters, plus what only the embedded backend
//! promises: durability across a reopen, several handles (processes) on one file, schema
//! versioning, blobs confined to their directory.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use wagate_core::clock::now_ms;
use wagate_core::ports::{Blobs, DeadLetter, Queue, QueueSpec, Store};
use wagate_core::{
    ApiKey, ApiKeyRecord, Jid, Job, JobState, KeyId, MessageContent, OutboundMessage, Role,
    Session, SessionId,
};
use wagate_local::{LocalBackend, LocalOptions};
use wagate_testkit::contract::allowed_of_concurrent_hits;
use wagate_testkit::port_contract_tests;

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

port_contract_tests!(store: store(), queue: queue(), blobs: blobs());

const VIS: Duration = Duration::from_secs(30);

/// How long `n` runs of `op` take, one after the other.
async fn timed(n: usize, mut op: impl AsyncFnMut(usize)) -> Duration {
    let t = std::time::Instant::now();
    for i in 0..n {
        op(i).await;
    }
    t.elapsed()
}

#[tokio::test]
async fn everything_survives_a_reopen_and_in_flight_messages_come_back() {
    let dir = tempfile::TempDir::new().unwrap();
    let id = SessionId::parse("keep").unwrap();
    let owner = KeyId::from_string("key_x");
    let key = ApiKey::new("a-key-that-survives");
    let key_rec = ApiKeyRecord::new(&key, Role::User, "shop", now_ms());
    let job = Job::new(
        id.clone(),
        owner.clone(),
        Jid::parse("628123456789").unwrap(),
        OutboundMessage::new(MessageContent::Text {
            text: "kept".into(),
            mentions: vec![],
        }),
        now_ms(),
    );
    let dl = DeadLetter {
        id: "evt_kept".into(),
        session_id: "keep".into(),
        body: "{}".into(),
        attempts: 8,
        last_error: "HTTP 500".into(),
        failed_at: now_ms(),
    };
    {
        let b = LocalBackend::open(dir.path(), LocalOptions::default()).unwrap();
        let store = b.store();
        store.put_api_key(&key_rec).await.unwrap();
        store
            .create_session(&Session::new(id.clone(), owner.clone(), now_ms()))
            .await
            .unwrap();
        store.create_job(&job).await.unwrap();
        store
            .update_job(&job.id, JobState::Sending, 1, None, None)
            .await
            .unwrap();
        store
            .claim_idempotency("idem:kept", "job-1", 60_000, now_ms())
            .await
            .unwrap();
        store.put_dead_letter(&dl).await.unwrap();
        store
            .set_config(
                "rateLimit",
                &serde_json::json!({ "windowMs": 1000, "max": 3 }),
            )
            .await
            .unwrap();
        store
            .hit_counter("rl:key_x", 10, 60_000, now_ms())
            .await
            .unwrap();
        b.blobs()
            .put("creds/keep.json", Bytes::from_static(b"{}"))
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
    let store = b.store();
    assert_eq!(
        store.api_key_by_hash(&key.hash()).await.unwrap(),
        Some(key_rec)
    );
    assert_eq!(store.get_session(&id).await.unwrap().unwrap().owner, owner);
    let kept = store.get_job(&job.id).await.unwrap().unwrap();
    assert_eq!(
        (kept.state, kept.message, kept.wa_message_id),
        (JobState::Sending, job.message, job.wa_message_id)
    );
    assert_eq!(
        store
            .claim_idempotency("idem:kept", "other", 60_000, now_ms())
            .await
            .unwrap()
            .as_deref(),
        Some("job-1")
    );
    assert_eq!(store.take_dead_letter("evt_kept").await.unwrap(), Some(dl));
    assert_eq!(
        store.get_config("rateLimit").await.unwrap().unwrap()["max"],
        3
    );
    assert_eq!(
        store
            .hit_counter("rl:key_x", 10, 60_000, now_ms())
            .await
            .unwrap()
            .count,
        2
    );
    assert_eq!(
        b.blobs().get("creds/keep.json").await.unwrap().as_deref(),
        Some(&b"{}"[..])
    );
    assert_eq!(b.queue().depth("send-keep").await.unwrap(), 2);
    // job-1 was in flight when the process went away; FIFO order holds job-2 behind it until
    // release makes it deliverable at once.
    assert!(
        b.queue()
            .receive("send-keep", 1, VIS, Duration::ZERO)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(b.release_inflight().await.unwrap(), 1);
    let again = b
        .queue()
        .receive("send-keep", 1, VIS, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(
        (again[0].body.as_str(), again[0].receive_count),
        ("job-1", 2)
    );
}

/// A process killed with SIGKILL loses nothing it had been told was stored. The test binary
/// runs itself as the child (selected by an environment variable), writes until killed, and
/// reports each acknowledged write on stdout.
#[test]
fn a_sigkill_loses_no_acknowledged_write() {
    const CHILD: &str = "WAGATE_TEST_KILL_CHILD_DIR";
    if let Some(dir) = std::env::var_os(CHILD) {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let b =
                LocalBackend::open(std::path::Path::new(&dir), LocalOptions::default()).unwrap();
            b.queue().create("k", QueueSpec::FIFO).await.unwrap();
            for i in 0u64.. {
                b.store()
                    .set_config(&format!("c{i}"), &serde_json::json!(i))
                    .await
                    .unwrap();
                b.queue().send("k", &format!("m{i}"), "x").await.unwrap();
                println!("acked {i}");
            }
        });
        return;
    }

    use std::io::BufRead;
    let dir = tempfile::TempDir::new().unwrap();
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_sigkill_loses_no_acknowledged_write",
            "--nocapture",
        ])
        .env(CHILD, dir.path())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut last = None;
    for line in std::io::BufReader::new(child.stdout.take().unwrap()).lines() {
        if let Some(i) = line.unwrap().strip_prefix("acked ") {
            last = Some(i.parse::<u64>().unwrap());
            if last >= Some(300) {
                break;
            }
        }
    }
    child.kill().unwrap(); // SIGKILL: no destructor, no checkpoint, no clean close.
    child.wait().unwrap();
    let last = last.expect("the child acknowledged writes");
    assert!(last >= 300, "the child stopped early, at {last}");

    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let b = LocalBackend::open(dir.path(), LocalOptions::default()).unwrap();
        for i in 0..=last {
            assert_eq!(
                b.store().get_config(&format!("c{i}")).await.unwrap(),
                Some(serde_json::json!(i)),
                "write {i} of {last}"
            );
        }
        assert!(b.queue().depth("k").await.unwrap() > last);
    });
}

/// Two handles on one file behave like two processes: separate connections, no shared
/// in-memory state.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_handles_on_one_file_share_limits_and_queues() {
    let dir = tempfile::TempDir::new().unwrap();
    let a = LocalBackend::open(dir.path(), LocalOptions::default()).unwrap();
    let b = LocalBackend::open(dir.path(), LocalOptions::default()).unwrap();

    let either = |i: usize| {
        if i.is_multiple_of(2) {
            a.store()
        } else {
            b.store()
        }
    };
    let allowed = allowed_of_concurrent_hits(100, "shared", 30, either).await;
    assert_eq!(allowed, 30);

    // A long poll in one handle sees a send from the other (no in-process wake-up: the poll
    // has to find it in the file).
    a.queue().create("x", QueueSpec::FIFO).await.unwrap();
    let poll = {
        let q = a.queue();
        tokio::spawn(async move { q.receive("x", 1, VIS, Duration::from_secs(10)).await })
    };
    tokio::time::sleep(Duration::from_millis(150)).await;
    b.queue().send("x", "m", "from b").await.unwrap();
    let got = poll.await.unwrap().unwrap();
    assert_eq!(got[0].body, "from b");
}

#[tokio::test]
async fn a_database_from_a_newer_wagate_is_refused() {
    let dir = tempfile::TempDir::new().unwrap();
    drop(LocalBackend::open(dir.path(), LocalOptions::default()).unwrap());
    // Reopening at the current version is fine (migrations are not re-run).
    drop(
        LocalBackend::open(
            dir.path(),
            LocalOptions {
                synchronous_full: true,
            },
        )
        .unwrap(),
    );
    rusqlite::Connection::open(dir.path().join("wagate.db"))
        .unwrap()
        .pragma_update(None, "user_version", 999)
        .unwrap();
    let err = LocalBackend::open(dir.path(), LocalOptions::default()).unwrap_err();
    assert!(format!("{err:#}").contains("newer"), "{err:#}");
}

#[tokio::test]
async fn blob_keys_never_reach_outside_the_blob_directory() {
    let dir = tempfile::TempDir::new().unwrap();
    let blobs = LocalBackend::open(dir.path(), LocalOptions::default())
        .unwrap()
        .blobs();
    for bad in [
        "../escaped",
        "../../escaped",
        "/escaped",
        "blobs/../../escaped",
    ] {
        assert!(blobs.put(bad, Bytes::from_static(b"x")).await.is_err());
    }
    assert!(!dir.path().join("escaped").exists());
    assert!(!dir.path().parent().unwrap().join("escaped").exists());
    // A crash between the temp file and the rename leaves a temp file: never listed.
    blobs.put("a/b", Bytes::from_static(b"x")).await.unwrap();
    std::fs::write(dir.path().join("blobs/a/~tmp-left-over"), b"half").unwrap();
    assert_eq!(blobs.list("").await.unwrap(), vec!["a/b".to_owned()]);
}

/// The API's enqueue path (key lookup, three counter hits, idempotency claim, job insert,
/// queue send), timed. `cargo test -p wagate-local --release --test local_contract -- --ignored
/// --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "timing, not a check; run by hand"]
async fn enqueue_path_timing() {
    let dir = tempfile::TempDir::new().unwrap();
    let b = LocalBackend::open(dir.path(), LocalOptions::default()).unwrap();
    let (store, queue) = (b.store(), b.queue());
    let key = ApiKey::new("timing-key");
    store
        .put_api_key(&ApiKeyRecord::new(&key, Role::Admin, "t", now_ms()))
        .await
        .unwrap();
    let sid = SessionId::parse("timing").unwrap();
    queue
        .create(&wagate_core::ports::names::send(&sid), QueueSpec::FIFO)
        .await
        .unwrap();

    async fn one(store: &Arc<dyn Store>, queue: &Arc<dyn Queue>, key: &ApiKey, sid: &SessionId) {
        let now = now_ms();
        let rec = store.api_key_by_hash(&key.hash()).await.unwrap().unwrap();
        for k in ["rl", "quota", "cool"] {
            store
                .hit_counter(&format!("{k}:{}", rec.id), u64::MAX >> 2, 60_000, now)
                .await
                .unwrap();
        }
        let job = Job::new(
            sid.clone(),
            rec.id.clone(),
            Jid::parse("628123456789").unwrap(),
            OutboundMessage::new(MessageContent::Text {
                text: "load".into(),
                mentions: vec![],
            }),
            now,
        );
        store
            .claim_idempotency(&format!("idem:{}", job.id), job.id.as_str(), 60_000, now)
            .await
            .unwrap();
        store.create_job(&job).await.unwrap();
        queue
            .send(
                &wagate_core::ports::names::send(sid),
                job.id.as_str(),
                job.id.as_str(),
            )
            .await
            .unwrap();
    }

    const N: usize = 2_000;
    let send_q = wagate_core::ports::names::send(&sid);
    let read = timed(N, async |_| {
        store.get_config("absent").await.unwrap();
    })
    .await;
    let write = timed(N, async |_| {
        let hit = store.hit_counter("one", u64::MAX >> 2, 60_000, now_ms());
        hit.await.unwrap();
    })
    .await;
    let claim = timed(N, async |i| {
        let idem = format!("idem:{i}");
        store
            .claim_idempotency(&idem, "v", 60_000, now_ms())
            .await
            .unwrap();
    })
    .await;
    let send = timed(N, async |i| {
        queue.send(&send_q, &format!("pre{i}"), "x").await.unwrap();
    })
    .await;
    let us = |d: Duration| d.as_secs_f64() * 1e6 / N as f64;
    println!(
        "one operation: {:.0} µs a read, {:.0} µs a counter hit, {:.0} µs a claim, {:.0} µs a send",
        us(read),
        us(write),
        us(claim),
        us(send)
    );

    let serial = timed(N, async |_| one(&store, &queue, &key, &sid).await).await;

    const TASKS: usize = 64;
    let t = std::time::Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..TASKS {
        let (store, queue, key, sid) = (store.clone(), queue.clone(), key.clone(), sid.clone());
        set.spawn(async move {
            for _ in 0..N / TASKS {
                one(&store, &queue, &key, &sid).await;
            }
        });
    }
    while let Some(r) = set.join_next().await {
        r.unwrap();
    }
    let concurrent = t.elapsed();
    println!(
        "enqueue path: {:.0} µs/request one at a time, {:.0} req/s with {TASKS} concurrent",
        serial.as_secs_f64() * 1e6 / N as f64,
        (N / TASKS * TASKS) as f64 / concurrent.as_secs_f64()
    );
}

/// An ack deletes its message, so its dedup id is free again at once (as on moto; the shared
/// contract promises nothing after an ack), and a stale receipt never deletes a redelivered
/// message.
#[tokio::test]
async fn local_queue_forgets_acked_ids_and_ignores_stale_acks() {
    let b = backend();
    let q = b.queue();
    q.create("strict", QueueSpec::FIFO).await.unwrap();
    q.send("strict", "same", "first").await.unwrap();
    let got = q
        .receive("strict", 1, Duration::from_secs(30), Duration::ZERO)
        .await
        .unwrap();
    q.ack("strict", &got[0].receipt).await.unwrap();
    q.send("strict", "same", "again").await.unwrap();
    assert_eq!(q.oldest("strict").await.unwrap().as_deref(), Some("again"));
    let got = q
        .receive("strict", 1, Duration::from_secs(30), Duration::ZERO)
        .await
        .unwrap();
    q.ack("strict", &got[0].receipt).await.unwrap();
    assert_eq!(q.depth("strict").await.unwrap(), 0);

    q.send("strict", "other", "x").await.unwrap();
    let first = q
        .receive("strict", 1, Duration::from_millis(200), Duration::ZERO)
        .await
        .unwrap()
        .remove(0);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let second = q
        .receive("strict", 1, Duration::from_secs(30), Duration::ZERO)
        .await
        .unwrap()
        .remove(0);
    q.ack("strict", &first.receipt).await.unwrap();
    assert_eq!(q.depth("strict").await.unwrap(), 1);
    q.ack("strict", &second.receipt).await.unwrap();
    assert_eq!(q.depth("strict").await.unwrap(), 0);
}

/// The embedded queue tells its oldest message without receiving it (the API shows when the
/// job at a session's head was accepted); in flight still counts, acked does not.
#[tokio::test]
async fn local_queue_names_its_oldest_message() {
    let b = backend();
    let q = b.queue();
    q.create("line", QueueSpec::FIFO).await.unwrap();
    assert_eq!(q.oldest("line").await.unwrap(), None);
    q.send("line", "a", "job-a").await.unwrap();
    q.send("line", "b", "job-b").await.unwrap();
    assert_eq!(q.oldest("line").await.unwrap().as_deref(), Some("job-a"));
    let got = q
        .receive("line", 1, Duration::from_secs(30), Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(q.oldest("line").await.unwrap().as_deref(), Some("job-a"));
    q.ack("line", &got[0].receipt).await.unwrap();
    assert_eq!(q.oldest("line").await.unwrap().as_deref(), Some("job-b"));
}

#[tokio::test]
async fn local_blobs_cannot_sign_urls_so_the_api_takes_uploads_itself() {
    let b = backend();
    let signed = b
        .blobs()
        .presign_put(
            "media/s/a.bin",
            "application/octet-stream",
            Duration::from_secs(60),
        )
        .await
        .unwrap();
    assert_eq!(signed, None);
}

/// Media retention in the embedded mode: old media goes, new media and other prefixes stay,
/// and so do directories that are not both empty and an hour old.
#[tokio::test]
async fn the_media_sweep_deletes_only_old_media() {
    use wagate_local::FsBlobs;
    let dir = tempfile::tempdir().unwrap();
    let blobs = FsBlobs::new(dir.path().to_path_buf(), false).unwrap();
    for key in [
        "media/files/aaa/old.pdf",
        "media/files/bbb/new.pdf",
        "creds/shop.db",
    ] {
        blobs.put(key, Bytes::from_static(b"x")).await.unwrap();
    }
    let days_ago = |days: u64| std::time::SystemTime::now() - Duration::from_secs(days * 86_400);
    let age = |rel: &str, days: u64| {
        let path = dir.path().join(rel);
        // A read-only handle is enough for the owner, and it opens directories too.
        std::fs::File::open(&path)
            .unwrap()
            .set_modified(days_ago(days))
            .unwrap();
    };
    age("media/files/aaa/old.pdf", 10);
    age("creds/shop.db", 10);

    let removed = blobs
        .sweep("media/", Duration::from_secs(7 * 86_400))
        .await
        .unwrap();

    assert_eq!(removed, 1);
    assert!(
        blobs
            .get("media/files/aaa/old.pdf")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        blobs
            .get("media/files/bbb/new.pdf")
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        blobs.get("creds/shop.db").await.unwrap().is_some(),
        "other prefixes are kept"
    );
    // The emptied directory was just modified (its file went): it stays until it is old.
    assert!(dir.path().join("media/files/aaa").is_dir());
    age("media/files/aaa", 1);
    blobs
        .sweep("media/", Duration::from_secs(7 * 86_400))
        .await
        .unwrap();
    assert!(!dir.path().join("media/files/aaa").exists());
    assert!(
        dir.path().join("media/files/bbb").is_dir(),
        "a directory with a file stays"
    );
}

#[tokio::test]
async fn unstarted_sweep_queues_a_cut_off_job_once() {
    let b = backend();
    wagate_testkit::contract::unstarted_sweep_queues_a_cut_off_job_once(b.store(), b.queue()).await;
}

#[tokio::test]
async fn intake_in_one_transaction_admits_all_or_nothing() {
    let b = backend();
    wagate_testkit::contract::intake_admits_all_or_nothing(b.intake(), b.store(), b.queue(), true)
        .await;
}

#[tokio::test]
async fn intake_step_by_step_admits_all_or_nothing() {
    let b = backend();
    let steps = Arc::new(wagate_core::ports::Sequential::new(b.store(), b.queue()));
    wagate_testkit::contract::intake_admits_all_or_nothing(steps, b.store(), b.queue(), false)
        .await;
}

#[tokio::test]
async fn write_batch_in_one_transaction() {
    let b = backend();
    wagate_testkit::contract::write_batch_applies_each_chain_in_order(
        b.batch(),
        b.store(),
        b.queue(),
        true,
    )
    .await;
}

#[tokio::test]
async fn write_batch_one_by_one() {
    let b = backend();
    let one_by_one = Arc::new(wagate_core::ports::OneByOne::new(b.store(), b.queue()));
    wagate_testkit::contract::write_batch_applies_each_chain_in_order(
        one_by_one,
        b.store(),
        b.queue(),
        false,
    )
    .await;
}
