//! `/api/v1/courses/*`: the public catalog (cached), admin authoring, enrollment, lessons and
//! completion; and `GET /api/v1/users/me/progress`.

use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::model::{
    Course, CourseCategory, CourseDoc, CourseInput, CourseLevel, CourseSummary, Lesson,
    LessonOutline, validate,
};
use super::progress::{self, Enrollment};
use super::store;
use crate::auth::extract::AuthUser;
use crate::error::{ApiError, ApiResult, AppJson, Code, Problem};
use crate::etag;
use crate::state::AppState;
use crate::store::{Cmp, Filter};

/// How long a catalog page is served from the cache; any write makes a new version at once.
const LIST_TTL: Duration = Duration::from_secs(10 * 60);
const VERSION_KEY: &str = "courses:version";

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ListParams {
    /// `job-readiness`, `education`, `life-skills` or `tech`.
    #[param(inline, value_type = Option<crate::courses::model::CourseCategory>)]
    pub category: Option<String>,
    /// `beginner`, `intermediate` or `advanced`.
    #[param(inline, value_type = Option<crate::courses::model::CourseLevel>)]
    pub level: Option<String>,
    /// Words in the title or description, ignoring case.
    pub search: Option<String>,
    pub cursor: Option<String>,
    /// 1 to 100, default 20.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CoursePage {
    pub items: Vec<CourseSummary>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LessonList {
    pub items: Vec<LessonOutline>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Completion {
    /// Share of lessons done, 0 to 100.
    pub progress: u32,
    pub completed_lessons: Vec<String>,
    pub course_completed: bool,
}

/// Makes every cached catalog page stale at once (admin writes, enrollment counts).
pub async fn invalidate(state: &AppState) {
    if let Err(e) = state
        .stores
        .cache
        .incr(VERSION_KEY, 1, Duration::ZERO)
        .await
    {
        tracing::warn!("catalog cache not invalidated: {e}");
    }
}

fn no_course() -> ApiError {
    ApiError::not_found("No such course.")
}

pub async fn load(state: &AppState, id: &str) -> ApiResult<CourseDoc> {
    store::get(state, id).await?.ok_or_else(no_course)
}

#[utoipa::path(get, operation_id = "listCourses", path = "/api/v1/courses", tag = "courses", params(ListParams, etag::IfNoneMatch),
    responses((status = 200, description = "A page of the catalog, with a strong `ETag` and `Cache-Control: public, max-age=60`", body = CoursePage), (status = 304, description = "Not modified: `If-None-Match` names the current `ETag`"), (status = 400, description = "`VALIDATION_FAILED` (unknown category or level)", body = Problem)))]
pub async fn list(
    State(state): State<AppState>,
    Query(params): Query<ListParams>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let page = catalog_page(&state, params).await?;
    etag::json(&headers, &page, CATALOG_CACHE_CONTROL)
}

/// Public reads may be kept a minute by browsers and shared caches; writes show after that.
const CATALOG_CACHE_CONTROL: &str = "public, max-age=60";
/// One course's page shows its counts and outline fresh after the reader's own change (an
/// enrollment, an edit); the ETag keeps the revalidation a 304.
const COURSE_CACHE_CONTROL: &str = "public, no-cache";

