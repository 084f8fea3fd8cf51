//! The events the session host emits, built in one place so their webhook shapes stay what the
//! API documents, and put on the events queue with the event id as dedup id.

use std::time::Duration;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use wagate_core::clock::now_ms;
use wagate_core::ports::{PortResult, Queue, Write, names};
use wagate_core::{
    Account, ActionResult, Event, EventId, EventKind, InboundAction, Job, SessionId,
};

use crate::connector::{
    GroupChange, GroupChangeKind, IncomingAction, IncomingCall, IncomingMessage, MessageReceipt,
    SendReceipt,
};

/// Puts `event` on the events queue.
pub async fn emit(queue: &dyn Queue, event: &Event) -> PortResult<()> {
    let body = serde_json::to_string(event).map_err(anyhow::Error::from)?;
    queue.send(names::EVENTS, event.id.as_str(), &body).await
}

/// The write that puts `event` on the events queue, for a [`wagate_core::ports::WriteBatch`].
pub fn queued(event: &Event) -> PortResult<Write> {
    Ok(Write::Send {
        queue: names::EVENTS.to_owned(),
        dedup_id: event.id.to_string(),
        body: serde_json::to_string(event).map_err(anyhow::Error::from)?,
    })
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

/// `session_stale`: `{ lastTrafficAt, silentForMs }` (see [`crate::watchdog`]).
pub fn session_stale(session: &SessionId, last_traffic_ms: i64, silent: Duration) -> Event {
    Event::new(
        session.clone(),
        EventKind::SessionStale,
        json!({
            "lastTrafficAt": last_traffic_ms,
            "silentForMs": u64::try_from(silent.as_millis()).unwrap_or(u64::MAX),
        }),
        now_ms(),
    )
}

/// `message_received`: `{ messageId, from, fromLid?, chat, isGroup, participant?,
/// participantLid?, pushName?, type, text, content, quotedId?, fromMe, timestamp, message }`;
/// `message` is the seed server's shape (`{ key, message, messageTimestamp, pushName }`).
pub fn message_received(session: &SessionId, m: &IncomingMessage) -> Event {
    let is_group = matches!(m.chat.kind(), wagate_core::JidKind::Group);
    let mut data = json!({
        "messageId": m.id,
        "from": m.from,
        "chat": m.chat,
        "isGroup": is_group,
        "type": m.kind(),
        "text": m.text().unwrap_or_default(),
        "content": m.content,
        "fromMe": m.from_me,
        "timestamp": m.timestamp_secs,
    });
    let mut key = json!({ "remoteJid": m.chat, "fromMe": m.from_me, "id": m.id });
    if is_group {
        data["participant"] = json!(m.from);
        key["participant"] = json!(m.from);
    }
    if let Some(name) = &m.push_name {
        data["pushName"] = json!(name);
    }
    if let Some(lid) = &m.sender_lid {
        // `senderLid` is the name the first releases used.
        data["fromLid"] = json!(lid);
        data["senderLid"] = json!(lid);
        if is_group {
            data["participantLid"] = json!(lid);
        }
    }
    if let Some(q) = &m.quoted_id {
        data["quotedId"] = json!(q);
    }
    let message = m
        .raw
        .clone()
        .unwrap_or_else(|| m.content.whatsapp_json(m.quoted_id.as_deref()));
    data["message"] = json!({
        "key": key,
        "message": message,
        "messageTimestamp": m.timestamp_secs,
        "pushName": m.push_name,
    });
    Event::new(session.clone(), EventKind::MessageReceived, data, now_ms())
}

/// `message_reaction` `{ messageId, targetId, emoji, … }` (an empty emoji takes it back),
/// `message_edited` `{ …, targetId, type, text, content }`, `message_revoked` `{ …, targetId }`,
/// `poll_vote` `{ …, pollId (= targetId), selectedOptions }`;
/// each also carries `from`, `fromLid?`, `chat`, `isGroup`, `participant?`, `timestamp`.
pub fn message_action(session: &SessionId, a: &IncomingAction) -> Event {
    let is_group = matches!(a.chat.kind(), wagate_core::JidKind::Group);
    let mut data = json!({
        "messageId": a.id,
        "targetId": a.action.target_id(),
        "from": a.from,
        "chat": a.chat,
        "isGroup": is_group,
        "timestamp": a.timestamp_secs,
    });
    if is_group {
        data["participant"] = json!(a.from);
    }
    if let Some(lid) = &a.sender_lid {
        data["fromLid"] = json!(lid);
        if is_group {
            data["participantLid"] = json!(lid);
        }
    }
    let kind = match &a.action {
        InboundAction::Reaction { emoji, .. } => {
            data["emoji"] = json!(emoji);
            data["removed"] = json!(emoji.is_empty());
            EventKind::MessageReaction
        }
        InboundAction::Edited { content, .. } => {
            data["type"] = json!(content.kind());
            data["text"] = json!(content.text().unwrap_or_default());
            data["content"] = json!(content);
            EventKind::MessageEdited
        }
        InboundAction::Revoked { .. } => {
            data["by"] = json!(a.from);
            EventKind::MessageRevoked
        }
        InboundAction::PollVote {
            selected_options, ..
        } => {
            data["pollId"] = json!(a.action.target_id());
            data["selectedOptions"] = json!(selected_options);
            EventKind::PollVote
        }
    };
    Event::new(session.clone(), kind, data, now_ms())
}

/// `call`: `{ callId, from, fromLid?, isVideo, isGroup, status: "offer" | "missed", rejected,
/// timestamp }`.
pub fn call(session: &SessionId, c: &IncomingCall, rejected: bool) -> Event {
    let mut data = json!({
        "callId": c.call_id,
        "from": c.from,
        "isVideo": c.is_video,
        "isGroup": c.is_group,
        "status": c.status.as_str(),
        "rejected": rejected,
        "timestamp": c.timestamp_secs,
    });
    if let Some(lid) = &c.from_lid {
        data["fromLid"] = json!(lid);
    }
    Event::new(session.clone(), EventKind::Call, data, now_ms())
}

/// `group_participants`: `{ groupId, action, participants, by?, byLid?, timestamp }`;
/// `group_updated`: `{ groupId, subject? | description? | setting + value, by?, byLid?,
/// timestamp }`.
pub fn group_change(session: &SessionId, g: &GroupChange) -> Event {
    let mut data = json!({ "groupId": g.group, "timestamp": g.timestamp_secs });
    if let Some(by) = &g.by {
        data["by"] = json!(by);
    }
    if let Some(lid) = &g.by_lid {
        data["byLid"] = json!(lid);
    }
    let kind = match &g.change {
        GroupChangeKind::Participants {
            action,
            participants,
        } => {
            data["action"] = json!(action);
            data["participants"] = json!(participants);
            EventKind::GroupParticipants
        }
        GroupChangeKind::Subject(subject) => {
            data["subject"] = json!(subject);
            EventKind::GroupUpdated
        }
        GroupChangeKind::Description(d) => {
            data["description"] = json!(d);
            EventKind::GroupUpdated
        }
        GroupChangeKind::Setting { name, value } => {
            data["setting"] = json!(name);
            data["value"] = value.clone();
            EventKind::GroupUpdated
        }
    };
    Event::new(session.clone(), kind, data, now_ms())
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
    e.request_id = job.request_id.clone();
    e
}

/// `action_done`: `{ jobId, to, type, status: "done", result }` for an action job, `result`
/// being what it produced (`messageId`, `groupId`, `inviteLink`, `participants`). Its id is
/// derived from the job, as for `message_sent`.
pub fn action_done(job: &Job, result: &ActionResult) -> Event {
    let mut data = job_data(job, "done");
    data["result"] = json!(result);
    let mut e = Event::new(
        job.session_id.clone(),
        EventKind::ActionDone,
        data,
        now_ms(),
    );
    e.id = EventId::from_string(format!("evt_done_{}", job.id));
    e.request_id = job.request_id.clone();
    e
}

/// `message_failed` for a message, `action_failed` for an action: as `message_sent` with
/// `status: "failed"` and `error`.
pub fn job_failed(job: &Job, error: &str) -> Event {
    if job.message.action().is_none() {
        return message_failed(job, error);
    }
    let mut data = job_data(job, "failed");
    data["error"] = json!(error);
    let mut e = Event::new(
        job.session_id.clone(),
        EventKind::ActionFailed,
        data,
        now_ms(),
    );
    e.id = EventId::from_string(format!("evt_failed_{}", job.id));
    e.request_id = job.request_id.clone();
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
    e.request_id = job.request_id.clone();
    e
}

/// `message_status`: `{ messageId, chat, from, status: "delivered" | "read" | "played",
/// timestamp }`, one per message the receipt covers. `messageId` is the WhatsApp id that
/// `message_sent` and `GET /api/messages/:id` (`waMessageId`) carry. Its id is derived from
/// the message and the status, so a receipt WhatsApp repeats (it does, after a reconnect) is
/// one event.
pub fn message_status(session: &SessionId, r: &MessageReceipt, message_id: &str) -> Event {
    let status = r.status.as_str();
    let mut e = Event::new(
        session.clone(),
        EventKind::MessageStatus,
        json!({
            "messageId": message_id,
            "chat": r.chat,
            "from": r.from,
            "status": status,
            "timestamp": r.timestamp_secs,
        }),
        now_ms(),
    );
    // Hashed: a session id, a message id and a JID could pass the 128 characters a queue
    // dedup id may have.
    let key = format!("{session}\n{message_id}\n{}\n{status}", r.from);
    let digest = hex::encode(Sha256::digest(key.as_bytes()));
    e.id = EventId::from_string(format!("evt_status_{}", &digest[..40]));
    e
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connector::ReceiptStatus;

    fn receipt(status: ReceiptStatus) -> MessageReceipt {
        let to = wagate_core::Jid::parse("628123456789").unwrap();
        MessageReceipt {
            message_ids: vec!["3EB0AA".into(), "3EB0BB".into()],
            chat: to.clone(),
            from: to,
            status,
            timestamp_secs: 1_700_000_000,
        }
    }

    #[test]
    fn a_repeated_receipt_is_one_event_and_each_status_its_own() {
        let s = SessionId::parse("shop").unwrap();
        let delivered = receipt(ReceiptStatus::Delivered);
        let a = message_status(&s, &delivered, "3EB0AA");
        let again = message_status(&s, &delivered, "3EB0AA");
        let other_msg = message_status(&s, &delivered, "3EB0BB");
        let read = message_status(&s, &receipt(ReceiptStatus::Read), "3EB0AA");
        assert_eq!(a.id, again.id);
        assert_ne!(a.id, other_msg.id);
        assert_ne!(a.id, read.id);
        assert!(a.id.as_str().len() <= 128);

        let body: Value = serde_json::from_slice(&read.webhook_body()).unwrap();
        assert_eq!(body["event"], "message_status");
        assert_eq!(body["data"]["id"], "shop");
        assert_eq!(body["data"]["messageId"], "3EB0AA");
        assert_eq!(body["data"]["status"], "read");
        assert_eq!(body["data"]["chat"], "628123456789@s.whatsapp.net");
        assert_eq!(body["data"]["timestamp"], 1_700_000_000);
    }
}
