//! Answers to the API's queries (`HostCommand::Query`) by the session's connection. What is
//! costly or risky to ask WhatsApp often is kept: a number check is cached per session for
//! [`NUMBER_CACHE_MS`], and a session's uncached checks are spaced [`CHECK_GAP`] apart (bulk
//! checks get numbers banned).

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::sync::{Mutex, watch};
use tokio::time::Instant;
use wagate_core::clock::now_ms;
use wagate_core::ports::Store;
use wagate_core::{
    GroupInfo, Jid, NumberCheck, QUERY_DEADLINE_MS, QUERY_TTL_MS, QueryFailure, QueryRecord,
    QueryStatus, SessionId, SessionQuery,
};

use crate::connector::{Connection, SendError};

/// How long a number check's answer is reused.
pub const NUMBER_CACHE_MS: i64 = 7 * 24 * 60 * 60 * 1000;
/// The least time between two uncached checks of one session.
pub const CHECK_GAP: Duration = Duration::from_secs(1);

/// How long a group's info is reused; group events and the session's own group changes
/// drop it sooner.
pub const GROUP_CACHE_MS: i64 = 10 * 60 * 1000;

/// When the session last asked WhatsApp about numbers.
pub type CheckPace = Arc<Mutex<Option<Instant>>>;

/// Answers `rec` once the session is open (a host that just took the session is still
/// connecting), or says it is not connected if it does not open before the query's deadline.
pub async fn answer_when_open(
    store: Arc<dyn Store>,
    mut link: watch::Receiver<Option<Arc<dyn Connection>>>,
    pace: CheckPace,
    rec: QueryRecord,
) {
    let left = rec
        .created_at
        .saturating_add(QUERY_DEADLINE_MS)
        .saturating_sub(now_ms());
    let wait = Duration::from_millis(u64::try_from(left).unwrap_or(0));
    let open = tokio::time::timeout(wait, async {
        link.wait_for(Option::is_some)
            .await
            .ok()
            .and_then(|c| c.clone())
    })
    .await;
    let conn = open.ok().flatten();
    answer(store.as_ref(), conn.as_deref(), &pace, rec).await;
}

/// Answers `rec` and records the answer (or why there is none).
pub async fn answer(
    store: &dyn Store,
    conn: Option<&dyn Connection>,
    pace: &CheckPace,
    mut rec: QueryRecord,
) {
    let outcome = match conn {
        None => Err((
            QueryFailure::NotConnected,
            "the session is not connected; ask again once it is open".to_owned(),
        )),
        Some(conn) => match &rec.query {
            SessionQuery::CheckNumbers { numbers } => {
                check_numbers(store, conn, &rec.session_id, numbers, pace)
                    .await
                    .map(|r| json!({ "results": r }))
            }
            SessionQuery::Profile { number } => {
                conn.profile(number).await.map(|p| json!({ "profile": p }))
            }
            SessionQuery::BusinessProfile { number } => conn
                .business_profile(number)
                .await
                .map(|p| json!({ "business": p })),
            SessionQuery::Blocklist => conn.blocklist().await.map(|b| json!({ "blocked": b })),
            SessionQuery::Groups => conn.groups().await.map(|g| json!({ "groups": g })),
            SessionQuery::Group { jid } => group(store, conn, &rec.session_id, jid)
                .await
                .map(|g| json!({ "group": g })),
            SessionQuery::InviteLink { jid } => conn
                .invite_link(jid)
                .await
                .map(|l| json!({ "inviteLink": l })),
            SessionQuery::InviteInfo { code } => {
                conn.invite_info(code).await.map(|g| json!({ "group": g }))
            }
            SessionQuery::JoinRequests { jid } => conn
                .join_requests(jid)
                .await
                .map(|r| json!({ "requests": r })),
        }
        .map_err(|e| {
            let failure = match e.downcast_ref::<SendError>() {
                Some(SendError::Permanent(_)) => QueryFailure::Refused,
                _ => QueryFailure::Unavailable,
            };
            (failure, format!("{e:#}"))
        }),
    };
    match outcome {
        Ok(result) => {
            rec.status = QueryStatus::Done;
            rec.result = Some(result);
        }
        Err((failure, error)) => {
            tracing::info!(session_id = %rec.session_id, query_id = %rec.id, %error, "query failed");
            rec.status = QueryStatus::Failed;
            rec.failure = Some(failure);
            rec.error = Some(error);
        }
    }
    save(store, &rec).await;
}

