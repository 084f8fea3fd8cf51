//! Finishing acceptances that a crash cut off. Accepting a send records its job, then puts it
//! on its session's queue; a process that dies in between (a Lambda timeout or OOM, a killed
//! `wagate local`) leaves a job that says `queued` but is on no queue. A client hanging up
//! cannot do this (acceptance runs to completion in a task of its own); only a crash can.
//!
//! The session host sweeps for such jobs: every [`EVERY`] it enqueues again each job never
//! updated since its creation (no worker has started it) that was created between [`WINDOW`]
//! and [`SETTLE`] ago, under the job id as deduplication id, as the acceptance did. A job that
//! did reach its queue is not queued twice: both queues drop a repeated id while the first
//! message is still queued (SQS for five minutes from the first send, which the window stays
//! well inside), and once a worker has received it the job is updated, so no sweep takes it
//! any more (the worker marks it `sending` before its message is acked). The window is
//! short so that a backlog waiting for its turn is looked at two or three times, not every
//! sweep for as long as it waits. At start the host sweeps the last [`AT_START`], for jobs cut
//! off while no host was running; on SQS one of those still waiting after five minutes gets a
//! second queue message, which the worker acks without sending (the job is final by then).

use std::time::Duration;

use crate::Job;
use crate::ports::{PortError, PortResult, Queue, Store, enqueue_send};

/// How often the host sweeps.
pub const EVERY: Duration = Duration::from_secs(30);
/// How old a job must be before it counts as cut off: a live acceptance enqueues within
/// milliseconds, and within seconds even under a slow store.
pub const SETTLE: Duration = Duration::from_secs(20);
/// How far back a regular sweep looks: three sweeps' worth past [`SETTLE`], so a sweep or two
/// may run late, and well inside the five-minute deduplication window of the acceptance's own
/// enqueue.
pub const WINDOW: Duration = Duration::from_secs(110);
/// How far back the sweep at start looks.
pub const AT_START: Duration = Duration::from_secs(3600);

/// Jobs a sweep looks at per store call.
const PAGE: usize = 200;

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Enqueues every unstarted job created in `[now - lookback, now - SETTLE)`; returns how
/// many it enqueued (repeats the queue dropped included).
pub async fn sweep(
    store: &dyn Store,
    queue: &dyn Queue,
    now_ms: i64,
    lookback: Duration,
) -> PortResult<u64> {
    let (from, to) = (
        now_ms.saturating_sub(ms(lookback)),
        now_ms.saturating_sub(ms(SETTLE)),
    );
    let mut after: Option<String> = None;
    let mut enqueued = 0u64;
    loop {
        let page = store
            .list_unstarted_jobs(from, to, after.as_deref(), PAGE)
            .await?;
        for job in &page.items {
            if requeue(queue, job).await? {
                enqueued += 1;
            }
        }
        match page.next {
            Some(n) => after = Some(n),
            None => return Ok(enqueued),
        }
    }
}

async fn requeue(queue: &dyn Queue, job: &Job) -> PortResult<bool> {
    match enqueue_send(queue, job, job.id.as_str()).await {
        Ok(()) => Ok(true),
        // The session is gone; deleting it fails its jobs.
        Err(PortError::NotFound(_)) => Ok(false),
        Err(e) => Err(e),
    }
}
