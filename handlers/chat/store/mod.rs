//! The only place chat touches documents, through typed collections. This module reads and
//! writes conversations and memberships: a conversation exists for a user only through their
//! membership, so everything about a conversation starts with [`member`]. Messages and claims
//! are in [`messages`], key envelopes and backups in [`keys`], the archival checkpoint in
//! [`checkpoint`].

pub mod checkpoint;
pub mod keys;
pub mod messages;

use serde_json::json;

use super::model::{ConversationDoc, LastMessage, MemberRole, MembershipDoc};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::{Change, Collection, Order, PatchOp, Query, StoreError, StoreResult};

crate::document!(ConversationDoc, CONVERSATIONS, id);
crate::document!(MembershipDoc, MEMBERSHIPS, user_id);

fn conversations(state: &AppState) -> Collection<ConversationDoc> {
    state.stores.collection()
}

fn memberships(state: &AppState) -> Collection<MembershipDoc> {
    state.stores.collection()
}

pub fn not_found() -> ApiError {
    ApiError::not_found("No such conversation.")
}

pub async fn conversation(state: &AppState, id: &str) -> ApiResult<Option<ConversationDoc>> {
    Ok(conversations(state).get(id, id).await?)
}

/// Creates the conversation; `Ok(false)` when one with its id exists (a direct conversation's
/// id is its pair of participants, so that is the pair's existing one).
pub async fn create_conversation(
    state: &AppState,
    conversation: &ConversationDoc,
) -> ApiResult<bool> {
    Ok(conversations(state).create_if_absent(conversation).await?)
}

/// One page of every conversation (the archival run walks them all).
pub async fn conversations_page(
    state: &AppState,
    cursor: Option<&str>,
) -> StoreResult<(Vec<ConversationDoc>, Option<String>)> {
    let page = conversations(state)
        .query(None, &Query::default().limit(100), cursor)
        .await?;
    Ok((page.items, page.continuation))
}

/// The caller's membership of a conversation; a 404 when they are not in it, so that a
/// conversation one is not in cannot be told from one that does not exist.
pub async fn member(
    state: &AppState,
    user_id: &str,
    conversation_id: &str,
) -> ApiResult<MembershipDoc> {
    memberships(state)
        .get(user_id, conversation_id)
        .await?
        .ok_or_else(not_found)
}

/// The member and the conversation, both or a 404.
pub async fn member_of(
    state: &AppState,
    user_id: &str,
    conversation_id: &str,
) -> ApiResult<(MembershipDoc, ConversationDoc)> {
    let membership = member(state, user_id, conversation_id).await?;
    let conversation = conversation(state, conversation_id)
        .await?
        .ok_or_else(not_found)?;
    Ok((membership, conversation))
}

/// Applies `change` to the conversation with optimistic concurrency; `change` may refuse.
pub async fn update_conversation(
    state: &AppState,
    id: &str,
    mut change: impl FnMut(&mut ConversationDoc) -> ApiResult<()>,
) -> ApiResult<ConversationDoc> {
    let updated = conversations(state)
        .update_with(id, id, |c| {
            change(c)?;
            c.updated_at = chrono::Utc::now();
            Ok::<_, ApiError>(Change::Write(()))
        })
        .await?;
    updated.map(|(c, ())| c).ok_or_else(not_found)
}

/// Creates a membership unless it exists (a retried create finishes what a failed one began).
pub async fn ensure_membership(state: &AppState, membership: &MembershipDoc) -> ApiResult<()> {
    memberships(state).create_if_absent(membership).await?;
    Ok(())
}

pub async fn remove_membership(
    state: &AppState,
    user_id: &str,
    conversation_id: &str,
) -> ApiResult<()> {
    memberships(state).remove(user_id, conversation_id).await?;
    Ok(())
}

/// Patches one member's membership; a member who left meanwhile is skipped.
async fn patch_membership(
    state: &AppState,
    user_id: &str,
    conversation_id: &str,
    ops: &[PatchOp],
) -> ApiResult<()> {
    match memberships(state)
        .patch(user_id, conversation_id, ops, None)
        .await
    {
        Ok(_) | Err(StoreError::NotFound) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// The member's copy of the conversation's name.
pub async fn set_member_name(
    state: &AppState,
    user_id: &str,
    conversation_id: &str,
    name: &str,
) -> ApiResult<()> {
    let ops = [PatchOp::Set("/name".into(), json!(name))];
    patch_membership(state, user_id, conversation_id, &ops).await
}

pub async fn set_member_role(
    state: &AppState,
    user_id: &str,
    conversation_id: &str,
    role: MemberRole,
) -> ApiResult<()> {
    let ops = [PatchOp::Set("/role".into(), json!(role))];
    patch_membership(state, user_id, conversation_id, &ops).await
}

/// A new message in the member's list: the sender has read it, anyone else has one more
/// unread. A patch, so concurrent messages each count.
pub async fn note_message(
    state: &AppState,
    user_id: &str,
    conversation_id: &str,
    last: &LastMessage,
) -> ApiResult<()> {
    let mut ops = vec![
        PatchOp::Set("/lastMessage".into(), json!(last)),
        PatchOp::Set("/lastActivityAt".into(), json!(last.sent_at.to_rfc3339())),
    ];
    if user_id == last.sender_id {
        ops.push(PatchOp::Set("/lastReadMessageId".into(), json!(last.id)));
    } else {
        ops.push(PatchOp::Incr("/unreadCount".into(), 1));
    }
    patch_membership(state, user_id, conversation_id, &ops).await
}

/// The member has read up to `message_id` and has `unread` messages after it.
pub async fn set_read(
    state: &AppState,
    user_id: &str,
    conversation_id: &str,
    message_id: &str,
    unread: i64,
) -> ApiResult<()> {
    let ops = [
        PatchOp::Set("/unreadCount".into(), json!(unread)),
        PatchOp::Set("/lastReadMessageId".into(), json!(message_id)),
    ];
    patch_membership(state, user_id, conversation_id, &ops).await
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
    let page = memberships(state)
        .query(Some(user_id), &query, cursor)
        .await?;
    Ok((page.items, page.continuation))
}

/// Every membership of a user.
pub async fn all_memberships(state: &AppState, user_id: &str) -> ApiResult<Vec<MembershipDoc>> {
    let query = Query::default()
        .order_by("lastActivityAt", Order::Desc)
        .limit(100);
    Ok(memberships(state).query_all(Some(user_id), &query).await?)
}

pub async fn conversation_ids(state: &AppState, user_id: &str) -> ApiResult<Vec<String>> {
    Ok(all_memberships(state, user_id)
        .await?
        .into_iter()
        .map(|m| m.id)
        .collect())
}
