//! Messages: send (idempotent per `clientMessageId`), page newest first, edit, soft delete,
//! read receipts, typing, search. The core operations return the realtime [`Action`]s they
//! cause, so HTTP routes send them through the REST API and the Web PubSub trigger returns
//! them through its output binding.

use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::model::{ADMIN, Action, Attachment, ConversationDoc, MAX_TEXT, Message, MessageDoc};
use super::realtime::Realtime;
use super::store::{self as chat, parse};
use crate::error::{ApiError, ApiResult, AppJson, Code, FieldErrors, Problem};
use crate::files::model::Grant;
use crate::state::AppState;
use crate::store::{Cmp, Filter, Order, PatchOp, Query as StoreQuery, StoreError};

/// A `clientMessageId` is remembered this long for retries.
const CLAIM_TTL_SECONDS: i64 = 7 * 24 * 3600;
const MAX_ATTACHMENTS: usize = 10;
const MAX_CIPHERTEXT_BYTES: usize = 64 * 1024;
pub const TYPING_TTL: Duration = Duration::from_secs(5);

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

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EditRequest {
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub ciphertext: Option<Value>,
}

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

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct PageParams {
    /// `nextCursor` of the previous page: messages older than it.
    pub before: Option<String>,
    /// 1 to 100, default 50.
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

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
pub struct SearchParams {
    /// 2 to 100 characters, matched in plain text ignoring case.
    pub q: String,
    pub conversation_id: Option<String>,
    /// 1 to 50, default 20.
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SearchResults {
    pub items: Vec<Message>,
}

fn forbidden(detail: &str) -> ApiError {
    ApiError::new(Code::Forbidden, detail)
}

/// Messages older than the conversation's TTL are never shown, even before they expire.
fn live(query: StoreQuery, conversation: &ConversationDoc) -> StoreQuery {
    let query = query.filter(Filter::eq("kind", "message"));
    match conversation.message_ttl_seconds {
        Some(ttl) => {
            let oldest = Utc::now() - chrono::Duration::seconds(ttl as i64);
            query.filter(Filter::new("createdAt", Cmp::Gte, oldest.to_rfc3339()))
        }
        None => query,
    }
}

fn check_ciphertext(value: &Value) -> bool {
    let fields_ok = ["alg", "iv", "data", "keyId"]
        .iter()
        .all(|f| value.get(f).is_some_and(Value::is_string));
    fields_ok && value.to_string().len() <= MAX_CIPHERTEXT_BYTES
}

fn check_content(
    errors: &mut FieldErrors,
    text: &Option<String>,
    ciphertext: &Option<Value>,
) -> Option<String> {
    match (text, ciphertext) {
        (Some(_), Some(_)) => {
            errors.insert(
                "text".into(),
                vec!["Send text or ciphertext, not both.".into()],
            );
            None
        }
        (Some(text), None) => {
            let text = text.trim();
            let n = text.chars().count();
            if n == 0 || n > MAX_TEXT {
                errors.insert(
                    "text".into(),
                    vec![format!("Use 1 to {MAX_TEXT} characters.")],
                );
            }
            Some(text.to_owned())
        }
        (None, Some(c)) => {
            if !check_ciphertext(c) {
                errors.insert(
                    "ciphertext".into(),
                    vec!["Send {alg, iv, data, keyId} as strings, at most 64 KiB.".into()],
                );
            }
            None
        }
        (None, None) => None,
    }
}

fn client_id_ok(id: &str) -> bool {
    (1..=100).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
}

/// The claim that reserves a `clientMessageId` for one sender in one conversation.
fn claim_id(sender_id: &str, client_message_id: &str) -> String {
    let digest = Sha256::digest(format!("{sender_id}\n{client_message_id}").as_bytes());
    let hex: String = digest.iter().take(20).map(|b| format!("{b:02x}")).collect();
    format!("claim-{hex}")
}

async fn get_message(
    state: &AppState,
    conversation_id: &str,
    id: &str,
) -> ApiResult<Option<(MessageDoc, String)>> {
    if crate::store::doc_id_ok(id).is_err() {
        return Ok(None);
    }
    match state
        .stores
        .documents
        .get("messages", conversation_id, id)
        .await?
    {
        Some(doc) if doc.value["kind"] == "message" => Ok(Some((parse(doc.value)?, doc.etag))),
        _ => Ok(None),
    }
}

/// Sends a message. Returns it, whether it is new (not a retry), and what to broadcast. With
/// `deliver`, the broadcast goes out as soon as the message is stored, before the members'
/// unread counts are updated, and no actions are returned.
pub async fn send(
    state: &AppState,
    sender_id: &str,
    conversation_id: &str,
    request: SendRequest,
    deliver: Option<&Realtime>,
) -> ApiResult<(Message, bool, Vec<Action>)> {
    let (_, conversation) = chat::member_of(state, sender_id, conversation_id).await?;
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
    let docs = &state.stores.documents;
    let claim = claim_id(sender_id, &request.client_message_id);
    // A retry: answer the first message.
    if let Some(existing) = docs.get("messages", conversation_id, &claim).await? {
        return Ok((
            settle_claim(state, conversation_id, existing.value).await?,
            false,
            Vec::new(),
        ));
    }
    if let Some(reply_to) = &request.reply_to
        && get_message(state, conversation_id, reply_to)
            .await?
            .is_none()
    {
        return Err(ApiError::validation(FieldErrors::from([(
            "replyTo".to_owned(),
            vec!["No such message in this conversation.".to_owned()],
        )])));
    }
    let mut attachments = Vec::new();
    for file_id in &request.attachments {
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
    let ttl = conversation.message_ttl_seconds.map(|t| t as i64);
    let message = MessageDoc {
        id: uuid::Uuid::now_v7().to_string(),
        conversation_id: conversation_id.to_owned(),
        kind: "message".into(),
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
        ttl,
    };
    let claim_doc = json!({
        "id": claim, "conversationId": conversation_id, "kind": "claim", "senderId": sender_id,
        "message": message, "ttl": ttl.map_or(CLAIM_TTL_SECONDS, |t| t.min(CLAIM_TTL_SECONDS)),
    });
    match docs.create("messages", conversation_id, claim_doc).await {
        Ok(_) => {}
        // The same message, sent twice at once: the other one won.
        Err(StoreError::Conflict) => {
            let existing = docs
                .get("messages", conversation_id, &claim)
                .await?
                .ok_or_else(|| ApiError::new(Code::ConcurrentUpdate, "Retry the send."))?;
            return Ok((
                settle_claim(state, conversation_id, existing.value).await?,
                false,
                Vec::new(),
            ));
        }
        Err(e) => return Err(e.into()),
    }
    let value = serde_json::to_value(&message).map_err(ApiError::internal)?;
    match docs.create("messages", conversation_id, value).await {
        Ok(_) | Err(StoreError::Conflict) => {}
        Err(e) => return Err(e.into()),
    }
    let view = Message::from(message.clone());
    let mut actions = vec![Action::to_group(
        conversation_id,
        "message.new",
        serde_json::to_value(&view).map_err(ApiError::internal)?,
    )];
    if let Some(realtime) = deliver {
        realtime.apply(&actions).await;
        actions.clear();
    }
    announce(state, &conversation, &message).await?;
    Ok((view, true, actions))
}

/// The message a claim reserved; written from the claim if its first sender failed before.
async fn settle_claim(state: &AppState, conversation_id: &str, claim: Value) -> ApiResult<Message> {
    let message: MessageDoc = parse(claim["message"].clone())?;
    if let Some((stored, _)) = get_message(state, conversation_id, &message.id).await? {
        return Ok(stored.into());
    }
    let value = serde_json::to_value(&message).map_err(ApiError::internal)?;
    match state
        .stores
        .documents
        .create("messages", conversation_id, value)
        .await
    {
        Ok(_) => {
            if let Some((conversation, _)) = chat::conversation(state, conversation_id).await? {
                announce(state, &conversation, &message).await?;
            }
        }
        Err(StoreError::Conflict) => {}
        Err(e) => return Err(e.into()),
    }
    Ok(message.into())
}

/// Every member's conversation list learns of the message: one more unread for the others.
async fn announce(
    state: &AppState,
    conversation: &ConversationDoc,
    message: &MessageDoc,
) -> ApiResult<()> {
    let last = serde_json::to_value(message.last_message()).map_err(ApiError::internal)?;
    let at = json!(message.created_at.to_rfc3339());
    let updates = conversation.participant_ids.iter().map(|member| {
        let mut ops = vec![
            PatchOp::Set("/lastMessage".into(), last.clone()),
            PatchOp::Set("/lastActivityAt".into(), at.clone()),
        ];
        if member == &message.sender_id {
            ops.push(PatchOp::Set("/lastReadMessageId".into(), json!(message.id)));
        } else {
            ops.push(PatchOp::Incr("/unreadCount".into(), 1));
        }
        async move { chat::patch_membership(state, member, &conversation.id, &ops).await }
    });
    for result in futures::future::join_all(updates).await {
        result?;
    }
    Ok(())
}

#[utoipa::path(post, path = "/api/v1/conversations/{id}/messages", tag = "chat", security(("bearer" = [])),
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

#[utoipa::path(get, path = "/api/v1/conversations/{id}/messages", tag = "chat", security(("bearer" = [])),
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
    // Ids grow with time, so "older than the cursor" is "id below it": a page boundary that
    // new messages cannot move.
    let mut query = live(StoreQuery::default(), &conversation)
        .order_by("id", Order::Desc)
        .limit(limit + 1);
    if let Some(before) = &params.before {
        query = query.filter(Filter::new("id", Cmp::Lt, before.as_str()));
    }
    let page = state
        .stores
        .documents
        .query("messages", Some(&id), &query, None)
        .await?;
    let mut items = page
        .items
        .into_iter()
        .map(|d| parse::<MessageDoc>(d.value).map(Message::from))
        .collect::<ApiResult<Vec<_>>>()?;
    let more = items.len() > limit as usize;
    items.truncate(limit as usize);
    let next_cursor = more.then(|| items.last().map(|m| m.id.clone())).flatten();
    let older_history_archived =
        next_cursor.is_none() && super::archive::has_archive(&state, &id).await?;
    Ok(AppJson(MessagePage {
        items,
        next_cursor,
        older_history_archived,
    }))
}

/// A message by id alone, for its conversation's members only.
async fn find(
    state: &AppState,
    user_id: &str,
    id: &str,
) -> ApiResult<(MessageDoc, String, ConversationDoc, String)> {
    let not_found = || ApiError::not_found("No such message.");
    if crate::store::doc_id_ok(id).is_err() {
        return Err(not_found());
    }
    let query = StoreQuery::default()
        .filter(Filter::eq("id", id))
        .filter(Filter::eq("kind", "message"))
        .limit(1);
    let page = state
        .stores
        .documents
        .query("messages", None, &query, None)
        .await?;
    let doc = page.items.into_iter().next().ok_or_else(not_found)?;
    let message: MessageDoc = parse(doc.value)?;
    let (membership, conversation) = chat::member_of(state, user_id, &message.conversation_id)
        .await
        .map_err(|_| not_found())?;
    Ok((message, doc.etag, conversation, membership.role))
}

#[utoipa::path(patch, path = "/api/v1/messages/{id}", tag = "chat", security(("bearer" = [])),
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
    let (mut message, etag, _, _) = find(&state, &user.user_id, &id).await?;
    if message.sender_id != user.user_id {
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
    message.ciphertext = request.ciphertext;
    message.edited_at = Some(Utc::now());
    let conversation_id = message.conversation_id.clone();
    let value = serde_json::to_value(&message).map_err(ApiError::internal)?;
    state
        .stores
        .documents
        .replace("messages", &conversation_id, value, Some(&etag))
        .await?;
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

#[utoipa::path(delete, path = "/api/v1/messages/{id}", tag = "chat", security(("bearer" = [])),
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
    let (mut message, etag, _, role) = find(&state, &user.user_id, &id).await?;
    if message.sender_id != user.user_id && role != ADMIN {
        return Err(forbidden(
            "Only the sender or a group admin deletes a message.",
        ));
    }
    if message.deleted_at.is_some() {
        return Ok(StatusCode::NO_CONTENT);
    }
    message.strip();
    message.deleted_at = Some(Utc::now());
    let conversation_id = message.conversation_id.clone();
    let value = serde_json::to_value(&message).map_err(ApiError::internal)?;
    state
        .stores
        .documents
        .replace("messages", &conversation_id, value, Some(&etag))
        .await?;
    state
        .realtime
        .apply(&[Action::to_group(
            &conversation_id,
            "message.deleted",
            json!({"conversationId": conversation_id, "messageId": id, "deletedBy": user.user_id}),
        )])
        .await;
    Ok(StatusCode::NO_CONTENT)
}

/// Marks the conversation read up to `message_id`; the caller's unread count becomes the
/// number of others' messages after it.
pub async fn mark_read(
    state: &AppState,
    user_id: &str,
    conversation_id: &str,
    message_id: &str,
) -> ApiResult<(i64, Vec<Action>)> {
    let (_, conversation) = chat::member_of(state, user_id, conversation_id).await?;
    if get_message(state, conversation_id, message_id)
        .await?
        .is_none()
    {
        return Err(ApiError::not_found("No such message in this conversation."));
    }
    let query = live(StoreQuery::default(), &conversation)
        .filter(Filter::new("id", Cmp::Gt, message_id))
        .filter(Filter::new("senderId", Cmp::Ne, user_id))
        .filter(Filter::new("deletedAt", Cmp::Missing, Value::Null))
        .limit(1000);
    let mut unread = 0i64;
    let mut cursor: Option<String> = None;
    loop {
        let page = state
            .stores
            .documents
            .query("messages", Some(conversation_id), &query, cursor.as_deref())
            .await?;
        unread += page.items.len() as i64;
        match page.continuation {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    chat::patch_membership(
        state,
        user_id,
        conversation_id,
        &[
            PatchOp::Set("/unreadCount".into(), json!(unread)),
            PatchOp::Set("/lastReadMessageId".into(), json!(message_id)),
        ],
    )
    .await?;
    let actions = vec![Action::to_group(
        conversation_id,
        "read.receipt",
        json!({"conversationId": conversation_id, "userId": user_id, "messageId": message_id, "readAt": Utc::now()}),
    )];
    Ok((unread, actions))
}

#[utoipa::path(post, path = "/api/v1/conversations/{id}/read", tag = "chat", security(("bearer" = [])),
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
    let kind = match typing {
        "start" => {
            state.stores.cache.set(&key, "1", TYPING_TTL).await?;
            "typing.start"
        }
        "stop" => {
            state.stores.cache.del(&key).await?;
            "typing.stop"
        }
        _ => {
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

#[utoipa::path(post, path = "/api/v1/conversations/{id}/typing", tag = "chat", security(("bearer" = [])),
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

#[utoipa::path(get, path = "/api/v1/messages/search", tag = "chat", security(("bearer" = [])), params(SearchParams),
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
    let limit = params.limit.unwrap_or(20).clamp(1, 50) as usize;
    let conversations = match &params.conversation_id {
        Some(id) => vec![chat::member_of(&state, &user.user_id, id).await?.1],
        None => {
            // The 50 most recently active conversations: search is for what people remember.
            let (memberships, _) = chat::memberships_page(&state, &user.user_id, 50, None).await?;
            let mut out = Vec::new();
            for m in memberships {
                if let Some((c, _)) = chat::conversation(&state, &m.id).await? {
                    out.push(c);
                }
            }
            out
        }
    };
    let mut found: Vec<MessageDoc> = Vec::new();
    for conversation in &conversations {
        let query = live(StoreQuery::default(), conversation)
            .filter(Filter::new("searchText", Cmp::Contains, q.as_str()))
            .filter(Filter::new("deletedAt", Cmp::Missing, Value::Null))
            .order_by("id", Order::Desc)
            .limit(limit as u32);
        let page = state
            .stores
            .documents
            .query("messages", Some(&conversation.id), &query, None)
            .await?;
        for doc in page.items {
            found.push(parse(doc.value)?);
        }
    }
    found.sort_by(|a, b| b.id.cmp(&a.id));
    found.truncate(limit);
    Ok(AppJson(SearchResults {
        items: found.into_iter().map(Message::from).collect(),
    }))
}

/// Removes what a user's messages said, keeping that they were there (the erase).
pub async fn tombstone_sender(state: &AppState, user_id: &str) -> ApiResult<u64> {
    let docs = &state.stores.documents;
    let query = StoreQuery::default()
        .filter(Filter::eq("senderId", user_id))
        .filter(Filter::new("senderDeleted", Cmp::Missing, Value::Null))
        .limit(200);
    let mut changed = 0;
    // What is changed no longer matches: ask again from the start until nothing does.
    loop {
        let page = docs.query("messages", None, &query, None).await?;
        if page.items.is_empty() {
            return Ok(changed);
        }
        for doc in page.items {
            let conversation_id = doc.value["conversationId"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            if doc.value["kind"] == "claim" {
                match docs.delete("messages", &conversation_id, doc.id()).await {
                    Ok(()) | Err(StoreError::NotFound) => {}
                    Err(e) => return Err(e.into()),
                }
                continue;
            }
            let mut message: MessageDoc = parse(doc.value)?;
            message.strip();
            message.sender_deleted = true;
            message.deleted_at.get_or_insert_with(Utc::now);
            let value = serde_json::to_value(&message).map_err(ApiError::internal)?;
            docs.replace("messages", &conversation_id, value, None)
                .await?;
            changed += 1;
        }
    }
}

/// Every message a user sent (the data export).
pub async fn sent_by(state: &AppState, user_id: &str) -> ApiResult<Vec<Message>> {
    let query = StoreQuery::default()
        .filter(Filter::eq("senderId", user_id))
        .filter(Filter::eq("kind", "message"))
        .limit(500);
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = state
            .stores
            .documents
            .query("messages", None, &query, cursor.as_deref())
            .await?;
        for doc in page.items {
            out.push(Message::from(parse::<MessageDoc>(doc.value)?));
        }
        match page.continuation {
            Some(next) => cursor = Some(next),
            None => return Ok(out),
        }
    }
}