async fn catalog_page(state: &AppState, params: ListParams) -> ApiResult<CoursePage> {
    let mut errors = crate::error::FieldErrors::new();
    if params
        .category
        .as_deref()
        .is_some_and(|c| CourseCategory::parse(c).is_none())
    {
        errors.insert("category".into(), vec![CourseCategory::HINT.into()]);
    }
    if params
        .level
        .as_deref()
        .is_some_and(|l| CourseLevel::parse(l).is_none())
    {
        errors.insert("level".into(), vec![CourseLevel::HINT.into()]);
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let limit = params.limit.unwrap_or(20).clamp(1, 100);
    let search = params
        .search
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_lowercase);
    let cache = &state.stores.cache;
    let version = cache
        .get(VERSION_KEY)
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| "0".into());
    let key = format!(
        "courses:list:{version}:{}",
        crate::auth::sessions::hash(&format!(
            "{:?}|{:?}|{:?}|{:?}|{limit}",
            params.category, params.level, search, params.cursor
        ))
    );
    if let Ok(Some(hit)) = cache.get(&key).await
        && let Ok(page) = serde_json::from_str::<CoursePage>(&hit)
    {
        return Ok(page);
    }
    let mut query = crate::store::Query::default().limit(limit);
    if let Some(category) = &params.category {
        query = query.filter(Filter::eq("category", category.as_str()));
    }
    if let Some(level) = &params.level {
        query = query.filter(Filter::eq("level", level.as_str()));
    }
    if let Some(search) = &search {
        query = query.filter(Filter::new("searchText", Cmp::Contains, search.as_str()));
    }
    let page = store::page(state, &query, params.cursor.as_deref()).await?;
    let page = CoursePage {
        items: page
            .items
            .iter()
            .map(|c| c.summary(state.api_base()))
            .collect(),
        next_cursor: page.continuation,
    };
    // A cache that is down costs speed, not the answer.
    if let Ok(text) = serde_json::to_string(&page) {
        let _ = cache.set(&key, &text, LIST_TTL).await;
    }
    Ok(page)
}

#[utoipa::path(get, operation_id = "getCourse", path = "/api/v1/courses/{id}", tag = "courses",
    params(("id" = String, Path, description = "Course id"), etag::IfNoneMatch),
    responses((status = 200, description = "The course with its lesson outline, with a strong `ETag` and `Cache-Control: public, no-cache` (revalidated each time, so an enrollment or edit shows at once)", body = Course), (status = 304, description = "Not modified: `If-None-Match` names the current `ETag`"), (status = 404, description = "No such course", body = Problem)))]
pub async fn get_one(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let course = load(&state, &id).await?.view(state.api_base());
    etag::json(&headers, &course, COURSE_CACHE_CONTROL)
}

#[utoipa::path(post, operation_id = "createCourse", path = "/api/v1/courses", tag = "courses", security(("bearer" = ["admin", "mentor"])), request_body = CourseInput,
    responses((status = 201, description = "Created", body = Course), (status = 400, description = "`VALIDATION_FAILED`", body = Problem), (status = 403, description = "`FORBIDDEN`", body = Problem)))]
pub async fn create(
    State(state): State<AppState>,
    author: AuthUser,
    AppJson(input): AppJson<CourseInput>,
) -> ApiResult<(StatusCode, AppJson<Course>)> {
    super::authors::may_create(&state, &author).await?;
    // A new course has no assets yet: any file id it names is refused.
    super::media::check_refs(&state, None, &input.asset_refs()).await?;
    let valid = validate(input).map_err(ApiError::validation)?;
    let mut course = CourseDoc::new(uuid::Uuid::new_v4().to_string(), valid, Utc::now());
    course.created_by = Some(author.user_id.clone());
    store::create(&state, &course).await?;
    invalidate(&state).await;
    crate::audit::record(
        &state,
        &author.user_id,
        "course.create",
        &course.id,
        serde_json::Value::Null,
    )
    .await;
    Ok((StatusCode::CREATED, AppJson(course.view(state.api_base()))))
}

/// Any subset of a course's fields; `lessons`, when given, replaces them all.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CoursePatch {
    pub title: Option<String>,
    pub description: Option<String>,
    pub category: Option<String>,
    pub thumbnail: Option<String>,
    /// `""` removes the thumbnail asset.
    pub thumbnail_file_id: Option<String>,
    pub instructor: Option<super::model::Instructor>,
    pub level: Option<String>,
    pub lessons: Option<Vec<Lesson>>,
    pub rating: Option<f64>,
    pub duration: Option<u32>,
}

