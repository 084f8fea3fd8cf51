//! Soak: a steady stream of sends and incoming messages into a running `wagate local` for a long
//! time, with a signing-checking webhook receiver, reporting once a minute what must stay flat —
//! the process's RSS, the accept latency (p50/p99/max of that minute), the queue depths and the
//! database and WAL sizes — and at the end whether anything was lost or doubled.
//!
//! Usage: `soak <base-url> <admin-key> <wagate-pid> <data-dir> [sends/s] [incoming/s] [seconds]
//! [sessions]` (defaults 200, 20, 1800, 20). `scripts/soak.sh` builds and starts everything.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

/// What the receiver saw.
#[derive(Default)]
struct Tally {
    sent: HashSet<String>,
    failed: HashSet<String>,
    received: HashSet<String>,
    webhook_ids: HashSet<String>,
    duplicate_webhooks: u64,
    bad_signatures: u64,
}

/// What the load side did.
#[derive(Default)]
struct Load {
    accepted: Mutex<HashSet<String>>,
    injected: Mutex<HashSet<String>>,
    /// Accept latencies of the current minute.
    minute: Mutex<Vec<Duration>>,
    errors: AtomicU64,
}

struct Shared {
    secret: String,
    tally: Mutex<Tally>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

async fn hook(State(sh): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or("");
    let mut t = lock(&sh.tally);
    if !wagate_core::webhook::verify(&sh.secret, &body, header("x-webhook-signature")) {
        t.bad_signatures += 1;
        return StatusCode::UNAUTHORIZED;
    }
    if !t.webhook_ids.insert(header("x-webhook-id").to_owned()) {
        t.duplicate_webhooks += 1;
        return StatusCode::OK;
    }
    let v: Value = serde_json::from_slice(&body).unwrap_or_default();
    let data = &v["data"];
    let field = |k: &str| data[k].as_str().unwrap_or_default().to_owned();
    match v["event"].as_str() {
        Some("message_sent") => {
            t.sent.insert(field("jobId"));
        }
        Some("message_failed") => {
            t.failed.insert(field("jobId"));
        }
        Some("message_received") => {
            t.received.insert(field("text"));
        }
        _ => {}
    }
    StatusCode::OK
}

/// `VmRSS` and `VmHWM` of `pid`, in MiB.
fn rss_mib(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|r| r.split_whitespace().next())
            .and_then(|n| n.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (kib("VmRSS:") / 1024.0, kib("VmHWM:") / 1024.0)
}

fn file_mib(p: &Path) -> f64 {
    std::fs::metadata(p).map_or(0.0, |m| m.len() as f64 / (1024.0 * 1024.0))
}

/// Unacked messages on the send queues and on the events queue, read from the database file
/// (a short read-only transaction, through the index of unacked messages).
fn depths(db: &Path) -> anyhow::Result<(u64, u64)> {
    let c = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    c.busy_timeout(Duration::from_secs(5))?;
    Ok(c.query_row(
        "SELECT COALESCE(SUM(queue LIKE 'send-%'), 0), COALESCE(SUM(queue = 'events'), 0) \
         FROM messages",
        [],
        |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)),
    )?)
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1e3
}

async fn post(
    client: &reqwest::Client,
    url: &str,
    key: &str,
    body: &Value,
) -> reqwest::Result<(u16, Value)> {
    let r = client
        .post(url)
        .header("x-api-key", key)
        .json(body)
        .send()
        .await?;
    let status = r.status().as_u16();
    Ok((status, r.json().await.unwrap_or_default()))
}

