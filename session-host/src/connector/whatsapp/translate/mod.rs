//! What whatsapp-rust reports, in wagate's terms: plain functions from the client's events to
//! [`Action`]s, so every translation is tested without a connection. The live client
//! (`super::live`) carries the actions out (emits, snapshots credentials, deletes them).

use std::time::Duration;

use wagate_core::{Jid, JidKind};
use waproto::whatsapp as wa;
use whatsapp_rust::Server;
use whatsapp_rust::prelude::Event;
use whatsapp_rust::proto_helpers::MessageExt;
use whatsapp_rust::types::message::{MessageInfo, MessageSource};
use whatsapp_rust::types::presence::ReceiptType;
use whatsapp_rust::wacore_binary::JidExt as _;

use super::inbound::{self, Received};
use super::proto_json;
use crate::connector::{
    CallStatus, ConnectorEvent, GroupChange, GroupChangeKind, IncomingAction, IncomingCall,
    IncomingMessage, MessageReceipt, ReceiptStatus,
};

/// How long a session waits before reconnecting after another client took its connection
/// over, so two hosts holding one session don't take it from each other in a loop.
pub const REPLACED_HOLD_OFF: Duration = Duration::from_secs(60);

/// What the connection has to do about one client event.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Pass this on to the runner.
    Emit(ConnectorEvent),
    /// Logged in and online: read the account from the client and emit `Open`.
    Online,
    /// A phone just linked this device as `jid`: snapshot the fresh credentials now.
    Paired { jid: Jid },
    /// The device is unlinked: delete the credentials, emit `LoggedOut`.
    LoggedOut { reason: String },
    /// A vote on a poll: open it with the poll's stored secret, then emit it.
    PollVote(Box<PendingVote>),
    /// The connection ended; reconnecting may work, but not before `hold_off`.
    Closed {
        reason: String,
        hold_off: Option<Duration>,
    },
}

/// Translates one client event; most events mean nothing to wagate and give no action.
pub fn translate(ev: &Event) -> Vec<Action> {
    if let Some(kind) = super::refusals::kind(ev) {
        wagate_core::measure::whatsapp_refusal(kind);
    }
    match ev {
        Event::PairingQrCode(q) => vec![Action::Emit(ConnectorEvent::Qr {
            code: q.code.clone(),
        })],
        Event::PairingCode(p) => vec![Action::Emit(ConnectorEvent::PairingCode {
            code: p.code.clone(),
        })],
        Event::PairSuccess(p) => wagate_jid(&p.id)
            .map(|jid| Action::Paired { jid })
            .into_iter()
            .collect(),
        Event::PairError(p) => vec![Action::Closed {
            reason: format!("pairing failed: {}", p.error),
            hold_off: None,
        }],
        Event::PairingQrCodesExhausted(_) => vec![Action::Closed {
            reason: "no phone scanned the QR codes in time".into(),
            hold_off: None,
        }],
        Event::Connected(_) => vec![Action::Online],
        Event::Disconnected(d) => vec![Action::Closed {
            reason: format!("disconnected: {}", d.reason),
            hold_off: None,
        }],
        Event::LoggedOut(l) => vec![Action::LoggedOut {
            reason: format!("logged out ({:?})", l.reason),
        }],
        Event::StreamReplaced(_) => vec![Action::Closed {
            reason: "another client took over this session's connection".into(),
            hold_off: Some(REPLACED_HOLD_OFF),
        }],
        Event::TemporaryBan(b) => vec![Action::Closed {
            reason: format!("temporarily banned: {}", b.code),
            hold_off: Some(b.expire.to_std().unwrap_or(REPLACED_HOLD_OFF)),
        }],
        Event::ConnectFailure(f) if f.reason.is_logged_out() => vec![Action::LoggedOut {
            reason: format!("connect refused: {:?}", f.reason),
        }],
        Event::ConnectFailure(f) => vec![Action::Closed {
            reason: format!("connect refused: {:?}", f.reason),
            hold_off: None,
        }],
        Event::ClientOutdated(_) => vec![Action::Closed {
            reason: "WhatsApp says this client version is outdated".into(),
            hold_off: Some(Duration::from_secs(600)),
        }],
        Event::Messages(batch) => batch
            .iter()
            .filter_map(|m| incoming(&m.message, &m.info))
            .collect(),
        Event::IncomingCall(c) => call(c)
            .map(|c| Action::Emit(ConnectorEvent::Call(Box::new(c))))
            .into_iter()
            .collect(),
        Event::MissedCall(m) => missed_call(m)
            .map(|c| Action::Emit(ConnectorEvent::Call(Box::new(c))))
            .into_iter()
            .collect(),
        Event::GroupUpdate(g) => group_change(g)
            .map(|g| Action::Emit(ConnectorEvent::Group(Box::new(g))))
            .into_iter()
            .collect(),
        Event::Receipt(r) => receipt(
            &r.source,
            &r.message_ids,
            &r.r#type,
            r.timestamp.timestamp(),
        )
        .map(|r| Action::Emit(ConnectorEvent::Receipt(r)))
        .into_iter()
        .collect(),
        _ => Vec::new(),
    }
}

