//! `POST /api/v1/users` (admin): an account made for someone, in status `invited`, with an
//! email to set a password through the reset flow; setting it makes the account `active` with
//! its address verified (the link proves it). Until then the account cannot sign in.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use serde::Deserialize;
use utoipa::ToSchema;

use super::model::{Email, Role, User, UserStatus};
use super::store as users;
use crate::auth::extract::AdminUser;
use crate::auth::onetime::{self, Purpose};
use crate::email::Email as Mail;
use crate::error::{ApiError, ApiResult, AppJson, FieldErrors, Problem};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewUser {
    #[schema(format = Email)]
    pub email: String,
    pub name: String,
    /// `user` (default) or `admin`.
    #[serde(default)]
    pub role: Option<String>,
}

#[utoipa::path(post, operation_id = "createUser", path = "/api/v1/users", tag = "users", security(("bearer" = ["admin"])), request_body = NewUser,
    responses((status = 201, description = "The account, `invited` until its owner sets a password through the emailed link", body = User), (status = 400, description = "`VALIDATION_FAILED`", body = Problem), (status = 403, description = "`FORBIDDEN`", body = Problem), (status = 409, description = "`EMAIL_TAKEN`", body = Problem)))]
pub async fn create(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    AppJson(request): AppJson<NewUser>,
) -> ApiResult<(StatusCode, AppJson<User>)> {
    let mut errors = FieldErrors::new();
    let email = match Email::parse(&request.email) {
        Ok(email) => Some(email),
        Err(message) => {
            errors.insert("email".into(), vec![message.into()]);
            None
        }
    };
    let name = request.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 100 {
        errors.insert(
            "name".into(),
            vec!["Enter a name of 1 to 100 characters.".into()],
        );
    }
    let role = match request.role.as_deref() {
        None => Some(Role::User),
        Some(raw) => Role::parse(raw),
    };
    if role.is_none() {
        errors.insert("role".into(), vec!["Use user, mentor or admin.".into()]);
    }
    let (Some(email), Some(role), true) = (email, role, errors.is_empty()) else {
        return Err(ApiError::validation(errors));
    };
    let mut user =
        crate::auth::routes::signup::new_account(&email, &name, None, role, false, Utc::now());
    user.status = UserStatus::Invited;
    user.last_login_at = None;
    users::create(&state, &user).await?;
    let token = onetime::issue(&state, Purpose::SetPassword, &user.id).await?;
    let text = format!(
        "An account was made for you on the learning portal. Set your password to start: {}",
        crate::auth::routes::link(&state, "/reset-password", &token)
    );
    let mail = Mail::new("account-created", email.as_str(), "Your new account", &text);
    // The account exists: a mail that cannot be queued now is resent by `forgot-password`.
    if let Err(e) = crate::email::enqueue(&state, &mail).await {
        tracing::warn!(user_id = %user.id, "account email not queued: {e}");
    }
    let details = serde_json::json!({"role": role.as_str()});
    crate::audit::record(&state, &admin.user_id, "user.create", &user.id, details).await;
    Ok((
        StatusCode::CREATED,
        AppJson(User::of(&user, state.api_base())),
    ))
}
