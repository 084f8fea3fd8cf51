//! What the simulated network knows besides messages: groups (members, roles, settings,
//! invite codes, join requests), blocklists, presence and the chat list's flags, with the
//! refusals WhatsApp makes (not an admin, not in the group, an unknown invite code). Shared by
//! every session on the network, so a group one session creates is the group another joins.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use wagate_core::{
    ActionResult, ChatChange, GroupInfo, GroupMember, GroupRole, GroupSettings, Jid, JoinRequest,
    MemberChange, MemberOutcome, MemberResult, SessionId, invite_link,
};

use super::SendError;

/// Numbers starting with this refuse being added to groups (their privacy settings).
pub const PRIVACY_PREFIX: &str = "997";
/// Members a simulated group holds at most, as WhatsApp's groups do.
pub const GROUP_LIMIT: usize = 1024;
/// Actions the network remembers for tests (the most recent).
const REMEMBER_ACTIONS: usize = 1_000;

/// One simulated group.
#[derive(Debug, Clone)]
pub struct SimGroup {
    pub jid: Jid,
    pub subject: String,
    pub description: Option<String>,
    pub owner: Jid,
    pub created_secs: i64,
    pub members: BTreeMap<Jid, GroupRole>,
    pub announce: bool,
    pub locked: bool,
    pub ephemeral_secs: u32,
    pub approval: bool,
    pub invite_code: String,
    /// People who asked to join, and when (seconds).
    pub requests: BTreeMap<Jid, i64>,
}

impl SimGroup {
    pub fn info(&self) -> GroupInfo {
        GroupInfo {
            jid: self.jid.clone(),
            subject: self.subject.clone(),
            description: self.description.clone(),
            owner: Some(self.owner.clone()),
            created_secs: Some(self.created_secs),
            participants: self
                .members
                .iter()
                .map(|(jid, role)| GroupMember {
                    jid: jid.clone(),
                    lid: None,
                    role: *role,
                })
                .collect(),
            announce: self.announce,
            locked: self.locked,
            ephemeral_secs: self.ephemeral_secs,
            approval: self.approval,
        }
    }

    fn is_admin(&self, who: &Jid) -> bool {
        self.members
            .get(who)
            .is_some_and(|r| *r != GroupRole::Member)
    }
}

/// The chat-list flags of one chat of one session.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChatFlags {
    pub archived: bool,
    pub pinned: bool,
    /// Muted until (ms), `Some(i64::MAX)` for ever.
    pub muted_until: Option<i64>,
    pub unread: bool,
    pub deleted: bool,
}

/// An action the network carried out, for tests to look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimActionRecord {
    pub session: SessionId,
    pub to: Jid,
    /// `Action::kind()`.
    pub kind: String,
    /// The message it was about, where it was about one.
    pub target: Option<String>,
}

/// The simulated network's knowledge of groups, blocks, presence and chats.
#[derive(Debug, Default)]
pub struct World {
    pub groups: HashMap<Jid, SimGroup>,
    next_group: u64,
    /// Groups made by a create action, by the action's message id: a retried create is the
    /// same group.
    created: HashMap<String, Jid>,
    pub blocked: HashMap<SessionId, BTreeSet<Jid>>,
    pub available: HashMap<SessionId, bool>,
    pub chats: HashMap<(SessionId, Jid), ChatFlags>,
    pub starred: BTreeSet<(SessionId, String)>,
    pub pinned: BTreeSet<(SessionId, String)>,
    pub actions: VecDeque<SimActionRecord>,
}

fn refused(why: impl Into<String>) -> SendError {
    SendError::Permanent(why.into())
}

fn invite_code_for(n: u64) -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    let tail: String = (0..16)
        .map(|_| {
            let i = rng.random_range(0..36u8);
            char::from(if i < 10 { b'0' + i } else { b'A' + i - 10 })
        })
        .collect();
    format!("SIM{n}{tail}")
}

impl World {
    pub fn remember(&mut self, rec: SimActionRecord) {
        self.actions.push_back(rec);
        while self.actions.len() > REMEMBER_ACTIONS {
            self.actions.pop_front();
        }
    }

    /// The group `jid`, if `me` is in it.
    pub fn group_of(&self, jid: &Jid, me: &Jid) -> Result<&SimGroup, SendError> {
        match self.groups.get(jid) {
            Some(g) if g.members.contains_key(me) => Ok(g),
            Some(_) => Err(refused("not a member of this group (403)")),
            None => Err(refused("group not found (404)")),
        }
    }

    fn admin_group(&mut self, jid: &Jid, me: &Jid) -> Result<&mut SimGroup, SendError> {
        let g = self.group_of(jid, me)?;
        if !g.is_admin(me) {
            return Err(refused("not an admin of this group (403)"));
        }
        Ok(self.groups.get_mut(jid).expect("checked above"))
    }

