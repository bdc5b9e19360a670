//! The files part of a user's data export (every file, with fresh download links) and erase
//! (every file with its blobs, thumbnails and share links, completed or not).

use serde_json::Value;

use super::store as files;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The user's own files. Course assets an admin uploaded are the course's, not personal data:
/// they stay with the course, and go when it is deleted.
async fn personal(state: &AppState, user_id: &str) -> ApiResult<Vec<super::model::FileDoc>> {
    let mut all = files::all_of_user(state, user_id).await?;
    all.retain(|f| f.course_id.is_none());
    Ok(all)
}

pub async fn export(state: &AppState, user_id: &str) -> ApiResult<Value> {
    let mut items = Vec::new();
    for file in personal(state, user_id).await? {
        items.push(
            serde_json::to_value(files::view(state, &file).await?).map_err(ApiError::internal)?,
        );
    }
    Ok(Value::Array(items))
}

pub async fn erase(state: &AppState, user_id: &str) -> ApiResult<u64> {
    let mut removed = 0;
    // Read everything first: deleting while paging would shift the pages.
    for file in personal(state, user_id).await? {
        files::delete(state, &file).await?;
        removed += 1;
    }
    Ok(removed)
}
