//! Actions through whatsapp-rust: each [`Action`] is one call on the client (react, edit,
//! revoke, pin, star, read, presence, chat and group changes, blocking). What the calls take
//! is built by the pure functions here (message keys, edit content, pin durations, revoke
//! kinds, participant outcomes), tested from values; the client's errors are sorted into
//! permanent and transient as for sends.

use wagate_core::{
    Action, ActionResult, ChatChange, Jid, MemberChange, MemberOutcome, MemberResult, MessageRef,
    StatusAudience, Typing, invite_link,
};
use waproto::buffa::MessageField;
use waproto::whatsapp as wa;
use waproto::whatsapp::message::extended_text_message::FontType;
use whatsapp_rust::features::{
    GroupDescription, GroupError, GroupParticipantOptions, GroupSubject, MembershipApprovalMode,
    PreviousDescription,
};
use whatsapp_rust::{GroupCreateOptions, PinDuration, RevokeType};

use super::Shared;
use super::errors::{classify_send, is_permanent_code};
use super::translate::wagate_jid;
use crate::connector::SendError;

/// The client's JID of `jid`.
pub fn wa_jid(jid: &Jid) -> Result<whatsapp_rust::Jid, SendError> {
    jid.as_str()
        .parse()
        .map_err(|e| SendError::Permanent(format!("JID {jid}: {e:?}")))
}

/// The key WhatsApp knows message `m` in chat `chat` by: ours carry no participant; in a
/// group, someone else's carries its sender.
pub fn message_key(chat: &Jid, m: &MessageRef) -> wa::MessageKey {
    let participant = if m.from_me || !chat.as_str().ends_with("@g.us") {
        None
    } else {
        m.participant.as_ref().map(|p| p.as_str().to_owned())
    };
    wa::MessageKey {
        remote_jid: Some(chat.as_str().to_owned()),
        from_me: Some(m.from_me),
        id: Some(m.id.clone()),
        participant,
    }
}

/// The new content of an edited text message.
pub fn edit_content(text: &str) -> wa::Message {
    wa::Message {
        conversation: Some(text.to_owned()),
        ..Default::default()
    }
}

/// A pin's duration, from the seconds the API takes (validated to WhatsApp's three).
pub fn pin_duration(secs: u32) -> PinDuration {
    match secs {
        0..=86_400 => PinDuration::Hours24,
        86_401..=604_800 => PinDuration::Days7,
        _ => PinDuration::Days30,
    }
}

/// Whose message a revoke deletes: ours, or as an admin a member's.
pub fn revoke_type(m: &MessageRef) -> Result<RevokeType, SendError> {
    if m.from_me {
        return Ok(RevokeType::Sender);
    }
    let sender = m.participant.as_ref().ok_or_else(|| {
        SendError::Permanent("participant: needed to delete someone else's message".into())
    })?;
    Ok(RevokeType::Admin {
        original_sender: wa_jid(sender)?,
    })
}

/// WhatsApp's eight status fonts, in the order the API numbers them (0–7).
const STATUS_FONTS: [FontType; 8] = [
    FontType::SYSTEM,
    FontType::SYSTEM_TEXT,
    FontType::FB_SCRIPT,
    FontType::SYSTEM_BOLD,
    FontType::MORNINGBREEZE_REGULAR,
    FontType::CALISTOGA_REGULAR,
    FontType::EXO2_EXTRABOLD,
    FontType::COURIERPRIME_BOLD,
];

/// The background of a text status that names none (WhatsApp's own dark green).
pub const DEFAULT_STATUS_BACKGROUND: u32 = 0xFF1E_6E4F;

/// A status post's message: a text status is an extended text with its background and font;
/// media go as they are.
pub fn status_message(mut m: wa::Message, audience: &StatusAudience) -> wa::Message {
    if let Some(text) = m.conversation.take() {
        let font = STATUS_FONTS
            .get(usize::from(audience.font.unwrap_or(0)))
            .copied()
            .unwrap_or(FontType::SYSTEM);
        m.extended_text_message = MessageField::some(wa::message::ExtendedTextMessage {
            text: Some(text),
            background_argb: Some(
                audience
                    .background_argb
                    .unwrap_or(DEFAULT_STATUS_BACKGROUND),
            ),
            font: Some(font),
            ..Default::default()
        });
    }
    m
}

