//! Request → `sent` latency on the simulated network: sends messages at a steady rate to a
//! running `wagate local` (pacing off) and reports p50/p99 of `sentAt - createdAt` from the
//! jobs themselves. Usage: `sent_latency <base-url> <api-key> [count] [per-second]`.

use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(base), Some(key)) = (args.get(1), args.get(2)) else {
        bail!("usage: sent_latency <base-url> <api-key> [count] [per-second]");
    };
    let count: usize = args.get(3).map_or(Ok(500), |s| s.parse())?;
    let rate: u64 = args.get(4).map_or(Ok(100), |s| s.parse())?;
    let api = Api {
        client: reqwest::Client::new(),
        base,
        key,
    };

    let session = format!("lat{}", wagate_core::random_token(6).to_lowercase());
    let created = json!({ "sessionId": session });
    api.post("/api/sessions", Some(&created)).await?;
    wait_for(&api, &session, |s| s["qr"].is_string()).await?;
    let scan = format!("/api/dev/sessions/{session}/scan");
    api.post(&scan, None).await?;
    wait_for(&api, &session, |s| s["status"] == "open").await?;

    let mut ids = Vec::with_capacity(count);
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / rate.max(1)));
    for i in 0..count {
        tick.tick().await;
        let text = json!({ "sessionId": session, "to": format!("62811{i:07}"), "text": "latency" });
        let r: Value = api
            .post("/api/messages/text", Some(&text))
            .await?
            .json()
            .await?;
        ids.push(r["id"].as_str().context("no id")?.to_owned());
    }

    let mut lat = Vec::with_capacity(count);
    for id in &ids {
        let j = api.get(&format!("/api/messages/{id}?wait=25")).await?;
        let (Some(c), Some(s)) = (j["createdAt"].as_i64(), j["sentAt"].as_i64()) else {
            bail!("job {id} not sent: {j}");
        };
        lat.push(s - c);
    }
    lat.sort_unstable();
    let pct = |p: f64| lat[((lat.len() as f64 * p).ceil() as usize).clamp(1, lat.len()) - 1];
    println!(
        "request → sent over {count} messages at {rate}/s: p50 {} ms, p99 {} ms, max {} ms",
        pct(0.50),
        pct(0.99),
        lat[lat.len() - 1]
    );
    Ok(())
}

/// The running API, called with one key.
struct Api<'a> {
    client: reqwest::Client,
    base: &'a str,
    key: &'a str,
}

impl Api<'_> {
    async fn get(&self, path: &str) -> anyhow::Result<Value> {
        let req = self.client.get(format!("{}{path}", self.base));
        Ok(req
            .header("x-api-key", self.key)
            .send()
            .await?
            .json()
            .await?)
    }

    /// POSTs `body` as JSON (nothing when `None`); an error status is an error.
    async fn post(&self, path: &str, body: Option<&Value>) -> anyhow::Result<reqwest::Response> {
        let mut req = self.client.post(format!("{}{path}", self.base));
        req = req.header("x-api-key", self.key);
        if let Some(body) = body {
            req = req.json(body);
        }
        Ok(req.send().await?.error_for_status()?)
    }
}

async fn wait_for(
    api: &Api<'_>,
    session: &str,
    done: impl Fn(&Value) -> bool,
) -> anyhow::Result<()> {
    for _ in 0..200 {
        if done(&api.get(&format!("/api/sessions/{session}")).await?) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("session {session} did not get there in time")
}
