//! Every message route: the happy path stores the right job; bad input is a clear 4xx and
//! enqueues nothing.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::*;
use serde_json::{Value, json};
use wagate_core::{JobId, MessageContent};

const TEXT: &str = "/api/messages/text";
const BAD: StatusCode = StatusCode::BAD_REQUEST;
const INVALID: &str = "validation_error";

/// `body` addressed to `to` through session `session`.
fn addressed(session: &str, to: &str, mut body: Value) -> Value {
    body["sessionId"] = json!(session);
    body["to"] = json!(to);
    body
}

fn with_target(body: Value) -> Value {
    addressed("shop", "628123456789", body)
}

/// Sends `body` to `route`, expects 202, and returns the stored job's content.
async fn accepted(app: &TestApp, route: &str, body: Value) -> MessageContent {
    let r = app.post(route, USER_A, with_target(body)).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{route}: {:?}", r.body);
    assert_eq!(r.body["status"], "queued");
    let id = r.body["id"].as_str().unwrap();
    assert!(id.starts_with("msg_"));
    let job = app.job(&r.body["id"]).await;
    assert_eq!(job.to.as_str(), "628123456789@s.whatsapp.net");
    job.message.content
}

#[tokio::test]
async fn text_with_mentions_is_queued() {
    let app = app_with_session("shop").await;
    let c = accepted(
        &app,
        "/api/messages/text",
        json!({ "text": "hi @62811", "mentions": ["6281111111", 6282222222u64] }),
    )
    .await;
    let MessageContent::Text { text, mentions } = c else {
        panic!("{c:?}")
    };
    assert_eq!(text, "hi @62811");
    let m: Vec<&str> = mentions.iter().map(|j| j.as_str()).collect();
    assert_eq!(
        m,
        ["6281111111@s.whatsapp.net", "6282222222@s.whatsapp.net"]
    );
    assert_eq!(app.queued("shop").await, 1);
}

#[tokio::test]
async fn quoted_reply_is_kept() {
    let app = app_with_session("shop").await;
    let reply = json!({ "text": "yes", "quoted": { "id": "3EB0AA", "text": "ok?" } });
    let r = app.post(TEXT, USER_A, with_target(reply)).await;
    let job = app.job(&r.body["id"]).await;
    assert_eq!(job.message.quoted.unwrap().id, "3EB0AA");
}

#[tokio::test]
async fn location_forward_buttons_list_poll_vcard_raw_are_queued() {
    let app = app_with_session("shop").await;
    assert!(matches!(
        accepted(
            &app,
            "/api/messages/location",
            json!({ "latitude": -6.2, "longitude": 106.8, "name": "Monas" })
        )
        .await,
        MessageContent::Location { .. }
    ));
    assert!(matches!(
        accepted(&app, "/api/messages/forward", json!({ "messageId": "3EB0X", "chat": "628999999999", "message": { "conversation": "fwd" } })).await,
        MessageContent::Forward { .. }
    ));
    let b = accepted(&app, "/api/messages/buttons", json!({ "text": "Pick", "buttons": [{ "id": "a", "text": "A" }, { "buttonId": "b", "displayText": "B" }] })).await;
    let MessageContent::Buttons { buttons, .. } = b else {
        panic!()
    };
    assert_eq!(buttons.len(), 2);
    assert_eq!(buttons[1].text, "B");
    assert!(matches!(
        accepted(&app, "/api/messages/list", json!({ "text": "Menu", "buttonText": "Open", "sections": [{ "title": "Food", "rows": [{ "id": "r1", "title": "Rice" }] }] })).await,
        MessageContent::List { .. }
    ));
    let p = accepted(
        &app,
        "/api/messages/poll",
        json!({ "name": "Lunch?", "options": ["Rice", "Noodles"], "selectableCount": 1 }),
    )
    .await;
    assert!(matches!(
        p,
        MessageContent::Poll {
            selectable_count: 1,
            ..
        }
    ));
    let v = accepted(
        &app,
        "/api/messages/vcard",
        json!({ "fullName": "Ana", "phone": "+62 812 3456 789", "organization": "Clinic" }),
    )
    .await;
    let MessageContent::Contact { contact } = v else {
        panic!()
    };
    assert_eq!(contact.phone, "628123456789");
    assert!(matches!(
        accepted(
            &app,
            "/api/messages/raw",
            json!({ "message": { "conversation": "raw" } })
        )
        .await,
        MessageContent::Raw { .. }
    ));
    assert_eq!(app.queued("shop").await, 7);
}

