//! The SQLite connection: opened once, schema migrated by `PRAGMA user_version`, and owned by
//! one dedicated thread that runs every operation. Async code only sends closures and awaits
//! the answer, so a slow disk never stalls the runtime, and operations that arrive together
//! share one commit (group commit).

use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::RecvTimeoutError;
use std::time::{Duration, Instant};

use anyhow::Context;
use rusqlite::{Connection, TransactionBehavior};
use tokio::sync::Notify;

use super::LocalOptions;
use super::wal::{BUSY_TIMEOUT, Turn, WAL_LIMIT_BYTES, WalLimit, spawn_checkpointer};
use wagate_core::ports::{PortError, PortResult};

/// The schema, one step per `user_version`: a file at version N runs steps N+1.. on open.
/// Steps are only ever appended.
const SCHEMA: &[&str] = &[
    // 1: the first schema.
    r#"
CREATE TABLE api_keys (
    hash TEXT PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    label TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    status TEXT NOT NULL,
    webhook_url TEXT,
    webhook_secret TEXT,
    qr TEXT,
    pairing_code TEXT,
    account TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX sessions_by_owner ON sessions(owner, id);
CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    owner TEXT NOT NULL,
    recipient TEXT NOT NULL,
    message TEXT NOT NULL,
    wa_message_id TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    error TEXT,
    pace_ms INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    sent_at INTEGER
);
CREATE TABLE idempotency (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE TABLE counters (
    key TEXT PRIMARY KEY,
    count INTEGER NOT NULL,
    reset_at INTEGER NOT NULL
);
CREATE TABLE config (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE dead_letters (
    id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    body TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    last_error TEXT NOT NULL,
    failed_at INTEGER NOT NULL
);
CREATE TABLE queues (
    name TEXT PRIMARY KEY,
    fifo INTEGER NOT NULL
);
CREATE TABLE messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    queue TEXT NOT NULL,
    dedup_id TEXT NOT NULL,
    body TEXT NOT NULL,
    visible_at INTEGER NOT NULL,
    receipt TEXT,
    receive_count INTEGER NOT NULL DEFAULT 0,
    acked_at INTEGER,
    UNIQUE (queue, dedup_id)
);
CREATE INDEX messages_live ON messages(queue, acked_at, seq);
CREATE INDEX messages_receipt ON messages(receipt) WHERE receipt IS NOT NULL;
"#,
    // 2: expired counters and idempotency records are purged now and then; find them by index.
    r#"
CREATE INDEX counters_by_reset ON counters(reset_at);
CREATE INDEX idempotency_by_expiry ON idempotency(expires_at);
"#,
    // 3: session leases (which host runs the session).
    r#"
ALTER TABLE sessions ADD COLUMN lease_holder TEXT;
ALTER TABLE sessions ADD COLUMN lease_until INTEGER;
"#,
    // 4: a session's own proxy for its WhatsApp connection.
    r#"
ALTER TABLE sessions ADD COLUMN proxy TEXT;
"#,
    // 5: old jobs are deleted after `JOB_TTL_DAYS`; find them by age (`created_at` never
    // changes, so a job's state updates leave this index alone).
    r#"
CREATE INDEX jobs_by_created ON jobs(created_at);
"#,
    // 6: FIFO message groups (order per group, a held message holds only its group). Messages
    // queued before keep the empty group, one line as before. The held ones are few (in flight
    // or backing off), so a receive finds the held groups by this index.
    r#"
ALTER TABLE messages ADD COLUMN grp TEXT NOT NULL DEFAULT '';
CREATE INDEX messages_held ON messages(queue, visible_at) WHERE acked_at IS NULL;
"#,
    // 7: the index of the dead-sends queue, which a FIFO queue cannot page itself. A job
    // deleted (by retention) takes its entry with it.
    r#"
CREATE TABLE parked_sends (
    id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    parked_at INTEGER NOT NULL
);
CREATE TRIGGER parked_sends_follow_jobs AFTER DELETE ON jobs
BEGIN
    DELETE FROM parked_sends WHERE id = OLD.id;
END;
"#,
    // 8: which of a session's events reach a webhook (JSON; NULL delivers everything).
    r#"
ALTER TABLE sessions ADD COLUMN events TEXT;
"#,
    // 9: acked messages are purged by age every thousand acks and by the retention sweep; by
    // index, not by scanning every message on the writer thread (a stall that grew with the
    // table).
    r#"
CREATE INDEX messages_acked ON messages(acked_at) WHERE acked_at IS NOT NULL;
"#,
    // 10: jobs never updated since their creation, for the sweep that finishes acceptances a
    // crash cut off (`wagate_core::unstarted`): a sparse index, as on DynamoDB, so the sweep
    // reads the few such jobs instead of every job of its window on the database thread.
    r#"
CREATE INDEX jobs_unstarted ON jobs(created_at, id)
    WHERE state = 'queued' AND attempts = 0 AND updated_at = created_at;
"#,
    // 11: the `X-Request-Id` of the call that accepted a job, for its worker's logs and
    // webhook.
    r#"
ALTER TABLE jobs ADD COLUMN request_id TEXT;
"#,
    // 12: fewer index entries for each message to change. Ack, nack and extend find their
    // message by the `seq` its receipt starts with, so receipts need no index of their own, and
    // the live-message index holds live messages only (an ack removes its entry instead of
    // moving it among the acked ones, which `messages_acked` already finds).
    r#"
DROP INDEX messages_receipt;
DROP INDEX messages_live;
CREATE INDEX messages_live ON messages(queue, seq) WHERE acked_at IS NULL;
"#,
    // 13: `seq` without AUTOINCREMENT, whose counter row every commit that queues a message
    // wrote again. A new message still gets a `seq` above every message in the table, so order
    // holds; a receipt names its message by `seq` and a random token, so a `seq` used again
    // after the newest message was purged matches no older receipt.
    r#"
CREATE TABLE messages_new (
    seq INTEGER PRIMARY KEY,
    queue TEXT NOT NULL,
    dedup_id TEXT NOT NULL,
    body TEXT NOT NULL,
    visible_at INTEGER NOT NULL,
    receipt TEXT,
    receive_count INTEGER NOT NULL DEFAULT 0,
    acked_at INTEGER,
    grp TEXT NOT NULL DEFAULT '',
    UNIQUE (queue, dedup_id)
);
INSERT INTO messages_new (seq, queue, dedup_id, body, visible_at, receipt, receive_count, acked_at, grp)
    SELECT seq, queue, dedup_id, body, visible_at, receipt, receive_count, acked_at, grp FROM messages;
DROP TABLE messages;
ALTER TABLE messages_new RENAME TO messages;
CREATE INDEX messages_live ON messages(queue, seq) WHERE acked_at IS NULL;
CREATE INDEX messages_held ON messages(queue, visible_at) WHERE acked_at IS NULL;
CREATE INDEX messages_acked ON messages(acked_at) WHERE acked_at IS NOT NULL;
DELETE FROM sqlite_sequence WHERE name = 'messages';
"#,
    // 14: a job's webhook delivery note on the job's row instead of a record of its own (a
    // row and two index entries fewer to write for every event dispatched); the notes kept as
    // records move there.
    r#"
ALTER TABLE jobs ADD COLUMN delivery TEXT;
UPDATE jobs SET delivery = d.value
    FROM (SELECT substr(key, 17) AS job, value FROM idempotency
          WHERE key >= 'record:delivery:' AND key < 'record:delivery;') AS d
    WHERE jobs.id = d.job;
DELETE FROM idempotency WHERE key >= 'record:delivery:' AND key < 'record:delivery;';
"#,
    // 15: an ack deletes its message (no acked rows kept for a dedup window, no index of them,
    // no purge), messages of a standard queue have no dedup id (SQS does not deduplicate
    // them either), and a message sent visible at once is out of `messages_held`
    // (`visible_at` 0). Acked messages are dropped; the others keep their `seq`, so receipts
    // in flight still name them.
    r#"
CREATE TABLE messages_new (
    seq INTEGER PRIMARY KEY,
    queue TEXT NOT NULL,
    grp TEXT NOT NULL DEFAULT '',
    dedup_id TEXT,
    body TEXT NOT NULL,
    visible_at INTEGER NOT NULL,
    receipt TEXT,
    receive_count INTEGER NOT NULL DEFAULT 0
);
INSERT INTO messages_new (seq, queue, grp, dedup_id, body, visible_at, receipt, receive_count)
    SELECT m.seq, m.queue, m.grp, CASE WHEN q.fifo = 0 THEN NULL ELSE m.dedup_id END,
           m.body, m.visible_at, m.receipt, m.receive_count
    FROM messages m LEFT JOIN queues q ON q.name = m.queue
    WHERE m.acked_at IS NULL;
DROP TABLE messages;
ALTER TABLE messages_new RENAME TO messages;
CREATE UNIQUE INDEX messages_dedup ON messages(queue, dedup_id) WHERE dedup_id IS NOT NULL;
CREATE INDEX messages_live ON messages(queue, seq);
CREATE INDEX messages_held ON messages(queue, visible_at) WHERE visible_at > 0;
"#,
];

type Finish = Box<dyn FnOnce(Option<&rusqlite::Error>) + Send>;
type Task = Box<dyn FnOnce(&Connection) -> Finish + Send>;

/// Most operations one commit may carry.
const MAX_BATCH: usize = 256;

/// The page size of a new database file. A commit writes every page it changed whole to the
/// WAL, and the checkpoint writes it again; most commits change a few rows in each of a dozen
/// b-trees, so smaller pages write less: per message sent and dispatched, 10.4 KiB at 4 KiB
/// pages, 7.8 at 2 KiB, 6.5 at 1 KiB (`scripts/bench-drain.sh`, docs/benchmarks.md), for a
/// little more CPU (deeper trees, more frames).
pub(crate) const PAGE_SIZE: i64 = 1024;
/// How often the database thread looks for commits made through other connections to the file
/// (another handle, another process): one cheap `PRAGMA data_version` per handle, so a long
/// poll in this handle needs no polling of its own to see their sends.
const FOREIGN_CHECK: Duration = Duration::from_millis(100);

/// A shared handle on the database file.
///
/// One thread owns the connection and runs every operation (group commit): it takes all the
/// operations waiting, runs them inside one `BEGIN IMMEDIATE` transaction, commits once, and
/// only then answers each caller. Under load many requests share a commit; alone, an operation
/// is one transaction as usual. A failing single statement undoes itself (SQLite's statement
/// atomicity), a failing multi-statement operation rolls back its own savepoint, and a failed
/// commit fails every operation of the batch.
#[derive(Clone)]
pub struct Db {
    tasks: std::sync::mpsc::Sender<Task>,
    path: Arc<str>,
    /// Notified when a commit through another connection is seen (see [`FOREIGN_CHECK`]).
    foreign: Arc<Notify>,
    /// While any handle lives, the checkpoint thread runs.
    _alive: Arc<()>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db").field("path", &self.path).finish()
    }
}

