//! Enrollment and lesson progress: one document per (user, course) in `progress` (partition
//! `/userId`), so a user's whole progress is one partition read.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::model::CourseDoc;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::StoreError;

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

fn parse(value: serde_json::Value) -> ApiResult<Enrollment> {
    serde_json::from_value(value).map_err(ApiError::internal)
}

pub async fn get(
    state: &AppState,
    user_id: &str,
    course_id: &str,
) -> ApiResult<Option<Enrollment>> {
    if crate::store::doc_id_ok(course_id).is_err() {
        return Ok(None);
    }
    match state
        .stores
        .documents
        .get("progress", user_id, course_id)
        .await?
    {
        Some(doc) => Ok(Some(parse(doc.value)?)),
        None => Ok(None),
    }
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
    let value = serde_json::to_value(&enrollment).map_err(ApiError::internal)?;
    match state
        .stores
        .documents
        .create("progress", user_id, value)
        .await
    {
        Ok(_) => Ok((enrollment, true)),
        Err(StoreError::Conflict) => {
            let existing = get(state, user_id, &course.id)
                .await?
                .ok_or_else(|| ApiError::unavailable("The enrollment is changing; retry."))?;
            Ok((existing, false))
        }
        Err(e) => Err(e.into()),
    }
}

/// Marks a lesson done (idempotent); `None` when the user is not enrolled.
pub async fn complete(
    state: &AppState,
    user_id: &str,
    course: &CourseDoc,
    lesson_id: &str,
) -> ApiResult<Option<Enrollment>> {
    let docs = &state.stores.documents;
    for _ in 0..5 {
        let Some(doc) = docs.get("progress", user_id, &course.id).await? else {
            return Ok(None);
        };
        let mut enrollment = parse(doc.value)?;
        if enrollment.completed_lessons.iter().any(|l| l == lesson_id) {
            return Ok(Some(enrollment));
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
        let value = serde_json::to_value(&enrollment).map_err(ApiError::internal)?;
        match docs
            .replace("progress", user_id, value, Some(&doc.etag))
            .await
        {
            Ok(_) => return Ok(Some(enrollment)),
            Err(StoreError::PreconditionFailed) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::unavailable(
        "The progress is changing too fast; retry.",
    ))
}

/// Every enrollment of a user.
pub async fn all(state: &AppState, user_id: &str) -> ApiResult<Vec<Enrollment>> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    let query = crate::store::Query::default().limit(500);
    loop {
        let page = state
            .stores
            .documents
            .query("progress", Some(user_id), &query, token.as_deref())
            .await?;
        for doc in page.items {
            out.push(parse(doc.value)?);
        }
        match page.continuation {
            Some(t) => token = Some(t),
            None => return Ok(out),
        }
    }
}
