//! Clients that hang up mid-request: the handler's future is polled N times and dropped, for
//! every N from "before anything" to "after the answer", as hyper drops it when the client
//! disconnects. Whatever N, nothing is half-done: every job recorded `queued` is on its
//! session's queue, every queued media job's blob exists, and no blob is left without a job.

mod common;

use std::future::Future;
use std::task::Context;
use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use common::*;
use serde_json::json;
use tower::ServiceExt;

const BOUNDARY: &str = "cancelboundary";

/// Polls the request's future `polls` times (letting the database answer in between), then
/// drops it: at once, or (`settle`) after what the last poll started has had time to finish.
/// True when it finished before that.
async fn run_then_hang_up(app: &TestApp, req: Request<Body>, polls: usize, settle: bool) -> bool {
    let mut fut = Box::pin(app.router.clone().oneshot(req));
    let waker = futures::task::noop_waker();
    let mut cx = Context::from_waker(&waker);
    for i in 0..polls {
        if i > 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        if fut.as_mut().poll(&mut cx).is_ready() {
            return true;
        }
    }
    if settle {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    false
}

/// Every cut: after 0 … `max` polls, each dropped at once and after settling.
fn cut_points(max: usize) -> impl Iterator<Item = (usize, bool)> {
    (0..max).flat_map(|n| [(n, false), (n, true)])
}

/// `(queued jobs, their media blob keys)` of `session`, read from the database file.
fn queued_jobs(app: &TestApp, session: &str) -> (u64, Vec<String>) {
    let db = rusqlite::Connection::open(app.db_path()).unwrap();
    let mut st = db
        .prepare("SELECT message FROM jobs WHERE session_id = ?1 AND state = 'queued'")
        .unwrap();
    let messages: Vec<String> = st
        .query_map([session], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let keys = messages
        .iter()
        .filter_map(|m| {
            let v: serde_json::Value = serde_json::from_str(m).ok()?;
            v.pointer("/content/source/blob/key")
                .and_then(|k| k.as_str())
                .map(str::to_owned)
        })
        .collect();
    (messages.len() as u64, keys)
}

async fn assert_nothing_half_done(app: &TestApp, session: &str, polls: usize) {
    // Work the dropped request handed to a task of its own finishes on its own.
    tokio::time::sleep(Duration::from_millis(150)).await;
    let (jobs, keys) = queued_jobs(app, session);
    assert_eq!(
        app.queued(session).await,
        jobs,
        "after {polls} polls: every queued job is on the queue, and only those"
    );
    for key in &keys {
        assert!(
            app.state.blobs.get(key).await.unwrap().is_some(),
            "after {polls} polls: the blob of a queued job is gone"
        );
    }
    let mut stored = app.state.blobs.list("media/").await.unwrap();
    stored.sort();
    let mut owned = keys.clone();
    owned.sort();
    assert_eq!(stored, owned, "after {polls} polls: a blob without a job");
}

fn text(session: &str, idempotency: Option<&str>) -> Request<Body> {
    let mut req = post_request("/api/messages/text", USER_A, "application/json");
    if let Some(k) = idempotency {
        req = req.header("idempotency-key", k);
    }
    req.body(Body::from(
        json!({ "sessionId": session, "to": "628123456789", "text": "hi" }).to_string(),
    ))
    .unwrap()
}

fn two_files(session: &str) -> Request<Body> {
    let mut body = Vec::new();
    let mut part = |head: String, data: &[u8]| {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n{head}\r\n\r\n").as_bytes());
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    };
    let field = |name: &str| format!("Content-Disposition: form-data; name=\"{name}\"");
    part(field("sessionId"), session.as_bytes());
    part(field("to"), b"628123456789");
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.resize(300, 1);
    for name in ["a.png", "b.png"] {
        part(
            format!(
                "{}; filename=\"{name}\"\r\nContent-Type: image/png",
                field("file")
            ),
            &png,
        );
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    post_request(
        "/api/messages/media/file",
        USER_A,
        &format!("multipart/form-data; boundary={BOUNDARY}"),
    )
    .body(Body::from(body))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_send_cut_off_anywhere_is_queued_whole_or_not_at_all() {
    let app = app_with_session("cut").await;
    for (polls, settle) in cut_points(40) {
        if run_then_hang_up(&app, text("cut", None), polls, settle).await {
            break;
        }
        assert_nothing_half_done(&app, "cut", polls).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idempotent_send_cut_off_anywhere_is_queued_once_after_its_replay() {
    let app = app_with_session("idem").await;
    for (polls, settle) in cut_points(40) {
        let key = format!("k-{polls}-{settle}");
        let finished = run_then_hang_up(&app, text("idem", Some(&key)), polls, settle).await;
        assert_nothing_half_done(&app, "idem", polls).await;
        // The client tries again with the same key: one job, queued once.
        let before = app.queued("idem").await;
        let r = app.request(text("idem", Some(&key))).await;
        assert!(r.status.is_success(), "{:?}", r.body);
        let after = app.queued("idem").await;
        assert!(
            after - before <= 1,
            "after {polls} polls: the replay queued twice"
        );
        assert_nothing_half_done(&app, "idem", polls).await;
        if finished {
            break;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_multi_file_upload_cut_off_anywhere_leaves_all_or_nothing() {
    let app = app_with_session("up").await;
    for (polls, settle) in cut_points(60) {
        let before = app.queued("up").await;
        let finished = run_then_hang_up(&app, two_files("up"), polls, settle).await;
        assert_nothing_half_done(&app, "up", polls).await;
        let added = app.queued("up").await - before;
        assert!(
            added == 0 || added == 2,
            "after {polls} polls: {added} of 2 files queued"
        );
        if finished {
            break;
        }
    }
}