impl Db {
    pub fn open(path: &Path, opts: &LocalOptions) -> anyhow::Result<Self> {
        let mut conn =
            Connection::open(path).with_context(|| format!("opening {}", path.display()))?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // Takes effect on a new file only (a file keeps the page size it was made with).
        conn.pragma_update(None, "page_size", PAGE_SIZE)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(
            None,
            "synchronous",
            if opts.synchronous_full {
                "FULL"
            } else {
                "NORMAL"
            },
        )?;
        // Checkpoints (the only fsyncs in WAL mode with synchronous=NORMAL) run on their own
        // thread and connection, so a commit never waits for one; the database thread only
        // checkpoints between batches, to restart a WAL that is over its limit (see `wal.rs`).
        conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        // Each time the WAL starts over from its beginning, a file that grew past the limit is
        // cut back to it.
        conn.pragma_update(
            None,
            "journal_size_limit",
            i64::try_from(WAL_LIMIT_BYTES).unwrap_or(i64::MAX),
        )?;
        // Every operation runs in a savepoint, whose undo copies of the pages it changes go to a
        // statement journal: in memory, not a temporary file written and read back each time.
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        // 16 MiB of page cache (2 MiB by default): the job and queue indexes' pages that every
        // accept touches stay in memory instead of being read back from the file.
        conn.pragma_update(None, "cache_size", -16_384)?;
        conn.set_prepared_statement_cache_capacity(64);
        migrate(&mut conn).with_context(|| format!("migrating {}", path.display()))?;
        let (tasks, rx) = std::sync::mpsc::channel::<Task>();
        let turn = Turn::default();
        let mut wal = WalLimit::new(path, turn.clone());
        let foreign = Arc::new(Notify::new());
        let seen = ForeignCommits::new(foreign.clone());
        std::thread::Builder::new()
            .name("wagate-db".into())
            .spawn(move || serve(&conn, &rx, &mut wal, seen))
            .context("starting the database thread")?;
        let alive = Arc::new(());
        spawn_checkpointer(path, turn, Arc::downgrade(&alive))?;
        Ok(Self {
            tasks,
            path: path.display().to_string().into(),
            foreign,
            _alive: alive,
        })
    }

