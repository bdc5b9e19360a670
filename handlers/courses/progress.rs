//! Enrollment and lesson progress: one document per (user, course) in `progress` (partition
//! `/userId`), so a user's whole progress is one partition read.

use std::collections::BTreeMap;

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
    /// Minutes: per lesson, the seconds watched (from position reports), and at least the
    /// length of a completed lesson.
    pub time_spent: u32,
    pub completed_at: Option<DateTime<Utc>>,
    /// The last lesson opened, completed or played.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_accessed_at: Option<DateTime<Utc>>,
    /// When each completed lesson was completed.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub lesson_completed_at: BTreeMap<String, DateTime<Utc>>,
    /// The player's position and the time watched, per lesson.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub playback: BTreeMap<String, Playback>,
    /// The learner's rating of the course, 1 to 5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stars: Option<u8>,
}

/// Where a learner's player is in one lesson.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Playback {
    pub position_seconds: u32,
    /// Forward progress between two position reports, each capped by the real time between
    /// them: skipping ahead or a report sent twice counts nothing.
    pub watched_seconds: u64,
    pub updated_at: DateTime<Utc>,
}

impl Enrollment {
    pub fn position_of(&self, lesson_id: &str) -> u32 {
        self.playback
            .get(lesson_id)
            .map_or(0, |p| p.position_seconds)
    }

    /// Minutes spent: per lesson, the seconds watched, and at least a completed lesson's
    /// length (a lesson read rather than watched still took its time).
    fn recount_time(&mut self, course: &CourseDoc) {
        let seconds: u64 = course
            .lessons
            .iter()
            .map(|l| {
                let watched = self.playback.get(&l.id).map_or(0, |p| p.watched_seconds);
                let read = if self.completed_lessons.contains(&l.id) {
                    u64::from(l.duration) * 60
                } else {
                    0
                };
                watched.max(read)
            })
            .sum();
        self.time_spent = u32::try_from(seconds / 60).unwrap_or(u32::MAX);
    }
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
        last_accessed_at: Some(Utc::now()),
        lesson_completed_at: BTreeMap::new(),
        playback: BTreeMap::new(),
        stars: None,
    };
    if store::create_enrollment(state, &enrollment).await? {
        return Ok((enrollment, true));
    }
    let existing = get(state, user_id, &course.id)
        .await?
        .ok_or_else(|| ApiError::unavailable("The enrollment is changing; retry."))?;
    Ok((existing, false))
}

/// Marks a lesson done (idempotent); `None` when the user is not enrolled. The flag says
/// whether this call completed the course.
pub async fn complete(
    state: &AppState,
    user_id: &str,
    course: &CourseDoc,
    lesson_id: &str,
) -> ApiResult<Option<(Enrollment, bool)>> {
    let mut finished = false;
    let updated = store::update_enrollment(state, user_id, &course.id, |enrollment| {
        finished = false;
        if enrollment.completed_lessons.iter().any(|l| l == lesson_id) {
            return false;
        }
        let now = Utc::now();
        enrollment.completed_lessons.push(lesson_id.to_owned());
        enrollment
            .lesson_completed_at
            .insert(lesson_id.to_owned(), now);
        enrollment.last_accessed_at = Some(now);
        // Lessons removed from the course since no longer count.
        let done: Vec<&super::model::Lesson> = course
            .lessons
            .iter()
            .filter(|l| enrollment.completed_lessons.contains(&l.id))
            .collect();
        let total = course.lessons.len().max(1);
        enrollment.progress = (done.len() * 100 / total) as u32;
        if done.len() == course.lessons.len() && enrollment.completed_at.is_none() {
            enrollment.completed_at = Some(now);
            finished = true;
        }
        enrollment.recount_time(course);
        true
    })
    .await?;
    Ok(updated.map(|e| (e, finished)))
}

