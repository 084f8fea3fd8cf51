//! Nothing accepted is lost, nothing is sent twice: 1,000 sends are accepted by a real
//! `wagate local` child process, which is SIGKILLed while it is sending, then restarted on the
//! same data directory. Every job must end `sent`, and the simulated network's log (which
//! survives the kill) must show each message delivered exactly once.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wagate_host::read_send_log;
use wagate_testkit::LocalProcess;

const KEY: &str = "durability-admin-key-0123456789";
const SENDS: usize = 1000;
const SESSION: &str = "/api/sessions/dur";

/// The variables of both runs: limits out of the way, pacing short.
const VARS: [(&str, &str); 4] = [
    ("RATE_LIMIT_MAX", "1000000"),
    ("SEND_MIN_GAP_MS", "3"),
    ("SEND_JITTER_MS", "0"),
    ("SESSION_START_SPACING_MS", "0"),
];

async fn spawn_wagate(data: &Path) -> LocalProcess {
    LocalProcess::start(Path::new(env!("CARGO_BIN_EXE_wagate")), data, KEY, &VARS).await
}

/// The JSON answer to `GET {base}{path}`.
async fn get_json(http: &reqwest::Client, base: &str, path: &str) -> Value {
    http.get(format!("{base}{path}"))
        .header("x-api-key", KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn first_deliveries(log: &Path) -> usize {
    read_send_log(log)
        .unwrap_or_default()
        .iter()
        .filter(|r| r.is_first_delivery())
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkill_mid_send_loses_nothing_and_duplicates_nothing() {
    let dir = tempfile::TempDir::new().unwrap();
    let data = dir.path();
    let log = data.join("sim").join("sent.jsonl");
    let http = reqwest::Client::new();

    let mut child = spawn_wagate(data).await;
    let base = child.base();
    let r = http
        .post(format!("{base}/api/sessions"))
        .header("x-api-key", KEY)
        .json(&json!({ "sessionId": "dur" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let deadline = Instant::now() + Duration::from_secs(10);
    while get_json(&http, &base, SESSION).await["qr"].is_null() {
        assert!(Instant::now() < deadline, "no QR");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    http.post(format!("{base}/api/dev/sessions/dur/scan"))
        .header("x-api-key", KEY)
        .send()
        .await
        .unwrap();
    while get_json(&http, &base, SESSION).await["status"] != "open" {
        assert!(Instant::now() < deadline, "never opened");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Accept 1,000 sends, 16 requests at a time.
    let mut jobs: HashMap<String, String> = HashMap::new();
    let mut pending = futures_like_batches(SENDS, 16);
    while let Some(batch) = pending.pop() {
        let mut set = tokio::task::JoinSet::new();
        for i in batch {
            let http = http.clone();
            let base = base.clone();
            set.spawn(async move {
                let body = json!({ "sessionId": "dur", "to": format!("6281{i:08}"), "text": format!("n{i}") });
                let r = http.post(format!("{base}/api/messages/text")).header("x-api-key", KEY).json(&body).send().await.unwrap();
                assert_eq!(r.status().as_u16(), 202);
                let v: Value = r.json().await.unwrap();
                (v["id"].as_str().unwrap().to_owned(), v["waMessageId"].as_str().unwrap().to_owned())
            });
        }
        while let Some(done) = set.join_next().await {
            let (id, wa) = done.unwrap();
            jobs.insert(id, wa);
        }
    }
    assert_eq!(jobs.len(), SENDS);

    // Kill it for real while it is still sending.
    let deadline = Instant::now() + Duration::from_secs(60);
    while first_deliveries(&log) < SENDS / 5 {
        assert!(Instant::now() < deadline, "sending did not start");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    child.kill(); // SIGKILL
    let at_kill = first_deliveries(&log);
    assert!(
        at_kill < SENDS,
        "the kill came too late to test anything ({at_kill} already sent)"
    );

    let mut child = spawn_wagate(data).await;
    let base = child.base();
    let deadline = Instant::now() + Duration::from_secs(120);
    while first_deliveries(&log) < SENDS {
        assert!(
            Instant::now() < deadline,
            "only {} of {SENDS} delivered after the restart",
            first_deliveries(&log)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Let any stray duplicate show up before counting.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let records = read_send_log(&log).unwrap();
    let mut delivered: HashMap<&str, usize> = HashMap::new();
    for r in records.iter().filter(|r| r.is_first_delivery()) {
        *delivered.entry(r.wa_message_id.as_str()).or_default() += 1;
    }
    let expected: HashSet<&str> = jobs.values().map(String::as_str).collect();
    assert_eq!(delivered.len(), SENDS, "each message delivered");
    assert!(
        delivered.values().all(|&n| n == 1),
        "a message was delivered twice"
    );
    assert_eq!(delivered.keys().copied().collect::<HashSet<_>>(), expected);
    // At most the one send in flight at the kill was attempted again (and deduplicated).
    let retried = records.iter().filter(|r| r.duplicate).count();
    assert!(retried <= 1, "{retried} duplicate attempts");

    for id in jobs.keys() {
        let j = get_json(&http, &base, &format!("/api/messages/{id}")).await;
        assert_eq!(j["status"], "sent", "{j}");
    }
    child.kill();
}

/// `0..n` in batches of `size`, last batch first (popped in order).
fn futures_like_batches(n: usize, size: usize) -> Vec<Vec<usize>> {
    let mut batches: Vec<Vec<usize>> = (0..n)
        .collect::<Vec<_>>()
        .chunks(size)
        .map(<[usize]>::to_vec)
        .collect();
    batches.reverse();
    batches
}