/// A whatsapp-rust JID as wagate's: the device dropped, phone-number servers as
/// `s.whatsapp.net`, LIDs as `lid`; `None` for servers wagate does not address (bots,
/// interop, calls).
pub fn wagate_jid(j: &whatsapp_rust::Jid) -> Option<Jid> {
    let server = match j.server {
        Server::Pn | Server::Hosted | Server::Legacy => "s.whatsapp.net",
        Server::Lid | Server::HostedLid => "lid",
        Server::Group => "g.us",
        Server::Broadcast => "broadcast",
        Server::Newsletter => "newsletter",
        _ => return None,
    };
    Jid::parse(&format!("{}@{server}", j.user)).ok()
}

/// The sender's phone JID when it is known (the client reports a LID sender with its phone
/// number as the alternative, and the other way round), and its LID when that is known.
pub fn normalize_sender(
    sender: &whatsapp_rust::Jid,
    alt: Option<&whatsapp_rust::Jid>,
) -> Option<(Jid, Option<Jid>)> {
    let primary = wagate_jid(sender)?;
    let alt = alt.and_then(wagate_jid);
    let is_lid = |j: &Jid| j.kind() == JidKind::Lid;
    Some(match alt {
        Some(a) if is_lid(&primary) && a.kind() == JidKind::User => (a, Some(primary)),
        Some(a) if is_lid(&a) => (primary, Some(a)),
        _ if is_lid(&primary) => (primary.clone(), Some(primary)),
        _ => (primary, None),
    })
}

/// A received message as wagate forwards it (a new message, or an action on an earlier one),
/// or `None` for what never reaches a webhook: newsletters, broadcasts, status, and protocol
/// traffic with nothing to show. The account's own messages (sent from its other devices) are
/// passed on with `from_me`; the session decides whether they are delivered.
pub fn incoming(msg: &wa::Message, info: &MessageInfo) -> Option<Action> {
    let src = &info.source;
    if src.chat.is_status_broadcast()
        || src.chat.is_newsletter()
        || src.chat.is_broadcast_list()
        || src.broadcast_list_owner.is_some()
    {
        return None;
    }
    let (from, sender_lid) = normalize_sender(&src.sender, src.sender_alt.as_ref())?;
    let chat = if src.is_group || src.chat.is_group() || src.is_from_me {
        // A group, or the chat this account wrote into from another device.
        wagate_jid(&src.chat)?
    } else {
        // A one-to-one chat is the sender: name it by the same (phone) JID.
        from.clone()
    };
    let from_me = src.is_from_me;
    let timestamp_secs = info.timestamp.timestamp();
    match inbound::read(msg) {
        Received::Message { content, quoted_id } => Some(Action::Emit(ConnectorEvent::Incoming(
            Box::new(IncomingMessage {
                id: info.id.to_string(),
                from,
                sender_lid,
                chat,
                from_me,
                push_name: Some(info.push_name.clone()).filter(|n| !n.is_empty()),
                content,
                quoted_id,
                raw: Some(proto_json::message_to_json(msg.get_base_message())),
                media_handle: super::media_in::handle(
                    msg.get_base_message(),
                    &src.chat.to_string(),
                    src.is_group.then(|| src.sender.to_string()).as_deref(),
                    from_me,
                ),
                timestamp_secs,
            }),
        ))),
        Received::Action(action) => Some(Action::Emit(ConnectorEvent::Action(Box::new(
            IncomingAction {
                id: info.id.to_string(),
                from,
                sender_lid,
                chat,
                from_me,
                action,
                timestamp_secs,
            },
        )))),
        Received::PollVote(vote) => Some(Action::PollVote(Box::new(PendingVote {
            id: info.id.to_string(),
            from,
            sender_lid,
            chat,
            from_me,
            timestamp_secs,
            voter: src.sender.to_non_ad_string(),
            voter_alt: src.sender_alt.as_ref().map(|a| a.to_non_ad_string()),
            vote,
        }))),
        Received::Nothing => None,
    }
}

