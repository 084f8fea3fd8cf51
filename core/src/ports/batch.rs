//! Several writes of the store and the queues as one port operation. The send worker settles
//! a received batch of jobs (each job's event, its state and its ack) and the webhook
//! dispatcher a received batch of events (delivery notes, acks, retries, dead letters) with one
//! call each. The embedded backend runs a call in one savepoint on the database thread: one trip
//! instead of one per write, and the rows a batch changes share their pages in one commit instead
//! of being written again by each of a dozen small ones. The AWS backend ([`OneByOne`]) makes
//! the store's and the queue's own calls, which is what the callers did before.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::future::join_all;

use super::{DeadLetter, PortResult, Queue, Store};
use crate::{JobId, JobState};

/// One write.
#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    /// [`Store::update_job`]; a chain holding one whose job is gone reports `false`.
    Job {
        id: JobId,
        state: JobState,
        attempts: u32,
        error: Option<String>,
        sent_at: Option<i64>,
    },
    /// [`Store::put_record`].
    Record {
        key: String,
        value: String,
        expires_at_ms: i64,
    },
    /// [`Store::put_delivery`].
    Delivery {
        job_id: String,
        note: String,
        expires_at_ms: i64,
    },
    /// [`Queue::send`].
    Send {
        queue: String,
        dedup_id: String,
        body: String,
    },
    /// [`Queue::ack`].
    Ack { queue: String, receipt: String },
    /// [`Queue::nack`].
    Nack {
        queue: String,
        receipt: String,
        delay: Duration,
    },
    /// [`Store::put_dead_letter`].
    DeadLetter(DeadLetter),
}

#[async_trait]
pub trait WriteBatch: Send + Sync + std::fmt::Debug {
    /// Applies each chain's writes in order. The chains are independent of each other: a
    /// backend may run them side by side, or all of them in one transaction. Returns, for each
    /// chain, whether every job it updates was found. On an error some chains may be applied
    /// and others not (all or none on a transactional backend); every write is safe to repeat.
    async fn apply(&self, chains: Vec<Vec<Write>>) -> PortResult<Vec<bool>>;
}

/// The batch made of the store's and the queue's own operations: chains side by side, each
/// in order.
#[derive(Debug, Clone)]
pub struct OneByOne {
    store: Arc<dyn Store>,
    queue: Arc<dyn Queue>,
}

impl OneByOne {
    pub fn new(store: Arc<dyn Store>, queue: Arc<dyn Queue>) -> Self {
        Self { store, queue }
    }

    async fn chain(&self, writes: Vec<Write>) -> PortResult<bool> {
        let mut found = true;
        for w in writes {
            found &= self.one(w).await?;
        }
        Ok(found)
    }

    async fn one(&self, w: Write) -> PortResult<bool> {
        let (store, queue) = (self.store.as_ref(), self.queue.as_ref());
        match w {
            Write::Job {
                id,
                state,
                attempts,
                error,
                sent_at,
            } => {
                return store
                    .update_job(&id, state, attempts, error.as_deref(), sent_at)
                    .await;
            }
            Write::Record {
                key,
                value,
                expires_at_ms,
            } => store.put_record(&key, &value, expires_at_ms).await?,
            Write::Delivery {
                job_id,
                note,
                expires_at_ms,
            } => store.put_delivery(&job_id, &note, expires_at_ms).await?,
            Write::Send {
                queue: q,
                dedup_id,
                body,
            } => queue.send(&q, &dedup_id, &body).await?,
            Write::Ack { queue: q, receipt } => queue.ack(&q, &receipt).await?,
            Write::Nack {
                queue: q,
                receipt,
                delay,
            } => queue.nack(&q, &receipt, delay).await?,
            Write::DeadLetter(dl) => store.put_dead_letter(&dl).await?,
        }
        Ok(true)
    }
}

#[async_trait]
impl WriteBatch for OneByOne {
    async fn apply(&self, chains: Vec<Vec<Write>>) -> PortResult<Vec<bool>> {
        join_all(chains.into_iter().map(|c| self.chain(c)))
            .await
            .into_iter()
            .collect()
    }
}
