//! Read receipts and typing: what a member tells the others about their reading and writing.

use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::chat::model::{Action, ReadPosition};
use crate::chat::store::{self as chat, messages as store};
use crate::error::{ApiError, ApiResult, AppJson, FieldErrors, Problem};
use crate::state::AppState;

pub const TYPING_TTL: Duration = Duration::from_secs(5);

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReadRequest {
    pub message_id: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReadState {
    pub unread_count: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TypingRequest {
    /// `start` or `stop`.
    pub state: String,
}

/// What a typing notice says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Typing {
    Start,
    Stop,
}

impl Typing {
    /// A function, not serde: a bad state is a field error of `VALIDATION_FAILED`, from the
    /// REST body and from a realtime frame alike.
    fn parse(state: &str) -> Option<Self> {
        match state {
            "start" => Some(Self::Start),
            "stop" => Some(Self::Stop),
            _ => None,
        }
    }
}

/// Marks the conversation read up to `message_id`: the caller's read position moves to that
/// message's place in the sequence (back too: reading up to an earlier message marks the rest
/// unread again), and their unread count is what was sent after it. One document write.
pub async fn mark_read(
    state: &AppState,
    user_id: &str,
    conversation_id: &str,
    message_id: &str,
) -> ApiResult<(i64, Vec<Action>)> {
    let (_, conversation) = chat::member_of(state, user_id, conversation_id).await?;
    let Some(message) = store::get(state, conversation_id, message_id).await? else {
        return Err(ApiError::not_found("No such message in this conversation."));
    };
    let now = Utc::now();
    let position = ReadPosition {
        seq: message.seq,
        message_id: Some(message.id.clone()),
        read_at: Some(now),
    };
    chat::set_read(state, &conversation, user_id, &position).await?;
    let unread = (conversation.seq - message.seq).max(0);
    let actions = vec![Action::to_group(
        conversation_id,
        "read.receipt",
        json!({"conversationId": conversation_id, "userId": user_id, "messageId": message_id, "readAt": now}),
    )];
    Ok((unread, actions))
}

#[utoipa::path(post, operation_id = "markRead", path = "/api/v1/conversations/{id}/read", tag = "chat", security(("bearer" = [])),
    params(("id" = String, Path, description = "Conversation id")), request_body = ReadRequest,
    responses(
        (status = 200, description = "The caller's unread count after this receipt", body = ReadState),
        (status = 404, description = "No such conversation of yours, or no such message in it", body = Problem),
    ))]
pub async fn read(
    State(state): State<AppState>,
    user: crate::auth::extract::AuthUser,
    Path(id): Path<String>,
    AppJson(request): AppJson<ReadRequest>,
) -> ApiResult<AppJson<ReadState>> {
    let (unread_count, actions) =
        mark_read(&state, &user.user_id, &id, &request.message_id).await?;
    state.realtime.apply(&actions).await;
    Ok(AppJson(ReadState { unread_count }))
}

/// Typing is only announced and remembered for a few seconds.
pub async fn typing_state(
    state: &AppState,
    user_id: &str,
    conversation_id: &str,
    typing: &str,
) -> ApiResult<Vec<Action>> {
    chat::member(state, user_id, conversation_id).await?;
    let key = format!("typing:{conversation_id}:{user_id}");
    let kind = match Typing::parse(typing) {
        Some(Typing::Start) => {
            state.stores.cache.set(&key, "1", TYPING_TTL).await?;
            "typing.start"
        }
        Some(Typing::Stop) => {
            state.stores.cache.del(&key).await?;
            "typing.stop"
        }
        None => {
            return Err(ApiError::validation(FieldErrors::from([(
                "state".to_owned(),
                vec!["Use start or stop.".to_owned()],
            )])));
        }
    };
    Ok(vec![Action::to_group(
        conversation_id,
        kind,
        json!({"conversationId": conversation_id, "userId": user_id}),
    )])
}

#[utoipa::path(post, operation_id = "sendTyping", path = "/api/v1/conversations/{id}/typing", tag = "chat", security(("bearer" = [])),
    params(("id" = String, Path, description = "Conversation id")), request_body = TypingRequest,
    responses(
        (status = 204, description = "Announced to the conversation"),
        (status = 400, description = "`VALIDATION_FAILED`", body = Problem),
        (status = 404, description = "No such conversation of yours", body = Problem),
    ))]
pub async fn typing(
    State(state): State<AppState>,
    user: crate::auth::extract::AuthUser,
    Path(id): Path<String>,
    AppJson(request): AppJson<TypingRequest>,
) -> ApiResult<StatusCode> {
    let actions = typing_state(&state, &user.user_id, &id, &request.state).await?;
    state.realtime.apply(&actions).await;
    Ok(StatusCode::NO_CONTENT)
}
