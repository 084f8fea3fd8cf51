//! Blobs as files under `<data_dir>/blobs/`. Writes go to a temp file renamed into place, so a
//! reader never sees half a blob; keys are checked so none can escape the directory.

use std::path::PathBuf;

use async_trait::async_trait;
use bytes::Bytes;

use crate::ports::{Blobs, PortError, PortResult};

#[derive(Debug, Clone)]
pub struct FsBlobs {
    root: PathBuf,
}

impl FsBlobs {
    pub fn new(root: PathBuf) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&root)?;
        Ok(Self { root })
    }

    fn path(&self, key: &str) -> PortResult<PathBuf> {
        let ok = !key.is_empty()
            && key.split('/').all(|seg| {
                !seg.is_empty()
                    && seg != "."
                    && seg != ".."
                    && seg
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
            });
        if !ok {
            return Err(PortError::Backend(anyhow::anyhow!(
                "invalid blob key {key:?}"
            )));
        }
        Ok(self.root.join(key))
    }
}

fn io(e: std::io::Error) -> PortError {
    PortError::Backend(anyhow::Error::new(e).context("blob file"))
}

#[async_trait]
impl Blobs for FsBlobs {
    async fn put(&self, key: &str, bytes: Bytes) -> PortResult<()> {
        let path = self.path(key)?;
        let dir = path
            .parent()
            .map(PathBuf::from)
            .unwrap_or_else(|| self.root.clone());
        tokio::fs::create_dir_all(&dir).await.map_err(io)?;
        let tmp = dir.join(format!(".tmp-{}", crate::random_token(12)));
        tokio::fs::write(&tmp, &bytes).await.map_err(io)?;
        if let Err(e) = tokio::fs::rename(&tmp, &path).await {
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(io(e));
        }
        Ok(())
    }

    async fn get(&self, key: &str) -> PortResult<Option<Bytes>> {
        match tokio::fs::read(self.path(key)?).await {
            Ok(b) => Ok(Some(Bytes::from(b))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(e)),
        }
    }

    async fn delete(&self, key: &str) -> PortResult<()> {
        match tokio::fs::remove_file(self.path(key)?).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io(e)),
        }
    }

    async fn list(&self, prefix: &str) -> PortResult<Vec<String>> {
        let root = self.root.clone();
        let prefix = prefix.to_owned();
        tokio::task::spawn_blocking(move || {
            let mut out = Vec::new();
            let mut stack = vec![root.clone()];
            while let Some(dir) = stack.pop() {
                let entries = match std::fs::read_dir(&dir) {
                    Ok(e) => e,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(io(e)),
                };
                for entry in entries {
                    let entry = entry.map_err(io)?;
                    let path = entry.path();
                    if entry.file_type().map_err(io)?.is_dir() {
                        stack.push(path);
                        continue;
                    }
                    let Ok(rel) = path.strip_prefix(&root) else {
                        continue;
                    };
                    let key = rel.to_string_lossy().replace('\\', "/");
                    let is_tmp = key
                        .rsplit('/')
                        .next()
                        .is_some_and(|n| n.starts_with(".tmp-"));
                    if !is_tmp && key.starts_with(&prefix) {
                        out.push(key);
                    }
                }
            }
            out.sort();
            Ok(out)
        })
        .await
        .map_err(|e| PortError::Backend(anyhow::anyhow!("blob listing failed: {e}")))?
    }
}
