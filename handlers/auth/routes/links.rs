//! Emailed one-time links: password reset, email verification, and magic sign-in links.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::signup::{admit, new_account, promote_if_bootstrap};
use super::{link, send};
use crate::auth::extract::{AuthUser, ClientIp, UserAgent};
use crate::auth::onetime::{self, Purpose};
use crate::auth::{limits, sessions};
use crate::email::Email as Mail;
use crate::error::{ApiError, ApiResult, AppJson, Code, FieldErrors, Problem};
use crate::state::AppState;
use crate::users::activity;
use crate::users::model::{Email, UserStatus};
use crate::users::store as users;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EmailRequest {
    #[schema(format = Email)]
    pub email: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResetRequest {
    pub token: String,
    /// 10 to 128 characters, not easy to guess.
    #[schema(min_length = 10, max_length = 128)]
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TokenRequest {
    pub token: String,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct TokenQuery {
    pub token: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EmailVerified {
    pub email_verified: bool,
}

#[utoipa::path(post, operation_id = "forgotPassword", path = "/api/v1/auth/forgot-password", tag = "auth", request_body = EmailRequest,
    responses((status = 202, description = "If the account exists, a reset link is on its way"), (status = 429, description = "`RATE_LIMITED`", body = Problem)))]
pub async fn forgot_password(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    AppJson(request): AppJson<EmailRequest>,
) -> ApiResult<StatusCode> {
    email_link(&state, &ip, &request.email, Purpose::ResetPassword).await?;
    Ok(StatusCode::ACCEPTED)
}

/// The forgot-password and magic-link requests: rate-limited, then a link mailed to an active
/// account. The answer is the same whether or not the account exists; the address comes back
/// when no account has it, for a passwordless sign-up.
async fn email_link(
    state: &AppState,
    ip: &str,
    raw_email: &str,
    purpose: Purpose,
) -> ApiResult<Option<Email>> {
    let (action, kind, subject, path, intro) = match purpose {
        Purpose::ResetPassword => (
            "forgot-password",
            "password-reset",
            "Reset your password",
            "/reset-password",
            "Reset your password within 15 minutes (if you did not ask for this, ignore this email)",
        ),
        Purpose::MagicLink => (
            "magic-link",
            "magic-link",
            "Your sign-in link",
            "/magic-link",
            "Sign in within 15 minutes",
        ),
        Purpose::VerifyEmail
        | Purpose::Mfa
        | Purpose::ChangeEmail
        | Purpose::MagicSignup
        | Purpose::SetPassword
        | Purpose::OidcState
        | Purpose::OidcSignIn => {
            unreachable!("only reset and magic links are emailed here")
        }
    };
    let email = Email::parse(raw_email).ok();
    limits::auth_hit(state, action, ip, email.as_ref().map(Email::as_str)).await?;
    let Some(email) = email else {
        return Ok(None);
    };
    let Some(user) = users::find_by_email(state, &email).await? else {
        return Ok(Some(email));
    };
    if !user.is_active() {
        return Ok(None);
    }
    let token = onetime::issue(state, purpose, &user.id).await?;
    let text = format!("{intro}: {}", link(state, path, &token));
    send(state, Mail::new(kind, &user.email, subject, &text)).await?;
    Ok(None)
}

/// The account of a followed passwordless sign-up link: made now, or the one that took the
/// address since (the link proves the address, so it signs that account in). Returns its id.
async fn signed_up(state: &AppState, signup: &crate::auth::store::TokenDoc) -> ApiResult<String> {
    let email = signup
        .email
        .as_deref()
        .and_then(|e| Email::parse(e).ok())
        .ok_or_else(invalid_token)?;
    if let Some(existing) = users::find_by_email(state, &email).await? {
        return Ok(existing.id);
    }
    let now = Utc::now();
    let admission = admit(&state.settings.auth, &email, None, now)?;
    let name = signup.name.clone().unwrap_or_default();
    let user = new_account(&email, &name, None, admission.role(), true, now);
    match users::create(state, &user).await {
        Ok(()) => Ok(user.id),
        // Taken between the check and the create: that account is the address's.
        Err(e) if e.code == Code::EmailTaken => users::find_by_email(state, &email)
            .await?
            .map(|u| u.id)
            .ok_or_else(invalid_token),
        Err(e) => Err(e),
    }
}

fn invalid_token() -> ApiError {
    ApiError::new(
        Code::InvalidLink,
        "The link is invalid, expired, or already used.",
    )
}

#[utoipa::path(post, operation_id = "resetPassword", path = "/api/v1/auth/reset-password", tag = "auth", request_body = ResetRequest,
    responses((status = 204, description = "Password changed; every session ended"), (status = 400, description = "`INVALID_TOKEN` or `VALIDATION_FAILED`", body = Problem)))]
