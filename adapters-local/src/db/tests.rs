//! The database file: a new one has the page size wagate writes best with, and files left by
//! an older wagate are brought up to date without losing what they hold.

use rusqlite::{Connection, params};

use super::{Db, PAGE_SIZE, SCHEMA, migrate};
use crate::queue::{ack_in, push_in};

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

/// The one text column of each row `sql` selects.
fn strings(conn: &Connection, sql: &str) -> Vec<String> {
    conn.prepare(sql)
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// A file left by a wagate at schema 11 (receipt index, AUTOINCREMENT `seq`, acked messages
/// kept for their dedup window), with a message in flight, one waiting and one acked on a FIFO
/// queue and one waiting on a standard queue, is brought up to date: the acked one is gone, the
/// others keep their `seq`, the one in flight is still acked by its receipt, and a new message
/// comes after every other.
#[test]
fn live_messages_survive_the_queue_schema_changes() {
    let mut conn = at_version(11);
    conn.execute_batch("INSERT INTO queues (name, fifo) VALUES ('q', 1), ('ev', 0)")
        .unwrap();
    let insert = "INSERT INTO messages (queue, grp, dedup_id, body, visible_at, receipt, receive_count, acked_at) VALUES (?1, 'g', ?2, ?3, ?4, ?5, ?6, ?7)";
    for (queue, dedup, body, visible_at, receipt, count, acked_at) in [
        ("q", "a", "acked", 0, None, 1, Some(5)),
        ("q", "b", "in flight", 9_999, Some("2:tok"), 1, None),
        ("q", "c", "waiting", 0, None, 0, None),
        ("ev", "e1", "event", 0, None, 0, None),
    ] {
        conn.execute(
            insert,
            params![queue, dedup, body, visible_at, receipt, count, acked_at],
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
    let indexes = strings(
        &conn,
        "SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'messages' ORDER BY name",
    );
    assert_eq!(
        indexes,
        ["messages_dedup", "messages_held", "messages_live"]
    );
    let rows = |conn: &Connection| -> Vec<(i64, String, Option<String>)> {
        conn.prepare("SELECT seq, body, dedup_id FROM messages ORDER BY seq")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    assert_eq!(
        rows(&conn),
        [
            (2, "in flight".to_owned(), Some("b".to_owned())),
            (3, "waiting".to_owned(), Some("c".to_owned())),
            (4, "event".to_owned(), None),
        ]
    );

    ack_in(&conn, "q", "2:tok").unwrap();
    // A dedup id still queued is refused; one acked is not remembered; a standard queue
    // takes every message.
    for (queue, dedup, body) in [
        ("q", "c", "again"),
        ("q", "a", "after its ack"),
        ("ev", "e1", "event again"),
    ] {
        assert!(push_in(&conn, queue, "g", dedup, body).unwrap());
    }
    assert_eq!(
        rows(&conn),
        [
            (3, "waiting".to_owned(), Some("c".to_owned())),
            (4, "event".to_owned(), None),
            (5, "after its ack".to_owned(), Some("a".to_owned())),
            (6, "event again".to_owned(), None),
        ]
    );
}

/// A file at schema 13 whose delivery notes are records: each note moves onto its job's row,
/// a note of a job no longer there is dropped, and every other record stays.
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
    let kept = strings(&conn, "SELECT key FROM idempotency ORDER BY key");
    assert_eq!(kept, ["idem:k:abc", "record:action:j1"]);
}

/// A new file gets [`PAGE_SIZE`] pages; a file made before keeps its own.
#[test]
fn new_files_get_small_pages_and_old_files_keep_theirs() {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("old.db");
    Connection::open(&old)
        .unwrap()
        .execute_batch("PRAGMA page_size = 4096; CREATE TABLE t (x);")
        .unwrap();
    let page_size = |path: &std::path::Path| -> i64 {
        Connection::open(path)
            .unwrap()
            .pragma_query_value(None, "page_size", |r| r.get(0))
            .unwrap()
    };
    let opts = crate::LocalOptions::default();
    let new = dir.path().join("new.db");
    for path in [&old, &new] {
        drop(Db::open(path, &opts).unwrap());
    }
    assert_eq!(page_size(&new), PAGE_SIZE);
    assert_eq!(page_size(&old), 4096);
}
