//! End to end through HTTP on the simulated network: `wagate local` in-process on port 0, a
//! real webhook receiver on loopback that checks every signature.

mod common;

use std::time::Duration;

use axum::http::StatusCode;
use serde_json::{Value, json};
use tempfile::TempDir;
use wagate::local;

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_scan_send_and_receive_signed_webhooks() {
    let local = start_local().await;
    let mut hook = webhook_receiver().await;
    local.open_session("shop", &mut hook).await;

    let (st, accepted) = local
        .post(
            "/api/messages/text?wait=10",
            json!({ "sessionId": "shop", "to": "628123456789", "text": "hello" }),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{accepted}");
    assert_eq!(accepted["status"], "sent");
    let sent = hook.next("message_sent").await;
    assert_eq!(sent["data"]["id"], "shop");
    assert_eq!(sent["data"]["jobId"], accepted["id"]);
    assert_eq!(sent["data"]["messageId"], accepted["waMessageId"]);
    assert_eq!(sent["data"]["to"], "628123456789@s.whatsapp.net");
    // The recipient's phone confirms: a signed `message_status` names the same WhatsApp id.
    let status = hook.next("message_status").await;
    assert_eq!(status["data"]["id"], "shop");
    assert_eq!(status["data"]["messageId"], accepted["waMessageId"]);
    assert_eq!(status["data"]["status"], "delivered");
    assert_eq!(status["data"]["chat"], "628123456789@s.whatsapp.net");
    let delivered = local.running.sim.as_ref().unwrap().delivered();
    assert!(
        delivered
            .iter()
            .any(|d| d.wa_message_id == accepted["waMessageId"].as_str().unwrap())
    );

    // A number that is not on WhatsApp: the job fails with a reason and says so by webhook.
    let (_, failed) = local
        .post(
            "/api/messages/text?wait=10",
            json!({ "sessionId": "shop", "to": "999123456789", "text": "x" }),
        )
        .await;
    assert_eq!(failed["status"], "failed");
    assert!(
        failed["error"]
            .as_str()
            .unwrap()
            .contains("not on WhatsApp")
    );
    let ev = hook.next("message_failed").await;
    assert_eq!(ev["data"]["jobId"], failed["id"]);

    local.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incoming_ping_gets_pong_and_newsletters_never_reach_the_webhook() {
    let local = start_local().await;
    let mut hook = webhook_receiver().await;
    local.open_session("inbox", &mut hook).await;

    let inject = |body: Value| local.post("/api/dev/sessions/inbox/incoming", body);
    assert_eq!(
        inject(json!({ "from": "628555000111", "text": "ping" }))
            .await
            .0,
        StatusCode::ACCEPTED
    );
    let pong = hook.next("message_sent").await;
    assert_eq!(pong["data"]["to"], "628555000111@s.whatsapp.net");
    assert!(
        local
            .running
            .sim
            .as_ref()
            .unwrap()
            .delivered()
            .iter()
            .any(|d| d.text.as_deref() == Some("pong"))
    );

    inject(json!({ "from": "120363000000000001@newsletter", "text": "news" })).await;
    inject(json!({ "from": "628555000222", "chat": "status@broadcast", "text": "my status" }))
        .await;
    inject(json!({ "from": "628555000333", "text": "own", "fromMe": true })).await;
    inject(json!({ "from": "628555000444", "text": "hello there", "pushName": "Budi" })).await;

    let received = hook.next("message_received").await;
    assert_eq!(received["data"]["text"], "hello there");
    assert_eq!(received["data"]["from"], "628555000444@s.whatsapp.net");
    assert_eq!(received["data"]["pushName"], "Budi");
    // Nothing else arrives: no newsletter, status, own message, nor the ping itself.
    let rest = hook.drain(Duration::from_millis(700)).await;
    assert!(
        rest.iter().all(|e| e["event"] != "message_received"),
        "{rest:?}"
    );

    local.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_inbound_kind_and_action_reaches_the_webhook_with_its_content() {
    let local = start_local().await;
    let mut hook = webhook_receiver().await;
    local.open_session("kinds", &mut hook).await;
    let inject = |body: Value| local.post("/api/dev/sessions/kinds/incoming", body);
    let from = "628555000111";

    let contents = [
        json!({ "kind": "media", "mediaKind": "image", "caption": "menu", "mimetype": "image/jpeg",
                "size": 48213, "sha256": "ab".repeat(32), "width": 1080, "height": 1350 }),
        json!({ "kind": "media", "mediaKind": "audio", "mimetype": "audio/ogg; codecs=opus",
                "seconds": 7, "ptt": true }),
        json!({ "kind": "media", "mediaKind": "document", "mimetype": "application/pdf",
                "fileName": "invoice.pdf", "size": 100 }),
        json!({ "kind": "location", "latitude": -6.1754, "longitude": 106.8272, "name": "Monas",
                "live": false }),
        json!({ "kind": "contacts", "contacts": [{ "displayName": "Budi",
                "vcard": "BEGIN:VCARD\nVERSION:3.0\nFN:Budi\nEND:VCARD" }] }),
        json!({ "kind": "poll", "name": "Lunch?", "options": ["Rice", "Noodles"], "selectableCount": 1 }),
        json!({ "kind": "reply", "selectedId": "yes", "selectedText": "Yes please" }),
    ];
    let (types, texts, seed_fields) = (
        [
            "image",
            "audio",
            "document",
            "location",
            "vcard",
            "poll",
            "button_reply",
        ],
        ["menu", "", "", "Monas", "Budi", "Lunch?", "Yes please"],
        [
            "imageMessage",
            "audioMessage",
            "documentMessage",
            "locationMessage",
            "contactMessage",
            "pollCreationMessage",
            "buttonsResponseMessage",
        ],
    );
    for (i, content) in contents.iter().enumerate() {
        let (st, body) =
            inject(json!({ "from": from, "content": content, "quotedId": "3EB0Q" })).await;
        assert_eq!(st, StatusCode::ACCEPTED, "{body}");
        let ev = hook.next("message_received").await;
        let d = &ev["data"];
        assert_eq!(d["type"], types[i], "{d}");
        assert_eq!(d["text"], texts[i], "{d}");
        assert_eq!(&d["content"], content, "content as injected");
        assert_eq!(d["quotedId"], "3EB0Q");
        assert_eq!(d["from"], "628555000111@s.whatsapp.net");
        assert_eq!(
            d["message"]["key"]["remoteJid"],
            "628555000111@s.whatsapp.net"
        );
        assert_eq!(d["message"]["key"]["id"], d["messageId"]);
        assert!(d["message"]["message"][seed_fields[i]].is_object(), "{d}");
    }
    // A plain text still reads as the seed's `conversation`.
    inject(json!({ "from": from, "text": "hello" })).await;
    let ev = hook.next("message_received").await;
    assert_eq!(ev["data"]["message"]["message"]["conversation"], "hello");
    assert_eq!(
        ev["data"]["content"],
        json!({ "kind": "text", "text": "hello" })
    );

    // Reactions, edits and deletions are events of their own.
    let act = |action: Value| inject(json!({ "from": from, "action": action }));
    act(json!({ "kind": "reaction", "targetId": "3EB0T", "emoji": "👍" })).await;
    let r = hook.next("message_reaction").await;
    assert_eq!(
        (r["data"]["targetId"].as_str(), r["data"]["emoji"].as_str()),
        (Some("3EB0T"), Some("👍"))
    );
    assert_eq!(r["data"]["removed"], false);
    act(json!({ "kind": "reaction", "targetId": "3EB0T", "emoji": "" })).await;
    assert_eq!(hook.next("message_reaction").await["data"]["removed"], true);
    act(json!({ "kind": "edited", "targetId": "3EB0T", "content": { "kind": "text", "text": "fixed" } }))
        .await;
    let e = hook.next("message_edited").await;
    assert_eq!(
        (e["data"]["targetId"].as_str(), e["data"]["text"].as_str()),
        (Some("3EB0T"), Some("fixed"))
    );
    act(json!({ "kind": "revoked", "targetId": "3EB0T" })).await;
    let d = hook.next("message_revoked").await;
    assert_eq!(d["data"]["targetId"], "3EB0T");
    assert_eq!(d["data"]["by"], "628555000111@s.whatsapp.net");
    act(json!({ "kind": "poll_vote", "targetId": "3EB0POLL", "selectedOptions": ["Rice"] })).await;
    let v = hook.next("poll_vote").await;
    assert_eq!(v["data"]["pollId"], "3EB0POLL");
    assert_eq!(v["data"]["selectedOptions"], json!(["Rice"]));

    // Bad input is a 400 and nothing arrives.
    for bad in [
        json!({ "from": from }),
        json!({ "from": from, "content": { "kind": "media" } }),
        json!({ "from": from, "action": { "kind": "reaction" } }),
    ] {
        let (st, body) = inject(bad.clone()).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }
    // The account's own messages (from its phone) only when the session asks for them.
    inject(json!({ "from": from, "text": "from my phone", "fromMe": true })).await;
    let rest = hook.drain(Duration::from_millis(500)).await;
    assert!(
        rest.iter().all(|e| e["event"] != "message_received"),
        "{rest:?}"
    );
    let (st, body) = local
        .post(
            "/api/webhooks/configure",
            json!({ "sessionId": "kinds", "ownMessages": true }),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body["ownMessages"], true);
    assert!(body["webhookUrl"].is_string(), "the webhook stays: {body}");
    inject(json!({ "from": from, "text": "from my phone", "fromMe": true })).await;
    let own = hook.next("message_received").await;
    assert_eq!(
        (
            own["data"]["text"].as_str(),
            own["data"]["fromMe"].as_bool()
        ),
        (Some("from my phone"), Some(true))
    );
    assert_eq!(own["data"]["message"]["key"]["fromMe"], true);

    local.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_are_reported_and_with_reject_calls_declined_and_answered() {
    let local = start_local_with(&[
        ("REJECT_CALLS", "true"),
        (
            "REJECT_CALL_MESSAGE",
            "We cannot take calls here; please write.",
        ),
    ])
    .await;
    let mut hook = webhook_receiver().await;
    local.open_session("calls", &mut hook).await;
    let ring = |body: Value| local.post("/api/dev/sessions/calls/call", body);

    let (st, body) = ring(json!({ "from": "628555000111", "video": true })).await;
    assert_eq!(st, StatusCode::ACCEPTED, "{body}");
    let c = hook.next("call").await;
    assert_eq!(c["data"]["from"], "628555000111@s.whatsapp.net");
    assert_eq!(
        (
            c["data"]["status"].as_str(),
            c["data"]["rejected"].as_bool()
        ),
        (Some("offer"), Some(true))
    );
    assert_eq!(c["data"]["isVideo"], true);
    let sim = local.running.sim.clone().unwrap();
    assert_eq!(
        sim.rejected_calls(),
        vec![c["data"]["callId"].as_str().unwrap().to_owned()]
    );
    // The caller is answered with a normal (paced, recorded) send.
    let sent = hook.next("message_sent").await;
    assert_eq!(sent["data"]["to"], "628555000111@s.whatsapp.net");
    assert!(
        sim.delivered()
            .iter()
            .any(|d| d.text.as_deref() == Some("We cannot take calls here; please write."))
    );

    // A missed call is reported, nothing to reject.
    ring(json!({ "from": "628555000222", "missed": true })).await;
    let m = hook.next("call").await;
    assert_eq!(
        (
            m["data"]["status"].as_str(),
            m["data"]["rejected"].as_bool()
        ),
        (Some("missed"), Some(false))
    );
    assert_eq!(sim.rejected_calls().len(), 1);
    let (st, _) = ring(json!({ "from": "not a number" })).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);

    // Group changes: members, and the subject.
    let change = |body: Value| local.post("/api/dev/sessions/calls/group", body);
    let (st, body) = change(json!({ "group": "120363025246125244@g.us", "action": "add",
        "participants": ["628555000333", "628555000444"], "by": "628555000111" }))
    .await;
    assert_eq!(st, StatusCode::ACCEPTED, "{body}");
    let p = hook.next("group_participants").await;
    assert_eq!(p["data"]["groupId"], "120363025246125244@g.us");
    assert_eq!(p["data"]["action"], "add");
    assert_eq!(
        p["data"]["participants"],
        json!(["628555000333@s.whatsapp.net", "628555000444@s.whatsapp.net"])
    );
    assert_eq!(p["data"]["by"], "628555000111@s.whatsapp.net");
    change(
        json!({ "group": "120363025246125244@g.us", "action": "subject", "subject": "Shop team" }),
    )
    .await;
    let u = hook.next("group_updated").await;
    assert_eq!(u["data"]["subject"], "Shop team");
    for bad in [
        json!({ "group": "628555000111", "action": "add" }),
        json!({ "group": "120363025246125244@g.us", "action": "explode" }),
        json!({ "group": "120363025246125244@g.us", "action": "subject" }),
    ] {
        assert_eq!(
            change(bad.clone()).await.0,
            StatusCode::BAD_REQUEST,
            "{bad}"
        );
    }
    local.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_linked_session_reopens_after_a_restart_without_a_new_qr() {
    let dir = TempDir::new().unwrap();
    let data = dir.path().to_path_buf();
    // Both runs keep their data in `dir`; each client holds a spare directory of its own.
    let start = async || {
        let running = local::start(config(&data, &[])).await.unwrap();
        Local::on(running, TempDir::new().unwrap())
    };
    let l = start().await;
    let mut hook = webhook_receiver().await;
    l.open_session("keep", &mut hook).await;
    l.stop().await;

    let l = start().await;
    let s = l.wait_session("keep", |s| s["status"] == "open").await;
    assert!(s["qr"].is_null());
    let open = hook.next("session_open").await;
    assert_eq!(open["data"]["id"], "keep");
    l.stop().await;
}
