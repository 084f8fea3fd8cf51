//! Group and business queries through whatsapp-rust, and their mapping to the API's shapes.
//! whatsapp-rust's group metadata cannot be built outside the crate, so it is read into
//! [`GroupFacts`] first and mapped from there ([`group_info`], tested from values).

use wagate_core::{BusinessProfile, GroupInfo, GroupMember, GroupRole, Jid, JoinRequest};
use whatsapp_rust::Client;
use whatsapp_rust::features::{GroupMetadata, ParticipantType};

use super::actions::wa_jid;
use super::translate::wagate_jid;

/// One member as WhatsApp lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberFacts {
    pub jid: whatsapp_rust::Jid,
    pub phone: Option<whatsapp_rust::Jid>,
    pub lid: Option<whatsapp_rust::Jid>,
    pub role: GroupRole,
}

/// What WhatsApp says of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupFacts {
    pub id: whatsapp_rust::Jid,
    pub subject: String,
    pub description: Option<String>,
    pub creator: Option<whatsapp_rust::Jid>,
    pub creator_pn: Option<whatsapp_rust::Jid>,
    pub creation_time: Option<u64>,
    pub members: Vec<MemberFacts>,
    pub announce: bool,
    pub locked: bool,
    pub ephemeral: Option<u32>,
    pub approval: bool,
}

impl From<&GroupMetadata> for GroupFacts {
    fn from(m: &GroupMetadata) -> Self {
        Self {
            id: m.id.clone(),
            subject: m.subject.clone(),
            description: m.description.clone(),
            creator: m.creator.clone(),
            creator_pn: m.creator_pn.clone(),
            creation_time: m.creation_time,
            members: m
                .participants
                .iter()
                .map(|p| MemberFacts {
                    jid: p.jid.clone(),
                    phone: p.phone_number.clone(),
                    lid: p.lid.clone(),
                    role: match p.participant_type {
                        ParticipantType::SuperAdmin => GroupRole::SuperAdmin,
                        ParticipantType::Admin => GroupRole::Admin,
                        _ => GroupRole::Member,
                    },
                })
                .collect(),
            announce: m.is_announcement,
            locked: m.is_locked,
            ephemeral: m.ephemeral.as_ref().and_then(|e| e.expiration),
            approval: m.membership_approval,
        }
    }
}

/// The API's view of a group: members by phone where WhatsApp tells it (with the LID beside),
/// the owner by phone when known. `None` for a JID that is not a group's.
pub fn group_info(f: &GroupFacts) -> Option<GroupInfo> {
    let jid = wagate_jid(&f.id)?;
    let participants = f
        .members
        .iter()
        .filter_map(|m| {
            let lid_jid = m.lid.as_ref().or(Some(&m.jid).filter(|j| j.is_lid()));
            let phone = m
                .phone
                .as_ref()
                .or(Some(&m.jid).filter(|j| !j.is_lid()))
                .and_then(wagate_jid);
            let lid = lid_jid.and_then(wagate_jid);
            Some(GroupMember {
                jid: phone.clone().or_else(|| lid.clone())?,
                lid: lid.filter(|_| phone.is_some()),
                role: m.role,
            })
        })
        .collect();
    Some(GroupInfo {
        jid,
        subject: f.subject.clone(),
        description: f.description.clone().filter(|d| !d.is_empty()),
        owner: f
            .creator_pn
            .as_ref()
            .or(f.creator.as_ref())
            .and_then(wagate_jid),
        created_secs: f.creation_time.and_then(|t| i64::try_from(t).ok()),
        participants,
        announce: f.announce,
        locked: f.locked,
        ephemeral_secs: f.ephemeral.unwrap_or(0),
        approval: f.approval,
    })
}

fn from_metadata(m: &GroupMetadata) -> anyhow::Result<GroupInfo> {
    group_info(&GroupFacts::from(m)).ok_or_else(|| anyhow::anyhow!("{} is not a group", m.id))
}

pub(super) async fn participating(client: &Client) -> anyhow::Result<Vec<GroupInfo>> {
    let groups = client
        .groups()
        .get_participating()
        .await
        .map_err(|e| anyhow::anyhow!("groups: {e}"))?;
    let mut out: Vec<GroupInfo> = groups
        .values()
        .filter_map(|m| from_metadata(m).ok())
        .collect();
    out.sort_by(|a, b| a.jid.as_str().cmp(b.jid.as_str()));
    Ok(out)
}

pub(super) async fn metadata(client: &Client, jid: &Jid) -> anyhow::Result<GroupInfo> {
    let m = client
        .groups()
        .get_metadata(&wa_jid(jid)?)
        .await
        .map_err(|e| anyhow::anyhow!("group {jid}: {e}"))?;
    from_metadata(&m)
}

pub(super) async fn invite_info(client: &Client, code: &str) -> anyhow::Result<GroupInfo> {
    let code = wagate_core::invite_code(code)?;
    let m = client
        .groups()
        .get_invite_info(code)
        .await
        .map_err(|e| anyhow::anyhow!("invite {code}: {e}"))?;
    from_metadata(&m)
}

pub(super) async fn join_requests(
    client: &Client,
    group: &Jid,
) -> anyhow::Result<Vec<JoinRequest>> {
    let requests = client
        .groups()
        .get_membership_requests(wa_jid(group)?)
        .await
        .map_err(|e| anyhow::anyhow!("join requests of {group}: {e}"))?;
    Ok(requests
        .iter()
        .filter_map(|r| {
            Some(JoinRequest {
                jid: wagate_jid(&r.jid)?,
                requested_secs: r
                    .request_time
                    .and_then(|t| i64::try_from(t).ok())
                    .unwrap_or(0),
            })
        })
        .collect())
}

/// A business profile as the API shows it.
pub fn business(
    jid: &str,
    description: &str,
    address: Option<String>,
    email: Option<String>,
    websites: Vec<String>,
    categories: Vec<String>,
) -> BusinessProfile {
    BusinessProfile {
        jid: jid.to_owned(),
        description: Some(description.to_owned()).filter(|d| !d.is_empty()),
        address: address.filter(|a| !a.is_empty()),
        email: email.filter(|e| !e.is_empty()),
        websites: websites.into_iter().filter(|w| !w.is_empty()).collect(),
        categories,
    }
}

pub(super) async fn business_profile(
    client: &Client,
    number: &str,
) -> anyhow::Result<BusinessProfile> {
    let jid_text = format!("{number}@s.whatsapp.net");
    let jid: whatsapp_rust::Jid = jid_text
        .parse()
        .map_err(|e| anyhow::anyhow!("number {number}: {e:?}"))?;
    let Some(p) = client
        .get_business_profile(&jid)
        .await
        .map_err(|e| anyhow::anyhow!("business profile: {e}"))?
    else {
        return Err(crate::connector::SendError::Permanent(format!(
            "{number} is not a business account"
        ))
        .into());
    };
    Ok(business(
        &jid_text,
        &p.description,
        p.address.clone(),
        p.email.clone(),
        p.website.clone(),
        p.categories.iter().map(|c| c.name.clone()).collect(),
    ))
}

#[cfg(test)]
mod tests;
