//! The session counts `/health` shows (total, and by status), without naming a session.
//! `/health` needs no key, so the counts are computed at most once per [`FRESH_FOR`]: a flood of
//! health checks walks the session list no more often than that.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::Mutex;
use wagate_core::ports::Store;

/// How long one count is served.
pub const FRESH_FOR: Duration = Duration::from_secs(10);

/// The last count and when it was made.
#[derive(Debug, Default)]
pub struct SessionCounts {
    last: Mutex<Option<(Instant, Value)>>,
}

impl SessionCounts {
    /// `{ total, byStatus: { open: n, … } }`, or `null` when the store cannot say.
    pub async fn sessions(&self, store: &dyn Store) -> Value {
        let mut last = self.last.lock().await;
        if let Some((at, v)) = last.as_ref()
            && at.elapsed() < FRESH_FOR
        {
            return v.clone();
        }
        let v = match store.all_sessions(None).await {
            Ok(all) => {
                let mut by: BTreeMap<&str, u64> = BTreeMap::new();
                for s in &all {
                    *by.entry(s.status.as_str()).or_default() += 1;
                }
                json!({ "total": all.len(), "byStatus": by })
            }
            Err(e) => {
                tracing::warn!(error = %e, "health: could not count sessions");
                Value::Null
            }
        };
        *last = Some((Instant::now(), v.clone()));
        v
    }
}
