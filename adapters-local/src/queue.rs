//! Durable queues in the database file, with SQS's semantics: visibility timeouts, receipts,
//! deduplication ids, FIFO order per message group, long polling. A long poll sleeps until a send
//! or an ack in this handle wakes it, the database thread sees another connection commit, or
//! the queue's next hidden message comes due: an idle queue costs nothing, however many
//! sessions wait on theirs.
//!
//! An ack deletes its message. A FIFO queue refuses a dedup id while a message with it is
//! still in the queue (moto's behaviour; SQS remembers it five minutes from the send, and the
//! port promises no more than this); a standard queue does not deduplicate, as on SQS. So a
//! message costs one row and two index entries (three on a FIFO queue), written when it is
//! sent, received and acked, and nothing is left to purge.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};
use tokio::sync::Notify;

use super::Db;
use wagate_core::clock::now_ms;
use wagate_core::ports::{PortError, PortResult, Queue, QueueKind, QueueMessage, QueueSpec};

/// Whether `queue` is FIFO; `None` when it does not exist.
pub(crate) fn queue_fifo(tx: &rusqlite::Connection, queue: &str) -> rusqlite::Result<Option<bool>> {
    tx.prepare_cached("SELECT fifo FROM queues WHERE name = ?1")?
        .query_row([queue], |r| r.get(0))
        .optional()
}

/// Whether `queue` exists.
pub(crate) fn queue_exists(tx: &rusqlite::Connection, queue: &str) -> rusqlite::Result<bool> {
    queue_fifo(tx, queue).map(|f| f.is_some())
}

/// Appends a message to `queue` in the caller's transaction; `false` when the queue does not
/// exist. On a FIFO queue, a dedup id still in the queue is not added again. The message is
/// visible at once: `visible_at` 0, which keeps it out of the `messages_held` index.
pub(crate) fn push_in(
    tx: &rusqlite::Connection,
    queue: &str,
    group: &str,
    dedup_id: &str,
    body: &str,
) -> rusqlite::Result<bool> {
    let Some(fifo) = queue_fifo(tx, queue)? else {
        return Ok(false);
    };
    tx.prepare_cached(
        "INSERT INTO messages (queue, grp, dedup_id, body, visible_at) VALUES (?1, ?2, ?3, ?4, 0) \
         ON CONFLICT (queue, dedup_id) WHERE dedup_id IS NOT NULL DO NOTHING",
    )?
    .execute(params![queue, group, fifo.then_some(dedup_id), body])?;
    Ok(true)
}

/// The message a receipt names: its `seq`, which the receipt starts with (`{seq}:{token}`).
/// A receipt not of that shape names no message (0 is never a `seq`).
fn seq_of(receipt: &str) -> i64 {
    receipt
        .split_once(':')
        .and_then(|(seq, _)| seq.parse().ok())
        .unwrap_or(0)
}

/// Acks (deletes) a received message in the caller's transaction (an unknown receipt is a
/// no-op).
pub(crate) fn ack_in(
    tx: &rusqlite::Connection,
    queue: &str,
    receipt: &str,
) -> rusqlite::Result<()> {
    tx.prepare_cached("DELETE FROM messages WHERE seq = ?3 AND queue = ?1 AND receipt = ?2")?
        .execute(params![queue, receipt, seq_of(receipt)])?;
    Ok(())
}

/// Hands a received message back, visible again at `visible_at`, in the caller's transaction.
pub(crate) fn nack_in(
    tx: &rusqlite::Connection,
    queue: &str,
    receipt: &str,
    visible_at: i64,
) -> rusqlite::Result<usize> {
    tx.prepare_cached("UPDATE messages SET visible_at = ?1, receipt = NULL WHERE seq = ?4 AND queue = ?2 AND receipt = ?3")?
        .execute(params![visible_at, queue, receipt, seq_of(receipt)])
}

/// What one look at a queue found.
enum Received {
    Messages(Vec<QueueMessage>),
    /// Nothing deliverable; `due` is when the next hidden message becomes visible (Unix ms).
    Nothing {
        due: Option<i64>,
    },
}

#[derive(Debug)]
pub struct SqliteQueue {
    pub(crate) db: Db,
    wakers: Mutex<HashMap<String, Arc<Notify>>>,
}

impl SqliteQueue {
    pub fn new(db: Db) -> Self {
        Self {
            db,
            wakers: Mutex::new(HashMap::new()),
        }
    }

    /// Wakes this process's long polls of `queue` (after a send committed).
    pub(crate) fn wake(&self, queue: &str) {
        self.waker(queue).notify_waiters();
    }