    /// Notified each time the database thread sees that another connection has committed.
    pub fn foreign_commits(&self) -> &Notify {
        &self.foreign
    }

    /// Runs `f` on the database thread and answers once its batch is committed. For a single
    /// statement, which SQLite makes atomic on its own.
    pub async fn call<T, F>(&self, f: F) -> PortResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        self.submit(f, false).await
    }

    /// As [`Db::call`], for several statements that must apply together (read-modify-write):
    /// `f` runs in a savepoint, rolled back alone if `f` fails.
    pub async fn write<T, F>(&self, f: F) -> PortResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        self.submit(f, true).await
    }

    async fn submit<T, F>(&self, f: F, savepoint: bool) -> PortResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel::<PortResult<T>>();
        let task: Task = Box::new(move |conn| {
            let result = if savepoint {
                in_savepoint(conn, f)
            } else {
                std::panic::catch_unwind(AssertUnwindSafe(|| f(conn)))
                    .unwrap_or(Err(rusqlite::Error::UnwindingPanic))
            };
            Box::new(move |commit_error| {
                let result = match commit_error {
                    Some(e) => Err(map_ref(e)),
                    None => result.map_err(map_err),
                };
                let _ = tx.send(result);
            })
        });
        self.tasks
            .send(task)
            .map_err(|_| PortError::Backend(anyhow::anyhow!("the database thread has stopped")))?;
        rx.await.map_err(|_| {
            PortError::Backend(anyhow::anyhow!("the database thread dropped an operation"))
        })?
    }
}

