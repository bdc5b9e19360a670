//! Reading, showing, sharing access to and deleting files, and the `files` and `shares`
//! documents: the only place of the feature that reads or writes them. Every read by id goes
//! through [`readable`], the one place that decides who may see a file.

use chrono::{Duration, Utc};
use futures::future::BoxFuture;

use super::model::{
    Category, FileDoc, FileStatus, FileView, Grant, Thumbnail, ThumbnailDoc, ThumbnailStatus,
    content_disposition,
};
use super::shares::ShareDoc;
use crate::auth::extract::AuthUser;
use crate::error::{ApiError, ApiResult, Code};
use crate::state::AppState;
use crate::store::{
    Change, Collection, Document, Filter, PatchOp, Query, ReadHeaders, SasAccess, StoreError,
    StoreResult,
};

/// Blob containers of the feature.
pub const FILES: &str = "files";
pub const THUMBNAILS: &str = "thumbnails";
/// How long a read or upload URL lives.
pub const URL_LIFETIME: Duration = Duration::minutes(15);
/// Bounds one sweep; what is left is swept the next day.
const MAX_SWEEP_ROUNDS: usize = 1000;

fn files(state: &AppState) -> Collection<FileDoc> {
    state.stores.collection()
}

fn shares(state: &AppState) -> Collection<ShareDoc> {
    state.stores.collection()
}

/// The owner's file.
pub async fn get_own(state: &AppState, owner_id: &str, id: &str) -> StoreResult<Option<FileDoc>> {
    files(state).get(owner_id, id).await
}

/// Records a new upload (`pending`).
pub async fn create(state: &AppState, file: &FileDoc) -> ApiResult<()> {
    files(state).create(file).await?;
    Ok(())
}

/// Marks the owner's upload `ready` with its stored size, unless a concurrent `complete` did
/// already. Returns the file as stored and whether this call completed it; `None` when the
/// upload is gone.
pub async fn mark_ready(
    state: &AppState,
    owner_id: &str,
    id: &str,
    size: u64,
) -> ApiResult<Option<(FileDoc, bool)>> {
    let completed = files(state)
        .update_with(owner_id, id, |file| {
            if file.status == FileStatus::Ready {
                return Ok::<_, ApiError>(Change::Keep(false));
            }
            file.status = FileStatus::Ready;
            file.size = size;
            file.completed_at = Some(Utc::now());
            if super::model::is_image(&file.content_type) {
                file.thumbnail.status = ThumbnailStatus::Pending;
            }
            Ok(Change::Write(true))
        })
        .await?;
    Ok(completed)
}