/// A group change refused or failed.
pub fn classify_group(e: &GroupError) -> SendError {
    let text = e.to_string();
    match e {
        GroupError::InvalidRequest(_) | GroupError::DescriptionConflict => {
            SendError::Permanent(text)
        }
        GroupError::Iq(whatsapp_rust::IqError::ServerError { code, .. })
            if is_permanent_code(*code) =>
        {
            SendError::Permanent(text)
        }
        _ => SendError::Transient(text),
    }
}

/// One person's answer to a member change, as whatsapp-rust reports it (its own type cannot be
/// built outside the crate, so answers are read into this).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberAnswer {
    pub jid: Option<Jid>,
    pub phone: Option<Jid>,
    /// WhatsApp's error code, `None` when done.
    pub error: Option<String>,
    /// The invite code WhatsApp hands back when privacy refuses an add.
    pub add_request_code: Option<String>,
}

impl From<&whatsapp_rust::features::ParticipantChangeResponse> for MemberAnswer {
    fn from(r: &whatsapp_rust::features::ParticipantChangeResponse) -> Self {
        Self {
            jid: wagate_jid(&r.jid),
            phone: r.phone_number.as_ref().and_then(wagate_jid),
            error: r.error.clone(),
            add_request_code: r.add_request.as_ref().map(|a| a.code.clone()),
        }
    }
}

/// Each asked person's outcome, in the order asked, from WhatsApp's answers (matched by JID or
/// phone; a person WhatsApp did not answer for is `refused`). `group_invite` is the group's
/// link, offered to those whose privacy refused the add when WhatsApp gave no code of its own.
pub fn member_results(
    change: MemberChange,
    asked: &[Jid],
    answers: &[MemberAnswer],
    group_invite: Option<&str>,
) -> Vec<MemberResult> {
    asked
        .iter()
        .map(|p| {
            let answer = answers
                .iter()
                .find(|a| a.jid.as_ref() == Some(p) || a.phone.as_ref() == Some(p));
            let Some(a) = answer else {
                return MemberResult {
                    jid: p.clone(),
                    status: MemberOutcome::Refused,
                    code: None,
                    invite_link: None,
                };
            };
            let code: Option<u16> = a.error.as_deref().and_then(|c| c.parse().ok());
            let status = match (code, change) {
                (None, _) if a.error.is_none() => MemberOutcome::Ok,
                (Some(403), MemberChange::Add) => MemberOutcome::PrivacyRefused,
                (Some(409), MemberChange::Add) => MemberOutcome::AlreadyMember,
                (Some(408) | Some(404), MemberChange::Add) => MemberOutcome::NotOnWhatsapp,
                (Some(404), _) => MemberOutcome::NotFound,
                (Some(500), MemberChange::Add) => MemberOutcome::GroupFull,
                _ => MemberOutcome::Refused,
            };
            let invite = (status == MemberOutcome::PrivacyRefused)
                .then(|| {
                    a.add_request_code
                        .as_deref()
                        .map(invite_link)
                        .or_else(|| group_invite.map(str::to_owned))
                })
                .flatten();
            MemberResult {
                jid: p.clone(),
                status,
                code,
                invite_link: invite,
            }
        })
        .collect()
}

/// App-state syncs (star, archive, mute, …), chat states, presence and blocking fail for
/// reasons of the moment (the connection, a sync in progress): worth a retry.
fn transient(e: impl std::fmt::Display) -> SendError {
    SendError::Transient(e.to_string())
}

