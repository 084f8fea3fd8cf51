//! Open-loop load on the enqueue path: `POST /api/messages/text` at a fixed rate (requests
//! start on schedule whether or not earlier ones finished, like wrk2), reporting p50/p99/max
//! latency. Usage: `enqueue_load <base-url> <api-key> <session> [per-second] [seconds]`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::bail;
use serde_json::json;
use tokio::sync::Mutex;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(base), Some(key), Some(session)) = (args.get(1), args.get(2), args.get(3)) else {
        bail!("usage: enqueue_load <base-url> <api-key> <session> [per-second] [seconds]");
    };
    let rate: u64 = args.get(4).map_or(Ok(1000), |s| s.parse())?;
    let secs: u64 = args.get(5).map_or(Ok(10), |s| s.parse())?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(512)
        .build()?;
    let url = format!("{base}/api/messages/text");
    let body = json!({ "sessionId": session, "to": "628123456789", "text": "load" }).to_string();
    let lat = Arc::new(Mutex::new(Vec::with_capacity((rate * secs) as usize)));
    let errors = Arc::new(std::sync::atomic::AtomicU64::new(0));

    let mut tick = tokio::time::interval(Duration::from_nanos(1_000_000_000 / rate.max(1)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..rate * secs {
        tick.tick().await;
        let (client, url, body, key, lat, errors) = (
            client.clone(),
            url.clone(),
            body.clone(),
            key.clone(),
            lat.clone(),
            errors.clone(),
        );
        tasks.spawn(async move {
            let t = Instant::now();
            let ok = client
                .post(&url)
                .header("x-api-key", key)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .is_ok_and(|r| r.status().as_u16() == 202);
            if ok {
                lat.lock().await.push(t.elapsed());
            } else {
                errors.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    let elapsed = started.elapsed();
    let mut lat = lat.lock().await.clone();
    lat.sort_unstable();
    if lat.is_empty() {
        bail!("no request succeeded");
    }
    let pct = |p: f64| lat[((lat.len() as f64 * p).ceil() as usize).clamp(1, lat.len()) - 1];
    println!(
        "enqueue at {rate}/s for {secs} s: {} ok, {} failed, {:.0} req/s achieved; p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        lat.len(),
        errors.load(std::sync::atomic::Ordering::Relaxed),
        lat.len() as f64 / elapsed.as_secs_f64(),
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        lat[lat.len() - 1].as_secs_f64() * 1e3,
    );
    Ok(())
}