#[tokio::test]
async fn bad_inputs_are_4xx_with_a_clear_error_and_enqueue_nothing() {
    let app = app_with_session("shop").await;
    let four_buttons = json!({ "text": "t", "buttons": [{"id":"1","text":"1"},{"id":"2","text":"2"},{"id":"3","text":"3"},{"id":"4","text":"4"}] });
    let hologram = json!({ "mediaUrl": "https://e.com/x", "mediaType": "hologram" });
    let cases: Vec<(&str, Value, StatusCode, &str)> = vec![
        (TEXT, with_target(json!({ "text": "" })), BAD, INVALID),
        (
            TEXT,
            addressed("shop", "08123", json!({ "text": "x" })),
            BAD,
            INVALID,
        ),
        (
            TEXT,
            addressed("shop", "abc", json!({ "text": "x" })),
            BAD,
            INVALID,
        ),
        (
            TEXT,
            addressed("nope", "628123456789", json!({ "text": "x" })),
            StatusCode::NOT_FOUND,
            "session_not_found",
        ),
        (
            TEXT,
            with_target(json!({ "text": 42 })),
            BAD,
            "invalid_body",
        ),
        (TEXT, with_target(json!({})), BAD, "invalid_body"),
        (
            "/api/messages/buttons",
            with_target(four_buttons),
            BAD,
            INVALID,
        ),
        (
            "/api/messages/poll",
            with_target(json!({ "name": "q", "options": ["only"] })),
            BAD,
            INVALID,
        ),
        (
            "/api/messages/media",
            with_target(json!({ "mediaUrl": "file:///etc/passwd" })),
            BAD,
            INVALID,
        ),
        ("/api/messages/media", with_target(hologram), BAD, INVALID),
        (
            "/api/messages/location",
            with_target(json!({ "latitude": 100, "longitude": 0 })),
            BAD,
            INVALID,
        ),
        (
            "/api/messages/sticker",
            with_target(json!({})),
            BAD,
            INVALID,
        ),
        (
            "/api/messages/gif",
            with_target(json!({ "videoUrl": "https://e.com/a.gif" })),
            BAD,
            INVALID,
        ),
        (
            "/api/messages/vcard",
            with_target(json!({ "fullName": "A", "phone": "12" })),
            BAD,
            INVALID,
        ),
        (
            "/api/messages/raw",
            with_target(json!({ "message": "hi" })),
            BAD,
            INVALID,
        ),
    ];
    for (route, body, status, code) in cases {
        let r = app.post(route, USER_A, body.clone()).await;
        assert_eq!(r.status, status, "{route} {body}: {:?}", r.body);
        assert_eq!(r.error_code(), code, "{route} {body}");
        assert!(!r.error_message().is_empty());
    }
    assert_eq!(app.queued("shop").await, 0);
}

#[tokio::test]
async fn malformed_json_and_wrong_content_type_are_4xx() {
    let app = app_with_session("shop").await;
    let malformed = post_request(TEXT, USER_A, "application/json").body(Body::from("{nope"));
    let r = app.request(malformed.unwrap()).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.error_code(), "invalid_json");
    let r = app
        .request(
            Request::post("/api/messages/text")
                .header("x-api-key", USER_A)
                .body(Body::from("{}"))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let text_json = post_request(TEXT, USER_A, "text/json").body(Body::from("{}"));
    let r = app.request(text_json.unwrap()).await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(app.queued("shop").await, 0);
}

/// serde reads a struct from an array too (its fields in order): every body must be an
/// object, whatever the JSON content type; an object under `+json` is read as before.
#[tokio::test]
async fn a_body_that_is_not_an_object_is_refused() {
    let app = app_with_session("shop").await;
    let fields = r#"["shop", "628123456789", null, null, null, "hi"]"#;
    for (ct, body) in [
        ("application/json", fields),
        ("application/json; charset=utf-8", "null"),
        ("application/vnd.api+json", r#""text""#),
    ] {
        let req = post_request(TEXT, USER_A, ct).body(Body::from(body));
        let r = app.request(req.unwrap()).await;
        r.assert_error(StatusCode::BAD_REQUEST, "invalid_body");
    }
    let r = app
        .request(
            post_request("/api/sessions", USER_A, "application/json")
                .body(Body::from("[null, null]"))
                .unwrap(),
        )
        .await;
    r.assert_error(StatusCode::BAD_REQUEST, "invalid_body");
    // A session may be created with no body at all (its id generated), but whitespace alone
    // is not a JSON body.
    let create = |body: &'static str| {
        post_request("/api/sessions", USER_A, "application/json")
            .body(Body::from(body))
            .unwrap()
    };
    let r = app.request(create("\n")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:?}", r.body);
    let r = app.request(create("")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert!(
        r.body["id"].as_str().unwrap().starts_with("s-"),
        "{:?}",
        r.body
    );
    let object = json!({ "sessionId": "shop", "to": "628123456789", "text": "hi" });
    let req = post_request(TEXT, USER_A, "application/vnd.api+json");
    let r = app
        .request(req.body(Body::from(object.to_string())).unwrap())
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.body);
    assert_eq!(app.queued("shop").await, 1);
}

