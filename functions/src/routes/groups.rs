//! Groups: list, create, metadata, settings, members, invite links, joining, leaving, join
//! requests. Questions (`GET`) go through the query path; changes are action jobs in the
//! group's lane (creating and joining in the account's), answered with the job and, with
//! `?wait=N`, its result (the new group's JID and link, each member's outcome).

use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use wagate_core::{
    Action, GroupSettings, Jid, JidKind, MemberChange, SessionQuery, ValidationError, account_lane,
};

use super::body::{Loose, jid_list};
use super::queries::{self, SessionParam};
use crate::action::Acting;
use crate::caller::Caller;
use crate::error::ApiResult;
use crate::extract::{Json, Query};
use crate::openapi::schemas;
use crate::send::{IdempotencyKey, WaitQuery};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(join))
        .routes(routes!(invite_info))
        .routes(routes!(show, update))
        .routes(routes!(update_settings))
        .routes(routes!(members))
        .routes(routes!(invite_link))
        .routes(routes!(reset_invite))
        .routes(routes!(leave))
        .routes(routes!(requests, members_requests))
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
#[utoipa::path(get, path = "/", tag = "groups", summary = "The groups the account is in",
    params(("sessionId" = String, Query, description = "The session to ask")),
    responses(
        (status = 200, description = "The groups", body = schemas::GroupsAnswer),
        schemas::QueryWaiting,
    ))]
async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<SessionParam>,
) -> ApiResult<Response> {
    queries::run(&state, &caller, &q.session_id, SessionQuery::Groups).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = CreateGroupBody)]
struct CreateBody {
    session_id: String,
    subject: String,
    /// Phone numbers or JIDs of the first members (1 to 256, duplicates counted once).
    #[schema(min_items = 1)]
    participants: Vec<Loose>,
}

/// `POST /api/groups { sessionId, subject, participants }`.
#[utoipa::path(post, path = "/", tag = "groups", summary = "Create a group",
    description = "Done, the job's `result` names the new group (`groupId`, `inviteLink`) and \
        each member's outcome (`participants`).",
    params(WaitQuery, IdempotencyKey), request_body = CreateBody,
    responses(
        schemas::JobAnswers,
    ))]
async fn create(acting: Acting, Json(b): Json<CreateBody>) -> ApiResult<Response> {
    let action = Action::CreateGroup {
        subject: b.subject.trim().to_owned(),
        participants: jid_list(&b.participants, "participants")?,
    };
    acting.submit(&b.session_id, account_lane(), action).await
}

/// `GET /api/groups/:group?sessionId=`: subject, description, owner, members with roles,
/// settings (cached by the host, refreshed by group events).
#[utoipa::path(get, path = "/{group}", tag = "groups",
    summary = "A group: subject, description, owner, members with roles, settings",
    params(
        ("group" = String, Path, description = "The group: `1203…@g.us` or its bare id"),
        ("sessionId" = String, Query, description = "The session to ask")),
    responses(
        (status = 200, description = "The group", body = schemas::GroupAnswer),
        schemas::QueryWaiting,
    ))]
async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(group): Path<String>,
    Query(q): Query<SessionParam>,
) -> ApiResult<Response> {
    let jid = group_jid(&group)?;
    queries::run(&state, &caller, &q.session_id, SessionQuery::Group { jid }).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = UpdateGroupBody)]
struct UpdateBody {
    session_id: String,
    /// The settings to change; those left out stay as they are.
    #[serde(flatten)]
    #[schema(value_type = schemas::GroupSettingsBody)]
    settings: GroupSettings,
}

/// `PATCH /api/groups/:group` (or `POST …/settings`) `{ sessionId, subject?, description?,
/// announce?, locked?, ephemeralSecs?, approval? }`.
#[utoipa::path(patch, path = "/{group}", tag = "groups",
    summary = "Change a group's subject, description or settings",
    description = "Only the fields given change; name at least one.",
    params(
        ("group" = String, Path, description = "The group: `1203…@g.us` or its bare id"),
        WaitQuery,
        IdempotencyKey),
    request_body = UpdateBody,
    responses(
        schemas::JobAnswers,
    ))]
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

/// `POST /api/groups/:group/settings`: the same as `PATCH /api/groups/:group`.
#[utoipa::path(post, path = "/{group}/settings", tag = "groups",
    summary = "Change a group's subject, description or settings (the same as PATCH /{group})",
    params(
        ("group" = String, Path, description = "The group: `1203…@g.us` or its bare id"),
        WaitQuery,
        IdempotencyKey),
    request_body = UpdateBody,
    responses(
        schemas::JobAnswers,
    ))]
async fn update_settings(
    acting: Acting,
    group: Path<String>,
    body: Json<UpdateBody>,
) -> ApiResult<Response> {
    update(acting, group, body).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = GroupMembersBody)]
