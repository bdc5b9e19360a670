//! Reading and writing courses (`courses`, partition `/id`) and enrollments (`progress`,
//! partition `/userId`): the only place of the feature that touches documents.

use super::model::CourseDoc;
use super::progress::Enrollment;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::{Change, Collection, Page, PatchOp, Query, StoreResult};

fn courses(state: &AppState) -> Collection<CourseDoc> {
    state.stores.collection()
}

fn progress(state: &AppState) -> Collection<Enrollment> {
    state.stores.collection()
}

pub async fn get(state: &AppState, id: &str) -> StoreResult<Option<CourseDoc>> {
    courses(state).get(id, id).await
}

/// One page of the catalog, across partitions.
pub async fn page(
    state: &AppState,
    query: &Query,
    cursor: Option<&str>,
) -> StoreResult<Page<CourseDoc>> {
    courses(state).query(None, query, cursor).await
}

pub async fn create(state: &AppState, course: &CourseDoc) -> StoreResult<()> {
    courses(state).create(course).await?;
    Ok(())
}

/// Writes the course whether or not it exists (the seed).
pub async fn upsert(state: &AppState, course: &CourseDoc) -> StoreResult<()> {
    courses(state).upsert(course).await?;
    Ok(())
}

/// Applies `change` to the stored course, again on a fresh read whenever another write (an
/// enrollment count) came first; `change` may refuse with its error. `None`: no such course.
pub async fn update(
    state: &AppState,
    id: &str,
    mut change: impl FnMut(&mut CourseDoc) -> ApiResult<()>,
) -> ApiResult<Option<CourseDoc>> {
    let updated = courses(state)
        .update_with(id, id, |course| {
            change(course)?;
            Ok::<_, ApiError>(Change::Write(()))
        })
        .await?;
    Ok(updated.map(|(course, ())| course))
}

/// Fails with `NotFound` when there is no such course.
pub async fn delete(state: &AppState, id: &str) -> StoreResult<()> {
    courses(state).delete(id, id).await
}

/// Counts one more enrollment in one server-side step.
pub async fn count_enrollment(state: &AppState, id: &str) -> StoreResult<()> {
    let count = PatchOp::Incr("/enrolledCount".into(), 1);
    courses(state).patch(id, id, &[count], None).await?;
    Ok(())
}

/// Moves the course's counters (`enrolledCount`, `completedCount`, `ratingTotal`,
/// `ratingCount`) by the given amounts in one server-side step, so concurrent learners never
/// overwrite each other's counts. A course deleted meanwhile is no error.
pub async fn count(state: &AppState, id: &str, by: &[(&str, i64)]) -> StoreResult<()> {
    let ops: Vec<PatchOp> = by
        .iter()
        .filter(|(_, n)| *n != 0)
        .map(|(field, n)| PatchOp::Incr(format!("/{field}"), *n))
        .collect();
    if ops.is_empty() {
        return Ok(());
    }
    match courses(state).patch(id, id, &ops, None).await {
        Ok(_) | Err(crate::store::StoreError::NotFound) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Removes the user's enrollment; the removed one, or `None` when there was none.
pub async fn delete_enrollment(
    state: &AppState,
    user_id: &str,
    course_id: &str,
) -> StoreResult<Option<Enrollment>> {
    let Some(enrollment) = progress(state).get(user_id, course_id).await? else {
        return Ok(None);
    };
    match progress(state).delete(user_id, course_id).await {
        Ok(()) => Ok(Some(enrollment)),
        // A concurrent unenroll removed it first and counts it.
        Err(crate::store::StoreError::NotFound) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Sets the enrollment's `lastAccessedAt` in one patch (no read); no enrollment is no error.
pub async fn touch_enrollment(state: &AppState, user_id: &str, course_id: &str) -> StoreResult<()> {
    let now = serde_json::Value::String(chrono::Utc::now().to_rfc3339());
    let set = [PatchOp::Set("/lastAccessedAt".into(), now)];
    match progress(state).patch(user_id, course_id, &set, None).await {
        Ok(_) | Err(crate::store::StoreError::NotFound) => Ok(()),
        Err(e) => Err(e),
    }
}

pub async fn enrollment(
    state: &AppState,
    user_id: &str,
    course_id: &str,
) -> StoreResult<Option<Enrollment>> {
    progress(state).get(user_id, course_id).await
}

/// Creates the enrollment; `false` when the user was enrolled already.
pub async fn create_enrollment(state: &AppState, enrollment: &Enrollment) -> StoreResult<bool> {
    progress(state).create_if_absent(enrollment).await
}

/// Applies `change` to the user's enrollment in the course, which keeps it as it is by
/// answering `false`. `None`: not enrolled.
pub async fn update_enrollment(
    state: &AppState,
    user_id: &str,
    course_id: &str,
    mut change: impl FnMut(&mut Enrollment) -> bool,
) -> ApiResult<Option<Enrollment>> {
    let updated = progress(state)
        .update_with(user_id, course_id, |enrollment| {
            Ok::<_, ApiError>(if change(enrollment) {
                Change::Write(())
            } else {
                Change::Keep(())
            })
        })
        .await?;
    Ok(updated.map(|(enrollment, ())| enrollment))
}

/// The enrollments of a course (one query across learners).
pub async fn enrollments_of_course(
    state: &AppState,
    course_id: &str,
) -> StoreResult<Vec<Enrollment>> {
    let query = Query::default()
        .filter(crate::store::Filter::eq("courseId", course_id))
        .limit(1000);
    progress(state).query_all(None, &query).await
}

/// The ids of the users enrolled in a course.
pub async fn learners(state: &AppState, course_id: &str) -> StoreResult<Vec<String>> {
    Ok(enrollments_of_course(state, course_id)
        .await?
        .into_iter()
        .map(|e| e.user_id)
        .collect())
}

/// Every enrollment of a user (one partition).
pub async fn enrollments(state: &AppState, user_id: &str) -> StoreResult<Vec<Enrollment>> {
    progress(state)
        .query_all(Some(user_id), &Query::default().limit(500))
        .await
}