fn in_savepoint<T>(
    conn: &Connection,
    f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    conn.execute_batch("SAVEPOINT op")?;
    // A panicking operation must not take the database thread (and every later caller) down
    // with it: it fails alone, like an operation returning an error.
    let out = std::panic::catch_unwind(AssertUnwindSafe(|| f(conn)))
        .unwrap_or(Err(rusqlite::Error::UnwindingPanic))
        .and_then(|v| conn.execute_batch("RELEASE op").map(|()| v));
    if out.is_err() {
        let _ = conn.execute_batch("ROLLBACK TO op; RELEASE op");
    }
    out
}

/// Watches `PRAGMA data_version`, which changes only when another connection commits.
struct ForeignCommits {
    notify: Arc<Notify>,
    version: Option<i64>,
    checked: Instant,
}

impl ForeignCommits {
    fn new(notify: Arc<Notify>) -> Self {
        Self {
            notify,
            version: None,
            checked: Instant::now(),
        }
    }

    fn check(&mut self, conn: &Connection) {
        self.checked = Instant::now();
        let Ok(v) = conn.pragma_query_value(None, "data_version", |r| r.get::<_, i64>(0)) else {
            return;
        };
        if self.version.is_some_and(|old| old != v) {
            self.notify.notify_waiters();
        }
        self.version = Some(v);
    }

