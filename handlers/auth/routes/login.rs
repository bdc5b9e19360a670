//! Sign-in with email and password.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use serde::Deserialize;
use utoipa::ToSchema;

use super::signup::promote_if_bootstrap;

use crate::auth::extract::{ClientIp, UserAgent};
use crate::auth::limits;
use crate::error::{ApiError, ApiResult, AppJson, Code, Problem};
use crate::state::AppState;
use crate::users::activity;
use crate::users::model::{Email, UserDoc, UserStatus};
use crate::users::store as users;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoginRequest {
    #[schema(format = Email)]
    pub email: String,
    pub password: String,
}

/// Every failed sign-in goes through here, so the `auth.failures` metric counts them all.
fn invalid_credentials() -> ApiError {
    crate::telemetry::metrics().auth_failures.add(1, &[]);
    ApiError::new(Code::InvalidCredentials, "The email or password is wrong.")
}

#[utoipa::path(post, operation_id = "login", path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in, or with two-factor on `{mfaRequired, mfaToken, expiresIn}` for `auth/mfa/verify`", body = super::mfa::SignIn),
        (status = 401, description = "`INVALID_CREDENTIALS`", body = Problem),
        (status = 403, description = "`ACCOUNT_SUSPENDED`", body = Problem),
        (status = 429, description = "`ACCOUNT_LOCKED` or `RATE_LIMITED`", body = Problem),
    ))]
pub async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    UserAgent(user_agent): UserAgent,
    AppJson(request): AppJson<LoginRequest>,
) -> ApiResult<Response> {
    let email = Email::parse(&request.email).ok();
    limits::auth_hit(&state, "login", &ip, email.as_ref().map(Email::as_str)).await?;
    let user = match &email {
        Some(email) => users::find_by_email(&state, email).await?,
        None => None,
    };
    // Unknown and known addresses take the same path (lockout, hash cost, answers).
    let ok = limits::verify_password(
        &state,
        email.as_ref().map(Email::as_str),
        &request.password,
        user.as_ref(),
    )
    .await?;
    let user = match user {
        Some(user) if ok => user,
        Some(user) => {
            activity::record(&state, &user.id, "login_failed", &ip, &user_agent).await;
            return Err(invalid_credentials());
        }
        None => return Err(invalid_credentials()),
    };
    match user.status {
        UserStatus::Active => {}
        UserStatus::Suspended => {
            return Err(ApiError::new(
                Code::AccountSuspended,
                "This account is suspended.",
            ));
        }
        _ => return Err(invalid_credentials()),
    }
    // A verified sign-in of a configured admin email that is not admin yet (verified before
    // promotions existed, or demoted while still in ADMIN_EMAILS: the setting wins) is
    // promoted, stored before the token is issued.
    let mut user = user;
    if promote_if_bootstrap(&state.settings.auth, &mut user.clone()) {
        let settings = &state.settings.auth;
        user = users::update(&state, &user.id, |u| {
            promote_if_bootstrap(settings, u);
        })
        .await?;
    }
    let now = Utc::now();
    users::stamp_login(&state, &user.id, now).await?;
    let user = UserDoc {
        last_login_at: Some(now),
        ..user
    };
    activity::record(&state, &user.id, "login", &ip, &user_agent).await;
    crate::dashboard::metrics::record(&state, "logins").await;
    super::mfa::signed_in_or_challenged(&state, &user, &ip, &user_agent, StatusCode::OK).await
}
