//! Presence: who is online (a live realtime connection), when they were last seen, and the one
//! `presence` event per change that goes to each person who shares a conversation with them.
//! Online state is kept in the cache as `online:{userId}` beside the set of connections
//! (chat triggers), so many users' state is one `MGET`.

use std::collections::BTreeSet;

use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::auth::extract::AuthUser;
use crate::chat::model::{Action, Event};
use crate::error::{ApiError, ApiResult, AppJson, Problem};
use crate::state::AppState;

pub fn online_key(user_id: &str) -> String {
    format!("online:{user_id}")
}

/// Which of `user_ids` are online, in their order (all offline when the cache is down: a
/// presence dot is not worth a failed request).
pub async fn online(state: &AppState, user_ids: &[String]) -> Vec<bool> {
    let keys: Vec<String> = user_ids.iter().map(|id| online_key(id)).collect();
    let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    match state.stores.cache.get_many(&refs).await {
        Ok(values) => values.iter().map(Option::is_some).collect(),
        Err(e) => {
            tracing::warn!("presence unknown, cache unavailable: {e}");
            vec![false; user_ids.len()]
        }
    }
}

/// Everyone who shares a conversation with `user_id` (not themselves): one query.
pub async fn contacts(state: &AppState, user_id: &str) -> ApiResult<BTreeSet<String>> {
    let conversations = crate::chat::store::conversations_of(state, user_id).await?;
    Ok(conversations
        .iter()
        .flat_map(|c| c.participant_ids.iter())
        .filter(|id| id.as_str() != user_id)
        .cloned()
        .collect())
}

/// One `presence` event to each contact's personal group: once per person, however many
/// conversations they share.
pub async fn change_actions(
    state: &AppState,
    user_id: &str,
    online: bool,
    last_seen_at: Option<chrono::DateTime<chrono::Utc>>,
) -> ApiResult<Vec<Action>> {
    let data = json!({"userId": user_id, "online": online, "lastSeenAt": last_seen_at});
    Ok(contacts(state, user_id)
        .await?
        .iter()
        .map(|contact| Action::SendToGroup {
            group: crate::chat::triggers::user_group(contact),
            event: Event {
                kind: "presence",
                data: data.clone(),
            },
        })
        .collect())
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
pub struct PresenceParams {
    /// Comma-separated user ids, at most 100.
    pub user_ids: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PresenceItem {
    pub user_id: String,
    pub online: bool,
    pub last_seen_at: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PresenceList {
    pub items: Vec<PresenceItem>,
}

#[utoipa::path(get, operation_id = "getPresence", path = "/api/v1/presence", tag = "people", security(("bearer" = [])), params(PresenceParams),
    responses((status = 200, description = "Presence of the named users who share a conversation with the caller; others are left out", body = PresenceList), (status = 400, description = "`VALIDATION_FAILED`: none, or more than 100", body = Problem), (status = 401, description = "Not signed in", body = Problem)))]
pub async fn get(
    State(state): State<AppState>,
    user: AuthUser,
    Query(params): Query<PresenceParams>,
) -> ApiResult<AppJson<PresenceList>> {
    let wanted: BTreeSet<&str> = params
        .user_ids
        .split(',')
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .collect();
    if wanted.is_empty() || wanted.len() > 100 {
        return Err(ApiError::validation(Default::default())
            .with_field("userIds", "Name 1 to 100 user ids, separated by commas."));
    }
    let contacts = contacts(&state, &user.user_id).await?;
    let visible: Vec<String> = wanted
        .into_iter()
        .filter(|id| contacts.contains(*id))
        .map(str::to_owned)
        .collect();
    let users = crate::users::store::get_many(&state, &visible).await?;
    let online = online(&state, &visible).await;
    let items = visible
        .iter()
        .zip(online)
        .filter_map(|(id, online)| {
            let user = users.iter().find(|u| &u.id == id && u.is_active())?;
            Some(PresenceItem {
                user_id: id.clone(),
                online,
                last_seen_at: user.last_seen_at,
            })
        })
        .collect();
    Ok(AppJson(PresenceList { items }))
}