/// A vote on a poll, to be opened with the poll's secret (see `polls`).
#[derive(Debug, Clone, PartialEq)]
pub struct PendingVote {
    pub id: String,
    pub from: Jid,
    pub sender_lid: Option<Jid>,
    pub chat: Jid,
    pub from_me: bool,
    pub timestamp_secs: i64,
    /// The voter as the vote names them (phone number or LID, no device), and the other one.
    pub voter: String,
    pub voter_alt: Option<String>,
    pub vote: super::polls::EncryptedVote,
}

/// The LID of a sender WhatsApp named by LID alone (no phone number beside it), for which
/// the client's LID↔phone mapping may know the number.
pub fn lid_without_phone(ev: &ConnectorEvent) -> Option<&Jid> {
    let from = match ev {
        ConnectorEvent::Incoming(m) => &m.from,
        ConnectorEvent::Action(a) => &a.from,
        ConnectorEvent::Call(c) => &c.from,
        _ => return None,
    };
    (from.kind() == JidKind::Lid).then_some(from)
}

/// `ev` with its LID-only sender named by `phone`, the LID kept beside it (and a one-to-one
/// chat, which is the sender, renamed with it).
pub fn with_phone(ev: ConnectorEvent, phone: Jid) -> ConnectorEvent {
    fn relabel(from: &mut Jid, lid: &mut Option<Jid>, chat: Option<&mut Jid>, phone: Jid) {
        let old = std::mem::replace(from, phone.clone());
        if let Some(chat) = chat
            && *chat == old
        {
            *chat = phone;
        }
        *lid = Some(old);
    }
    match ev {
        ConnectorEvent::Incoming(mut m) => {
            let m2 = &mut *m;
            relabel(&mut m2.from, &mut m2.sender_lid, Some(&mut m2.chat), phone);
            ConnectorEvent::Incoming(m)
        }
        ConnectorEvent::Action(mut a) => {
            let a2 = &mut *a;
            relabel(&mut a2.from, &mut a2.sender_lid, Some(&mut a2.chat), phone);
            ConnectorEvent::Action(a)
        }
        ConnectorEvent::Call(mut c) => {
            let c2 = &mut *c;
            relabel(&mut c2.from, &mut c2.from_lid, None, phone);
            ConnectorEvent::Call(c)
        }
        other => other,
    }
}

