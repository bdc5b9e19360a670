//! Reading and writing notifications: the only place that touches the `notifications`
//! documents.
//!
//! Most kinds are written where their event happens ([`record`]). `message` notifications are
//! not written by a send: a send writes three documents whatever the number of members (the
//! hot-path issue), and one notification write per member would undo that. They are derived
//! from what a send already keeps, the conversation's sequence number and each member's read
//! position, and brought up to date when their owner reads notifications ([`sync_messages`]):
//! one notification per conversation with unread messages, with the count and the latest
//! preview; read through the conversation, it is marked read. Someone offline has no
//! connection to push it to, and someone online gets `message.new` events instead.

use chrono::Utc;
use serde_json::{Value, json};

use super::model::{Kind, NotificationDoc, TTL_SECONDS, message_id};
use crate::chat::model::{Action, ConversationDoc, Event};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::{Change, Collection, Filter, Order, PatchOp, Query, StoreError};
use crate::users::model::UserDoc;

fn notifications(state: &AppState) -> Collection<NotificationDoc> {
    state.stores.collection()
}

/// Tells the user's connections about a new or changed notification.
async fn push(state: &AppState, doc: &NotificationDoc) {
    let data = serde_json::to_value(super::model::Notification::from(doc)).unwrap_or_default();
    let action = Action::SendToGroup {
        group: crate::chat::triggers::user_group(&doc.user_id),
        event: Event {
            kind: "notification.new",
            data,
        },
    };
    state.realtime.apply(&[action]).await;
}

/// Whether the user takes notifications: active, and `preferences.notifications` on (which
/// stops every kind this feature has; none of them is a security notice).
fn wants(user: &UserDoc) -> bool {
    user.is_active() && user.preferences.notifications
}

/// Records a notification for `user` and pushes it to their connections. A failure is
/// logged, never the caller's failure: the event it tells of has happened.
pub async fn record(state: &AppState, user: &UserDoc, kind: Kind, data: Value) {
    if !wants(user) {
        return;
    }
    let doc = NotificationDoc {
        id: uuid::Uuid::now_v7().to_string(),
        user_id: user.id.clone(),
        kind,
        data,
        read_at: None,
        created_at: Utc::now(),
        ttl: TTL_SECONDS,
        seq: None,
        emailed_seq: None,
        emailed_at: None,
    };
    match notifications(state).create(&doc).await {
        Ok(_) => push(state, &doc).await,
        Err(e) => tracing::warn!(user_id = %user.id, ?kind, "notification not recorded: {e}"),
    }
}

/// [`record`] for each of `user_ids` (their documents read in one query).
pub async fn record_for(state: &AppState, user_ids: &[String], kind: Kind, data: Value) {
    if user_ids.is_empty() {
        return;
    }
    match crate::users::store::get_many(state, user_ids).await {
        Ok(users) => {
            for user in &users {
                record(state, user, kind, data.clone()).await;
            }
        }
        Err(e) => tracing::warn!(?kind, "notifications not recorded: {}", e.detail),
    }
}

fn message_data(conversation: &ConversationDoc, count: i64) -> Value {
    let last = conversation.last_message.as_ref();
    json!({
        "conversationId": conversation.id,
        "name": conversation.name,
        "count": count,
        "preview": last.map(|m| m.preview.as_str()).unwrap_or_default(),
        "senderId": last.map(|m| m.sender_id.as_str()),
    })
}

/// Brings the user's `message` notifications up to what their conversations say: one query of
/// the conversations, one of the notifications, and a write only where something changed.
pub async fn sync_messages(state: &AppState, user: &UserDoc) -> ApiResult<()> {
    let conversations = crate::chat::store::conversations_of(state, &user.id).await?;
    let query = Query::default()
        .filter(Filter::eq("kind", "message"))
        .limit(1000);
    let existing = notifications(state)
        .query_all(Some(&user.id), &query)
        .await?;
    let now = Utc::now();
    for conversation in &conversations {
        let id = message_id(&conversation.id);
        let stored = existing.iter().find(|n| n.id == id);
        let unread = conversation.unread_of(&user.id);
        let doc = match stored {
            // Unchanged since it was last brought up to date (read or not).
            Some(n) if n.seq == Some(conversation.seq) && (unread > 0 || n.read_at.is_some()) => {
                continue;
            }
            // Read through the conversation.
            Some(n) if unread == 0 => NotificationDoc {
                read_at: Some(now),
                seq: Some(conversation.seq),
                ..n.clone()
            },
            None if unread == 0 || !wants(user) => continue,
            // New messages: unread again, on top.
            _ => NotificationDoc {
                id: id.clone(),
                user_id: user.id.clone(),
                kind: Kind::Message,
                data: message_data(conversation, unread),
                read_at: None,
                created_at: conversation.activity(),
                ttl: TTL_SECONDS,
                seq: Some(conversation.seq),
                emailed_seq: stored.and_then(|n| n.emailed_seq),
                emailed_at: stored.and_then(|n| n.emailed_at),
            },
        };
        notifications(state).upsert(&doc).await?;
    }
    Ok(())
}