impl CoursePatch {
    fn over(self, course: &CourseDoc) -> CourseInput {
        CourseInput {
            title: self.title.unwrap_or_else(|| course.title.clone()),
            description: self
                .description
                .unwrap_or_else(|| course.description.clone()),
            category: self
                .category
                .unwrap_or_else(|| course.category.as_str().to_owned()),
            thumbnail: self.thumbnail.unwrap_or_else(|| course.thumbnail.clone()),
            thumbnail_file_id: self
                .thumbnail_file_id
                .or_else(|| course.thumbnail_file_id.clone()),
            instructor: self.instructor.unwrap_or_else(|| course.instructor.clone()),
            level: self
                .level
                .unwrap_or_else(|| course.level.as_str().to_owned()),
            lessons: self.lessons.unwrap_or_else(|| course.lessons.clone()),
            rating: self.rating.or(Some(course.rating)),
            duration: self.duration.or(course.declared_duration),
        }
    }
}

#[utoipa::path(patch, operation_id = "updateCourse", path = "/api/v1/courses/{id}", tag = "courses", security(("bearer" = ["admin", "mentor"])), request_body = CoursePatch,
    params(("id" = String, Path, description = "Course id")),
    responses((status = 200, description = "Updated", body = Course), (status = 400, description = "`VALIDATION_FAILED`", body = Problem), (status = 404, description = "No such course", body = Problem)))]
pub async fn update(
    State(state): State<AppState>,
    author: AuthUser,
    Path(id): Path<String>,
    AppJson(patch): AppJson<CoursePatch>,
) -> ApiResult<AppJson<Course>> {
    let current = load(&state, &id).await?;
    super::authors::may_change(&state, &author, &current).await?;
    let merged = patch.clone().over(&current);
    super::media::check_refs(&state, Some(&id), &merged.asset_refs()).await?;
    // An enrollment may move the count meanwhile: the edit is applied to the new version.
    let course = store::update(&state, &id, |course| {
        let valid = validate(patch.clone().over(course)).map_err(ApiError::validation)?;
        course.apply(valid);
        course.updated_at = Utc::now();
        Ok(())
    })
    .await?
    .ok_or_else(no_course)?;
    invalidate(&state).await;
    let added: Vec<&str> = course
        .lessons
        .iter()
        .filter(|l| !current.lessons.iter().any(|c| c.id == l.id))
        .map(|l| l.title.as_str())
        .collect();
    if !added.is_empty() {
        let learners = store::learners(&state, &id).await?;
        crate::notifications::record_for(
            &state,
            &learners,
            crate::notifications::Kind::CourseUpdated,
            serde_json::json!({"courseId": id, "title": course.title, "added": added}),
        )
        .await;
    }
    crate::audit::record(
        &state,
        &author.user_id,
        "course.update",
        &id,
        serde_json::Value::Null,
    )
    .await;
    Ok(AppJson(course.view(state.api_base())))
}

#[utoipa::path(delete, operation_id = "deleteCourse", path = "/api/v1/courses/{id}", tag = "courses", security(("bearer" = ["admin", "mentor"])),
    params(("id" = String, Path, description = "Course id")),
    responses((status = 204, description = "Deleted"), (status = 404, description = "No such course", body = Problem)))]
pub async fn delete(
    State(state): State<AppState>,
    author: AuthUser,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let course = load(&state, &id).await?;
    super::authors::may_change(&state, &author, &course).await?;
    // Assets first, through the files' own delete: a delete that fails halfway is finished by
    // the next, and no asset outlives its course.
    crate::files::store::delete_course_assets(&state, &id).await?;
    store::delete(&state, &id).await?;
    invalidate(&state).await;
    crate::audit::record(
        &state,
        &author.user_id,
        "course.delete",
        &id,
        serde_json::Value::Null,
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, operation_id = "enroll", path = "/api/v1/courses/{id}/enroll", tag = "courses", security(("bearer" = [])),
    params(("id" = String, Path, description = "Course id")),
    responses((status = 201, description = "Enrolled", body = Enrollment), (status = 200, description = "Already enrolled", body = Enrollment), (status = 404, description = "No such course", body = Problem)))]
pub async fn enroll(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, AppJson<Enrollment>)> {
    let course = load(&state, &id).await?;
    match progress::enroll(&state, &user.user_id, &course).await? {
        (enrollment, true) => {
            // Counted only by the request that created the enrollment: once per user.
            store::count_enrollment(&state, &id).await?;
            invalidate(&state).await;
            crate::dashboard::metrics::record(&state, "enrollments").await;
            crate::dashboard::touch(&state, &user.user_id).await;
            Ok((StatusCode::CREATED, AppJson(enrollment)))
        }
        (enrollment, false) => Ok((StatusCode::OK, AppJson(enrollment))),
    }
}

