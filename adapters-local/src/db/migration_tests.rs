//! Files left by an older wagate are brought up to date without losing what they hold.

use rusqlite::{Connection, params};

use super::{SCHEMA, migrate};
use crate::queue::ack_in;

/// An in-memory database as a wagate at schema `version` left it.
fn at_version(version: usize) -> Connection {
    let conn = Connection::open_in_memory().unwrap();
    for step in &SCHEMA[..version] {
        conn.execute_batch(step).unwrap();
    }
    conn.pragma_update(None, "user_version", version as i64)
        .unwrap();
    conn
}

/// A file left by a wagate at schema 11 (receipt index, AUTOINCREMENT `seq`), with a
/// message in flight, one waiting and one acked, is brought up to date without losing any
/// of them: the one in flight is still acked by its receipt, order and dedup ids hold.
#[test]
fn messages_survive_the_move_off_autoincrement_and_the_receipt_index() {
    let mut conn = at_version(11);
    let insert = "INSERT INTO messages (queue, grp, dedup_id, body, visible_at, receipt, receive_count, acked_at) VALUES ('q', 'g', ?1, ?2, ?3, ?4, ?5, ?6)";
    for (dedup, body, visible_at, receipt, count, acked_at) in [
        ("a", "acked", 0, None, 1, Some(5)),
        ("b", "in flight", 9_999, Some("2:tok"), 1, None),
        ("c", "waiting", 0, None, 0, None),
    ] {
        conn.execute(
            insert,
            params![dedup, body, visible_at, receipt, count, acked_at],
        )
        .unwrap();
    }
    migrate(&mut conn).unwrap();

    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(usize::try_from(version).unwrap(), SCHEMA.len());
    let sql: String = conn
        .query_row(
            "SELECT sql FROM sqlite_schema WHERE name = 'messages'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(!sql.contains("AUTOINCREMENT"), "{sql}");
    let indexes: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'messages' AND sql IS NOT NULL ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        indexes,
        ["messages_acked", "messages_held", "messages_live"]
    );

    ack_in(&conn, "q", "2:tok", 10).unwrap();
    let rows: Vec<(i64, String, Option<i64>)> = conn
        .prepare("SELECT seq, body, acked_at FROM messages ORDER BY seq")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        rows,
        [
            (1, "acked".to_owned(), Some(5)),
            (2, "in flight".to_owned(), Some(10)),
            (3, "waiting".to_owned(), None),
        ]
    );
    // Still remembered: a dedup id seen before is not queued again; a new message comes
    // after every other.
    let again = conn.execute(
        "INSERT INTO messages (queue, dedup_id, body, visible_at) VALUES ('q', 'a', 'x', 0) ON CONFLICT (queue, dedup_id) DO NOTHING",
        [],
    );
    assert_eq!(again.unwrap(), 0);
    conn.execute(
        "INSERT INTO messages (queue, dedup_id, body, visible_at) VALUES ('q', 'd', 'new', 0)",
        [],
    )
    .unwrap();
    assert_eq!(conn.last_insert_rowid(), 4);
}

/// A file at schema 13 whose delivery notes are records: each note moves onto its job's row
///, a note of a job no longer there is dropped, and every other
/// record stays.
#[test]
fn delivery_notes_move_onto_their_jobs() {
    let mut conn = at_version(13);
    for id in ["j1", "j2"] {
        conn.execute(
            "INSERT INTO jobs (id, session_id, owner, recipient, message, wa_message_id, state, attempts, created_at, updated_at) VALUES (?1, 's', 'k', '1@s.whatsapp.net', '{}', 'w', 'sent', 1, 0, 0)",
            [id],
        )
        .unwrap();
    }
    for (key, value) in [
        ("record:delivery:j1", "note of j1"),
        ("record:delivery:gone", "note of a purged job"),
        ("record:action:j1", "an action result"),
        ("idem:k:abc", "an idempotency answer"),
    ] {
        conn.execute(
            "INSERT INTO idempotency (key, value, expires_at) VALUES (?1, ?2, 9999999999999)",
            params![key, value],
        )
        .unwrap();
    }
    migrate(&mut conn).unwrap();

    let notes: Vec<(String, Option<String>)> = conn
        .prepare("SELECT id, delivery FROM jobs ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        notes,
        [
            ("j1".to_owned(), Some("note of j1".to_owned())),
            ("j2".to_owned(), None),
        ]
    );
    let kept: Vec<String> = conn
        .prepare("SELECT key FROM idempotency ORDER BY key")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(kept, ["idem:k:abc", "record:action:j1"]);
}
