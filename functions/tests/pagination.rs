//! Cursor pagination on the list routes: walking page by page shows every item exactly once,
//! the last page has `nextCursor: null`, and a bad `limit` or `cursor` is a 400.

mod common;

use std::collections::HashSet;

use axum::http::StatusCode;
use common::*;
use serde_json::{Value, json};
use wagate_core::clock::now_ms;
use wagate_core::ports::DeadLetter;
use wagate_core::{ApiKey, KeyId, Session, SessionId};

const ROUTES: [&str; 3] = [
    "/api/sessions",
    "/api/admin/keys",
    "/api/admin/dead-letters",
];

/// Walks `path` `limit` at a time as `key`; returns the pages' sizes and every item's `id`.
async fn walk(
    app: &TestApp,
    path: &str,
    field: &str,
    key: &str,
    limit: usize,
) -> (Vec<usize>, Vec<String>) {
    let (mut sizes, mut ids) = (Vec::new(), Vec::new());
    let mut cursor: Option<String> = None;
    for _ in 0..1_000 {
        let url = match &cursor {
            Some(c) => format!("{path}?limit={limit}&cursor={c}"),
            None => format!("{path}?limit={limit}"),
        };
        let r = app.expect_get(&url, key, StatusCode::OK).await;
        let items = r.body[field].as_array().expect("a list").clone();
        assert!(items.len() <= limit, "{url}: more than the limit");
        assert_eq!(r.body["count"], json!(items.len()));
        sizes.push(items.len());
        ids.extend(
            items
                .iter()
                .map(|i| i["id"].as_str().expect("an id").to_owned()),
        );
        match &r.body["nextCursor"] {
            Value::Null => return (sizes, ids),
            Value::String(c) => cursor = Some(c.clone()),
            other => panic!("nextCursor {other:?}"),
        }
    }
    panic!("{path} never ended");
}

/// Every id appears exactly once.
fn distinct(ids: &[String]) -> HashSet<String> {
    let set: HashSet<String> = ids.iter().cloned().collect();
    assert_eq!(set.len(), ids.len(), "an item appears twice");
    set
}

async fn key_id(app: &TestApp, key: &str) -> KeyId {
    app.state
        .store
        .api_key_by_hash(&ApiKey::new(key).hash())
        .await
        .unwrap()
        .expect("a seeded key")
        .id
}

async fn add_sessions(app: &TestApp, owner: &KeyId, prefix: &str, n: usize) -> HashSet<String> {
    let mut ids = HashSet::new();
    for i in 0..n {
        let id = format!("{prefix}{i:03}");
        let s = Session::new(SessionId::parse(&id).unwrap(), owner.clone(), now_ms());
        assert!(app.state.store.create_session(&s).await.unwrap());
        ids.insert(id);
    }
    ids
}

#[tokio::test]
async fn sessions_walk_page_by_page_and_users_see_only_their_own() {
    let app = spawn_app().await;
    let (a, b) = (key_id(&app, USER_A).await, key_id(&app, USER_B).await);
    // Interleaved ids: B's sessions sit between A's, so the owner filter must come first.
    let mine = add_sessions(&app, &a, "s", 23).await;
    let theirs = add_sessions(&app, &b, "t", 17).await;

    let (sizes, ids) = walk(&app, "/api/sessions", "sessions", USER_A, 5).await;
    assert_eq!(sizes, vec![5, 5, 5, 5, 3]);
    assert_eq!(distinct(&ids), mine);
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted, "sessions come by id");

    let (_, ids) = walk(&app, "/api/sessions", "sessions", ADMIN, 7).await;
    let all: HashSet<String> = mine.union(&theirs).cloned().collect();
    assert_eq!(distinct(&ids), all);

    // Without `?limit=` a page holds 500.
    add_sessions(&app, &a, "u", 490).await;
    let r = app
        .expect_get("/api/sessions", USER_A, StatusCode::OK)
        .await;
    assert_eq!(r.body["count"], 500);
    assert!(r.body["nextCursor"].is_string());
}

#[tokio::test]
async fn keys_walk_page_by_page() {
    let app = spawn_app().await;
    let mut made = HashSet::new();
    for i in 0..12 {
        let r = app
            .post_expect(
                "/api/admin/keys",
                ADMIN,
                json!({ "label": format!("k{i}") }),
                StatusCode::CREATED,
            )
            .await;
        made.insert(r.body["id"].as_str().unwrap().to_owned());
    }
    let (sizes, ids) = walk(&app, "/api/admin/keys", "keys", ADMIN, 5).await;
    let got = distinct(&ids);
    assert!(made.is_subset(&got));
    for k in [ADMIN, USER_A, USER_B] {
        assert!(got.contains(key_id(&app, k).await.as_str()));
    }
    assert_eq!(ids.len(), made.len() + 3);
    assert_eq!(sizes.len(), 3);
}

#[tokio::test]
async fn every_one_of_552_dead_letters_can_be_seen() {
    let app = spawn_app().await;
    let base = now_ms();
    let mut made = HashSet::new();
    for i in 0..552 {
        let dl = DeadLetter {
            id: format!("evt_{i:04}"),
            session_id: "s1".into(),
            body: "{}".into(),
            attempts: 5,
            last_error: "HTTP 500".into(),
            // Some share a time: the id breaks the tie.
            failed_at: base + i / 3,
        };
        app.state.store.put_dead_letter(&dl).await.unwrap();
        made.insert(dl.id);
    }
    let (sizes, ids) = walk(&app, "/api/admin/dead-letters", "deadLetters", ADMIN, 500).await;
    assert_eq!(sizes, vec![500, 52]);
    assert_eq!(distinct(&ids), made);
    let (sizes, ids) = walk(&app, "/api/admin/dead-letters", "deadLetters", ADMIN, 100).await;
    assert_eq!(sizes, vec![100, 100, 100, 100, 100, 52]);
    assert_eq!(distinct(&ids), made);
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted, "oldest first");
}

#[tokio::test]
async fn an_empty_listing_is_one_last_page() {
    let app = spawn_app().await;
    let r = app
        .expect_get("/api/admin/dead-letters", ADMIN, StatusCode::OK)
        .await;
    assert_eq!(
        r.body,
        json!({ "deadLetters": [], "count": 0, "nextCursor": null })
    );
}

#[tokio::test]
async fn a_bad_limit_or_cursor_is_a_400() {
    let app = spawn_app().await;
    for route in ROUTES {
        for q in [
            "limit=0",
            "limit=501",
            "limit=-1",
            "limit=ten",
            "limit=",
            "cursor=%21%21",
        ] {
            let r = app.get(&format!("{route}?{q}"), ADMIN).await;
            r.assert_error(StatusCode::BAD_REQUEST, "validation_error");
        }
        app.expect_get(&format!("{route}?limit=500"), ADMIN, StatusCode::OK)
            .await;
        app.expect_get(&format!("{route}?limit=1"), ADMIN, StatusCode::OK)
            .await;
        // An empty cursor is the first page (a client's `?cursor=${next ?? ""}`).
        app.expect_get(&format!("{route}?cursor="), ADMIN, StatusCode::OK)
            .await;
    }
    let r = app.get("/api/sessions?limit=0", USER_A).await;
    r.assert_error(StatusCode::BAD_REQUEST, "validation_error");
}
