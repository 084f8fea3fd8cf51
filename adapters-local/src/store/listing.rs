//! The paged listings (keys, sessions, dead letters, parked sends). Each query selects its sort key as `sk`
//! and reads one row more than the page holds, so the last page is known without another call.

use rusqlite::{Connection, Params, Row};
use wagate_core::ports::{DeadLetter, Page, ParkedSend, PortResult};
use wagate_core::{ApiKeyRecord, Job, KeyId, Session};

use super::{
    SqliteStore, dead_letter_from_row, job_from_row, key_from_row, parked_send_from_row,
    session_from_row,
};

/// `limit` rows (and one more) of `sql`, whose last parameter is the row count.
fn page<T>(
    c: &Connection,
    sql: &str,
    args: impl Params,
    limit: usize,
    from_row: fn(&Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<Page<T>> {
    let mut rows: Vec<(String, T)> = c
        .prepare_cached(sql)?
        .query_map(args, |r| Ok((r.get("sk")?, from_row(r)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let next = if rows.len() > limit {
        rows.truncate(limit);
        rows.last().map(|(sk, _)| sk.clone())
    } else {
        None
    };
    Ok(Page {
        items: rows.into_iter().map(|(_, t)| t).collect(),
        next,
    })
}

/// The row count to ask for: the page and one more.
fn fetch(limit: usize) -> i64 {
    i64::try_from(limit.saturating_add(1)).unwrap_or(i64::MAX)
}

impl SqliteStore {
    pub(super) async fn page_api_keys(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> PortResult<Page<ApiKeyRecord>> {
        self.page_by_time("api_keys", "created_at", after, limit, key_from_row)
            .await
    }

    /// A listing ordered by `<13-digit ms of time_column>#<id>`, as DynamoDB's index sorts.
    async fn page_by_time<T: Send + 'static>(
        &self,
        table: &'static str,
        time_column: &'static str,
        after: Option<&str>,
        limit: usize,
        from_row: fn(&Row<'_>) -> rusqlite::Result<T>,
    ) -> PortResult<Page<T>> {
        let after = after.unwrap_or_default().to_owned();
        let sk = format!("printf('%013d#', max({time_column}, 0)) || id");
        let sql = format!("SELECT *, {sk} AS sk FROM {table} WHERE {sk} > ?1 ORDER BY sk LIMIT ?2");
        self.db
            .call(move |c| {
                page(
                    c,
                    &sql,
                    rusqlite::params![after, fetch(limit)],
                    limit,
                    from_row,
                )
            })
            .await
    }

    pub(super) async fn page_sessions(
        &self,
        owner: Option<&KeyId>,
        after: Option<&str>,
        limit: usize,
    ) -> PortResult<Page<Session>> {
        let owner = owner.map(|o| o.as_str().to_owned());
        let after = after.unwrap_or_default().to_owned();
        self.db
            .call(move |c| {
                page(
                    c,
                    "SELECT *, id AS sk FROM sessions WHERE (?1 IS NULL OR owner = ?1) AND id > ?2
                     ORDER BY id LIMIT ?3",
                    rusqlite::params![owner, after, fetch(limit)],
                    limit,
                    session_from_row,
                )
            })
            .await
    }

    pub(super) async fn page_dead_letters(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> PortResult<Page<DeadLetter>> {
        self.page_by_time(
            "dead_letters",
            "failed_at",
            after,
            limit,
            dead_letter_from_row,
        )
        .await
    }

    pub(super) async fn page_unstarted_jobs(
        &self,
        from_ms: i64,
        to_ms: i64,
        after: Option<&str>,
        limit: usize,
    ) -> PortResult<Page<Job>> {
        let after = after.unwrap_or_default().to_owned();
        self.db
            .call(move |c| {
                page(
                    c,
                    "SELECT *, printf('%013d#', max(created_at, 0)) || id AS sk
                     FROM jobs INDEXED BY jobs_unstarted
                     WHERE created_at >= ?1 AND created_at < ?2 AND updated_at = created_at
                       AND state = 'queued' AND attempts = 0 AND printf('%013d#', max(created_at, 0)) || id > ?3
                     ORDER BY created_at, id LIMIT ?4",
                    rusqlite::params![from_ms, to_ms, after, fetch(limit)],
                    limit,
                    job_from_row,
                )
            })
            .await
    }

    pub(super) async fn page_parked_sends(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> PortResult<Page<ParkedSend>> {
        self.page_by_time(
            "parked_sends",
            "parked_at",
            after,
            limit,
            parked_send_from_row,
        )
        .await
    }
}
