//! Changing one's email: `POST users/me/email {newEmail, password}` mails a confirmation link
//! to the new address and a notice to the old one; `POST auth/confirm-email-change {token}`
//! makes the new address the account's, verified. Sessions survive. The answer to the request
//! is 202 whether or not the new address is taken (nothing tells a caller which addresses have
//! accounts); a confirmation finds it taken meanwhile with 409 `EMAIL_TAKEN`.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;

use super::model::{Email, User};
use super::store as users;
use crate::auth::extract::AuthUser;
use crate::auth::onetime::{self, Purpose};
use crate::email::Email as Mail;
use crate::error::{ApiError, ApiResult, AppJson, Code, FieldErrors, Problem};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EmailChange {
    #[schema(format = Email)]
    pub new_email: String,
    /// The current password: a stolen access token alone does not move the account. An
    /// account without one leaves it out and must have signed in within the last 10 minutes.
    #[serde(default)]
    pub password: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfirmRequest {
    pub token: String,
}

#[utoipa::path(post, operation_id = "changeEmail", path = "/api/v1/users/me/email", tag = "users", security(("bearer" = [])), request_body = EmailChange,
    responses((status = 202, description = "A confirmation link is on its way to the new address, a notice to the old one"), (status = 400, description = "`VALIDATION_FAILED`: a bad address, the same one, or a wrong or missing password", body = Problem), (status = 403, description = "`RECENT_SIGN_IN_REQUIRED`: an account without a password signed in more than 10 minutes ago", body = Problem), (status = 429, description = "`ACCOUNT_LOCKED` after repeated wrong passwords", body = Problem)))]
pub async fn request(
    State(state): State<AppState>,
    user: AuthUser,
    AppJson(change): AppJson<EmailChange>,
) -> ApiResult<StatusCode> {
    let me = users::get(&state, &user.user_id)
        .await?
        .ok_or_else(|| ApiError::not_found("No such user."))?;
    let mut errors = FieldErrors::new();
    let new = match Email::parse(&change.new_email) {
        Ok(email) if email.as_str() == me.email => {
            errors.insert(
                "newEmail".into(),
                vec!["This is already your address.".into()],
            );
            None
        }
        Ok(email) => Some(email),
        Err(message) => {
            errors.insert("newEmail".into(), vec![message.into()]);
            None
        }
    };
    let Some(new) = new.filter(|_| errors.is_empty()) else {
        return Err(ApiError::validation(errors));
    };
    super::owner::confirm(&state, &user, &me, change.password.as_deref()).await?;
    let taken = users::find_by_email(&state, &new).await?.is_some();
    users::update(&state, &me.id, |u| {
        u.pending_email = Some(new.as_str().to_owned())
    })
    .await?;
    if !taken {
        let token = onetime::issue(&state, Purpose::ChangeEmail, &me.id).await?;
        let text = format!(
            "Confirm {} as the address of your account: {}",
            new.as_str(),
            crate::auth::routes::link(&state, "/confirm-email-change", &token)
        );
        let mail = Mail::new(
            "email-change",
            new.as_str(),
            "Confirm your new email address",
            &text,
        );
        crate::email::enqueue(&state, &mail).await?;
    }
    let notice = Mail::new(
        "email-change-notice",
        &me.email,
        "Your email address is being changed",
        "Someone signed in to your account asked to move it to another email address. If that \
         was not you, change your password now: the change needs the new address confirmed.",
    );
    crate::email::enqueue(&state, &notice).await?;
    Ok(StatusCode::ACCEPTED)
}

#[utoipa::path(post, operation_id = "confirmEmailChange", path = "/api/v1/auth/confirm-email-change", tag = "auth", request_body = ConfirmRequest,
    responses((status = 200, description = "The account with its new, verified address", body = User), (status = 400, description = "`INVALID_TOKEN`", body = Problem), (status = 409, description = "`EMAIL_TAKEN`: another account took the address meanwhile", body = Problem)))]
pub async fn confirm(
    State(state): State<AppState>,
    AppJson(request): AppJson<ConfirmRequest>,
) -> ApiResult<AppJson<User>> {
    let invalid = || ApiError::new(Code::InvalidLink, "The link is invalid, expired or used.");
    let user_id = onetime::consume(&state, Purpose::ChangeEmail, &request.token)
        .await?
        .ok_or_else(invalid)?;
    let user = users::get(&state, &user_id)
        .await?
        .filter(|u| u.is_active())
        .ok_or_else(invalid)?;
    let new = user
        .pending_email
        .as_deref()
        .and_then(|e| Email::parse(e).ok())
        .ok_or_else(invalid)?;
    let changed = users::change_email(&state, &user, &new, true).await?;
    Ok(AppJson(User::of(&changed, state.api_base())))
}
