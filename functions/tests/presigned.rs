//! Presigned uploads are good for one upload, and a send pins the bytes it checked: a second
//! PUT to the same upload URL is refused, and a job never points at a key an upload URL can
//! still write (an S3 presigned PUT works until it expires, whatever wagate thinks).

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use bytes::Bytes;
use common::*;
use futures::SinkExt;
use futures::channel::mpsc;
use serde_json::{Value, json};
use wagate_core::{MediaKind, MediaSource};

const MEDIA: &str = "/api/messages/media";
const UPLOADS: &str = "/api/media/uploads";

/// Bytes of `len` that are no image: what a second PUT would slip past the type check.
fn other_bytes(len: usize) -> Vec<u8> {
    let mut b = b"MZ not a picture at all ".to_vec();
    b.resize(len, b'x');
    b
}

/// The path and query of an upload URL, as a PUT request with `body`.
fn put_body(url: &str, body: Body) -> Request<Body> {
    let path = url.split_once("://").unwrap().1;
    let path = &path[path.find('/').unwrap()..];
    Request::put(path)
        .header(header::CONTENT_TYPE, "image/png")
        .body(body)
        .unwrap()
}

fn put(url: &str, body: Vec<u8>) -> Request<Body> {
    put_body(url, Body::from(body))
}

/// Asks for an upload of `size` bytes; returns its `mediaKey` and `uploadUrl`.
async fn new_upload(app: &TestApp, size: usize) -> (String, String) {
    let req = json!({ "fileName": "pic.png", "contentType": "image/png", "size": size });
    let r = app
        .post_expect(UPLOADS, USER_A, req, StatusCode::CREATED)
        .await;
    (
        r.body["mediaKey"].as_str().unwrap().to_owned(),
        r.body["uploadUrl"].as_str().unwrap().to_owned(),
    )
}

/// An app with session `m` and `file` uploaded through its upload URL.
async fn uploaded(file: &[u8]) -> (TestApp, String, String) {
    let app = app_with_session("m").await;
    let (key, url) = new_upload(&app, file.len()).await;
    let r = app.request(put(&url, file.to_vec())).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    (app, key, url)
}

fn send_key(key: &str, extra: Value) -> Value {
    let mut body = json!({ "sessionId": "m", "to": "628123456789", "mediaKey": key });
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    body
}

/// Sends `key` as an image (202) and returns the blob key and size its job sends.
async fn send_image(app: &TestApp, key: &str) -> (String, u64) {
    let body = send_key(key, json!({ "mediaType": "image" }));
    let r = app
        .post_expect(MEDIA, USER_A, body, StatusCode::ACCEPTED)
        .await;
    let m = media_of(app.job(&r.body["id"]).await.message.content);
    assert_eq!(m.media, MediaKind::Image);
    assert_eq!(m.mimetype.as_deref(), Some("image/png"));
    match m.source {
        MediaSource::Blob { key, size } => (key, size),
        other => panic!("not a blob: {other:?}"),
    }
}

type Chunks = mpsc::Sender<Result<Bytes, std::io::Error>>;

/// A PUT to `url` whose body the test sends part by part; the task answers its status.
fn streaming_put(app: &TestApp, url: &str) -> (Chunks, tokio::task::JoinHandle<StatusCode>) {
    use tower::ServiceExt;
    let (tx, rx) = mpsc::channel(0);
    let req = put_body(url, Body::from_stream(rx));
    let router = app.router.clone();
    let task = tokio::spawn(async move { router.oneshot(req).await.unwrap().status() });
    (tx, task)
}

async fn blob(app: &TestApp, key: &str) -> Vec<u8> {
    app.state
        .blobs
        .get(key)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no blob {key}"))
        .to_vec()
}

#[tokio::test]
async fn a_second_put_to_an_upload_url_is_refused_and_the_job_keeps_the_checked_bytes() {
    let png = png_bytes(40, 40);
    let (app, key, url) = uploaded(&png).await;
    let (job_key, size) = send_image(&app, &key).await;
    assert_eq!(size, png.len() as u64);

    let swap = other_bytes(png.len());
    let r = app.request(put(&url, swap)).await;
    r.assert_error(StatusCode::CONFLICT, "upload_used");
    assert!(r.error_message().contains("POST /api/media/uploads"));

    assert_eq!(
        blob(&app, &job_key).await,
        png,
        "the job sends what was checked"
    );
    assert_eq!(blob(&app, &key).await, png, "the refused PUT wrote nothing");
}

#[tokio::test]
async fn an_upload_url_is_used_up_by_its_upload_even_before_a_send() {
    let png = png_bytes(16, 16);
    let (app, key, url) = uploaded(&png).await;
    let r = app.request(put(&url, png.clone())).await;
    r.assert_error(StatusCode::CONFLICT, "upload_used");
    assert_eq!(blob(&app, &key).await, png);
}

