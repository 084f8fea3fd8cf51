//! Actions on the simulated network, with WhatsApp's refusals. Actions that are messages on
//! WhatsApp (reaction, edit, revoke, pin) go to the send log under their message id like a
//! send, so a retried one is not carried out twice and tests can see their order with sends.

use wagate_core::{Action, ActionResult, EDIT_WINDOW_MS, GroupInfo, GroupRole};

use super::world::SimActionRecord;
use super::*;

impl SimNetwork {
    /// The account of `session`'s live link `link_id`, or why there is none.
    fn account_of(&self, session: &SessionId, link_id: u64) -> Result<Jid, SendError> {
        self.state()
            .links
            .get(session)
            .filter(|l| l.id == link_id)
            .and_then(|l| l.account.as_ref().map(|a| a.jid.clone()))
            .ok_or_else(|| SendError::Transient("not connected".into()))
    }

    pub(super) async fn act(
        &self,
        session: &SessionId,
        link_id: u64,
        to: &Jid,
        action: &Action,
        wa_message_id: &str,
    ) -> Result<ActionResult, SendError> {
        let me = self.account_of(session, link_id)?;
        let now = now_ms();
        let mut st = self.state();
        let unregistered = st.unregistered.clone();
        let on_whatsapp =
            move |j: &Jid| j.kind() != JidKind::User || rule_for(j, &unregistered).is_ok();
        let result = match action {
            Action::React { message, emoji } => {
                let text = (!emoji.is_empty()).then(|| emoji.clone());
                self.as_message(
                    &mut st,
                    session,
                    to,
                    "react",
                    wa_message_id,
                    text,
                    &message.id,
                )?
            }
            Action::Edit { message, text } => {
                let sent = st
                    .delivered
                    .iter()
                    .find(|r| r.wa_message_id == message.id && r.session == session.as_str())
                    .map(|r| (r.ts, r.kind.clone(), r.to.clone()));
                match sent {
                    None => return Err(SendError::Permanent("message not found".into())),
                    Some((_, _, chat)) if chat != to.as_str() => {
                        return Err(SendError::Permanent(
                            "message not found in this chat".into(),
                        ));
                    }
                    Some((_, kind, _)) if kind != "text" => {
                        return Err(SendError::Permanent(
                            "only text messages can be edited".into(),
                        ));
                    }
                    Some((ts, _, _)) if now.saturating_sub(ts) > EDIT_WINDOW_MS => {
                        return Err(SendError::Permanent("the edit window has passed".into()));
                    }
                    Some(_) => {}
                }
                let text = Some(text.clone());
                self.as_message(
                    &mut st,
                    session,
                    to,
                    "edit",
                    wa_message_id,
                    text,
                    &message.id,
                )?
            }
            Action::Revoke { message } => {
                if !message.from_me {
                    let admin = to.kind() == JidKind::Group
                        && st.world.group_of(to, &me).is_ok_and(|g| {
                            g.members.get(&me).is_some_and(|r| *r != GroupRole::Member)
                        });
                    if !admin {
                        return Err(SendError::Permanent(
                            "only a group admin can delete others' messages".into(),
                        ));
                    }
                }
                self.as_message(
                    &mut st,
                    session,
                    to,
                    "revoke",
                    wa_message_id,
                    None,
                    &message.id,
                )?
            }
            Action::Pin { message, pin, .. } => {
                let key = (session.clone(), message.id.clone());
                if *pin {
                    st.world.pinned.insert(key);
                } else {
                    st.world.pinned.remove(&key);
                }
                self.as_message(
                    &mut st,
                    session,
                    to,
                    "pin",
                    wa_message_id,
                    None,
                    &message.id,
                )?
            }
            Action::Star { message, star } => {
                let key = (session.clone(), message.id.clone());
                if *star {
                    st.world.starred.insert(key);
                } else {
                    st.world.starred.remove(&key);
                }
                ActionResult::default()
            }
            Action::Read { .. } => ActionResult::default(),
            Action::Typing { state } => {
                drop(st);
                let state = match state {
                    wagate_core::Typing::Composing => ChatState::Composing,
                    wagate_core::Typing::Recording => ChatState::Recording,
                    wagate_core::Typing::Paused => ChatState::Paused,
                };
                self.record_chat_state(session, to, state);
                st = self.state();
                ActionResult::default()
            }
            Action::Presence { available } => {
                st.world.available.insert(session.clone(), *available);
                ActionResult::default()
            }
            Action::Chat { change } => {
                st.world.chat(session, to, *change);
                ActionResult::default()
            }
            Action::Block { block } => {
                let list = st.world.blocked.entry(session.clone()).or_default();
                if *block {
                    list.insert(to.clone());
                } else {
                    list.remove(to);
                }
                ActionResult::default()
            }
            Action::CreateGroup {
                subject,
                participants,
            } => st.world.create_group(
                wa_message_id,
                &me,
                subject,
                participants,
                on_whatsapp,
                now / 1000,
            ),
            Action::Members {
                change,
                participants,
            } => st
                .world
                .members(to, &me, *change, participants, on_whatsapp)?,
            Action::GroupSettings { settings } => {
                st.world.settings(to, &me, settings)?;
                ActionResult::default()
            }
            Action::ResetInvite => ActionResult {
                invite_link: Some(st.world.reset_invite(to, &me)?),
                ..Default::default()
            },
            Action::JoinGroup { code } => {
                let code = wagate_core::invite_code(code)
                    .map_err(|e| SendError::Permanent(e.to_string()))?;
                st.world.join(code, &me, now / 1000)?
            }
            Action::LeaveGroup => {
                st.world.leave(to, &me)?;
                ActionResult::default()
            }
            Action::RevokeStatus { message_id, .. } => {
                let posted = st
                    .delivered
                    .iter()
                    .any(|r| r.wa_message_id == *message_id && r.session == session.as_str());
                if !posted {
                    return Err(SendError::Permanent("status not found".into()));
                }
                self.as_message(
                    &mut st,
                    session,
                    to,
                    "revoke_status",
                    wa_message_id,
                    None,
                    message_id,
                )?
            }
        };
        let target = match action {
            Action::React { message, .. }
            | Action::Edit { message, .. }
            | Action::Revoke { message }
            | Action::Pin { message, .. }
            | Action::Star { message, .. } => Some(message.id.clone()),
            Action::RevokeStatus { message_id, .. } => Some(message_id.clone()),
            _ => None,
        };
        st.world.remember(SimActionRecord {
            session: session.clone(),
            to: to.clone(),
            kind: action.kind().to_owned(),
            target,
        });
        Ok(result)
    }

