//! The archival run's checkpoint: one document in `jobs` (see `chat::archive` for how a run
//! recovers from it).

use serde::{Deserialize, Serialize};

use crate::state::AppState;
use crate::store::{Collection, StoreResult};

const CHECKPOINT: &str = "archive-messages-checkpoint";

/// How far the part being archived got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// The blob may or may not exist.
    Writing,
    /// The blob is verified; its messages are being deleted.
    Deleting,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Checkpoint {
    id: String,
    pub phase: Phase,
    pub conversation_id: String,
    pub blob: String,
    pub count: u64,
    pub first_message_id: String,
    pub last_message_id: String,
    pub sha256: String,
}

crate::document!(Checkpoint, JOBS, id);

impl Checkpoint {
    /// The checkpoint of a part about to be written.
    pub fn writing(
        conversation_id: &str,
        blob: String,
        count: u64,
        first_message_id: String,
        last_message_id: String,
        sha256: String,
    ) -> Self {
        Checkpoint {
            id: CHECKPOINT.into(),
            phase: Phase::Writing,
            conversation_id: conversation_id.to_owned(),
            blob,
            count,
            first_message_id,
            last_message_id,
            sha256,
        }
    }
}

fn checkpoints(state: &AppState) -> Collection<Checkpoint> {
    state.stores.collection()
}

pub async fn load(state: &AppState) -> StoreResult<Option<Checkpoint>> {
    checkpoints(state).get(CHECKPOINT, CHECKPOINT).await
}

pub async fn save(state: &AppState, checkpoint: &Checkpoint) -> StoreResult<()> {
    checkpoints(state).upsert(checkpoint).await?;
    Ok(())
}

pub async fn clear(state: &AppState) -> StoreResult<()> {
    checkpoints(state).remove(CHECKPOINT, CHECKPOINT).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A checkpoint a previous run left must still be understood.
    #[test]
    fn phases_keep_their_stored_strings() {
        assert_eq!(serde_json::json!(Phase::Writing), "writing");
        assert_eq!(serde_json::json!(Phase::Deleting), "deleting");
    }
}
