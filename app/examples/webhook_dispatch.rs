//! Webhook dispatch benchmark: the dispatcher `wagate local` runs (embedded queue and store,
//! default settings) delivering signed `message_sent` events to a loopback receiver that checks
//! every signature.
//!
//! Two measurements: throughput (a backlog of events queued first, then the time until the
//! receiver has all of them) and latency (events queued open-loop at a fixed rate, each timed
//! from its enqueue to its arrival at the receiver). At the end it checks that every event
//! arrived exactly once, correctly signed, and exits non-zero otherwise.
//!
//! Usage: `webhook_dispatch [backlog] [rate/s] [seconds] [concurrency]` (defaults 50000, 1000,
//! 20, the dispatcher's default). `scripts/bench-webhooks.sh` builds and runs it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::json;
use wagate_core::dispatch::{DispatchConfig, Dispatcher};
use wagate_core::ports::{Queue, QueueSpec, names};
use wagate_core::webhook::Target;
use wagate_core::{Event, EventId, EventKind, SessionId};
use wagate_local::{LocalBackend, LocalOptions};

const SECRET: &str = "bench-webhook-secret";

/// What the receiver saw: arrival time by event id, and what was wrong.
#[derive(Default)]
struct Seen {
    arrived: HashMap<String, Instant>,
    duplicates: u64,
    bad_signatures: u64,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

async fn hook(State(seen): State<Arc<Mutex<Seen>>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let at = Instant::now();
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or("");
    let ok = wagate_core::webhook::verify(SECRET, &body, header("x-webhook-signature"));
    let mut s = lock(&seen);
    if !ok {
        s.bad_signatures += 1;
        return StatusCode::UNAUTHORIZED;
    }
    if s.arrived
        .insert(header("x-webhook-id").to_owned(), at)
        .is_some()
    {
        s.duplicates += 1;
    }
    StatusCode::OK
}

/// A `message_sent` event as the send worker makes it, for job `n`.
fn event(session: &SessionId, n: u64) -> Event {
    let job = format!("job_bench_{n:09}");
    let mut e = Event::new(
        session.clone(),
        EventKind::MessageSent,
        json!({
            "jobId": job,
            "to": format!("62812{n:08}@s.whatsapp.net"),
            "type": "text",
            "status": "sent",
            "messageId": format!("3EB0{n:016X}"),
        }),
        wagate_core::clock::now_ms(),
    );
    e.id = EventId::from_string(format!("evt_sent_{job}"));
    e
}

async fn emit(queue: &dyn Queue, e: &Event) -> anyhow::Result<()> {
    let body = serde_json::to_string(e)?;
    queue.send(names::EVENTS, e.id.as_str(), &body).await?;
    Ok(())
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

/// Waits until the receiver holds `n` events (or `within` passes).
async fn wait_for(seen: &Mutex<Seen>, n: usize, within: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + within;
    while lock(seen).arrived.len() < n {
        if Instant::now() > deadline {
            bail!(
                "{} of {n} events arrived within {within:?}",
                lock(seen).arrived.len()
            );
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: u64| -> anyhow::Result<u64> {
        args.get(i).map_or(Ok(default), |v| {
            v.parse()
                .with_context(|| format!("argument {}: {v}", i + 1))
        })
    };
    let backlog = arg(0, 50_000)?;
    let rate = arg(1, 1_000)?.max(1);
    let secs = arg(2, 20)?;
    let mut config = DispatchConfig::default();
    config.concurrency = usize::try_from(arg(3, config.concurrency as u64)?)?.max(1);

    let seen = Arc::new(Mutex::new(Seen::default()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/hook", listener.local_addr()?);
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(hook))
        .with_state(seen.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let dir = tempfile::tempdir()?;
    let backend = LocalBackend::open(dir.path(), LocalOptions::default())?;
    let queue = backend.queue();
    queue.create(names::EVENTS, QueueSpec::STANDARD).await?;
    config.default_target = Some(Target {
        url,
        secret: Some(SECRET.to_owned()),
    });
    println!(
        "dispatcher: concurrency {} (each receive's events settled together), embedded store in {}",
        config.concurrency,
        dir.path().display()
    );
    let dispatcher = Arc::new(
        Dispatcher::new(backend.store(), queue.clone(), config).with_batch(backend.batch()),
    );
    let session = SessionId::parse("bench").context("session id")?;

    // Throughput: the backlog is queued before the dispatcher starts.
    for n in 0..backlog {
        emit(queue.as_ref(), &event(&session, n)).await?;
    }
    let stop = tokio_util::sync::CancellationToken::new();
    let started = Instant::now();
    let running = tokio::spawn({
        let (d, stop) = (dispatcher.clone(), stop.clone());
        async move { d.run(stop.cancelled_owned()).await }
    });
    wait_for(&seen, backlog as usize, Duration::from_secs(600)).await?;
    let took = started.elapsed();
    println!(
        "RESULT throughput events={backlog} secs={:.2} per_sec={:.0}",
        took.as_secs_f64(),
        backlog as f64 / took.as_secs_f64()
    );

    // Latency: open loop at `rate`, each event timed from its enqueue.
    let total = rate * secs;
    let mut queued_at: HashMap<String, Instant> = HashMap::with_capacity(total as usize);
    let gap = Duration::from_secs_f64(1.0 / rate as f64);
    let t0 = tokio::time::Instant::now();
    for i in 0..total {
        tokio::time::sleep_until(t0 + gap * u32::try_from(i)?).await;
        let e = event(&session, backlog + i);
        queued_at.insert(e.id.to_string(), Instant::now());
        emit(queue.as_ref(), &e).await?;
    }
    wait_for(&seen, (backlog + total) as usize, Duration::from_secs(120)).await?;
    let (mut lat, dups, bad, got) = {
        let s = lock(&seen);
        let lat: Vec<Duration> = queued_at
            .iter()
            .filter_map(|(id, at)| {
                s.arrived
                    .get(id)
                    .map(|got| got.saturating_duration_since(*at))
            })
            .collect();
        (lat, s.duplicates, s.bad_signatures, s.arrived.len())
    };
    lat.sort();
    println!(
        "RESULT latency rate={rate} secs={secs} events={} p50_ms={:.2} p90_ms={:.2} p99_ms={:.2} max_ms={:.2}",
        lat.len(),
        pct(&lat, 0.50),
        pct(&lat, 0.90),
        pct(&lat, 0.99),
        pct(&lat, 1.0),
    );
    stop.cancel();
    running.await??;
    println!("RESULT check delivered={got} duplicates={dups} bad_signatures={bad}");
    if got as u64 != backlog + total || dups > 0 || bad > 0 {
        bail!(
            "expected {} events once each, correctly signed",
            backlog + total
        );
    }
    Ok(())
}
