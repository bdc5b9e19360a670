//! The dashboard's reads and writes: hourly counters in `metrics` (partition `/metric`), and
//! read-only views of other features' documents it counts or lists (users, forms, activity).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::forms::model::Submission;
use crate::state::AppState;
use crate::store::{Cmp, Document, Filter, PatchOp, Query, StoreError, StoreResult};
use crate::users::activity::Activity;

/// One hour of one metric.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricDoc {
    /// `{metric}:{hour}`.
    pub id: String,
    pub metric: String,
    /// As `2026-11-22T05`.
    pub hour: String,
    pub count: i64,
}

crate::document!(MetricDoc, METRICS, metric);

/// A user as counted: only the id is decoded, whatever else the document holds.
#[derive(Debug, Serialize, Deserialize)]
struct UserRow {
    id: String,
}

crate::document!(UserRow, USERS, id);

/// An activity entry as the users feature writes it (the `activity` container is theirs).
#[derive(Debug, Serialize, Deserialize)]
#[serde(transparent)]
struct ActivityRow(Activity);

impl Document for ActivityRow {
    const CONTAINER: &'static crate::store::schema::ContainerSpec = &crate::store::schema::ACTIVITY;
    fn id(&self) -> &str {
        &self.0.id
    }
    fn partition_key(&self) -> &str {
        &self.0.user_id
    }
}

/// Adds the bucket's `count` to the stored bucket, creating it on its first event.
pub async fn add_to_metric(state: &AppState, bucket: &MetricDoc) -> StoreResult<()> {
    let metrics = state.stores.collection::<MetricDoc>();
    let incr = [PatchOp::Incr("/count".into(), bucket.count)];
    for _ in 0..3 {
        match metrics.patch(&bucket.metric, &bucket.id, &incr, None).await {
            Ok(_) => return Ok(()),
            Err(StoreError::NotFound) => {
                if metrics.create_if_absent(bucket).await? {
                    return Ok(());
                }
                // Another instance created the bucket first: add to it.
            }
            Err(e) => return Err(e),
        }
    }
    Err(StoreError::Unavailable(anyhow::anyhow!(
        "metric bucket {} kept changing",
        bucket.id
    )))
}

/// The buckets of `metric` from hour `from` to hour `to`, both included.
pub async fn metric_buckets(
    state: &AppState,
    metric: &str,
    from: &str,
    to: &str,
) -> StoreResult<Vec<MetricDoc>> {
    let query = Query::default()
        .filter(Filter::new("hour", Cmp::Gte, from))
        .filter(Filter::new("hour", Cmp::Lte, to))
        .limit(1000);
    state
        .stores
        .collection::<MetricDoc>()
        .query_all(Some(metric), &query)
        .await
}

/// How many documents of `T` match, across partitions. Counted by pages: a cross-partition
/// COUNT is what the emulators cannot do, and these totals are cached for a minute.
async fn count<T: Document>(state: &AppState, query: Query) -> StoreResult<u64> {
    let collection = state.stores.collection::<T>();
    let query = query.limit(1000);
    let mut token: Option<String> = None;
    let mut n = 0;
    loop {
        let page = collection.query(None, &query, token.as_deref()).await?;
        n += page.items.len() as u64;
        match page.continuation {
            Some(t) => token = Some(t),
            None => return Ok(n),
        }
    }
}

/// How many users match `query`.
pub async fn count_users(state: &AppState, query: Query) -> StoreResult<u64> {
    count::<UserRow>(state, query).await
}

/// How many form submissions match `query`.
pub async fn count_forms(state: &AppState, query: Query) -> StoreResult<u64> {
    count::<Submission>(state, query).await
}

/// Activity since `since` (at most 1000 entries, in no order): one user's, or everyone's
/// with `None`; only of type `kind` when given.
pub async fn activity_since(
    state: &AppState,
    user_id: Option<&str>,
    kind: Option<&str>,
    since: DateTime<Utc>,
) -> StoreResult<Vec<Activity>> {
    let mut query = Query::default()
        .filter(Filter::new("at", Cmp::Gte, since.to_rfc3339()))
        .limit(1000);
    if let Some(kind) = kind {
        query = query.filter(Filter::eq("type", kind));
    }
    let page = state
        .stores
        .collection::<ActivityRow>()
        .query(user_id, &query, None)
        .await?;
    Ok(page.items.into_iter().map(|row| row.0).collect())
}
