//! Course media: the assets a course references by file id (its thumbnail, the instructor's
//! picture, lesson videos and resource files), the checks that a reference names a ready asset
//! of that course of the right kind, and `GET courses/{id}/media/{fileId}`, which decides who
//! may fetch an asset at the moment of the request and answers with a short-lived read URL.
//! The assets themselves are files of category `course` (files feature), uploaded by admins.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::model::{CourseDoc, Instructor, Lesson};
use crate::auth::extract::AuthUser;
use crate::error::{ApiError, ApiResult, AppJson, Code, FieldErrors, Problem};
use crate::files::model::{FileDoc, is_image, is_video};
use crate::files::store as files;
use crate::state::AppState;

/// What kind of file a place in a course takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssetKind {
    Image,
    Video,
    Any,
}

/// Who may fetch an asset through its media URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Thumbnails and instructor pictures: the catalog is public.
    Everyone,
    /// Lesson videos and resource files: enrolled learners and admins.
    Learners,
}

/// One reference from a course to an asset: the field (for errors), the file and its rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetRef {
    pub field: String,
    pub file_id: String,
    pub kind: AssetKind,
    pub audience: Audience,
}

pub fn collect_refs(
    thumbnail: Option<&str>,
    instructor: &Instructor,
    lessons: &[Lesson],
) -> Vec<AssetRef> {
    let mut refs = Vec::new();
    let mut add = |field: String, id: Option<&str>, kind, audience| {
        if let Some(id) = id.filter(|id| !id.is_empty()) {
            refs.push(AssetRef {
                field,
                file_id: id.to_owned(),
                kind,
                audience,
            });
        }
    };
    add(
        "thumbnailFileId".into(),
        thumbnail,
        AssetKind::Image,
        Audience::Everyone,
    );
    add(
        "instructor.avatarFileId".into(),
        instructor.avatar_file_id.as_deref(),
        AssetKind::Image,
        Audience::Everyone,
    );
    for (i, lesson) in lessons.iter().enumerate() {
        add(
            format!("lessons[{i}].videoFileId"),
            lesson.video_file_id.as_deref(),
            AssetKind::Video,
            Audience::Learners,
        );
        for (j, resource) in lesson.resources.iter().enumerate() {
            add(
                format!("lessons[{i}].resources[{j}].fileId"),
                resource.file_id.as_deref(),
                AssetKind::Any,
                Audience::Learners,
            );
        }
    }
    refs
}

/// Refuses (400, per field) a reference that is not a ready asset of `course_id` of the kind
/// its place takes. A course being created has no assets yet: it references none.
pub async fn check_refs(
    state: &AppState,
    course_id: Option<&str>,
    refs: &[AssetRef],
) -> ApiResult<()> {
    if refs.is_empty() {
        return Ok(());
    }
    let assets = match course_id {
        Some(id) => files::course_assets(state, id).await?,
        None => Vec::new(),
    };
    let mut errors = FieldErrors::new();
    for r in refs {
        let problem = match assets.iter().find(|f| f.id == r.file_id) {
            None => Some("Not a ready asset of this course (upload it with category course)."),
            Some(f) if r.kind == AssetKind::Image && !is_image(&f.content_type) => {
                Some("Use an image asset here.")
            }
            Some(f) if r.kind == AssetKind::Video && !is_video(&f.content_type) => {
                Some("Use a video asset here.")
            }
            Some(_) => None,
        };
        if let Some(message) = problem {
            errors
                .entry(r.field.clone())
                .or_default()
                .push(message.to_owned());
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::validation(errors))
    }
}

/// Whether the caller may upload assets for the course: those who may change it (an active
/// admin, or the mentor who created it, by the stored role: a token outlives a demotion).
pub async fn may_upload(state: &AppState, user: &AuthUser, course_id: &str) -> ApiResult<()> {
    let course = super::routes::load(state, course_id).await?;
    super::authors::may_change(state, user, &course).await
}

