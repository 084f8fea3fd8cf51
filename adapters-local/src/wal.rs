//! Keeping the write-ahead log bounded. Two parts share the work:
//!
//! - a checkpoint thread copies committed pages from the WAL back into the database file
//!   (`PASSIVE`: it never blocks the writer, and its fsyncs stay off the commit path), every
//!   [`CHECKPOINT_EVERY`], or every [`CHECKPOINT_BUSY_EVERY`] while writes pour in;
//! - the database thread, between two write batches, once the WAL has grown past
//!   [`WAL_LIMIT_BYTES`], runs a `RESTART` checkpoint.
//!
//! The second part is what bounds the file. SQLite only writes the WAL from its beginning again
//! when a write transaction starts while every frame has been copied back; under sustained load
//! the writer always commits again before a passive checkpoint catches up, so the WAL only ever
//! grew (past a gigabyte in seconds). Between two batches the database thread holds no
//! transaction and no other write can start in this process, so its checkpoint gets the writer
//! lock, copies what the checkpoint thread has not copied yet (little: that thread keeps up),
//! and guarantees that the next batch starts the WAL over; `journal_size_limit` then cuts the
//! file back to the limit. (`RESTART` rather than `TRUNCATE`: rewriting the file's existing
//! blocks costs the writer a fraction of emptying the file and growing it again.)
//!
//! The two checkpoints take turns through a lock of their own, so the database thread's is never
//! turned away because the other one is running.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

/// How long an operation waits for a lock held by another process before it fails.
pub(crate) const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

use anyhow::Context;
use rusqlite::Connection;

/// The WAL's size limit: past it the database thread starts the WAL over between two batches,
/// so the file exceeds it by at most what one batch writes.
pub const WAL_LIMIT_BYTES: u64 = 64 * 1024 * 1024;

/// How often the checkpoint thread copies the WAL back when little is written, and when at
/// least [`BUSY_FRAMES`] pages were written since its last look (or the WAL started over).
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);
const CHECKPOINT_BUSY_EVERY: Duration = Duration::from_millis(50);
const BUSY_FRAMES: i64 = 256;

/// How long the database thread's checkpoint waits for readers in other processes before it
/// gives up (and is tried again later): the database thread serves nothing meanwhile.
const RESTART_WAIT: Duration = Duration::from_millis(50);

/// Whose turn it is to checkpoint: the checkpoint thread's or the database thread's.
pub type Turn = Arc<Mutex<()>>;

/// Starts the checkpoint thread on a connection of its own; it stops once `alive` is gone.
pub fn spawn_checkpointer(path: &Path, turn: Turn, alive: Weak<()>) -> anyhow::Result<()> {
    let checkpointer = Connection::open(path)?;
    checkpointer.busy_timeout(BUSY_TIMEOUT)?;
    std::thread::Builder::new()
        .name("wagate-db-checkpoint".into())
        .spawn(move || {
            let (mut pause, mut last) = (CHECKPOINT_EVERY, 0i64);
            while alive.upgrade().is_some() {
                std::thread::sleep(pause);
                let _turn = turn.lock().unwrap_or_else(|p| p.into_inner());
                // Its row: (blocked, frames in the WAL, frames copied back).
                let frames = checkpointer
                    .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get::<_, i64>(1));
                pause = match frames {
                    Ok(frames) => {
                        let started_over = frames < last;
                        let new = if started_over { frames } else { frames - last };
                        last = frames;
                        if started_over || new >= BUSY_FRAMES {
                            CHECKPOINT_BUSY_EVERY
                        } else {
                            CHECKPOINT_EVERY
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "WAL checkpoint failed; retrying");
                        CHECKPOINT_EVERY
                    }
                };
            }
        })
        .context("starting the checkpoint thread")?;
    Ok(())
}

/// The database thread's side: starts the WAL over when it is past the limit.
#[derive(Debug)]
pub struct WalLimit {
    wal: PathBuf,
    turn: Turn,
    /// After a blocked attempt: not before then.
    retry_at: Option<Instant>,
    /// The size last warned about, so a WAL that cannot be restarted is reported each time it
    /// doubles, not after every batch.
    warned_at: u64,
}

impl WalLimit {
    pub fn new(db_path: &Path, turn: Turn) -> Self {
        let mut wal = db_path.as_os_str().to_owned();
        wal.push("-wal");
        Self {
            wal: wal.into(),
            turn,
            retry_at: None,
            warned_at: 0,
        }
    }

    /// Called by the database thread between batches: checkpoints and restarts the WAL if the
    /// file has outgrown [`WAL_LIMIT_BYTES`]; otherwise costs one `stat`. (After a restart the
    /// first commit cuts the file back to the limit, so growing past it means that much WAL.)
    pub fn after_batch(&mut self, conn: &Connection) {
        if !conn.is_autocommit() || self.retry_at.is_some_and(|t| Instant::now() < t) {
            return;
        }
        let Ok(size) = std::fs::metadata(&self.wal).map(|m| m.len()) else {
            return;
        };
        if size <= WAL_LIMIT_BYTES {
            return;
        }
        let started = Instant::now();
        let blocked = {
            // Waits for a passive checkpoint in progress: it leaves that much less to copy.
            let _turn = self.turn.lock().unwrap_or_else(|p| p.into_inner());
            let _ = conn.busy_timeout(RESTART_WAIT);
            let blocked =
                conn.query_row("PRAGMA wal_checkpoint(RESTART)", [], |r| r.get::<_, i64>(0));
            let _ = conn.busy_timeout(BUSY_TIMEOUT);
            blocked
        };
        let took = started.elapsed();
        match blocked {
            Ok(0) => {
                tracing::debug!(size, ?took, "WAL checkpointed and restarted");
                self.retry_at = None;
                self.warned_at = 0;
            }
            // Another process checkpoints, or reads an old snapshot: try again after a few
            // times the wait spent, so the writer mostly writes.
            Ok(_) => {
                self.retry_at = Some(Instant::now() + took.saturating_mul(4));
                self.warn_if_growing(size, "another process is checkpointing or reading it");
            }
            Err(e) => {
                self.retry_at = Some(Instant::now() + Duration::from_secs(1));
                self.warn_if_growing(size, &e.to_string());
            }
        }
    }

    fn warn_if_growing(&mut self, size: u64, why: &str) {
        let next = WAL_LIMIT_BYTES
            .saturating_mul(2)
            .max(self.warned_at.saturating_mul(2));
        if size >= next {
            self.warned_at = size;
            tracing::warn!(
                size,
                why,
                "the WAL is over its limit and cannot be restarted yet"
            );
        }
    }
}