/// Records the thumbnail job's outcome; `false` when the file was deleted meanwhile.
pub async fn set_thumbnail(
    state: &AppState,
    owner_id: &str,
    id: &str,
    thumbnail: &ThumbnailDoc,
) -> StoreResult<bool> {
    let value = serde_json::to_value(thumbnail).map_err(|e| StoreError::Other(e.into()))?;
    let set = [PatchOp::Set("/thumbnail".into(), value)];
    match files(state).patch(owner_id, id, &set, None).await {
        Ok(_) => Ok(true),
        Err(StoreError::NotFound) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Every file document of the user, pending uploads included.
pub async fn all_of_user(state: &AppState, user_id: &str) -> ApiResult<Vec<FileDoc>> {
    Ok(files(state)
        .query_all(Some(user_id), &Query::default().limit(100))
        .await?)
}

/// A file by id whoever owns it: the caller's own partition first (one point read), then an
/// indexed query across owners for files shared with the caller.
async fn find(state: &AppState, caller_id: &str, id: &str) -> ApiResult<Option<FileDoc>> {
    if let Some(file) = get_own(state, caller_id, id).await? {
        return Ok(Some(file));
    }
    if crate::store::doc_id_ok(id).is_err() {
        return Ok(None);
    }
    let page = files(state)
        .query(
            None,
            &Query::default().filter(Filter::eq("id", id)).limit(1),
            None,
        )
        .await?;
    Ok(page.items.into_iter().next())
}

/// The ready assets of a course (one cross-partition query: their owners are the admins who
/// uploaded them).
pub async fn course_assets(state: &AppState, course_id: &str) -> ApiResult<Vec<FileDoc>> {
    let query = Query::default()
        .filter(Filter::eq("courseId", course_id))
        .filter(Filter::eq("status", FileStatus::Ready.as_str()))
        .limit(100);
    Ok(files(state).query_all(None, &query).await?)
}

/// One ready asset of a course.
pub async fn course_asset(
    state: &AppState,
    course_id: &str,
    file_id: &str,
) -> ApiResult<Option<FileDoc>> {
    if crate::store::doc_id_ok(file_id).is_err() {
        return Ok(None);
    }
    let query = Query::default()
        .filter(Filter::eq("id", file_id))
        .filter(Filter::eq("courseId", course_id))
        .filter(Filter::eq("status", FileStatus::Ready.as_str()))
        .limit(1);
    let page = files(state).query(None, &query, None).await?;
    Ok(page.items.into_iter().next())
}

/// Deletes every asset of a course, complete or not, through the one file delete.
pub async fn delete_course_assets(state: &AppState, course_id: &str) -> ApiResult<u64> {
    let query = Query::default()
        .filter(Filter::eq("courseId", course_id))
        .limit(100);
    sweep(state, query, |state, file: &FileDoc| {
        Box::pin(delete(state, file))
    })
    .await
}

/// A read URL that serves the file inline (a page shows or plays it), with its recorded type.
pub async fn inline_url(
    state: &AppState,
    file: &FileDoc,
    expires: chrono::DateTime<Utc>,
) -> ApiResult<String> {
    let headers = ReadHeaders {
        content_type: Some(file.content_type.clone()),
        content_disposition: Some(super::model::inline_disposition(&file.file_name)),
    };
    let url = state
        .stores
        .blobs
        .signed_url(FILES, &file.blob, SasAccess::Read, expires, &headers)
        .await?;
    Ok(url.to_string())
}

/// Whether `caller` may read `file`: the owner; anyone signed in for an avatar; a member of a
/// conversation, or an admin for a form, that references it.
async fn may_read(state: &AppState, caller: &AuthUser, file: &FileDoc) -> ApiResult<bool> {
    if file.owner_id == caller.user_id || file.category == Category::Avatar {
        return Ok(true);
    }
    for grant in &file.grants {
        match grant {
            // The stored role, as the admin routes check it: a token outlives a demotion.
            Grant::Form(_) => {
                if crate::users::store::is_active_admin(state, &caller.user_id).await? {
                    return Ok(true);
                }
            }
            Grant::Conversation(conversation_id) => {
                if is_member(state, &caller.user_id, conversation_id).await? {
                    return Ok(true);
                }
            }
        }
    }
    Ok(false)
}

/// Membership as the chat feature keeps it (its 404 means "not a member").
pub async fn is_member(state: &AppState, user_id: &str, conversation_id: &str) -> ApiResult<bool> {
    match crate::chat::store::member(state, user_id, conversation_id).await {
        Ok(_) => Ok(true),
        Err(e) if e.code == Code::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// The file if `caller` may read it; a file they may not read does not exist for them.
pub async fn readable(state: &AppState, caller: &AuthUser, id: &str) -> ApiResult<FileDoc> {
    let not_found = || ApiError::not_found("No such file.");
    let file = find(state, &caller.user_id, id)
        .await?
        .ok_or_else(not_found)?;
    if may_read(state, caller, &file).await? {
        Ok(file)
    } else {
        Err(not_found())
    }
}

/// A read URL that answers with the recorded type and file name, whatever was uploaded.
pub async fn download_url(
    state: &AppState,
    file: &FileDoc,
    expires: chrono::DateTime<Utc>,
) -> ApiResult<String> {
    let headers = ReadHeaders {
        content_type: Some(file.content_type.clone()),
        content_disposition: Some(content_disposition(&file.file_name)),
    };
    let url = state
        .stores
        .blobs
        .signed_url(FILES, &file.blob, SasAccess::Read, expires, &headers)
        .await?;
    Ok(url.to_string())
}

/// The file as the API shows it, with fresh read URLs when it is ready.
pub async fn view(state: &AppState, file: &FileDoc) -> ApiResult<FileView> {
    let expires = Utc::now() + URL_LIFETIME;
    let ready = file.status == FileStatus::Ready;
    let download_url = if ready {
        Some(download_url(state, file, expires).await?)
    } else {
        None
    };
    let thumbnail_url = match (&file.thumbnail.status, &file.thumbnail.blob) {
        (ThumbnailStatus::Ready, Some(blob)) if ready => {
            let headers = ReadHeaders {
                content_type: Some("image/jpeg".into()),
                content_disposition: None,
            };
            let url = state
                .stores
                .blobs
                .signed_url(THUMBNAILS, blob, SasAccess::Read, expires, &headers)
                .await?;
            Some(url.to_string())
        }
        _ => None,
    };
    Ok(FileView {
        id: file.id.clone(),
        owner_id: file.owner_id.clone(),
        file_name: file.file_name.clone(),
        content_type: file.content_type.clone(),
        category: file.category,
        size: if ready { file.size } else { file.declared_size },
        status: file.status,
        created_at: file.created_at,
        completed_at: file.completed_at,
        course_id: file.course_id.clone(),
        download_expires_at: ready.then_some(expires),
        download_url,
        thumbnail: Thumbnail {
            status: file.thumbnail.status,
            url: thumbnail_url,
        },
    })
}

/// Lets the members of a conversation, or admins for a form, read one of the owner's ready
/// files. The chat and forms features call this when a message or form references a file.
pub async fn grant(state: &AppState, owner_id: &str, id: &str, grant: Grant) -> ApiResult<FileDoc> {
    let not_ready = || {
        ApiError::new(
            Code::AttachmentNotReady,
            format!("File {id} is not a ready file of yours."),
        )
    };
    let granted = files(state)
        .update_with(owner_id, id, |file| {
            if file.status != FileStatus::Ready {
                return Err(not_ready());
            }
            if file.grants.contains(&grant) {
                return Ok(Change::Keep(()));
            }
            file.grants.push(grant.clone());
            Ok(Change::Write(()))
        })
        .await?;
    granted.map(|(file, ())| file).ok_or_else(not_ready)
}

/// Removes a file with everything hanging off it: share links first (so no link outlives
/// the file), then blob and thumbnail, then the document. Every step tolerates having been
/// done already, so a delete that failed halfway is finished by the next one.
pub async fn delete(state: &AppState, file: &FileDoc) -> ApiResult<()> {
    super::shares::delete_for_file(state, &file.id).await?;
    let blobs = &state.stores.blobs;
    if let Some(staging) = &file.staging
        && file.status == FileStatus::Pending
    {
        // Staged blocks of an upload never completed (ready files have none left).
        blobs.discard(FILES, staging).await?;
    }
    blobs.delete(FILES, &file.blob).await?;
    if let Some(thumbnail) = &file.thumbnail.blob {
        blobs.delete(THUMBNAILS, thumbnail).await?;
    }
    files(state).remove(&file.owner_id, &file.id).await?;
    crate::dashboard::touch(state, &file.owner_id).await;
    Ok(())
}

/// The owner's ready files, newest first.
pub async fn list_own(
    state: &AppState,
    owner_id: &str,
    limit: u32,
    cursor: Option<&str>,
) -> ApiResult<(Vec<FileDoc>, Option<String>)> {
    let query = Query::default()
        .filter(Filter::eq("status", FileStatus::Ready.as_str()))
        .order_by("createdAt", crate::store::Order::Desc)
        .limit(limit);
    let page = files(state).query(Some(owner_id), &query, cursor).await?;
    Ok((page.items, page.continuation))
}

/// Every ready file of the owner (for the export, the erase and the dashboard).
pub async fn all_own(state: &AppState, owner_id: &str) -> ApiResult<Vec<FileDoc>> {
    let mut files = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let (page, next) = list_own(state, owner_id, 100, cursor.as_deref()).await?;
        files.extend(page);
        match next {
            Some(next) => cursor = Some(next),
            None => return Ok(files),
        }
    }
}

/// Records a new share link.
pub async fn create_share(state: &AppState, share: &ShareDoc) -> ApiResult<()> {
    shares(state).create(share).await?;
    Ok(())
}

pub async fn get_share(state: &AppState, link_id: &str) -> ApiResult<Option<ShareDoc>> {
    Ok(shares(state).get(link_id, link_id).await?)
}

/// Every link of one file, across the `shares` partitions.
pub async fn shares_of_file(state: &AppState, file_id: &str) -> ApiResult<Vec<ShareDoc>> {
    let query = Query::default()
        .filter(Filter::eq("fileId", file_id))
        .limit(100);
    Ok(shares(state).query_all(None, &query).await?)
}

/// Deletes a link if it is still there.
pub async fn remove_share(state: &AppState, link_id: &str) -> ApiResult<()> {
    shares(state).remove(link_id, link_id).await?;
    Ok(())
}

/// Adds `by` to a link's use count in one server-side step and returns the count after it;
/// `None` when the link is gone.
pub async fn count_share_access(
    state: &AppState,
    link_id: &str,
    by: i64,
) -> ApiResult<Option<u64>> {
    let incr = [PatchOp::Incr("/accessCount".into(), by)];
    match shares(state).patch(link_id, link_id, &incr, None).await {
        Ok(share) => Ok(Some(share.access_count)),
        Err(StoreError::NotFound) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Removes every document `query` matches with `remove`, asking again from the start after
/// each page: what was removed no longer matches, and a continuation token would skip rows on
/// the embedded store, whose tokens are offsets.
pub async fn sweep<T: Document>(
    state: &AppState,
    query: Query,
    remove: for<'a> fn(&'a AppState, &'a T) -> BoxFuture<'a, ApiResult<()>>,
) -> ApiResult<u64> {
    let collection = state.stores.collection::<T>();
    let mut removed = 0;
    for _ in 0..MAX_SWEEP_ROUNDS {
        let page = collection.query(None, &query, None).await?;
        if page.items.is_empty() {
            break;
        }
        for doc in &page.items {
            remove(state, doc).await?;
            removed += 1;
        }
    }
    Ok(removed)
}