struct MembersBody {
    session_id: String,
    /// `add`, `remove`, `promote`, `demote`, `approve`, `reject` (join requests: only
    /// `approve` or `reject`).
    action: String,
    /// Phone numbers or JIDs (1 to 256, duplicates counted once).
    #[schema(min_items = 1)]
    participants: Vec<Loose>,
}

/// `POST /api/groups/:group/participants { sessionId, action, participants }`, `action` one
/// of add, remove, promote, demote (and approve, reject for join requests).
#[utoipa::path(post, path = "/{group}/participants", tag = "groups",
    summary = "Add, remove, promote or demote members (or approve, reject join requests)",
    description = "Done, the job's `result.participants` gives each member's outcome.",
    params(
        ("group" = String, Path, description = "The group: `1203…@g.us` or its bare id"),
        WaitQuery,
        IdempotencyKey),
    request_body = MembersBody,
    responses(
        schemas::JobAnswers,
    ))]
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
#[utoipa::path(post, path = "/{group}/requests", tag = "groups",
    summary = "Approve or reject join requests",
    description = "`action`: `approve` or `reject`.",
    params(
        ("group" = String, Path, description = "The group: `1203…@g.us` or its bare id"),
        WaitQuery,
        IdempotencyKey),
    request_body = MembersBody,
    responses(
        schemas::JobAnswers,
    ))]
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
#[utoipa::path(get, path = "/{group}/invite", tag = "groups",
    summary = "A group's invite link (admins only)",
    params(
        ("group" = String, Path, description = "The group: `1203…@g.us` or its bare id"),
        ("sessionId" = String, Query, description = "The session to ask")),
    responses(
        (status = 200, description = "The link", body = schemas::InviteLinkAnswer),
        schemas::QueryWaiting,
    ))]
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

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = GroupSessionBody)]
struct SessionBody {
    session_id: String,
}

/// `POST /api/groups/:group/invite/reset { sessionId }`: a new link, the old one dies.
#[utoipa::path(post, path = "/{group}/invite/reset", tag = "groups",
    summary = "A new invite link; the old one stops working",
    description = "Done, the job's `result.inviteLink` is the new link.",
    params(
        ("group" = String, Path, description = "The group: `1203…@g.us` or its bare id"),
        WaitQuery,
        IdempotencyKey),
    request_body = SessionBody,
    responses(
        schemas::JobAnswers,
    ))]
async fn reset_invite(
    acting: Acting,
    Path(group): Path<String>,
    Json(b): Json<SessionBody>,
) -> ApiResult<Response> {
    let to = group_jid(&group)?;
    acting.submit(&b.session_id, to, Action::ResetInvite).await
}

/// `POST /api/groups/:group/leave { sessionId }`.
#[utoipa::path(post, path = "/{group}/leave", tag = "groups", summary = "Leave a group",
    params(
        ("group" = String, Path, description = "The group: `1203…@g.us` or its bare id"),
        WaitQuery,
        IdempotencyKey),
    request_body = SessionBody,
    responses(
        schemas::JobAnswers,
    ))]
async fn leave(
    acting: Acting,
    Path(group): Path<String>,
    Json(b): Json<SessionBody>,
) -> ApiResult<Response> {
    let to = group_jid(&group)?;
    acting.submit(&b.session_id, to, Action::LeaveGroup).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = JoinGroupBody)]
struct JoinBody {
    session_id: String,
    /// An invite code or a `https://chat.whatsapp.com/…` link.
    code: String,
}

/// `POST /api/groups/join { sessionId, code }` (a code or a chat.whatsapp.com link).
#[utoipa::path(post, path = "/join", tag = "groups", summary = "Join a group by invite",
    description = "Done, the job's `result.groupId` is the group joined.",
    params(WaitQuery, IdempotencyKey), request_body = JoinBody,
    responses(
        schemas::JobAnswers,
    ))]
async fn join(acting: Acting, Json(b): Json<JoinBody>) -> ApiResult<Response> {
    let code = wagate_core::invite_code(&b.code)?.to_owned();
    let action = Action::JoinGroup { code };
    acting.submit(&b.session_id, account_lane(), action).await
}

/// `GET /api/groups/invite/:code?sessionId=`: the group an invite leads to.
#[utoipa::path(get, path = "/invite/{code}", tag = "groups",
    summary = "The group an invite leads to, before joining it",
    params(
        ("code" = String, Path, description = "An invite code"),
        ("sessionId" = String, Query, description = "The session to ask")),
    responses(
        (status = 200, description = "The group", body = schemas::GroupAnswer),
        schemas::QueryWaiting,
    ))]
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
#[utoipa::path(get, path = "/{group}/requests", tag = "groups",
    summary = "Who asked to join a group (admins only)",
    params(
        ("group" = String, Path, description = "The group: `1203…@g.us` or its bare id"),
        ("sessionId" = String, Query, description = "The session to ask")),
    responses(
        (status = 200, description = "The requests", body = schemas::JoinRequestsAnswer),
        schemas::QueryWaiting,
    ))]
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
