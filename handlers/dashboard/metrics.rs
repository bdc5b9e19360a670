//! Event counters by hour in the `metrics` container (partition `/metric`): each event adds one
//! with an atomic patch, so a series is a read of a few dozen small documents rather than a
//! scan of every account or form.

use chrono::{DateTime, Timelike, Utc};
use serde_json::json;

use crate::state::AppState;
use crate::store::{PatchOp, StoreError};

pub const METRICS: &[&str] = &["signups", "logins", "enrollments", "forms"];

/// The hour bucket an instant falls in, as `2026-11-22T05`.
pub fn hour_of(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H").to_string()
}

/// Counts one event now. Best effort: a lost count is logged, never fails the request.
pub async fn record(state: &AppState, metric: &'static str) {
    if let Err(e) = add(state, metric, Utc::now(), 1).await {
        tracing::warn!(metric, "metric not counted: {e}");
    }
}

pub async fn add(
    state: &AppState,
    metric: &str,
    at: DateTime<Utc>,
    by: i64,
) -> Result<(), StoreError> {
    let docs = &state.stores.documents;
    let hour = hour_of(at.with_minute(0).unwrap_or(at));
    let id = format!("{metric}:{hour}");
    let incr = [PatchOp::Incr("/count".into(), by)];
    for _ in 0..3 {
        match docs.patch("metrics", metric, &id, &incr, None).await {
            Ok(_) => return Ok(()),
            Err(StoreError::NotFound) => {
                let doc = json!({"id": id, "metric": metric, "hour": hour, "count": by});
                match docs.create("metrics", metric, doc).await {
                    Ok(_) => return Ok(()),
                    // Another instance created the bucket first: add to it.
                    Err(StoreError::Conflict) => continue,
                    Err(e) => return Err(e),
                }
            }
            Err(e) => return Err(e),
        }
    }
    Err(StoreError::Unavailable(anyhow::anyhow!(
        "metric bucket {id} kept changing"
    )))
}
