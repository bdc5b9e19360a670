//! `keys` (partition `/conversationId`): per-member key envelopes of a conversation (id = the
//! recipient's user id) and a user's key backup, in the partition `backup-{userId}` (id
//! `backup`), so no other container needs to exist for it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::ApiResult;
use crate::state::AppState;

const BACKUP_ID: &str = "backup";

/// One member's encrypted conversation key, opaque to the server.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvelopeDoc {
    /// The recipient's user id.
    pub id: String,
    pub conversation_id: String,
    pub envelope: Value,
    /// Who stored it.
    pub from: String,
    pub updated_at: DateTime<Utc>,
}

/// A user's encrypted key backup, opaque to the server.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupDoc {
    id: String,
    /// `backup-{userId}`.
    conversation_id: String,
    pub backup: Value,
    pub updated_at: DateTime<Utc>,
}

crate::document!(EnvelopeDoc, KEYS, conversation_id);
crate::document!(BackupDoc, KEYS, conversation_id);

fn backup_partition(user_id: &str) -> String {
    format!("backup-{user_id}")
}

pub async fn put_envelope(state: &AppState, envelope: &EnvelopeDoc) -> ApiResult<()> {
    state
        .stores
        .collection::<EnvelopeDoc>()
        .upsert(envelope)
        .await?;
    Ok(())
}

/// The envelope addressed to `user_id` in a conversation.
pub async fn envelope(
    state: &AppState,
    conversation_id: &str,
    user_id: &str,
) -> ApiResult<Option<EnvelopeDoc>> {
    let envelopes = state.stores.collection::<EnvelopeDoc>();
    Ok(envelopes.get(conversation_id, user_id).await?)
}

/// Stores the user's backup in place of the one before.
pub async fn put_backup(
    state: &AppState,
    user_id: &str,
    backup: Value,
    updated_at: DateTime<Utc>,
) -> ApiResult<BackupDoc> {
    let doc = BackupDoc {
        id: BACKUP_ID.into(),
        conversation_id: backup_partition(user_id),
        backup,
        updated_at,
    };
    state.stores.collection::<BackupDoc>().upsert(&doc).await?;
    Ok(doc)
}

pub async fn backup(state: &AppState, user_id: &str) -> ApiResult<Option<BackupDoc>> {
    let backups = state.stores.collection::<BackupDoc>();
    Ok(backups.get(&backup_partition(user_id), BACKUP_ID).await?)
}

/// Removes the user's backup and the envelopes addressed to them in `conversations`; returns
/// how many there were.
pub async fn erase(state: &AppState, user_id: &str, conversations: &[String]) -> ApiResult<u64> {
    let envelopes = state.stores.collection::<EnvelopeDoc>();
    let mut removed = 0;
    for conversation_id in conversations {
        removed += u64::from(envelopes.remove(conversation_id, user_id).await?);
    }
    let backups = state.stores.collection::<BackupDoc>();
    removed += u64::from(
        backups
            .remove(&backup_partition(user_id), BACKUP_ID)
            .await?,
    );
    Ok(removed)
}