/// Stores `rec` (kept [`QUERY_TTL_MS`] from its creation).
pub async fn save(store: &dyn Store, rec: &QueryRecord) {
    let body = serde_json::to_string(rec).unwrap_or_default();
    let expires = rec.created_at.saturating_add(QUERY_TTL_MS);
    if let Err(e) = store
        .put_record(&QueryRecord::key(&rec.id), &body, expires)
        .await
    {
        tracing::warn!(query_id = %rec.id, error = %e, "could not record a query's answer");
    }
}

/// Reads query `id`, if it is still kept.
pub async fn load(store: &dyn Store, id: &str) -> anyhow::Result<Option<QueryRecord>> {
    let raw = store.get_record(&QueryRecord::key(id), now_ms()).await?;
    Ok(raw.and_then(|r| serde_json::from_str(&r).ok()))
}

async fn check_numbers(
    store: &dyn Store,
    conn: &dyn Connection,
    session: &SessionId,
    numbers: &[String],
    pace: &CheckPace,
) -> anyhow::Result<Vec<NumberCheck>> {
    let now = now_ms();
    let mut known: Vec<Option<NumberCheck>> = Vec::with_capacity(numbers.len());
    for n in numbers {
        let cached = store
            .get_record(&NumberCheck::cache_key(session, n), now)
            .await?
            .and_then(|raw| serde_json::from_str(&raw).ok());
        known.push(cached);
    }
    let ask: Vec<String> = numbers
        .iter()
        .zip(&known)
        .filter(|(_, k)| k.is_none())
        .map(|(n, _)| n.clone())
        .collect();
    let mut fresh = Vec::new();
    if !ask.is_empty() {
        let mut last = pace.lock().await;
        if let Some(at) = *last {
            tokio::time::sleep_until(at + CHECK_GAP).await;
        }
        let got = conn.check_numbers(&ask).await;
        *last = Some(Instant::now());
        drop(last);
        fresh = got?;
        for c in &fresh {
            let body = serde_json::to_string(c)?;
            store
                .put_record(
                    &NumberCheck::cache_key(session, &c.number),
                    &body,
                    now.saturating_add(NUMBER_CACHE_MS),
                )
                .await?;
        }
    }
    Ok(numbers
        .iter()
        .zip(known)
        .map(|(n, k)| {
            k.or_else(|| fresh.iter().find(|c| c.number == *n).cloned())
                .unwrap_or_else(|| NumberCheck {
                    number: n.clone(),
                    on_whatsapp: false,
                    jid: None,
                    lid: None,
                    business: false,
                })
        })
        .collect())
}

/// Group `jid`'s info, from the cache when it is fresh.
async fn group(
    store: &dyn Store,
    conn: &dyn Connection,
    session: &SessionId,
    jid: &Jid,
) -> anyhow::Result<GroupInfo> {
    let key = GroupInfo::cache_key(session, jid);
    let now = now_ms();
    if let Some(g) = store
        .get_record(&key, now)
        .await?
        .and_then(|raw| serde_json::from_str(&raw).ok())
    {
        return Ok(g);
    }
    let g = conn.group(jid).await?;
    store
        .put_record(
            &key,
            &serde_json::to_string(&g)?,
            now.saturating_add(GROUP_CACHE_MS),
        )
        .await?;
    Ok(g)
}

/// Drops the cached info of group `jid` (it changed).
pub async fn forget_group(store: &dyn Store, session: &SessionId, jid: &Jid) {
    if let Err(e) = store
        .put_record(&GroupInfo::cache_key(session, jid), "", 0)
        .await
    {
        tracing::warn!(session_id = %session, group = %jid, error = %e, "could not drop a cached group");
    }
}
