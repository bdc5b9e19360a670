//! Reading and writing conversations and memberships. A conversation exists for a user only
//! through their membership: everything about a conversation starts with [`member`].

use serde::de::DeserializeOwned;

use super::model::{ConversationDoc, MembershipDoc};
use crate::error::{ApiError, ApiResult, Code};
use crate::state::AppState;
use crate::store::{Order, PatchOp, Query, StoreError};

pub fn parse<T: DeserializeOwned>(value: serde_json::Value) -> ApiResult<T> {
    serde_json::from_value(value).map_err(ApiError::internal)
}

pub fn not_found() -> ApiError {
    ApiError::not_found("No such conversation.")
}

pub async fn conversation(
    state: &AppState,
    id: &str,
) -> ApiResult<Option<(ConversationDoc, String)>> {
    if crate::store::doc_id_ok(id).is_err() {
        return Ok(None);
    }
    match state.stores.documents.get("conversations", id, id).await? {
        Some(doc) => Ok(Some((parse(doc.value)?, doc.etag))),
        None => Ok(None),
    }
}

/// The caller's membership of a conversation; a 404 when they are not in it, so that a
/// conversation one is not in cannot be told from one that does not exist.
pub async fn member(
    state: &AppState,
    user_id: &str,
    conversation_id: &str,
) -> ApiResult<MembershipDoc> {
    if crate::store::doc_id_ok(conversation_id).is_err() {
        return Err(not_found());
    }
    match state
        .stores
        .documents
        .get("memberships", user_id, conversation_id)
        .await?
    {
        Some(doc) => parse(doc.value),
        None => Err(not_found()),
    }
}

/// The member and the conversation, both or a 404.
pub async fn member_of(
    state: &AppState,
    user_id: &str,
    conversation_id: &str,
) -> ApiResult<(MembershipDoc, ConversationDoc)> {
    let membership = member(state, user_id, conversation_id).await?;
    let (conversation, _) = conversation(state, conversation_id)
        .await?
        .ok_or_else(not_found)?;
    Ok((membership, conversation))
}

/// Applies `change` to the conversation with optimistic concurrency.
pub async fn update_conversation(
    state: &AppState,
    id: &str,
    mut change: impl FnMut(&mut ConversationDoc) -> ApiResult<()>,
) -> ApiResult<ConversationDoc> {
    for _ in 0..8 {
        let (mut doc, etag) = conversation(state, id).await?.ok_or_else(not_found)?;
        change(&mut doc)?;
        doc.updated_at = chrono::Utc::now();
        let value = serde_json::to_value(&doc).map_err(ApiError::internal)?;
        match state
            .stores
            .documents
            .replace("conversations", id, value, Some(&etag))
            .await
        {
            Ok(_) => return Ok(doc),
            Err(StoreError::PreconditionFailed) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::new(
        Code::ConcurrentUpdate,
        "The conversation kept changing; retry.",
    ))
}

/// Creates a membership unless it exists (a retried create finishes what a failed one began).
pub async fn ensure_membership(state: &AppState, membership: &MembershipDoc) -> ApiResult<()> {
    let value = serde_json::to_value(membership).map_err(ApiError::internal)?;
    match state
        .stores
        .documents
        .create("memberships", &membership.user_id, value)
        .await
    {
        Ok(_) | Err(StoreError::Conflict) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

pub async fn remove_membership(
    state: &AppState,
    user_id: &str,
    conversation_id: &str,
) -> ApiResult<()> {
    match state
        .stores
        .documents
        .delete("memberships", user_id, conversation_id)
        .await
    {
        Ok(()) | Err(StoreError::NotFound) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Patches one member's membership; a member who left meanwhile is skipped.
pub async fn patch_membership(
    state: &AppState,
    user_id: &str,
    conversation_id: &str,
    ops: &[PatchOp],
) -> ApiResult<()> {
    match state
        .stores
        .documents
        .patch("memberships", user_id, conversation_id, ops, None)
        .await
    {
        Ok(_) | Err(StoreError::NotFound) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// One page of a user's memberships, most recent activity first (one partition read).
pub async fn memberships_page(
    state: &AppState,
    user_id: &str,
    limit: u32,
    cursor: Option<&str>,
) -> ApiResult<(Vec<MembershipDoc>, Option<String>)> {
    let query = Query::default()
        .order_by("lastActivityAt", Order::Desc)
        .limit(limit);
    let page = state
        .stores
        .documents
        .query("memberships", Some(user_id), &query, cursor)
        .await?;
    let items = page
        .items
        .into_iter()
        .map(|d| parse(d.value))
        .collect::<ApiResult<Vec<_>>>()?;
    Ok((items, page.continuation))
}

/// Every membership of a user.
pub async fn all_memberships(state: &AppState, user_id: &str) -> ApiResult<Vec<MembershipDoc>> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let (page, next) = memberships_page(state, user_id, 100, cursor.as_deref()).await?;
        out.extend(page);
        match next {
            Some(next) => cursor = Some(next),
            None => return Ok(out),
        }
    }
}

pub async fn conversation_ids(state: &AppState, user_id: &str) -> ApiResult<Vec<String>> {
    Ok(all_memberships(state, user_id)
        .await?
        .into_iter()
        .map(|m| m.id)
        .collect())
}
