//! `/api/v1/dashboard/*`: the caller's numbers (and the platform's, for admins), time series
//! from counters kept as events happen, and a recent-activity feed.

pub mod metrics;
pub mod routes;
pub mod store;

use crate::state::AppState;

crate::api_routes!(routes::stats, routes::metrics, routes::activity,);

/// Makes the caller's cached stats stale (their enrollments or lessons changed).
pub async fn touch(state: &AppState, user_id: &str) {
    let key = format!("dashboard:version:{user_id}");
    if let Err(e) = state
        .stores
        .cache
        .incr(&key, 1, std::time::Duration::from_secs(24 * 3600))
        .await
    {
        tracing::warn!("dashboard cache not refreshed: {e}");
    }
}
