//! Many sessions on one host: opens N simulated sessions in a running `wagate local`, measures
//! what they cost idle (CPU of the wagate process, RSS), then sends each of them one text a
//! second (N sends/s in all, spread evenly) and measures accept → sent latency (the request's
//! start to the `ts` of its `message_sent` webhook), the send queues' depth and the RSS while
//! it runs. At the end every accepted send must have come back as `message_sent`.
//!
//! Usage: `sessions_load <base-url> <admin-key> <wagate-pid> <data-dir> [sessions] [seconds]
//! [idle-seconds]` (defaults 1000, 60, 30). `scripts/bench-sessions.sh` builds and starts
//! everything.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use futures::StreamExt;
use serde_json::{Value, json};

/// `message_sent` webhooks by job id: the event's `ts` (Unix ms, when it was sent), and how
/// many deliveries of it came (webhooks are at least once).
#[derive(Default)]
struct Seen {
    sent: HashMap<String, (i64, u32)>,
    bad_signatures: u64,
}

struct Shared {
    secret: String,
    seen: Mutex<Seen>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn now_ms() -> i64 {
    wagate_core::clock::now_ms()
}

async fn hook(State(sh): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let sig = headers
        .get("x-webhook-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mut s = lock(&sh.seen);
    if !wagate_core::webhook::verify(&sh.secret, &body, sig) {
        s.bad_signatures += 1;
        return StatusCode::UNAUTHORIZED;
    }
    let v: Value = serde_json::from_slice(&body).unwrap_or_default();
    if v["event"] == "message_sent"
        && let Some(job) = v["data"]["jobId"].as_str()
    {
        let ts = v["ts"].as_i64().unwrap_or_default();
        s.sent.entry(job.to_owned()).or_insert((ts, 0)).1 += 1;
    }
    StatusCode::OK
}

/// User and system CPU time of `pid`, in seconds.
fn cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let rest = stat.rsplit_once(") ").map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // Fields 14 and 15 of the line are the 12th and 13th after the command name.
    (ticks(11) + ticks(12)) / 100.0
}

/// `VmRSS` of `pid`, in MiB.
fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

/// Unacked messages on all send queues, read from the database file.
fn send_depth(db: &Path) -> anyhow::Result<u64> {
    let c = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    c.busy_timeout(Duration::from_secs(5))?;
    Ok(c.query_row(
        "SELECT COUNT(*) FROM messages WHERE queue LIKE 'send-%'",
        [],
        |r| r.get::<_, i64>(0),
    )? as u64)
}

fn pct(sorted: &[i64], p: f64) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

async fn call(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    key: &str,
    body: Option<&Value>,
) -> anyhow::Result<(u16, Value)> {
    let mut r = client.request(method, url).header("x-api-key", key);
    if let Some(b) = body {
        r = r.json(b);
    }
    let r = r.send().await?;
    let status = r.status().as_u16();
    Ok((status, r.json().await.unwrap_or_default()))
}

/// Creates `id` with the receiver as its webhook and links it on the simulated network.
async fn open_session(
    client: &reqwest::Client,
    base: &str,
    key: &str,
    id: &str,
    hook: &str,
    secret: &str,
) -> anyhow::Result<()> {
    let body = json!({ "sessionId": id, "webhookUrl": hook, "webhookSecret": secret });
    let (st, v) = call(
        client,
        reqwest::Method::POST,
        format!("{base}/api/sessions"),
        key,
        Some(&body),
    )
    .await?;
    if st != 201 {
        bail!("creating session {id}: {st} {v}");
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (_, s) = call(
            client,
            reqwest::Method::GET,
            format!("{base}/api/sessions/{id}"),
            key,
            None,
        )
        .await?;
        match s["status"].as_str() {
            Some("open") => return Ok(()),
            Some("qr") => {
                let url = format!("{base}/api/dev/sessions/{id}/scan");
                call(client, reqwest::Method::POST, url, key, Some(&json!({}))).await?;
            }
            _ => {}
        }
        if Instant::now() > deadline {
            bail!("session {id} did not open: {s}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(base), Some(key), Some(pid), Some(data)) =
        (args.get(1), args.get(2), args.get(3), args.get(4))
    else {
        bail!(
            "usage: sessions_load <base-url> <admin-key> <wagate-pid> <data-dir> [sessions] [seconds] [idle-seconds]"
        );
    };
    let arg = |i: usize, default: u64| args.get(i).map_or(Ok(default), |s| s.parse());
    let (n, secs, idle_secs) = (arg(5, 1000)?, arg(6, 60)?, arg(7, 30)?);
    let pid: u32 = pid.parse().context("wagate-pid")?;
    let db = Path::new(data).join("wagate.db");

    let shared = Arc::new(Shared {
        secret: wagate_core::random_token(24),
        seen: Mutex::default(),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let hook = format!("http://{}/hook", listener.local_addr()?);
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(self::hook))
        .with_state(shared.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(512)
        .timeout(Duration::from_secs(30))
        .build()?;

    let sessions: Vec<String> = (0..n).map(|i| format!("load{i:04}")).collect();
    let t = Instant::now();
    let opened: Vec<anyhow::Result<()>> = futures::stream::iter(&sessions)
        .map(|s| open_session(&client, base, key, s, &hook, &shared.secret))
        .buffer_unordered(32)
        .collect()
        .await;
    opened.into_iter().collect::<anyhow::Result<Vec<()>>>()?;
    println!(
        "RESULT open sessions={n} secs={:.1} rss_mib={:.0}",
        t.elapsed().as_secs_f64(),
        rss_mib(pid)
    );

    // Idle: everything open, nothing sent.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let (cpu0, t0) = (cpu_secs(pid), Instant::now());
    tokio::time::sleep(Duration::from_secs(idle_secs)).await;
    let idle_core = (cpu_secs(pid) - cpu0) / t0.elapsed().as_secs_f64();
    println!(
        "RESULT idle sessions={n} secs={idle_secs} core_pct={:.2} rss_mib={:.0}",
        idle_core * 100.0,
        rss_mib(pid)
    );

    // Load: one send per session per second, spread evenly over each second.
    let accepted: Arc<Mutex<HashMap<String, i64>>> = Arc::default();
    let errors = Arc::new(AtomicU64::new(0));
    let (cpu0, t0) = (cpu_secs(pid), Instant::now());
    let end = t0 + Duration::from_secs(secs);
    let sender = {
        let (client, base, key, sessions) =
            (client.clone(), base.clone(), key.clone(), sessions.clone());
        let (accepted, errors) = (accepted.clone(), errors.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_nanos(1_000_000_000 / n.max(1)));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            let url = format!("{base}/api/messages/text");
            let mut i: u64 = 0;
            while Instant::now() < end {
                tick.tick().await;
                let s = &sessions[(i % n) as usize];
                let body = json!({ "sessionId": s, "to": format!("6281{:09}", i % n), "text": format!("load {i}") });
                let (client, url, key, accepted, errors) = (
                    client.clone(),
                    url.clone(),
                    key.clone(),
                    accepted.clone(),
                    errors.clone(),
                );
                tokio::spawn(async move {
                    let at = now_ms();
                    match call(&client, reqwest::Method::POST, url, &key, Some(&body)).await {
                        Ok((202, v)) => {
                            let id = v["id"].as_str().unwrap_or_default().to_owned();
                            lock(&accepted).insert(id, at);
                        }
                        _ => {
                            errors.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                });
                i += 1;
            }
        })
    };
    let (mut max_depth, mut max_rss) = (0u64, 0f64);
    while Instant::now() < end {
        tokio::time::sleep(Duration::from_secs(5)).await;
        let depth = send_depth(&db).unwrap_or(u64::MAX);
        let rss = rss_mib(pid);
        max_depth = max_depth.max(depth);
        max_rss = max_rss.max(rss);
        println!(
            "  t={:>3.0}s send queues {depth:>6}  RSS {rss:>5.0} MiB  accepted {}",
            t0.elapsed().as_secs_f64(),
            lock(&accepted).len()
        );
    }
    sender.await?;
    let load_core = (cpu_secs(pid) - cpu0) / t0.elapsed().as_secs_f64();

    // Every accepted send's webhook.
    let deadline = Instant::now() + Duration::from_secs(120);
    let accepted = std::mem::take(&mut *lock(&accepted));
    while Instant::now() < deadline {
        let all_in = {
            let seen = lock(&shared.seen);
            accepted.keys().all(|id| seen.sent.contains_key(id))
        };
        if all_in {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let seen = lock(&shared.seen);
    let mut lat: Vec<i64> = Vec::with_capacity(accepted.len());
    let (mut missing, mut redelivered) = (0u64, 0u64);
    for (id, at) in &accepted {
        match seen.sent.get(id) {
            Some(&(ts, count)) => {
                lat.push(ts - at);
                redelivered += u64::from(count > 1);
            }
            None => missing += 1,
        }
    }
    lat.sort_unstable();
    println!(
        "RESULT load sessions={n} secs={secs} accepted={} errors={} accept_to_sent_p50_ms={} p99_ms={} max_ms={} max_send_queue={max_depth} max_rss_mib={max_rss:.0} core_pct={:.1}",
        accepted.len(),
        errors.load(Ordering::Relaxed),
        pct(&lat, 0.5),
        pct(&lat, 0.99),
        lat.last().copied().unwrap_or_default(),
        load_core * 100.0,
    );
    println!(
        "RESULT check missing={missing} webhooks_delivered_twice={redelivered} bad_signatures={}",
        seen.bad_signatures
    );
    if missing > 0 || seen.bad_signatures > 0 {
        bail!("accepted sends never reported sent, or webhooks badly signed");
    }
    Ok(())
}
