//! A session's WhatsApp credentials: one SQLite file per session under the connector's
//! directory (what whatsapp-rust's `SqliteStore` works on), backed up to the `Blobs` port as
//! `creds/<session>.db` so another host (or this one, after losing its disk) can restore it.
//!
//! The file is never copied raw: in WAL mode the latest writes sit in `-wal` next to it, so a
//! backup is a `VACUUM INTO` snapshot (`snapshot_db`), one consistent file. Nothing here logs
//! the credentials themselves, only sizes and paths.
//!
//! Which copy wins when a session starts: next to each local file sits the SHA-256 of the
//! backup this host last uploaded or restored (`<session>.db.backup`). If the blob store
//! still holds that backup, nobody else ran the session since and the local file (which may
//! hold newer writes) wins; if it holds another one, a host that took the session over wrote
//! it, and the local file is stale: the backup replaces it. A session that moves A → B → A
//! therefore comes back to A with B's keys, not A's old ones.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use bytes::Bytes;
use sha2::{Digest, Sha256};
use wagate_core::SessionId;
use wagate_core::ports::Blobs;
use whatsapp_rust::traits::DeviceStore;

/// Where a session's credentials came from when it connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restored {
    /// The local file was already there and no other host wrote a backup since.
    Local,
    /// The backup: the local file was missing, or another host backed the session up after
    /// this one last did.
    FromBlob,
    /// Nothing anywhere: the session links from scratch.
    Fresh,
}

/// Credentials of every session: local files plus their backups in the blob store.
#[derive(Debug, Clone)]
pub struct CredsStore {
    dir: PathBuf,
    blobs: Arc<dyn Blobs>,
}

/// The blob key of a session's credentials backup.
pub fn blob_key(session: &SessionId) -> String {
    format!("creds/{session}.db")
}

impl CredsStore {
    /// Credentials files under `dir`, backed up to `blobs`.
    pub fn new(dir: impl Into<PathBuf>, blobs: Arc<dyn Blobs>) -> Self {
        Self {
            dir: dir.into(),
            blobs,
        }
    }

    /// The session's SQLite file.
    pub fn db_path(&self, session: &SessionId) -> PathBuf {
        self.dir.join(format!("{session}.db"))
    }

    /// Where this host notes which backup its local file goes with.
    fn marker_path(&self, session: &SessionId) -> PathBuf {
        self.dir.join(format!("{session}.db.backup"))
    }

    async fn read_marker(&self, session: &SessionId) -> Option<String> {
        tokio::fs::read_to_string(self.marker_path(session))
            .await
            .ok()
            .map(|s| s.trim().to_owned())
    }

    async fn write_marker(&self, session: &SessionId, backup: &[u8]) -> anyhow::Result<()> {
        let path = self.marker_path(session);
        tokio::fs::write(&path, digest(backup))
            .await
            .with_context(|| format!("writing {}", path.display()))
    }

    /// Makes sure the session's file is in place before the client opens it: the local file
    /// when no other host has backed the session up since this one did (it holds writes newer
    /// than any backup), else the backup.
    pub async fn restore(&self, session: &SessionId) -> anyhow::Result<Restored> {
        tokio::fs::create_dir_all(&self.dir)
            .await
            .with_context(|| format!("creating {}", self.dir.display()))?;
        let path = self.db_path(session);
        let local = tokio::fs::try_exists(&path).await.unwrap_or(false);
        let Some(bytes) = self
            .blobs
            .get(&blob_key(session))
            .await
            .context("loading the credentials backup")?
        else {
            return Ok(if local {
                Restored::Local
            } else {
                Restored::Fresh
            });
        };
        if local && self.read_marker(session).await.as_deref() == Some(digest(&bytes).as_str()) {
            return Ok(Restored::Local);
        }
        if local {
            tracing::info!(session_id = %session, "another host backed this session up since: its backup replaces the local credentials");
        }
        // Stale WAL files next to a restored database would be replayed into it.
        remove_sidecars(&path).await;
        let tmp = path.with_extension("db.restore");
        tokio::fs::write(&tmp, &bytes)
            .await
            .with_context(|| format!("writing {}", tmp.display()))?;
        tokio::fs::rename(&tmp, &path)
            .await
            .with_context(|| format!("moving the restored credentials to {}", path.display()))?;
        self.write_marker(session, &bytes).await?;
        tracing::info!(session_id = %session, bytes = bytes.len(), "restored WhatsApp credentials from the blob store");
        Ok(Restored::FromBlob)
    }

