//! The files behind the simulated network's media messages: given inline or generated (the
//! same bytes for the same message, streamed, so a test can receive a 50 MiB video without
//! holding it), and downloads that fail on demand, a number of times or always.

use std::collections::{HashMap, VecDeque};

use anyhow::{Context, bail};
use base64::Engine as _;
use bytes::Bytes;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use wagate_core::ports::BlobWriter;
use wagate_core::simulator::SimMedia;

use super::SimNetwork;

const CHUNK: usize = 64 * 1024;
/// Messages whose failed downloads are counted; the oldest are forgotten.
const REMEMBER: usize = 1_000;

/// The connector handle of a simulated media message.
pub fn handle(media: &SimMedia) -> Value {
    json!({ "sim": media })
}

/// Failed downloads per message id, the last [`REMEMBER`] messages.
#[derive(Debug, Default)]
pub struct FailureCounts {
    counts: HashMap<String, u32>,
    order: VecDeque<String>,
}

impl FailureCounts {
    /// Counts one more failure of `id`; returns how many there were before.
    fn bump(&mut self, id: &str) -> u32 {
        if let Some(n) = self.counts.get_mut(id) {
            let before = *n;
            *n = n.saturating_add(1);
            return before;
        }
        self.counts.insert(id.to_owned(), 1);
        self.order.push_back(id.to_owned());
        while self.order.len() > REMEMBER {
            if let Some(old) = self.order.pop_front() {
                self.counts.remove(&old);
            }
        }
        0
    }
}

/// Deterministic filler: a SHA-256 chain seeded with the message id.
fn generated_chunk(seed: &[u8; 32], index: u64, len: usize) -> Bytes {
    let mut out = Vec::with_capacity(len);
    let mut block = index;
    while out.len() < len {
        let mut h = Sha256::new();
        h.update(seed);
        h.update(block.to_le_bytes());
        let d = h.finalize();
        let take = (len - out.len()).min(d.len());
        out.extend_from_slice(&d[..take]);
        block = block.wrapping_add(1 << 32);
    }
    Bytes::from(out)
}

impl SimNetwork {
    /// Writes the file of the media message `message_id` to `out`.
    pub(super) async fn download(
        &self,
        message_id: &str,
        handle: &Value,
        max_bytes: u64,
        out: &mut dyn BlobWriter,
    ) -> anyhow::Result<()> {
        let media: SimMedia =
            serde_json::from_value(handle.get("sim").cloned().unwrap_or_default())
                .context("not a simulated media handle")?;
        if let Some(reason) = &media.fail {
            let before = self.state().media_failures.bump(message_id);
            if media.fail_times.is_none_or(|t| before < t) {
                bail!("{reason}");
            }
        }
        let data = match &media.data {
            Some(b64) => Some(
                base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .context("media.data is not base64")?,
            ),
            None => None,
        };
        let size = match &data {
            Some(d) => d.len() as u64,
            None => media.size.unwrap_or(0),
        };
        if size > max_bytes {
            bail!("the file is {size} bytes, over the {max_bytes}-byte limit");
        }
        if let Some(d) = data {
            for c in d.chunks(CHUNK) {
                out.write(Bytes::copy_from_slice(c)).await?;
            }
            return Ok(());
        }
        let seed: [u8; 32] = Sha256::digest(message_id.as_bytes()).into();
        let mut written = 0u64;
        let mut index = 0u64;
        while written < size {
            let len = usize::try_from((size - written).min(CHUNK as u64)).unwrap_or(CHUNK);
            out.write(generated_chunk(&seed, index, len)).await?;
            written += len as u64;
            index += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_counted_per_message_and_old_messages_forgotten() {
        let mut f = FailureCounts::default();
        assert_eq!(f.bump("a"), 0);
        assert_eq!(f.bump("a"), 1);
        assert_eq!(f.bump("b"), 0);
        for i in 0..REMEMBER {
            f.bump(&i.to_string());
        }
        assert_eq!(f.counts.len(), REMEMBER);
        assert_eq!(f.bump("a"), 0, "a was forgotten");
    }

    #[test]
    fn generated_files_are_the_same_for_the_same_message_only() {
        let a: [u8; 32] = Sha256::digest(b"A").into();
        let b: [u8; 32] = Sha256::digest(b"B").into();
        assert_eq!(generated_chunk(&a, 3, 100), generated_chunk(&a, 3, 100));
        assert_ne!(generated_chunk(&a, 3, 100), generated_chunk(&a, 4, 100));
        assert_ne!(generated_chunk(&a, 3, 100), generated_chunk(&b, 3, 100));
        assert_eq!(generated_chunk(&a, 0, 1000).len(), 1000);
    }
}
