//! `/api/v1/notifications/*`: what happened while the user was away, newest first.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::model::Notification;
use super::store;
use crate::auth::extract::AuthUser;
use crate::error::{ApiError, ApiResult, AppJson, Problem};
use crate::paging::page_limit;
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
pub struct ListParams {
    /// Only notifications not yet read.
    pub unread_only: Option<bool>,
    pub cursor: Option<String>,
    /// 1 to 100, default 20.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotificationPage {
    pub items: Vec<Notification>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UnreadCount {
    pub count: usize,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Marked {
    pub marked: u64,
}

async fn synced(state: &AppState, user: &AuthUser) -> ApiResult<()> {
    let me = crate::users::store::get(state, &user.user_id)
        .await?
        .ok_or_else(|| ApiError::not_found("No such user."))?;
    store::sync_messages(state, &me).await
}

#[utoipa::path(get, operation_id = "listNotifications", path = "/api/v1/notifications", tag = "notifications", security(("bearer" = [])), params(ListParams),
    responses((status = 200, description = "The caller's notifications, newest first", body = NotificationPage), (status = 401, description = "Not signed in", body = Problem)))]
pub async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    Query(params): Query<ListParams>,
) -> ApiResult<AppJson<NotificationPage>> {
    synced(&state, &user).await?;
    let (docs, next_cursor) = store::page(
        &state,
        &user.user_id,
        params.unread_only.unwrap_or(false),
        page_limit(params.limit),
        params.cursor.as_deref(),
    )
    .await?;
    Ok(AppJson(NotificationPage {
        items: docs.iter().map(Notification::from).collect(),
        next_cursor,
    }))
}

#[utoipa::path(get, operation_id = "countUnreadNotifications", path = "/api/v1/notifications/unread-count", tag = "notifications", security(("bearer" = [])),
    responses((status = 200, description = "How many notifications are unread (up to 1000)", body = UnreadCount), (status = 401, description = "Not signed in", body = Problem)))]
pub async fn unread_count(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<AppJson<UnreadCount>> {
    synced(&state, &user).await?;
    Ok(AppJson(UnreadCount {
        count: store::unread_count(&state, &user.user_id).await?,
    }))
}

#[utoipa::path(post, operation_id = "readNotification", path = "/api/v1/notifications/{id}/read", tag = "notifications", security(("bearer" = [])),
    params(("id" = String, Path, description = "Notification id")),
    responses((status = 204, description = "Read"), (status = 404, description = "No such notification of yours", body = Problem)))]
pub async fn read(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    if store::mark_read(&state, &user.user_id, &id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("No such notification."))
    }
}

#[utoipa::path(post, operation_id = "readAllNotifications", path = "/api/v1/notifications/read-all", tag = "notifications", security(("bearer" = [])),
    responses((status = 200, description = "Every notification read; how many were not", body = Marked), (status = 401, description = "Not signed in", body = Problem)))]
pub async fn read_all(State(state): State<AppState>, user: AuthUser) -> ApiResult<AppJson<Marked>> {
    synced(&state, &user).await?;
    Ok(AppJson(Marked {
        marked: store::read_all(&state, &user.user_id).await?,
    }))
}
