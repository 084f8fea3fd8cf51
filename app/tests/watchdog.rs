//! The watchdog for silent sessions, end to end on the simulated network: a session whose
//! connection stops hearing from WhatsApp (`/api/dev/sessions/:id/silence`, a socket that
//! died without closing) is reconnected after `SESSION_STALE_MS` with `session_stale` and
//! `session_closed`, opens again, sends again, and shows the drop in `GET /api/sessions/:id`.

mod common;

use axum::http::StatusCode;
use serde_json::json;

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_session_is_reconnected_and_says_why() {
    let local = start_local_with(&[("SESSION_STALE_MS", "1200")]).await;
    let mut hook = webhook_receiver().await;
    local.open_session("shop", &mut hook).await;

    // Alive and well: hearing WhatsApp all along, so nothing happens past the threshold.
    tokio::time::sleep(std::time::Duration::from_millis(2000)).await;
    let s = local.get("/api/sessions/shop").await;
    assert_eq!(s["status"], "open");
    assert_eq!(
        (&s["reconnects"], &s["lastDisconnect"]),
        (&json!(0), &json!(null)),
        "{s}"
    );

    let (st, _) = local
        .post("/api/dev/sessions/shop/silence", json!({}))
        .await;
    assert_eq!(st, StatusCode::ACCEPTED);
    let stale = hook.next("session_stale").await;
    assert!(
        stale["data"]["silentForMs"].as_u64().unwrap() >= 1200,
        "{stale}"
    );
    assert!(
        stale["data"]["lastTrafficAt"].as_i64().unwrap() > 0,
        "{stale}"
    );
    let closed = hook.next("session_closed").await;
    assert_eq!(closed["data"]["status"], "closed");
    assert!(
        closed["data"]["reason"]
            .as_str()
            .unwrap()
            .starts_with("stale"),
        "{closed}"
    );
    hook.next("session_open").await;
    local.wait_session("shop", |s| s["status"] == "open").await;

    let s = local.get("/api/sessions/shop").await;
    assert_eq!(s["reconnects"], 1, "{s}");
    assert_eq!(s["lastDisconnect"]["cause"], "stale", "{s}");
    assert!(s["lastDisconnect"]["at"].as_i64().unwrap() > 0);

    // The new connection hears WhatsApp again: a send goes out.
    let (st, job) = local
        .post(
            "/api/messages/text?wait=10",
            json!({ "sessionId": "shop", "to": "628123456789", "text": "back" }),
        )
        .await;
    assert_eq!(
        (st, &job["status"]),
        (StatusCode::OK, &json!("sent")),
        "{job}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watchdog_is_off_at_zero() {
    let local = start_local_with(&[("SESSION_STALE_MS", "0")]).await;
    let mut hook = webhook_receiver().await;
    local.open_session("shop", &mut hook).await;
    let (st, _) = local
        .post("/api/dev/sessions/shop/silence", json!({}))
        .await;
    assert_eq!(st, StatusCode::ACCEPTED);
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let s = local.get("/api/sessions/shop").await;
    assert_eq!(
        (&s["status"], &s["reconnects"]),
        (&json!("open"), &json!(0)),
        "{s}"
    );
}