/// Records where the learner's player is in a lesson and the time watched since the last
/// report; `None` when not enrolled.
pub async fn set_position(
    state: &AppState,
    user_id: &str,
    course: &CourseDoc,
    lesson_id: &str,
    position_seconds: u32,
) -> ApiResult<Option<Enrollment>> {
    store::update_enrollment(state, user_id, &course.id, |enrollment| {
        let now = Utc::now();
        let playback = enrollment
            .playback
            .entry(lesson_id.to_owned())
            .or_insert(Playback {
                position_seconds,
                watched_seconds: 0,
                updated_at: now,
            });
        let forward = u64::from(position_seconds.saturating_sub(playback.position_seconds));
        let elapsed = u64::try_from((now - playback.updated_at).num_seconds()).unwrap_or(0);
        playback.watched_seconds += forward.min(elapsed);
        playback.position_seconds = position_seconds;
        playback.updated_at = now;
        enrollment.last_accessed_at = Some(now);
        enrollment.recount_time(course);
        true
    })
    .await
}

/// Notes that the learner opened the course's lessons now.
pub async fn touch(state: &AppState, user_id: &str, course_id: &str) -> ApiResult<()> {
    Ok(store::touch_enrollment(state, user_id, course_id).await?)
}

/// Sets the learner's stars; returns the enrollment and the stars it replaced. `None` when
/// not enrolled.
pub async fn rate(
    state: &AppState,
    user_id: &str,
    course_id: &str,
    stars: u8,
) -> ApiResult<Option<(Enrollment, Option<u8>)>> {
    let mut before = None;
    let updated = store::update_enrollment(state, user_id, course_id, |enrollment| {
        before = enrollment.stars;
        enrollment.stars = Some(stars);
        before != Some(stars)
    })
    .await?;
    Ok(updated.map(|e| (e, before)))
}

/// Every enrollment of a user.
pub async fn all(state: &AppState, user_id: &str) -> ApiResult<Vec<Enrollment>> {
    Ok(store::enrollments(state, user_id).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn course() -> CourseDoc {
        let lesson = |id: &str, duration| super::super::model::Lesson {
            id: id.into(),
            title: id.into(),
            description: String::new(),
            video_url: None,
            video_file_id: None,
            duration,
            order: 0,
            content: String::new(),
            resources: Vec::new(),
        };
        let mut course: CourseDoc = serde_json::from_value(serde_json::json!({
            "id": "c", "title": "C", "description": "", "category": "tech", "thumbnail": "",
            "instructor": {"name": "I"}, "duration": 0, "level": "beginner", "lessons": [],
            "enrolledCount": 0, "rating": 0.0, "searchText": "",
            "createdAt": "2026-12-01T00:00:00Z", "updatedAt": "2026-12-01T00:00:00Z"
        }))
        .unwrap();
        course.lessons = vec![lesson("a", 10), lesson("b", 20), lesson("c", 5)];
        course
    }

    #[test]
    fn time_spent_counts_watching_and_at_least_completed_lessons() {
        let now = Utc::now();
        let mut e = Enrollment {
            id: "c".into(),
            user_id: "u".into(),
            course_id: "c".into(),
            course_title: "C".into(),
            enrolled_at: now,
            completed_lessons: vec!["b".into(), "c".into()],
            progress: 0,
            time_spent: 0,
            completed_at: None,
            last_accessed_at: None,
            lesson_completed_at: BTreeMap::new(),
            playback: BTreeMap::new(),
            stars: None,
        };
        let watched = |s| Playback {
            position_seconds: 0,
            watched_seconds: s,
            updated_at: now,
        };
        // a: watched 9 minutes, not completed; b: completed, watched 2; c: watched 7, 5 long.
        e.playback.insert("a".into(), watched(540));
        e.playback.insert("b".into(), watched(120));
        e.playback.insert("c".into(), watched(420));
        e.recount_time(&course());
        assert_eq!(e.time_spent, 9 + 20 + 7);
    }
}
