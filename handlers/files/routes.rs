//! `/api/v1/files/*`: the upload flow (a signed URL, then `complete`), listing, reading and
//! deleting. The bytes go straight between the client and Blob Storage.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;
use utoipa::ToSchema;

use super::model::{
    Category, FileDoc, FileStatus, FileView, ThumbnailDoc, ThumbnailStatus, normalise_type,
    safe_name,
};
use super::sniff;
use super::store::{self as files, FILES, URL_LIFETIME};
use crate::auth::extract::AuthUser;
use crate::error::{ApiError, ApiResult, AppJson, Code, FieldErrors, Problem};
use crate::paging::{PageParams, page_limit};
use crate::state::AppState;
use crate::store::{ReadHeaders, SasAccess, StoreError};

/// The thumbnail job's queue.
pub const THUMBNAIL_QUEUE: &str = "thumbnails";

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UploadRequest {
    pub file_name: String,
    /// A MIME type on the category's allow-list.
    pub file_type: String,
    /// Bytes: exactly what the upload must have. Over 8 MiB, the upload goes in blocks.
    pub file_size: u64,
    pub category: Category,
    /// The course a `course` asset is for (admins only); required for that category.
    #[serde(default)]
    pub course_id: Option<String>,
}

/// How the bytes go up: one Put Blob, or Put Block per `blockSize` then Put Block List (what
/// `@azure/storage-blob`'s `uploadData` does with `blockSize` and `maxSingleShotSize` set).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum UploadMode {
    Single,
    Blocks,
}

/// Files over this go up in blocks: a lost connection then costs one block, not the file.
pub const BLOCKS_OVER: u64 = 8 * 1024 * 1024;
/// The block size a client should use (Blob Storage takes up to 4000 MiB a block).
pub const BLOCK_SIZE: u64 = 4 * 1024 * 1024;
/// A block upload's URL lives longer than a single PUT's, so an interrupted upload can resume
/// with the blocks it staged; abandoned ones are swept by the cleanup job.
const STAGING_LIFETIME: chrono::Duration = chrono::Duration::hours(2);

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UploadTicket {
    pub file_id: String,
    /// PUT the bytes here, with `headers`, before `expiresAt`. `single`: create-only, a PUT
    /// to a blob that exists is refused (403 from Blob Storage, 409 `BLOB_ALREADY_EXISTS`
    /// locally). `blocks`: Put Block (`?comp=block&blockid=`), Put Block List
    /// (`?comp=blocklist`) and Get Block List (`?comp=blocklist&blocklisttype=uncommitted`,
    /// to resume) on a staging blob that `complete` takes the file from.
    pub upload_url: String,
    /// Always `PUT`.
    pub method: &'static str,
    pub mode: UploadMode,
    /// Bytes per block, in `blocks` mode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub block_size: Option<u64>,
    /// For a single PUT; in `blocks` mode `Content-Type` goes on Put Block List as
    /// `x-ms-blob-content-type` (the SDK's `blobHTTPHeaders.blobContentType`).
    pub headers: BTreeMap<&'static str, String>,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CompleteRequest {
    pub file_id: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Completed {
    pub file: FileView,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FilePage {
    pub items: Vec<FileView>,
    pub next_cursor: Option<String>,
}

fn type_not_allowed(category: Category, file_type: &str) -> ApiError {
    ApiError::new(
        Code::FileTypeNotAllowed,
        format!(
            "A file of category {} cannot be of type '{file_type}'. Allowed: {}.",
            category.name(),
            category.allowed().join(", ")
        ),
    )
    .with_field("fileType", "Not allowed for this category.")
}

#[utoipa::path(post, operation_id = "createUploadUrl", path = "/api/v1/files/upload-url", tag = "files", security(("bearer" = [])), request_body = UploadRequest,
    responses(
        (status = 201, description = "Where and how to upload: one create-only PUT valid for 15 minutes, or over 8 MiB blocks to a staging blob for 2 hours", body = UploadTicket),
        (status = 400, description = "`FILE_TYPE_NOT_ALLOWED`, `FILE_TOO_LARGE` or `VALIDATION_FAILED`", body = Problem),
        (status = 401, description = "Not signed in", body = Problem),
        (status = 403, description = "`FORBIDDEN`: course assets are for admins", body = Problem),
        (status = 404, description = "No such course", body = Problem),
    ))]
