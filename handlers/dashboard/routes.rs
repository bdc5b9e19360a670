//! The dashboard routes.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::extract::{Query, State};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::metrics::{METRICS, hour_of};
use super::store;
use crate::auth::extract::AuthUser;
use crate::error::{ApiError, ApiResult, AppJson, FieldErrors, Problem};
use crate::forms::model::{FormStatus, FormType};
use crate::state::AppState;
use crate::store::{Cmp, Filter, Query as StoreQuery};
use crate::users::activity::Activity;
use crate::users::model::Role;

/// Personal numbers are cached this long, and dropped at once when they change.
const USER_STATS_TTL: Duration = Duration::from_secs(300);
/// Platform numbers are recounted at most this often.
const PLATFORM_STATS_TTL: Duration = Duration::from_secs(60);

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct FileStats {
    pub count: u64,
    pub bytes: u64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserCounts {
    pub total: u64,
    pub active7d: u64,
    pub new_today: u64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
/// Only in an admin's answer, so the document marks its fields optional: a user's answer has
/// none of them.
pub struct PlatformStats {
    #[schema(required = false)]
    pub users: UserCounts,
    /// Pending submissions per form type.
    #[schema(required = false)]
    pub forms: BTreeMap<String, BTreeMap<String, u64>>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
// Named apart from the progress `Stats` (users/me/progress): one name, one component.
#[schema(as = DashboardStats)]
pub struct Stats {
    pub courses_enrolled: u64,
    pub courses_completed: u64,
    pub lessons_completed: u64,
    /// Across the caller's conversations.
    pub unread_messages: u64,
    /// The caller's ready files.
    pub files: FileStats,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = PlatformStats)]
    pub platform: Option<PlatformStats>,
}

async fn platform(state: &AppState) -> ApiResult<PlatformStats> {
    let cache = &state.stores.cache;
    if let Ok(Some(hit)) = cache.get("dashboard:platform").await
        && let Ok(stats) = serde_json::from_str(&hit)
    {
        return Ok(stats);
    }
    let now = Utc::now();
    let week_ago = (now - chrono::Duration::days(7)).to_rfc3339();
    let today = now
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_utc()
        .to_rfc3339();
    let users = UserCounts {
        total: store::count_users(state, StoreQuery::default()).await?,
        active7d: store::count_users(
            state,
            StoreQuery::default().filter(Filter::new("lastLoginAt", Cmp::Gte, week_ago)),
        )
        .await?,
        new_today: store::count_users(
            state,
            StoreQuery::default().filter(Filter::new("createdAt", Cmp::Gte, today)),
        )
        .await?,
    };
    let mut pending = BTreeMap::new();
    for kind in FormType::ALL {
        let query = StoreQuery::default()
            .filter(Filter::eq("type", kind.as_str()))
            .filter(Filter::eq("status", FormStatus::Pending.as_str()));
        pending.insert(
            kind.as_str().to_owned(),
            store::count_forms(state, query).await?,
        );
    }
    let stats = PlatformStats {
        users,
        forms: BTreeMap::from([("pending".to_owned(), pending)]),
    };
    if let Ok(text) = serde_json::to_string(&stats) {
        let _ = cache
            .set("dashboard:platform", &text, PLATFORM_STATS_TTL)
            .await;
    }
    Ok(stats)
}

#[utoipa::path(get, operation_id = "getDashboardStats", path = "/api/v1/dashboard/stats", tag = "dashboard", security(("bearer" = [])),
    responses((status = 200, description = "The caller's numbers; admins also get the platform's", body = Stats), (status = 401, description = "Not signed in", body = Problem)))]
