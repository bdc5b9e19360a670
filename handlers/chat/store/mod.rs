//! The only place chat touches documents, through typed collections. This module reads and
//! writes conversations and memberships: a conversation exists for a user only through their
//! membership, so everything about a conversation starts with [`member`]. Messages and claims
//! are in [`messages`], key envelopes and backups in [`keys`], the archival checkpoint in
//! [`checkpoint`].

pub mod checkpoint;
pub mod keys;
pub mod messages;

use serde_json::json;

use super::model::{ConversationDoc, LastMessage, MemberRole, MembershipDoc, ReadPosition};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::{
    Change, Cmp, Collection, Filter, Order, PatchOp, Query, StoreError, StoreResult,
};

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

pub async fn set_member_role(
    state: &AppState,
    user_id: &str,
    conversation_id: &str,
    role: MemberRole,
) -> ApiResult<()> {
    let ops = [PatchOp::Set("/role".into(), json!(role))];
    patch_membership(state, user_id, conversation_id, &ops).await
}

/// The JSON pointer of a member's read position (user ids are UUIDs: nothing to escape, but
/// escaped as RFC 6901 says all the same).
fn read_pointer(user_id: &str) -> String {
    format!("/reads/{}", user_id.replace('~', "~0").replace('/', "~1"))
}

/// Records a new message on its conversation and answers its sequence number: one more in the
/// sequence, the last message, and the sender's read position moved along with it (their own
/// message is not unread to them, whatever else they have not read). One patch, so concurrent
/// sends each count, and one write whatever the number of members.
pub async fn note_message(
    state: &AppState,
    conversation: &ConversationDoc,
    last: &LastMessage,
) -> ApiResult<i64> {
    ensure_read_position(state, conversation, &last.sender_id).await?;
    let ops = [
        PatchOp::Incr("/seq".into(), 1),
        PatchOp::Incr(format!("{}/seq", read_pointer(&last.sender_id)), 1),
        PatchOp::Set("/lastMessage".into(), json!(last)),
        PatchOp::Set("/lastActivityAt".into(), json!(last.sent_at)),
    ];
    Ok(patch_conversation(state, &conversation.id, &ops).await?.seq)
}

/// Applies `ops` to the conversation in one patch; a 404 when it is gone.
async fn patch_conversation(
    state: &AppState,
    id: &str,
    ops: &[PatchOp],
) -> ApiResult<ConversationDoc> {
    match conversations(state).patch(id, id, ops, None).await {
        Ok(updated) => Ok(updated),
        Err(StoreError::NotFound) => Err(not_found()),
        Err(e) => Err(e.into()),
    }
}

/// Gives `user_id` a read position at the conversation's current sequence if they have none:
/// a conversation stored before read positions, where a patch of `/reads/...` has no parent.
async fn ensure_read_position(
    state: &AppState,
    conversation: &ConversationDoc,
    user_id: &str,
) -> ApiResult<()> {
    if conversation.reads.contains_key(user_id) {
        return Ok(());
    }
    update_conversation(state, &conversation.id, |c| {
        let seq = c.seq;
        c.reads.entry(user_id.to_owned()).or_insert(ReadPosition {
            seq,
            ..ReadPosition::default()
        });
        Ok(())
    })
    .await
    .map(drop)
}

/// Moves the member's read position to `position`. One patch of the conversation.
pub async fn set_read(
    state: &AppState,
    conversation: &ConversationDoc,
    user_id: &str,
    position: &ReadPosition,
) -> ApiResult<()> {
    ensure_read_position(state, conversation, user_id).await?;
    let ops = [PatchOp::Set(read_pointer(user_id), json!(position))];
    patch_conversation(state, &conversation.id, &ops)
        .await
        .map(drop)
}

/// Every conversation `user_id` is in, most recent activity first. One query over the
/// conversations by participant: across partitions, so without ORDER BY (the Cosmos DB
/// gateway serves a filtered cross-partition query, not an ordered one), sorted here. A
/// member's list is read from the documents that a send writes, so that a send writes one
/// document rather than one per member.
pub async fn conversations_of(state: &AppState, user_id: &str) -> ApiResult<Vec<ConversationDoc>> {
    let query = Query::default()
        .filter(Filter::new("participantIds", Cmp::ArrayContains, user_id))
        .limit(1000);
    let mut all = conversations(state).query_all(None, &query).await?;
    all.sort_by(|a, b| {
        b.activity()
            .cmp(&a.activity())
            .then_with(|| a.id.cmp(&b.id))
    });
    Ok(all)
}

/// Whether `a` and `b` are both in some conversation: one query, at most one row.
pub async fn share_a_conversation(state: &AppState, a: &str, b: &str) -> ApiResult<bool> {
    let query = Query::default()
        .filter(Filter::new("participantIds", Cmp::ArrayContains, a))
        .filter(Filter::new("participantIds", Cmp::ArrayContains, b))
        .limit(1);
    let page = conversations(state).query(None, &query, None).await?;
    Ok(!page.items.is_empty())
}

/// Every membership of a user.
pub async fn all_memberships(state: &AppState, user_id: &str) -> ApiResult<Vec<MembershipDoc>> {
    let query = Query::default().order_by("joinedAt", Order::Asc).limit(100);
    Ok(memberships(state).query_all(Some(user_id), &query).await?)
}

pub async fn conversation_ids(state: &AppState, user_id: &str) -> ApiResult<Vec<String>> {
    Ok(all_memberships(state, user_id)
        .await?
        .into_iter()
        .map(|m| m.id)
        .collect())
}