pub async fn upload_url(
    State(state): State<AppState>,
    user: AuthUser,
    AppJson(request): AppJson<UploadRequest>,
) -> ApiResult<(StatusCode, AppJson<UploadTicket>)> {
    let mut errors = FieldErrors::new();
    let name = request.file_name.trim();
    if name.is_empty() || name.chars().count() > 255 {
        errors.insert("fileName".into(), vec!["Use 1 to 255 characters.".into()]);
    }
    if request.file_size == 0 {
        errors.insert(
            "fileSize".into(),
            vec!["An empty file cannot be uploaded.".into()],
        );
    }
    let category = request.category;
    match (&request.course_id, category) {
        (None, Category::Course) => {
            errors.insert(
                "courseId".into(),
                vec!["Name the course this asset is for.".into()],
            );
        }
        (Some(_), c) if c != Category::Course => {
            errors.insert(
                "courseId".into(),
                vec!["Only course assets belong to a course.".into()],
            );
        }
        _ => {}
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    if let Some(course_id) = &request.course_id {
        crate::courses::media::may_upload(&state, &user, course_id).await?;
    }
    let content_type = normalise_type(&request.file_type);
    if !category.allows(&content_type) {
        return Err(type_not_allowed(category, &request.file_type));
    }
    let max = category.max_size(&content_type);
    if request.file_size > max {
        return Err(ApiError::new(
            Code::FileTooLarge,
            format!(
                "Files of category {} and type {content_type} are limited to {max} bytes.",
                category.name(),
            ),
        )
        .with_field("fileSize", "Too large for this category."));
    }
    let id = uuid::Uuid::new_v4().to_string();
    let file_name = safe_name(name);
    let mode = if request.file_size > BLOCKS_OVER {
        UploadMode::Blocks
    } else {
        UploadMode::Single
    };
    let file = FileDoc {
        staging: (mode == UploadMode::Blocks).then(|| format!("uploads/{}/{id}", user.user_id)),
        course_id: request.course_id.clone(),
        blob: format!("{}/{id}/{file_name}", user.user_id),
        id,
        owner_id: user.user_id.clone(),
        file_name,
        content_type,
        category,
        declared_size: request.file_size,
        size: 0,
        status: FileStatus::Pending,
        thumbnail: ThumbnailDoc {
            status: ThumbnailStatus::None,
            blob: None,
            error: None,
        },
        grants: Vec::new(),
        created_at: Utc::now(),
        completed_at: None,
    };
    let (target, access, expires_at) = match &file.staging {
        Some(staging) => (
            staging,
            SasAccess::Stage,
            file.created_at + STAGING_LIFETIME,
        ),
        None => (
            &file.blob,
            SasAccess::Create,
            file.created_at + URL_LIFETIME,
        ),
    };
    let url = state
        .stores
        .blobs
        .signed_url(FILES, target, access, expires_at, &ReadHeaders::default())
        .await?;
    files::create(&state, &file).await?;
    Ok((
        StatusCode::CREATED,
        AppJson(UploadTicket {
            file_id: file.id,
            upload_url: url.to_string(),
            method: "PUT",
            mode,
            block_size: (mode == UploadMode::Blocks).then_some(BLOCK_SIZE),
            headers: BTreeMap::from([
                ("x-ms-blob-type", "BlockBlob".to_owned()),
                ("Content-Type", file.content_type),
            ]),
            expires_at,
        }),
    ))
}

fn rejected(detail: String) -> ApiError {
    ApiError::new(Code::UploadRejected, detail)
}

#[utoipa::path(post, operation_id = "completeUpload", path = "/api/v1/files/complete", tag = "files", security(("bearer" = [])), request_body = CompleteRequest,
    responses(
        (status = 200, description = "The file, now ready (again for a file already complete)", body = Completed),
        (status = 404, description = "No such upload of yours", body = Problem),
        (status = 409, description = "`UPLOAD_MISSING`: nothing was uploaded yet", body = Problem),
        (status = 422, description = "`UPLOAD_REJECTED`: not the declared size, or not of the declared type; the bytes are deleted", body = Problem),
    ))]
