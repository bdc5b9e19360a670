//! Enrollment and lesson progress: one document per (user, course) in `progress` (partition
//! `/userId`), so a user's whole progress is one partition read.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::model::CourseDoc;
use super::store;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Enrollment {
    /// The course id (one enrollment per course and user).
    pub id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[schema(ignore)]
    pub user_id: String,
    pub course_id: String,
    pub course_title: String,
    pub enrolled_at: DateTime<Utc>,
    pub completed_lessons: Vec<String>,
    /// Share of lessons done, 0 to 100.
    pub progress: u32,
    /// Minutes: the length of the lessons completed.
    pub time_spent: u32,
    pub completed_at: Option<DateTime<Utc>>,
}

crate::document!(Enrollment, PROGRESS, user_id);

pub async fn get(
    state: &AppState,
    user_id: &str,
    course_id: &str,
) -> ApiResult<Option<Enrollment>> {
    Ok(store::enrollment(state, user_id, course_id).await?)
}

/// Enrolls once; returns the enrollment and whether this call created it.
pub async fn enroll(
    state: &AppState,
    user_id: &str,
    course: &CourseDoc,
) -> ApiResult<(Enrollment, bool)> {
    let enrollment = Enrollment {
        id: course.id.clone(),
        user_id: user_id.to_owned(),
        course_id: course.id.clone(),
        course_title: course.title.clone(),
        enrolled_at: Utc::now(),
        completed_lessons: Vec::new(),
        progress: 0,
        time_spent: 0,
        completed_at: None,
    };
    if store::create_enrollment(state, &enrollment).await? {
        return Ok((enrollment, true));
    }
    let existing = get(state, user_id, &course.id)
        .await?
        .ok_or_else(|| ApiError::unavailable("The enrollment is changing; retry."))?;
    Ok((existing, false))
}

/// Marks a lesson done (idempotent); `None` when the user is not enrolled.
pub async fn complete(
    state: &AppState,
    user_id: &str,
    course: &CourseDoc,
    lesson_id: &str,
) -> ApiResult<Option<Enrollment>> {
    store::update_enrollment(state, user_id, &course.id, |enrollment| {
        if enrollment.completed_lessons.iter().any(|l| l == lesson_id) {
            return false;
        }
        enrollment.completed_lessons.push(lesson_id.to_owned());
        // Lessons removed from the course since no longer count.
        let done: Vec<&super::model::Lesson> = course
            .lessons
            .iter()
            .filter(|l| enrollment.completed_lessons.contains(&l.id))
            .collect();
        let total = course.lessons.len().max(1);
        enrollment.progress = (done.len() * 100 / total) as u32;
        enrollment.time_spent = done.iter().map(|l| l.duration).sum();
        if done.len() == course.lessons.len() && enrollment.completed_at.is_none() {
            enrollment.completed_at = Some(Utc::now());
        }
        true
    })
    .await
}

/// Every enrollment of a user.
pub async fn all(state: &AppState, user_id: &str) -> ApiResult<Vec<Enrollment>> {
    Ok(store::enrollments(state, user_id).await?)
}
