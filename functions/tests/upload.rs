//! `POST /api/messages/media/file`: multipart multi-file and raw binary uploads.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::*;
use wagate_core::{MediaKind, MediaSource};

const BOUNDARY: &str = "wagateboundary";

/// A form part: name, `(file name, content type)` for files, bytes.
type Part = (&'static str, Option<(&'static str, &'static str)>, Vec<u8>);

fn multipart(parts: &[Part]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, file, data) in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        match file {
            Some((filename, ct)) => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\nContent-Type: {ct}\r\n\r\n").as_bytes(),
            ),
            None => body.extend_from_slice(format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes()),
        }
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// An upload through `session` to 628123456789, with `parts` after the target.
fn upload_to(session: &str, parts: Vec<Part>) -> Request<Body> {
    let mut all = vec![field("sessionId", session), field("to", "628123456789")];
    all.extend(parts);
    upload_request(multipart(&all))
}

fn upload_request(body: Vec<u8>) -> Request<Body> {
    Request::post("/api/messages/media/file")
        .header("x-api-key", USER_A)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(Body::from(body))
        .unwrap()
}

/// `n` bytes that start like a PNG, so the sniffer calls them an image.
fn png(n: usize) -> Vec<u8> {
    let mut v = b"\x89PNG\r\n\x1a\n".to_vec();
    v.resize(n, 1);
    v
}

/// `n` bytes that start like a PDF.
fn pdf(n: usize) -> Vec<u8> {
    let mut v = b"%PDF-1.7\n".to_vec();
    v.resize(n, 2);
    v
}

fn field(name: &'static str, v: &str) -> Part {
    (name, None, v.as_bytes().to_vec())
}

#[tokio::test]
async fn several_files_with_captions_are_queued_in_order_and_paced() {
    let app = app_with_session("up").await;
    let parts = vec![
        field("delayMs", "2000"),
        field("typingMs", "800"),
        field("captions[]", "first"),
        field("captions[]", "second"),
        ("file", Some(("a.png", "image/png")), png(100)),
        ("files", Some(("b.pdf", "application/pdf")), pdf(200)),
    ];
    let r = app.request(upload_to("up", parts)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["queued"], 2);
    let results = r.body["results"].as_array().unwrap();
    let first = app.job(&results[0]["id"]).await;
    let second = app.job(&results[1]["id"]).await;
    assert_eq!(first.pace_ms, None);
    assert_eq!(second.pace_ms, Some(2000));
    assert_eq!(
        (first.message.typing_ms, second.message.typing_ms),
        (Some(800), Some(800))
    );
    let m = media_of(second.message.content);
    assert_eq!(m.caption.as_deref(), Some("second"));
    assert_eq!(m.media, MediaKind::Document);
    let MediaSource::Blob { key, size } = m.source else {
        panic!()
    };
    assert_eq!(size, 200);
    assert_eq!(app.state.blobs.get(&key).await.unwrap().unwrap().len(), 200);
    assert_eq!(app.queued("up").await, 2);
}

#[tokio::test]
async fn a_mix_of_good_and_bad_files_answers_207() {
    let app = app_with_session("up").await;
    let parts = vec![
        ("file1", Some(("ok.png", "image/png")), png(10)),
        ("file2", Some(("empty.jpg", "image/jpeg")), vec![]),
    ];
    let r = app.request(upload_to("up", parts)).await;
    assert_eq!(r.status, StatusCode::MULTI_STATUS, "{:?}", r.body);
    assert_eq!(r.body["queued"], 1);
    assert_eq!(r.body["failed"], 1);
    assert_eq!(r.body["results"][1]["error"]["code"], "empty_file");
    assert_eq!(r.body["results"][0]["status"], "queued");
    assert_eq!(app.queued("up").await, 1);
}

#[tokio::test]
async fn bad_delay_or_missing_session_changes_nothing() {
    let app = app_with_session("up").await;
    for (delay, typing, session) in [
        ("100", "0", "up"),
        ("20000", "0", "up"),
        ("1200", "0", "nope"),
        ("1200", "20001", "up"),
        ("1200", "soon", "up"),
    ] {
        let parts = vec![
            field("delayMs", delay),
            field("typingMs", typing),
            ("file", Some(("a.png", "image/png")), png(10)),
        ];
        let r = app.request(upload_to(session, parts)).await;
        assert!(
            r.status.is_client_error(),
            "{delay} {session}: {}",
            r.status
        );
    }
    assert_eq!(app.queued("up").await, 0);
    assert!(app.state.blobs.list("media/").await.unwrap().is_empty());
}

