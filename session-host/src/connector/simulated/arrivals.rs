//! What arrives at a linked session from the simulated network's other users: messages and
//! actions on earlier ones, calls, group changes.

use anyhow::bail;
use wagate_core::clock::now_ms;
use wagate_core::simulator::SimIncoming;
use wagate_core::{Jid, SessionId, wa_message_id};

use super::SimNetwork;
use crate::connector::{
    CallStatus, ConnectorEvent, GroupChange, IncomingAction, IncomingCall, IncomingMessage,
};

impl SimNetwork {
    /// A message arrives for a linked session.
    pub fn inject(
        &self,
        session: &SessionId,
        incoming: &SimIncoming,
    ) -> anyhow::Result<IncomingMessage> {
        let from = Jid::parse_field(&incoming.from, "from")?;
        let chat = match &incoming.chat {
            Some(c) => Jid::parse_field(c, "chat")?,
            None => from.clone(),
        };
        let msg = IncomingMessage {
            id: wa_message_id(),
            from,
            sender_lid: None,
            chat,
            from_me: incoming.from_me,
            push_name: incoming.push_name.clone(),
            content: incoming.content(),
            quoted_id: incoming.quoted_id.clone(),
            raw: None,
            media_handle: match (&incoming.media, incoming.content()) {
                (Some(m), wagate_core::InboundContent::Media(_)) => Some(super::media::handle(m)),
                _ => None,
            },
            timestamp_secs: now_ms() / 1000,
        };
        let event = match &incoming.action {
            None => ConnectorEvent::Incoming(Box::new(msg.clone())),
            Some(action) => ConnectorEvent::Action(Box::new(IncomingAction {
                id: msg.id.clone(),
                from: msg.from.clone(),
                sender_lid: None,
                chat: msg.chat.clone(),
                from_me: msg.from_me,
                action: action.clone(),
                timestamp_secs: msg.timestamp_secs,
            })),
        };
        self.deliver(session, event)?;
        Ok(msg)
    }

    /// Someone calls `session` (`video` or voice); returns the call id. The call then rings
    /// until the session rejects it or `missed` is injected.
    pub fn ring(
        &self,
        session: &SessionId,
        from: &Jid,
        video: bool,
        missed: bool,
    ) -> anyhow::Result<String> {
        let call_id = wa_message_id();
        let call = IncomingCall {
            call_id: call_id.clone(),
            from: from.clone(),
            from_lid: None,
            is_video: video,
            is_group: false,
            status: if missed {
                CallStatus::Missed
            } else {
                CallStatus::Offer
            },
            timestamp_secs: now_ms() / 1000,
            peer: from.to_string(),
            creator: from.to_string(),
        };
        self.deliver(session, ConnectorEvent::Call(Box::new(call)))?;
        Ok(call_id)
    }

    /// A group `session`'s account is in changes (see `SimCommand::SimGroup`).
    pub fn group_change(&self, session: &SessionId, change: GroupChange) -> anyhow::Result<()> {
        self.deliver(session, ConnectorEvent::Group(Box::new(change)))
    }

    /// The connection of `session` stops hearing from WhatsApp until it reconnects (see
    /// `SimCommand::SimSilence`); what arrives for it meanwhile is lost, as on a dead socket.
    pub fn silence(&self, session: &SessionId) -> anyhow::Result<()> {
        let mut st = self.state();
        let Some(link) = st.links.get_mut(session) else {
            bail!("session {session} has no connection on the simulated network");
        };
        link.silent_since.get_or_insert_with(now_ms);
        Ok(())
    }

    /// When the connection `link_id` of `session` last heard from WhatsApp: now, unless it
    /// was silenced.
    pub(super) fn last_traffic(&self, session: &SessionId, link_id: u64) -> Option<i64> {
        let st = self.state();
        let link = st.links.get(session).filter(|l| l.id == link_id)?;
        Some(link.silent_since.unwrap_or_else(now_ms))
    }

    /// Hands `ev` to the connection of `session`, which must be linked (and hearing).
    fn deliver(&self, session: &SessionId, ev: ConnectorEvent) -> anyhow::Result<()> {
        let st = self.state();
        let Some(link) = st.links.get(session).filter(|l| l.account.is_some()) else {
            bail!("session {session} is not linked on the simulated network");
        };
        if link.silent_since.is_some() {
            bail!("session {session}'s connection is silent: the event is lost");
        }
        link.tx
            .try_send(ev)
            .map_err(|e| anyhow::anyhow!("session {session} cannot take it now: {e}"))
    }
}
