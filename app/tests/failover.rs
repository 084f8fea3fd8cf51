//! Two `wagate host` processes share one backend (DynamoDB, SQS and S3 on moto, behind a
//! `wagate api`): the sessions' leases split them between the hosts, each session runs on one
//! host only, and when one host is SIGKILLed mid-send the other takes its sessions over after
//! their leases expire and sends what was left, with no send lost or doubled.
//!
//! Each host has its own simulated network, whose send log (`DATA_DIR/sim/sent.jsonl`) survives
//! the kill: a send counts as doubled when one job's text reached the network under two
//! message ids (a resend under the same id after the kill is the at-least-once retry WhatsApp
//! deduplicates, and is counted separately).
//!
//! `FAILOVER_LOGS=DIR` writes each host's log to `DIR/host-a.log` and `DIR/host-b.log`
//! (`RUST_LOG` sets their level; `warn` otherwise).
#![cfg(feature = "aws")]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wagate_host::{SimSendRecord, read_send_log};
use wagate_testkit::{WebhookReceiver, free_port};

const KEY: &str = "failover-admin-key-0123456789abcdef";
const SECRET: &str = "failover-webhook-secret";
const SESSIONS: usize = 12;
const BEFORE: usize = 3;
const DURING: usize = 12;
const LEASE_TTL: Duration = Duration::from_secs(4);

/// A `wagate` child process, SIGKILLed when dropped.
struct Wagate(Child);

