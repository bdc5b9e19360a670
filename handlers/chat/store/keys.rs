//! `keys` (partition `/conversationId`): key envelopes of a conversation, one per recipient and
//! sender (id `{recipientId}:{senderId}`), and a user's key backup, in the partition
//! `backup-{userId}` (id `backup`), so no other container needs to exist for it.
//!
//! The sender is part of the id so that a member writes only their own envelopes: one keyed by
//! recipient alone let any member overwrite the key another member had wrapped for someone.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::ApiResult;
use crate::state::AppState;
use crate::store::{Filter, Query};

const BACKUP_ID: &str = "backup";

/// One member's encrypted conversation key from one sender, opaque to the server.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvelopeDoc {
    /// `{recipientId}:{senderId}`, see [`EnvelopeDoc::new`].
    id: String,
    pub conversation_id: String,
    pub recipient_id: String,
    pub envelope: Value,
    /// Who stored it (the sender).
    pub from: String,
    pub updated_at: DateTime<Utc>,
}

impl EnvelopeDoc {
    pub fn new(
        conversation_id: &str,
        recipient_id: String,
        from: String,
        envelope: Value,
        updated_at: DateTime<Utc>,
    ) -> Self {
        EnvelopeDoc {
            id: format!("{recipient_id}:{from}"),
            conversation_id: conversation_id.to_owned(),
            recipient_id,
            envelope,
            from,
            updated_at,
        }
    }
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

/// Every envelope addressed to `user_id` in a conversation, one per sender, oldest sender
/// first (by id, so the order is stable).
pub async fn envelopes_for(
    state: &AppState,
    conversation_id: &str,
    user_id: &str,
) -> ApiResult<Vec<EnvelopeDoc>> {
    let envelopes = state.stores.collection::<EnvelopeDoc>();
    let query = Query::default()
        .filter(Filter::eq("recipientId", user_id))
        .order_by("id", crate::store::Order::Asc)
        .limit(100);
    Ok(envelopes.query_all(Some(conversation_id), &query).await?)
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
        for doc in envelopes_for(state, conversation_id, user_id).await? {
            removed += u64::from(envelopes.remove(conversation_id, &doc.id).await?);
        }
        // An envelope stored before ids named the sender (id = the recipient alone).
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
