//! Number checks end to end on the simulated network: `POST /api/contacts/check` answered by
//! the session's connection through the control queue, in the asked order, cached so a second
//! check does not reach the connection, refused clearly for bad input and other users'
//! sessions, and failing fast (not hanging) for a session that is not linked.

mod common;

use axum::http::StatusCode;
use serde_json::{Value, json};

use common::*;

const USER_A: &str = "contacts-user-a-key-012345";
const USER_B: &str = "contacts-user-b-key-012345";

async fn post_as(local: &Local, key: &str, path: &str, body: Value) -> (StatusCode, Value) {
    let r = local
        .http
        .post(format!("{}{path}", local.base))
        .header("x-api-key", key)
        .json(&body)
        .send()
        .await
        .unwrap();
    let st = StatusCode::from_u16(r.status().as_u16()).unwrap();
    (st, r.json().await.unwrap_or(Value::Null))
}

async fn get_as(local: &Local, key: &str, path: &str) -> (StatusCode, Value) {
    let r = local
        .http
        .get(format!("{}{path}", local.base))
        .header("x-api-key", key)
        .send()
        .await
        .unwrap();
    let st = StatusCode::from_u16(r.status().as_u16()).unwrap();
    (st, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn numbers_are_checked_in_order_cached_and_kept_to_their_owner() {
    let users = format!("{USER_A},{USER_B}");
    let local = start_local_with(&[("USER_API_KEYS", users.as_str())]).await;
    let mut hook = webhook_receiver().await;
    local.open_session("shop", &mut hook).await;
    let sim = local.running.sim.clone().unwrap();

    let numbers = json!([
        "628123456789",
        "9991234567",
        "+62 855-5000-110",
        "628123456789"
    ]);
    let (st, body) = local
        .post(
            "/api/contacts/check",
            json!({ "sessionId": "shop", "numbers": numbers }),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "done");
    let results = body["results"].as_array().unwrap();
    let view: Vec<(&str, bool, bool)> = results
        .iter()
        .map(|r| {
            (
                r["number"].as_str().unwrap(),
                r["onWhatsapp"].as_bool().unwrap(),
                r["business"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        view,
        [
            ("628123456789", true, false),
            ("9991234567", false, false),
            ("628555000110", true, true),
        ],
        "asked order, duplicates once"
    );
    assert_eq!(results[0]["jid"], "628123456789@s.whatsapp.net");
    assert!(results[1].get("jid").is_none());
    assert_eq!(sim.numbers_checked(), 3);

    // Within the cache's life the connection is not asked again; a new number is.
    let (st, again) = local
        .post(
            "/api/contacts/check",
            json!({ "sessionId": "shop", "numbers": ["628123456789", "628777000111"] }),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{again}");
    assert_eq!(again["results"][0], body["results"][0]);
    assert_eq!(
        sim.numbers_checked(),
        4,
        "only the new number reached the connection"
    );

    // The answer stays readable by its owner (the admin here), not by another key.
    let id = body["queryId"].as_str().unwrap();
    let (st, kept) = get_as(&local, KEY, &format!("/api/queries/{id}")).await;
    assert_eq!((st, &kept["results"]), (StatusCode::OK, &body["results"]));
    let (st, _) = get_as(&local, USER_A, &format!("/api/queries/{id}")).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let long = "q".repeat(5000);
    let (st, body) = get_as(&local, KEY, &format!("/api/queries/{long}")).await;
    assert_eq!(
        (st, &body["error"]["code"]),
        (StatusCode::NOT_FOUND, &json!("query_not_found"))
    );

    // A profile, through the same path; a number not on WhatsApp is a 422 saying so.
    let (st, p) = local
        .call(
            reqwest::Method::GET,
            "/api/contacts/628555000110/profile?sessionId=shop",
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{p}");
    assert_eq!(p["profile"]["jid"], "628555000110@s.whatsapp.net");
    assert_eq!(p["profile"]["business"], true);
    assert!(p["profile"]["about"].is_string(), "{p}");
    let (st, p) = local
        .call(
            reqwest::Method::GET,
            "/api/contacts/9991234567/profile?sessionId=shop",
            None,
        )
        .await;
    assert_eq!(
        (st, &p["error"]["code"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!("whatsapp_refused"))
    );
    let (st, _) = local
        .call(
            reqwest::Method::GET,
            "/api/contacts/12/profile?sessionId=shop",
            None,
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let checked = sim.numbers_checked();

    // Bad input: clear 400s, nothing asked.
    let many: Vec<String> = (0..51).map(|i| format!("62811100{i:04}")).collect();
    for bad in [
        json!({ "sessionId": "shop", "numbers": [] }),
        json!({ "sessionId": "shop", "numbers": many }),
        json!({ "sessionId": "shop", "numbers": ["12"] }),
        json!({ "sessionId": "shop", "numbers": ["628123456789", "not a number"] }),
        json!({ "sessionId": "shop" }),
    ] {
        let (st, body) = local.post("/api/contacts/check", bad.clone()).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{bad} → {body}");
        assert!(body["error"]["message"].is_string(), "{body}");
    }
    assert_eq!(sim.numbers_checked(), checked);

    // Another user's session is not found; a session not linked fails fast.
    let (st, _) = post_as(
        &local,
        USER_B,
        "/api/sessions",
        json!({ "sessionId": "b-shop" }),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED);
    let (st, body) = post_as(
        &local,
        USER_A,
        "/api/contacts/check",
        json!({ "sessionId": "b-shop", "numbers": ["628123456789"] }),
    )
    .await;
    assert_eq!(
        (st, &body["error"]["code"]),
        (StatusCode::NOT_FOUND, &json!("session_not_found"))
    );
    let started = std::time::Instant::now();
    let (st, body) = post_as(
        &local,
        USER_B,
        "/api/contacts/check",
        json!({ "sessionId": "b-shop", "numbers": ["628123456789"] }),
    )
    .await;
    assert!(
        st == StatusCode::CONFLICT || st == StatusCode::ACCEPTED,
        "{st} {body}"
    );
    if st == StatusCode::CONFLICT {
        assert_eq!(body["error"]["code"], "session_not_connected");
    }
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "no hang"
    );
    assert_eq!(sim.numbers_checked(), checked);
    local.stop().await;
}
