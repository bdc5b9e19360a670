//! `/api/v1/users/*`: the caller's profile, password, activity, export and erase; and the
//! admin's user management.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::activity::Activity;
use super::model::{Preferences, User, UserDoc};
use super::store as users;
use crate::auth::extract::{AdminUser, AuthUser, ClientIp, UserAgent};
use crate::auth::onetime::{self, Purpose};
use crate::auth::{limits, sessions};
use crate::email::Email as Mail;
use crate::error::{ApiError, ApiResult, AppJson, FieldErrors, Problem};
use crate::paging::page_limit;
use crate::state::AppState;
use crate::users::model::{Email, Role, UserStatus};

/// The erase job's queue.
pub const ERASE_QUEUE: &str = "erasures";

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProfilePatch {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub preferences: Option<Preferences>,
    /// 0 to 500 characters, on the public profile.
    #[serde(default)]
    #[schema(max_length = 500)]
    pub bio: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PasswordChange {
    pub current_password: String,
    /// 10 to 128 characters, not easy to guess.
    #[schema(min_length = 10, max_length = 128)]
    pub new_password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EraseRequest {
    /// The account's password. An account without one (made through a sign-in link or a
    /// provider) leaves it out, and must have signed in within the last 10 minutes instead.
    #[serde(default)]
    pub password: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AdminPatch {
    /// `user` or `admin`.
    #[serde(default)]
    pub role: Option<String>,
    /// 1 to 100 characters.
    #[serde(default)]
    pub name: Option<String>,
    /// A new address, unverified until its owner follows the verification link sent to it.
    #[serde(default)]
    #[schema(format = Email)]
    pub email: Option<String>,
    /// `active` or `suspended` (suspending ends every session).
    #[serde(default)]
    pub status: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ListParams {
    /// Matches email or name, ignoring case.
    pub search: Option<String>,
    pub cursor: Option<String>,
    /// 1 to 100, default 20.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserPage {
    pub items: Vec<User>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActivityPage {
    pub items: Vec<Activity>,
    pub next_cursor: Option<String>,
}

async fn current(state: &AppState, user: &AuthUser) -> ApiResult<UserDoc> {
    users::get(state, &user.user_id)
        .await?
        .ok_or_else(|| ApiError::not_found("No such user."))
}

#[utoipa::path(get, operation_id = "getMe", path = "/api/v1/users/me", tag = "users", security(("bearer" = [])),
    responses((status = 200, description = "The signed-in user", body = User), (status = 401, description = "Not signed in", body = Problem)))]
pub async fn me(State(state): State<AppState>, user: AuthUser) -> ApiResult<AppJson<User>> {
    Ok(AppJson(User::of(
        &current(&state, &user).await?,
        state.api_base(),
    )))
}

#[utoipa::path(patch, operation_id = "updateMe", path = "/api/v1/users/me", tag = "users", security(("bearer" = [])), request_body = ProfilePatch,
    responses((status = 200, description = "The updated user", body = User), (status = 400, description = "Unknown or invalid fields", body = Problem)))]
pub async fn update_me(
    State(state): State<AppState>,
    user: AuthUser,
    AppJson(patch): AppJson<ProfilePatch>,
) -> ApiResult<AppJson<User>> {
    let mut errors = FieldErrors::new();
    let name = patch.name.map(|n| n.trim().to_owned());
    if name
        .as_ref()
        .is_some_and(|n| n.is_empty() || n.chars().count() > 100)
    {
        errors.insert(
            "name".into(),
            vec!["Enter a name of 1 to 100 characters.".into()],
        );
    }
    if let Some(p) = &patch.preferences
        && !["light", "dark", "system"].contains(&p.theme.as_str())
    {
        errors.insert(
            "preferences.theme".into(),
            vec!["Use light, dark or system.".into()],
        );
    }
    let bio = patch.bio.map(|b| b.trim().to_owned());
    if bio.as_ref().is_some_and(|b| b.chars().count() > 500) {
        errors.insert("bio".into(), vec!["Keep the bio to 500 characters.".into()]);
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let updated = users::update(&state, &user.user_id, |u| {
        if let Some(name) = &name {
            u.name = name.clone();
        }
        if let Some(bio) = &bio {
            u.bio = bio.clone();
        }
        if let Some(p) = &patch.preferences {
            u.preferences = p.clone();
        }
    })
    .await?;
    Ok(AppJson(User::of(&updated, state.api_base())))
}

#[utoipa::path(post, operation_id = "changePassword", path = "/api/v1/users/me/password", tag = "users", security(("bearer" = [])), request_body = PasswordChange,
    responses((status = 204, description = "Changed; every other session ended"), (status = 400, description = "`VALIDATION_FAILED`", body = Problem), (status = 429, description = "`ACCOUNT_LOCKED` after repeated wrong current passwords", body = Problem)))]
