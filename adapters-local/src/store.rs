//! The `Store` port on SQLite. Documents (a job's message, a session's account) are JSON
//! columns; what is queried or updated has a column of its own. Every operation runs inside
//! an immediate (write-locking) transaction (see `db.rs`), so read-modify-write operations
//! (counters, idempotency) stay correct even with several processes sharing the file.

use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};
use serde_json::Value;

use super::Db;

mod listing;
mod rows;

use rows::{
    dead_letter_from_row, job_from_row, key_from_row, parked_send_from_row, role_str,
    session_from_row,
};
use wagate_core::clock::now_ms;
use wagate_core::policy::window_end;
use wagate_core::ports::{CounterHit, DeadLetter, Page, ParkedSend, PortError, PortResult, Store};
use wagate_core::{
    Account, ApiKeyRecord, EventFilter, Job, JobId, JobState, KeyHash, KeyId, ProxyUrl, Session,
    SessionId, SessionStatus,
};

/// Every this many counter hits or idempotency claims, expired rows are purged (lazily, so
/// no timer is needed and an idle process does no work).
const PURGE_EVERY: u64 = 1024;

#[derive(Debug)]
pub struct SqliteStore {
    pub(crate) db: Db,
    ticks: AtomicU64,
}

impl SqliteStore {
    pub fn new(db: Db) -> Self {
        Self {
            db,
            ticks: AtomicU64::new(1),
        }
    }

    /// Whether this call should also purge expired counters and idempotency records.
    pub(crate) fn purge_due(&self) -> bool {
        self.ticks
            .fetch_add(1, Ordering::Relaxed)
            .is_multiple_of(PURGE_EVERY)
    }
}