#[tokio::test]
async fn oversized_json_body_is_413() {
    let app = spawn_app_with(|c| c.max_json_bytes = 1024).await;
    app.create_session(USER_A, "shop").await;
    let big = with_target(json!({ "text": "x".repeat(4096) }));
    let r = app.post(TEXT, USER_A, big).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(app.queued("shop").await, 0);
}

#[tokio::test]
async fn logged_out_session_refuses_sends_with_409() {
    let app = app_with_session("shop").await;
    let id = wagate_core::SessionId::parse("shop").unwrap();
    app.state
        .store
        .set_session_state(&id, wagate_core::SessionStatus::LoggedOut, None, None, None)
        .await
        .unwrap();
    let r = app
        .post(TEXT, USER_A, with_target(json!({ "text": "hi" })))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.error_code(), "session_logged_out");
}

/// Sends take their session from a cache (`session_cache`); the intake checks it again, so a
/// session logged out, deleted or created anew since it was cached is not sent to.
#[tokio::test]
async fn a_cached_session_changed_behind_the_api_is_checked_again_by_the_intake() {
    let app = app_with_session("shop").await;
    let id = wagate_core::SessionId::parse("shop").unwrap();
    let hi = || with_target(json!({ "text": "hi" }));
    app.post_expect(TEXT, USER_A, hi(), StatusCode::ACCEPTED)
        .await;
    assert!(app.state.sessions.get(&id).is_some(), "the send cached it");

    // Logged out through the store, as the session host does: refused while still cached.
    app.state
        .store
        .set_session_state(&id, wagate_core::SessionStatus::LoggedOut, None, None, None)
        .await
        .unwrap();
    let r = app.post(TEXT, USER_A, hi()).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.error_code(), "session_logged_out");

    let cached = app.state.sessions.get(&id);
    assert!(
        cached.is_none(),
        "a refusal for its state drops the cached copy"
    );

    // Deleted and created again by another key behind the API's back: the first owner's
    // cached copy does not reach the new session.
    let mut old = app.state.store.get_session(&id).await.unwrap().unwrap();
    old.status = wagate_core::SessionStatus::Open;
    app.state.sessions.put(std::sync::Arc::new(old));
    app.state.store.delete_session(&id).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    app.create_session(USER_B, "shop").await;
    let depth = app.queued("shop").await;
    let r = app.post(TEXT, USER_A, hi()).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{:?}", r.body);
    assert_eq!(app.queued("shop").await, depth);
    app.post_expect(TEXT, USER_B, hi(), StatusCode::ACCEPTED)
        .await;
}

#[tokio::test]
async fn job_state_is_readable_and_wait_returns_when_time_runs_out() {
    let app = app_with_session("shop").await;
    let hi = with_target(json!({ "text": "hi" }));
    let r = app.post("/api/messages/text?wait=0.2", USER_A, hi).await;
    // Nothing sends in this test, so the wait ends with the job still queued.
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert_eq!(r.body["status"], "queued");
    let id = r.body["id"].as_str().unwrap();
    let got = app.get(&format!("/api/messages/{id}"), USER_A).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.body["status"], "queued");
    assert_eq!(got.body["waMessageId"].as_str().unwrap().len(), 20);
    let job = JobId::from_string(id);
    app.state
        .store
        .update_job(&job, wagate_core::JobState::Sent, 1, None, Some(1))
        .await
        .unwrap();
    let waited = app.get(&format!("/api/messages/{id}?wait=5"), USER_A).await;
    assert_eq!(waited.body["status"], "sent");
    let bad = app
        .get(&format!("/api/messages/{id}?wait=26"), USER_A)
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        app.get("/api/messages/msg_nope", USER_A).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn typing_before_a_send_is_kept_on_the_job_and_bounded() {
    let app = app_with_session("shop").await;
    let r = app
        .post(
            TEXT,
            USER_A,
            with_target(json!({ "text": "hi", "typingMs": 1500 })),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.body);
    assert_eq!(app.job(&r.body["id"]).await.message.typing_ms, Some(1500));
    for bad in [json!(20_001), json!(-1), json!("soon")] {
        let r = app
            .post(
                TEXT,
                USER_A,
                with_target(json!({ "text": "hi", "typingMs": bad })),
            )
            .await;
        assert_eq!(r.status, BAD, "{bad}: {:?}", r.body);
        assert!(
            r.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("typingMs"),
            "{:?}",
            r.body
        );
    }
    assert_eq!(app.queued("shop").await, 1, "only the good one");
}
