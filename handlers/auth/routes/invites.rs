//! Invites: an admin invites an email address (with a role); the link's page checks it.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{field, link, send};
use crate::auth::extract::AdminUser;
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

#[utoipa::path(post, operation_id = "createInvite", path = "/api/v1/auth/invites", tag = "auth", security(("bearer" = ["admin"])), request_body = InviteRequest,
    responses((status = 201, description = "Invite created and emailed", body = InviteCreated), (status = 403, description = "`FORBIDDEN`", body = Problem)))]
pub async fn create_invite(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
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
        field(&mut errors, "role", "Use user or admin.");
    }
    let (Some(email), Some(role), true) = (email, role, errors.is_empty()) else {
        return Err(ApiError::validation(errors));
    };
    let token = sessions::random_secret();
    let now = Utc::now();
    let expires_at = now + chrono::Duration::days(INVITE_DAYS);
    let invite = InviteDoc {
        id: sessions::hash(&token),
        email: email.as_str().to_owned(),
        role,
        invited_by: admin.user_id,
        created_at: now,
        expires_at,
        used_at: None,
        // Kept a day past expiry so a late visitor is told it expired rather than unknown.
        ttl: (INVITE_DAYS + 1) * 24 * 3600,
    };
    store::create_invite(&state, &invite).await?;
    // By address and role: the invite's id is the hash of its secret and stays out of the trail.
    let details = serde_json::json!({"role": role.as_str()});
    crate::audit::record(
        &state,
        &invite.invited_by,
        "invite.create",
        &invite.email,
        details,
    )
    .await;
    let url = link(&state, "/signup", &token);
    let text = format!("Create your account within {INVITE_DAYS} days: {url}");
    let mail = Mail::new(
        "invite",
        email.as_str(),
        "You are invited to the learning portal",
        &text,
    );
    // The invite exists and its URL is in the answer: the admin can pass it on by hand.
    if let Err(e) = send(&state, mail).await {
        tracing::warn!("invite email not queued: {e}");
    }
    Ok((
        StatusCode::CREATED,
        AppJson(InviteCreated {
            token,
            url,
            expires_at,
        }),
    ))
}

#[utoipa::path(get, operation_id = "checkInvite", path = "/api/v1/auth/invites/{token}", tag = "auth",
    params(("token" = String, Path, description = "The invite token")),
    responses(
        (status = 200, description = "A live invite", body = InviteView),
        (status = 404, description = "Unknown invite", body = Problem),
        (status = 410, description = "`INVITE_EXPIRED` or `INVITE_USED`", body = Problem),
    ))]
pub async fn check_invite(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> ApiResult<AppJson<InviteView>> {
    let id = sessions::hash(token.trim());
    let invite = store::get_invite(&state, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("No such invite."))?;
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
