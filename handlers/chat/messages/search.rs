//! Searching the plain text of the caller's messages.

use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::chat::model::{Message, MessageDoc};
use crate::chat::store::{self as chat, messages as store};
use crate::error::{ApiError, ApiResult, AppJson, FieldErrors, Problem};
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
pub struct SearchParams {
    /// 2 to 100 characters, matched in plain text ignoring case.
    #[param(min_length = 2, max_length = 100)]
    pub q: String,
    pub conversation_id: Option<String>,
    /// 1 to 50, default 20.
    #[param(minimum = 1, maximum = 50)]
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SearchResults {
    pub items: Vec<Message>,
}

#[utoipa::path(get, operation_id = "searchMessages", path = "/api/v1/messages/search", tag = "chat", security(("bearer" = [])), params(SearchParams),
    responses(
        (status = 200, description = "Plain-text messages of the caller's conversations that contain `q`, newest first", body = SearchResults),
        (status = 400, description = "`VALIDATION_FAILED`", body = Problem),
        (status = 404, description = "`conversationId` is not one of yours", body = Problem),
    ))]
pub async fn search(
    State(state): State<AppState>,
    user: crate::auth::extract::AuthUser,
    Query(params): Query<SearchParams>,
) -> ApiResult<AppJson<SearchResults>> {
    let q = params.q.trim().to_lowercase();
    if !(2..=100).contains(&q.chars().count()) {
        return Err(ApiError::validation(FieldErrors::from([(
            "q".to_owned(),
            vec!["Use 2 to 100 characters.".to_owned()],
        )])));
    }
    let limit = params.limit.unwrap_or(20).clamp(1, 50);
    let conversations = match &params.conversation_id {
        Some(id) => vec![chat::member_of(&state, &user.user_id, id).await?.1],
        None => {
            // The 50 most recently active conversations: search is for what people remember.
            let mut all = chat::conversations_of(&state, &user.user_id).await?;
            all.truncate(50);
            all
        }
    };
    let mut found: Vec<MessageDoc> = Vec::new();
    for conversation in &conversations {
        found.extend(store::search(&state, conversation, &q, limit).await?);
    }
    found.sort_by(|a, b| b.id.cmp(&a.id));
    found.truncate(limit as usize);
    Ok(AppJson(SearchResults {
        items: found.into_iter().map(Message::from).collect(),
    }))
}
