//! Invites: an admin invites an email address (with a role); the link's page checks it.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{field, link, send};
use crate::auth::extract::AuthUser;
use crate::auth::sessions;
use crate::auth::store::{self, InviteDoc};
use crate::email::Email as Mail;
use crate::error::{ApiError, ApiResult, AppJson, Code, FieldErrors, Problem};
use crate::state::AppState;
use crate::users::model::{Email, Role};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InviteRequest {
    #[schema(format = Email)]
    pub email: String,
    /// `user` (default) or `admin`.
    #[serde(default)]
    pub role: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InviteCreated {
    /// As `GET auth/invites` lists it, for revoking or resending.
    pub id: String,
    pub token: String,
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InviteView {
    pub email: String,
    pub expires_at: DateTime<Utc>,
}

const INVITE_DAYS: i64 = 7;

#[utoipa::path(post, operation_id = "createInvite", path = "/api/v1/auth/invites", tag = "auth", security(("bearer" = [])), request_body = InviteRequest,
    responses((status = 201, description = "Invite created and emailed", body = InviteCreated), (status = 400, description = "`VALIDATION_FAILED`", body = Problem), (status = 403, description = "`FORBIDDEN`: admins invite; with `INVITES_BY_MEMBERS`, verified members invite plain users", body = Problem), (status = 429, description = "`RATE_LIMITED`: a member's `INVITES_PER_DAY`", body = Problem)))]
pub async fn create_invite(
    State(state): State<AppState>,
    user: AuthUser,
    AppJson(request): AppJson<InviteRequest>,
) -> ApiResult<(StatusCode, AppJson<InviteCreated>)> {
    let mut errors = FieldErrors::new();
    let email = Email::parse(&request.email)
        .map_err(|m| field(&mut errors, "email", m))
        .ok();
    let role = match request.role.as_deref() {
        None => Some(Role::User),
        Some(raw) => Role::parse(raw),
    };
    if role.is_none() {
        field(&mut errors, "role", "Use user, mentor or admin.");
    }
    let (Some(email), Some(role), true) = (email, role, errors.is_empty()) else {
        return Err(ApiError::validation(errors));
    };
    may_invite(&state, &user, role).await?;
    let created = issue(&state, email.as_str(), role, &user.user_id).await?;
    Ok((StatusCode::CREATED, AppJson(created)))
}

/// Admins invite anyone with any role; with `INVITES_BY_MEMBERS`, an active member with a
/// verified address invites plain users, up to `INVITES_PER_DAY` a day. Decided from the
/// stored account.
async fn may_invite(state: &AppState, user: &AuthUser, role: Role) -> ApiResult<()> {
    let me = crate::users::store::get(state, &user.user_id)
        .await?
        .ok_or_else(|| ApiError::new(Code::Forbidden, "This needs the admin role."))?;
    if me.is_active_admin() {
        return Ok(());
    }
    let settings = &state.settings.auth;
    if !settings.invites_by_members || !me.is_active() || !me.email_verified {
        return Err(ApiError::new(Code::Forbidden, "Only admins invite here."));
    }
    if role != Role::User {
        return Err(ApiError::new(
            Code::Forbidden,
            "Members invite plain users only.",
        ));
    }
    let day = Utc::now().format("%Y-%m-%d");
    crate::auth::limits::hit(
        state.stores.cache.as_ref(),
        &format!("invites:{}:{day}", user.user_id),
        settings.invites_per_day,
        std::time::Duration::from_secs(24 * 3600),
    )
    .await
}

/// Makes an invite for `email` and mails its link; the answer carries the secret once.
pub async fn issue(
    state: &AppState,
    email: &str,
    role: Role,
    invited_by: &str,
) -> ApiResult<InviteCreated> {
    let token = sessions::random_secret();
    let now = Utc::now();
    let expires_at = now + chrono::Duration::days(INVITE_DAYS);
    let invite = InviteDoc {
        id: sessions::hash(&token),
        email: email.to_owned(),
        role,
        invited_by: invited_by.to_owned(),
        created_at: now,
        expires_at,
        used_at: None,
        revoked_at: None,
        // Kept a day past expiry so a late visitor is told it expired rather than unknown.
        ttl: (INVITE_DAYS + 1) * 24 * 3600,
    };
    store::create_invite(state, &invite).await?;
    // By address and role: the invite's id is the hash of its secret and stays out of the trail.
    let details = serde_json::json!({"role": role.as_str()});
    crate::audit::record(
        state,
        &invite.invited_by,
        "invite.create",
        &invite.email,
        details,
    )
    .await;
    let url = link(state, "/signup", &token);
    let text = format!("Create your account within {INVITE_DAYS} days: {url}");
    let mail = Mail::new(
        "invite",
        email,
        "You are invited to the learning portal",
        &text,
    );
    // The invite exists and its URL is in the answer: the admin can pass it on by hand.
    if let Err(e) = send(state, mail).await {
        tracing::warn!("invite email not queued: {e}");
    }
    Ok(InviteCreated {
        id: invite.id,
        token,
        url,
        expires_at,
    })
}

// One path parameter name for the invite segment (`{id}`), as the router needs it for the
// manage routes beside this one; here it carries the token from the link.
#[utoipa::path(get, operation_id = "checkInvite", path = "/api/v1/auth/invites/{id}", tag = "auth",
    params(("id" = String, Path, description = "The token from the invite link")),
    responses(
        (status = 200, description = "A live invite", body = InviteView),
        (status = 404, description = "Unknown invite", body = Problem),
        (status = 410, description = "`INVITE_EXPIRED`, `INVITE_USED` or `INVITE_REVOKED`", body = Problem),
    ))]
pub async fn check_invite(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> ApiResult<AppJson<InviteView>> {
    let id = sessions::hash(token.trim());
    let invite = store::get_invite(&state, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("No such invite."))?;
    if invite.revoked_at.is_some() {
        return Err(ApiError::new(
            Code::InviteRevoked,
            "This invite was revoked.",
        ));
    }
    if invite.used_at.is_some() {
        return Err(ApiError::new(
            Code::InviteUsed,
            "This invite was already used.",
        ));
    }
    if invite.expires_at <= Utc::now() {
        return Err(ApiError::new(
            Code::InviteExpired,
            "This invite has expired.",
        ));
    }
    Ok(AppJson(InviteView {
        email: invite.email,
        expires_at: invite.expires_at,
    }))
}
