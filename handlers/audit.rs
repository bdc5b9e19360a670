//! The audit trail of sensitive actions: admin changes and deletions of users, invites,
//! course edits, archive restores, signing-key rotations. [`record`] appends one entry to the
//! `audit` container (partition `/day`, kept two years, shared with forms' review trail) and
//! `GET /api/v1/admin/audit` lists them, newest first. Nothing in the API updates or deletes
//! an entry; they leave only by their TTL.
//!
//! Paging walks the day partitions from the newest day of the range back to the oldest, one
//! partition query per day. A page costs at most [`MAX_QUERIES_PER_PAGE`] store queries: when
//! the range is sparse a page can come back short (even empty) with a `nextCursor`; the list
//! has ended only when `nextCursor` is null.

use axum::extract::{Query as QueryParams, State};
use chrono::{DateTime, Days, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::auth::extract::AdminUser;
use crate::error::{ApiError, ApiResult, AppJson, FieldErrors, Problem};
use crate::state::AppState;
use crate::store::{Cmp, Collection, Filter, Order, Query};

/// Entries are kept two years (the same as forms' review trail).
const TTL_SECONDS: i64 = 2 * 365 * 24 * 3600;
/// Store queries one page may make: one per day partition visited (or page within one).
pub const MAX_QUERIES_PER_PAGE: usize = 31;
/// The widest range one listing may span.
const MAX_RANGE_DAYS: i64 = 366;
/// Without `from`, the listing reaches this far back from `to`.
const DEFAULT_RANGE_DAYS: u64 = 30;

/// An audit entry as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuditRecord {
    /// UUID v7: time-ordered.
    id: String,
    /// `2026-11-22` (UTC), the partition key.
    day: String,
    at: DateTime<Utc>,
    /// The acting user's id, or `system` for timers.
    actor: String,
    /// `user.update`, `user.delete`, `invite.create`, `course.create`...
    action: String,
    /// What it acted on (a user, invite, course or conversation id, a key id).
    target: String,
    details: Value,
    ttl: i64,
}

crate::document!(AuditRecord, AUDIT, day);

/// One audit entry as the admin sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEvent {
    pub id: String,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub target: String,
    #[schema(value_type = Object)]
    pub details: Value,
}

impl From<AuditRecord> for AuditEvent {
    fn from(r: AuditRecord) -> Self {
        Self {
            id: r.id,
            at: r.at,
            actor: r.actor,
            action: r.action,
            target: r.target,
            details: r.details,
        }
    }
}

fn records(state: &AppState) -> Collection<AuditRecord> {
    state.stores.collection()
}

/// Records a sensitive action after it happened. A failure to record is logged as an error and
/// does not undo or fail the action (it is done by then); `details` must hold no secret.
pub async fn record(state: &AppState, actor: &str, action: &str, target: &str, details: Value) {
    let at = Utc::now();
    let entry = AuditRecord {
        id: uuid::Uuid::now_v7().to_string(),
        day: day_of(at),
        at,
        actor: actor.to_owned(),
        action: action.to_owned(),
        target: target.to_owned(),
        details,
        ttl: TTL_SECONDS,
    };
    if let Err(e) = records(state).create(&entry).await {
        tracing::error!(action, target, "audit entry not recorded: {e}");
    }
}

