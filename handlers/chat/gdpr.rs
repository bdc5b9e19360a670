//! The chat part of a user's data export (memberships, the messages they sent, their key
//! backup, archived messages included) and erase (out of every conversation, their messages' content replaced by a
//! tombstone that keeps `senderId` as a deleted-user marker, their keys removed).

use serde_json::{Value, json};

use super::model::{Message, MessageKind};
use super::store::{self as chat, keys, messages};
use crate::error::ApiResult;
use crate::state::AppState;

pub async fn export(state: &AppState, user_id: &str) -> ApiResult<Value> {
    let memberships = chat::all_memberships(state, user_id).await?;
    let sent: Vec<Message> = messages::sent_by(state, user_id)
        .await?
        .into_iter()
        .map(Message::from)
        .collect();
    let mut archived = Vec::new();
    for membership in &memberships {
        for part in super::archive::parts(state, Some(&membership.id)).await? {
            archived.extend(
                super::archive::read_messages(state, &part)
                    .await?
                    .into_iter()
                    .filter(|m| m.sender_id == user_id && m.kind == MessageKind::Message),
            );
        }
    }
    Ok(json!({
        "memberships": memberships,
        "messages": sent,
        "archivedMessages": archived,
        "keyBackup": keys::backup(state, user_id).await?.map(|b| b.backup),
    }))
}

pub async fn erase(state: &AppState, user_id: &str) -> ApiResult<u64> {
    let conversations = chat::conversation_ids(state, user_id).await?;
    let mut removed = keys::erase(state, user_id, &conversations).await?;
    // Archived messages get the same tombstone as live ones.
    for id in &conversations {
        for part in super::archive::parts(state, Some(id)).await? {
            removed += super::archive::rewrite_part(state, &part, |m| {
                if m.sender_id != user_id || m.sender_deleted {
                    return false;
                }
                m.strip();
                m.sender_deleted = true;
                m.deleted_at.get_or_insert_with(chrono::Utc::now);
                true
            })
            .await?;
        }
    }
    for id in &conversations {
        super::conversations::leave_closed(state, id, user_id).await?;
        removed += 1;
    }
    removed += messages::tombstone_sender(state, user_id).await?;
    Ok(removed)
}
