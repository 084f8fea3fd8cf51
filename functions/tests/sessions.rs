//! Session routes, webhook configuration, admin settings, health and HTTP hygiene.

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use common::*;
use serde_json::json;
use wagate_core::ports::names;
use wagate_core::{EventKind, HostCommand, SessionId};

const CONFIGURE: &str = "/api/webhooks/configure";

async fn control_commands(app: &TestApp) -> Vec<HostCommand> {
    let msgs = app
        .state
        .queue
        .receive(
            names::CONTROL,
            10,
            std::time::Duration::from_secs(30),
            std::time::Duration::ZERO,
        )
        .await
        .unwrap();
    for m in &msgs {
        app.state
            .queue
            .ack(names::CONTROL, &m.receipt)
            .await
            .unwrap();
    }
    msgs.iter()
        .map(|m| serde_json::from_str(&m.body).unwrap())
        .collect()
}

#[tokio::test]
async fn create_session_starts_it_on_the_host() {
    let app = spawn_app().await;
    let r = app
        .post("/api/sessions", USER_A, json!({ "sessionId": "clinic", "webhookUrl": "http://127.0.0.1:9/hook", "webhookSecret": "s" }))
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.body["id"], "clinic");
    assert_eq!(r.body["status"], "connecting");
    assert_eq!(r.body["hasWebhookSecret"], true);
    assert!(r.body.get("webhookSecret").is_none());
    let cmds = control_commands(&app).await;
    assert_eq!(
        cmds,
        vec![HostCommand::Start {
            session_id: SessionId::parse("clinic").unwrap()
        }]
    );
    // Its send queue exists.
    assert_eq!(app.queued("clinic").await, 0);
}

#[tokio::test]
async fn a_session_proxy_is_kept_but_its_password_never_shown() {
    let app = spawn_app().await;
    let body = json!({ "sessionId": "proxied", "proxy": "http://bob:hunter2@proxy.corp:3128" });
    let r = app
        .post_expect("/api/sessions", USER_A, body, StatusCode::CREATED)
        .await;
    assert_eq!(r.body["proxy"], "http://bob:***@proxy.corp:3128");
    let shown = app.get("/api/sessions/proxied", USER_A).await;
    assert_eq!(shown.body["proxy"], "http://bob:***@proxy.corp:3128");
    assert!(!shown.body.to_string().contains("hunter2"));
    let stored = app.stored_session("proxied").await.unwrap();
    assert_eq!(
        stored.proxy.map(|p| p.expose().to_owned()).as_deref(),
        Some("http://bob:hunter2@proxy.corp:3128")
    );
}

#[tokio::test]
async fn a_bad_proxy_is_a_400_and_creates_nothing() {
    let app = spawn_app().await;
    for proxy in ["socks5://proxy:1080", "http://proxy:3128/path", "::::"] {
        let body = json!({ "sessionId": "badproxy", "proxy": proxy });
        let r = app.post("/api/sessions", USER_A, body).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{proxy}: {:?}", r.body);
        assert!(r.error_message().starts_with("proxy:"), "{:?}", r.body);
    }
    assert!(app.stored_session("badproxy").await.is_none());
    assert!(control_commands(&app).await.is_empty());
}

#[tokio::test]
async fn create_session_without_body_generates_an_id() {
    let app = spawn_app().await;
    let r = app
        .call(Method::POST, "/api/sessions", Some(USER_A), None)
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert!(SessionId::parse(r.body["id"].as_str().unwrap()).is_ok());
}

#[tokio::test]
async fn duplicate_or_invalid_session_ids_are_refused() {
    let app = app_with_session("dup").await;
    let bad_hook = json!({ "sessionId": "h", "webhookUrl": "ftp://x" });
    for (key, body, status) in [
        (USER_B, json!({ "sessionId": "dup" }), StatusCode::CONFLICT),
        (
            USER_A,
            json!({ "sessionId": "../etc" }),
            StatusCode::BAD_REQUEST,
        ),
        (USER_A, bad_hook, StatusCode::BAD_REQUEST),
    ] {
        app.post_expect("/api/sessions", key, body, status).await;
    }
}

