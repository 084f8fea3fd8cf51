//! The intake on SQLite: a send's quota, recipient cooldown, job records and queue entries
//! in one savepoint on the database thread: one trip instead of four or more, and a process
//! killed mid-way leaves all of it or none (see `wagate_core::ports::Intake`).

use std::sync::Arc;

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension};
use wagate_core::SessionStatus;
use wagate_core::policy::{Charge, LimitStatus};
use wagate_core::ports::{Admission, Admitted, Intake, PortError, PortResult, Verdict, names};

use crate::queue::{SqliteQueue, push_in, queue_exists};
use crate::store::{SqliteStore, hit_in, insert_job, purge_expired, unhit_in};

#[derive(Debug, Clone)]
pub struct SqliteIntake {
    store: Arc<SqliteStore>,
    queue: Arc<SqliteQueue>,
}

impl SqliteIntake {
    pub fn new(store: Arc<SqliteStore>, queue: Arc<SqliteQueue>) -> Self {
        Self { store, queue }
    }
}

#[async_trait]
impl Intake for SqliteIntake {
    async fn admit(&self, a: &Admission) -> PortResult<Verdict> {
        let messages = a
            .jobs
            .iter()
            .map(|j| serde_json::to_string(&j.message))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| PortError::Backend(e.into()))?;
        let purge = self.store.purge_due();
        let admission = a.clone();
        let out = self
            .store
            .db
            .write(move |tx| admit_in(tx, &admission, &messages, purge))
            .await?;
        if matches!(out.admitted, Admitted::Queued { .. }) {
            let mut woken: Vec<String> = Vec::new();
            for job in &a.jobs {
                let q = names::send(&job.session_id);
                if !woken.contains(&q) {
                    self.queue.wake(&q);
                    woken.push(q);
                }
            }
        }
        Ok(out)
    }

    fn checks_sessions(&self) -> bool {
        true
    }
}

fn admit_in(
    tx: &Connection,
    a: &Admission,
    messages: &[String],
    purge: bool,
) -> rusqlite::Result<Verdict> {
    let now = a.now_ms;
    if purge {
        purge_expired(tx, now)?;
    }
    let rate = match &a.rate {
        Some(c) => match take(tx, c, now)? {
            Ok(st) => Some(st),
            Err(st) => {
                return Ok(Verdict {
                    admitted: Admitted::RateLimited,
                    rate: Some(st),
                });
            }
        },
        None => None,
    };
    let admitted = admit_jobs_in(tx, a, messages)?;
    Ok(Verdict { admitted, rate })
}

fn admit_jobs_in(
    tx: &Connection,
    a: &Admission,
    messages: &[String],
) -> rusqlite::Result<Admitted> {
    let now = a.now_ms;
    if let Some(check) = &a.session {
        let found: Option<(String, i64)> = tx
            .prepare_cached("SELECT status, created_at FROM sessions WHERE id = ?1")?
            .query_row([check.id.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        match found {
            Some((_, created)) if created != check.created_at => return Ok(Admitted::SessionGone),
            Some((status, _)) if status == SessionStatus::LoggedOut.as_str() => {
                return Ok(Admitted::LoggedOut);
            }
            Some(_) => {}
            None => return Ok(Admitted::SessionGone),
        }
    }
    // Checked before anything is written, so a missing queue leaves nothing behind.
    for job in &a.jobs {
        if !queue_exists(tx, &names::send(&job.session_id))? {
            return Ok(Admitted::SessionGone);
        }
    }
    let quota = match &a.quota {
        Some(c) => match take(tx, c, now)? {
            Ok(st) => Some(st),
            Err(st) => return Ok(Admitted::OverQuota(st)),
        },
        None => None,
    };
    if let Some(c) = &a.cooldown
        && let Err(st) = take(tx, c, now)?
    {
        if let Some(q) = &a.quota {
            give_back(tx, &q.key, q.n, now)?;
        }
        return Ok(Admitted::CoolingDown(st));
    }
    for (job, message) in a.jobs.iter().zip(messages) {
        insert_job(tx, job, message)?;
        push_in(
            tx,
            &names::send(&job.session_id),
            &names::recipient_group(job.to.as_str()),
            job.id.as_str(),
            job.id.as_str(),
        )?;
    }
    Ok(Admitted::Queued { quota })
}

/// `c.n` hits of one counter, all or none: the last hit's status, or the refused one's.
fn take(
    tx: &Connection,
    c: &Charge,
    now: i64,
) -> rusqlite::Result<Result<LimitStatus, LimitStatus>> {
    let mut taken = 0;
    loop {
        let st = c.status(hit_in(tx, &c.key, c.limit, c.window_ms, now)?);
        if !st.allowed {
            give_back(tx, &c.key, taken, now)?;
            return Ok(Err(st));
        }
        taken += 1;
        if taken >= c.n {
            return Ok(Ok(st));
        }
    }
}

fn give_back(tx: &Connection, key: &str, n: u64, now: i64) -> rusqlite::Result<()> {
    for _ in 0..n {
        unhit_in(tx, key, now)?;
    }
    Ok(())
}
