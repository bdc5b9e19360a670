//! Event counters by hour in the `metrics` container (partition `/metric`): each event adds one
//! with an atomic patch, so a series is a read of a few dozen small documents rather than a
//! scan of every account or form.

use chrono::{DateTime, Timelike, Utc};

use super::store::MetricDoc;
use crate::state::AppState;
use crate::store::StoreError;

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
    let hour = hour_of(at.with_minute(0).unwrap_or(at));
    let bucket = MetricDoc {
        id: format!("{metric}:{hour}"),
        metric: metric.to_owned(),
        hour,
        count: by,
    };
    super::store::add_to_metric(state, &bucket).await
}