fn day_of(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d").to_string()
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct AuditParams {
    /// Oldest time included (RFC 3339 or a date); default 30 days before `to`.
    pub from: Option<String>,
    /// Newest time included (RFC 3339 or a date, meaning its end); default now.
    pub to: Option<String>,
    /// Only this actor's entries (a user id, or `system`).
    pub actor: Option<String>,
    /// Only this action (`user.update`...).
    pub action: Option<String>,
    /// `nextCursor` of the previous page (with the same filters).
    pub cursor: Option<String>,
    /// 1 to 100, default 50.
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditPage {
    pub items: Vec<AuditEvent>,
    /// Null once the range is exhausted; a short page with a cursor is not the end.
    pub next_cursor: Option<String>,
}

/// Where the next page starts: a day partition and the store's continuation within it.
#[derive(Debug, Serialize, Deserialize)]
struct Cursor {
    day: NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    c: Option<String>,
}

impl Cursor {
    fn encode(&self) -> String {
        crate::paging::encode_cursor(self)
    }

    fn decode(raw: &str) -> ApiResult<Self> {
        crate::paging::decode_cursor(raw)
    }
}

/// A bound: an RFC 3339 time, or a date (its start, or with `end` its last instant).
fn bound(
    errors: &mut FieldErrors,
    field: &str,
    raw: Option<&str>,
    end: bool,
) -> Option<DateTime<Utc>> {
    let raw = raw.map(str::trim).filter(|r| !r.is_empty())?;
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Some(t.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        let t = if end {
            d.and_hms_milli_opt(23, 59, 59, 999)
        } else {
            d.and_hms_opt(0, 0, 0)
        };
        return t.map(|t| t.and_utc());
    }
    errors.insert(
        field.to_owned(),
        vec!["Use an RFC 3339 time or a date (2026-11-22).".to_owned()],
    );
    None
}

#[utoipa::path(get, operation_id = "listAuditEntries", path = "/api/v1/admin/audit", tag = "users", security(("bearer" = ["admin"])), params(AuditParams),
    responses(
        (status = 200, description = "Audit entries, newest first, a page at a time", body = AuditPage),
        (status = 400, description = "`VALIDATION_FAILED` (a bad or too wide range) or `INVALID_REQUEST` (a cursor this API did not issue)", body = Problem),
        (status = 401, description = "Not signed in", body = Problem),
        (status = 403, description = "`FORBIDDEN`: not an admin", body = Problem),
    ))]
pub async fn list(
    State(state): State<AppState>,
    _admin: AdminUser,
    QueryParams(params): QueryParams<AuditParams>,
) -> ApiResult<AppJson<AuditPage>> {
    let mut errors = FieldErrors::new();
    let to = bound(&mut errors, "to", params.to.as_deref(), true);
    let from = bound(&mut errors, "from", params.from.as_deref(), false);
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let to = to.unwrap_or_else(Utc::now);
    let from = from.unwrap_or_else(|| to - Days::new(DEFAULT_RANGE_DAYS));
    if from > to {
        errors.insert("from".into(), vec!["Use a time before `to`.".into()]);
    } else if (to - from).num_days() > MAX_RANGE_DAYS {
        errors.insert(
            "from".into(),
            vec![format!("List at most {MAX_RANGE_DAYS} days at a time.")],
        );
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let limit = params.limit.unwrap_or(50).clamp(1, 100) as usize;
    let mut query = Query::default()
        // Forms' review trail shares the container; its entries have no `action`.
        .filter(Filter::new("action", Cmp::Exists, Value::Null))
        .filter(Filter::new("at", Cmp::Gte, serde_json::json!(from)))
        .filter(Filter::new("at", Cmp::Lte, serde_json::json!(to)))
        .order_by("id", Order::Desc);
    for (field, value) in [("actor", &params.actor), ("action", &params.action)] {
        if let Some(value) = value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            query = query.filter(Filter::eq(field, value));
        }
    }
    let oldest = from.date_naive();
    let (mut day, mut continuation) = match params.cursor.as_deref() {
        Some(raw) => {
            let cursor = Cursor::decode(raw)?;
            (cursor.day, cursor.c)
        }
        None => (to.date_naive(), None),
    };
    let collection = records(&state);
    let mut items: Vec<AuditEvent> = Vec::new();
    let mut queries = 0;
    while day >= oldest && items.len() < limit && queries < MAX_QUERIES_PER_PAGE {
        let page_query = query.clone().limit((limit - items.len()) as u32);
        let page = collection
            .query(
                Some(&day.format("%Y-%m-%d").to_string()),
                &page_query,
                continuation.as_deref(),
            )
            .await?;
        queries += 1;
        items.extend(page.items.into_iter().map(AuditEvent::from));
        continuation = page.continuation;
        if continuation.is_none() {
            match day.pred_opt() {
                Some(previous) => day = previous,
                None => break,
            }
        }
    }
    let next_cursor = (day >= oldest).then(|| {
        Cursor {
            day,
            c: continuation,
        }
        .encode()
    });
    Ok(AppJson(AuditPage { items, next_cursor }))
}
