//! What an enrolled learner does besides completing lessons: leave the course, rate it, and
//! report where their player is (so it resumes, and time spent counts what was watched).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::progress::{self, Enrollment};
use super::routes::{find_lesson, invalidate, load, not_enrolled};
use super::store;
use crate::auth::extract::AuthUser;
use crate::error::{ApiError, ApiResult, AppJson, Problem};
use crate::state::AppState;

#[utoipa::path(delete, operation_id = "unenroll", path = "/api/v1/courses/{id}/enroll", tag = "courses", security(("bearer" = [])),
    params(("id" = String, Path, description = "Course id")),
    responses((status = 204, description = "Not enrolled any more: progress, position and rating removed (also when there was no enrollment)"), (status = 401, description = "Not signed in", body = Problem), (status = 404, description = "No such course", body = Problem)))]
pub async fn unenroll(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    load(&state, &id).await?;
    // Only the call that removed the enrollment moves the counts: once per learner.
    if let Some(gone) = store::delete_enrollment(&state, &user.user_id, &id).await? {
        let stars = gone.stars.map_or(0, i64::from);
        store::count(
            &state,
            &id,
            &[
                ("enrolledCount", -1),
                ("completedCount", -i64::from(gone.completed_at.is_some())),
                ("ratingTotal", -stars),
                ("ratingCount", -i64::from(gone.stars.is_some())),
            ],
        )
        .await?;
        invalidate(&state).await;
        crate::dashboard::touch(&state, &user.user_id).await;
    }
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RatingInput {
    /// 1 to 5.
    #[schema(minimum = 1, maximum = 5)]
    pub stars: u8,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Rated {
    pub stars: u8,
    /// The course's mean after this rating.
    pub rating: f64,
    pub rating_count: i64,
}

#[utoipa::path(put, operation_id = "rateCourse", path = "/api/v1/courses/{id}/rating", tag = "courses", security(("bearer" = [])), request_body = RatingInput,
    params(("id" = String, Path, description = "Course id")),
    responses((status = 200, description = "The caller's rating (one per learner; a new one replaces it) and the course's", body = Rated), (status = 400, description = "`VALIDATION_FAILED`", body = Problem), (status = 403, description = "`NOT_ENROLLED`", body = Problem), (status = 404, description = "No such course", body = Problem)))]
pub async fn rate(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    AppJson(input): AppJson<RatingInput>,
) -> ApiResult<AppJson<Rated>> {
    if !(1..=5).contains(&input.stars) {
        return Err(
            ApiError::validation(Default::default()).with_field("stars", "Give 1 to 5 stars.")
        );
    }
    load(&state, &id).await?;
    let (_, before) = progress::rate(&state, &user.user_id, &id, input.stars)
        .await?
        .ok_or_else(not_enrolled)?;
    if before != Some(input.stars) {
        store::count(
            &state,
            &id,
            &[
                (
                    "ratingTotal",
                    i64::from(input.stars) - before.map_or(0, i64::from),
                ),
                ("ratingCount", i64::from(before.is_none())),
            ],
        )
        .await?;
        invalidate(&state).await;
    }
    let summary = load(&state, &id).await?.summary(state.api_base());
    Ok(AppJson(Rated {
        stars: input.stars,
        rating: summary.rating,
        rating_count: summary.rating_count,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PositionInput {
    /// Seconds from the start of the lesson's video, 0 to 86400.
    #[schema(maximum = 86400)]
    pub position_seconds: u32,
}

#[utoipa::path(put, operation_id = "setLessonPosition", path = "/api/v1/courses/{id}/lessons/{lid}/position", tag = "courses", security(("bearer" = [])), request_body = PositionInput,
    params(("id" = String, Path, description = "Course id"), ("lid" = String, Path, description = "Lesson id")),
    responses((status = 200, description = "The enrollment with the new position and time spent", body = Enrollment), (status = 400, description = "`VALIDATION_FAILED`", body = Problem), (status = 403, description = "`NOT_ENROLLED`", body = Problem), (status = 404, description = "No such course or lesson", body = Problem)))]
pub async fn set_position(
    State(state): State<AppState>,
    user: AuthUser,
    Path((id, lid)): Path<(String, String)>,
    AppJson(input): AppJson<PositionInput>,
) -> ApiResult<AppJson<Enrollment>> {
    if input.position_seconds > 86_400 {
        return Err(ApiError::validation(Default::default())
            .with_field("positionSeconds", "Give a position of 0 to 86400 seconds."));
    }
    let course = load(&state, &id).await?;
    find_lesson(&course, &lid)?;
    let mut enrollment =
        progress::set_position(&state, &user.user_id, &course, &lid, input.position_seconds)
            .await?
            .ok_or_else(not_enrolled)?;
    enrollment.user_id.clear();
    Ok(AppJson(enrollment))
}