pub async fn stats(State(state): State<AppState>, user: AuthUser) -> ApiResult<AppJson<Stats>> {
    let cache = &state.stores.cache;
    let version = cache
        .get(&format!("dashboard:version:{}", user.user_id))
        .await
        .ok()
        .flatten()
        .unwrap_or_default();
    let key = format!("dashboard:stats:{}:{version}", user.user_id);
    let mut stats = match cache
        .get(&key)
        .await
        .ok()
        .flatten()
        .and_then(|hit| serde_json::from_str::<Stats>(&hit).ok())
    {
        Some(stats) => stats,
        None => {
            let courses = crate::courses::progress::all(&state, &user.user_id).await?;
            let stats = Stats {
                courses_enrolled: courses.len() as u64,
                courses_completed: courses.iter().filter(|c| c.completed_at.is_some()).count()
                    as u64,
                lessons_completed: courses
                    .iter()
                    .map(|c| c.completed_lessons.len() as u64)
                    .sum(),
                unread_messages: 0,
                files: {
                    let files = crate::files::store::all_own(&state, &user.user_id).await?;
                    FileStats {
                        count: files.len() as u64,
                        bytes: files.iter().map(|f| f.size).sum(),
                    }
                },
                platform: None,
            };
            if let Ok(text) = serde_json::to_string(&stats) {
                let _ = cache.set(&key, &text, USER_STATS_TTL).await;
            }
            stats
        }
    };
    // Unread counts change with every message: read fresh (the conversation list's one
    // query), not cached.
    stats.unread_messages = crate::chat::store::conversations_of(&state, &user.user_id)
        .await?
        .iter()
        .map(|c| c.unread_of(&user.user_id) as u64)
        .sum();
    let is_admin = crate::users::store::get(&state, &user.user_id)
        .await?
        .is_some_and(|u| u.role == Role::Admin);
    if is_admin {
        stats.platform = Some(platform(&state).await?);
    }
    Ok(AppJson(stats))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct MetricParams {
    /// `signups`, `logins`, `enrollments` or `forms`.
    pub metric: String,
    /// RFC 3339 time or a date; default 7 days ago.
    pub from: Option<String>,
    /// RFC 3339 time or a date (to its end); default now.
    pub to: Option<String>,
    /// `day` (default) or `hour`.
    pub interval: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Point {
    /// The bucket's start, RFC 3339.
    pub t: String,
    pub value: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Series {
    pub metric: String,
    pub interval: String,
    pub points: Vec<Point>,
}

fn when(
    errors: &mut FieldErrors,
    field: &str,
    value: Option<&str>,
    end: bool,
) -> Option<DateTime<Utc>> {
    let value = value?.trim();
    if let Ok(t) = value.parse::<DateTime<Utc>>() {
        return Some(t);
    }
    match NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        Ok(day) => Some(
            if end {
                day.and_hms_opt(23, 59, 59)
            } else {
                day.and_hms_opt(0, 0, 0)
            }
            .expect("valid")
            .and_utc(),
        ),
        Err(_) => {
            errors.insert(
                field.into(),
                vec!["Use an RFC 3339 time or a date like 2026-01-31.".into()],
            );
            None
        }
    }
}

#[utoipa::path(get, operation_id = "getDashboardMetrics", path = "/api/v1/dashboard/metrics", tag = "dashboard", security(("bearer" = ["admin"])), params(MetricParams),
    responses((status = 200, description = "The series, one point per interval, zeros included", body = Series), (status = 400, description = "`VALIDATION_FAILED`", body = Problem), (status = 403, description = "`FORBIDDEN`", body = Problem)))]
pub async fn metrics(
    State(state): State<AppState>,
    _admin: crate::auth::extract::AdminUser,
    Query(params): Query<MetricParams>,
) -> ApiResult<AppJson<Series>> {
    let mut errors = FieldErrors::new();
    if !METRICS.contains(&params.metric.as_str()) {
        errors.insert(
            "metric".into(),
            vec!["Use signups, logins, enrollments or forms.".into()],
        );
    }
    let interval = params.interval.clone().unwrap_or_else(|| "day".into());
    if interval != "day" && interval != "hour" {
        errors.insert("interval".into(), vec!["Use day or hour.".into()]);
    }
    let now = Utc::now();
    let from = when(&mut errors, "from", params.from.as_deref(), false)
        .unwrap_or(now - chrono::Duration::days(7));
    let to = when(&mut errors, "to", params.to.as_deref(), true).unwrap_or(now);
    if from > to {
        errors.insert("from".into(), vec!["Must not be after to.".into()]);
    }
    let step = if interval == "hour" {
        chrono::Duration::hours(1)
    } else {
        chrono::Duration::days(1)
    };
    if (to - from).num_seconds() / step.num_seconds() > 1000 {
        errors.insert(
            "from".into(),
            vec!["At most 1000 points: narrow the range or use a longer interval.".into()],
        );
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let by_hour: BTreeMap<String, i64> =
        store::metric_buckets(&state, &params.metric, &hour_of(from), &hour_of(to))
            .await?
            .into_iter()
            .map(|bucket| (bucket.hour, bucket.count))
            .collect();
    let bucket = |hour: &str| {
        if interval == "hour" {
            hour.to_owned()
        } else {
            hour[..10].to_owned()
        }
    };
    let mut points = Vec::new();
    let mut t = if interval == "hour" {
        from.date_naive()
            .and_hms_opt(chrono::Timelike::hour(&from), 0, 0)
            .expect("valid")
            .and_utc()
    } else {
        from.date_naive()
            .and_hms_opt(0, 0, 0)
            .expect("valid")
            .and_utc()
    };
    while t <= to {
        let key = bucket(&hour_of(t));
        let value = by_hour
            .iter()
            .filter(|(h, _)| bucket(h) == key)
            .map(|(_, n)| n)
            .sum();
        points.push(Point {
            t: t.to_rfc3339(),
            value,
        });
        t += step;
    }
    Ok(AppJson(Series {
        metric: params.metric,
        interval,
        points,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Feed {
    pub items: Vec<Activity>,
}

#[utoipa::path(get, operation_id = "getDashboardActivity", path = "/api/v1/dashboard/activity", tag = "dashboard", security(("bearer" = [])),
    responses((status = 200, description = "Recent activity, newest first: the caller's, or for admins the platform's last day", body = Feed)))]
pub async fn activity(State(state): State<AppState>, user: AuthUser) -> ApiResult<AppJson<Feed>> {
    let is_admin = crate::users::store::get(&state, &user.user_id)
        .await?
        .is_some_and(|u| u.role == Role::Admin);
    let since = Utc::now() - chrono::Duration::days(if is_admin { 1 } else { 30 });
    let pk = (!is_admin).then_some(user.user_id.as_str());
    let mut items = store::activity_since(&state, pk, None, since).await?;
    items.sort_by(|a, b| b.id.cmp(&a.id));
    items.truncate(50);
    if !is_admin {
        for item in &mut items {
            item.user_id.clear();
        }
    }
    Ok(AppJson(Feed { items }))
}