/// Creates `id` with the receiver as its webhook and links it on the simulated network.
async fn open_session(
    client: &reqwest::Client,
    base: &str,
    key: &str,
    id: &str,
    hook_url: &str,
    secret: &str,
) -> anyhow::Result<()> {
    let body = json!({ "sessionId": id, "webhookUrl": hook_url, "webhookSecret": secret });
    let (st, v) = post(client, &format!("{base}/api/sessions"), key, &body).await?;
    if st != 201 {
        bail!("creating session {id}: {st} {v}");
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let s: Value = client
            .get(format!("{base}/api/sessions/{id}"))
            .header("x-api-key", key)
            .send()
            .await?
            .json()
            .await?;
        match s["status"].as_str() {
            Some("open") => return Ok(()),
            Some("qr") => {
                post(
                    client,
                    &format!("{base}/api/dev/sessions/{id}/scan"),
                    key,
                    &json!({}),
                )
                .await?;
            }
            _ => {}
        }
        if Instant::now() > deadline {
            bail!("session {id} did not open: {s}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(base), Some(key), Some(pid), Some(data)) =
        (args.get(1), args.get(2), args.get(3), args.get(4))
    else {
        bail!(
            "usage: soak <base-url> <admin-key> <wagate-pid> <data-dir> [sends/s] [incoming/s] [seconds] [sessions]"
        );
    };
    let arg = |i: usize, default: u64| args.get(i).map_or(Ok(default), |s| s.parse());
    let (rate, in_rate, secs, n_sessions) = (arg(5, 200)?, arg(6, 20)?, arg(7, 1800)?, arg(8, 20)?);
    let pid: u32 = pid.parse().context("wagate-pid")?;
    let db: PathBuf = Path::new(data).join("wagate.db");
    let wal = Path::new(data).join("wagate.db-wal");

    let shared = Arc::new(Shared {
        secret: wagate_core::random_token(24),
        tally: Mutex::default(),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let hook_url = format!("http://{}/hook", listener.local_addr()?);
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(hook))
        .with_state(shared.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .timeout(Duration::from_secs(30))
        .build()?;
    let sessions: Vec<String> = (0..n_sessions).map(|i| format!("soak{i}")).collect();
    for s in &sessions {
        open_session(&client, base, key, s, &hook_url, &shared.secret).await?;
    }
    println!(
        "soak: {rate} sends/s over {n_sessions} sessions to 100 chats, {in_rate} incoming/s, {secs} s"
    );
    println!(
        "| min | accepted | errors | p50 ms | p99 ms | max ms | RSS MiB | send queue | events queue | db MiB | WAL MiB | sent | received |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");

    let load = Arc::new(Load::default());
    let started = Instant::now();
    let end = started + Duration::from_secs(secs);

    let sends = {
        let (client, base, key, load, sessions) = (
            client.clone(),
            base.clone(),
            key.clone(),
            load.clone(),
            sessions.clone(),
        );
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_nanos(1_000_000_000 / rate.max(1)));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            let url = format!("{base}/api/messages/text");
            let mut i: u64 = 0;
            while Instant::now() < end {
                tick.tick().await;
                let body = json!({
                    "sessionId": sessions[(i % sessions.len() as u64) as usize],
                    "to": format!("62810000{:05}", i % 100),
                    "text": format!("soak {i}"),
                });
                let (client, url, key, load) =
                    (client.clone(), url.clone(), key.clone(), load.clone());
                tokio::spawn(async move {
                    let t = Instant::now();
                    match post(&client, &url, &key, &body).await {
                        Ok((202, v)) => {
                            lock(&load.minute).push(t.elapsed());
                            lock(&load.accepted)
                                .insert(v["id"].as_str().unwrap_or_default().to_owned());
                        }
                        _ => {
                            load.errors.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                });
                i += 1;
            }
        })
    };
    let incoming = {
        let (client, base, key, load, sessions) = (
            client.clone(),
            base.clone(),
            key.clone(),
            load.clone(),
            sessions.clone(),
        );
        tokio::spawn(async move {
            let mut tick =
                tokio::time::interval(Duration::from_nanos(1_000_000_000 / in_rate.max(1)));
            let mut i: u64 = 0;
            while in_rate > 0 && Instant::now() < end {
                tick.tick().await;
                let session = &sessions[(i % sessions.len() as u64) as usize];
                let url = format!("{base}/api/dev/sessions/{session}/incoming");
                let text = format!("soak-in-{i}");
                let body = json!({ "from": format!("62899000{:05}", i % 100), "text": text });
                let (client, key, load) = (client.clone(), key.clone(), load.clone());
                tokio::spawn(async move {
                    if let Ok((s, _)) = post(&client, &url, &key, &body).await
                        && (200..300).contains(&s)
                    {
                        lock(&load.injected).insert(text);
                    }
                });
                i += 1;
            }
        })
    };

    let report = |minute: u64, lat: &mut Vec<Duration>, errors: u64| {
        lat.sort_unstable();
        let (rss, _) = rss_mib(pid);
        let (send_q, events_q) = depths(&db).unwrap_or((u64::MAX, u64::MAX));
        let t = lock(&shared.tally);
        println!(
            "| {minute} | {} | {errors} | {:.1} | {:.1} | {:.1} | {rss:.0} | {send_q} | {events_q} | {:.1} | {:.1} | {} | {} |",
            lat.len(),
            pct(lat, 0.50),
            pct(lat, 0.99),
            lat.last().map_or(0.0, |d| d.as_secs_f64() * 1e3),
            file_mib(&db),
            file_mib(&wal),
            t.sent.len(),
            t.received.len(),
        );
    };
    let mut minute = 0;
    let mut errors_before = 0;
    while Instant::now() < end {
        let next = started + Duration::from_secs(60 * (minute + 1));
        tokio::time::sleep_until(next.min(end).into()).await;
        minute += 1;
        let mut lat = std::mem::take(&mut *lock(&load.minute));
        let errors = load.errors.load(Ordering::Relaxed);
        report(minute, &mut lat, errors - errors_before);
        errors_before = errors;
    }
    sends.await?;
    incoming.await?;
    tokio::time::sleep(Duration::from_secs(2)).await; // the last requests' answers

    // Drain: every accepted send must end as exactly one message_sent (or message_failed), every
    // injected message as one message_received.
    let accepted = lock(&load.accepted).clone();
    let injected = lock(&load.injected).clone();
    let drain_deadline = Instant::now() + Duration::from_secs(300);
    let done = |t: &Tally| {
        accepted
            .iter()
            .all(|id| t.sent.contains(id) || t.failed.contains(id))
            && injected.iter().all(|x| t.received.contains(x))
    };
    while !done(&lock(&shared.tally)) && Instant::now() < drain_deadline {
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let drained = started.elapsed();
    let t = lock(&shared.tally);
    let lost = accepted
        .iter()
        .filter(|id| !t.sent.contains(*id) && !t.failed.contains(*id))
        .count();
    let lost_in = injected.iter().filter(|x| !t.received.contains(*x)).count();
    let (rss, hwm) = rss_mib(pid);
    println!(
        "\nsummary: {} sends accepted, {} errors; {} message_sent, {} message_failed, {lost} lost; {} incoming injected, {} message_received, {lost_in} lost; {} duplicate webhook deliveries, {} bad signatures; drained at {:.0} s; RSS {rss:.0} MiB (peak {hwm:.0}); db {:.1} MiB + WAL {:.1} MiB",
        accepted.len(),
        load.errors.load(Ordering::Relaxed),
        t.sent.len(),
        t.failed.len(),
        injected.len(),
        t.received.len(),
        t.duplicate_webhooks,
        t.bad_signatures,
        drained.as_secs_f64(),
        file_mib(&db),
        file_mib(&wal),
    );
    if lost > 0 || lost_in > 0 || t.bad_signatures > 0 {
        bail!("the soak lost messages or saw bad signatures");
    }
    Ok(())
}
