//! Blobs as files under `<data_dir>/blobs/`. Writes go to a temp file renamed into place, so a
//! reader never sees half a blob; keys are checked so none can escape the directory.

use std::io::Write;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use bytes::Bytes;

use futures::StreamExt;
use wagate_core::ports::{BlobStream, BlobWriter, Blobs, PortError, PortResult, check_blob_key};

/// Temp files start with a character no valid key segment can contain, so a temp file is
/// never mistaken for a blob (by `get` or `list`) and never collides with one.
const TMP_PREFIX: &str = "~tmp-";

#[derive(Debug, Clone)]
pub struct FsBlobs {
    root: PathBuf,
    /// fsync each blob (and its directory) before `put` returns: with `synchronous_full`, a
    /// power cut loses no stored blob either. A killed process loses nothing either way.
    durable: bool,
}

/// Whether `key` is non-empty `/`-separated segments of `[A-Za-z0-9._-]`, none `.` or `..`.
fn io(e: std::io::Error) -> PortError {
    PortError::Backend(anyhow::Error::new(e).context("blob file"))
}

/// Runs blocking file-system work off the async runtime.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> PortResult<T> + Send + 'static,
) -> PortResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| PortError::Backend(anyhow::anyhow!("blob task failed: {e}")))?
}

impl FsBlobs {
    pub fn new(root: PathBuf, durable: bool) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&root)?;
        Ok(Self { root, durable })
    }

    fn path(&self, key: &str) -> PortResult<PathBuf> {
        check_blob_key(key)?;
        Ok(self.root.join(key))
    }

    /// Deletes blobs under `prefix` not modified for `max_age`, temp files of writes that
    /// died (a killed process) older than an hour, and directories under `prefix` left empty
    /// for an hour (each upload has one of its own). Returns how many blobs went. Media
    /// retention for the embedded mode; S3 does the same with a lifecycle rule.
    pub async fn sweep(&self, prefix: &str, max_age: std::time::Duration) -> PortResult<usize> {
        let keys = self.list(prefix).await?;
        let root = self.root.clone();
        let swept = root.join(prefix.trim_end_matches('/'));
        blocking(move || {
            let now = std::time::SystemTime::now();
            let old = |p: &Path, age: std::time::Duration| {
                std::fs::metadata(p)
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| now.duration_since(t).ok())
                    .is_some_and(|a| a > age)
            };
            let mut removed = 0;
            for key in keys {
                let path = root.join(&key);
                if old(&path, max_age) && std::fs::remove_file(&path).is_ok() {
                    removed += 1;
                }
            }
            let hour = std::time::Duration::from_secs(3600);
            let mut stack = vec![root.clone()];
            let mut dirs = Vec::new();
            while let Some(dir) = stack.pop() {
                let Ok(entries) = std::fs::read_dir(&dir) else {
                    continue;
                };
                for entry in entries.flatten() {
                    let path = entry.path();
                    if entry.file_type().is_ok_and(|t| t.is_dir()) {
                        if path.starts_with(&swept) {
                            dirs.push(path.clone());
                        }
                        stack.push(path);
                    } else if entry.file_name().to_string_lossy().starts_with(TMP_PREFIX)
                        && old(&path, hour)
                    {
                        let _ = std::fs::remove_file(&path);
                    }
                }
            }
            // Deepest first, so a parent emptied by its children goes too. An hour of quiet
            // keeps a directory a writer has just made (it writes its temp file next).
            dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
            for dir in dirs {
                if old(&dir, hour) {
                    // Fails, as it should, on a directory that is not empty.
                    let _ = std::fs::remove_dir(&dir);
                }
            }
            Ok(removed)
        })
        .await
    }
}

/// A streamed write: chunks go to a temp file beside the blob, renamed into place at the end.
#[derive(Debug)]
struct FsWriter {
    file: Option<tokio::fs::File>,
    tmp: PathBuf,
    path: PathBuf,
    dir: PathBuf,
    durable: bool,
    written: u64,
    done: bool,
}

impl Drop for FsWriter {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

#[async_trait]
impl BlobWriter for FsWriter {
    async fn write(&mut self, chunk: Bytes) -> PortResult<()> {
        use tokio::io::AsyncWriteExt;
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| PortError::Backend(anyhow::anyhow!("blob writer already closed")))?;
        file.write_all(&chunk).await.map_err(io)?;
        self.written += chunk.len() as u64;
        Ok(())
    }

    async fn finish(mut self: Box<Self>) -> PortResult<u64> {
        use tokio::io::AsyncWriteExt;
        let Some(mut file) = self.file.take() else {
            return Err(PortError::Backend(anyhow::anyhow!(
                "blob writer already closed"
            )));
        };
        file.flush().await.map_err(io)?;
        if self.durable {
            file.sync_all().await.map_err(io)?;
        }
        drop(file);
        tokio::fs::rename(&self.tmp, &self.path).await.map_err(io)?;
        self.done = true;
        if self.durable {
            let dir = self.dir.clone();
            blocking(move || {
                std::fs::File::open(dir)
                    .and_then(|d| d.sync_all())
                    .map_err(io)
            })
            .await?;
        }
        Ok(self.written)
    }

    async fn abort(mut self: Box<Self>) {
        self.file.take();
        let _ = tokio::fs::remove_file(&self.tmp).await;
        self.done = true;
    }
}