    /// Logs an action that WhatsApp carries as a message, deduplicated by its id like a send.
    #[allow(clippy::too_many_arguments)]
    fn as_message(
        &self,
        st: &mut SimState,
        session: &SessionId,
        to: &Jid,
        kind: &str,
        wa_message_id: &str,
        text: Option<String>,
        target: &str,
    ) -> Result<ActionResult, SendError> {
        let duplicate = st.delivered_ids.contains(wa_message_id);
        let rec = SimSendRecord {
            session: session.to_string(),
            to: to.to_string(),
            wa_message_id: wa_message_id.to_owned(),
            kind: kind.to_owned(),
            text: text.or_else(|| Some(target.to_owned())),
            ts: now_ms(),
            duplicate,
            delivered: true,
            error: None,
        };
        self.record(st, rec)?;
        Ok(ActionResult {
            message_id: Some(wa_message_id.to_owned()),
            ..Default::default()
        })
    }

    /// The groups `session`'s account is in.
    pub(super) fn groups_of(
        &self,
        session: &SessionId,
        link_id: u64,
    ) -> anyhow::Result<Vec<GroupInfo>> {
        let me = self.account_of(session, link_id)?;
        let st = self.state();
        let mut out: Vec<GroupInfo> = st
            .world
            .groups
            .values()
            .filter(|g| g.members.contains_key(&me))
            .map(|g| g.info())
            .collect();
        out.sort_by(|a, b| a.jid.as_str().cmp(b.jid.as_str()));
        Ok(out)
    }

    /// Runs `f` on the world with `session`'s account, for the group queries.
    pub(super) fn with_world<T>(
        &self,
        session: &SessionId,
        link_id: u64,
        f: impl FnOnce(&world::World, &Jid) -> Result<T, SendError>,
    ) -> anyhow::Result<T> {
        let me = self.account_of(session, link_id)?;
        let st = self.state();
        Ok(f(&st.world, &me)?)
    }

    /// What this network's actions were, oldest first (the most recent ones).
    pub fn actions(&self) -> Vec<SimActionRecord> {
        self.state().world.actions.iter().cloned().collect()
    }

    /// The group `jid` as the network knows it.
    pub fn group(&self, jid: &Jid) -> Option<GroupInfo> {
        self.state().world.groups.get(jid).map(|g| g.info())
    }

    /// Who `session` blocked.
    pub fn blocklist(&self, session: &SessionId) -> Vec<Jid> {
        self.state()
            .world
            .blocked
            .get(session)
            .map(|b| b.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// The chat-list flags `session` set on `chat`.
    pub fn chat_flags(&self, session: &SessionId, chat: &Jid) -> world::ChatFlags {
        self.state()
            .world
            .chats
            .get(&(session.clone(), chat.clone()))
            .cloned()
            .unwrap_or_default()
    }

    /// Whether `session` set itself online (`None`: never said).
    pub fn presence(&self, session: &SessionId) -> Option<bool> {
        self.state().world.available.get(session).copied()
    }

    /// Whether `session` starred message `id`.
    pub fn is_starred(&self, session: &SessionId, id: &str) -> bool {
        self.state()
            .world
            .starred
            .contains(&(session.clone(), id.to_owned()))
    }
}
