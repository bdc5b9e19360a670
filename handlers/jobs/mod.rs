//! Background jobs: trigger functions run by the Functions host (or the dev host) on timers and
//! queues.

pub mod archive;
pub mod backup;
pub mod cleanup;
pub mod emails;
pub mod erase;
pub mod rotate_keys;
pub mod thumbnails;

use serde_json::{Value, json};

use crate::state::AppState;

/// Keeps the last run of a job in the `jobs` container (`/id` is the job name), so an operator
/// can see when each job last ran and what it did.
pub async fn record_run(state: &AppState, job: &str, result: &Value) -> anyhow::Result<()> {
    state
        .stores
        .documents
        .upsert(
            "jobs",
            job,
            json!({
                "id": job,
                "lastRunAt": chrono::Utc::now().to_rfc3339(),
                "lastResult": result,
            }),
        )
        .await?;
    Ok(())
}