#[tokio::test]
async fn delete_session_removes_it_and_tells_the_host() {
    let app = app_with_session("gone").await;
    let _ = control_commands(&app).await;
    let r = app.delete("/api/sessions/gone", USER_A).await;
    assert_eq!(r.status, StatusCode::OK);
    app.expect_get("/api/sessions/gone", USER_A, StatusCode::NOT_FOUND)
        .await;
    let cmds = control_commands(&app).await;
    let gone = SessionId::parse("gone").unwrap();
    assert!(cmds.iter().any(|c| matches!(
        c,
        HostCommand::Delete { session_id, deleted_at_ms: Some(_) } if *session_id == gone
    )));
}

#[tokio::test]
async fn qr_status_and_pair_code_routes() {
    let app = app_with_session("p").await;
    let qr = app.get("/api/sessions/p/qr", USER_A).await;
    assert_eq!(qr.status, StatusCode::OK);
    assert_eq!(qr.body["status"], "connecting");
    assert!(qr.body["qr"].is_null());
    assert_eq!(
        app.get("/api/sessions/p/status", USER_A).await.body["status"],
        "connecting"
    );
    let pair_code = |phone: &str| {
        app.post(
            "/api/sessions/p/pair-code",
            USER_A,
            json!({ "phone": phone }),
        )
    };
    assert_eq!(pair_code("628123456789").await.status, StatusCode::ACCEPTED);
    let cmds = control_commands(&app).await;
    assert!(
        cmds.iter()
            .any(|c| matches!(c, HostCommand::PairCode { phone, .. } if phone == "628123456789"))
    );
    assert_eq!(pair_code("0812").await.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn webhook_configure_sets_the_session_webhook() {
    let app = app_with_session("w").await;
    let hook = json!({ "sessionId": "w", "url": "https://app.example/hook", "secret": "abc" });
    app.post_expect(CONFIGURE, USER_A, hook, StatusCode::OK)
        .await;
    let s = app.stored_session("w").await.unwrap();
    assert_eq!(s.webhook_url.as_deref(), Some("https://app.example/hook"));
    assert_eq!(s.webhook_secret.as_deref(), Some("abc"));
    // Only admins set the default webhook.
    let user_default = json!({ "url": "https://x.example/h" });
    app.post_expect(CONFIGURE, USER_A, user_default, StatusCode::BAD_REQUEST)
        .await;
    let admin_default = json!({ "url": "https://x.example/h", "secret": "z" });
    app.post_expect(CONFIGURE, ADMIN, admin_default, StatusCode::OK)
        .await;
    assert_eq!(
        app.get("/api/admin/webhook", ADMIN).await.body["webhookUrl"],
        "https://x.example/h"
    );
}

#[tokio::test]
async fn webhook_configure_turns_deliveries_off_and_on_and_selects_events() {
    let app = app_with_session("w").await;
    let hook = json!({ "sessionId": "w", "url": "https://app.example/hook", "secret": "abc" });
    app.post_expect(CONFIGURE, USER_A, hook, StatusCode::OK)
        .await;

    // Off, then only two events: the webhook itself stays as it was.
    let off = app
        .post_expect(
            CONFIGURE,
            USER_A,
            json!({ "sessionId": "w", "enabled": false }),
            StatusCode::OK,
        )
        .await;
    assert_eq!(off.body["enabled"], false);
    assert_eq!(off.body["webhookUrl"], "https://app.example/hook");
    let s = app.stored_session("w").await.unwrap();
    assert!(s.events.disabled);
    assert_eq!(s.webhook_url.as_deref(), Some("https://app.example/hook"));
    let some =
        json!({ "sessionId": "w", "enabled": true, "events": ["message_received", "qr", "qr"] });
    let r = app
        .post_expect(CONFIGURE, USER_A, some, StatusCode::OK)
        .await;
    assert_eq!(r.body["events"], json!(["message_received", "qr"]));
    let s = app.stored_session("w").await.unwrap();
    assert!(!s.events.disabled);
    assert!(s.events.allows(EventKind::Qr) && !s.events.allows(EventKind::MessageSent));
    let view = app.get("/api/sessions/w", USER_A).await;
    assert_eq!(view.body["webhookEnabled"], true);
    assert_eq!(view.body["events"], json!(["message_received", "qr"]));
    let all = json!({ "sessionId": "w", "events": ["*"] });
    app.post_expect(CONFIGURE, USER_A, all, StatusCode::OK)
        .await;
    assert!(app.stored_session("w").await.unwrap().events.is_default());

    // Bad input changes nothing.
    app.post(
        CONFIGURE,
        USER_A,
        json!({ "sessionId": "w", "enabled": false }),
    )
    .await;
    let before = app.stored_session("w").await.unwrap();
    for bad in [
        json!({ "sessionId": "w", "events": ["message_recieved"] }),
        json!({ "sessionId": "w", "events": [] }),
        json!({ "sessionId": "w", "enabled": "no" }),
        json!({ "sessionId": "w", "events": "qr" }),
        json!({ "enabled": true }),
    ] {
        let r = app.post(CONFIGURE, ADMIN, bad.clone()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {:?}", r.body);
        assert!(r.body["error"]["message"].is_string());
    }
    assert_eq!(app.stored_session("w").await.unwrap(), before);
    // Another user's session: not found, not changed.
    let theirs = json!({ "sessionId": "w", "enabled": true });
    app.post_expect(CONFIGURE, USER_B, theirs, StatusCode::NOT_FOUND)
        .await;
    assert_eq!(app.stored_session("w").await.unwrap(), before);
}

#[tokio::test]
async fn sessions_created_with_an_event_list_deliver_only_those() {
    let app = spawn_app().await;
    let body = json!({ "sessionId": "picky", "events": ["message_received"] });
    let r = app
        .post_expect("/api/sessions", ADMIN, body, StatusCode::CREATED)
        .await;
    assert_eq!(r.body["events"], json!(["message_received"]));
    let s = app.stored_session("picky").await.unwrap();
    assert!(s.events.allows(EventKind::MessageReceived) && !s.events.allows(EventKind::Qr));
    let bad = json!({ "sessionId": "picky2", "events": ["nope"] });
    app.post_expect("/api/sessions", ADMIN, bad, StatusCode::BAD_REQUEST)
        .await;
    assert!(app.stored_session("picky2").await.is_none());
}

#[tokio::test]
async fn admin_config_validates_every_setting_before_storing_any() {
    let app = spawn_app().await;
    let bad = json!({ "cooldownMs": 5000, "rateLimit": { "windowMs": 10, "max": 0 } });
    let bad = app.post("/api/admin/config", ADMIN, bad).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        app.get("/api/admin/config", ADMIN).await.body["cooldownMs"],
        0
    );
    let unknown = app
        .post("/api/admin/config", ADMIN, json!({ "colour": "blue" }))
        .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    let ok = app
        .post("/api/admin/config", ADMIN, json!({ "cooldownMs": 5000 }))
        .await;
    assert_eq!(ok.body["cooldownMs"], 5000);
}

#[tokio::test]
async fn dev_routes_exist_only_with_the_simulator() {
    for (dev_routes, status) in [(false, StatusCode::NOT_FOUND), (true, StatusCode::ACCEPTED)] {
        let app = spawn_app_with(|c| c.dev_routes = dev_routes).await;
        app.create_session(USER_A, "d").await;
        let incoming = json!({ "from": "628123456789", "text": "hi" });
        let r = app
            .post("/api/dev/sessions/d/incoming", USER_A, incoming)
            .await;
        assert_eq!(r.status, status);
    }
}

#[tokio::test]
async fn health_routes_answer_without_a_key() {
    let app = spawn_app().await;
    for path in ["/health", "/health/live", "/health/ready", "/ping"] {
        let r = app.get_without_key(path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
    }
    let ping = app.get_without_key("/ping").await;
    assert_eq!(ping.body["pong"], true, "the seed server's shape");
    assert_eq!(ping.body["message"], "pong");
    assert!(
        ping.body["ts"]
            .as_i64()
            .is_some_and(|t| t > 1_600_000_000_000)
    );
    let ready = app.get_without_key("/health/ready").await;
    assert_eq!(ready.body["status"], "ready");
}

#[tokio::test]
async fn health_summarises_sessions_by_status_without_naming_them() {
    let app = spawn_app().await;
    app.create_session(ADMIN, "secret-shop").await;
    app.create_session(ADMIN, "other-shop").await;
    let r = app.get_without_key("/health").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["sessions"]["total"], 2);
    let by = r.body["sessions"]["byStatus"].as_object().unwrap();
    assert_eq!(by.values().filter_map(|n| n.as_u64()).sum::<u64>(), 2);
    assert!(r.body["uptimeSecs"].is_u64());
    assert!(r.body["memory"]["rssBytes"].as_u64().is_some_and(|b| b > 0));
    assert_eq!(r.body["loadAverage"].as_array().map(Vec::len), Some(3));
    let text = r.body.to_string();
    assert!(
        !text.contains("secret-shop") && !text.contains("other-shop"),
        "{text}"
    );
}

#[tokio::test]
async fn the_seed_servers_webhook_default_route_sets_the_default_webhook() {
    let app = spawn_app().await;
    let body = json!({ "url": "https://hooks.example/in", "secret": "s3cr3t" });
    let r = app.post("/api/admin/webhook-default", ADMIN, body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let got = app.get("/api/admin/webhook", ADMIN).await;
    assert_eq!(got.body["webhookUrl"], "https://hooks.example/in");
    let same = app.get("/api/admin/webhook-default", ADMIN).await;
    assert_eq!(same.body, got.body);
}

#[tokio::test]
async fn responses_carry_security_headers_and_a_request_id() {
    let app = spawn_app().await;
    let r = app.get_without_key("/health").await;
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(r.header("x-frame-options"), Some("SAMEORIGIN"));
    assert!(r.header("content-security-policy").is_some());
    assert!(r.header("strict-transport-security").is_some());
    assert!(!r.header("x-request-id").unwrap_or("").is_empty());
    let unknown = app.get_without_key("/nope").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.error_code(), "route_not_found");
}

#[tokio::test]
async fn cors_allows_only_listed_origins() {
    let app = spawn_app_with(|c| c.allowed_origins = vec!["https://shop.example".into()]).await;
    let preflight = |origin: &'static str| {
        Request::builder()
            .method(Method::OPTIONS)
            .uri("/api/sessions")
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "x-api-key")
            .body(Body::empty())
            .unwrap()
    };
    let ok = app.request(preflight("https://shop.example")).await;
    assert_eq!(
        ok.header("access-control-allow-origin"),
        Some("https://shop.example")
    );
    let no = app.request(preflight("https://evil.example")).await;
    assert_eq!(no.header("access-control-allow-origin"), None);
}