/// Carries `action` out on `to` with the session's client.
pub(super) async fn act(s: &Shared, to: &Jid, action: &Action) -> Result<ActionResult, SendError> {
    let c = &s.client;
    let chat = wa_jid(to)?;
    let logged_out = s.logged_out.load(std::sync::atomic::Ordering::SeqCst);
    let send_err = |e: whatsapp_rust::SendError| classify_send(&e, logged_out);
    let mut out = ActionResult::default();
    match action {
        Action::React { message, emoji } => {
            let sent = c
                .send_reaction(chat, message_key(to, message), emoji)
                .await
                .map_err(send_err)?;
            out.message_id = Some(sent.message_id);
        }
        Action::Edit { message, text } => {
            let id = c
                .edit_message(chat, message.id.clone(), edit_content(text))
                .await
                .map_err(send_err)?;
            out.message_id = Some(id);
        }
        Action::Revoke { message } => {
            c.revoke_message(chat, message.id.clone(), revoke_type(message)?)
                .await
                .map_err(send_err)?;
        }
        Action::Pin {
            message,
            pin,
            duration_secs,
        } => {
            let key = message_key(to, message);
            if *pin {
                c.pin_message(chat, key, pin_duration(*duration_secs)).await
            } else {
                c.unpin_message(chat, key).await
            }
            .map_err(send_err)?;
        }
        Action::Star { message, star } => {
            let participant = match &message.participant {
                Some(p) if !message.from_me => Some(wa_jid(p)?),
                _ => None,
            };
            let actions = c.chat_actions();
            if *star {
                actions
                    .star_message(&chat, participant.as_ref(), &message.id, message.from_me)
                    .await
            } else {
                actions
                    .unstar_message(&chat, participant.as_ref(), &message.id, message.from_me)
                    .await
            }
            .map_err(transient)?;
        }
        Action::Read {
            message_ids,
            participant,
            played,
        } => {
            let sender = participant.as_ref().map(wa_jid).transpose()?;
            let ids: Vec<&str> = message_ids.iter().map(String::as_str).collect();
            if *played {
                c.mark_as_played(&chat, sender.as_ref(), &ids).await
            } else {
                c.mark_as_read(&chat, sender.as_ref(), &ids).await
            }
            .map_err(|e| SendError::Transient(format!("{e:#}")))?;
        }
        Action::Typing { state } => {
            let cs = c.chatstate();
            match state {
                Typing::Composing => cs.send_composing(&chat).await,
                Typing::Recording => cs.send_recording(&chat).await,
                Typing::Paused => cs.send_paused(&chat).await,
            }
            .map_err(transient)?;
        }
        Action::Presence { available } => {
            let p = c.presence();
            if *available {
                p.set_available().await
            } else {
                p.set_unavailable().await
            }
            .map_err(transient)?;
        }
        Action::Chat { change } => chat_change(s, &chat, *change).await?,
        Action::Block { block } => {
            let b = c.blocking();
            if *block {
                b.block(&chat).await
            } else {
                b.unblock(&chat).await
            }
            .map_err(transient)?;
        }
        Action::CreateGroup {
            subject,
            participants,
        } => {
            let members: Vec<GroupParticipantOptions> = participants
                .iter()
                .map(|p| {
                    wa_jid(p).map(|jid| {
                        GroupParticipantOptions::builder()
                            .jid(jid)
                            .build::<GroupParticipantOptions>()
                    })
                })
                .collect::<Result<_, _>>()?;
            let options = GroupCreateOptions::builder()
                .subject(subject.clone())
                .participants(members)
                .build::<GroupCreateOptions>();
            let created = c
                .groups()
                .create_group(options)
                .await
                .map_err(|e| classify_group(&e))?;
            let group = created.metadata.id.clone();
            out.group_id = wagate_jid(&group);
            // The link is a courtesy: the group exists whether or not it can be read.
            out.invite_link = c.groups().get_invite_link(group, false).await.ok();
        }
        Action::Members {
            change,
            participants,
        } => out.participants = members(s, to, &chat, *change, participants).await?,
        Action::GroupSettings { settings } => {
            let g = c.groups();
            let map = |e: GroupError| classify_group(&e);
            if let Some(subject) = &settings.subject {
                let subject = GroupSubject::new(subject.clone())
                    .map_err(|e| SendError::Permanent(e.to_string()))?;
                g.set_subject(chat.clone(), subject).await.map_err(map)?;
            }
            if let Some(d) = &settings.description {
                let d = (!d.is_empty())
                    .then(|| GroupDescription::new(d.clone()))
                    .transpose()
                    .map_err(|e| SendError::Permanent(e.to_string()))?;
                g.set_description(chat.clone(), d, PreviousDescription::Resolve)
                    .await
                    .map_err(map)?;
            }
            if let Some(v) = settings.announce {
                g.set_announce(chat.clone(), v).await.map_err(map)?;
            }
            if let Some(v) = settings.locked {
                g.set_locked(chat.clone(), v).await.map_err(map)?;
            }
            if let Some(v) = settings.ephemeral_secs {
                g.set_ephemeral(chat.clone(), v).await.map_err(map)?;
            }
            if let Some(v) = settings.approval {
                let mode = if v {
                    MembershipApprovalMode::On
                } else {
                    MembershipApprovalMode::Off
                };
                g.set_membership_approval(chat.clone(), mode)
                    .await
                    .map_err(map)?;
            }
        }
        Action::ResetInvite => {
            let link = c
                .groups()
                .get_invite_link(chat, true)
                .await
                .map_err(|e| classify_group(&e))?;
            out.invite_link = Some(link);
        }
        Action::JoinGroup { code } => {
            let code =
                wagate_core::invite_code(code).map_err(|e| SendError::Permanent(e.to_string()))?;
            let joined = c
                .groups()
                .join_with_invite_code(code)
                .await
                .map_err(|e| classify_group(&e))?;
            // A group that wants approval has a request now, not a member.
            if let whatsapp_rust::features::JoinGroupResult::Joined(g) = joined {
                out.group_id = wagate_jid(&g);
            }
        }
        Action::LeaveGroup => c
            .groups()
            .leave(chat)
            .await
            .map_err(|e| classify_group(&e))?,
        Action::RevokeStatus {
            message_id,
            recipients,
        } => {
            let recipients: Vec<whatsapp_rust::Jid> =
                recipients.iter().map(wa_jid).collect::<Result<_, _>>()?;
            let sent = c
                .status()
                .revoke(message_id.clone(), &recipients, Default::default())
                .await
                .map_err(send_err)?;
            out.message_id = Some(sent.message_id);
        }
    }
    Ok(out)
}

