//! Reading, showing, sharing access to and deleting files. Every read by id goes through
//! [`readable`], the one place that decides who may see a file.

use chrono::{Duration, Utc};

use super::model::{
    Category, FileDoc, FileView, Grant, READY, Thumbnail, ThumbnailStatus, content_disposition,
};
use crate::auth::extract::AuthUser;
use crate::error::{ApiError, ApiResult, Code};
use crate::state::AppState;
use crate::store::{Filter, Query, ReadHeaders, SasAccess, StoreError};

/// Blob containers of the feature.
pub const FILES: &str = "files";
pub const THUMBNAILS: &str = "thumbnails";
/// How long a read or upload URL lives.
pub const URL_LIFETIME: Duration = Duration::minutes(15);

fn parse(value: serde_json::Value) -> ApiResult<FileDoc> {
    serde_json::from_value(value).map_err(ApiError::internal)
}

/// The owner's file, with its ETag.
pub async fn get_own(
    state: &AppState,
    owner_id: &str,
    id: &str,
) -> ApiResult<Option<(FileDoc, String)>> {
    if crate::store::doc_id_ok(id).is_err() {
        return Ok(None);
    }
    match state.stores.documents.get("files", owner_id, id).await? {
        Some(doc) => Ok(Some((parse(doc.value)?, doc.etag))),
        None => Ok(None),
    }
}

/// A file by id whoever owns it: the caller's own partition first (one point read), then an
/// indexed query across owners for files shared with the caller.
async fn find(state: &AppState, caller_id: &str, id: &str) -> ApiResult<Option<FileDoc>> {
    if let Some((file, _)) = get_own(state, caller_id, id).await? {
        return Ok(Some(file));
    }
    if crate::store::doc_id_ok(id).is_err() {
        return Ok(None);
    }
    let page = state
        .stores
        .documents
        .query(
            "files",
            None,
            &Query::default().filter(Filter::eq("id", id)).limit(1),
            None,
        )
        .await?;
    page.items
        .into_iter()
        .next()
        .map(|d| parse(d.value))
        .transpose()
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
                let admin = crate::users::store::get(state, &caller.user_id)
                    .await?
                    .is_some_and(|u| u.is_active_admin());
                if admin {
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

/// Membership as the chat feature keeps it: one `memberships` document per conversation in
/// the user's partition, with the conversation's id as its id.
pub async fn is_member(state: &AppState, user_id: &str, conversation_id: &str) -> ApiResult<bool> {
    if crate::store::doc_id_ok(conversation_id).is_err() {
        return Ok(false);
    }
    Ok(state
        .stores
        .documents
        .get("memberships", user_id, conversation_id)
        .await?
        .is_some())
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
    let ready = file.status == READY;
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
        status: file.status.clone(),
        created_at: file.created_at,
        completed_at: file.completed_at,
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
    let docs = &state.stores.documents;
    for _ in 0..5 {
        let (mut file, etag) = get_own(state, owner_id, id)
            .await?
            .filter(|(f, _)| f.status == READY)
            .ok_or_else(|| {
                ApiError::new(
                    Code::AttachmentNotReady,
                    format!("File {id} is not a ready file of yours."),
                )
            })?;
        if file.grants.contains(&grant) {
            return Ok(file);
        }
        file.grants.push(grant.clone());
        let value = serde_json::to_value(&file).map_err(ApiError::internal)?;
        match docs.replace("files", owner_id, value, Some(&etag)).await {
            Ok(_) => return Ok(file),
            Err(StoreError::PreconditionFailed) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::new(
        Code::ConcurrentUpdate,
        "The file kept changing; retry.",
    ))
}

/// Removes a file with everything hanging off it: share links first (so no link outlives
/// the file), then blob and thumbnail, then the document. Every step tolerates having been
/// done already, so a delete that failed halfway is finished by the next one.
pub async fn delete(state: &AppState, file: &FileDoc) -> ApiResult<()> {
    super::shares::delete_for_file(state, &file.id).await?;
    let blobs = &state.stores.blobs;
    blobs.delete(FILES, &file.blob).await?;
    if let Some(thumbnail) = &file.thumbnail.blob {
        blobs.delete(THUMBNAILS, thumbnail).await?;
    }
    match state
        .stores
        .documents
        .delete("files", &file.owner_id, &file.id)
        .await
    {
        Ok(()) | Err(StoreError::NotFound) => {}
        Err(e) => return Err(e.into()),
    }
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
        .filter(Filter::eq("status", READY))
        .order_by("createdAt", crate::store::Order::Desc)
        .limit(limit);
    let page = state
        .stores
        .documents
        .query("files", Some(owner_id), &query, cursor)
        .await?;
    let files = page
        .items
        .into_iter()
        .map(|d| parse(d.value))
        .collect::<ApiResult<Vec<_>>>()?;
    Ok((files, page.continuation))
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
