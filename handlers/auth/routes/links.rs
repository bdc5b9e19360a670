//! Emailed one-time links: password reset, email verification, and magic sign-in links.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::signup::promote_if_bootstrap;
use super::{link, send};
use crate::auth::extract::{AuthUser, ClientIp, UserAgent};
use crate::auth::onetime::{self, Purpose};
use crate::auth::{limits, sessions};
use crate::email::Email as Mail;
use crate::error::{ApiError, ApiResult, AppJson, Code, FieldErrors, Problem};
use crate::state::AppState;
use crate::users::activity;
use crate::users::model::{Email, UserDoc};
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
/// account. The answer is the same whether or not the account exists.
async fn email_link(
    state: &AppState,
    ip: &str,
    raw_email: &str,
    purpose: Purpose,
) -> ApiResult<()> {
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
        Purpose::VerifyEmail | Purpose::Mfa | Purpose::ChangeEmail => {
            unreachable!("only reset and magic links are emailed here")
        }
    };
    let email = Email::parse(raw_email).ok();
    limits::auth_hit(state, action, ip, email.as_ref().map(Email::as_str)).await?;
    let Some(email) = email else {
        return Ok(());
    };
    let Some(user) = users::find_by_email(state, &email)
        .await?
        .filter(UserDoc::is_active)
    else {
        return Ok(());
    };
    let token = onetime::issue(state, purpose, &user.id).await?;
    let text = format!("{intro}: {}", link(state, path, &token));
    send(state, Mail::new(kind, &user.email, subject, &text)).await
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
    let user_id = onetime::consume(&state, Purpose::ResetPassword, &request.token)
        .await?
        .ok_or_else(invalid_token)?;
    let hash = state
        .auth
        .passwords
        .hash(&request.password)
        .await
        .map_err(ApiError::internal)?;
    let user = users::update(&state, &user_id, |u| u.password_hash = Some(hash.clone())).await?;
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

#[utoipa::path(post, operation_id = "requestMagicLink", path = "/api/v1/auth/magic-link", tag = "auth", request_body = EmailRequest,
    responses((status = 202, description = "If the account exists, a sign-in link is on its way"), (status = 429, description = "`RATE_LIMITED`", body = Problem)))]
pub async fn magic_link(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    AppJson(request): AppJson<EmailRequest>,
) -> ApiResult<StatusCode> {
    email_link(&state, &ip, &request.email, Purpose::MagicLink).await?;
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
    let user_id = onetime::consume(&state, Purpose::MagicLink, &request.token)
        .await?
        .ok_or_else(invalid_token)?;
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
