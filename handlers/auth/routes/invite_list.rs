//! Managing invites: listing them by status, revoking one (its link then answers 410
//! `INVITE_REVOKED`), and sending one again. Admins see and manage every invite; with
//! `INVITES_BY_MEMBERS`, members see and manage their own. An invite's `id` is the hash of its
//! secret, the document's own id, so no secret is kept or shown.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::invites::{InviteCreated, issue};
use crate::auth::extract::AuthUser;
use crate::auth::store::{self, InviteDoc};
use crate::error::{ApiError, ApiResult, AppJson, Code, Problem};
use crate::paging::page_limit;
use crate::state::AppState;
use crate::store::{Cmp, Filter, Query as StoreQuery};
use crate::users::model::Role;

/// Where an invite is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum InviteStatus {
    Pending,
    Used,
    Expired,
    Revoked,
}

impl InviteStatus {
    pub fn of(invite: &InviteDoc, now: DateTime<Utc>) -> Self {
        if invite.revoked_at.is_some() {
            InviteStatus::Revoked
        } else if invite.used_at.is_some() {
            InviteStatus::Used
        } else if invite.expires_at <= now {
            InviteStatus::Expired
        } else {
            InviteStatus::Pending
        }
    }

    /// The store filters that select invites in this status at `now`.
    fn filters(self, now: DateTime<Utc>) -> Vec<Filter> {
        let now = now.to_rfc3339_opts(SecondsFormat::AutoSi, true);
        let missing = |f: &str| Filter::new(f, Cmp::Missing, serde_json::Value::Null);
        let exists = |f: &str| Filter::new(f, Cmp::Exists, serde_json::Value::Null);
        match self {
            InviteStatus::Revoked => vec![exists("revokedAt")],
            InviteStatus::Used => vec![missing("revokedAt"), exists("usedAt")],
            InviteStatus::Expired => vec![
                missing("revokedAt"),
                missing("usedAt"),
                Filter::new("expiresAt", Cmp::Lte, now),
            ],
            InviteStatus::Pending => vec![
                missing("revokedAt"),
                missing("usedAt"),
                Filter::new("expiresAt", Cmp::Gt, now),
            ],
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InviteItem {
    pub id: String,
    pub email: String,
    #[schema(value_type = String)]
    pub role: Role,
    pub status: InviteStatus,
    pub invited_by: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvitePage {
    pub items: Vec<InviteItem>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ListParams {
    #[param(inline, value_type = Option<InviteStatus>)]
    pub status: Option<String>,
    pub cursor: Option<String>,
    /// 1 to 100, default 20.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

/// Whether the caller manages every invite (an active admin, by the stored role).
async fn is_admin(state: &AppState, user: &AuthUser) -> ApiResult<bool> {
    crate::users::store::is_active_admin(state, &user.user_id).await
}

#[utoipa::path(get, operation_id = "listInvites", path = "/api/v1/auth/invites", tag = "auth", security(("bearer" = [])), params(ListParams),
    responses((status = 200, description = "Invites (an admin's: all; a member's: their own)", body = InvitePage), (status = 400, description = "`VALIDATION_FAILED`: an unknown status", body = Problem), (status = 401, description = "Not signed in", body = Problem)))]
pub async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    Query(params): Query<ListParams>,
) -> ApiResult<AppJson<InvitePage>> {
    let now = Utc::now();
    let status = match params.status.as_deref() {
        None => None,
        Some("pending") => Some(InviteStatus::Pending),
        Some("used") => Some(InviteStatus::Used),
        Some("expired") => Some(InviteStatus::Expired),
        Some("revoked") => Some(InviteStatus::Revoked),
        Some(_) => {
            return Err(ApiError::validation(Default::default())
                .with_field("status", "Use pending, used, expired or revoked."));
        }
    };
    let mut query = StoreQuery::default().limit(page_limit(params.limit));
    if !is_admin(&state, &user).await? {
        query = query.filter(Filter::eq("invitedBy", user.user_id.as_str()));
    }
    for filter in status.map(|s| s.filters(now)).unwrap_or_default() {
        query = query.filter(filter);
    }
    let (docs, next_cursor) = store::invite_page(&state, &query, params.cursor.as_deref()).await?;
    Ok(AppJson(InvitePage {
        items: docs
            .into_iter()
            .map(|i| InviteItem {
                status: InviteStatus::of(&i, now),
                id: i.id,
                email: i.email,
                role: i.role,
                invited_by: i.invited_by,
                expires_at: i.expires_at,
            })
            .collect(),
        next_cursor,
    }))
}

/// The invite if the caller may manage it; another's does not exist for a member.
async fn managed(state: &AppState, user: &AuthUser, id: &str) -> ApiResult<InviteDoc> {
    let not_found = || ApiError::not_found("No such invite.");
    if crate::store::doc_id_ok(id).is_err() {
        return Err(not_found());
    }
    let invite = store::get_invite(state, id).await?.ok_or_else(not_found)?;
    if invite.invited_by == user.user_id || is_admin(state, user).await? {
        Ok(invite)
    } else {
        Err(not_found())
    }
}

#[utoipa::path(delete, operation_id = "revokeInvite", path = "/api/v1/auth/invites/{id}", tag = "auth", security(("bearer" = [])),
    params(("id" = String, Path, description = "Invite id")),
    responses((status = 204, description = "Revoked: the link answers 410 `INVITE_REVOKED` (also when it was)"), (status = 404, description = "No such invite you manage", body = Problem), (status = 410, description = "`INVITE_USED`: an account was made with it", body = Problem)))]
pub async fn revoke(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let invite = managed(&state, &user, &id).await?;
    if invite.used_at.is_some() {
        return Err(ApiError::new(
            Code::InviteUsed,
            "This invite was already used.",
        ));
    }
    store::revoke_invite(&state, &invite.id, Utc::now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, operation_id = "resendInvite", path = "/api/v1/auth/invites/{id}/resend", tag = "auth", security(("bearer" = [])),
    params(("id" = String, Path, description = "Invite id")),
    responses((status = 201, description = "A new invite for the same address and role, emailed; the old link answers 410 `INVITE_REVOKED`", body = InviteCreated), (status = 404, description = "No such invite you manage", body = Problem), (status = 410, description = "`INVITE_USED` or `INVITE_REVOKED`", body = Problem)))]
pub async fn resend(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, AppJson<InviteCreated>)> {
    let invite = managed(&state, &user, &id).await?;
    match InviteStatus::of(&invite, Utc::now()) {
        InviteStatus::Used => {
            return Err(ApiError::new(
                Code::InviteUsed,
                "This invite was already used.",
            ));
        }
        InviteStatus::Revoked => {
            return Err(ApiError::new(
                Code::InviteRevoked,
                "This invite was revoked.",
            ));
        }
        InviteStatus::Pending | InviteStatus::Expired => {}
    }
    // A new secret means a new invite: the old one's link must stop working.
    store::revoke_invite(&state, &invite.id, Utc::now()).await?;
    let created = issue(&state, &invite.email, invite.role, &invite.invited_by).await?;
    Ok((StatusCode::CREATED, AppJson(created)))
}
