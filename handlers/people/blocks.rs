//! Blocking: a blocked user cannot start a direct conversation with the one who blocked them,
//! post in their direct conversation, or find them in the directory. Group conversations are
//! unaffected. The list lives on the blocker's user document, read at the moment of use.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::extract::AuthUser;
use crate::error::{ApiError, ApiResult, AppJson, Code, Problem};
use crate::state::AppState;
use crate::users::model::{BlockEntry, MAX_BLOCKS, UserDoc};

/// Refuses `sender` acting on `blocker`'s direct conversation when `blocker` blocked them.
pub fn refuse_if_blocked(blocker: &UserDoc, sender_id: &str) -> ApiResult<()> {
    if blocker.has_blocked(sender_id) {
        Err(ApiError::new(
            Code::Blocked,
            "This person does not take direct messages from you.",
        ))
    } else {
        Ok(())
    }
}

/// The ids of the users who blocked `user_id` (one query across users).
pub async fn blockers_of(state: &AppState, user_id: &str) -> ApiResult<Vec<String>> {
    crate::users::store::blockers_of(state, user_id).await
}

async fn target(state: &AppState, caller: &AuthUser, id: &str) -> ApiResult<UserDoc> {
    if id == caller.user_id {
        return Err(
            ApiError::validation(Default::default()).with_field("id", "You cannot block yourself.")
        );
    }
    crate::users::store::get(state, id)
        .await?
        .filter(UserDoc::is_active)
        .ok_or_else(|| ApiError::not_found("No such person."))
}

#[utoipa::path(post, operation_id = "blockPerson", path = "/api/v1/people/{id}/block", tag = "people", security(("bearer" = [])),
    params(("id" = String, Path, description = "User id")),
    responses((status = 204, description = "Blocked (also when they already were)"), (status = 400, description = "`VALIDATION_FAILED`: yourself, or over 1000 blocks", body = Problem), (status = 404, description = "No such person", body = Problem)))]
pub async fn block(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    target(&state, &user, &id).await?;
    let mut full = false;
    crate::users::store::update(&state, &user.user_id, |me| {
        full = false;
        if me.has_blocked(&id) {
            return;
        }
        if me.blocked.len() >= MAX_BLOCKS {
            full = true;
            return;
        }
        me.blocked.push(BlockEntry {
            user_id: id.clone(),
            at: Utc::now(),
        });
    })
    .await?;
    if full {
        return Err(ApiError::validation(Default::default())
            .with_field("id", "You can block at most 1000 people."));
    }
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, operation_id = "unblockPerson", path = "/api/v1/people/{id}/block", tag = "people", security(("bearer" = [])),
    params(("id" = String, Path, description = "User id")),
    responses((status = 204, description = "Not blocked (also when they were not)"), (status = 401, description = "Not signed in", body = Problem)))]
pub async fn unblock(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    crate::users::store::update(&state, &user.user_id, |me| {
        me.blocked.retain(|b| b.user_id != id);
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Blocked {
    pub user_id: String,
    /// Their name, when the account still exists.
    pub name: Option<String>,
    pub blocked_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BlockList {
    pub items: Vec<Blocked>,
}

#[utoipa::path(get, operation_id = "listMyBlocks", path = "/api/v1/users/me/blocks", tag = "people", security(("bearer" = [])),
    responses((status = 200, description = "Whom the caller blocked, oldest first", body = BlockList), (status = 401, description = "Not signed in", body = Problem)))]
pub async fn list(State(state): State<AppState>, user: AuthUser) -> ApiResult<AppJson<BlockList>> {
    let me = crate::users::store::get(&state, &user.user_id)
        .await?
        .ok_or_else(|| ApiError::not_found("No such user."))?;
    let ids: Vec<String> = me.blocked.iter().map(|b| b.user_id.clone()).collect();
    let users = crate::users::store::get_many(&state, &ids).await?;
    let items = me
        .blocked
        .iter()
        .map(|b| Blocked {
            user_id: b.user_id.clone(),
            name: users
                .iter()
                .find(|u| u.id == b.user_id && u.is_active())
                .map(|u| u.name.clone()),
            blocked_at: b.at,
        })
        .collect();
    Ok(AppJson(BlockList { items }))
}