/// A page of the user's notifications, newest first.
pub async fn page(
    state: &AppState,
    user_id: &str,
    unread_only: bool,
    limit: u32,
    cursor: Option<&str>,
) -> ApiResult<(Vec<NotificationDoc>, Option<String>)> {
    let mut query = Query::default()
        .order_by("createdAt", Order::Desc)
        .limit(limit);
    if unread_only {
        query = query.filter(Filter::eq("readAt", Value::Null));
    }
    let page = notifications(state)
        .query(Some(user_id), &query, cursor)
        .await?;
    Ok((page.items, page.continuation))
}

/// How many of the user's notifications are unread (counted up to 1000).
pub async fn unread_count(state: &AppState, user_id: &str) -> ApiResult<usize> {
    let query = Query::default()
        .filter(Filter::eq("readAt", Value::Null))
        .limit(1000);
    Ok(notifications(state)
        .query_all(Some(user_id), &query)
        .await?
        .len())
}

/// Marks one of the user's notifications read; `false` when they have no such notification.
pub async fn mark_read(state: &AppState, user_id: &str, id: &str) -> ApiResult<bool> {
    if crate::store::doc_id_ok(id).is_err() {
        return Ok(false);
    }
    let at = json!(Utc::now());
    let set = [PatchOp::Set("/readAt".into(), at)];
    match notifications(state).patch(user_id, id, &set, None).await {
        Ok(_) => Ok(true),
        Err(StoreError::NotFound) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Marks every unread notification of the user read; returns how many.
pub async fn read_all(state: &AppState, user_id: &str) -> ApiResult<u64> {
    let query = Query::default()
        .filter(Filter::eq("readAt", Value::Null))
        .limit(1000);
    let unread = notifications(state)
        .query_all(Some(user_id), &query)
        .await?;
    let mut marked = 0;
    for n in &unread {
        if mark_read(state, user_id, &n.id).await? {
            marked += 1;
        }
    }
    Ok(marked)
}

/// Claims the digest email of a conversation's `message` notification: `true` for the one
/// caller that may send it (an etag-checked write), `false` when an email already covered
/// this sequence number or one went out within `window`.
pub async fn claim_digest(
    state: &AppState,
    user_id: &str,
    conversation: &ConversationDoc,
    window: chrono::Duration,
) -> ApiResult<bool> {
    let now = Utc::now();
    let claimed = notifications(state)
        .update_with(user_id, &message_id(&conversation.id), |n| {
            let covered = n.emailed_seq.is_some_and(|s| s >= conversation.seq);
            let recent = n.emailed_at.is_some_and(|at| now - at < window);
            if covered || recent || n.read_at.is_some() {
                return Ok::<_, ApiError>(Change::Keep(false));
            }
            n.emailed_seq = Some(conversation.seq);
            n.emailed_at = Some(now);
            Ok(Change::Write(true))
        })
        .await?;
    Ok(claimed.is_some_and(|(_, mine)| mine))
}

/// Every notification of the user (the data export).
pub async fn all_of(state: &AppState, user_id: &str) -> ApiResult<Vec<NotificationDoc>> {
    Ok(notifications(state)
        .query_all(Some(user_id), &Query::default().limit(1000))
        .await?)
}

/// Removes every notification of the user (the erase).
pub async fn erase(state: &AppState, user_id: &str) -> ApiResult<u64> {
    let mut removed = 0;
    for n in all_of(state, user_id).await? {
        notifications(state).remove(user_id, &n.id).await?;
        removed += 1;
    }
    Ok(removed)
}