pub async fn change_password(
    State(state): State<AppState>,
    user: AuthUser,
    ClientIp(ip): ClientIp,
    UserAgent(user_agent): UserAgent,
    AppJson(change): AppJson<PasswordChange>,
) -> ApiResult<StatusCode> {
    let stored = current(&state, &user).await?;
    // Counts toward the account's lockout like a sign-in: a stolen access token must not
    // become an unlimited password oracle.
    let ok = limits::verify_password(
        &state,
        Some(&stored.email),
        &change.current_password,
        Some(&stored),
    )
    .await?;
    let mut errors = FieldErrors::new();
    if !ok {
        errors.insert(
            "currentPassword".into(),
            vec!["The current password is wrong.".into()],
        );
    }
    let problems = crate::auth::password::problems(
        &change.new_password,
        &[stored.email.as_str(), stored.name.as_str()],
    );
    if !problems.is_empty() {
        errors.insert("newPassword".into(), problems);
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let hash = state
        .auth
        .passwords
        .hash(&change.new_password)
        .await
        .map_err(ApiError::internal)?;
    users::update(&state, &user.user_id, |u| {
        u.password_hash = Some(hash.clone())
    })
    .await?;
    sessions::revoke_all(
        &state,
        &user.user_id,
        Some(&user.session_id),
        "password changed",
    )
    .await?;
    // A reset or magic link mailed before the change would sign in around the new password.
    crate::auth::onetime::spend_sign_in_links(&state, &user.user_id).await?;
    super::activity::record(&state, &user.user_id, "password_changed", &ip, &user_agent).await;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, operation_id = "getMyActivity", path = "/api/v1/users/me/activity", tag = "users", security(("bearer" = [])),
    params(("cursor" = Option<String>, Query, description = "nextCursor of the previous page"), ("limit" = Option<u32>, Query, description = "1 to 100, default 20")),
    responses((status = 200, description = "Security events, newest first", body = ActivityPage)))]
pub async fn my_activity(
    State(state): State<AppState>,
    user: AuthUser,
    Query(params): Query<ListParams>,
) -> ApiResult<AppJson<ActivityPage>> {
    let page = users::activity_page(
        &state,
        &user.user_id,
        page_limit(params.limit),
        params.cursor.as_deref(),
    )
    .await?;
    // The caller knows whose activity it is.
    let items = page
        .items
        .into_iter()
        .map(|mut a| {
            a.user_id.clear();
            a
        })
        .collect();
    Ok(AppJson(ActivityPage {
        items,
        next_cursor: page.continuation,
    }))
}

#[utoipa::path(get, operation_id = "exportMyData", path = "/api/v1/users/me/data-export", tag = "users", security(("bearer" = [])),
    responses((status = 200, description = "Everything stored about the caller, as one JSON document")))]
pub async fn data_export(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<AppJson<serde_json::Value>> {
    let stored = current(&state, &user).await?;
    Ok(AppJson(super::gdpr::export(&state, &stored).await?))
}

/// Ends every session, marks the account as being deleted, queues the erase job and frees the
/// email for a new sign-up.
async fn start_erase(state: &AppState, target: &UserDoc) -> ApiResult<()> {
    users::update(state, &target.id, |u| u.status = UserStatus::Deleting).await?;
    sessions::revoke_all(state, &target.id, None, "account deleted").await?;
    // The address is free at once, not when the queued erase gets to it (and before the job
    // is queued, so the job finds the claim gone or a new account's, which it leaves alone).
    users::release_email(state, target).await?;
    let message = serde_json::json!({"userId": target.id}).to_string();
    crate::jobs::outbox::enqueue(state, ERASE_QUEUE, message).await
}

#[utoipa::path(delete, operation_id = "deleteMe", path = "/api/v1/users/me", tag = "users", security(("bearer" = [])), request_body = EraseRequest,
    responses((status = 202, description = "Signed out everywhere; the erase is under way"), (status = 400, description = "`VALIDATION_FAILED` (wrong or missing password)", body = Problem), (status = 403, description = "`RECENT_SIGN_IN_REQUIRED`: an account without a password signed in more than 10 minutes ago", body = Problem), (status = 409, description = "`LAST_ADMIN`: the last active admin cannot be erased", body = Problem), (status = 429, description = "`ACCOUNT_LOCKED` after repeated wrong passwords", body = Problem)))]
pub async fn delete_me(
    State(state): State<AppState>,
    user: AuthUser,
    AppJson(request): AppJson<EraseRequest>,
) -> ApiResult<StatusCode> {
    let stored = current(&state, &user).await?;
    super::owner::confirm(&state, &user, &stored, request.password.as_deref()).await?;
    // Erasing oneself is allowed, but not as the last active admin.
    super::admins::guard(&state, None, &stored, super::admins::Change::Delete).await?;
    start_erase(&state, &stored).await?;
    Ok(StatusCode::ACCEPTED)
}

#[utoipa::path(get, operation_id = "listUsers", path = "/api/v1/users", tag = "users", security(("bearer" = ["admin"])), params(ListParams),
    responses((status = 200, description = "Users matching the search, a page at a time", body = UserPage), (status = 403, description = "`FORBIDDEN`", body = Problem)))]
