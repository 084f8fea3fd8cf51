//! The state store: API keys, sessions, jobs, idempotency records, limit counters, runtime
//! config and dead letters. Every method is one atomic operation, so two processes sharing a
//! store (two Lambdas, or the API and the host) cannot both pass a limit.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::PortResult;
use crate::{
    Account, ApiKeyRecord, EventFilter, Job, JobId, JobState, KeyHash, KeyId, Session, SessionId,
    SessionStatus,
};

/// The sort key of a listing ordered by time: 13-digit milliseconds, `#`, then the id. The
/// page token of such listings.
pub fn time_key(ms: i64, id: &str) -> String {
    format!("{:013}#{id}", ms.max(0))
}

/// The outcome of one hit on a windowed counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CounterHit {
    /// Whether the hit was counted (the limit was not reached).
    pub allowed: bool,
    /// The count after this hit (unchanged when refused).
    pub count: u64,
    /// When the window ends and the count starts again from zero (ms since epoch).
    pub reset_at_ms: i64,
}

/// An event whose webhook delivery gave up; an admin can list and replay it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeadLetter {
    /// The event id.
    pub id: String,
    pub session_id: String,
    /// The queued event, as it was in the events queue.
    pub body: String,
    pub attempts: u32,
    pub last_error: String,
    pub failed_at: i64,
}

/// A send parked in the dead-sends queue (see `dead_sends`): the store's index of that queue,
/// which a FIFO queue cannot page itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParkedSend {
    pub job_id: String,
    pub session_id: String,
    pub parked_at: i64,
}

/// One page of a listing, in the listing's stable order. `next` is the token to pass as
/// `after` for the following page, `None` on the last one. A token only means something to
/// the store that made it (it is the sort key of the last item on the page).
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

/// The page size the `all_*` helpers walk listings with.
const WALK_PAGE: usize = 500;