/// How long a browser may reuse a media redirect: well inside the read URL's 15 minutes.
const REDIRECT_MAX_AGE: u32 = 300;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MediaLink {
    /// A read URL of the asset itself (never its thumbnail); it serves `Range` requests.
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

#[utoipa::path(get, operation_id = "getCourseMedia", path = "/api/v1/courses/{id}/media/{fileId}", tag = "courses",
    security((), ("bearer" = [])),
    params(("id" = String, Path, description = "Course id"), ("fileId" = String, Path, description = "The asset's file id")),
    responses(
        (status = 302, description = "To a short-lived read URL of the asset (`Location`), with `Cache-Control: private, max-age=300`. Thumbnails and instructor pictures for anyone; lesson videos and resources for enrolled learners and admins"),
        (status = 200, description = "With `Accept: application/json`: the read URL as JSON, for a page that fetches it with its token and sets it as a player's source", body = MediaLink),
        (status = 401, description = "A learners' asset without signing in", body = Problem),
        (status = 403, description = "`NOT_ENROLLED`", body = Problem),
        (status = 404, description = "No such course, or no such asset of it", body = Problem),
    ))]
pub async fn media(
    State(state): State<AppState>,
    user: Option<AuthUser>,
    Path((id, file_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let course = super::routes::load(&state, &id).await?;
    let not_found = || ApiError::not_found("No such asset of this course.");
    let audience = course
        .asset_refs()
        .into_iter()
        .filter(|r| r.file_id == file_id)
        .map(|r| r.audience)
        .min_by_key(|a| *a == Audience::Learners);
    match audience {
        Some(Audience::Everyone) => {}
        Some(Audience::Learners) => may_watch(&state, user.as_ref(), &course).await?,
        // An asset no lesson uses yet: its admins preview it.
        None => {
            if !is_admin(&state, user.as_ref()).await? {
                return Err(not_found());
            }
        }
    }
    let file = files::course_asset(&state, &id, &file_id)
        .await?
        .ok_or_else(not_found)?;
    link(&state, &file, &headers).await
}

async fn is_admin(state: &AppState, user: Option<&AuthUser>) -> ApiResult<bool> {
    let Some(user) = user else {
        return Ok(false);
    };
    crate::users::store::is_active_admin(state, &user.user_id).await
}

/// Enrolled learners and admins, decided now: an unenrolled learner loses access at once.
async fn may_watch(state: &AppState, user: Option<&AuthUser>, course: &CourseDoc) -> ApiResult<()> {
    let Some(caller) = user else {
        return Err(ApiError::new(
            Code::Unauthorized,
            "Sign in to watch this course's lessons.",
        ));
    };
    if super::progress::get(state, &caller.user_id, &course.id)
        .await?
        .is_some()
        || is_admin(state, user).await?
    {
        return Ok(());
    }
    Err(ApiError::new(
        Code::NotEnrolled,
        "Enroll in the course to watch its lessons.",
    ))
}

async fn link(state: &AppState, file: &FileDoc, headers: &HeaderMap) -> ApiResult<Response> {
    let expires_at = Utc::now() + files::URL_LIFETIME;
    let url = files::inline_url(state, file, expires_at).await?;
    let cache = HeaderValue::from_str(&format!("private, max-age={REDIRECT_MAX_AGE}"))
        .expect("a valid header");
    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    let mut response = if wants_json {
        AppJson(MediaLink { url, expires_at }).into_response()
    } else {
        let location = HeaderValue::from_str(&url).map_err(ApiError::internal)?;
        (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
    };
    let answer = response.headers_mut();
    answer.insert(header::CACHE_CONTROL, cache);
    // The answer depends on who asks and how.
    answer.insert(
        header::VARY,
        HeaderValue::from_static("Accept, Authorization"),
    );
    Ok(response)
}

impl super::model::CourseInput {
    /// The assets this input references (checked against the course's before it is stored).
    pub fn asset_refs(&self) -> Vec<AssetRef> {
        collect_refs(
            self.thumbnail_file_id.as_deref(),
            &self.instructor,
            &self.lessons,
        )
    }
}
