//! Groups: list, create, metadata, settings, members, invite links, joining, leaving, join
//! requests. Questions (`GET`) go through the query path; changes are action jobs in the
//! group's lane (creating and joining in the account's), answered with the job and, with
//! `?wait=N`, its result (the new group's JID and link, each member's outcome).

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use wagate_core::{
    Action, GroupSettings, Jid, JidKind, MemberChange, SessionQuery, ValidationError, account_lane,
};

use super::body::{Loose, jid_list};
use super::queries::{self, SessionParam};
use crate::action::Acting;
use crate::caller::Caller;
use crate::error::ApiResult;
use crate::extract::{Json, Query};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(list).post(create))
        .route("/join", post(join))
        .route("/invite/{code}", get(invite_info))
        .route("/{group}", get(show).patch(update))
        .route("/{group}/settings", post(update))
        .route("/{group}/participants", post(members))
        .route("/{group}/invite", get(invite_link))
        .route("/{group}/invite/reset", post(reset_invite))
        .route("/{group}/leave", post(leave))
        .route("/{group}/requests", get(requests).post(members_requests))
}

/// A group from the path: `1203…@g.us`, or its bare id.
fn group_jid(raw: &str) -> Result<Jid, ValidationError> {
    let raw = raw.trim();
    let jid = if raw.contains('@') {
        Jid::parse_field(raw, "groupId")?
    } else {
        Jid::parse_field(&format!("{raw}@g.us"), "groupId")?
    };
    if jid.kind() != JidKind::Group {
        return Err(ValidationError::new(
            "groupId",
            format!("'{raw}' is not a group JID (…@g.us)"),
        ));
    }
    Ok(jid)
}

/// `GET /api/groups?sessionId=`.
async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<SessionParam>,
) -> ApiResult<Response> {
    queries::run(&state, &caller, &q.session_id, SessionQuery::Groups).await
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateBody {
    session_id: String,
    subject: String,
    participants: Vec<Loose>,
}

/// `POST /api/groups { sessionId, subject, participants }`.
async fn create(acting: Acting, Json(b): Json<CreateBody>) -> ApiResult<Response> {
    let action = Action::CreateGroup {
        subject: b.subject.trim().to_owned(),
        participants: jid_list(&b.participants, "participants")?,
    };
    acting.submit(&b.session_id, account_lane(), action).await
}

/// `GET /api/groups/:group?sessionId=`: subject, description, owner, members with roles,
/// settings (cached by the host, refreshed by group events).
async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(group): Path<String>,
    Query(q): Query<SessionParam>,
) -> ApiResult<Response> {
    let jid = group_jid(&group)?;
    queries::run(&state, &caller, &q.session_id, SessionQuery::Group { jid }).await
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateBody {
    session_id: String,
    #[serde(flatten)]
    settings: GroupSettings,
}

/// `PATCH /api/groups/:group` (or `POST …/settings`) `{ sessionId, subject?, description?,
/// announce?, locked?, ephemeralSecs?, approval? }`.
async fn update(
    acting: Acting,
    Path(group): Path<String>,
    Json(b): Json<UpdateBody>,
) -> ApiResult<Response> {
    let to = group_jid(&group)?;
    let mut settings = b.settings;
    settings.subject = settings.subject.map(|s| s.trim().to_owned());
    let action = Action::GroupSettings { settings };
    acting.submit(&b.session_id, to, action).await
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct MembersBody {
    session_id: String,
    action: String,
    participants: Vec<Loose>,
}

/// `POST /api/groups/:group/participants { sessionId, action, participants }`, `action` one
/// of add, remove, promote, demote (and approve, reject for join requests).
async fn members(
    acting: Acting,
    Path(group): Path<String>,
    Json(b): Json<MembersBody>,
) -> ApiResult<Response> {
    let to = group_jid(&group)?;
    let action = Action::Members {
        change: MemberChange::parse(&b.action)?,
        participants: jid_list(&b.participants, "participants")?,
    };
    acting.submit(&b.session_id, to, action).await
}

/// `POST /api/groups/:group/requests { sessionId, action: approve|reject, participants }`.
async fn members_requests(
    acting: Acting,
    group: Path<String>,
    Json(b): Json<MembersBody>,
) -> ApiResult<Response> {
    let change = MemberChange::parse(&b.action)?;
    if !matches!(change, MemberChange::Approve | MemberChange::Reject) {
        return Err(ValidationError::new("action", "approve or reject").into());
    }
    members(acting, group, Json(b)).await
}

/// `GET /api/groups/:group/invite?sessionId=` (admins only).
async fn invite_link(
    State(state): State<AppState>,
    caller: Caller,
    Path(group): Path<String>,
    Query(q): Query<SessionParam>,
) -> ApiResult<Response> {
    let jid = group_jid(&group)?;
    queries::run(
        &state,
        &caller,
        &q.session_id,
        SessionQuery::InviteLink { jid },
    )
    .await
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SessionBody {
    session_id: String,
}

/// `POST /api/groups/:group/invite/reset { sessionId }`: a new link, the old one dies.
async fn reset_invite(
    acting: Acting,
    Path(group): Path<String>,
    Json(b): Json<SessionBody>,
) -> ApiResult<Response> {
    let to = group_jid(&group)?;
    acting.submit(&b.session_id, to, Action::ResetInvite).await
}

/// `POST /api/groups/:group/leave { sessionId }`.
async fn leave(
    acting: Acting,
    Path(group): Path<String>,
    Json(b): Json<SessionBody>,
) -> ApiResult<Response> {
    let to = group_jid(&group)?;
    acting.submit(&b.session_id, to, Action::LeaveGroup).await
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct JoinBody {
    session_id: String,
    code: String,
}

/// `POST /api/groups/join { sessionId, code }` (a code or a chat.whatsapp.com link).
async fn join(acting: Acting, Json(b): Json<JoinBody>) -> ApiResult<Response> {
    let code = wagate_core::invite_code(&b.code)?.to_owned();
    let action = Action::JoinGroup { code };
    acting.submit(&b.session_id, account_lane(), action).await
}

/// `GET /api/groups/invite/:code?sessionId=`: the group an invite leads to.
async fn invite_info(
    State(state): State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
    Query(q): Query<SessionParam>,
) -> ApiResult<Response> {
    let code = wagate_core::invite_code(&code)?.to_owned();
    queries::run(
        &state,
        &caller,
        &q.session_id,
        SessionQuery::InviteInfo { code },
    )
    .await
}

/// `GET /api/groups/:group/requests?sessionId=` (admins only).
async fn requests(
    State(state): State<AppState>,
    caller: Caller,
    Path(group): Path<String>,
    Query(q): Query<SessionParam>,
) -> ApiResult<Response> {
    let jid = group_jid(&group)?;
    queries::run(
        &state,
        &caller,
        &q.session_id,
        SessionQuery::JoinRequests { jid },
    )
    .await
}