fn write_atomically(dir: &Path, path: &Path, bytes: &[u8], durable: bool) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!("{TMP_PREFIX}{}", wagate_core::random_token(12)));
    let written = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        if durable {
            file.sync_all()?;
        }
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written?;
    if durable {
        // The rename itself is only durable once the directory entry is.
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// The error of a path that holds no blob: missing, or a directory (a key "a" when "a/b"
/// exists holds no blob, as on S3).
fn no_blob(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::NotFound
            | std::io::ErrorKind::IsADirectory
            | std::io::ErrorKind::NotADirectory
    )
}

#[async_trait]
impl Blobs for FsBlobs {
    async fn put(&self, key: &str, bytes: Bytes) -> PortResult<()> {
        let path = self.path(key)?;
        let dir = path
            .parent()
            .map_or_else(|| self.root.clone(), Path::to_path_buf);
        let durable = self.durable;
        blocking(move || write_atomically(&dir, &path, &bytes, durable).map_err(io)).await
    }

    async fn get(&self, key: &str) -> PortResult<Option<Bytes>> {
        match tokio::fs::read(self.path(key)?).await {
            Ok(b) => Ok(Some(Bytes::from(b))),
            Err(e) if no_blob(&e) => Ok(None),
            Err(e) => Err(io(e)),
        }
    }

    async fn delete(&self, key: &str) -> PortResult<()> {
        match tokio::fs::remove_file(self.path(key)?).await {
            Ok(()) => Ok(()),
            Err(e) if no_blob(&e) => Ok(()),
            Err(e) => Err(io(e)),
        }
    }

    async fn writer(&self, key: &str) -> PortResult<Box<dyn BlobWriter>> {
        let path = self.path(key)?;
        let dir = path
            .parent()
            .map_or_else(|| self.root.clone(), Path::to_path_buf);
        tokio::fs::create_dir_all(&dir).await.map_err(io)?;
        let tmp = dir.join(format!("{TMP_PREFIX}{}", wagate_core::random_token(12)));
        let file = tokio::fs::File::create(&tmp).await.map_err(io)?;
        Ok(Box::new(FsWriter {
            file: Some(file),
            tmp,
            path,
            dir,
            durable: self.durable,
            written: 0,
            done: false,
        }))
    }

    async fn size(&self, key: &str) -> PortResult<Option<u64>> {
        match tokio::fs::metadata(self.path(key)?).await {
            Ok(m) if m.is_file() => Ok(Some(m.len())),
            Ok(_) => Ok(None),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(io(e)),
        }
    }

    async fn read_stream(&self, key: &str) -> PortResult<Option<(u64, BlobStream)>> {
        let file = match tokio::fs::File::open(self.path(key)?).await {
            Ok(f) => f,
            Err(e) if no_blob(&e) => return Ok(None),
            Err(e) => return Err(io(e)),
        };
        let len = file.metadata().await.map_err(io)?.len();
        let chunks =
            tokio_util::io::ReaderStream::with_capacity(file, 64 * 1024).map(|r| r.map_err(io));
        Ok(Some((len, Box::pin(chunks))))
    }

    async fn get_prefix(&self, key: &str, len: usize) -> PortResult<Option<Bytes>> {
        use tokio::io::AsyncReadExt;
        let file = match tokio::fs::File::open(self.path(key)?).await {
            Ok(f) => f,
            Err(e) if no_blob(&e) => return Ok(None),
            Err(e) => return Err(io(e)),
        };
        let mut buf = Vec::with_capacity(len.min(1 << 20));
        file.take(len as u64)
            .read_to_end(&mut buf)
            .await
            .map_err(io)?;
        Ok(Some(Bytes::from(buf)))
    }

    async fn list(&self, prefix: &str) -> PortResult<Vec<String>> {
        // Keys match by plain string prefix, as on S3 ("a/b" lists "a/b/c" and "a/bc"), but
        // the walk starts at the deepest directory the prefix names.
        let start = match prefix.rfind('/') {
            Some(i) if check_blob_key(&prefix[..i]).is_ok() => self.root.join(&prefix[..i]),
            Some(_) => return Ok(Vec::new()),
            None => self.root.clone(),
        };
        let root = self.root.clone();
        let prefix = prefix.to_owned();
        blocking(move || {
            let mut out = Vec::new();
            let mut stack = vec![start];
            while let Some(dir) = stack.pop() {
                let entries = match std::fs::read_dir(&dir) {
                    Ok(e) => e,
                    Err(e)
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
                        ) =>
                    {
                        continue;
                    }
                    Err(e) => return Err(io(e)),
                };
                for entry in entries {
                    let entry = entry.map_err(io)?;
                    let path = entry.path();
                    if entry.file_type().map_err(io)?.is_dir() {
                        stack.push(path);
                        continue;
                    }
                    let Some(key) = path
                        .strip_prefix(&root)
                        .ok()
                        .and_then(|rel| rel.to_str())
                        .map(|rel| rel.replace('\\', "/"))
                    else {
                        continue;
                    };
                    // Temp files (and anything else that is not a valid key) are not blobs.
                    if check_blob_key(&key).is_ok() && key.starts_with(&prefix) {
                        out.push(key);
                    }
                }
            }
            out.sort();
            Ok(out)
        })
        .await
    }
}