/// A ringing call (an offer, or a group call's notice); `None` for the call's later signalling
/// (accept, terminate, …), which means nothing to wagate.
pub fn call(c: &whatsapp_rust::types::call::IncomingCall) -> Option<IncomingCall> {
    use whatsapp_rust::types::call::CallAction;
    let (is_video, is_group, caller_pn) = match &c.action {
        CallAction::Offer {
            is_video,
            group_jid,
            caller_pn,
            ..
        } => (*is_video, group_jid.is_some(), caller_pn.as_ref()),
        CallAction::OfferNotice {
            is_video, is_group, ..
        } => (*is_video, *is_group, None),
        _ => return None,
    };
    let creator = c.action.call_creator();
    let (from, from_lid) = normalize_sender(creator, caller_pn)?;
    Some(IncomingCall {
        call_id: c.action.call_id().to_owned(),
        from,
        from_lid,
        is_video,
        is_group,
        status: CallStatus::Offer,
        timestamp_secs: c.timestamp.timestamp(),
        peer: c.from.to_string(),
        creator: creator.to_string(),
    })
}

/// A call nobody answered.
pub fn missed_call(m: &whatsapp_rust::types::call::MissedCall) -> Option<IncomingCall> {
    let (from, from_lid) = normalize_sender(&m.from, None)?;
    Some(IncomingCall {
        call_id: m.call_id.clone(),
        from,
        from_lid,
        is_video: false,
        is_group: false,
        status: CallStatus::Missed,
        timestamp_secs: m.timestamp.timestamp(),
        peer: m.from.to_string(),
        creator: m.from.to_string(),
    })
}

/// A group's members or settings changed; `None` for what wagate does not report (join
/// requests, add modes, …).
pub fn group_change(g: &whatsapp_rust::types::events::GroupUpdate) -> Option<GroupChange> {
    use whatsapp_rust::wacore::stanza::groups::GroupNotificationAction as A;
    let members =
        |action: &'static str,
         ps: &[whatsapp_rust::wacore::stanza::groups::GroupParticipantInfo]| {
            GroupChangeKind::Participants {
                action,
                participants: ps
                    .iter()
                    .filter_map(|p| {
                        normalize_sender(&p.jid, p.phone_number.as_ref()).map(|(jid, _)| jid)
                    })
                    .collect(),
            }
        };
    let setting =
        |name: &'static str, value: serde_json::Value| GroupChangeKind::Setting { name, value };
    let change = match &g.action {
        A::Add { participants, .. } => members("add", participants),
        A::Remove { participants, .. } => members("remove", participants),
        A::Promote { participants } => members("promote", participants),
        A::Demote { participants } => members("demote", participants),
        A::Modify { participants } => members("modify", participants),
        A::Subject { subject, .. } => GroupChangeKind::Subject(subject.clone()),
        A::Description { description, .. } => GroupChangeKind::Description(description.clone()),
        A::Locked { .. } => setting("locked", serde_json::Value::Bool(true)),
        A::Unlocked => setting("locked", serde_json::Value::Bool(false)),
        A::Announce => setting("announcement", serde_json::Value::Bool(true)),
        A::NotAnnounce => setting("announcement", serde_json::Value::Bool(false)),
        A::Ephemeral { expiration, .. } => setting("ephemeral", serde_json::json!(expiration)),
        A::MembershipApprovalMode { enabled } => {
            setting("approval", serde_json::Value::Bool(*enabled))
        }
        _ => return None,
    };
    let by = g
        .participant
        .as_ref()
        .and_then(|p| normalize_sender(p, g.participant_pn.as_ref()));
    Some(GroupChange {
        group: wagate_jid(&g.group_jid)?,
        by: by.as_ref().map(|(j, _)| j.clone()),
        by_lid: by.and_then(|(_, l)| l),
        change,
        timestamp_secs: g.timestamp.timestamp(),
    })
}

/// A delivery or read receipt for messages this account sent; other receipts (retries, our
/// own devices reading, history sync) mean nothing to wagate.
pub fn receipt(
    src: &MessageSource,
    ids: &[String],
    kind: &ReceiptType,
    timestamp_secs: i64,
) -> Option<MessageReceipt> {
    let status = match kind {
        ReceiptType::Delivered => ReceiptStatus::Delivered,
        ReceiptType::Read => ReceiptStatus::Read,
        ReceiptType::Played => ReceiptStatus::Played,
        _ => return None,
    };
    if src.is_from_me || ids.is_empty() {
        return None;
    }
    let (from, _) = normalize_sender(&src.sender, src.sender_alt.as_ref())?;
    let chat = if src.chat.is_group() {
        wagate_jid(&src.chat)?
    } else {
        from.clone()
    };
    Some(MessageReceipt {
        message_ids: ids.to_vec(),
        chat,
        from,
        status,
        timestamp_secs,
    })
}