impl Drop for Wagate {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// What every process gets: the emulator, the test's own table, bucket and queues.
fn backend_env() -> Vec<(String, String)> {
    let endpoint = std::env::var("WAGATE_TEST_AWS_ENDPOINT").expect(
        "WAGATE_TEST_AWS_ENDPOINT is not set: run the tests with `bash scripts/test.sh`, which starts moto",
    );
    let prefix = format!("fo{}", wagate_core::random_token(8).to_lowercase());
    [
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("WAGATE_TABLE", prefix.as_str()),
        ("WAGATE_BUCKET", prefix.as_str()),
        ("WAGATE_QUEUE_PREFIX", &format!("{prefix}-")),
        ("ADMIN_API_KEY", KEY),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .chain([(
        "RUST_LOG".to_owned(),
        std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".to_owned()),
    )])
    .collect()
}

fn wagate(command: &str, env: &[(String, String)], extra: &[(&str, String)]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_wagate"));
    c.arg(command)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().map(|(k, v)| (k, v)))
        .envs(extra.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    c
}

async fn wait_for(url: &str) {
    let http = reqwest::Client::new();
    for _ in 0..600 {
        if http
            .get(url)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{url} never answered");
}

/// A `wagate host` on the simulated network with its own data directory, delivering webhooks.
async fn start_host(env: &[(String, String)], id: &str, data: &Path, hook: &str) -> Wagate {
    let health = free_port();
    let mut cmd = wagate(
        "host",
        env,
        &[
            ("HOST_ID", id.to_owned()),
            ("DATA_DIR", data.display().to_string()),
            ("HOST_HEALTH_PORT", health.to_string()),
            ("HOST", "127.0.0.1".to_owned()),
            ("WA_CONNECTOR", "simulated".to_owned()),
            ("HOST_DISPATCH_WEBHOOKS", "true".to_owned()),
            ("WEBHOOK_DEFAULT_URL", hook.to_owned()),
            ("WEBHOOK_DEFAULT_SECRET", SECRET.to_owned()),
            ("LEASE_TTL_MS", LEASE_TTL.as_millis().to_string()),
            ("SEND_VISIBILITY_MS", "3000".to_owned()),
            ("SEND_MIN_GAP_MS", "50".to_owned()),
            ("SEND_JITTER_MS", "0".to_owned()),
            ("SESSION_START_SPACING_MS", "0".to_owned()),
        ],
    );
    if let Ok(d) = std::env::var("FAILOVER_LOGS") {
        cmd.stderr(std::fs::File::create(format!("{d}/{id}.log")).unwrap());
    }
    let host = Wagate(cmd.spawn().expect("start wagate host"));
    wait_for(&format!("http://127.0.0.1:{health}/health")).await;
    host
}

struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("x-api-key", KEY);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let r = req.send().await.expect("request");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> Value {
        self.call(reqwest::Method::GET, path, None).await.1
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    async fn session_when(&self, id: &str, what: &str, check: impl Fn(&Value) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let s = self.get(&format!("/api/sessions/{id}")).await;
            if check(&s) {
                return;
            }
            assert!(Instant::now() < deadline, "{id}: no {what}: {s}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Accepts `n` texts to each session, concurrently; returns job id → (text, wa id).
    async fn send_round(&self, sessions: &[String], round: &str, n: usize) -> Jobs {
        let mut set = tokio::task::JoinSet::new();
        for s in sessions {
            for i in 0..n {
                let (http, base, s) = (self.http.clone(), self.base.clone(), s.clone());
                let text = format!("{s}-{round}{i}");
                set.spawn(async move {
                    let body =
                        json!({ "sessionId": s, "to": format!("62812{i:07}"), "text": text });
                    let r = http
                        .post(format!("{base}/api/messages/text"))
                        .header("x-api-key", KEY)
                        .json(&body)
                        .send()
                        .await
                        .expect("send");
                    assert_eq!(r.status().as_u16(), 202, "{text}");
                    let v: Value = r.json().await.unwrap();
                    let wa = v["waMessageId"].as_str().unwrap().to_owned();
                    (v["id"].as_str().unwrap().to_owned(), (text, wa))
                });
            }
        }
        set.join_all().await.into_iter().collect()
    }
}

type Jobs = HashMap<String, (String, String)>;

fn log_of(data: &Path) -> Vec<SimSendRecord> {
    read_send_log(&data.join("sim").join("sent.jsonl")).unwrap_or_default()
}

/// The texts first delivered, with the message ids they went out under.
fn delivered(logs: &[Vec<SimSendRecord>]) -> HashMap<String, BTreeSet<String>> {
    let mut out: HashMap<String, BTreeSet<String>> = HashMap::new();
    for r in logs.iter().flatten().filter(|r| r.delivered) {
        if let Some(t) = &r.text {
            out.entry(t.clone())
                .or_default()
                .insert(r.wa_message_id.clone());
        }
    }
    out
}

/// The sessions a log shows sending, from `since` (ms since the epoch) on.
fn senders(log: &[SimSendRecord], since: i64) -> BTreeSet<String> {
    log.iter()
        .filter(|r| r.ts >= since)
        .map(|r| r.session.clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_one_of_two_hosts_moves_its_sessions_to_the_other_without_loss_or_doubles() {
    let env = backend_env();
    let dir = tempfile::TempDir::new().unwrap();
    let status = wagate("provision", &env, &[]).status().expect("provision");
    assert!(status.success(), "wagate provision failed");

    let port = free_port();
    let _api = Wagate(
        wagate(
            "api",
            &env,
            &[
                ("PORT", port.to_string()),
                ("HOST", "127.0.0.1".to_owned()),
                ("DEV_ROUTES", "true".to_owned()),
                ("RATE_LIMIT_MAX", "1000000".to_owned()),
            ],
        )
        .spawn()
        .expect("start wagate api"),
    );
    let api = Api {
        http: reqwest::Client::new(),
        base: format!("http://127.0.0.1:{port}"),
    };
    wait_for(&format!("{}/health/live", api.base)).await;

    let hooks = WebhookReceiver::start(SECRET).await;
    let data: BTreeMap<&str, PathBuf> = ["host-a", "host-b"]
        .into_iter()
        .map(|h| (h, dir.path().join(h)))
        .collect();
    let mut hosts: BTreeMap<&str, Wagate> = BTreeMap::new();
    for (id, d) in &data {
        hosts.insert(id, start_host(&env, id, d, &hooks.url()).await);
    }

    // Sessions created while both hosts run: whichever receives the start command takes the
    // lease; the scan reaches the session on the host that runs it.
    let sessions: Vec<String> = (0..SESSIONS).map(|i| format!("fo{i:02}")).collect();
    for s in &sessions {
        let (status, body) = api.post("/api/sessions", json!({ "sessionId": s })).await;
        assert_eq!(status, 201, "{body}");
    }
    for s in &sessions {
        api.session_when(s, "QR", |v| !v["qr"].is_null()).await;
        let (status, body) = api
            .post(&format!("/api/dev/sessions/{s}/scan"), json!({}))
            .await;
        assert!(status < 300, "scan {s}: {status} {body}");
    }
    for s in &sessions {
        api.session_when(s, "open", |v| v["status"] == "open").await;
    }

    // A first round shows where each session runs: one host only, both hosts used.
    let mut jobs = api.send_round(&sessions, "before", BEFORE).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while delivered(&data.values().map(|d| log_of(d)).collect::<Vec<_>>()).len() < jobs.len() {
        assert!(Instant::now() < deadline, "the first round was not sent");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let ran: BTreeMap<&str, BTreeSet<String>> = data
        .iter()
        .map(|(h, d)| (*h, senders(&log_of(d), 0)))
        .collect();
    assert!(
        ran["host-a"].is_disjoint(&ran["host-b"]),
        "a session ran on both hosts: {ran:?}"
    );
    assert_eq!(ran.values().map(BTreeSet::len).sum::<usize>(), SESSIONS);
    assert!(
        ran.values().all(|s| !s.is_empty()),
        "the leases did not split the sessions: {ran:?}"
    );
    let (victim, survivor) = if ran["host-a"].len() >= ran["host-b"].len() {
        ("host-a", "host-b")
    } else {
        ("host-b", "host-a")
    };
    let moved = ran[victim].clone();

    // A second round, and the bigger host killed while it is sending it.
    let during = api.send_round(&sessions, "during", DURING).await;
    let before_kill = wagate_core::clock::now_ms();
    let deadline = Instant::now() + Duration::from_secs(60);
    while senders(&log_of(&data[victim]), before_kill).is_empty() {
        assert!(
            Instant::now() < deadline,
            "{victim} did not start the round"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    drop(hosts.remove(victim)); // SIGKILL
    let killed = Instant::now();
    let killed_ms = wagate_core::clock::now_ms();
    let at_kill = delivered(&[log_of(&data[victim])]);
    let left = during
        .values()
        .filter(|(t, _)| moved.iter().any(|s| t.starts_with(&format!("{s}-"))))
        .filter(|(t, _)| !at_kill.contains_key(t))
        .count();
    assert!(
        left > 0,
        "the kill came too late: {victim} had sent everything"
    );
    jobs.extend(during);

    // The survivor reopens every moved session (a session_open webhook each)...
    let mut reopened: BTreeMap<String, Duration> = BTreeMap::new();
    let deadline = killed + Duration::from_secs(60);
    while reopened.len() < moved.len() {
        assert!(
            Instant::now() < deadline,
            "{survivor} reopened only {reopened:?} of {moved:?}"
        );
        for r in hooks.received() {
            let s = r.body["data"]["id"].as_str().unwrap_or_default();
            let at = r.body["ts"].as_i64().unwrap_or(0);
            if r.event == "session_open" && moved.contains(s) && at >= killed_ms {
                reopened
                    .entry(s.to_owned())
                    .or_insert_with(|| killed.elapsed());
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let slowest = reopened.values().max().copied().unwrap_or_default();
    // A lease expires at most one TTL after the kill; the survivor's next round (every third
    // of it, once its control receive returns) takes it; reconnecting with the credentials in
    // S3 and the webhook through the events queue take the rest (6.5–7.7 s measured here).
    assert!(
        slowest <= LEASE_TTL * 3,
        "sessions moved after {slowest:?}: {reopened:?}"
    );

    // ...and sends everything that was left, each text exactly once.
    let deadline = Instant::now() + Duration::from_secs(120);
    let got = loop {
        let logs: Vec<_> = data.values().map(|d| log_of(d)).collect();
        let got = delivered(&logs);
        if got.len() >= jobs.len() {
            break got;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {} delivered",
            got.len(),
            jobs.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    for (text, wa) in jobs.values() {
        let ids = &got[text];
        assert_eq!(ids.len(), 1, "{text} went out under {ids:?}: sent twice");
        assert!(
            ids.contains(wa),
            "{text} went out as {ids:?}, accepted as {wa}"
        );
    }
    assert_eq!(got.len(), jobs.len(), "something never accepted went out");
    let after = senders(&log_of(&data[survivor]), killed_ms);
    assert!(moved.is_subset(&after), "{survivor} sent for {after:?}");
    // Until the kill, no session sent from both hosts.
    let until_kill: Vec<BTreeSet<String>> = data
        .values()
        .map(|d| {
            log_of(d)
                .iter()
                .filter(|r| r.ts < killed_ms)
                .map(|r| r.session.clone())
                .collect()
        })
        .collect();
    assert!(
        until_kill[0].is_disjoint(&until_kill[1]),
        "a session sent from both hosts: {until_kill:?}"
    );
    for id in jobs.keys() {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let j = api.get(&format!("/api/messages/{id}")).await;
            if j["status"] == "sent" {
                break;
            }
            assert!(Instant::now() < deadline, "job {id}: {j}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let resent = data
        .values()
        .flat_map(|d| log_of(d))
        .filter(|r| r.delivered)
        .count()
        - jobs.len();
    // A paced worker has one send in flight: at most that one per moved session went out
    // again, under its id.
    assert!(resent <= moved.len(), "{resent} resends");
    eprintln!(
        "failover: {} of {SESSIONS} sessions moved from {victim} to {survivor}, slowest after \
         {slowest:?} (lease TTL {LEASE_TTL:?}); {left} of their sends were left at the kill, all \
         sent once; {resent} resent under the same id",
        moved.len()
    );
}
