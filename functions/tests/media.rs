//! Media through the API: URLs fetched at accept time into the blob store (and refused with a
//! clear 4xx when they point inward, are too large or are not what they claim), stickers
//! converted, and presigned uploads sent by `mediaKey`.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use axum::routing::get;
use common::*;
use serde_json::{Value, json};
use wagate_core::{MediaKind, MediaSource, MessageContent};
use wagate_media::AllowList;

const MEDIA: &str = "/api/messages/media";
const GIF: &str = "/api/messages/gif";
const STICKER: &str = "/api/messages/sticker";
const UPLOADS: &str = "/api/media/uploads";

/// A media server on loopback that counts requests.
async fn media_server() -> (SocketAddr, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let photo = png_bytes(300, 200);
    let mut big = b"\x89PNG\r\n\x1a\n".to_vec();
    big.resize(6 * 1024 * 1024, 0);
    let h = hits.clone();
    let app = Router::new()
        .route("/photo.png", get(move || async move { photo }))
        .route(
            "/report.pdf",
            get(|| async { "%PDF-1.7\n fake but sniffable" }),
        )
        .route(
            "/voice",
            get(|| async { b"OggS\0\x02 opus voice note".to_vec() }),
        )
        .route("/anim", get(|| async { "GIF89a\x01\x00\x01\x00" }))
        .route(
            "/clip.mp4",
            get(|| async { b"\0\0\0\x18ftypmp42\0\0\0\0isommp42".to_vec() }),
        )
        .route("/big.png", get(move || async move { big }))
        .route("/secret", get(|| async { (StatusCode::NOT_FOUND, "no") }))
        .layer(axum::middleware::from_fn(
            move |req: axum::extract::Request, next: axum::middleware::Next| {
                h.fetch_add(1, Ordering::SeqCst);
                async move { next.run(req).await }
            },
        ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, hits)
}

async fn trusting_app() -> TestApp {
    spawn_app_with(|c| c.media.allow = AllowList::parse(&["127.0.0.1".into()]).unwrap()).await
}

/// Posts `send(extra)` to `route` as `USER_A`, expects 202, and returns the stored content.
async fn accepted(app: &TestApp, route: &str, extra: Value) -> MessageContent {
    let r = app.post(route, USER_A, send(extra)).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.body);
    app.job(&r.body["id"]).await.message.content
}

/// Posts `send(extra)` to `route` as `USER_A`, expecting `status`.
async fn refused(app: &TestApp, route: &str, extra: Value, status: StatusCode) -> Reply {
    app.post_expect(route, USER_A, send(extra), status).await
}

fn send(extra: Value) -> Value {
    let mut body = json!({ "sessionId": "m", "to": "628123456789" });
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    body
}

#[tokio::test]
async fn a_media_url_is_fetched_into_the_blob_store_with_its_real_type() {
    let (srv, _) = media_server().await;
    let app = trusting_app().await;
    app.create_session(USER_A, "m").await;
    // No mediaType: the bytes say image.
    let photo = json!({ "mediaUrl": format!("http://{srv}/photo.png"), "caption": "hi" });
    let m = media_of(accepted(&app, MEDIA, photo).await);
    assert_eq!(m.media, MediaKind::Image);
    assert_eq!(m.mimetype.as_deref(), Some("image/png"));
    let MediaSource::Blob { key, size } = m.source else {
        panic!("not in the blob store")
    };
    let stored = app.state.blobs.get(&key).await.unwrap().unwrap();
    assert_eq!(stored.as_ref(), png_bytes(300, 200).as_slice());
    assert_eq!(size, stored.len() as u64);

    // A PDF named by URL becomes a document named after the path.
    let pdf = json!({ "mediaUrl": format!("http://{srv}/report.pdf") });
    let m = media_of(accepted(&app, MEDIA, pdf).await);
    assert_eq!(m.media, MediaKind::Document);
    assert_eq!(m.file_name.as_deref(), Some("report.pdf"));

    // A voice note: audio kind, `ptt` kept, the type from the bytes.
    let voice =
        json!({ "mediaUrl": format!("http://{srv}/voice"), "mediaType": "audio", "ptt": true });
    let m = media_of(accepted(&app, MEDIA, voice).await);
    assert_eq!(m.media, MediaKind::Audio);
    assert!(m.ptt);
    assert_eq!(m.mimetype.as_deref(), Some("audio/ogg"));
    assert_eq!(app.queued("m").await, 3);
}

