//! `GET /metrics` scraped after a send and its webhook: the counters of the enqueue path, the
//! worker, the dispatcher and the HTTP layer move, labelled by kind, outcome and route
//! template; sessions are counted by status; only an admin key may scrape. The send's
//! `X-Request-Id` comes back on its webhook. One test in its own
//! binary, since the recorder is per process.

mod common;

use serde_json::json;

use common::*;

const USER: &str = "metrics-user-key-0123456789";

/// The value of the sample `name{labels}` (labels as Prometheus prints them), if present.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_and_its_webhook_show_in_the_metrics() {
    let local = start_local_with(&[("USER_API_KEYS", USER)]).await;
    let mut hook = webhook_receiver().await;
    local.open_session("shop", &mut hook).await;
    let r = local
        .http
        .post(format!("{}/api/messages/text?wait=10", local.base))
        .header("x-api-key", KEY)
        .header("x-request-id", "trace-me-42")
        .json(&json!({ "sessionId": "shop", "to": "628123456789", "text": "hi" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.headers()["x-request-id"], "trace-me-42");
    let job: serde_json::Value = r.json().await.unwrap();
    // The request id went with the job through the queue to the worker and its webhook.
    let sent = hook
        .receiver
        .next("message_sent", std::time::Duration::from_secs(10))
        .await;
    assert_eq!(sent.request_id, "trace-me-42");
    assert_eq!(sent.body["data"]["jobId"], job["id"]);
    // The job shows what became of its webhook (noted by the dispatcher after delivering).
    let path = format!("/api/messages/{}", job["id"].as_str().unwrap());
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    let view = loop {
        let view = local.get(&path).await;
        if view["webhook"]["outcome"] == "delivered" || tokio::time::Instant::now() > deadline {
            break view;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(view["webhook"]["outcome"], "delivered", "{view}");
    assert_eq!(view["webhook"]["event"], "message_sent");
    assert_eq!(view["webhook"]["eventId"], sent.id.as_str());

    let scrape = |key: &'static str| {
        local
            .http
            .get(format!("{}/metrics", local.base))
            .header("x-api-key", key)
            .send()
    };
    let r = scrape(KEY).await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = r.text().await.unwrap();
    let has = |series: &str| sample(&text, series);
    assert_eq!(
        has(r#"wagate_jobs_accepted_total{kind="text"}"#),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        has(r#"wagate_jobs_finished_total{kind="text",outcome="sent"}"#),
        Some(1.0)
    );
    assert!(has(r#"wagate_webhook_deliveries_total{outcome="delivered"}"#).unwrap_or(0.0) >= 3.0);
    assert!(text.contains("wagate_webhook_delivery_seconds_bucket"));
    assert_eq!(has(r#"wagate_sessions{status="open"}"#), Some(1.0));
    // whatsapp-rust's own counters (its `metrics` feature) land in the same exposition.
    wagate_host::connector::whatsapp::telemetry::send("dm");
    let text = scrape(KEY).await.unwrap().text().await.unwrap();
    let has = |series: &str| sample(&text, series);
    assert_eq!(has(r#"wa_send_total{kind="dm"}"#), Some(1.0), "{text}");
    // The worker's view of its queue: the job it took was seconds old at most.
    let age = has(r#"wagate_queue_oldest_age_seconds{session="shop"}"#);
    assert!(age.is_some_and(|a| (0.0..60.0).contains(&a)), "{text}");
    assert!(
        has(r#"wagate_queue_depth{session="shop"}"#).is_some(),
        "{text}"
    );
    assert_eq!(
        has(r#"wagate_http_requests_total{method="POST",route="/api/messages/text",status="200"}"#),
        Some(1.0)
    );
    assert!(
        has(r#"wagate_http_requests_total{method="GET",route="/api/messages/{id}",status="200"}"#)
            .is_some_and(|n| n >= 1.0),
        "ids are not labels: the template is"
    );
    assert!(text.contains(
        r#"wagate_http_request_duration_seconds_bucket{method="POST",route="/api/messages/text""#
    ));

    // Scraping is for admins.
    assert_eq!(scrape(USER).await.unwrap().status().as_u16(), 403);
    let r = local
        .http
        .get(format!("{}/metrics", local.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    local.stop().await;
}