async fn chat_change(
    s: &Shared,
    chat: &whatsapp_rust::Jid,
    change: ChatChange,
) -> Result<(), SendError> {
    let a = s.client.chat_actions();
    match change {
        ChatChange::Archive => a.archive_chat(chat, None).await,
        ChatChange::Unarchive => a.unarchive_chat(chat, None).await,
        ChatChange::Pin => a.pin_chat(chat).await,
        ChatChange::Unpin => a.unpin_chat(chat).await,
        ChatChange::Mute { until_ms: None } => a.mute_chat(chat).await,
        ChatChange::Mute { until_ms: Some(t) } => a.mute_chat_until(chat, t).await,
        ChatChange::Unmute => a.unmute_chat(chat).await,
        ChatChange::MarkRead => a.mark_chat_as_read(chat, true, None).await,
        ChatChange::MarkUnread => a.mark_chat_as_read(chat, false, None).await,
        ChatChange::Delete => a.delete_chat(chat, true, None).await,
    }
    .map_err(transient)
}

async fn members(
    s: &Shared,
    to: &Jid,
    chat: &whatsapp_rust::Jid,
    change: MemberChange,
    participants: &[Jid],
) -> Result<Vec<MemberResult>, SendError> {
    let jids: Vec<whatsapp_rust::Jid> =
        participants.iter().map(wa_jid).collect::<Result<_, _>>()?;
    let g = s.client.groups();
    let chat = chat.clone();
    let answers = match change {
        MemberChange::Add => g.add_participants(chat, &jids).await,
        MemberChange::Remove => g.remove_participants(chat, &jids).await,
        MemberChange::Promote => g.promote_participants(chat, &jids).await,
        MemberChange::Demote => g.demote_participants(chat, &jids).await,
        MemberChange::Approve => g.approve_membership_requests(chat, &jids).await,
        MemberChange::Reject => g.reject_membership_requests(chat, &jids).await,
    }
    .map_err(|e| classify_group(&e))?;
    let answers: Vec<MemberAnswer> = answers.iter().map(Into::into).collect();
    let privacy = answers
        .iter()
        .any(|a| a.error.as_deref() == Some("403") && a.add_request_code.is_none());
    // Only asked for when someone needs it: reading the link takes admin rights.
    let link = if privacy {
        g.get_invite_link(wa_jid(to)?, false).await.ok()
    } else {
        None
    };
    Ok(member_results(
        change,
        participants,
        &answers,
        link.as_deref(),
    ))
}

#[cfg(test)]
mod tests;
