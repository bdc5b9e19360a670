//! Editing and deleting a message, addressed by its id alone. Both change the stored message
//! with optimistic concurrency, its checks made again on every fresh read.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::Utc;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::check_content;
use crate::chat::model::{Action, MemberRole, Message, MessageDoc};
use crate::chat::store::{self as chat, messages as store};
use crate::error::{ApiError, ApiResult, AppJson, Code, FieldErrors, Problem};
use crate::state::AppState;
use crate::store::Change;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EditRequest {
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub ciphertext: Option<Value>,
}

fn not_found() -> ApiError {
    ApiError::not_found("No such message.")
}

fn forbidden(detail: &str) -> ApiError {
    ApiError::new(Code::Forbidden, detail)
}

/// A message by id alone, for its conversation's members only, with the caller's role there.
async fn find(state: &AppState, user_id: &str, id: &str) -> ApiResult<(MessageDoc, MemberRole)> {
    let message = store::find(state, id).await?.ok_or_else(not_found)?;
    let (membership, _) = chat::member_of(state, user_id, &message.conversation_id)
        .await
        .map_err(|_| not_found())?;
    Ok((message, membership.role))
}

/// The edit applied to `message`, or why it cannot be.
fn apply_edit(message: &mut MessageDoc, user_id: &str, request: &EditRequest) -> ApiResult<()> {
    if message.sender_id != user_id {
        return Err(forbidden("Only the sender edits a message."));
    }
    if message.deleted_at.is_some() {
        return Err(ApiError::new(
            Code::MessageDeleted,
            "A deleted message cannot be edited.",
        ));
    }
    let mut errors = FieldErrors::new();
    let text = check_content(&mut errors, &request.text, &request.ciphertext);
    let kind_changes = message.text.is_some() != request.text.is_some()
        || message.ciphertext.is_some() != request.ciphertext.is_some();
    if request.text.is_none() && request.ciphertext.is_none() || kind_changes {
        errors.insert(
            "text".into(),
            vec!["Edit plain text with text, an encrypted message with ciphertext.".into()],
        );
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    message.search_text = text.as_ref().map(|t| t.to_lowercase());
    message.text = text;
    message.ciphertext = request.ciphertext.clone();
    message.edited_at = Some(Utc::now());
    Ok(())
}

#[utoipa::path(patch, operation_id = "editMessage", path = "/api/v1/messages/{id}", tag = "chat", security(("bearer" = [])),
    params(("id" = String, Path, description = "Message id")), request_body = EditRequest,
    responses(
        (status = 200, description = "Edited; `editedAt` set", body = Message),
        (status = 400, description = "`VALIDATION_FAILED`", body = Problem),
        (status = 403, description = "`FORBIDDEN`: only the sender edits", body = Problem),
        (status = 404, description = "No such message in your conversations", body = Problem),
        (status = 409, description = "`MESSAGE_DELETED`", body = Problem),
    ))]
pub async fn edit(
    State(state): State<AppState>,
    user: crate::auth::extract::AuthUser,
    Path(id): Path<String>,
    AppJson(request): AppJson<EditRequest>,
) -> ApiResult<AppJson<Message>> {
    let (found, _) = find(&state, &user.user_id, &id).await?;
    let conversation_id = found.conversation_id;
    let (message, ()) = store::update(&state, &conversation_id, &id, |message| {
        apply_edit(message, &user.user_id, &request).map(Change::Write)
    })
    .await?
    .ok_or_else(not_found)?;
    let view = Message::from(message);
    state
        .realtime
        .apply(&[Action::to_group(
            &conversation_id,
            "message.updated",
            serde_json::to_value(&view).map_err(ApiError::internal)?,
        )])
        .await;
    Ok(AppJson(view))
}

#[utoipa::path(delete, operation_id = "deleteMessage", path = "/api/v1/messages/{id}", tag = "chat", security(("bearer" = [])),
    params(("id" = String, Path, description = "Message id")),
    responses(
        (status = 204, description = "Deleted: content removed, `deletedAt` set"),
        (status = 403, description = "`FORBIDDEN`: the sender or a group admin deletes", body = Problem),
        (status = 404, description = "No such message in your conversations", body = Problem),
    ))]
pub async fn delete(
    State(state): State<AppState>,
    user: crate::auth::extract::AuthUser,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let (found, role) = find(&state, &user.user_id, &id).await?;
    let conversation_id = found.conversation_id;
    let (_, deleted_now) = store::update(&state, &conversation_id, &id, |message| {
        if message.sender_id != user.user_id && role != MemberRole::Admin {
            return Err(forbidden(
                "Only the sender or a group admin deletes a message.",
            ));
        }
        if message.deleted_at.is_some() {
            return Ok(Change::Keep(false));
        }
        message.strip();
        message.deleted_at = Some(Utc::now());
        Ok(Change::Write(true))
    })
    .await?
    .ok_or_else(not_found)?;
    if deleted_now {
        state
            .realtime
            .apply(&[Action::to_group(
                &conversation_id,
                "message.deleted",
                json!({"conversationId": conversation_id, "messageId": id, "deletedBy": user.user_id}),
            )])
            .await;
    }
    Ok(StatusCode::NO_CONTENT)
}
