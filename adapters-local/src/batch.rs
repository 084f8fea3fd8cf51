//! The write batch on SQLite: every write of a call in one savepoint on the database thread
//! (see `wagate_core::ports::WriteBatch`). A job settled by the send worker changes its event,
//! its state and its queue message in one place; thirty-two of them share the pages they touch
//! instead of each step dirtying them again in a commit of its own.

use std::sync::Arc;

use async_trait::async_trait;
use wagate_core::clock::now_ms;
use wagate_core::ports::{PortError, PortResult, Write, WriteBatch};

use crate::queue::{SqliteQueue, ack_in, nack_in, push_in, queue_exists};
use crate::store::{put_dead_letter_in, put_delivery_in, put_record_in, update_job_in};

#[derive(Debug, Clone)]
pub struct SqliteBatch {
    queue: Arc<SqliteQueue>,
}

impl SqliteBatch {
    pub fn new(queue: Arc<SqliteQueue>) -> Self {
        Self { queue }
    }
}

#[async_trait]
impl WriteBatch for SqliteBatch {
    async fn apply(&self, chains: Vec<Vec<Write>>) -> PortResult<Vec<bool>> {
        let mut touched: Vec<String> = Vec::new();
        for w in chains.iter().flatten() {
            let q = match w {
                Write::Send { queue, .. }
                | Write::Nack { queue, .. }
                | Write::Ack { queue, .. } => queue,
                Write::Job { .. }
                | Write::Record { .. }
                | Write::Delivery { .. }
                | Write::DeadLetter(_) => continue,
            };
            if !touched.contains(q) {
                touched.push(q.clone());
            }
        }
        if chains.iter().all(Vec::is_empty) {
            return Ok(vec![true; chains.len()]);
        }
        let found = self
            .queue
            .db
            .write(move |tx| {
                // Checked before anything is written: a call naming a missing queue writes
                // nothing, as one transaction should.
                let mut checked: Vec<&str> = Vec::new();
                for w in chains.iter().flatten() {
                    if let Write::Send { queue, .. } = w
                        && !checked.contains(&queue.as_str())
                    {
                        if !queue_exists(tx, queue)? {
                            return Ok(Err(queue.clone()));
                        }
                        checked.push(queue);
                    }
                }
                let now = now_ms();
                let found = chains
                    .iter()
                    .map(|chain| {
                        chain
                            .iter()
                            .try_fold(true, |found, w| Ok(found & apply_in(tx, w, now)?))
                    })
                    .collect::<rusqlite::Result<Vec<bool>>>()?;
                Ok(Ok(found))
            })
            .await?;
        let found = found.map_err(|q| PortError::NotFound(format!("queue {q}")))?;
        // Long polls of the queues written to may have something now: a new message, one
        // handed back, or (FIFO) the next of a group whose head was acked.
        for q in &touched {
            self.queue.wake(q);
        }
        Ok(found)
    }
}

/// One write in the caller's transaction; `false` for a job update that found no job.
fn apply_in(tx: &rusqlite::Connection, w: &Write, now: i64) -> rusqlite::Result<bool> {
    match w {
        Write::Job {
            id,
            state,
            attempts,
            error,
            sent_at,
        } => {
            return update_job_in(tx, id, *state, *attempts, error.as_deref(), *sent_at);
        }
        Write::Record {
            key,
            value,
            expires_at_ms,
        } => put_record_in(tx, key, value, *expires_at_ms)?,
        Write::Delivery { job_id, note, .. } => put_delivery_in(tx, job_id, note)?,
        Write::Send {
            queue,
            dedup_id,
            body,
        } => {
            // Its queue exists: checked at the start of the transaction.
            push_in(tx, queue, queue, dedup_id, body)?;
        }
        Write::Ack { queue, receipt } => ack_in(tx, queue, receipt)?,
        Write::Nack {
            queue,
            receipt,
            delay,
        } => {
            let delay = i64::try_from(delay.as_millis()).unwrap_or(i64::MAX);
            nack_in(tx, queue, receipt, now.saturating_add(delay))?;
        }
        Write::DeadLetter(dl) => put_dead_letter_in(tx, dl)?,
    }
    Ok(true)
}
