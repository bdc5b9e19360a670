//! Paging a conversation's messages, newest first.

use axum::extract::{Path, Query, State};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::chat::model::Message;
use crate::chat::store::{self as chat, messages as store};
use crate::error::{ApiResult, AppJson, Problem};
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct PageParams {
    /// `nextCursor` of the previous page: messages older than it.
    pub before: Option<String>,
    /// 1 to 100, default 50.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MessagePage {
    pub items: Vec<Message>,
    pub next_cursor: Option<String>,
    /// On the last page: whether older messages were archived (an admin can restore them).
    pub older_history_archived: bool,
}

#[utoipa::path(get, operation_id = "listMessages", path = "/api/v1/conversations/{id}/messages", tag = "chat", security(("bearer" = [])),
    params(("id" = String, Path, description = "Conversation id"), PageParams),
    responses(
        (status = 200, description = "Newest first; `nextCursor` continues with older ones, unaffected by new messages", body = MessagePage),
        (status = 404, description = "No such conversation of yours", body = Problem),
    ))]
pub async fn list(
    State(state): State<AppState>,
    user: crate::auth::extract::AuthUser,
    Path(id): Path<String>,
    Query(params): Query<PageParams>,
) -> ApiResult<AppJson<MessagePage>> {
    let (_, conversation) = chat::member_of(&state, &user.user_id, &id).await?;
    let limit = params.limit.unwrap_or(50).clamp(1, 100);
    // One more than the page: whether it is there says whether another page follows.
    let found = store::newest(&state, &conversation, params.before.as_deref(), limit + 1).await?;
    let mut items: Vec<Message> = found.into_iter().map(Message::from).collect();
    let more = items.len() > limit as usize;
    items.truncate(limit as usize);
    let next_cursor = more.then(|| items.last().map(|m| m.id.clone())).flatten();
    let older_history_archived =
        next_cursor.is_none() && crate::chat::archive::has_archive(&state, &id).await?;
    Ok(AppJson(MessagePage {
        items,
        next_cursor,
        older_history_archived,
    }))
}