pub async fn complete(
    State(state): State<AppState>,
    user: AuthUser,
    AppJson(request): AppJson<CompleteRequest>,
) -> ApiResult<AppJson<Completed>> {
    let no_upload = || ApiError::not_found("No such upload.");
    let file = files::get_own(&state, &user.user_id, &request.file_id)
        .await?
        .ok_or_else(no_upload)?;
    if file.status == FileStatus::Ready {
        // A retried `complete` of a file whose thumbnail is still pending a while after the
        // first asks for it again (the job is idempotent; the wait keeps retries from
        // flooding the queue).
        let stale = file
            .completed_at
            .is_some_and(|at| Utc::now() - at > chrono::Duration::minutes(1));
        if file.thumbnail.status == ThumbnailStatus::Pending && stale {
            request_thumbnail(&state, &file).await?;
        }
        return Ok(AppJson(Completed {
            file: files::view(&state, &file).await?,
        }));
    }
    let blobs = &state.stores.blobs;
    let missing = || {
        ApiError::new(
            Code::UploadMissing,
            "Nothing has been uploaded to the upload URL yet (a block upload: no block list committed).",
        )
    };
    if let Some(staging) = &file.staging {
        // Copied first, checked after: the staging URL can still write the staging blob, never
        // the copy, so what the checks below approve is what is kept. An earlier `complete`
        // may have copied it already (Conflict, or nothing left to copy).
        match blobs.promote(FILES, staging, &file.blob).await {
            Ok(_) | Err(StoreError::Conflict | StoreError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let props = blobs.head(FILES, &file.blob).await?.ok_or_else(missing)?;
    // Exactly the declared size: what was announced (and limited by category) is what is kept.
    let verdict = if props.size != file.declared_size {
        Err(format!(
            "The upload has {} bytes, not the {} declared.",
            props.size, file.declared_size
        ))
    } else {
        let head = blobs
            .read_prefix(FILES, &file.blob, sniff::SNIFF_BYTES)
            .await?
            .unwrap_or_default();
        if sniff::matches(&file.content_type, &head) {
            Ok(())
        } else {
            Err(format!("The upload is not a {} file.", file.content_type))
        }
    };
    if let Err(detail) = verdict {
        // The ticket stays: with the blob gone, the create-only URL may upload again while it
        // lives; once `complete` accepts the bytes, it can no longer replace them.
        blobs.delete(FILES, &file.blob).await?;
        return Err(rejected(detail));
    }
    let (file, completed) = files::mark_ready(&state, &user.user_id, &file.id, props.size)
        .await?
        .ok_or_else(no_upload)?;
    if !completed {
        // A concurrent `complete` won; answer what it stored.
        return Ok(AppJson(Completed {
            file: files::view(&state, &file).await?,
        }));
    }
    if file.thumbnail.status == ThumbnailStatus::Pending {
        request_thumbnail(&state, &file).await?;
    }
    if file.category == Category::Avatar {
        set_avatar(&state, &user.user_id, &file.id).await?;
    }
    crate::dashboard::touch(&state, &user.user_id).await;
    Ok(AppJson(Completed {
        file: files::view(&state, &file).await?,
    }))
}

/// Asks the `thumbnails` function for the file's thumbnail, through the outbox: a queue that
/// is down delays it, never loses it.
async fn request_thumbnail(state: &AppState, file: &FileDoc) -> ApiResult<()> {
    let message = json!({"fileId": file.id, "ownerId": file.owner_id}).to_string();
    crate::jobs::outbox::enqueue(state, THUMBNAIL_QUEUE, message).await
}

/// Makes `file_id` the user's avatar and deletes the one it replaces.
async fn set_avatar(state: &AppState, user_id: &str, file_id: &str) -> ApiResult<()> {
    let mut previous = None;
    crate::users::store::update(state, user_id, |u| {
        previous = u.avatar_file_id.replace(file_id.to_owned());
    })
    .await?;
    if let Some(old) = previous.filter(|old| old != file_id)
        && let Some(old) = files::get_own(state, user_id, &old).await?
    {
        files::delete(state, &old).await?;
    }
    Ok(())
}

#[utoipa::path(get, operation_id = "listFiles", path = "/api/v1/files", tag = "files", security(("bearer" = [])), params(PageParams),
    responses((status = 200, description = "The caller's ready files, newest first", body = FilePage), (status = 401, description = "Not signed in", body = Problem)))]
pub async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    Query(params): Query<PageParams>,
) -> ApiResult<AppJson<FilePage>> {
    let limit = page_limit(params.limit);
    let (docs, next_cursor) =
        files::list_own(&state, &user.user_id, limit, params.cursor.as_deref()).await?;
    let mut items = Vec::with_capacity(docs.len());
    for file in &docs {
        items.push(files::view(&state, file).await?);
    }
    Ok(AppJson(FilePage { items, next_cursor }))
}

#[utoipa::path(get, operation_id = "getFile", path = "/api/v1/files/{id}", tag = "files", security(("bearer" = [])),
    params(("id" = String, Path, description = "File id")),
    responses((status = 200, description = "The file, with short-lived read URLs", body = FileView), (status = 404, description = "No such file you may read", body = Problem)))]
pub async fn get_one(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> ApiResult<AppJson<FileView>> {
    let file = files::readable(&state, &user, &id).await?;
    Ok(AppJson(files::view(&state, &file).await?))
}

#[utoipa::path(delete, operation_id = "deleteFile", path = "/api/v1/files/{id}", tag = "files", security(("bearer" = [])),
    params(("id" = String, Path, description = "File id")),
    responses((status = 204, description = "Deleted with its thumbnail and share links"), (status = 404, description = "No such file of yours", body = Problem)))]
pub async fn delete(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let file = files::get_own(&state, &user.user_id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("No such file."))?;
    files::delete(&state, &file).await?;
    if file.category == Category::Avatar {
        crate::users::store::update(&state, &user.user_id, |u| {
            if u.avatar_file_id.as_deref() == Some(file.id.as_str()) {
                u.avatar_file_id = None;
            }
        })
        .await?;
    }
    Ok(StatusCode::NO_CONTENT)
}