    /// Creates a group (or returns the one this action already created).
    pub fn create_group(
        &mut self,
        action_id: &str,
        me: &Jid,
        subject: &str,
        participants: &[Jid],
        on_whatsapp: impl Fn(&Jid) -> bool,
        now_secs: i64,
    ) -> ActionResult {
        if let Some(jid) = self.created.get(action_id)
            && let Some(g) = self.groups.get(jid)
        {
            return ActionResult {
                group_id: Some(jid.clone()),
                invite_link: Some(invite_link(&g.invite_code)),
                ..Default::default()
            };
        }
        self.next_group += 1;
        let n = self.next_group;
        let jid =
            Jid::parse(&format!("120363{:012}{n}@g.us", now_secs.max(0))).expect("a group JID");
        let mut group = SimGroup {
            jid: jid.clone(),
            subject: subject.to_owned(),
            description: None,
            owner: me.clone(),
            created_secs: now_secs,
            members: BTreeMap::from([(me.clone(), GroupRole::SuperAdmin)]),
            announce: false,
            locked: false,
            ephemeral_secs: 0,
            approval: false,
            invite_code: invite_code_for(n),
            requests: BTreeMap::new(),
        };
        let participants = participants
            .iter()
            .map(|p| add_one(&mut group, p, &on_whatsapp))
            .collect();
        let link = invite_link(&group.invite_code);
        self.groups.insert(jid.clone(), group);
        self.created.insert(action_id.to_owned(), jid.clone());
        ActionResult {
            group_id: Some(jid),
            invite_link: Some(link),
            participants,
            ..Default::default()
        }
    }

    pub fn members(
        &mut self,
        group: &Jid,
        me: &Jid,
        change: MemberChange,
        participants: &[Jid],
        on_whatsapp: impl Fn(&Jid) -> bool,
    ) -> Result<ActionResult, SendError> {
        let g = self.admin_group(group, me)?;
        let results = participants
            .iter()
            .map(|p| match change {
                MemberChange::Add => add_one(g, p, &on_whatsapp),
                MemberChange::Remove => outcome(p, g.members.remove(p).is_some(), None),
                MemberChange::Promote | MemberChange::Demote => {
                    let role = if change == MemberChange::Promote {
                        GroupRole::Admin
                    } else {
                        GroupRole::Member
                    };
                    match g.members.get_mut(p) {
                        Some(GroupRole::SuperAdmin) => outcome(p, false, Some(406)),
                        Some(r) if *r == role => member(p, MemberOutcome::AlreadyMember, None),
                        Some(r) => {
                            *r = role;
                            member(p, MemberOutcome::Ok, None)
                        }
                        None => outcome(p, false, None),
                    }
                }
                MemberChange::Approve => {
                    let asked = g.requests.remove(p).is_some();
                    if asked {
                        g.members.insert(p.clone(), GroupRole::Member);
                    }
                    outcome(p, asked, None)
                }
                MemberChange::Reject => outcome(p, g.requests.remove(p).is_some(), None),
            })
            .collect();
        Ok(ActionResult {
            participants: results,
            ..Default::default()
        })
    }

    pub fn settings(&mut self, group: &Jid, me: &Jid, s: &GroupSettings) -> Result<(), SendError> {
        let g = self.group_of(group, me)?;
        let info_change = s.subject.is_some() || s.description.is_some();
        let admin_only = s.announce.is_some() || s.locked.is_some() || s.approval.is_some();
        if (admin_only || (info_change && g.locked)) && !g.is_admin(me) {
            return Err(refused("not an admin of this group (403)"));
        }
        let g = self.groups.get_mut(group).expect("checked above");
        if let Some(v) = &s.subject {
            g.subject = v.clone();
        }
        if let Some(v) = &s.description {
            g.description = (!v.is_empty()).then(|| v.clone());
        }
        if let Some(v) = s.announce {
            g.announce = v;
        }
        if let Some(v) = s.locked {
            g.locked = v;
        }
        if let Some(v) = s.ephemeral_secs {
            g.ephemeral_secs = v;
        }
        if let Some(v) = s.approval {
            g.approval = v;
        }
        Ok(())
    }

    pub fn reset_invite(&mut self, group: &Jid, me: &Jid) -> Result<String, SendError> {
        self.next_group += 1;
        let code = invite_code_for(self.next_group);
        let g = self.admin_group(group, me)?;
        g.invite_code = code;
        Ok(invite_link(&g.invite_code))
    }

    pub fn invite_link(&self, group: &Jid, me: &Jid) -> Result<String, SendError> {
        let g = self.group_of(group, me)?;
        if !g.is_admin(me) {
            return Err(refused("not an admin of this group (403)"));
        }
        Ok(invite_link(&g.invite_code))
    }

    pub fn by_code(&self, code: &str) -> Result<&SimGroup, SendError> {
        self.groups
            .values()
            .find(|g| g.invite_code == code)
            .ok_or_else(|| refused("invite link invalid or revoked (406)"))
    }