    fn due(&self) -> Duration {
        FOREIGN_CHECK.saturating_sub(self.checked.elapsed())
    }
}

/// The database thread: batches waiting operations into one transaction each.
fn serve(
    conn: &Connection,
    rx: &std::sync::mpsc::Receiver<Task>,
    wal: &mut WalLimit,
    mut foreign: ForeignCommits,
) {
    foreign.check(conn);
    loop {
        let first = match rx.recv_timeout(foreign.due()) {
            Ok(task) => task,
            Err(RecvTimeoutError::Timeout) => {
                foreign.check(conn);
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => return,
        };
        if foreign.due().is_zero() {
            foreign.check(conn);
        }
        // A transaction left open by a failed commit of an earlier batch would turn every
        // later `BEGIN` into an error; start from a clean state.
        if !conn.is_autocommit() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        // If the write lock cannot be had (another process holds it past busy_timeout), each
        // operation runs as a transaction of its own and reports its own outcome.
        let mut in_tx = conn.execute_batch("BEGIN IMMEDIATE").is_ok();
        let mut finish: Vec<Finish> = Vec::new();
        let mut next = Some(first);
        while let Some(task) = next.take() {
            finish.push(task(conn));
            if in_tx && conn.is_autocommit() {
                // SQLite rolled the whole transaction back (I/O error, disk full, …): what ran
                // so far is gone, so say so, and go on in a fresh transaction.
                let err = rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ABORT),
                    Some("the batch transaction was rolled back".into()),
                );
                for f in finish.drain(..) {
                    f(Some(&err));
                }
                in_tx = conn.execute_batch("BEGIN IMMEDIATE").is_ok();
            }
            if finish.len() < MAX_BATCH {
                next = rx.try_recv().ok();
            }
        }
        let commit_error = if in_tx {
            conn.execute_batch("COMMIT").err()
        } else {
            None
        };
        if commit_error.is_some() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        for f in finish {
            f(commit_error.as_ref());
        }
        // Callers have their answers; the operations that arrive meanwhile wait for the next
        // batch, which starts on a WAL within its limit.
        wal.after_batch(conn);
    }
}

fn map_ref(e: &rusqlite::Error) -> PortError {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
            PortError::Throttled
        }
        _ => PortError::Backend(anyhow::anyhow!("sqlite commit failed: {e}")),
    }
}

fn map_err(e: rusqlite::Error) -> PortError {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
            PortError::Throttled
        }
        _ => PortError::Backend(anyhow::Error::new(e).context("sqlite")),
    }
}

/// Brings the file up to the latest schema, one step per transaction. The version is read
/// inside an immediate transaction, so two processes opening a new file at once cannot both
/// run the same step.
fn migrate(conn: &mut Connection) -> anyhow::Result<()> {
    loop {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
        let version = usize::try_from(version).unwrap_or(0);
        if version > SCHEMA.len() {
            anyhow::bail!(
                "the database is at schema version {version}, newer than this wagate knows ({}); \
                 run a newer wagate",
                SCHEMA.len()
            );
        }
        let Some(step) = SCHEMA.get(version) else {
            return Ok(());
        };
        tx.execute_batch(step)?;
        tx.pragma_update(None, "user_version", (version + 1) as i64)?;
        tx.commit()?;
    }
}

#[cfg(test)]
mod tests;
