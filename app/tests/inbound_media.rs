//! Received media end to end on the simulated network: the file downloaded into the blob
//! store before `message_received` goes out (`auto`), its signed URL served without a key and
//! refused once expired or altered, `on-request` downloads through
//! `GET /api/sessions/:id/messages/:messageId/media`, failed downloads that still emit the
//! event and work when asked again, the size caps, and the bad requests around all of it.

mod common;

use std::time::Duration;

use axum::http::StatusCode;
use base64::Engine as _;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use common::*;

const USER: &str = "inbound-media-user-key-0123";

fn image(size: usize) -> Value {
    json!({ "kind": "media", "mediaKind": "image", "mimetype": "image/jpeg", "size": size })
}

fn photo_bytes(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 % 251) as u8).collect()
}

/// `GET url` without a key: status, content type, body.
async fn fetch(local: &Local, url: &str) -> (StatusCode, String, Vec<u8>) {
    let resp = local.http.get(url).send().await.expect("GET");
    let status = StatusCode::from_u16(resp.status().as_u16()).unwrap();
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, ct, resp.bytes().await.unwrap().to_vec())
}

/// The media route with the admin key (or `key`).
async fn media_route(
    local: &Local,
    path: &str,
    key: &str,
) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
    let resp = local
        .http
        .get(format!("{}{path}", local.base))
        .header("x-api-key", key)
        .send()
        .await
        .expect("GET");
    let status = StatusCode::from_u16(resp.status().as_u16()).unwrap();
    let headers = resp.headers().clone();
    (status, headers, resp.bytes().await.unwrap().to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_received_photo_arrives_stored_with_a_url_that_works_until_it_expires() {
    let local = start_local_with(&[("MEDIA_URL_TTL_SECS", "3")]).await;
    let mut hook = webhook_receiver().await;
    local.open_session("photos", &mut hook).await;
    let bytes = photo_bytes(70_000);
    let (st, body) = local
        .post(
            "/api/dev/sessions/photos/incoming",
            json!({ "from": "628555000111", "content": image(bytes.len()),
                    "media": { "data": base64::engine::general_purpose::STANDARD.encode(&bytes) } }),
        )
        .await;
    assert_eq!(st, StatusCode::ACCEPTED, "{body}");
    let ev = hook.next("message_received").await;
    let media = &ev["data"]["media"];
    assert_eq!(media["status"], "stored", "{media}");
    assert_eq!(media["size"], bytes.len());
    assert_eq!(media["sha256"], hex::encode(Sha256::digest(&bytes)));
    assert_eq!(media["mimetype"], "image/jpeg");
    let url = media["url"].as_str().expect("a download URL").to_owned();
    assert!(
        url.contains("/api/media/download?key=media%2Fin%2Fphotos%2F"),
        "{url}"
    );
    // The URL names this server as PUBLIC_URL would (here: localhost and PORT, which is 0).
    let url = format!("{}{}", local.base, &url[url.find("/api/").unwrap()..]);

    let (st, ct, got) = fetch(&local, &url).await;
    assert_eq!((st, ct.as_str()), (StatusCode::OK, "image/jpeg"));
    assert_eq!(got, bytes, "the very file, without a key");
    let (st, _, again) = fetch(&local, &url).await;
    assert_eq!(
        (st, again.len()),
        (StatusCode::OK, bytes.len()),
        "not single-use"
    );

    let altered = url.replace("%2Ffile&", "%2Ffilx&");
    assert_ne!(altered, url);
    assert_eq!(fetch(&local, &altered).await.0, StatusCode::FORBIDDEN);
    let other = url.replacen("expires=", "expires=9", 1);
    let (st, _, body) = fetch(&local, &other).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()["error"]["code"],
        "invalid_media_url"
    );

    let expires = media["expiresAt"].as_i64().unwrap();
    let wait = expires - wagate_core::clock::now_ms() + 50;
    tokio::time::sleep(Duration::from_millis(wait.max(0) as u64)).await;
    let (st, _, body) = fetch(&local, &url).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()["error"]["code"],
        "media_url_expired"
    );

    // The API hands out a fresh one, and the file itself.
    let id = ev["data"]["messageId"].as_str().unwrap();
    let (st, _, j) = media_route(
        &local,
        &format!("/api/sessions/photos/messages/{id}/media?format=json"),
        KEY,
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    let j: Value = serde_json::from_slice(&j).unwrap();
    assert!(j["media"]["expiresAt"].as_i64().unwrap() > expires, "{j}");
    let (st, h, file) = media_route(
        &local,
        &format!("/api/sessions/photos/messages/{id}/media"),
        KEY,
    )
    .await;
    assert_eq!((st, file), (StatusCode::OK, bytes));
    assert_eq!(h["content-type"], "image/jpeg");
    local.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_request_sessions_get_the_file_when_they_ask_for_it() {
    let local = start_local().await;
    let mut hook = webhook_receiver().await;
    let (st, body) = local
        .post(
            "/api/sessions",
            json!({ "sessionId": "docs", "webhookUrl": hook.url, "webhookSecret": SECRET,
                    "inboundMedia": "on-request" }),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{body}");
    assert_eq!(body["inboundMedia"], "on-request", "{body}");
    local.wait_session("docs", |s| s["status"] == "qr").await;
    local.post("/api/dev/sessions/docs/scan", json!({})).await;
    hook.next("session_open").await;

    let doc = json!({ "kind": "media", "mediaKind": "document", "mimetype": "application/pdf",
                      "fileName": "invoice 7.pdf", "size": 300_000 });
    local
        .post(
            "/api/dev/sessions/docs/incoming",
            json!({ "from": "628555000111", "content": doc, "media": { "size": 300_000 } }),
        )
        .await;
    let ev = hook.next("message_received").await;
    let media = &ev["data"]["media"];
    assert_eq!(media["status"], "available", "{media}");
    assert!(media.get("url").is_none(), "nothing downloaded yet");
    let path = media["downloadPath"].as_str().unwrap().to_owned();
    let id = ev["data"]["messageId"].as_str().unwrap();
    assert_eq!(path, format!("/api/sessions/docs/messages/{id}/media"));
    let file_on_disk = |dir: &std::path::Path| dir.join(format!("blobs/media/in/docs/{id}/file"));
    assert!(!file_on_disk(local.dir.path()).exists());

    let (st, h, file) = media_route(&local, &path, KEY).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(file.len(), 300_000);
    assert_eq!(h["content-type"], "application/pdf");
    assert_eq!(
        h["content-disposition"],
        "attachment; filename=\"invoice_7.pdf\""
    );
    let (_, _, again) = media_route(&local, &path, KEY).await;
    assert_eq!(again, file, "the same generated file, now from the store");
    local.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_download_still_emits_the_event_and_a_later_request_retries() {
    let local = start_local_with(&[("INBOUND_MEDIA_MAX_IMAGE_BYTES", "50000")]).await;
    let mut hook = webhook_receiver().await;
    local.open_session("flaky", &mut hook).await;
    let bytes = photo_bytes(20_000);
    let data = base64::engine::general_purpose::STANDARD.encode(&bytes);
    local
        .post(
            "/api/dev/sessions/flaky/incoming",
            json!({ "from": "628555000111", "content": image(bytes.len()),
                    "media": { "data": data, "fail": "media expired on WhatsApp", "failTimes": 1 } }),
        )
        .await;
    let ev = hook.next("message_received").await;
    let media = &ev["data"]["media"];
    assert_eq!(media["status"], "failed", "{media}");
    assert_eq!(media["error"], "media expired on WhatsApp");
    assert!(media.get("url").is_none());
    let id = ev["data"]["messageId"].as_str().unwrap();
    let (st, _, file) = media_route(
        &local,
        &format!("/api/sessions/flaky/messages/{id}/media"),
        KEY,
    )
    .await;
    assert_eq!(
        (st, file),
        (StatusCode::OK, bytes),
        "the second download works"
    );

    // Always failing: the route says so (502), nothing stored.
    local
        .post(
            "/api/dev/sessions/flaky/incoming",
            json!({ "from": "628555000111", "content": image(10),
                    "media": { "size": 10, "fail": "gone" } }),
        )
        .await;
    let ev = hook.next("message_received").await;
    let id = ev["data"]["messageId"].as_str().unwrap();
    let (st, _, body) = media_route(
        &local,
        &format!("/api/sessions/flaky/messages/{id}/media"),
        KEY,
    )
    .await;
    assert_eq!(st, StatusCode::BAD_GATEWAY);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()["error"]["code"],
        "media_download_failed"
    );

    // Over the cap for images: refused before a byte is written, the event still goes out.
    local
        .post(
            "/api/dev/sessions/flaky/incoming",
            json!({ "from": "628555000111", "content": image(60_000), "media": { "size": 60_000 } }),
        )
        .await;
    let ev = hook.next("message_received").await;
    let media = &ev["data"]["media"];
    assert_eq!(media["status"], "failed");
    assert!(
        media["error"]
            .as_str()
            .unwrap()
            .contains("50000-byte limit"),
        "{media}"
    );
    let id = ev["data"]["messageId"].as_str().unwrap();
    assert!(
        !local
            .dir
            .path()
            .join(format!("blobs/media/in/flaky/{id}/file"))
            .exists()
    );
    local.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_off_keeps_nothing_and_bad_requests_change_nothing() {
    let local = start_local_with(&[("INBOUND_MEDIA", "off"), ("USER_API_KEYS", USER)]).await;
    let mut hook = webhook_receiver().await;
    local.open_session("quiet", &mut hook).await;
    local
        .post(
            "/api/dev/sessions/quiet/incoming",
            json!({ "from": "628555000111", "content": image(5), "media": { "size": 5 } }),
        )
        .await;
    let ev = hook.next("message_received").await;
    assert!(ev["data"].get("media").is_none(), "{ev}");
    assert_eq!(ev["data"]["content"]["mediaKind"], "image");
    let id = ev["data"]["messageId"].as_str().unwrap().to_owned();
    let path = format!("/api/sessions/quiet/messages/{id}/media");
    let code = |b: &[u8]| serde_json::from_slice::<Value>(b).unwrap()["error"]["code"].clone();
    let (st, _, body) = media_route(&local, &path, KEY).await;
    assert_eq!(
        (st, code(&body)),
        (StatusCode::NOT_FOUND, json!("media_not_found"))
    );
    // Another key's session does not exist for a user key.
    let (st, _, body) = media_route(&local, &path, USER).await;
    assert_eq!(
        (st, code(&body)),
        (StatusCode::NOT_FOUND, json!("session_not_found"))
    );
    let (st, _, _) = media_route(&local, &format!("{path}?format=xml"), KEY).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);

    let before = local.get("/api/sessions/quiet").await;
    for bad in [
        json!({ "sessionId": "quiet", "inboundMedia": "sometimes" }),
        json!({ "sessionId": "quiet", "rejectCalls": "yes" }),
        json!({ "sessionId": "quiet", "enabled": "no" }),
        json!({ "sessionId": "quiet", "events": ["message_received", "bogus"] }),
        json!({ "inboundMedia": "off" }),
    ] {
        let (st, body) = local.post("/api/webhooks/configure", bad.clone()).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{bad} → {body}");
        assert!(body["error"]["message"].is_string(), "{body}");
    }
    assert_eq!(
        local.get("/api/sessions/quiet").await,
        before,
        "nothing changed"
    );
    for bad in [
        json!({ "from": "6285", "text": "x", "media": { "size": 5 } }),
        json!({ "from": "6285", "content": image(5), "media": {} }),
        json!({ "from": "6285", "content": image(5), "media": { "data": "***" } }),
        json!({ "from": "6285", "content": image(5), "media": { "size": 5, "data": "AA==" } }),
        json!({ "from": "6285", "content": image(5), "media": { "size": 3_000_000_000u64 } }),
    ] {
        let (st, body) = local
            .post("/api/dev/sessions/quiet/incoming", bad.clone())
            .await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{bad} → {body}");
    }
    let (st, body) = local
        .post(
            "/api/webhooks/configure",
            json!({ "sessionId": "quiet", "inboundMedia": "auto", "rejectCalls": true }),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(
        (body["inboundMedia"].as_str(), body["rejectCalls"].as_bool()),
        (Some("auto"), Some(true))
    );
    local.stop().await;
}
