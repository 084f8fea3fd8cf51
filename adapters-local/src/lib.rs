//! The embedded backend of `wagate local`: one SQLite database file holds the store and the
//! durable queues, a directory holds the blobs. A restart (or a SIGKILL) loses nothing that
//! was committed.

mod batch;
mod blobs;
mod db;
mod intake;
mod queue;
mod retention;
mod store;
mod wal;

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;

pub use batch::SqliteBatch;
pub use blobs::FsBlobs;
pub use db::Db;
pub use intake::SqliteIntake;
pub use queue::SqliteQueue;
pub use retention::{SWEEP_BATCH, Swept, job_cutoff};
pub use store::SqliteStore;
pub use wal::WAL_LIMIT_BYTES;

use wagate_core::ports::{Blobs, Intake, Queue, Store, WriteBatch};

/// How the database file is opened.
#[derive(Debug, Clone, Default)]
pub struct LocalOptions {
    /// `synchronous=FULL`: fsync every commit (and every blob written), so even a power cut
    /// loses nothing. The default (`NORMAL` in WAL mode) already survives a killed process.
    pub synchronous_full: bool,
}

/// The three embedded adapters over one data directory.
#[derive(Debug, Clone)]
pub struct LocalBackend {
    store: Arc<SqliteStore>,
    queue: Arc<SqliteQueue>,
    blobs: Arc<FsBlobs>,
}

impl LocalBackend {
    /// Opens (creating if needed) `<data_dir>/wagate.db` and `<data_dir>/blobs/`.
    pub fn open(data_dir: &Path, opts: LocalOptions) -> anyhow::Result<Self> {
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("creating {}", data_dir.display()))?;
        let db = Db::open(&data_dir.join("wagate.db"), &opts)?;
        Ok(Self {
            store: Arc::new(SqliteStore::new(db.clone())),
            queue: Arc::new(SqliteQueue::new(db)),
            blobs: Arc::new(FsBlobs::new(data_dir.join("blobs"), opts.synchronous_full)?),
        })
    }

    /// The state store (keys, sessions, jobs, counters, config, …) in the database file.
    pub fn store(&self) -> Arc<dyn Store> {
        self.store.clone()
    }

    /// The durable queues, in the same database file.
    pub fn queue(&self) -> Arc<dyn Queue> {
        self.queue.clone()
    }

    /// Everything an accepted send writes, in one transaction of the database file.
    pub fn intake(&self) -> Arc<dyn Intake> {
        Arc::new(SqliteIntake::new(self.store.clone(), self.queue.clone()))
    }

    /// Writes of the store and the queues that go together, in one transaction of the
    /// database file.
    pub fn batch(&self) -> Arc<dyn WriteBatch> {
        Arc::new(SqliteBatch::new(self.queue.clone()))
    }

    /// The blob directory.
    pub fn blobs(&self) -> Arc<dyn Blobs> {
        self.blobs.clone()
    }

    /// The blob directory as itself, for the media retention sweep.
    pub fn fs_blobs(&self) -> Arc<FsBlobs> {
        self.blobs.clone()
    }

    /// Makes every in-flight (received, not acked) queue message visible again at once.
    /// `wagate local` calls it at startup: a single process owns the file, so anything in
    /// flight belonged to a process that died. Returns how many were released.
    pub async fn release_inflight(&self) -> anyhow::Result<u64> {
        self.queue.release_inflight().await
    }
}
