//! The account's security activity (sign-ins, password changes, session revocations), kept a
//! year in the `activity` container (partition `/userId`).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::state::AppState;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Activity {
    pub id: String,
    #[serde(skip_serializing_if = "String::is_empty", default)]
    #[schema(ignore)]
    pub user_id: String,
    /// `login`, `password_changed`, `password_reset`, `session_revoked`, `sessions_revoked`...
    #[serde(rename = "type")]
    pub kind: String,
    pub ip: String,
    pub user_agent: String,
    pub at: chrono::DateTime<chrono::Utc>,
}

/// Records an event; a failure to record is logged, never fails the request it describes.
pub async fn record(state: &AppState, user_id: &str, kind: &str, ip: &str, user_agent: &str) {
    let entry = Activity {
        // Time-ordered ids: the newest sort last.
        id: uuid::Uuid::now_v7().to_string(),
        user_id: user_id.to_owned(),
        kind: kind.to_owned(),
        ip: ip.to_owned(),
        user_agent: user_agent.to_owned(),
        at: chrono::Utc::now(),
    };
    if let Err(e) = super::store::record_activity(state, &entry).await {
        tracing::warn!(user_id, kind, "activity not recorded: {e}");
    }
}