    fn waker(&self, queue: &str) -> Arc<Notify> {
        let mut map = self.wakers.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(queue.to_owned()).or_default().clone()
    }

    /// Makes every received, unacked message visible at once (see
    /// [`super::LocalBackend::release_inflight`]).
    pub async fn release_inflight(&self) -> anyhow::Result<u64> {
        Ok(self
            .db
            .call(|c| {
                c.execute(
                    "UPDATE messages SET visible_at = 0, receipt = NULL WHERE receipt IS NOT NULL",
                    [],
                )
                .map(|n| n as u64)
            })
            .await?)
    }

    async fn try_receive(
        &self,
        queue: &str,
        max: usize,
        visibility: Duration,
    ) -> PortResult<Received> {
        let queue = queue.to_owned();
        let vis = visibility.as_millis() as i64;
        self.db
            .write(move |tx| {
                let now = now_ms();
                let Some(fifo) = queue_fifo(tx, &queue)? else { return Ok(None) };
                let mut picked: Vec<(i64, String, u32)> = Vec::new();
                if fifo {
                    // Order per group: a visible message goes unless a message of its group is
                    // held (in flight, or delayed by a nack). Only heads can be held, and a
                    // held head holds everything behind it in its group. Walked in `seq` order
                    // (left to itself the planner sorts every visible message on each receive);
                    // the held groups come from the small `messages_held` index.
                    let mut stmt = tx.prepare_cached(
                        "SELECT seq, body, receive_count FROM messages INDEXED BY messages_live WHERE queue = ?1 AND visible_at <= ?2 \
                         AND grp NOT IN (SELECT grp FROM messages INDEXED BY messages_held WHERE queue = ?1 AND visible_at > 0 AND visible_at > ?2) \
                         ORDER BY seq LIMIT ?3",
                    )?;
                    let rows = stmt.query_map(params![queue, now, max as i64], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
                    for row in rows {
                        picked.push(row?);
                    }
                } else {
                    let mut stmt = tx.prepare_cached(
                        "SELECT seq, body, receive_count FROM messages INDEXED BY messages_live WHERE queue = ?1 AND visible_at <= ?2 ORDER BY seq LIMIT ?3",
                    )?;
                    let rows = stmt.query_map(params![queue, now, max as i64], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
                    for row in rows {
                        picked.push(row?);
                    }
                }
                if picked.is_empty() {
                    // When a hidden message (in flight, or delayed) comes due: the moment this
                    // queue can next have something to deliver without a send or an ack.
                    let due: Option<i64> = tx
                        .prepare_cached("SELECT MIN(visible_at) FROM messages INDEXED BY messages_held WHERE queue = ?1 AND visible_at > 0 AND visible_at > ?2")?
                        .query_row(params![queue, now], |r| r.get(0))?;
                    return Ok(Some(Received::Nothing { due }));
                }
                let mut out = Vec::with_capacity(picked.len());
                let mut upd = tx.prepare_cached(
                    "UPDATE messages SET visible_at = ?1, receipt = ?2, receive_count = receive_count + 1 WHERE seq = ?3",
                )?;
                for (seq, body, count) in picked {
                    let receipt = format!("{seq}:{}", wagate_core::random_token(16));
                    upd.execute(params![now + vis, receipt, seq])?;
                    out.push(QueueMessage { body, receipt, receive_count: count + 1 });
                }
                Ok(Some(Received::Messages(out)))
            })
            .await?
            .ok_or_else(|| PortError::NotFound("queue".into()))
    }
}

#[async_trait]
impl Queue for SqliteQueue {
    async fn create(&self, queue: &str, spec: QueueSpec) -> PortResult<()> {
        let (queue, fifo) = (queue.to_owned(), spec.kind == QueueKind::Fifo);
        self.db
            .call(move |c| {
                c.execute(
                    "INSERT OR IGNORE INTO queues (name, fifo) VALUES (?1, ?2)",
                    params![queue, fifo],
                )
            })
            .await?;
        Ok(())
    }

    async fn delete(&self, queue: &str) -> PortResult<()> {
        let q = queue.to_owned();
        self.db
            .write(move |tx| {
                tx.execute("DELETE FROM messages WHERE queue = ?1", [&q])?;
                tx.execute("DELETE FROM queues WHERE name = ?1", [&q])
            })
            .await?;
        // Wake long polls so they see the queue is gone, and forget its waker.
        let waker = self
            .wakers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(queue);
        if let Some(w) = waker {
            w.notify_waiters();
        }
        Ok(())
    }

    async fn send_in_group(
        &self,
        queue: &str,
        group: &str,
        dedup_id: &str,
        body: &str,
    ) -> PortResult<()> {
        let (q, g, d, b) = (
            queue.to_owned(),
            group.to_owned(),
            dedup_id.to_owned(),
            body.to_owned(),
        );
        let exists = self.db.write(move |tx| push_in(tx, &q, &g, &d, &b)).await?;
        if !exists {
            return Err(PortError::NotFound(format!("queue {queue}")));
        }
        self.waker(queue).notify_waiters();
        Ok(())
    }

    async fn receive(
        &self,
        queue: &str,
        max: usize,
        visibility: Duration,
        wait: Duration,
    ) -> PortResult<Vec<QueueMessage>> {
        let deadline = tokio::time::Instant::now() + wait;
        let waker = self.waker(queue);
        loop {
            // Register for the wake-ups before looking, so a send in between is not missed.
            let notified = waker.notified();
            let foreign = self.db.foreign_commits().notified();
            tokio::pin!(notified, foreign);
            notified.as_mut().enable();
            foreign.as_mut().enable();
            let got = self
                .try_receive(queue, max.max(1), visibility)
                .await
                .map_err(|e| match e {
                    PortError::NotFound(_) => PortError::NotFound(format!("queue {queue}")),
                    other => other,
                })?;
            let due = match got {
                Received::Messages(msgs) => return Ok(msgs),
                Received::Nothing { due } => due,
            };
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Ok(Vec::new());
            }
            let until = due.map_or(deadline, |at| {
                let ms = u64::try_from(at.saturating_sub(now_ms())).unwrap_or(0);
                deadline.min(now + Duration::from_millis(ms))
            });
            tokio::select! {
                () = &mut notified => {}
                () = &mut foreign => {}
                () = tokio::time::sleep_until(until) => {}
            }
        }
    }

    async fn ack(&self, queue: &str, receipt: &str) -> PortResult<()> {
        let (q, r) = (queue.to_owned(), receipt.to_owned());
        self.db.write(move |tx| ack_in(tx, &q, &r)).await?;
        // The next message of a FIFO queue may be deliverable now.
        self.waker(queue).notify_waiters();
        Ok(())
    }

    async fn nack(&self, queue: &str, receipt: &str, delay: Duration) -> PortResult<()> {
        let (q, r, d) = (
            queue.to_owned(),
            receipt.to_owned(),
            delay.as_millis() as i64,
        );
        self.db
            .call(move |c| nack_in(c, &q, &r, now_ms().saturating_add(d)))
            .await?;
        // A delayed message may come due before what a sleeping long poll waits for.
        self.waker(queue).notify_waiters();
        Ok(())
    }

    async fn extend(&self, queue: &str, receipt: &str, visibility: Duration) -> PortResult<()> {
        let (q, r, v) = (
            queue.to_owned(),
            receipt.to_owned(),
            visibility.as_millis() as i64,
        );
        self.db
            .call(move |c| {
                c.prepare_cached("UPDATE messages SET visible_at = ?1 WHERE seq = ?4 AND queue = ?2 AND receipt = ?3")?
                    .execute(params![now_ms() + v, q, r, seq_of(&r)])
            })
            .await?;
        Ok(())
    }

    async fn depth(&self, queue: &str) -> PortResult<u64> {
        let q = queue.to_owned();
        self.db
            .call(move |c| {
                c.prepare_cached("SELECT COUNT(*) FROM messages WHERE queue = ?1")?
                    .query_row([q], |r| r.get::<_, i64>(0))
                    .map(|n| n as u64)
            })
            .await
    }

    async fn oldest(&self, queue: &str) -> PortResult<Option<String>> {
        let q = queue.to_owned();
        self.db
            .call(move |c| {
                c.prepare_cached("SELECT body FROM messages WHERE queue = ?1 ORDER BY seq LIMIT 1")?
                    .query_row([q], |r| r.get::<_, String>(0))
                    .optional()
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::seq_of;

    #[test]
    fn a_receipt_names_its_message_by_the_seq_it_starts_with() {
        assert_eq!(seq_of("42:AbC"), 42);
        assert_eq!(seq_of("7:"), 7);
        for foreign in ["", "AbC", ":42", "x:1", "-:1", "99999999999999999999:a"] {
            assert_eq!(seq_of(foreign), 0, "{foreign}");
        }
    }
}
