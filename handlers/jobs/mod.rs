//! Background jobs: trigger functions run by the Functions host (or the dev host) on timers and
//! queues.

pub mod archive;
pub mod backup;
pub mod cleanup;
pub mod emails;
pub mod erase;
pub mod outbox;
pub mod rotate_keys;
pub mod thumbnails;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::state::AppState;

/// A job's last run in the `jobs` container (`/id` is the job name), so an operator can see
/// when each job last ran and what it did.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct JobRun {
    id: String,
    /// RFC 3339, as written since the first run.
    last_run_at: String,
    last_result: Value,
}

crate::document!(JobRun, JOBS, id);

/// Records the run of `job` that just finished.
pub async fn record_run(state: &AppState, job: &str, result: &Value) -> anyhow::Result<()> {
    let run = JobRun {
        id: job.to_owned(),
        last_run_at: chrono::Utc::now().to_rfc3339(),
        last_result: result.clone(),
    };
    state.stores.collection::<JobRun>().upsert(&run).await?;
    Ok(())
}