    /// Takes a consistent snapshot of the session's open store and uploads it; returns its
    /// size.
    pub async fn backup(
        &self,
        session: &SessionId,
        store: &dyn DeviceStore,
    ) -> anyhow::Result<u64> {
        let path = self.db_path(session);
        let label = format!("backup-{}", wagate_core::wa_message_id());
        store
            .snapshot_db(&label, None)
            .await
            .context("snapshotting the credentials database")?;
        let snapshot = find_snapshot(&path, &label)
            .await
            .context("finding the credentials snapshot")?;
        let result = self.upload_file(session, &snapshot).await;
        if let Err(e) = tokio::fs::remove_file(&snapshot).await {
            tracing::debug!(session_id = %session, error = %e, "could not remove a credentials snapshot");
        }
        result
    }

    /// Uploads one consistent database file as the session's backup.
    pub async fn upload_file(&self, session: &SessionId, file: &Path) -> anyhow::Result<u64> {
        let bytes = tokio::fs::read(file)
            .await
            .with_context(|| format!("reading {}", file.display()))?;
        let len = bytes.len() as u64;
        let bytes = Bytes::from(bytes);
        self.blobs
            .put(&blob_key(session), bytes.clone())
            .await
            .context("uploading the credentials backup")?;
        self.write_marker(session, &bytes).await?;
        tracing::debug!(session_id = %session, bytes = len, "backed up WhatsApp credentials");
        Ok(len)
    }

    /// Forgets the session's credentials: the local file (and its WAL) and the backup.
    pub async fn delete(&self, session: &SessionId) -> anyhow::Result<()> {
        let path = self.db_path(session);
        match tokio::fs::remove_file(&path).await {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("removing {}", path.display())),
        }
        remove_sidecars(&path).await;
        let _ = tokio::fs::remove_file(self.marker_path(session)).await;
        self.blobs
            .delete(&blob_key(session))
            .await
            .context("deleting the credentials backup")?;
        tracing::info!(session_id = %session, "deleted WhatsApp credentials");
        Ok(())
    }
}

/// The SHA-256 of a backup, in hex: how a host recognises the backup it wrote.
fn digest(backup: &[u8]) -> String {
    hex::encode(Sha256::digest(backup))
}

async fn remove_sidecars(db: &Path) {
    for suffix in ["-wal", "-shm"] {
        let mut p = db.as_os_str().to_owned();
        p.push(suffix);
        let _ = tokio::fs::remove_file(PathBuf::from(p)).await;
    }
}

/// `snapshot_db` writes `<db>.snapshot-<unix seconds>-<label>`: the unique label finds it.
async fn find_snapshot(db: &Path, label: &str) -> anyhow::Result<PathBuf> {
    let dir = db.parent().unwrap_or(Path::new("."));
    let prefix = format!(
        "{}.snapshot-",
        db.file_name().and_then(|n| n.to_str()).unwrap_or_default()
    );
    let suffix = format!("-{label}");
    let mut entries = tokio::fs::read_dir(dir)
        .await
        .with_context(|| format!("listing {}", dir.display()))?;
    while let Some(e) = entries.next_entry().await? {
        let name = e.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(&prefix) && name.ends_with(&suffix) {
            return Ok(e.path());
        }
    }
    anyhow::bail!("no snapshot {label} next to {}", db.display())
}
