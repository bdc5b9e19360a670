//! The chat part of a user's data export (memberships, the messages they sent, their key
//! backup) and erase (out of every conversation, their messages' content replaced by a
//! tombstone that keeps `senderId` as a deleted-user marker, their keys removed).

use serde_json::{Value, json};

use super::store as chat;
use crate::app::AppState;
use crate::error::ApiResult;

pub async fn export(state: &AppState, user_id: &str) -> ApiResult<Value> {
    let memberships = chat::all_memberships(state, user_id).await?;
    let messages = super::messages::sent_by(state, user_id).await?;
    Ok(json!({
        "memberships": memberships,
        "messages": messages,
        "keyBackup": super::keys::backup_of(state, user_id).await?,
    }))
}

pub async fn erase(state: &AppState, user_id: &str) -> ApiResult<u64> {
    let conversations = chat::conversation_ids(state, user_id).await?;
    let mut removed = super::keys::erase(state, user_id, &conversations).await?;
    for id in &conversations {
        super::conversations::leave(state, id, user_id, user_id).await?;
        removed += 1;
    }
    removed += super::messages::tombstone_sender(state, user_id).await?;
    Ok(removed)
}
