//! Actions end to end on the simulated network: group life (create with per-member outcomes,
//! metadata, members, settings, invite links, joining by code, join requests, leaving, an
//! admin's refusal), message actions (react, edit, revoke, pin, star, read) in order with the
//! sends of their chat, presence, chat changes, blocking, and the API's refusals (other users'
//! sessions, bad JIDs, group actions on a contact, empty or oversized member lists), which
//! queue nothing.

mod common;

use std::time::Duration;

use axum::http::StatusCode;
use reqwest::Method;
use serde_json::{Value, json};

use common::*;

const USER_A: &str = "actions-user-a-key-0123456";

async fn account_of(local: &Local, session: &str) -> String {
    let s = local.get(&format!("/api/sessions/{session}")).await;
    let jid = s["account"]["jid"].as_str().unwrap_or_default();
    jid.trim_end_matches("@s.whatsapp.net").to_owned()
}

/// Posts an action with `?wait=10` and returns the final job.
async fn act(local: &Local, path: &str, body: Value) -> Value {
    let sep = if path.contains('?') { '&' } else { '?' };
    let (st, job) = local.post(&format!("{path}{sep}wait=10"), body).await;
    assert_eq!(st, StatusCode::OK, "{path}: {job}");
    job
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_is_created_run_and_left_through_the_api() {
    let local = start_local_with(&[("SEND_MIN_GAP_MS", "0")]).await;
    let mut hook = webhook_receiver().await;
    local.open_session("admin", &mut hook).await;
    local.open_session("member", &mut hook).await;
    let member = account_of(&local, "member").await;
    let sim = local.running.sim.clone().unwrap();

    let created = act(
        &local,
        "/api/groups",
        json!({
            "sessionId": "admin",
            "subject": "Class 7B",
            "participants": ["628111000001", "9991234567", "9975550001", "628111000001"],
        }),
    )
    .await;
    assert_eq!(created["status"], "done", "{created}");
    assert_eq!(created["type"], "create_group");
    let group = created["result"]["groupId"].as_str().unwrap().to_owned();
    assert!(group.ends_with("@g.us"), "{group}");
    let link = created["result"]["inviteLink"].as_str().unwrap().to_owned();
    assert!(link.starts_with("https://chat.whatsapp.com/"), "{link}");
    let outcome: Vec<(&str, &str)> = created["result"]["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["jid"].as_str().unwrap(), p["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        outcome,
        [
            ("628111000001@s.whatsapp.net", "ok"),
            ("9991234567@s.whatsapp.net", "not_on_whatsapp"),
            ("9975550001@s.whatsapp.net", "privacy_refused"),
        ],
        "asked order, duplicates once"
    );
    assert_eq!(
        created["result"]["participants"][2]["inviteLink"], link,
        "a privacy refusal comes with the link to send instead"
    );
    let done = hook.next("action_done").await;
    assert_eq!(done["data"]["result"]["groupId"], group.as_str());

    // Members: add the second session's account, promote it, demote it.
    let members = format!("/api/groups/{group}/participants");
    let added = act(
        &local,
        &members,
        json!({ "sessionId": "admin", "action": "add", "participants": [member, "628111000001"] }),
    )
    .await;
    assert_eq!(added["result"]["participants"][0]["status"], "ok");
    assert_eq!(
        added["result"]["participants"][1]["status"],
        "already_member"
    );
    act(
        &local,
        &members,
        json!({ "sessionId": "admin", "action": "promote", "participants": [member] }),
    )
    .await;

    // Metadata through the query path.
    let (st, info) = local
        .call(
            Method::GET,
            &format!("/api/groups/{group}?sessionId=admin"),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{info}");
    let g = &info["group"];
    assert_eq!(g["subject"], "Class 7B");
    let roles: Vec<(&str, &str)> = g["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["jid"].as_str().unwrap(), p["role"].as_str().unwrap()))
        .collect();
    assert_eq!(roles.len(), 3, "{roles:?}");
    assert!(roles.contains(&(format!("{member}@s.whatsapp.net").as_str(), "admin")));
    assert!(roles.iter().any(|(_, r)| *r == "superadmin"));

    // Settings; the cached metadata is dropped by the change.
    let updated = local
        .call(
            Method::PATCH,
            &format!("/api/groups/{group}?wait=10"),
            Some(json!({ "sessionId": "admin", "subject": "Class 7B 2027", "announce": true, "ephemeralSecs": 604800 })),
        )
        .await;
    assert_eq!(updated.0, StatusCode::OK, "{}", updated.1);
    assert_eq!(updated.1["status"], "done");
    let info = local
        .get(&format!("/api/groups/{group}?sessionId=admin"))
        .await;
    assert_eq!(info["group"]["subject"], "Class 7B 2027");
    assert_eq!(info["group"]["announce"], true);
    assert_eq!(info["group"]["ephemeralSecs"], 604800);

    // The list of the member's groups.
    let list = local.get("/api/groups?sessionId=member").await;
    assert_eq!(list["groups"][0]["jid"], group.as_str(), "{list}");

    // Demoted, the member cannot change settings: a permanent refusal, recorded on the job.
    act(
        &local,
        &members,
        json!({ "sessionId": "admin", "action": "demote", "participants": [member] }),
    )
    .await;
    let refused = act(
        &local,
        &format!("/api/groups/{group}/settings"),
        json!({ "sessionId": "member", "locked": true }),
    )
    .await;
    assert_eq!(refused["status"], "failed");
    assert!(
        refused["error"].as_str().unwrap().contains("not an admin"),
        "{refused}"
    );
    let failed = hook.next("action_failed").await;
    assert_eq!(failed["data"]["jobId"], refused["id"]);

    // Invite links: read, reset (the old code stops working), join by the new one.
    let inv = local
        .get(&format!("/api/groups/{group}/invite?sessionId=admin"))
        .await;
    assert_eq!(inv["inviteLink"], link.as_str());
    let reset = act(
        &local,
        &format!("/api/groups/{group}/invite/reset"),
        json!({ "sessionId": "admin" }),
    )
    .await;
    let new_link = reset["result"]["inviteLink"].as_str().unwrap().to_owned();
    assert_ne!(new_link, link);
    act(
        &local,
        &members,
        json!({ "sessionId": "admin", "action": "remove", "participants": [member] }),
    )
    .await;
    let stale = act(
        &local,
        "/api/groups/join",
        json!({ "sessionId": "member", "code": link }),
    )
    .await;
    assert_eq!(stale["status"], "failed", "{stale}");
    let code = new_link.trim_start_matches("https://chat.whatsapp.com/");
    let preview = local
        .get(&format!("/api/groups/invite/{code}?sessionId=member"))
        .await;
    assert_eq!(preview["group"]["subject"], "Class 7B 2027", "{preview}");

    // With approval on, joining is a request an admin approves.
    act(
        &local,
        &format!("/api/groups/{group}/settings"),
        json!({ "sessionId": "admin", "approval": true }),
    )
    .await;
    let asked = act(
        &local,
        "/api/groups/join",
        json!({ "sessionId": "member", "code": new_link }),
    )
    .await;
    assert_eq!(asked["status"], "done");
    assert!(asked["result"].get("groupId").is_none(), "{asked}");
    let reqs = local
        .get(&format!("/api/groups/{group}/requests?sessionId=admin"))
        .await;
    assert_eq!(
        reqs["requests"][0]["jid"],
        format!("{member}@s.whatsapp.net")
    );
    let approved = act(
        &local,
        &format!("/api/groups/{group}/requests"),
        json!({ "sessionId": "admin", "action": "approve", "participants": [member] }),
    )
    .await;
    assert_eq!(approved["result"]["participants"][0]["status"], "ok");

    // Leaving.
    act(
        &local,
        &format!("/api/groups/{group}/leave"),
        json!({ "sessionId": "member" }),
    )
    .await;
    let info = sim
        .group(&wagate_core::Jid::parse(&group).unwrap())
        .unwrap();
    assert!(
        !info
            .participants
            .iter()
            .any(|p| p.jid.user() == member.as_str()),
        "{info:?}"
    );
    local.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_actions_run_in_order_with_the_sends_of_their_chat() {
    let local = start_local_with(&[("SEND_MIN_GAP_MS", "0")]).await;
    let mut hook = webhook_receiver().await;
    local.open_session("shop", &mut hook).await;
    let sim = local.running.sim.clone().unwrap();
    let to = "628123450001";

    // A send and its revoke in one burst, with sends slowed: the revoke still comes second.
    sim.set_send_delay(Duration::from_millis(300));
    let (st, sent) = local
        .post(
            "/api/messages/text",
            json!({ "sessionId": "shop", "to": to, "text": "oops" }),
        )
        .await;
    assert_eq!(st, StatusCode::ACCEPTED);
    let wa_id = sent["waMessageId"].as_str().unwrap().to_owned();
    let revoke = act(
        &local,
        "/api/messages/revoke",
        json!({ "sessionId": "shop", "to": to, "messageId": wa_id }),
    )
    .await;
    assert_eq!(revoke["status"], "done", "{revoke}");
    sim.set_send_delay(Duration::ZERO);
    let log: Vec<(String, String)> = sim
        .delivered()
        .into_iter()
        .filter(|r| r.to.starts_with(to))
        .map(|r| (r.kind, r.text.unwrap_or_default()))
        .collect();
    assert_eq!(
        log,
        [
            ("text".to_owned(), "oops".to_owned()),
            ("revoke".to_owned(), wa_id.clone())
        ]
    );

    // Edit (own text, within the window), react, pin, star, read.
    let (_, sent) = local
        .post(
            "/api/messages/text?wait=10",
            json!({ "sessionId": "shop", "to": to, "text": "teh price" }),
        )
        .await;
    let id = sent["waMessageId"].as_str().unwrap().to_owned();
    let edited = act(
        &local,
        "/api/messages/edit",
        json!({ "sessionId": "shop", "to": to, "messageId": id, "text": "the price" }),
    )
    .await;
    assert_eq!(edited["status"], "done");
    assert!(edited["result"]["messageId"].is_string(), "{edited}");
    let unknown = act(
        &local,
        "/api/messages/edit",
        json!({ "sessionId": "shop", "to": to, "messageId": "NOPE1234", "text": "x" }),
    )
    .await;
    assert_eq!(unknown["status"], "failed");
    for (path, body) in [
        (
            "/api/messages/react",
            json!({ "sessionId": "shop", "to": to, "messageId": "INCOMING1", "emoji": "👍" }),
        ),
        (
            "/api/messages/pin",
            json!({ "sessionId": "shop", "to": to, "messageId": id }),
        ),
        (
            "/api/messages/star",
            json!({ "sessionId": "shop", "to": to, "messageId": id }),
        ),
        (
            "/api/messages/read",
            json!({ "sessionId": "shop", "to": to, "messageIds": ["INCOMING1", "INCOMING2"] }),
        ),
    ] {
        let job = act(&local, path, body).await;
        assert_eq!(job["status"], "done", "{path}: {job}");
    }
    let session = wagate_core::SessionId::parse("shop").unwrap();
    assert!(sim.is_starred(&session, &id));
    let kinds: Vec<String> = sim.actions().into_iter().map(|a| a.kind).collect();
    assert_eq!(
        kinds,
        ["revoke", "edit", "react", "pin", "star", "read"],
        "the refused edit changed nothing"
    );

    // Presence, chat changes, blocking and the blocklist.
    act(
        &local,
        "/api/presence",
        json!({ "sessionId": "shop", "state": "unavailable" }),
    )
    .await;
    assert_eq!(sim.presence(&session), Some(false));
    act(
        &local,
        "/api/presence",
        json!({ "sessionId": "shop", "state": "composing", "to": to }),
    )
    .await;
    act(
        &local,
        "/api/chats/mute",
        json!({ "sessionId": "shop", "chat": to, "durationSecs": 3600 }),
    )
    .await;
    act(
        &local,
        "/api/chats/archive",
        json!({ "sessionId": "shop", "chat": to }),
    )
    .await;
    let chat = wagate_core::Jid::parse(to).unwrap();
    let flags = sim.chat_flags(&session, &chat);
    assert!(flags.archived);
    assert!(flags.muted_until.is_some_and(|t| t < i64::MAX));
    act(
        &local,
        &format!("/api/contacts/{to}/block"),
        json!({ "sessionId": "shop" }),
    )
    .await;
    let blocked = local.get("/api/contacts/blocklist?sessionId=shop").await;
    assert_eq!(
        blocked["blocked"],
        json!([format!("{to}@s.whatsapp.net")]),
        "{blocked}"
    );
    act(
        &local,
        &format!("/api/contacts/{to}/unblock"),
        json!({ "sessionId": "shop" }),
    )
    .await;
    assert!(sim.blocklist(&session).is_empty());

    // A status to two contacts, then taken back (same lane: the revoke follows the post).
    let (st, post) = local
        .post(
            "/api/status",
            json!({ "sessionId": "shop", "text": "Open until 9", "backgroundColor": "#1E6E4F",
                    "recipients": [to, "628123450002"] }),
        )
        .await;
    assert_eq!(st, StatusCode::ACCEPTED, "{post}");
    assert_eq!(post["type"], "status");
    assert_eq!(post["to"], "status@broadcast");
    let status_id = post["waMessageId"].as_str().unwrap().to_owned();
    let gone = act(
        &local,
        "/api/status/revoke",
        json!({ "sessionId": "shop", "messageId": status_id, "recipients": [to, "628123450002"] }),
    )
    .await;
    assert_eq!(gone["status"], "done", "{gone}");
    let statuses: Vec<(String, Option<String>)> = sim
        .delivered()
        .into_iter()
        .filter(|r| r.to == "status@broadcast")
        .map(|r| (r.kind, r.text))
        .collect();
    assert_eq!(
        statuses,
        [
            ("status".to_owned(), Some("Open until 9".to_owned())),
            ("revoke_status".to_owned(), Some(status_id.clone()))
        ]
    );

    // A job reads the same at /api/jobs/:id, result included.
    let (st, again) = local
        .call(
            Method::GET,
            &format!("/api/jobs/{}", edited["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(again["result"], edited["result"]);
    local.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_actions_are_refused_clearly_and_queue_nothing() {
    let local = start_local_with(&[("USER_API_KEYS", USER_A)]).await;
    let mut hook = webhook_receiver().await;
    local.open_session("shop", &mut hook).await;
    let sim = local.running.sim.clone().unwrap();
    let many: Vec<String> = (0..257).map(|i| format!("628{:09}", i)).collect();
    let cases = [
        (
            "/api/groups/628123456789@s.whatsapp.net/participants",
            json!({ "sessionId": "shop", "action": "add", "participants": ["628111000001"] }),
            "groupId",
        ),
        (
            "/api/groups/120363001@g.us/participants",
            json!({ "sessionId": "shop", "action": "add", "participants": [] }),
            "participants",
        ),
        (
            "/api/groups/120363001@g.us/participants",
            json!({ "sessionId": "shop", "action": "add", "participants": many }),
            "participants",
        ),
        (
            "/api/groups/120363001@g.us/participants",
            json!({ "sessionId": "shop", "action": "kick", "participants": ["628111000001"] }),
            "action",
        ),
        (
            "/api/groups",
            json!({ "sessionId": "shop", "subject": "x", "participants": ["not a number"] }),
            "participants",
        ),
        (
            "/api/messages/react",
            json!({ "sessionId": "shop", "to": "0812", "messageId": "A", "emoji": "x" }),
            "to",
        ),
        (
            "/api/messages/edit",
            json!({ "sessionId": "shop", "to": "628123456789", "messageId": "A", "fromMe": false, "text": "x" }),
            "fromMe",
        ),
        (
            "/api/messages/pin",
            json!({ "sessionId": "shop", "to": "628123456789", "messageId": "A", "durationSecs": 60 }),
            "durationSecs",
        ),
        (
            "/api/chats/mute",
            json!({ "sessionId": "shop", "chat": "628123456789", "durationSecs": 99999999999u64 }),
            "durationSecs",
        ),
        (
            "/api/groups/join",
            json!({ "sessionId": "shop", "code": "https://evil.example/AbCdEf123456" }),
            "code",
        ),
        (
            "/api/contacts/120363001@g.us/block",
            json!({ "sessionId": "shop" }),
            "number",
        ),
        (
            "/api/presence",
            json!({ "sessionId": "shop", "state": "composing" }),
            "to",
        ),
        (
            "/api/status",
            json!({ "sessionId": "shop", "text": "hi", "recipients": [] }),
            "recipients",
        ),
        (
            "/api/status",
            json!({ "sessionId": "shop", "text": "hi", "recipients": ["628111000001"], "backgroundColor": "green" }),
            "backgroundColor",
        ),
    ];
    for (path, body, field) in cases {
        let (st, err) = local.post(path, body).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{path}: {err}");
        let msg = err["error"]["message"].as_str().unwrap_or_default();
        assert!(msg.starts_with(field), "{path}: {err}");
    }

    // Another user's session does not exist for them.
    let r = local
        .http
        .post(format!("{}/api/groups", local.base))
        .header("x-api-key", USER_A)
        .json(&json!({ "sessionId": "shop", "subject": "x", "participants": ["628111000001"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    let r = local
        .http
        .get(format!("{}/api/groups?sessionId=shop", local.base))
        .header("x-api-key", USER_A)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);

    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(sim.actions().is_empty(), "nothing was carried out");

    // Another user does not see this user's action jobs either.
    let (st, job) = local
        .post(
            "/api/presence",
            json!({ "sessionId": "shop", "state": "available" }),
        )
        .await;
    assert_eq!(st, StatusCode::ACCEPTED, "{job}");
    let r = local
        .http
        .get(format!(
            "{}/api/jobs/{}",
            local.base,
            job["id"].as_str().unwrap()
        ))
        .header("x-api-key", USER_A)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    local.stop().await;
}
