//! Rows of the database read back into wagate's records; a row that cannot be read (a value
//! this version does not know) is an error naming the column, never a panic.

use rusqlite::Row;
use wagate_core::ports::{DeadLetter, ParkedSend};
use wagate_core::{
    Account, ApiKeyRecord, Jid, Job, JobId, JobState, KeyHash, KeyId, ProxyUrl, Role, Session,
    SessionId, SessionStatus,
};

/// A column that holds something wagate wrote but that no longer parses.
pub(super) fn corrupt(what: &str, detail: impl std::fmt::Display) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        0,
        rusqlite::types::Type::Text,
        format!("stored {what} is unreadable: {detail}").into(),
    )
}

pub(super) fn role_str(r: Role) -> &'static str {
    match r {
        Role::Admin => "admin",
        Role::User => "user",
    }
}

pub(super) fn key_from_row(r: &Row<'_>) -> rusqlite::Result<ApiKeyRecord> {
    let hash: String = r.get("hash")?;
    let role: String = r.get("role")?;
    Ok(ApiKeyRecord {
        hash: KeyHash::from_hex(&hash).ok_or_else(|| corrupt("key hash", &hash))?,
        id: KeyId::from_string(r.get::<_, String>("id")?),
        role: if role == "admin" {
            Role::Admin
        } else {
            Role::User
        },
        label: r.get("label")?,
        created_at: r.get("created_at")?,
    })
}

pub(super) fn session_from_row(r: &Row<'_>) -> rusqlite::Result<Session> {
    let id: String = r.get("id")?;
    let status: String = r.get("status")?;
    let account: Option<String> = r.get("account")?;
    let proxy: Option<String> = r.get("proxy")?;
    let events: Option<String> = r.get("events")?;
    Ok(Session {
        id: SessionId::parse(&id).map_err(|e| corrupt("session id", e))?,
        owner: KeyId::from_string(r.get::<_, String>("owner")?),
        status: SessionStatus::parse(&status).ok_or_else(|| corrupt("session status", &status))?,
        webhook_url: r.get("webhook_url")?,
        webhook_secret: r.get("webhook_secret")?,
        qr: r.get("qr")?,
        pairing_code: r.get("pairing_code")?,
        account: account
            .map(|a| serde_json::from_str::<Account>(&a).map_err(|e| corrupt("account", e)))
            .transpose()?,
        proxy: proxy
            .map(|p| ProxyUrl::parse(&p, "proxy").map_err(|e| corrupt("proxy", e)))
            .transpose()?,
        events: events
            .map(|e| serde_json::from_str(&e).map_err(|e| corrupt("events", e)))
            .transpose()?
            .unwrap_or_default(),
        created_at: r.get("created_at")?,
        updated_at: r.get("updated_at")?,
    })
}

pub(super) fn job_from_row(r: &Row<'_>) -> rusqlite::Result<Job> {
    let session: String = r.get("session_id")?;
    let to: String = r.get("recipient")?;
    let message: String = r.get("message")?;
    let state: String = r.get("state")?;
    Ok(Job {
        id: JobId::from_string(r.get::<_, String>("id")?),
        session_id: SessionId::parse(&session).map_err(|e| corrupt("session id", e))?,
        owner: KeyId::from_string(r.get::<_, String>("owner")?),
        to: Jid::parse(&to).map_err(|e| corrupt("recipient", e))?,
        message: serde_json::from_str(&message).map_err(|e| corrupt("message", e))?,
        wa_message_id: r.get("wa_message_id")?,
        state: JobState::parse(&state).ok_or_else(|| corrupt("job state", &state))?,
        attempts: r.get("attempts")?,
        error: r.get("error")?,
        pace_ms: r.get::<_, Option<i64>>("pace_ms")?.map(|v| v as u64),
        created_at: r.get("created_at")?,
        updated_at: r.get("updated_at")?,
        sent_at: r.get("sent_at")?,
        request_id: r.get("request_id")?,
    })
}

pub(super) fn parked_send_from_row(r: &Row<'_>) -> rusqlite::Result<ParkedSend> {
    Ok(ParkedSend {
        job_id: r.get("id")?,
        session_id: r.get("session_id")?,
        parked_at: r.get("parked_at")?,
    })
}

pub(super) fn dead_letter_from_row(r: &Row<'_>) -> rusqlite::Result<DeadLetter> {
    Ok(DeadLetter {
        id: r.get("id")?,
        session_id: r.get("session_id")?,
        body: r.get("body")?,
        attempts: r.get("attempts")?,
        last_error: r.get("last_error")?,
        failed_at: r.get("failed_at")?,
    })
}