#[tokio::test]
async fn refused_media_urls_are_clear_4xx_and_leave_nothing() {
    let (srv, hits) = media_server().await;
    let port = srv.port();
    // The default configuration trusts no private address.
    let strict = spawn_app().await;
    strict.create_session(USER_A, "m").await;
    for url in [
        format!("http://127.0.0.1:{port}/photo.png"),
        format!("http://localhost:{port}/photo.png"),
        format!("http://[::1]:{port}/photo.png"),
        "http://169.254.169.254/latest/meta-data/".into(),
        "http://10.0.0.8/a.png".into(),
        "http://192.168.0.1/a.png".into(),
        "http://172.16.5.4/a.png".into(),
    ] {
        let r = strict
            .post(MEDIA, USER_A, send(json!({ "mediaUrl": url })))
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{url}: {:?}", r.body);
        assert_eq!(r.error_code(), "media_url_refused", "{url}");
        assert!(r.error_message().contains("mediaUrl"), "{:?}", r.body);
    }
    assert_eq!(hits.load(Ordering::SeqCst), 0, "a refused URL was fetched");
    assert_eq!(strict.queued("m").await, 0);

    let app = trusting_app().await;
    app.create_session(USER_A, "m").await;
    let cases = [
        (
            json!({ "mediaUrl": format!("http://{srv}/report.pdf"), "mediaType": "image" }),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            json!({ "mediaUrl": format!("http://{srv}/big.png"), "mediaType": "image" }),
            StatusCode::PAYLOAD_TOO_LARGE,
            "media_too_large",
        ),
        (
            json!({ "mediaUrl": format!("http://{srv}/secret") }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "media_fetch_failed",
        ),
        (
            json!({ "mediaUrl": "gopher://example.com/x" }),
            StatusCode::BAD_REQUEST,
            "validation_error",
        ),
    ];
    for (extra, status, code) in cases {
        let r = app.post(MEDIA, USER_A, send(extra.clone())).await;
        assert_eq!(r.status, status, "{extra}: {:?}", r.body);
        assert_eq!(r.error_code(), code, "{extra}");
    }
    // A .gif for a GIF message is refused with what to do instead; an MP4 is fine.
    let gif = json!({ "videoUrl": format!("http://{srv}/anim") });
    let r = refused(&app, GIF, gif, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
    assert!(r.error_message().contains("MP4"));
    let mp4 = json!({ "videoUrl": format!("http://{srv}/clip.mp4") });
    let m = media_of(accepted(&app, GIF, mp4).await);
    assert!(m.gif_playback);
    assert_eq!(m.media, MediaKind::Video);
    assert_eq!(app.queued("m").await, 1);
    assert_eq!(
        app.state.blobs.list("media/").await.unwrap().len(),
        1,
        "only the accepted MP4 is stored"
    );
}

#[cfg(feature = "images")]
#[tokio::test]
async fn a_sticker_url_is_converted_to_a_512_webp() {
    let (srv, _) = media_server().await;
    let app = trusting_app().await;
    app.create_session(USER_A, "m").await;
    let photo = json!({ "imageUrl": format!("http://{srv}/photo.png") });
    let sticker = accepted(&app, STICKER, photo).await;
    let MessageContent::Sticker {
        source: MediaSource::Blob { key, size },
    } = sticker
    else {
        panic!("{sticker:?}")
    };
    let webp = app.state.blobs.get(&key).await.unwrap().unwrap();
    assert_eq!(size, webp.len() as u64);
    assert!(webp.len() <= 100 * 1024);
    let img = image::load_from_memory_with_format(&webp, image::ImageFormat::WebP).unwrap();
    assert_eq!((img.width(), img.height()), (512, 512));

    let pdf = json!({ "imageUrl": format!("http://{srv}/report.pdf") });
    let r = refused(&app, STICKER, pdf, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
    assert_eq!(r.error_code(), "sticker_conversion_failed");
}

/// The `upload` Lambda function's router converts a sticker as the whole API does.
#[cfg(feature = "images")]
#[tokio::test]
async fn the_upload_function_converts_a_sticker_url() {
    let (srv, _) = media_server().await;
    let mut app = trusting_app().await;
    app.create_session(USER_A, "m").await;
    app.router = wagate_functions::upload_app(app.state.clone());
    let photo = json!({ "imageUrl": format!("http://{srv}/photo.png") });
    let sticker = accepted(&app, STICKER, photo).await;
    let MessageContent::Sticker {
        source: MediaSource::Blob { key, .. },
    } = sticker
    else {
        panic!("{sticker:?}")
    };
    let webp = app.state.blobs.get(&key).await.unwrap().unwrap();
    let img = image::load_from_memory_with_format(&webp, image::ImageFormat::WebP).unwrap();
    assert_eq!((img.width(), img.height()), (512, 512));
}

/// Built as the `api` Lambda function is, without image processing: a sticker by URL is a
/// clear refusal, nothing is fetched or stored, and other media still go through.
#[cfg(not(feature = "images"))]
#[tokio::test]
async fn without_image_processing_a_sticker_url_is_refused_before_any_fetch() {
    let (srv, hits) = media_server().await;
    let app = trusting_app().await;
    app.create_session(USER_A, "m").await;
    let photo = json!({ "imageUrl": format!("http://{srv}/photo.png") });
    let r = refused(&app, STICKER, photo, StatusCode::NOT_IMPLEMENTED).await;
    assert_eq!(r.error_code(), "sticker_conversion_unavailable");
    assert_eq!(hits.load(Ordering::SeqCst), 0, "nothing fetched");
    assert_eq!(app.queued("m").await, 0);
    let image = json!({ "mediaUrl": format!("http://{srv}/photo.png") });
    accepted(&app, MEDIA, image).await;
    assert_eq!(app.queued("m").await, 1);
}

fn put(url: &str, body: Vec<u8>) -> Request<Body> {
    let path = url.split_once("://").unwrap().1;
    let path = &path[path.find('/').unwrap()..];
    Request::put(path)
        .header(header::CONTENT_TYPE, "image/png")
        .body(Body::from(body))
        .unwrap()
}

#[tokio::test]
async fn a_presigned_upload_is_sent_by_media_key_and_only_by_its_owner() {
    let app = app_with_session("m").await;
    app.create_session(USER_B, "b").await;
    let file = png_bytes(64, 64);
    let pic = json!({ "fileName": "pic.png", "contentType": "image/png", "size": file.len() });
    let r = app
        .post_expect(UPLOADS, USER_A, pic, StatusCode::CREATED)
        .await;
    let key = r.body["mediaKey"].as_str().unwrap().to_owned();
    let url = r.body["uploadUrl"].as_str().unwrap().to_owned();
    assert!(url.contains("/api/media/uploads/direct?"), "{url}");
    assert!(r.body["expiresAt"].as_i64().unwrap() > wagate_core::clock::now_ms());

    // Not sendable before the upload; a tampered URL, a wrong size are refused.
    refused(
        &app,
        MEDIA,
        json!({ "mediaKey": key }),
        StatusCode::NOT_FOUND,
    )
    .await;
    let mut long = file.clone();
    long.push(0);
    for (url, body, status) in [
        (
            url.replace("size=", "size=9"),
            file.clone(),
            StatusCode::FORBIDDEN,
        ),
        (url.clone(), file[..10].to_vec(), StatusCode::BAD_REQUEST),
        (url.clone(), long, StatusCode::PAYLOAD_TOO_LARGE),
    ] {
        let r = app.request(put(&url, body)).await;
        assert_eq!(r.status, status, "{url}: {:?}", r.body);
    }
    assert!(app.state.blobs.list("media/").await.unwrap().is_empty());

    let done = app.request(put(&url, file.clone())).await;
    assert_eq!(done.status, StatusCode::OK, "{:?}", done.body);

    // Another API key cannot send it, even knowing the key.
    let stolen = json!({ "sessionId": "b", "to": "628123456789", "mediaKey": key });
    app.post_expect(MEDIA, USER_B, stolen, StatusCode::NOT_FOUND)
        .await;

    let by_key = json!({ "mediaKey": key, "caption": "big one" });
    let m = media_of(accepted(&app, MEDIA, by_key).await);
    assert_eq!(m.media, MediaKind::Image);
    assert_eq!(m.mimetype.as_deref(), Some("image/png"));
    // The job sends its own copy of the checked bytes, not the key the upload URL writes.
    let MediaSource::Blob { key: sent, size } = m.source else {
        panic!("not a blob: {:?}", m.source);
    };
    assert_eq!(size, file.len() as u64);
    assert_ne!(sent, key);
    assert_eq!(app.state.blobs.get(&sent).await.unwrap().unwrap(), file);

    // Over the cap for its kind, or not a MIME type: refused before any URL is made.
    let big = json!({ "fileName": "v.mp4", "contentType": "video/mp4", "size": 17 * 1024 * 1024 });
    app.post_expect(UPLOADS, USER_A, big, StatusCode::PAYLOAD_TOO_LARGE)
        .await;
    let bad = json!({ "fileName": "x", "contentType": "nonsense", "size": 10 });
    app.post_expect(UPLOADS, USER_A, bad, StatusCode::BAD_REQUEST)
        .await;
}