pub async fn reset_password(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    UserAgent(user_agent): UserAgent,
    AppJson(request): AppJson<ResetRequest>,
) -> ApiResult<StatusCode> {
    let problems = crate::auth::password::problems(&request.password, &[]);
    if !problems.is_empty() {
        return Err(ApiError::validation(FieldErrors::from([(
            "password".to_owned(),
            problems,
        )])));
    }
    // A reset link, or the first-password link of an account an admin made.
    let user_id = match onetime::consume(&state, Purpose::ResetPassword, &request.token).await? {
        Some(id) => id,
        None => onetime::consume(&state, Purpose::SetPassword, &request.token)
            .await?
            .ok_or_else(invalid_token)?,
    };
    let hash = state
        .auth
        .passwords
        .hash(&request.password)
        .await
        .map_err(ApiError::internal)?;
    let user = users::update(&state, &user_id, |u| {
        u.password_hash = Some(hash.clone());
        // The link came to the address: an invited account is now its owner's.
        if u.status == UserStatus::Invited {
            u.status = UserStatus::Active;
            u.email_verified = true;
        }
    })
    .await?;
    sessions::revoke_all(&state, &user_id, None, "password reset").await?;
    // Any other reset or magic link mailed earlier would still sign in around the new password.
    onetime::spend_sign_in_links(&state, &user_id).await?;
    limits::clear_failures(&state, &user.email).await?;
    activity::record(&state, &user_id, "password_reset", &ip, &user_agent).await;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, operation_id = "verifyEmail", path = "/api/v1/auth/verify-email", tag = "auth", params(TokenQuery),
    responses((status = 200, description = "Email verified", body = EmailVerified), (status = 400, description = "`INVALID_TOKEN`", body = Problem)))]
pub async fn verify_email(
    State(state): State<AppState>,
    Query(query): Query<TokenQuery>,
) -> ApiResult<AppJson<EmailVerified>> {
    let user_id = onetime::consume(&state, Purpose::VerifyEmail, &query.token)
        .await?
        .ok_or_else(invalid_token)?;
    let settings = &state.settings.auth;
    users::update(&state, &user_id, |u| {
        u.email_verified = true;
        promote_if_bootstrap(settings, u);
    })
    .await?;
    Ok(AppJson(EmailVerified {
        email_verified: true,
    }))
}

#[utoipa::path(post, operation_id = "resendVerification", path = "/api/v1/auth/resend-verification", tag = "auth", security(("bearer" = [])),
    responses((status = 202, description = "A new link is on its way (or the email is already verified)"), (status = 429, description = "`RATE_LIMITED`", body = Problem)))]
