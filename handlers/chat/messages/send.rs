//! Sending a message. A claim document reserves the sender's `clientMessageId` for a message
//! id before the message is written (`store::messages`), so a retried or doubled send answers
//! the first message, and a send that failed after its claim is finished by the next try,
//! from the retry's own content (the claim keeps no copy of it).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::Utc;
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::check_content;
use crate::chat::model::{Action, Attachment, Message, MessageDoc, MessageKind};
use crate::chat::realtime::Realtime;
use crate::chat::store::messages::{self as store, ClaimDoc};
use crate::chat::store::{self as chat};
use crate::error::{ApiError, ApiResult, AppJson, Code, FieldErrors, Problem};
use crate::files::model::Grant;
use crate::state::AppState;

const MAX_ATTACHMENTS: usize = 10;

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SendRequest {
    /// The client's id for this message: sending it again returns the first message.
    pub client_message_id: String,
    #[serde(default)]
    pub text: Option<String>,
    /// `{alg, iv, data, keyId}`, stored opaque.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub ciphertext: Option<Value>,
    /// Ids of the sender's ready files.
    #[serde(default)]
    pub attachments: Vec<String>,
    #[serde(default)]
    pub reply_to: Option<String>,
}

fn client_id_ok(id: &str) -> bool {
    (1..=100).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
}

fn check(request: &SendRequest) -> Result<Option<String>, ApiError> {
    let mut errors = FieldErrors::new();
    if !client_id_ok(&request.client_message_id) {
        errors.insert(
            "clientMessageId".into(),
            vec!["Use 1 to 100 letters, digits, '-', '_', '.' or ':'.".into()],
        );
    }
    let text = check_content(&mut errors, &request.text, &request.ciphertext);
    if request.text.is_none() && request.ciphertext.is_none() && request.attachments.is_empty() {
        errors.insert(
            "text".into(),
            vec!["Send text, ciphertext or attachments.".into()],
        );
    }
    if request.attachments.len() > MAX_ATTACHMENTS {
        errors.insert(
            "attachments".into(),
            vec![format!("Attach at most {MAX_ATTACHMENTS} files.")],
        );
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    Ok(text)
}

/// The sender's ready files, granted to the conversation's members.
async fn attach(
    state: &AppState,
    sender_id: &str,
    conversation_id: &str,
    file_ids: &[String],
) -> ApiResult<Vec<Attachment>> {
    let mut attachments = Vec::new();
    for file_id in file_ids {
        let file = crate::files::store::grant(
            state,
            sender_id,
            file_id,
            Grant::Conversation(conversation_id.to_owned()),
        )
        .await
        .map_err(|e| {
            e.with_field(
                "attachments",
                format!("{file_id} is not a ready file of yours."),
            )
        })?;
        attachments.push(Attachment {
            file_id: file.id,
            owner_id: file.owner_id,
            file_name: file.file_name,
            content_type: file.content_type,
            size: file.size,
        });
    }
    Ok(attachments)
}

/// Sends a message. Returns it, whether it is new (not a retry), and what to broadcast. With
/// `deliver`, the broadcast goes out as soon as the message is stored and no actions are
/// returned.
pub async fn send(
    state: &AppState,
    sender_id: &str,
    conversation_id: &str,
    request: SendRequest,
    deliver: Option<&Realtime>,
) -> ApiResult<(Message, bool, Vec<Action>)> {
    let (_, conversation) = chat::member_of(state, sender_id, conversation_id).await?;
    let text = check(&request)?;
    // Decided now, from the peer's stored blocks: a block applies to the next message.
    if let Some(peer) = conversation.peer_of(sender_id)
        && let Some(peer) = crate::users::store::get(state, &peer).await?
    {
        crate::people::blocks::refuse_if_blocked(&peer, sender_id)?;
    }
    let claimed = store::claim(
        state,
        conversation_id,
        sender_id,
        &request.client_message_id,
    )
    .await?;
    // A retry: answer the first message.
    if let Some(claim) = &claimed
        && let Some(stored) = store::get(state, conversation_id, claim.message_id()).await?
    {
        return Ok((stored.into(), false, Vec::new()));
    }
    if let Some(reply_to) = &request.reply_to
        && store::get(state, conversation_id, reply_to)
            .await?
            .is_none()
    {
        return Err(ApiError::validation(FieldErrors::from([(
            "replyTo".to_owned(),
            vec!["No such message in this conversation.".to_owned()],
        )])));
    }
    let attachments = attach(state, sender_id, conversation_id, &request.attachments).await?;
    let mut message = MessageDoc {
        id: uuid::Uuid::now_v7().to_string(),
        conversation_id: conversation_id.to_owned(),
        kind: MessageKind::Message,
        sender_id: sender_id.to_owned(),
        client_message_id: request.client_message_id.clone(),
        search_text: text.as_ref().map(|t| t.to_lowercase()),
        text,
        ciphertext: request.ciphertext,
        attachments,
        reply_to: request.reply_to,
        created_at: Utc::now(),
        edited_at: None,
        deleted_at: None,
        sender_deleted: false,
        ttl: conversation.message_ttl_seconds.map(|t| t as i64),
        seq: 0,
    };
    match claimed {
        // A retry of a send that failed after its claim: finish it under the claimed id.
        Some(claim) => message.id = claim.message_id().to_owned(),
        None if store::create_claim(state, &ClaimDoc::of(&message)).await? => {}
        None => {
            // The same message, sent twice at once: the other one won the claim.
            let claim = store::claim(
                state,
                conversation_id,
                sender_id,
                &message.client_message_id,
            )
            .await?
            .ok_or_else(retry_the_send)?;
            message.id = claim.message_id().to_owned();
        }
    }
    // Its place in the sequence first, so that the stored message carries it (a read receipt
    // moves its reader there). Three writes in all: the claim, this, the message.
    message.seq = chat::note_message(state, &conversation, &message.last_message()).await?;
    // Whoever stores the message under the claimed id answers 201 and announces it, once.
    if !store::create(state, &message).await? {
        // The other send wrote it first: answer what it stored.
        let stored = store::get(state, conversation_id, &message.id)
            .await?
            .ok_or_else(retry_the_send)?;
        return Ok((stored.into(), false, Vec::new()));
    }
    let view = Message::from(message);
    let mut actions = vec![Action::to_group(
        conversation_id,
        "message.new",
        serde_json::to_value(&view).map_err(ApiError::internal)?,
    )];
    if let Some(realtime) = deliver {
        realtime.apply(&actions).await;
        actions.clear();
    }
    Ok((view, true, actions))
}

fn retry_the_send() -> ApiError {
    ApiError::new(Code::ConcurrentUpdate, "Retry the send.")
}

#[utoipa::path(post, operation_id = "sendMessage", path = "/api/v1/conversations/{id}/messages", tag = "chat", security(("bearer" = [])),
    params(("id" = String, Path, description = "Conversation id")), request_body = SendRequest,
    responses(
        (status = 201, description = "Sent", body = Message),
        (status = 200, description = "A retry: the message first sent with this clientMessageId", body = Message),
        (status = 400, description = "`VALIDATION_FAILED`, or `FILE_NOT_READY` for an attachment", body = Problem),
        (status = 404, description = "No such conversation of yours", body = Problem),
    ))]
pub async fn post(
    State(state): State<AppState>,
    user: crate::auth::extract::AuthUser,
    Path(id): Path<String>,
    AppJson(request): AppJson<SendRequest>,
) -> ApiResult<(StatusCode, AppJson<Message>)> {
    let (message, created, _) =
        send(&state, &user.user_id, &id, request, Some(&state.realtime)).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, AppJson(message)))
}
