//! `/api/v1/people/*`: the directory, public profiles and avatars.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{PublicProfile, presence, profile};
use crate::auth::extract::AuthUser;
use crate::error::{ApiError, ApiResult, AppJson, Problem};
use crate::state::AppState;
use crate::users::model::{Email, UserDoc};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct SearchParams {
    /// At least 2 characters: part of a name (any case), or a whole email address.
    #[param(min_length = 2)]
    pub search: String,
    pub cursor: Option<String>,
    /// 1 to 100, default 20.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PeoplePage {
    pub items: Vec<PublicProfile>,
    pub next_cursor: Option<String>,
}

/// Profiles as `caller` sees them. Presence (online, last seen) is for people who share a
/// conversation with the caller, as `GET presence` has it; to others a profile shows neither.
pub async fn profiles(
    state: &AppState,
    caller: &str,
    users: &[UserDoc],
) -> ApiResult<Vec<PublicProfile>> {
    let contacts = presence::contacts(state, caller).await?;
    let ids: Vec<String> = users.iter().map(|u| u.id.clone()).collect();
    let online = presence::online(state, &ids).await;
    Ok(users
        .iter()
        .zip(online)
        .map(|(u, online)| {
            let mut shown = profile(u, online, state.api_base());
            if u.id != caller && !contacts.contains(&u.id) {
                shown.online = false;
                shown.last_seen_at = None;
            }
            shown
        })
        .collect())
}

#[utoipa::path(get, operation_id = "searchPeople", path = "/api/v1/people", tag = "people", security(("bearer" = [])), params(SearchParams),
    responses((status = 200, description = "Active, discoverable people whose name contains the search, or whose email is exactly it (the email is never shown); never someone who blocked the caller", body = PeoplePage), (status = 400, description = "`VALIDATION_FAILED`: under 2 characters", body = Problem), (status = 401, description = "Not signed in", body = Problem)))]
pub async fn search(
    State(state): State<AppState>,
    user: AuthUser,
    Query(params): Query<SearchParams>,
) -> ApiResult<AppJson<PeoplePage>> {
    let needle = params.search.trim().to_lowercase();
    if needle.chars().count() < 2 || needle.chars().count() > 100 {
        return Err(ApiError::validation(Default::default())
            .with_field("search", "Search with 2 to 100 characters."));
    }
    let limit = crate::paging::page_limit(params.limit);
    let blockers = super::blocks::blockers_of(&state, &user.user_id).await?;
    let hidden = |u: &UserDoc| {
        u.id == user.user_id
            || blockers.contains(&u.id)
            || !u.is_active()
            || !u.preferences.discoverable
    };
    let mut found: Vec<UserDoc> = Vec::new();
    // An exact email finds its person first, on the first page only; the answer never says
    // which entry matched by email.
    if params.cursor.is_none()
        && let Ok(email) = Email::parse(&needle)
        && let Some(u) = crate::users::store::find_by_email(&state, &email).await?
        && !hidden(&u)
    {
        found.push(u);
    }
    let page =
        crate::users::store::directory_page(&state, &needle, limit, params.cursor.as_deref())
            .await?;
    let mut named: Vec<UserDoc> = page
        .items
        .into_iter()
        .filter(|u| !hidden(u) && !found.iter().any(|f| f.id == u.id))
        .collect();
    // Names that start with the search first, then by name.
    named.sort_by_key(|u| {
        (
            !u.name.to_lowercase().starts_with(&needle),
            u.name.to_lowercase(),
        )
    });
    found.extend(named);
    Ok(AppJson(PeoplePage {
        items: profiles(&state, &user.user_id, &found).await?,
        next_cursor: page.continuation,
    }))
}

/// The person if `caller` may see them: active, and discoverable or sharing a conversation.
async fn visible(state: &AppState, caller: &AuthUser, id: &str) -> ApiResult<UserDoc> {
    let not_found = || ApiError::not_found("No such person.");
    let person = crate::users::store::get(state, id)
        .await?
        .filter(UserDoc::is_active)
        .ok_or_else(not_found)?;
    if person.id == caller.user_id
        || person.preferences.discoverable
        || crate::chat::store::share_a_conversation(state, &caller.user_id, &person.id).await?
    {
        Ok(person)
    } else {
        Err(not_found())
    }
}

#[utoipa::path(get, operation_id = "getPerson", path = "/api/v1/people/{id}", tag = "people", security(("bearer" = [])),
    params(("id" = String, Path, description = "User id")),
    responses((status = 200, description = "The public profile; `online` and `lastSeenAt` only for people who share a conversation with the caller", body = PublicProfile), (status = 404, description = "No such person you may see", body = Problem)))]
pub async fn get_one(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> ApiResult<AppJson<PublicProfile>> {
    let person = visible(&state, &user, &id).await?;
    let mut shown = profiles(&state, &user.user_id, std::slice::from_ref(&person)).await?;
    Ok(AppJson(shown.remove(0)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct AvatarParams {
    /// `thumb` for the small version.
    #[param(inline, value_type = Option<AvatarSize>)]
    pub size: Option<String>,
}

/// The sizes of an avatar.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AvatarSize {
    Thumb,
}

#[utoipa::path(get, operation_id = "getAvatar", path = "/api/v1/people/{id}/avatar", tag = "people", security(("bearer" = [])),
    params(("id" = String, Path, description = "User id"), AvatarParams),
    responses((status = 302, description = "To a short-lived read URL of the avatar, or its thumbnail (`Location`), with `Cache-Control: private, max-age=300`"), (status = 400, description = "`VALIDATION_FAILED`: an unknown size", body = Problem), (status = 404, description = "No such person, or no avatar", body = Problem)))]
pub async fn avatar(
    State(state): State<AppState>,
    _user: AuthUser,
    Path(id): Path<String>,
    Query(params): Query<AvatarParams>,
) -> ApiResult<Response> {
    let thumb = match params.size.as_deref() {
        None => false,
        Some("thumb") => true,
        Some(_) => {
            return Err(ApiError::validation(Default::default())
                .with_field("size", "Leave it out, or use thumb."));
        }
    };
    let none = || ApiError::not_found("No avatar.");
    let person = crate::users::store::get(&state, &id)
        .await?
        .filter(UserDoc::is_active)
        .ok_or_else(none)?;
    let file_id = person.avatar_file_id.as_deref().ok_or_else(none)?;
    let file = crate::files::store::get_own(&state, &person.id, file_id)
        .await?
        .filter(|f| f.status == crate::files::model::FileStatus::Ready)
        .ok_or_else(none)?;
    let view = crate::files::store::view(&state, &file).await?;
    let url = match (thumb, view.thumbnail.url) {
        (true, Some(thumbnail)) => thumbnail,
        // No thumbnail (yet): the picture itself.
        _ => {
            let expires = chrono::Utc::now() + crate::files::store::URL_LIFETIME;
            crate::files::store::inline_url(&state, &file, expires).await?
        }
    };
    let location = HeaderValue::from_str(&url).map_err(ApiError::internal)?;
    Ok((
        StatusCode::FOUND,
        [
            (header::LOCATION, location),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, max-age=300"),
            ),
        ],
    )
        .into_response())
}
