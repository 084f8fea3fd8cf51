//! The events the session host emits, built in one place so their webhook shapes stay what the
//! API documents, and put on the events queue with the event id as dedup id.

use serde_json::{Value, json};
use wagate_core::clock::now_ms;
use wagate_core::ports::{PortResult, Queue, names};
use wagate_core::{Account, Event, EventId, EventKind, Job, SessionId};

use crate::connector::{IncomingMessage, SendReceipt};

/// Puts `event` on the events queue.
pub async fn emit(queue: &dyn Queue, event: &Event) -> PortResult<()> {
    let body = serde_json::to_string(event).map_err(anyhow::Error::from)?;
    queue.send(names::EVENTS, event.id.as_str(), &body).await
}

/// `qr`: `{ qr }`.
pub fn qr(session: &SessionId, code: &str) -> Event {
    Event::new(
        session.clone(),
        EventKind::Qr,
        json!({ "qr": code }),
        now_ms(),
    )
}

/// `session_open`: `{ status: "open", jid, name }`.
pub fn session_open(session: &SessionId, account: &Account) -> Event {
    Event::new(
        session.clone(),
        EventKind::SessionOpen,
        json!({ "status": "open", "jid": account.jid, "name": account.name }),
        now_ms(),
    )
}

/// `session_closed`: `{ status: "closed" | "logged_out", reason }`.
pub fn session_closed(session: &SessionId, logged_out: bool, reason: &str) -> Event {
    let status = if logged_out { "logged_out" } else { "closed" };
    Event::new(
        session.clone(),
        EventKind::SessionClosed,
        json!({ "status": status, "reason": reason }),
        now_ms(),
    )
}

/// `message_received`: `{ messageId, from, chat, isGroup, participant?, pushName?, type, text,
/// timestamp }`.
pub fn message_received(session: &SessionId, m: &IncomingMessage) -> Event {
    let is_group = matches!(m.chat.kind(), wagate_core::JidKind::Group);
    let mut data = json!({
        "messageId": m.id,
        "from": m.from,
        "chat": m.chat,
        "isGroup": is_group,
        "type": m.kind,
        "text": m.text.clone().unwrap_or_default(),
        "timestamp": m.timestamp,
    });
    if is_group {
        data["participant"] = json!(m.from);
    }
    if let Some(name) = &m.push_name {
        data["pushName"] = json!(name);
    }
    if let Some(lid) = &m.sender_lid {
        data["senderLid"] = json!(lid);
    }
    Event::new(session.clone(), EventKind::MessageReceived, data, now_ms())
}

fn job_data(job: &Job, status: &str) -> Value {
    json!({
        "jobId": job.id,
        "messageId": job.wa_message_id,
        "to": job.to,
        "type": job.message.kind(),
        "status": status,
    })
}

/// `message_sent`: `{ jobId, messageId, to, type, status: "sent" }`. Its id is derived from
/// the job, so a job finished twice (a redelivery after a crash) yields the same event id,
/// which the queue and the receivers deduplicate.
pub fn message_sent(job: &Job, receipt: &SendReceipt) -> Event {
    let mut data = job_data(job, "sent");
    data["messageId"] = json!(receipt.message_id);
    let mut e = Event::new(
        job.session_id.clone(),
        EventKind::MessageSent,
        data,
        now_ms(),
    );
    e.id = EventId::from_string(format!("evt_sent_{}", job.id));
    e
}

/// `message_failed`: as `message_sent` with `status: "failed"` and `error`.
pub fn message_failed(job: &Job, error: &str) -> Event {
    let mut data = job_data(job, "failed");
    data["error"] = json!(error);
    let mut e = Event::new(
        job.session_id.clone(),
        EventKind::MessageFailed,
        data,
        now_ms(),
    );
    e.id = EventId::from_string(format!("evt_failed_{}", job.id));
    e
}
