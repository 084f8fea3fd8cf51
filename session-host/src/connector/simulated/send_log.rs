//! The simulated network's send log: every send attempt that reached the network, one JSON
//! line each, appended as it happens and reloaded at start, so a test that kills the process
//! can still count what was delivered, exactly once or not. Rotated to `sent.jsonl.1` past a
//! size, so it takes at most twice that on disk.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

/// One line of the send log: a send attempt that reached the network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SimSendRecord {
    /// The sending session's id.
    pub session: String,
    /// The recipient JID.
    pub to: String,
    /// The WhatsApp message id the send carried (the dedup key).
    pub wa_message_id: String,
    /// `OutboundMessage::kind()`.
    pub kind: String,
    /// The text, caption or title, for kinds that have one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// When the attempt reached the network, ms since the Unix epoch.
    pub ts: i64,
    /// The id had already been delivered: the recipient sees nothing new.
    pub duplicate: bool,
    /// The recipient has the message (on a duplicate: from the first delivery).
    pub delivered: bool,
    /// Why it failed, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl SimSendRecord {
    /// A first delivery: what a recipient actually saw.
    pub fn is_first_delivery(&self) -> bool {
        self.delivered && !self.duplicate
    }
}

/// Reads a send log written by [`SimNetwork`]; a torn last line (a process killed mid-write)
/// is skipped.
pub fn read_send_log(path: &Path) -> anyhow::Result<Vec<SimSendRecord>> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("opening {}", path.display())),
    };
    let mut out = Vec::new();
    for (n, line) in BufReader::new(file).lines().enumerate() {
        let line = line.with_context(|| format!("reading {}", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str(&line) {
            Ok(rec) => out.push(rec),
            Err(e) => {
                tracing::warn!(line = n + 1, error = %e, "skipping a malformed send log line")
            }
        }
    }
    Ok(out)
}

/// Appends a newline if the file's last byte is not one (a line torn by a kill).
pub(super) fn end_with_newline(file: &mut File) -> std::io::Result<()> {
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(());
    }
    file.seek(SeekFrom::Start(len - 1))?;
    let mut last = [0u8; 1];
    file.read_exact(&mut last)?;
    if last[0] != b'\n' {
        file.write_all(b"\n")?;
    }
    Ok(())
}

/// `sent.jsonl.1`: where the send log goes when it is rotated.
pub(super) fn rotated(log_path: &Path) -> PathBuf {
    let mut name = log_path.as_os_str().to_owned();
    name.push(".1");
    PathBuf::from(name)
}

/// The open send log and its size.
pub(super) struct SendLog {
    file: File,
    pub(super) len: u64,
}

impl SendLog {
    pub(super) fn open(path: &Path) -> anyhow::Result<Self> {
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(path)
            .with_context(|| format!("opening {}", path.display()))?;
        end_with_newline(&mut file).with_context(|| format!("repairing {}", path.display()))?;
        let len = file.metadata()?.len();
        Ok(Self { file, len })
    }

    pub(super) fn append(&mut self, line: &[u8]) -> std::io::Result<()> {
        self.file.write_all(line)?;
        self.file.flush()?;
        self.len += line.len() as u64;
        Ok(())
    }

    /// Moves the log to `sent.jsonl.1` and starts an empty one.
    pub(super) fn rotate(&mut self, path: &Path) -> anyhow::Result<()> {
        std::fs::rename(path, rotated(path))?;
        *self = Self::open(path)?;
        Ok(())
    }
}