#[tokio::test]
async fn admin_lists_and_replays_dead_letters() {
    let app = spawn_app().await;
    let dl = wagate_core::ports::DeadLetter {
        id: "evt_dead".into(),
        session_id: "s".into(),
        body: r#"{"id":"evt_dead"}"#.into(),
        attempts: 8,
        last_error: "webhook answered HTTP 500".into(),
        failed_at: 1,
    };
    app.state.store.put_dead_letter(&dl).await.unwrap();
    let list = app.get("/api/admin/dead-letters", ADMIN).await;
    assert_eq!(list.body["count"], 1);
    assert_eq!(
        list.body["deadLetters"][0]["lastError"],
        "webhook answered HTTP 500"
    );
    let before = app.state.queue.depth(names::EVENTS).await.unwrap();
    let replay = || app.post("/api/admin/dead-letters/evt_dead/replay", ADMIN, json!({}));
    assert_eq!(replay().await.status, StatusCode::OK);
    assert_eq!(
        app.state.queue.depth(names::EVENTS).await.unwrap(),
        before + 1
    );
    assert_eq!(
        app.get("/api/admin/dead-letters", ADMIN).await.body["count"],
        0
    );
    assert_eq!(replay().await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn qr_is_served_as_svg_when_there_is_one() {
    let app = app_with_session("svg").await;
    let none = app.get("/api/sessions/svg/qr?format=svg", USER_A).await;
    assert_eq!(none.status, StatusCode::NOT_FOUND);
    assert_eq!(none.error_code(), "no_qr");
    let id = SessionId::parse("svg").unwrap();
    app.state
        .store
        .set_session_state(
            &id,
            wagate_core::SessionStatus::Qr,
            Some("2@abc,def,ghi,jkl"),
            None,
            None,
        )
        .await
        .unwrap();
    let r = app.get("/api/sessions/svg/qr?format=svg", USER_A).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("content-type"), Some("image/svg+xml"));
    let svg = r.body.as_str().unwrap();
    assert!(svg.contains("<svg") && svg.contains("<path"), "{svg}");
    assert_eq!(
        app.get("/api/sessions/svg/qr?format=png", USER_A)
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn logout_and_restart_reach_the_host_and_unknown_sessions_are_404() {
    let app = app_with_session("lr").await;
    let _ = control_commands(&app).await;
    for action in ["logout", "restart"] {
        let path = format!("/api/sessions/lr/{action}");
        app.post_expect(&path, USER_A, json!({}), StatusCode::ACCEPTED)
            .await;
    }
    let id = SessionId::parse("lr").unwrap();
    let cmds = control_commands(&app).await;
    assert!(cmds.contains(&HostCommand::Logout {
        session_id: id.clone()
    }));
    assert!(cmds.contains(&HostCommand::Start { session_id: id }));
    for path in [
        "/api/sessions/nope/logout",
        "/api/sessions/nope/restart",
        "/api/sessions/lr/logout",
    ] {
        let key = if path.contains("/lr/") {
            USER_B
        } else {
            USER_A
        };
        let r = app.post(path, key, json!({})).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(r.error_code(), "session_not_found");
    }
}

#[tokio::test]
async fn parked_sends_are_listed_page_by_page_and_redriven_by_an_admin() {
    let app = spawn_app().await;
    app.create_session(ADMIN, "shop").await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let text = json!({ "sessionId": "shop", "to": format!("62812345678{i}"), "text": "hi" });
        let sent = app.post("/api/messages/text", ADMIN, text).await;
        assert_eq!(sent.status, StatusCode::ACCEPTED);
        let id = wagate_core::JobId::from_string(sent.body["id"].as_str().unwrap());
        // What the worker does when the attempts run out.
        let q = names::send(&SessionId::parse("shop").unwrap());
        let taken = app
            .state
            .queue
            .receive(
                &q,
                1,
                std::time::Duration::from_secs(30),
                std::time::Duration::ZERO,
            )
            .await
            .unwrap();
        app.state.queue.ack(&q, &taken[0].receipt).await.unwrap();
        app.state
            .store
            .update_job(
                &id,
                wagate_core::JobState::Failed,
                5,
                Some("timeout (gave up after 5 attempts)"),
                None,
            )
            .await
            .unwrap();
        let job = app.state.store.get_job(&id).await.unwrap().unwrap();
        wagate_core::dead_sends::park(app.state.store.as_ref(), app.state.queue.as_ref(), &job)
            .await
            .unwrap();
        ids.push(id.to_string());
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }

    let first = app.get("/api/admin/dead-sends?limit=2", ADMIN).await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(
        (first.body["count"].as_u64(), first.body["queued"].as_u64()),
        (Some(2), Some(3))
    );
    assert_eq!(first.body["jobs"][0]["status"], "failed");
    let cursor = first.body["nextCursor"]
        .as_str()
        .expect("a next page")
        .to_owned();
    let second = app
        .get(
            &format!("/api/admin/dead-sends?limit=2&cursor={cursor}"),
            ADMIN,
        )
        .await;
    assert_eq!(second.body["count"], 1);
    assert!(second.body["nextCursor"].is_null());
    let listed: Vec<&str> = [&first, &second]
        .iter()
        .flat_map(|p| p.body["jobs"].as_array().unwrap())
        .map(|j| j["id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ids, "every parked send once, oldest first");
    let bad = app.get("/api/admin/dead-sends?limit=lots", ADMIN).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);

    let r = app
        .post("/api/admin/dead-sends/redrive", ADMIN, json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        (r.body["redriven"].as_u64(), r.body["dropped"].as_u64()),
        (Some(3), Some(0))
    );
    assert_eq!(app.queued("shop").await, 3);
    let job = app.get(&format!("/api/messages/{}", ids[0]), ADMIN).await;
    assert_eq!(job.body["status"], "queued");
    let after = app.get("/api/admin/dead-sends", ADMIN).await;
    assert_eq!(
        (after.body["count"].as_u64(), after.body["queued"].as_u64()),
        (Some(0), Some(0))
    );
}