#[cfg(test)]
mod tests;

/// What one `is_on_whatsapp` answer says (whatsapp-rust's own type cannot be built outside
/// it, so the mapping below is tested on this).
#[derive(Debug, Clone, PartialEq)]
pub struct RegisteredAnswer {
    pub jid: whatsapp_rust::Jid,
    pub lid: Option<whatsapp_rust::Jid>,
    /// The phone JID when WhatsApp answered with the LID.
    pub pn_jid: Option<whatsapp_rust::Jid>,
    pub registered: bool,
    pub business: bool,
}

impl From<&whatsapp_rust::IsOnWhatsAppResult> for RegisteredAnswer {
    fn from(a: &whatsapp_rust::IsOnWhatsAppResult) -> Self {
        Self {
            jid: a.jid.clone(),
            lid: a.lid.clone(),
            pn_jid: a.pn_jid.clone(),
            registered: a.is_registered,
            business: a.is_business,
        }
    }
}

/// The answers to `is_on_whatsapp`, one per asked number in order. An answer is matched to its
/// number by the phone JID (`pn_jid` when WhatsApp answered with the LID); a number WhatsApp
/// said nothing about is not on WhatsApp.
pub fn number_checks(
    numbers: &[String],
    answers: &[RegisteredAnswer],
) -> Vec<wagate_core::NumberCheck> {
    numbers
        .iter()
        .map(|n| {
            let found = answers
                .iter()
                .find(|a| a.pn_jid.as_ref().is_some_and(|p| p.user == *n) || a.jid.user == *n);
            match found {
                Some(a) if a.registered => {
                    let (phone, lid) = if a.jid.is_lid() {
                        (a.pn_jid.as_ref(), Some(&a.jid))
                    } else {
                        (Some(&a.jid), a.lid.as_ref())
                    };
                    wagate_core::NumberCheck {
                        number: n.clone(),
                        on_whatsapp: true,
                        jid: Some(phone.map_or_else(
                            || format!("{n}@s.whatsapp.net"),
                            |p| p.to_non_ad_string(),
                        )),
                        lid: lid.map(|l| l.to_non_ad_string()),
                        business: a.business,
                    }
                }
                _ => wagate_core::NumberCheck {
                    number: n.clone(),
                    on_whatsapp: false,
                    jid: None,
                    lid: None,
                    business: false,
                },
            }
        })
        .collect()
}

/// What `get_user_info` says of one account (whatsapp-rust's type cannot be built outside it).
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileFacts {
    pub jid: whatsapp_rust::Jid,
    pub lid: Option<whatsapp_rust::Jid>,
    pub about: Option<String>,
    pub business: bool,
    pub business_name: Option<String>,
}

/// A contact's profile from its user info and picture URL; empty texts count as none.
pub fn profile(
    number: &str,
    facts: &ProfileFacts,
    picture_url: Option<String>,
) -> wagate_core::ContactProfile {
    let (jid, lid) = if facts.jid.is_lid() {
        (
            format!("{number}@s.whatsapp.net"),
            Some(facts.jid.to_non_ad_string()),
        )
    } else {
        (
            facts.jid.to_non_ad_string(),
            facts.lid.as_ref().map(|l| l.to_non_ad_string()),
        )
    };
    wagate_core::ContactProfile {
        number: number.to_owned(),
        jid,
        lid,
        about: facts.about.clone().filter(|a| !a.is_empty()),
        picture_url: picture_url.filter(|u| !u.is_empty()),
        business: facts.business,
        business_name: facts.business_name.clone().filter(|n| !n.is_empty()),
    }
}
