//! The chat part of a user's data export (memberships, the messages they sent, their key
//! backup, archived messages included) and erase (out of every conversation, their messages' content replaced by a
//! tombstone that keeps `senderId` as a deleted-user marker, their keys removed).

use serde_json::{Value, json};

use super::store as chat;
use crate::error::ApiResult;
use crate::state::AppState;

pub async fn export(state: &AppState, user_id: &str) -> ApiResult<Value> {
    let memberships = chat::all_memberships(state, user_id).await?;
    let messages = super::messages::sent_by(state, user_id).await?;
    let mut archived = Vec::new();
    for membership in &memberships {
        for part in super::archive::parts(state, Some(&membership.id)).await? {
            archived.extend(
                super::archive::read_part(state, &part)
                    .await?
                    .into_iter()
                    .filter(|m| m["senderId"] == user_id && m["kind"] == "message"),
            );
        }
    }
    Ok(json!({
        "memberships": memberships,
        "messages": messages,
        "archivedMessages": archived,
        "keyBackup": super::keys::backup_of(state, user_id).await?,
    }))
}

pub async fn erase(state: &AppState, user_id: &str) -> ApiResult<u64> {
    let conversations = chat::conversation_ids(state, user_id).await?;
    let mut removed = super::keys::erase(state, user_id, &conversations).await?;
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
        super::conversations::leave(state, id, user_id, user_id).await?;
        removed += 1;
    }
    removed += super::messages::tombstone_sender(state, user_id).await?;
    Ok(removed)
}