pub async fn list(
    State(state): State<AppState>,
    _admin: AdminUser,
    Query(params): Query<ListParams>,
) -> ApiResult<AppJson<UserPage>> {
    let search = params
        .search
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_lowercase);
    let page = users::page(
        &state,
        search.as_deref(),
        page_limit(params.limit),
        params.cursor.as_deref(),
    )
    .await?;
    let items = page
        .items
        .iter()
        .map(|u| User::of(u, state.api_base()))
        .collect();
    Ok(AppJson(UserPage {
        items,
        next_cursor: page.continuation,
    }))
}

#[utoipa::path(get, operation_id = "getUser", path = "/api/v1/users/{id}", tag = "users", security(("bearer" = ["admin"])),
    params(("id" = String, Path, description = "User id")),
    responses((status = 200, description = "The user", body = User), (status = 404, description = "No such user", body = Problem)))]
pub async fn get_one(
    State(state): State<AppState>,
    _admin: AdminUser,
    Path(id): Path<String>,
) -> ApiResult<AppJson<User>> {
    let user = users::get(&state, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("No such user."))?;
    Ok(AppJson(User::of(&user, state.api_base())))
}

#[utoipa::path(patch, operation_id = "updateUser", path = "/api/v1/users/{id}", tag = "users", security(("bearer" = ["admin"])), request_body = AdminPatch,
    params(("id" = String, Path, description = "User id")),
    responses((status = 200, description = "The updated user", body = User), (status = 400, description = "`VALIDATION_FAILED`", body = Problem), (status = 404, description = "No such user", body = Problem), (status = 409, description = "`SELF_CHANGE` (suspending or demoting yourself) or `LAST_ADMIN`", body = Problem)))]
pub async fn update_one(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    Path(id): Path<String>,
    AppJson(patch): AppJson<AdminPatch>,
) -> ApiResult<AppJson<User>> {
    let mut errors = FieldErrors::new();
    let role = patch.role.as_deref().map(Role::parse);
    if role.is_some_and(|r| r.is_none()) {
        errors.insert("role".into(), vec!["Use user, mentor or admin.".into()]);
    }
    let status = patch.status.as_deref().map(UserStatus::parse_settable);
    if status.is_some_and(|s| s.is_none()) {
        errors.insert("status".into(), vec!["Use active or suspended.".into()]);
    }
    let name = patch.name.as_deref().map(str::trim).map(str::to_owned);
    if name
        .as_ref()
        .is_some_and(|n| n.is_empty() || n.chars().count() > 100)
    {
        errors.insert(
            "name".into(),
            vec!["Enter a name of 1 to 100 characters.".into()],
        );
    }
    let email = match patch.email.as_deref().map(Email::parse) {
        None => None,
        Some(Ok(email)) => Some(email),
        Some(Err(message)) => {
            errors.insert("email".into(), vec![message.into()]);
            None
        }
    };
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let target = users::get(&state, &id)
        .await?
        .filter(|u| u.status != UserStatus::Deleting)
        .ok_or_else(|| ApiError::not_found("No such user."))?;
    if let Some(change) = super::admins::change_of(&target, role.flatten(), status.flatten()) {
        super::admins::guard(&state, Some(&admin.user_id), &target, change).await?;
    }
    if let Some(email) = email.filter(|e| e.as_str() != target.email) {
        users::change_email(&state, &target, &email, false).await?;
        let token = onetime::issue(&state, Purpose::VerifyEmail, &target.id).await?;
        let text = format!(
            "Your account's address is now this one. Confirm it: {}",
            crate::auth::routes::link(&state, "/verify-email", &token)
        );
        let mail = Mail::new(
            "verification",
            email.as_str(),
            "Confirm your email address",
            &text,
        );
        crate::email::enqueue(&state, &mail).await?;
    }
    let updated = users::update(&state, &id, |u| {
        if let Some(name) = &name {
            u.name = name.clone();
        }
        if let Some(Some(role)) = role {
            u.role = role;
        }
        if let Some(Some(status)) = status {
            u.status = status;
        }
    })
    .await?;
    if updated.status == UserStatus::Suspended {
        sessions::revoke_all(&state, &id, None, "suspended").await?;
    }
    let details = serde_json::json!({"role": patch.role, "status": patch.status, "name": patch.name.is_some(), "email": patch.email.is_some()});
    crate::audit::record(&state, &admin.user_id, "user.update", &id, details).await;
    Ok(AppJson(User::of(&updated, state.api_base())))
}

#[utoipa::path(delete, operation_id = "deleteUser", path = "/api/v1/users/{id}", tag = "users", security(("bearer" = ["admin"])),
    params(("id" = String, Path, description = "User id")),
    responses((status = 202, description = "Signed out everywhere; the erase is under way"), (status = 404, description = "No such user", body = Problem), (status = 409, description = "`SELF_CHANGE` (deleting yourself here; `DELETE users/me` erases your own account) or `LAST_ADMIN`", body = Problem)))]
pub async fn delete_one(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let user = users::get(&state, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("No such user."))?;
    super::admins::guard(
        &state,
        Some(&admin.user_id),
        &user,
        super::admins::Change::Delete,
    )
    .await?;
    start_erase(&state, &user).await?;
    crate::audit::record(&state, &admin.user_id, "user.delete", &id, Value::Null).await;
    Ok(StatusCode::ACCEPTED)
}