pub async fn resend_verification(
    State(state): State<AppState>,
    user: AuthUser,
    ClientIp(ip): ClientIp,
) -> ApiResult<StatusCode> {
    limits::auth_hit(&state, "resend-verification", &ip, Some(&user.user_id)).await?;
    let stored = users::get(&state, &user.user_id)
        .await?
        .ok_or_else(|| ApiError::not_found("No such user."))?;
    if !stored.email_verified {
        let token = onetime::issue(&state, Purpose::VerifyEmail, &stored.id).await?;
        send(
            &state,
            Mail::new(
                "verification",
                &stored.email,
                "Confirm your email address",
                &format!(
                    "Confirm your email address: {}",
                    link(&state, "/verify-email", &token)
                ),
            ),
        )
        .await?;
    }
    Ok(StatusCode::ACCEPTED)
}

/// A magic link: for an existing account, or a passwordless sign-up.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MagicLinkRequest {
    #[schema(format = Email)]
    pub email: String,
    /// The name of an account the link creates (default: the address's local part).
    #[serde(default)]
    pub name: Option<String>,
}

#[utoipa::path(post, operation_id = "requestMagicLink", path = "/api/v1/auth/magic-link", tag = "auth", request_body = MagicLinkRequest,
    responses((status = 202, description = "A sign-in link is on its way if the account exists; where registration is open, a sign-up link if it does not (the answer is the same)"), (status = 400, description = "`VALIDATION_FAILED`: a name over 100 characters", body = Problem), (status = 429, description = "`RATE_LIMITED`", body = Problem)))]
pub async fn magic_link(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    AppJson(request): AppJson<MagicLinkRequest>,
) -> ApiResult<StatusCode> {
    let name = request
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty());
    if name.is_some_and(|n| n.chars().count() > 100) {
        return Err(ApiError::validation(Default::default())
            .with_field("name", "Enter a name of 1 to 100 characters."));
    }
    let Some(email) = email_link(&state, &ip, &request.email, Purpose::MagicLink).await? else {
        return Ok(StatusCode::ACCEPTED);
    };
    // No account: where registration is open (or for a configured admin address), the link
    // creates one with the address verified, since following it proves the address.
    if admit(&state.settings.auth, &email, None, Utc::now()).is_ok() {
        let name = name
            .map(str::to_owned)
            .unwrap_or_else(|| email.as_str().split('@').next().unwrap_or("").to_owned());
        let token = onetime::issue_signup(&state, email.as_str(), &name).await?;
        let text = format!(
            "Create your account within 15 minutes: {}",
            link(&state, "/magic-link", &token)
        );
        send(
            &state,
            Mail::new("magic-signup", email.as_str(), "Your sign-up link", &text),
        )
        .await?;
    }
    Ok(StatusCode::ACCEPTED)
}

#[utoipa::path(post, operation_id = "verifyMagicLink", path = "/api/v1/auth/magic-link/verify", tag = "auth", request_body = TokenRequest,
    responses((status = 200, description = "Signed in, or with two-factor on the second step", body = super::mfa::SignIn), (status = 400, description = "`INVALID_TOKEN`", body = Problem)))]
pub async fn magic_link_verify(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    UserAgent(user_agent): UserAgent,
    AppJson(request): AppJson<TokenRequest>,
) -> ApiResult<Response> {
    let user_id = match onetime::consume(&state, Purpose::MagicLink, &request.token).await? {
        Some(user_id) => user_id,
        None => {
            let signup = onetime::consume_doc(&state, Purpose::MagicSignup, &request.token)
                .await?
                .ok_or_else(invalid_token)?;
            signed_up(&state, &signup).await?
        }
    };
    // Following the link proves control of the address.
    let settings = &state.settings.auth;
    let user = users::update(&state, &user_id, |u| {
        u.email_verified = true;
        promote_if_bootstrap(settings, u);
        u.last_login_at = Some(Utc::now());
    })
    .await?;
    if !user.is_active() {
        return Err(invalid_token());
    }
    activity::record(&state, &user.id, "login", &ip, &user_agent).await;
    crate::dashboard::metrics::record(&state, "logins").await;
    super::mfa::signed_in_or_challenged(&state, &user, &ip, &user_agent, StatusCode::OK).await
}
