//! The per-session queue gauges, as the send worker sees its own queue: the age of the job at
//! its head each time it takes one (the queue is FIFO, so that is the oldest waiting), the
//! depth asked of the queue at most every [`DEPTH_EVERY`], and both zero once it finds the
//! queue empty. Nothing polls: the gauges move only when the worker does.

use std::time::{Duration, Instant};

use wagate_core::clock::now_ms;
use wagate_core::measure;
use wagate_core::ports::Queue;

/// How often the depth is asked of the queue (a query per ask on SQLite, an API call on SQS).
pub const DEPTH_EVERY: Duration = Duration::from_secs(5);

#[derive(Debug)]
pub struct QueueGauge {
    session: String,
    depth_asked: Option<Instant>,
    /// Zeros were recorded and nothing since: an idle worker's empty polls record nothing.
    zeroed: bool,
}

impl QueueGauge {
    pub fn new(session: &str) -> Self {
        Self {
            session: session.to_owned(),
            depth_asked: None,
            zeroed: false,
        }
    }

    /// The worker found its queue empty.
    pub fn empty(&mut self) {
        if !self.zeroed {
            measure::queue(&self.session, Some(0), Duration::ZERO);
            self.zeroed = true;
        }
        self.depth_asked = None;
    }

    /// The worker took a job created at `created_at_ms` from queue `name`.
    pub async fn took(&mut self, queue: &dyn Queue, name: &str, created_at_ms: i64) {
        let age_ms = u64::try_from(now_ms().saturating_sub(created_at_ms)).unwrap_or(0);
        let due = self
            .depth_asked
            .is_none_or(|at| at.elapsed() >= DEPTH_EVERY);
        let depth = if due {
            self.depth_asked = Some(Instant::now());
            queue.depth(name).await.ok()
        } else {
            None
        };
        measure::queue(&self.session, depth, Duration::from_millis(age_ms));
        self.zeroed = false;
    }
}