#[tokio::test]
async fn a_send_pins_its_bytes_against_a_later_write_of_the_upload_key() {
    let png = png_bytes(40, 40);
    let (app, key, _) = uploaded(&png).await;
    let (job_key, _) = send_image(&app, &key).await;
    assert_ne!(
        job_key, key,
        "the job must not send a key an upload URL can write"
    );
    assert!(
        !job_key.starts_with("media/uploads/"),
        "{job_key}: not where upload URLs point"
    );

    // What an S3 presigned PUT can still do until the URL expires.
    let swap = other_bytes(png.len());
    app.state.blobs.put(&key, swap.into()).await.unwrap();
    assert_eq!(blob(&app, &job_key).await, png);

    // A send after the swap checks the new bytes, and refuses them as an image.
    let again = send_key(&key, json!({ "mediaType": "image" }));
    let r = app
        .post_expect(MEDIA, USER_A, again, StatusCode::UNSUPPORTED_MEDIA_TYPE)
        .await;
    assert_eq!(r.error_code(), "unsupported_media_type");
}

#[tokio::test]
async fn each_send_of_an_upload_gets_its_own_copy_and_a_refused_send_leaves_none() {
    let png = png_bytes(24, 24);
    let (app, key, _) = uploaded(&png).await;

    let as_video = send_key(&key, json!({ "mediaType": "video" }));
    app.post_expect(MEDIA, USER_A, as_video, StatusCode::UNSUPPORTED_MEDIA_TYPE)
        .await;
    let gone = json!({ "sessionId": "nope", "to": "628123456789", "mediaKey": key });
    app.post_expect(MEDIA, USER_A, gone, StatusCode::NOT_FOUND)
        .await;
    assert_eq!(
        app.state.blobs.list("media/").await.unwrap(),
        vec![key.clone()]
    );

    let (first, _) = send_image(&app, &key).await;
    let (second, _) = send_image(&app, &key).await;
    assert_ne!(first, second);
    assert_eq!(blob(&app, &first).await, png);
    assert_eq!(blob(&app, &second).await, png);
    let mut stored = app.state.blobs.list("media/").await.unwrap();
    stored.sort();
    let mut want = vec![key, first, second];
    want.sort();
    assert_eq!(stored, want);
}

#[tokio::test]
async fn a_replayed_send_keeps_no_second_copy() {
    let png = png_bytes(8, 8);
    let (app, key, _) = uploaded(&png).await;
    let body = send_key(&key, json!({}));
    let send = || {
        post_request(MEDIA, USER_A, "application/json")
            .header("idempotency-key", "pin-once")
            .body(Body::from(body.to_string()))
            .unwrap()
    };
    let a = app.request(send()).await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{:?}", a.body);
    let b = app.request(send()).await;
    assert_eq!(b.body["id"], a.body["id"], "{:?}", b.body);
    assert_eq!(app.state.blobs.list("media/").await.unwrap().len(), 2);
}

#[tokio::test]
async fn of_two_concurrent_puts_to_one_url_exactly_one_wins() {
    let app = app_with_session("m").await;
    let png = png_bytes(32, 32);
    let (key, url) = new_upload(&app, png.len()).await;

    // The first PUT is mid-body: its handler has taken the first part (a sender on a channel
    // of no buffer waits for the receiver before it may send again).
    let (mut tx, first) = streaming_put(&app, &url);
    let third = png.len() / 3;
    for part in [&png[..third], &png[third..2 * third]] {
        tx.send(Ok(Bytes::copy_from_slice(part))).await.unwrap();
    }
    let r = app.request(put(&url, other_bytes(png.len()))).await;
    r.assert_error(StatusCode::CONFLICT, "upload_used");
    tx.send(Ok(Bytes::copy_from_slice(&png[2 * third..])))
        .await
        .unwrap();
    drop(tx);
    assert_eq!(first.await.unwrap(), StatusCode::OK);
    assert_eq!(blob(&app, &key).await, png);

    // Racing from the start: exactly one of several wins, and the blob is the winner's.
    let (key, url) = new_upload(&app, png.len()).await;
    let bodies: Vec<Vec<u8>> = (0..4u8)
        .map(|i| {
            let mut b = other_bytes(png.len());
            b[0] = b'0' + i;
            b
        })
        .collect();
    let tasks: Vec<_> = bodies
        .iter()
        .map(|b| {
            let router = app.router.clone();
            let req = put(&url, b.clone());
            tokio::spawn(async move {
                use tower::ServiceExt;
                router.oneshot(req).await.unwrap().status()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    let won: Vec<usize> = (0..statuses.len())
        .filter(|&i| statuses[i] == StatusCode::OK)
        .collect();
    assert_eq!(won.len(), 1, "{statuses:?}");
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::OK || *s == StatusCode::CONFLICT),
        "{statuses:?}"
    );
    assert_eq!(blob(&app, &key).await, bodies[won[0]]);
}

#[tokio::test]
async fn a_failed_or_abandoned_upload_does_not_use_up_its_url() {
    let app = app_with_session("m").await;
    let png = png_bytes(12, 12);
    let (key, url) = new_upload(&app, png.len()).await;

    let short = app.request(put(&url, png[..5].to_vec())).await;
    short.assert_error(StatusCode::BAD_REQUEST, "size_mismatch");

    // A client that goes away mid-body.
    let (mut tx, gone) = streaming_put(&app, &url);
    for part in [&png[..3], &png[3..6]] {
        tx.send(Ok(Bytes::copy_from_slice(part))).await.unwrap();
    }
    gone.abort();
    let _ = gone.await;
    drop(tx);

    let r = app.request(put(&url, png.clone())).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(blob(&app, &key).await, png);
}