/// One hit of counter `key` (at most `limit` per window of `window_ms`), in the caller's
/// transaction.
pub(crate) fn hit_in(
    tx: &rusqlite::Connection,
    key: &str,
    limit: u64,
    window_ms: i64,
    now_ms: i64,
) -> rusqlite::Result<CounterHit> {
    let row: Option<(i64, i64)> = tx
        .prepare_cached("SELECT count, reset_at FROM counters WHERE key = ?1")?
        .query_row([key], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let (count, reset_at, current) = match row {
        Some((c, r)) if r > now_ms => (c.max(0) as u64, r, true),
        _ => (0, window_end(now_ms, window_ms), false),
    };
    if count >= limit {
        return Ok(CounterHit {
            allowed: false,
            count,
            reset_at_ms: reset_at,
        });
    }
    let next = i64::try_from(count + 1).unwrap_or(i64::MAX);
    if current {
        // Leaves `reset_at` (and so its index) untouched: one page less to write.
        tx.prepare_cached("UPDATE counters SET count = ?2 WHERE key = ?1")?
            .execute(params![key, next])?;
    } else {
        tx.prepare_cached(
            "INSERT INTO counters (key, count, reset_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (key) DO UPDATE SET count = excluded.count, reset_at = excluded.reset_at",
        )?
        .execute(params![key, next, reset_at])?;
    }
    Ok(CounterHit {
        allowed: true,
        count: count + 1,
        reset_at_ms: reset_at,
    })
}

/// Takes back one hit of counter `key` in its current window.
pub(crate) fn unhit_in(c: &rusqlite::Connection, key: &str, now_ms: i64) -> rusqlite::Result<()> {
    c.prepare_cached(
        "UPDATE counters SET count = count - 1 WHERE key = ?1 AND count > 0 AND reset_at > ?2",
    )?
    .execute(params![key, now_ms])?;
    Ok(())
}

/// Records `j` (its message already as JSON) unless a job with its id exists.
pub(crate) fn insert_job(
    c: &rusqlite::Connection,
    j: &Job,
    message: &str,
) -> rusqlite::Result<bool> {
    c.prepare_cached(
        "INSERT INTO jobs (id, session_id, owner, recipient, message, wa_message_id, state, attempts, error, pace_ms, created_at, updated_at, sent_at, request_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) ON CONFLICT (id) DO NOTHING",
    )?
    .execute(params![
        j.id.as_str(), j.session_id.as_str(), j.owner.as_str(), j.to.as_str(), message, j.wa_message_id,
        j.state.as_str(), j.attempts, j.error, j.pace_ms.map(|p| p as i64), j.created_at, j.updated_at, j.sent_at,
        j.request_id
    ])
    .map(|n| n > 0)
}

/// Drops counters whose window has ended and idempotency records that have expired.
/// Updates a job's state in the caller's transaction; `false` when there is no such job.
pub(crate) fn update_job_in(
    c: &rusqlite::Connection,
    id: &JobId,
    state: JobState,
    attempts: u32,
    error: Option<&str>,
    sent_at: Option<i64>,
) -> rusqlite::Result<bool> {
    c.prepare_cached("UPDATE jobs SET state = ?2, attempts = ?3, error = ?4, sent_at = ?5, updated_at = ?6 WHERE id = ?1")?
        .execute(params![id.as_str(), state.as_str(), attempts, error, sent_at, now_ms()])
        .map(|n| n > 0)
}

/// Puts an expiring record in the caller's transaction. The idempotency table is the store's
/// expiring key-value table; records get their own prefix so no idempotency key can name one.
pub(crate) fn put_record_in(
    c: &rusqlite::Connection,
    key: &str,
    value: &str,
    expires_at_ms: i64,
) -> rusqlite::Result<()> {
    c.prepare_cached(
        "INSERT INTO idempotency (key, value, expires_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at",
    )?
    .execute(params![format!("record:{key}"), value, expires_at_ms])?;
    Ok(())
}

/// Sets a job's delivery note in the caller's transaction; a job that is gone gets none.
pub(crate) fn put_delivery_in(
    c: &rusqlite::Connection,
    job_id: &str,
    note: &str,
) -> rusqlite::Result<()> {
    c.prepare_cached("UPDATE jobs SET delivery = ?2 WHERE id = ?1")?
        .execute(params![job_id, note])?;
    Ok(())
}

/// Stores (or replaces) a dead letter in the caller's transaction.
pub(crate) fn put_dead_letter_in(c: &rusqlite::Connection, d: &DeadLetter) -> rusqlite::Result<()> {
    c.prepare_cached(
        "INSERT INTO dead_letters (id, session_id, body, attempts, last_error, failed_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (id) DO UPDATE SET body = excluded.body, attempts = excluded.attempts, last_error = excluded.last_error, failed_at = excluded.failed_at",
    )?
    .execute(params![d.id, d.session_id, d.body, d.attempts, d.last_error, d.failed_at])?;
    Ok(())
}

pub(crate) fn purge_expired(c: &rusqlite::Connection, now_ms: i64) -> rusqlite::Result<()> {
    c.prepare_cached("DELETE FROM counters WHERE reset_at <= ?1")?
        .execute([now_ms])?;
    c.prepare_cached("DELETE FROM idempotency WHERE expires_at <= ?1")?
        .execute([now_ms])?;
    Ok(())
}

fn to_json<T: serde::Serialize>(v: &T) -> PortResult<String> {
    serde_json::to_string(v).map_err(|e| PortError::Backend(e.into()))
}

/// A session's event filter as stored: NULL for the default.
fn events_json(f: &EventFilter) -> PortResult<Option<String>> {
    (!f.is_default()).then(|| to_json(f)).transpose()
}

#[async_trait]
impl Store for SqliteStore {
    async fn put_api_key(&self, key: &ApiKeyRecord) -> PortResult<()> {
        let k = key.clone();
        self.db
            .call(move |c| {
                c.execute(
                    "INSERT INTO api_keys (hash, id, role, label, created_at) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (hash) DO UPDATE SET role = excluded.role, label = excluded.label",
                    params![k.hash.to_hex(), k.id.as_str(), role_str(k.role), k.label, k.created_at],
                )
            })
            .await?;
        Ok(())
    }

    async fn api_key_by_hash(&self, hash: &KeyHash) -> PortResult<Option<ApiKeyRecord>> {
        let h = hash.to_hex();
        self.db
            .call(move |c| {
                c.prepare_cached("SELECT * FROM api_keys WHERE hash = ?1")?
                    .query_row([h], key_from_row)
                    .optional()
            })
            .await
    }

    async fn list_api_keys(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> PortResult<Page<ApiKeyRecord>> {
        self.page_api_keys(after, limit).await
    }

    async fn delete_api_key(&self, id: &KeyId) -> PortResult<bool> {
        let id = id.as_str().to_owned();
        self.db
            .call(move |c| {
                c.execute("DELETE FROM api_keys WHERE id = ?1", [id])
                    .map(|n| n > 0)
            })
            .await
    }

    async fn create_session(&self, s: &Session) -> PortResult<bool> {
        let s = s.clone();
        let account = s.account.as_ref().map(to_json).transpose()?;
        let events = events_json(&s.events)?;
        self.db
            .call(move |c| {
                c.execute(
                    "INSERT INTO sessions (id, owner, status, webhook_url, webhook_secret, qr, pairing_code, account, proxy, events, created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) ON CONFLICT (id) DO NOTHING",
                    params![
                        s.id.as_str(), s.owner.as_str(), s.status.as_str(), s.webhook_url, s.webhook_secret,
                        s.qr, s.pairing_code, account, s.proxy.as_ref().map(ProxyUrl::expose), events, s.created_at, s.updated_at
                    ],
                )
                .map(|n| n > 0)
            })
            .await
    }

    async fn get_session(&self, id: &SessionId) -> PortResult<Option<Session>> {
        let id = id.as_str().to_owned();
        self.db
            .call(move |c| {
                c.prepare_cached("SELECT * FROM sessions WHERE id = ?1")?
                    .query_row([id], session_from_row)
                    .optional()
            })
            .await
    }

    async fn list_sessions(
        &self,
        owner: Option<&KeyId>,
        after: Option<&str>,
        limit: usize,
    ) -> PortResult<Page<Session>> {
        self.page_sessions(owner, after, limit).await
    }

    async fn set_session_state(
        &self,
        id: &SessionId,
        status: SessionStatus,
        qr: Option<&str>,
        pairing_code: Option<&str>,
        account: Option<&Account>,
    ) -> PortResult<bool> {
        let account = account.map(to_json).transpose()?;
        let (id, qr, code) = (
            id.as_str().to_owned(),
            qr.map(str::to_owned),
            pairing_code.map(str::to_owned),
        );
        self.db
            .call(move |c| {
                c.prepare_cached(
                    "UPDATE sessions SET status = ?2, qr = ?3, pairing_code = ?4, account = ?5, updated_at = ?6 WHERE id = ?1",
                )?
                .execute(params![id, status.as_str(), qr, code, account, now_ms()])
                .map(|n| n > 0)
            })
            .await
    }

    async fn set_session_webhook(
        &self,
        id: &SessionId,
        url: Option<&str>,
        secret: Option<&str>,
    ) -> PortResult<bool> {
        let (id, url, secret) = (
            id.as_str().to_owned(),
            url.map(str::to_owned),
            secret.map(str::to_owned),
        );
        self.db
            .call(move |c| {
                c.execute(
                    "UPDATE sessions SET webhook_url = ?2, webhook_secret = ?3, updated_at = ?4 WHERE id = ?1",
                    params![id, url, secret, now_ms()],
                )
                .map(|n| n > 0)
            })
            .await
    }

    async fn set_session_events(&self, id: &SessionId, events: &EventFilter) -> PortResult<bool> {
        let (id, events) = (id.as_str().to_owned(), events_json(events)?);
        self.db
            .call(move |c| {
                c.execute(
                    "UPDATE sessions SET events = ?2, updated_at = ?3 WHERE id = ?1",
                    params![id, events, now_ms()],
                )
                .map(|n| n > 0)
            })
            .await
    }

    async fn delete_session(&self, id: &SessionId) -> PortResult<bool> {
        let id = id.as_str().to_owned();
        self.db
            .call(move |c| {
                c.execute("DELETE FROM sessions WHERE id = ?1", [id])
                    .map(|n| n > 0)
            })
            .await
    }

    async fn acquire_lease(
        &self,
        id: &SessionId,
        holder: &str,
        ttl_ms: i64,
        now_ms: i64,
    ) -> PortResult<bool> {
        let (id, holder) = (id.as_str().to_owned(), holder.to_owned());
        self.db
            .call(move |c| {
                c.prepare_cached(
                    "UPDATE sessions SET lease_holder = ?2, lease_until = ?3
                     WHERE id = ?1 AND (lease_holder IS NULL OR lease_holder = ?2 OR lease_until <= ?4)",
                )?
                .execute(params![id, holder, now_ms.saturating_add(ttl_ms), now_ms])
                .map(|n| n > 0)
            })
            .await
    }

    async fn release_lease(&self, id: &SessionId, holder: &str) -> PortResult<()> {
        let (id, holder) = (id.as_str().to_owned(), holder.to_owned());
        self.db
            .call(move |c| {
                c.execute(
                    "UPDATE sessions SET lease_holder = NULL, lease_until = NULL WHERE id = ?1 AND lease_holder = ?2",
                    params![id, holder],
                )
            })
            .await?;
        Ok(())
    }

    async fn create_job(&self, job: &Job) -> PortResult<bool> {
        let message = to_json(&job.message)?;
        let j = job.clone();
        self.db.call(move |c| insert_job(c, &j, &message)).await
    }

    async fn get_job(&self, id: &JobId) -> PortResult<Option<Job>> {
        let id = id.as_str().to_owned();
        self.db
            .call(move |c| {
                c.prepare_cached("SELECT * FROM jobs WHERE id = ?1")?
                    .query_row([id], job_from_row)
                    .optional()
            })
            .await
    }

    async fn get_jobs(&self, ids: &[JobId]) -> PortResult<Vec<Option<Job>>> {
        let ids: Vec<String> = ids.iter().map(|id| id.as_str().to_owned()).collect();
        self.db
            .call(move |c| {
                let mut stmt = c.prepare_cached("SELECT * FROM jobs WHERE id = ?1")?;
                ids.iter()
                    .map(|id| stmt.query_row([id], job_from_row).optional())
                    .collect()
            })
            .await
    }

    async fn list_unstarted_jobs(
        &self,
        from_ms: i64,
        to_ms: i64,
        after: Option<&str>,
        limit: usize,
    ) -> PortResult<Page<Job>> {
        self.page_unstarted_jobs(from_ms, to_ms, after, limit).await
    }

    async fn update_job(
        &self,
        id: &JobId,
        state: JobState,
        attempts: u32,
        error: Option<&str>,
        sent_at: Option<i64>,
    ) -> PortResult<bool> {
        let (id, error) = (id.clone(), error.map(str::to_owned));
        self.db
            .call(move |c| update_job_in(c, &id, state, attempts, error.as_deref(), sent_at))
            .await
    }

    async fn claim_idempotency(
        &self,
        key: &str,
        value: &str,
        ttl_ms: i64,
        now_ms: i64,
    ) -> PortResult<Option<String>> {
        let (key, value) = (key.to_owned(), value.to_owned());
        let purge = self.purge_due();
        self.db
            .write(move |tx| {
                if purge {
                    purge_expired(tx, now_ms)?;
                }
                let held: Option<(String, i64)> = tx
                    .prepare_cached("SELECT value, expires_at FROM idempotency WHERE key = ?1")?
                    .query_row([&key], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()?;
                if let Some((v, expires_at)) = held
                    && expires_at > now_ms
                {
                    return Ok(Some(v));
                }
                tx.prepare_cached(
                    "INSERT INTO idempotency (key, value, expires_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at",
                )?
                .execute(params![key, value, now_ms.saturating_add(ttl_ms)])?;
                Ok(None)
            })
            .await
    }

    async fn complete_idempotency(&self, key: &str, value: &str) -> PortResult<()> {
        let (key, value) = (key.to_owned(), value.to_owned());
        self.db
            .call(move |c| {
                c.execute(
                    "UPDATE idempotency SET value = ?2 WHERE key = ?1",
                    params![key, value],
                )
            })
            .await?;
        Ok(())
    }

    async fn put_record(&self, key: &str, value: &str, expires_at_ms: i64) -> PortResult<()> {
        let (key, value) = (key.to_owned(), value.to_owned());
        self.db
            .call(move |c| put_record_in(c, &key, &value, expires_at_ms))
            .await
    }

    async fn get_record(&self, key: &str, now_ms: i64) -> PortResult<Option<String>> {
        let key = format!("record:{key}");
        Ok(self
            .db
            .call(move |c| {
                c.prepare_cached(
                    "SELECT value FROM idempotency WHERE key = ?1 AND expires_at > ?2",
                )?
                .query_row(params![key, now_ms], |r| r.get(0))
                .optional()
            })
            .await?)
    }

    async fn put_delivery(&self, job_id: &str, note: &str, _expires_at_ms: i64) -> PortResult<()> {
        let (job_id, note) = (job_id.to_owned(), note.to_owned());
        self.db
            .call(move |c| put_delivery_in(c, &job_id, &note))
            .await
    }

    async fn get_delivery(&self, job_id: &str, _now_ms: i64) -> PortResult<Option<String>> {
        let job_id = job_id.to_owned();
        Ok(self
            .db
            .call(move |c| {
                c.prepare_cached("SELECT delivery FROM jobs WHERE id = ?1")?
                    .query_row([job_id], |r| r.get::<_, Option<String>>(0))
                    .optional()
            })
            .await?
            .flatten())
    }

    async fn hit_counter(
        &self,
        key: &str,
        limit: u64,
        window_ms: i64,
        now_ms: i64,
    ) -> PortResult<CounterHit> {
        let key = key.to_owned();
        let purge = self.purge_due();
        self.db
            .write(move |tx| {
                if purge {
                    purge_expired(tx, now_ms)?;
                }
                hit_in(tx, &key, limit, window_ms, now_ms)
            })
            .await
    }

    async fn unhit_counter(&self, key: &str, now_ms: i64) -> PortResult<()> {
        let key = key.to_owned();
        self.db.call(move |c| unhit_in(c, &key, now_ms)).await
    }

    async fn get_config(&self, key: &str) -> PortResult<Option<Value>> {
        let key = key.to_owned();
        let raw: Option<String> = self
            .db
            .call(move |c| {
                c.prepare_cached("SELECT value FROM config WHERE key = ?1")?
                    .query_row([key], |r| r.get(0))
                    .optional()
            })
            .await?;
        raw.map(|r| serde_json::from_str(&r).map_err(|e| PortError::Backend(e.into())))
            .transpose()
    }

    async fn set_config(&self, key: &str, value: &Value) -> PortResult<()> {
        let (key, value) = (key.to_owned(), value.to_string());
        self.db
            .call(move |c| {
                c.execute(
                    "INSERT INTO config (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    params![key, value],
                )
            })
            .await?;
        Ok(())
    }

    async fn all_config(&self) -> PortResult<serde_json::Map<String, Value>> {
        let rows: Vec<(String, String)> = self
            .db
            .call(|c| {
                c.prepare_cached("SELECT key, value FROM config")?
                    .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect()
            })
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(k, v)| serde_json::from_str(&v).ok().map(|v| (k, v)))
            .collect())
    }

    async fn put_dead_letter(&self, dl: &DeadLetter) -> PortResult<()> {
        let d = dl.clone();
        self.db.call(move |c| put_dead_letter_in(c, &d)).await
    }

    async fn list_dead_letters(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> PortResult<Page<DeadLetter>> {
        self.page_dead_letters(after, limit).await
    }

    async fn take_dead_letter(&self, id: &str) -> PortResult<Option<DeadLetter>> {
        let id = id.to_owned();
        self.db
            .write(move |tx| {
                let dl = tx
                    .prepare_cached("SELECT * FROM dead_letters WHERE id = ?1")?
                    .query_row([&id], dead_letter_from_row)
                    .optional()?;
                if dl.is_some() {
                    tx.execute("DELETE FROM dead_letters WHERE id = ?1", [&id])?;
                }
                Ok(dl)
            })
            .await
    }

    async fn put_parked_send(&self, p: &ParkedSend) -> PortResult<()> {
        let p = p.clone();
        self.db
            .call(move |c| {
                c.execute(
                    "INSERT INTO parked_sends (id, session_id, parked_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT (id) DO UPDATE SET parked_at = excluded.parked_at",
                    params![p.job_id, p.session_id, p.parked_at],
                )
            })
            .await?;
        Ok(())
    }

    async fn list_parked_sends(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> PortResult<Page<ParkedSend>> {
        self.page_parked_sends(after, limit).await
    }

    async fn remove_parked_send(&self, job_id: &str) -> PortResult<()> {
        let id = job_id.to_owned();
        self.db
            .call(move |c| c.execute("DELETE FROM parked_sends WHERE id = ?1", [id]))
            .await?;
        Ok(())
    }
}
