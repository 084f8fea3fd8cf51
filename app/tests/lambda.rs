//! The Lambda entry points with the payloads AWS sends them (files under `fixtures/`): API
//! Gateway v1 (REST, stage in the path) and v2 (HTTP API, base64 body) requests go through
//! `lambda_http`'s adapter into the router, an SQS event through the webhook batch handler.
//! No network but loopback: the embedded adapters stand in for the AWS ones.

use aws_lambda_events::event::sqs::SqsEvent;
use axum::Router;
use lambda_http::request::LambdaRequest;
use lambda_http::{Adapter, Context};
use lambda_runtime::LambdaEvent;
use serde_json::Value;
use tempfile::TempDir;
use tower::{Service, ServiceExt};
use wagate::lambda;
use wagate_core::SessionId;
use wagate_core::dispatch::{DispatchConfig, Dispatcher};
use wagate_functions::{ApiConfig, AppState, app};
use wagate_local::{LocalBackend, LocalOptions};
use wagate_testkit::WebhookReceiver;

const ADMIN: &str = "fixture-admin-key-0123456789";

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

async fn state(dir: &TempDir) -> AppState {
    let backend = LocalBackend::open(dir.path(), LocalOptions::default()).unwrap();
    let config = ApiConfig {
        admin_key: Some(ADMIN.into()),
        ..ApiConfig::default()
    };
    let state = AppState::new(backend.store(), backend.queue(), backend.blobs(), config);
    state.bootstrap().await.unwrap();
    state
}

/// Sends one API Gateway payload through the adapter `lambda_http::run` uses and returns the
/// response as API Gateway receives it (JSON).
async fn invoke(router: Router, payload: &str) -> Value {
    let request: LambdaRequest = serde_json::from_str(payload).expect("a valid payload");
    let mut adapter: Adapter<'_, _, _> = Adapter::from(router);
    let response = adapter
        .ready()
        .await
        .unwrap()
        .call(LambdaEvent::new(request, Context::default()))
        .await
        .expect("the adapter answers");
    serde_json::to_value(&response).unwrap()
}

fn body_json(response: &Value) -> Value {
    let body = response["body"].as_str().unwrap_or("");
    serde_json::from_str(body).unwrap_or(Value::Null)
}

#[tokio::test]
async fn api_gateway_v2_requests_create_a_session_and_enqueue_a_base64_body() {
    let dir = TempDir::new().unwrap();
    let state = state(&dir).await;

    let created = invoke(app(state.clone()), &fixture("apigw_v2_create_session.json")).await;
    assert_eq!(created["statusCode"], 201, "{created}");
    assert_eq!(body_json(&created)["id"], "shop-1");
    assert!(
        state
            .store
            .get_session(&SessionId::parse("shop-1").unwrap())
            .await
            .unwrap()
            .is_some()
    );

    let payload = fixture("apigw_v2_send_text_base64.json");
    let sent = invoke(app(state.clone()), &payload).await;
    assert_eq!(sent["statusCode"], 202, "{sent}");
    let job = body_json(&sent);
    assert_eq!(job["status"], "queued");
    let id = job["id"].as_str().unwrap().to_owned();
    // The same Idempotency-Key again: the same job, not a second one.
    let again = invoke(app(state.clone()), &payload).await;
    assert_eq!(body_json(&again)["id"], id.as_str());
    assert_eq!(
        state
            .queue
            .depth(&wagate_core::ports::names::send(
                &SessionId::parse("shop-1").unwrap()
            ))
            .await
            .unwrap(),
        1
    );
}

/// On Lambda the metrics go out as CloudWatch Embedded Metric Format: after a request, the
/// flush the runtime layer does after each invocation writes JSON lines with the `_aws`
/// metadata (namespace `wagate`) and the same names and labels as `GET /metrics`.
#[tokio::test]
async fn metrics_flush_as_cloudwatch_embedded_metric_format() {
    let emf = lambda::emf_metrics().expect("the only recorder of this test binary");
    let dir = TempDir::new().unwrap();
    let created = invoke(
        app(state(&dir).await),
        &fixture("apigw_v2_create_session.json"),
    )
    .await;
    assert_eq!(created["statusCode"], 201, "{created}");
    let mut out = Vec::new();
    emf.flush(&mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    let docs: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let request = docs
        .iter()
        .find(|d| d["route"] == "/api/sessions" && d["status"] == "201")
        .unwrap_or_else(|| panic!("no EMF document for the request: {text}"));
    assert_eq!(request["wagate_http_requests_total"], 1, "{request}");
    let meta = &request["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(meta["Namespace"], "wagate", "{request}");
    assert!(
        meta["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["Name"] == "wagate_http_requests_total"),
        "{request}"
    );
}

#[tokio::test]
async fn api_gateway_v1_requests_with_a_stage_reach_the_routes() {
    let dir = TempDir::new().unwrap();
    let state = state(&dir).await;
    let sid = SessionId::parse("listed").unwrap();
    let owner = wagate_core::ApiKey::new(ADMIN).hash().key_id();
    state
        .store
        .create_session(&wagate_core::Session::new(sid, owner, 0))
        .await
        .unwrap();
    let listed = invoke(app(state.clone()), &fixture("apigw_v1_list_sessions.json")).await;
    assert_eq!(listed["statusCode"], 200, "{listed}");
    let body = body_json(&listed);
    assert_eq!(body["count"], 1, "{body}");
    assert_eq!(body["sessions"][0]["id"], "listed");

    let refused = invoke(app(state), &fixture("apigw_v1_bad_key.json")).await;
    assert_eq!(refused["statusCode"], 401, "{refused}");
    assert!(body_json(&refused)["error"]["code"].is_string());
}

#[tokio::test]
async fn sqs_batches_report_only_the_events_to_retry() {
    let dir = TempDir::new().unwrap();
    let state = state(&dir).await;
    let receiver = WebhookReceiver::start("s3cret").await;
    let base = receiver.base();
    for (id, path, secret) in [
        ("hooked", "hook", Some("s3cret")),
        ("failing", "fail", None),
    ] {
        let sid = SessionId::parse(id).unwrap();
        let session =
            wagate_core::Session::new(sid.clone(), wagate_core::KeyId::from_string("key_x"), 0);
        state.store.create_session(&session).await.unwrap();
        state
            .store
            .set_session_webhook(&sid, Some(&format!("{base}/{path}")), secret)
            .await
            .unwrap();
    }
    let dispatcher = Dispatcher::new(
        state.store.clone(),
        state.queue.clone(),
        DispatchConfig::default(),
    );
    let event: SqsEvent = serde_json::from_str(&fixture("sqs_events.json")).unwrap();
    let response = lambda::handle_webhook_batch(&dispatcher, event).await;

    let failed: Vec<&str> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(failed, vec!["0b8b1e3e-2222-4c4b-9e0e-000000000002"]);
    assert_eq!(receiver.failed(), 1, "the failing webhook was tried once");

    // The receiver keeps only bodies signed with the session's secret.
    let got = receiver.received();
    assert_eq!(got.len(), 1);
    assert_eq!(receiver.bad_signatures(), 0);
    let body = &got[0].body;
    assert_eq!(body["event"], "message_received");
    assert_eq!(body["data"]["id"], "hooked");

    // The malformed record is kept as a dead letter, not retried forever.
    let dead = state.store.list_dead_letters(None, 10).await.unwrap().items;
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].body, "not json at all");
}