#[utoipa::path(get, operation_id = "listLessons", path = "/api/v1/courses/{id}/lessons", tag = "courses", security(("bearer" = [])),
    params(("id" = String, Path, description = "Course id")),
    responses((status = 200, description = "The outline with the caller's completed lessons", body = LessonList), (status = 404, description = "No such course", body = Problem)))]
pub async fn lessons(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> ApiResult<AppJson<LessonList>> {
    let course = load(&state, &id).await?;
    let mine = progress::get(&state, &user.user_id, &id).await?;
    let items = match &mine {
        Some(enrollment) => course.outline(Some(enrollment)),
        // Not enrolled: nothing completed, nowhere stopped.
        None => course
            .outline(None)
            .into_iter()
            .map(|mut l| {
                l.completed = Some(false);
                l.position_seconds = Some(0);
                l
            })
            .collect(),
    };
    Ok(AppJson(LessonList { items }))
}

pub(super) fn find_lesson<'a>(course: &'a CourseDoc, lesson_id: &str) -> ApiResult<&'a Lesson> {
    course
        .lessons
        .iter()
        .find(|l| l.id == lesson_id)
        .ok_or_else(|| ApiError::not_found("No such lesson."))
}

pub(super) fn not_enrolled() -> ApiError {
    ApiError::new(
        Code::NotEnrolled,
        "Enroll in the course to open its lessons.",
    )
}

#[utoipa::path(get, operation_id = "getLesson", path = "/api/v1/courses/{id}/lessons/{lid}", tag = "courses", security(("bearer" = [])),
    params(("id" = String, Path, description = "Course id"), ("lid" = String, Path, description = "Lesson id")),
    responses((status = 200, description = "The lesson with its content, for enrolled learners and for whoever may change the course", body = Lesson), (status = 403, description = "`NOT_ENROLLED`", body = Problem), (status = 404, description = "No such course or lesson", body = Problem)))]
pub async fn lesson(
    State(state): State<AppState>,
    user: AuthUser,
    Path((id, lid)): Path<(String, String)>,
) -> ApiResult<AppJson<Lesson>> {
    let course = load(&state, &id).await?;
    let lesson = course.lesson_view(find_lesson(&course, &lid)?, state.api_base());
    match progress::get(&state, &user.user_id, &id).await? {
        Some(_) => progress::touch(&state, &user.user_id, &id).await?,
        // Whoever may change the course reads its lessons to edit them, enrolled or not.
        None => super::authors::may_change(&state, &user, &course)
            .await
            .map_err(|_| not_enrolled())?,
    }
    Ok(AppJson(lesson))
}

#[utoipa::path(post, operation_id = "completeLesson", path = "/api/v1/courses/{id}/lessons/{lid}/complete", tag = "courses", security(("bearer" = [])),
    params(("id" = String, Path, description = "Course id"), ("lid" = String, Path, description = "Lesson id")),
    responses((status = 200, description = "Progress after this lesson", body = Completion), (status = 403, description = "`NOT_ENROLLED`", body = Problem), (status = 404, description = "No such course or lesson", body = Problem)))]
pub async fn complete(
    State(state): State<AppState>,
    user: AuthUser,
    Path((id, lid)): Path<(String, String)>,
) -> ApiResult<AppJson<Completion>> {
    let course = load(&state, &id).await?;
    find_lesson(&course, &lid)?;
    let (done, finished) = progress::complete(&state, &user.user_id, &course, &lid)
        .await?
        .ok_or_else(not_enrolled)?;
    if finished {
        // Counted by the call that completed the course: once per learner.
        store::count(&state, &id, &[("completedCount", 1)]).await?;
        invalidate(&state).await;
    }
    crate::dashboard::touch(&state, &user.user_id).await;
    Ok(AppJson(Completion {
        progress: done.progress,
        course_completed: done.completed_at.is_some(),
        completed_lessons: done.completed_lessons,
    }))
}