#[tokio::test]
async fn text_without_files_sends_text() {
    let app = app_with_session("up").await;
    let r = app
        .request(upload_to("up", vec![field("text", "just text")]))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.body);
    assert_eq!(r.body["type"], "text");
}

#[tokio::test]
async fn raw_binary_upload_is_queued() {
    let app = app_with_session("up").await;
    let req = Request::post(
        "/api/messages/media/file?sessionId=up&to=628123456789&fileName=x.png&caption=hey",
    )
    .header("x-api-key", USER_A)
    .header("content-type", "image/png")
    .body(Body::from(png(64)))
    .unwrap();
    let r = app.request(req).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.body);
    let m = media_of(app.job(&r.body["id"]).await.message.content);
    assert_eq!(m.caption.as_deref(), Some("hey"));
    assert_eq!(m.file_name.as_deref(), Some("x.png"));
    assert_eq!(m.media, MediaKind::Image);
}

#[tokio::test]
async fn an_upload_over_the_limit_is_413_and_leaves_nothing() {
    let app = spawn_app_with(|c| c.max_upload_bytes = 1024).await;
    app.create_session(USER_A, "up").await;
    let parts = vec![(
        "file",
        Some(("big.bin", "application/octet-stream")),
        vec![0u8; 4096],
    )];
    let r = app.request(upload_to("up", parts)).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{:?}", r.body);
    assert_eq!(app.queued("up").await, 0);
    assert!(app.state.blobs.list("media/").await.unwrap().is_empty());
}

/// Refused whole, whatever came before the part that broke a bound: no job, no blob.
async fn assert_refused_whole(app: &TestApp, parts: Vec<Part>, code: &str) {
    let r = app.request(upload_to("up", parts)).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{:?}", r.body);
    assert_eq!(r.error_code(), code);
    assert_eq!(app.queued("up").await, 0);
    assert!(app.state.blobs.list("media/").await.unwrap().is_empty());
}

#[tokio::test]
async fn a_huge_text_field_is_413_and_leaves_nothing() {
    let app = app_with_session("up").await;
    let caption = "x".repeat(64 * 1024 + 1);
    let parts = vec![
        ("file", Some(("a.png", "image/png")), png(100)),
        field("caption", &caption),
    ];
    assert_refused_whole(&app, parts, "field_too_large").await;
    // At the bound it is accepted.
    let parts = vec![
        field("caption", &"y".repeat(4096)),
        ("file", Some(("a.png", "image/png")), png(100)),
    ];
    let r = app.request(upload_to("up", parts)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
}

#[tokio::test]
async fn more_than_a_hundred_files_is_413_and_leaves_nothing() {
    let app = app_with_session("up").await;
    let parts: Vec<Part> = (0..101)
        .map(|_| ("file", Some(("a.png", "image/png")), png(64)))
        .collect();
    assert_refused_whole(&app, parts, "too_many_files").await;
    let fields: Vec<Part> = (0..300).map(|_| field("note", "n")).collect();
    assert_refused_whole(&app, fields, "too_many_fields").await;
}

/// The `upload` Lambda function's router: the upload route with its own body limit and the
/// sticker route with the JSON one, both behind the key check; every other path is
/// `route_not_found`, and nothing is queued by what it refuses.
#[tokio::test]
async fn the_upload_function_serves_its_two_routes_behind_the_key_and_nothing_else() {
    let mut app = spawn_app_with(|c| c.max_json_bytes = 1024).await;
    app.create_session(USER_A, "up").await;
    app.router = wagate_functions::upload_app(app.state.clone());

    let file = ("file", Some(("a.png", "image/png")), png(4096));
    let r = app.request(upload_to("up", vec![file])).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["queued"], 1);

    let unkeyed = Request::post("/api/messages/media/file")
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(Body::from(multipart(&[field("sessionId", "up")])))
        .unwrap();
    app.request(unkeyed)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "missing_api_key");

    let big = serde_json::json!({ "sessionId": "up", "to": "628123456789", "imageUrl": "x".repeat(4096) });
    let r = app.post("/api/messages/sticker", USER_A, big).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{:?}", r.body);

    let text = serde_json::json!({ "sessionId": "up", "to": "628123456789", "text": "hi" });
    app.post("/api/messages/text", USER_A, text)
        .await
        .assert_error(StatusCode::NOT_FOUND, "route_not_found");
    app.get("/api/sessions", USER_A)
        .await
        .assert_error(StatusCode::NOT_FOUND, "route_not_found");
    app.get("/health", USER_A)
        .await
        .assert_error(StatusCode::NOT_FOUND, "route_not_found");
    assert_eq!(app.queued("up").await, 1);
}
