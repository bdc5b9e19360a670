//! Reading and writing submissions (`forms`, partition `/id`) and their review trail (`audit`,
//! partition `/day`): the only place of the feature that touches documents.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::model::{AuditEntry, Submission};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::{Change, Collection, Filter, Page, Query, StoreResult};

/// Audit entries are kept two years.
const AUDIT_TTL_SECONDS: i64 = 2 * 365 * 24 * 3600;

/// An audit entry as stored: by day, so a day's changes are one partition.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuditDoc {
    id: String,
    form_id: String,
    actor: String,
    at: DateTime<Utc>,
    changes: Value,
    /// `2026-11-22`.
    day: String,
    ttl: i64,
}

crate::document!(AuditDoc, AUDIT, day);

fn forms(state: &AppState) -> Collection<Submission> {
    state.stores.collection()
}

fn audit(state: &AppState) -> Collection<AuditDoc> {
    state.stores.collection()
}

pub async fn create(state: &AppState, submission: &Submission) -> StoreResult<()> {
    forms(state).create(submission).await?;
    Ok(())
}

pub async fn get(state: &AppState, id: &str) -> StoreResult<Option<Submission>> {
    forms(state).get(id, id).await
}

/// One page of submissions across partitions.
pub async fn page(
    state: &AppState,
    query: &Query,
    cursor: Option<&str>,
) -> StoreResult<Page<Submission>> {
    forms(state).query(None, query, cursor).await
}

/// Applies `change` to the stored submission; it answers what changed (field -> `{from, to}`),
/// and nothing is written when that is empty. Returns the submission with its changes;
/// `None` when there is no such form.
pub async fn update(
    state: &AppState,
    id: &str,
    mut change: impl FnMut(&mut Submission) -> serde_json::Map<String, Value>,
) -> ApiResult<Option<(Submission, serde_json::Map<String, Value>)>> {
    forms(state)
        .update_with(id, id, |submission| {
            let changes = change(submission);
            Ok::<_, ApiError>(if changes.is_empty() {
                Change::Keep(changes)
            } else {
                submission.updated_at = Utc::now();
                Change::Write(changes)
            })
        })
        .await
}

pub async fn record_audit(state: &AppState, entry: AuditEntry) -> StoreResult<()> {
    let doc = AuditDoc {
        day: entry.at.format("%Y-%m-%d").to_string(),
        id: entry.id,
        form_id: entry.form_id,
        actor: entry.actor,
        at: entry.at,
        changes: entry.changes,
        ttl: AUDIT_TTL_SECONDS,
    };
    audit(state).create(&doc).await?;
    Ok(())
}

/// Every audit entry of a form (at most 1000), in no particular order.
pub async fn audit_of(state: &AppState, form_id: &str) -> StoreResult<Vec<AuditEntry>> {
    let query = Query::default()
        .filter(Filter::eq("formId", form_id))
        .limit(1000);
    let page = audit(state).query(None, &query, None).await?;
    Ok(page
        .items
        .into_iter()
        .map(|doc| AuditEntry {
            id: doc.id,
            form_id: doc.form_id,
            actor: doc.actor,
            at: doc.at,
            changes: doc.changes,
        })
        .collect())
}