#[async_trait]
pub trait Store: std::fmt::Debug + Send + Sync + 'static {
    // --- API keys
    /// Inserts or replaces the record with the same hash.
    async fn put_api_key(&self, key: &ApiKeyRecord) -> PortResult<()>;
    async fn api_key_by_hash(&self, hash: &KeyHash) -> PortResult<Option<ApiKeyRecord>>;
    /// Keys by creation time then id, `limit` at most, after the token `after`.
    async fn list_api_keys(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> PortResult<Page<ApiKeyRecord>>;
    /// Every key (walks the pages).
    async fn all_api_keys(&self) -> PortResult<Vec<ApiKeyRecord>> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = self.list_api_keys(after.as_deref(), WALK_PAGE).await?;
            out.extend(page.items);
            match page.next {
                Some(n) => after = Some(n),
                None => return Ok(out),
            }
        }
    }
    /// Returns whether a key was deleted.
    async fn delete_api_key(&self, id: &KeyId) -> PortResult<bool>;

    // --- sessions
    /// Inserts the session unless one with the same id exists; returns whether it did.
    async fn create_session(&self, session: &Session) -> PortResult<bool>;
    async fn get_session(&self, id: &SessionId) -> PortResult<Option<Session>>;
    /// Sessions (all, or those owned by `owner`) ordered by id, `limit` at most, after the
    /// token `after`. The owner filter applies before the limit.
    async fn list_sessions(
        &self,
        owner: Option<&KeyId>,
        after: Option<&str>,
        limit: usize,
    ) -> PortResult<Page<Session>>;
    /// Every session, or every one owned by `owner` (walks the pages).
    async fn all_sessions(&self, owner: Option<&KeyId>) -> PortResult<Vec<Session>> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = self
                .list_sessions(owner, after.as_deref(), WALK_PAGE)
                .await?;
            out.extend(page.items);
            match page.next {
                Some(n) => after = Some(n),
                None => return Ok(out),
            }
        }
    }
    /// Sets status, QR, pairing code and account together; returns false if the session is gone.
    async fn set_session_state(
        &self,
        id: &SessionId,
        status: SessionStatus,
        qr: Option<&str>,
        pairing_code: Option<&str>,
        account: Option<&Account>,
    ) -> PortResult<bool>;
    /// Sets (or clears, with `None`) the session's webhook; returns false if the session is gone.
    async fn set_session_webhook(
        &self,
        id: &SessionId,
        url: Option<&str>,
        secret: Option<&str>,
    ) -> PortResult<bool>;
    /// Sets which of the session's events reach a webhook; returns false if it is gone.
    async fn set_session_events(&self, id: &SessionId, events: &EventFilter) -> PortResult<bool>;
    async fn delete_session(&self, id: &SessionId) -> PortResult<bool>;

    // --- session leases (which host runs a session's WhatsApp connection)
    /// Takes the session's lease for `holder` until `now_ms + ttl_ms`, or renews it when
    /// `holder` already has it. Fails (false) while another holder's lease is unexpired, or
    /// when the session is gone.
    async fn acquire_lease(
        &self,
        id: &SessionId,
        holder: &str,
        ttl_ms: i64,
        now_ms: i64,
    ) -> PortResult<bool>;
    /// Gives the lease up early (a clean shutdown) if `holder` still has it.
    async fn release_lease(&self, id: &SessionId, holder: &str) -> PortResult<()>;

    // --- jobs
    /// Inserts the job unless one with the same id exists; returns whether it did.
    async fn create_job(&self, job: &Job) -> PortResult<bool>;
    async fn get_job(&self, id: &JobId) -> PortResult<Option<Job>>;
    /// Several jobs at once, in the order of `ids` (`None` where there is no such job).
    async fn get_jobs(&self, ids: &[JobId]) -> PortResult<Vec<Option<Job>>> {
        futures::future::join_all(ids.iter().map(|id| self.get_job(id)))
            .await
            .into_iter()
            .collect()
    }
    /// Jobs created in `[from_ms, to_ms)` and never updated since (no worker has started
    /// them, nothing failed them), by creation time then id, `limit` at most, after `after`.
    /// See `unstarted`.
    async fn list_unstarted_jobs(
        &self,
        from_ms: i64,
        to_ms: i64,
        after: Option<&str>,
        limit: usize,
    ) -> PortResult<Page<Job>>;
    /// Moves a job to `state` (attempts, error and sent_at as given); returns false if gone.
    async fn update_job(
        &self,
        id: &JobId,
        state: JobState,
        attempts: u32,
        error: Option<&str>,
        sent_at: Option<i64>,
    ) -> PortResult<bool>;

    // --- idempotency
    /// Records `value` under `key` unless the key already holds one younger than `ttl_ms`;
    /// returns the value already held, or `None` when this call recorded it.
    async fn claim_idempotency(
        &self,
        key: &str,
        value: &str,
        ttl_ms: i64,
        now_ms: i64,
    ) -> PortResult<Option<String>>;
    /// Replaces the value of a claimed key (e.g. with the final response).
    async fn complete_idempotency(&self, key: &str, value: &str) -> PortResult<()>;

    // --- records that expire (answers to queries, caches of what WhatsApp said)
    /// Stores `value` under `key` until `expires_at_ms`, replacing what was there.
    async fn put_record(&self, key: &str, value: &str, expires_at_ms: i64) -> PortResult<()>;
    /// The value under `key`, unless it expired by `now_ms`.
    async fn get_record(&self, key: &str, now_ms: i64) -> PortResult<Option<String>>;

    // --- a job's webhook delivery note (see `job_delivery`)
    /// Stores the note of job `job_id`'s latest webhook attempt, replacing the one before. By
    /// default a record (`delivery:<job>`) until `expires_at_ms`; a store that keeps it on the
    /// job's own row (SQLite) keeps it as long as the job and writes nothing for a job it no
    /// longer has.
    async fn put_delivery(&self, job_id: &str, note: &str, expires_at_ms: i64) -> PortResult<()> {
        self.put_record(&crate::job_delivery::key(job_id), note, expires_at_ms)
            .await
    }
    /// The note [`Store::put_delivery`] stored for job `job_id`.
    async fn get_delivery(&self, job_id: &str, now_ms: i64) -> PortResult<Option<String>> {
        self.get_record(&crate::job_delivery::key(job_id), now_ms)
            .await
    }

    // --- counters (rate limit, quota, cooldown)
    /// Atomically counts one hit on `key` unless `limit` hits were counted in the current
    /// window. A window starts at the first hit after the previous one ended and lasts
    /// `window_ms`.
    async fn hit_counter(
        &self,
        key: &str,
        limit: u64,
        window_ms: i64,
        now_ms: i64,
    ) -> PortResult<CounterHit>;
    /// Takes back one hit counted in the current window (a send refused by a later check).
    async fn unhit_counter(&self, key: &str, now_ms: i64) -> PortResult<()>;

    // --- runtime config (changed by admins without a restart)
    async fn get_config(&self, key: &str) -> PortResult<Option<Value>>;
    async fn set_config(&self, key: &str, value: &Value) -> PortResult<()>;
    async fn all_config(&self) -> PortResult<serde_json::Map<String, Value>>;

    // --- dead letters
    async fn put_dead_letter(&self, dl: &DeadLetter) -> PortResult<()>;
    /// Dead letters by failure time then id (oldest first), `limit` at most, after `after`.
    async fn list_dead_letters(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> PortResult<Page<DeadLetter>>;
    /// Removes and returns one dead letter (for replay).
    async fn take_dead_letter(&self, id: &str) -> PortResult<Option<DeadLetter>>;

    // --- parked sends (the index of the dead-sends queue)
    /// Records a parked send; parking the same job again moves it to its new time.
    async fn put_parked_send(&self, p: &ParkedSend) -> PortResult<()>;
    /// Parked sends by parking time then job id (oldest first), `limit` at most, after `after`.
    async fn list_parked_sends(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> PortResult<Page<ParkedSend>>;
    /// Forgets a parked send (once redriven); no error when there is none.
    async fn remove_parked_send(&self, job_id: &str) -> PortResult<()>;
}
