//! `GET /api/v1/users/me/progress`: per-course progress, totals, the login streak and the
//! achievements of the seed's model.

use axum::extract::State;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::progress::{self, Enrollment};
use crate::auth::extract::AuthUser;
use crate::error::{ApiResult, AppJson};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    pub courses_enrolled: usize,
    pub courses_completed: usize,
    pub lessons_completed: usize,
    /// Minutes.
    pub time_spent: u32,
    /// Consecutive days, up to today, with a sign-in.
    pub login_streak: u32,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Achievement {
    /// `first-lesson`, `first-course`, `five-lessons`, `three-courses`, `week-streak`.
    pub id: &'static str,
    pub title: &'static str,
    /// When the learner reached it.
    pub unlocked_at: DateTime<Utc>,
}

/// The `n`th earliest of `times` (1-based), if there are that many.
fn nth(mut times: Vec<DateTime<Utc>>, n: usize) -> Option<DateTime<Utc>> {
    times.sort();
    times.get(n.checked_sub(1)?).copied()
}

/// When each lesson was completed; lessons completed before the times were kept count at the
/// enrollment's last known moment.
fn lesson_times(courses: &[Enrollment]) -> Vec<DateTime<Utc>> {
    courses
        .iter()
        .flat_map(|c| {
            let fallback = c
                .completed_at
                .or(c.last_accessed_at)
                .unwrap_or(c.enrolled_at);
            c.completed_lessons
                .iter()
                .map(move |l| c.lesson_completed_at.get(l).copied().unwrap_or(fallback))
        })
        .collect()
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MyProgress {
    pub courses: Vec<Enrollment>,
    pub stats: Stats,
    pub achievements: Vec<Achievement>,
}

/// Days in a row, ending today or yesterday, on which the user signed in.
pub fn streak(mut days: Vec<NaiveDate>, today: NaiveDate) -> u32 {
    days.sort();
    days.dedup();
    let mut expected = today;
    if days.last() != Some(&today) {
        expected = today - Duration::days(1);
    }
    let mut n = 0;
    for day in days.iter().rev() {
        if *day == expected {
            n += 1;
            expected -= Duration::days(1);
        } else if *day < expected {
            break;
        }
    }
    n
}

async fn login_days(state: &AppState, user_id: &str) -> ApiResult<Vec<NaiveDate>> {
    let since = Utc::now() - Duration::days(60);
    let logins =
        crate::dashboard::store::activity_since(state, Some(user_id), Some("login"), since).await?;
    Ok(logins.iter().map(|a| a.at.date_naive()).collect())
}

#[utoipa::path(get, operation_id = "getMyProgress", path = "/api/v1/users/me/progress", tag = "courses", security(("bearer" = [])),
    responses((status = 200, description = "The caller's learning progress", body = MyProgress)))]
pub async fn my_progress(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<AppJson<MyProgress>> {
    let courses = progress::all(&state, &user.user_id).await?;
    let lessons_completed = courses.iter().map(|c| c.completed_lessons.len()).sum();
    let courses_completed = courses.iter().filter(|c| c.completed_at.is_some()).count();
    let today = Utc::now().date_naive();
    let days = login_days(&state, &user.user_id).await?;
    let signed_in_today = days.contains(&today);
    let login_streak = streak(days, today);
    let stats = Stats {
        courses_enrolled: courses.len(),
        courses_completed,
        lessons_completed,
        time_spent: courses.iter().map(|c| c.time_spent).sum(),
        login_streak,
    };
    let lessons_at = lesson_times(&courses);
    let courses_at: Vec<_> = courses.iter().filter_map(|c| c.completed_at).collect();
    // The current streak reached seven days on its seventh day.
    let streak_at = (login_streak >= 7).then(|| {
        let last = if signed_in_today {
            today
        } else {
            today - Duration::days(1)
        };
        let seventh = last - Duration::days(i64::from(login_streak) - 7);
        seventh.and_hms_opt(0, 0, 0).expect("midnight").and_utc()
    });
    let earned = [
        (
            nth(lessons_at.clone(), 1),
            "first-lesson",
            "Completed a first lesson",
        ),
        (nth(lessons_at, 5), "five-lessons", "Completed five lessons"),
        (
            nth(courses_at.clone(), 1),
            "first-course",
            "Completed a first course",
        ),
        (
            nth(courses_at, 3),
            "three-courses",
            "Completed three courses",
        ),
        (streak_at, "week-streak", "Signed in seven days in a row"),
    ];
    let achievements = earned
        .into_iter()
        .filter_map(|(at, id, title)| {
            at.map(|unlocked_at| Achievement {
                id,
                title,
                unlocked_at,
            })
        })
        .collect();
    let courses = courses
        .into_iter()
        .map(|mut c| {
            c.user_id.clear();
            c
        })
        .collect();
    Ok(AppJson(MyProgress {
        courses,
        stats,
        achievements,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streak_counts_consecutive_days_to_today_or_yesterday() {
        let d = |n: i64| NaiveDate::from_ymd_opt(2026, 11, 22).unwrap() - Duration::days(n);
        let today = d(0);
        assert_eq!(streak(vec![d(0), d(1), d(2), d(4)], today), 3);
        assert_eq!(
            streak(vec![d(1), d(2)], today),
            2,
            "not yet signed in today"
        );
        assert_eq!(streak(vec![d(2), d(3)], today), 0);
        assert_eq!(streak(vec![d(0), d(0), d(1)], today), 2);
        assert_eq!(streak(vec![], today), 0);
    }
}
