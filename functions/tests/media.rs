//! Media through the API: URLs fetched at accept time into the blob store (and refused with a
//! clear 4xx when they point inward, are too large or are not what they claim), stickers
//! converted, and presigned uploads sent by `mediaKey`.

mod common;

use std::io::Cursor;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use axum::routing::get;
use common::*;
use serde_json::json;
use wagate_core::{JobId, MediaKind, MediaSource, MessageContent};
use wagate_media::AllowList;

fn png_bytes(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbaImage::from_fn(w, h, |x, y| image::Rgba([x as u8, y as u8, 90, 255]));
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

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

async fn job_content(app: &TestApp, id: &serde_json::Value) -> MessageContent {
    app.state
        .store
        .get_job(&JobId::from_string(id.as_str().unwrap()))
        .await
        .unwrap()
        .unwrap()
        .message
        .content
}

fn send(extra: serde_json::Value) -> serde_json::Value {
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
    let r = app
        .post(
            "/api/messages/media",
            USER_A,
            send(json!({ "mediaUrl": format!("http://{srv}/photo.png"), "caption": "hi" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.body);
    let MessageContent::Media {
        media,
        source,
        mimetype,
        ..
    } = job_content(&app, &r.body["id"]).await
    else {
        panic!()
    };
    assert_eq!(media, MediaKind::Image);
    assert_eq!(mimetype.as_deref(), Some("image/png"));
    let MediaSource::Blob { key, size } = source else {
        panic!("not in the blob store")
    };
    let stored = app.state.blobs.get(&key).await.unwrap().unwrap();
    assert_eq!(stored.as_ref(), png_bytes(300, 200).as_slice());
    assert_eq!(size, stored.len() as u64);

    // A PDF named by URL becomes a document named after the path.
    let r = app
        .post(
            "/api/messages/media",
            USER_A,
            send(json!({ "mediaUrl": format!("http://{srv}/report.pdf") })),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.body);
    let MessageContent::Media {
        media, file_name, ..
    } = job_content(&app, &r.body["id"]).await
    else {
        panic!()
    };
    assert_eq!(media, MediaKind::Document);
    assert_eq!(file_name.as_deref(), Some("report.pdf"));

    // A voice note: audio kind, `ptt` kept, the type from the bytes.
    let r = app
        .post(
            "/api/messages/media",
            USER_A,
            send(json!({ "mediaUrl": format!("http://{srv}/voice"), "mediaType": "audio", "ptt": true })),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.body);
    let MessageContent::Media {
        media,
        ptt,
        mimetype,
        ..
    } = job_content(&app, &r.body["id"]).await
    else {
        panic!()
    };
    assert_eq!(media, MediaKind::Audio);
    assert!(ptt);
    assert_eq!(mimetype.as_deref(), Some("audio/ogg"));
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
            .post(
                "/api/messages/media",
                USER_A,
                send(json!({ "mediaUrl": url })),
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{url}: {:?}", r.body);
        assert_eq!(r.error_code(), "media_url_refused", "{url}");
        assert!(
            r.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("mediaUrl"),
            "{:?}",
            r.body
        );
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
        let r = app
            .post("/api/messages/media", USER_A, send(extra.clone()))
            .await;
        assert_eq!(r.status, status, "{extra}: {:?}", r.body);
        assert_eq!(r.error_code(), code, "{extra}");
    }
    // A .gif for a GIF message is refused with what to do instead; an MP4 is fine.
    let r = app
        .post(
            "/api/messages/gif",
            USER_A,
            send(json!({ "videoUrl": format!("http://{srv}/anim") })),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{:?}", r.body);
    assert!(r.body["error"]["message"].as_str().unwrap().contains("MP4"));
    let r = app
        .post(
            "/api/messages/gif",
            USER_A,
            send(json!({ "videoUrl": format!("http://{srv}/clip.mp4") })),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.body);
    assert!(matches!(
        job_content(&app, &r.body["id"]).await,
        MessageContent::Media {
            gif_playback: true,
            media: MediaKind::Video,
            ..
        }
    ));
    assert_eq!(app.queued("m").await, 1);
    assert_eq!(
        app.state.blobs.list("media/").await.unwrap().len(),
        1,
        "only the accepted MP4 is stored"
    );
}

#[tokio::test]
async fn a_sticker_url_is_converted_to_a_512_webp() {
    let (srv, _) = media_server().await;
    let app = trusting_app().await;
    app.create_session(USER_A, "m").await;
    let r = app
        .post(
            "/api/messages/sticker",
            USER_A,
            send(json!({ "imageUrl": format!("http://{srv}/photo.png") })),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.body);
    let MessageContent::Sticker {
        source: MediaSource::Blob { key, size },
    } = job_content(&app, &r.body["id"]).await
    else {
        panic!()
    };
    let webp = app.state.blobs.get(&key).await.unwrap().unwrap();
    assert_eq!(size, webp.len() as u64);
    assert!(webp.len() <= 100 * 1024);
    let img = image::load_from_memory_with_format(&webp, image::ImageFormat::WebP).unwrap();
    assert_eq!((img.width(), img.height()), (512, 512));

    let r = app
        .post(
            "/api/messages/sticker",
            USER_A,
            send(json!({ "imageUrl": format!("http://{srv}/report.pdf") })),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{:?}", r.body);
    assert_eq!(r.error_code(), "sticker_conversion_failed");
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
    let app = spawn_app().await;
    app.create_session(USER_A, "m").await;
    app.create_session(USER_B, "b").await;
    let file = png_bytes(64, 64);
    let r = app
        .post(
            "/api/media/uploads",
            USER_A,
            json!({ "fileName": "pic.png", "contentType": "image/png", "size": file.len() }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let key = r.body["mediaKey"].as_str().unwrap().to_owned();
    let url = r.body["uploadUrl"].as_str().unwrap().to_owned();
    assert!(url.contains("/api/media/uploads/direct?"), "{url}");
    assert!(r.body["expiresAt"].as_i64().unwrap() > wagate_core::clock::now_ms());

    // Not sendable before the upload; a tampered URL, a wrong size are refused.
    let early = app
        .post(
            "/api/messages/media",
            USER_A,
            send(json!({ "mediaKey": key })),
        )
        .await;
    assert_eq!(early.status, StatusCode::NOT_FOUND, "{:?}", early.body);
    let tampered = app
        .request(put(&url.replace("size=", "size=9"), file.clone()))
        .await;
    assert_eq!(
        tampered.status,
        StatusCode::FORBIDDEN,
        "{:?}",
        tampered.body
    );
    let short = app.request(put(&url, file[..10].to_vec())).await;
    assert_eq!(short.status, StatusCode::BAD_REQUEST, "{:?}", short.body);
    let mut long = file.clone();
    long.push(0);
    let over = app.request(put(&url, long)).await;
    assert_eq!(
        over.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{:?}",
        over.body
    );
    assert!(app.state.blobs.list("media/").await.unwrap().is_empty());

    let done = app.request(put(&url, file.clone())).await;
    assert_eq!(done.status, StatusCode::OK, "{:?}", done.body);

    // Another API key cannot send it, even knowing the key.
    let stolen = app
        .post(
            "/api/messages/media",
            USER_B,
            json!({ "sessionId": "b", "to": "628123456789", "mediaKey": key }),
        )
        .await;
    assert_eq!(stolen.status, StatusCode::NOT_FOUND, "{:?}", stolen.body);

    let r = app
        .post(
            "/api/messages/media",
            USER_A,
            send(json!({ "mediaKey": key, "caption": "big one" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.body);
    let MessageContent::Media {
        media,
        source,
        mimetype,
        ..
    } = job_content(&app, &r.body["id"]).await
    else {
        panic!()
    };
    assert_eq!(media, MediaKind::Image);
    assert_eq!(mimetype.as_deref(), Some("image/png"));
    assert_eq!(
        source,
        MediaSource::Blob {
            key,
            size: file.len() as u64
        }
    );

    // Over the cap for its kind, or not a MIME type: refused before any URL is made.
    let big = app
        .post(
            "/api/media/uploads",
            USER_A,
            json!({ "fileName": "v.mp4", "contentType": "video/mp4", "size": 17 * 1024 * 1024 }),
        )
        .await;
    assert_eq!(big.status, StatusCode::PAYLOAD_TOO_LARGE, "{:?}", big.body);
    let bad = app
        .post(
            "/api/media/uploads",
            USER_A,
            json!({ "fileName": "x", "contentType": "nonsense", "size": 10 }),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{:?}", bad.body);
}