    /// Joins by invite code: a member at once, or a join request when the group wants
    /// approval (then no group id in the result).
    pub fn join(&mut self, code: &str, me: &Jid, now_secs: i64) -> Result<ActionResult, SendError> {
        let jid = self.by_code(code)?.jid.clone();
        let g = self.groups.get_mut(&jid).expect("found above");
        if g.approval && !g.members.contains_key(me) {
            g.requests.insert(me.clone(), now_secs);
            return Ok(ActionResult::default());
        }
        if g.members.len() >= GROUP_LIMIT {
            return Err(refused("the group is full (409)"));
        }
        g.members.entry(me.clone()).or_insert(GroupRole::Member);
        Ok(ActionResult {
            group_id: Some(jid),
            ..Default::default()
        })
    }

    pub fn leave(&mut self, group: &Jid, me: &Jid) -> Result<(), SendError> {
        self.group_of(group, me)?;
        let g = self.groups.get_mut(group).expect("checked above");
        g.members.remove(me);
        if g.members.is_empty() {
            self.groups.remove(group);
        }
        Ok(())
    }

    pub fn join_requests(&self, group: &Jid, me: &Jid) -> Result<Vec<JoinRequest>, SendError> {
        let g = self.group_of(group, me)?;
        if !g.is_admin(me) {
            return Err(refused("not an admin of this group (403)"));
        }
        Ok(g.requests
            .iter()
            .map(|(jid, at)| JoinRequest {
                jid: jid.clone(),
                requested_secs: *at,
            })
            .collect())
    }

    pub fn chat(&mut self, session: &SessionId, chat: &Jid, change: ChatChange) {
        let f = self
            .chats
            .entry((session.clone(), chat.clone()))
            .or_default();
        match change {
            ChatChange::Archive => f.archived = true,
            ChatChange::Unarchive => f.archived = false,
            ChatChange::Pin => f.pinned = true,
            ChatChange::Unpin => f.pinned = false,
            ChatChange::Mute { until_ms } => f.muted_until = Some(until_ms.unwrap_or(i64::MAX)),
            ChatChange::Unmute => f.muted_until = None,
            ChatChange::MarkRead => f.unread = false,
            ChatChange::MarkUnread => f.unread = true,
            ChatChange::Delete => {
                *f = ChatFlags {
                    deleted: true,
                    ..ChatFlags::default()
                }
            }
        }
    }
}

fn member(p: &Jid, status: MemberOutcome, code: Option<u16>) -> MemberResult {
    MemberResult {
        jid: p.clone(),
        status,
        code,
        invite_link: None,
    }
}

fn outcome(p: &Jid, done: bool, code: Option<u16>) -> MemberResult {
    match (done, code) {
        (true, _) => member(p, MemberOutcome::Ok, None),
        (false, Some(c)) => member(p, MemberOutcome::Refused, Some(c)),
        (false, None) => member(p, MemberOutcome::NotFound, Some(404)),
    }
}

fn add_one(g: &mut SimGroup, p: &Jid, on_whatsapp: impl Fn(&Jid) -> bool) -> MemberResult {
    if g.members.contains_key(p) {
        return member(p, MemberOutcome::AlreadyMember, Some(409));
    }
    if !on_whatsapp(p) {
        return member(p, MemberOutcome::NotOnWhatsapp, Some(404));
    }
    if p.user().starts_with(PRIVACY_PREFIX) {
        return MemberResult {
            invite_link: Some(invite_link(&g.invite_code)),
            ..member(p, MemberOutcome::PrivacyRefused, Some(403))
        };
    }
    if g.members.len() >= GROUP_LIMIT {
        return member(p, MemberOutcome::GroupFull, Some(500));
    }
    g.members.insert(p.clone(), GroupRole::Member);
    member(p, MemberOutcome::Ok, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jid(s: &str) -> Jid {
        Jid::parse(s).unwrap()
    }

    #[test]
    fn a_retried_create_is_the_same_group_and_members_need_an_admin() {
        let mut w = World::default();
        let (me, other) = (jid("6281000000001"), jid("6281000000002"));
        let yes = |_: &Jid| true;
        let first = w.create_group("3EB0X", &me, "Class", std::slice::from_ref(&other), yes, 1);
        let again = w.create_group("3EB0X", &me, "Class", std::slice::from_ref(&other), yes, 2);
        assert_eq!(first.group_id, again.group_id);
        assert_eq!(w.groups.len(), 1);
        let group = first.group_id.unwrap();

        let refused = w.members(
            &group,
            &other,
            MemberChange::Remove,
            std::slice::from_ref(&me),
            yes,
        );
        assert!(
            matches!(refused, Err(SendError::Permanent(_))),
            "{refused:?}"
        );
        let r = w
            .members(
                &group,
                &me,
                MemberChange::Promote,
                &[me.clone(), other.clone()],
                yes,
            )
            .unwrap();
        let statuses: Vec<MemberOutcome> = r.participants.iter().map(|p| p.status).collect();
        assert_eq!(
            statuses,
            [MemberOutcome::Refused, MemberOutcome::Ok],
            "the owner stays superadmin"
        );
        assert!(w.leave(&group, &jid("6281000000003")).is_err());
    }
}
