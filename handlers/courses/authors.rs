//! Who writes courses: admins, and mentors for the courses they created (a mentor also follows
//! those courses' learners). Decided from the stored account at each request.

use axum::extract::{Path, State};
use serde::Serialize;
use utoipa::ToSchema;

use super::model::CourseDoc;
use super::progress::Enrollment;
use crate::auth::extract::AuthUser;
use crate::error::{ApiError, ApiResult, AppJson, Code, Problem};
use crate::people::PublicProfile;
use crate::state::AppState;
use crate::users::model::Role;

fn forbidden(detail: &str) -> ApiError {
    ApiError::new(Code::Forbidden, detail)
}

/// The caller's stored role, when active.
async fn role_of(state: &AppState, user: &AuthUser) -> ApiResult<Option<Role>> {
    Ok(crate::users::store::get(state, &user.user_id)
        .await?
        .filter(|u| u.is_active())
        .map(|u| u.role))
}

/// Admins and mentors create courses.
pub async fn may_create(state: &AppState, user: &AuthUser) -> ApiResult<()> {
    match role_of(state, user).await? {
        Some(Role::Admin | Role::Mentor) => Ok(()),
        _ => Err(forbidden("This needs the admin or mentor role.")),
    }
}

/// Admins change every course; a mentor the courses they created.
pub async fn may_change(state: &AppState, user: &AuthUser, course: &CourseDoc) -> ApiResult<()> {
    match role_of(state, user).await? {
        Some(Role::Admin) => Ok(()),
        Some(Role::Mentor) if course.created_by.as_deref() == Some(user.user_id.as_str()) => Ok(()),
        _ => Err(forbidden(
            "Only admins, and the mentor who created it, change this course.",
        )),
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Learner {
    pub profile: PublicProfile,
    pub progress: u32,
    pub completed_lessons: Vec<String>,
    pub enrolled_at: chrono::DateTime<chrono::Utc>,
    pub completed_at: Option<chrono::DateTime<chrono::Utc>>,
    pub last_accessed_at: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LearnerList {
    pub items: Vec<Learner>,
}

#[utoipa::path(get, operation_id = "listCourseLearners", path = "/api/v1/courses/{id}/learners", tag = "courses", security(("bearer" = [])),
    params(("id" = String, Path, description = "Course id")),
    responses((status = 200, description = "The enrolled learners' public profiles and progress (admins, and the mentor who created the course)", body = LearnerList), (status = 403, description = "`FORBIDDEN`", body = Problem), (status = 404, description = "No such course", body = Problem)))]
pub async fn learners(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> ApiResult<AppJson<LearnerList>> {
    let course = super::routes::load(&state, &id).await?;
    may_change(&state, &user, &course).await?;
    let enrollments: Vec<Enrollment> = super::store::enrollments_of_course(&state, &id).await?;
    let ids: Vec<String> = enrollments.iter().map(|e| e.user_id.clone()).collect();
    let users = crate::users::store::get_many(&state, &ids).await?;
    let items = enrollments
        .into_iter()
        .filter_map(|e| {
            let learner = users.iter().find(|u| u.id == e.user_id && u.is_active())?;
            Some(Learner {
                // Presence is not the mentor's to see: only the profile and the progress.
                profile: PublicProfile {
                    last_seen_at: None,
                    ..crate::people::profile(learner, false, state.api_base())
                },
                progress: e.progress,
                completed_lessons: e.completed_lessons,
                enrolled_at: e.enrolled_at,
                completed_at: e.completed_at,
                last_accessed_at: e.last_accessed_at,
            })
        })
        .collect();
    Ok(AppJson(LearnerList { items }))
}
