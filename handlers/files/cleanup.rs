//! The files part of the daily `cleanup`: expired share links, uploads never completed, and
//! thumbnails whose file is gone. Each sweep pages through the data and only deletes, so a
//! run stopped at any point is finished by the next one.

use chrono::{Duration, Utc};
use futures::future::BoxFuture;
use serde::Serialize;

use super::model::{FileDoc, PENDING};
use super::store::{self as files, THUMBNAILS};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::{Cmp, Doc, Filter, Query};

/// An upload not completed after this long is abandoned.
pub const ABANDONED_AFTER: Duration = Duration::hours(24);
/// A thumbnail younger than this may belong to a file being written right now.
const ORPHAN_MIN_AGE: Duration = Duration::hours(1);
/// Bounds one run; what is left is swept the next day.
const MAX_ROUNDS: usize = 1000;

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Swept {
    pub expired_shares: u64,
    pub abandoned_uploads: u64,
    pub orphaned_thumbnails: u64,
}

pub async fn run(state: &AppState) -> ApiResult<Swept> {
    Ok(Swept {
        expired_shares: super::shares::sweep_expired(state).await?,
        abandoned_uploads: sweep_abandoned(state).await?,
        orphaned_thumbnails: sweep_orphaned_thumbnails(state).await?,
    })
}

/// Removes every document `query` matches with `remove`, asking again from the start after
/// each page: what was removed no longer matches, and a continuation token would skip rows on
/// the embedded store, whose tokens are offsets.
pub async fn sweep(
    state: &AppState,
    container: &str,
    query: Query,
    remove: for<'a> fn(&'a AppState, &'a Doc) -> BoxFuture<'a, ApiResult<()>>,
) -> ApiResult<u64> {
    let mut removed = 0;
    for _ in 0..MAX_ROUNDS {
        let page = state
            .stores
            .documents
            .query(container, None, &query, None)
            .await?;
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

async fn sweep_abandoned(state: &AppState) -> ApiResult<u64> {
    let before = (Utc::now() - ABANDONED_AFTER).to_rfc3339();
    let query = Query::default()
        .filter(Filter::eq("status", PENDING))
        .filter(Filter::new("createdAt", Cmp::Lt, before))
        .limit(100);
    sweep(state, "files", query, |state, doc| {
        Box::pin(async move {
            let file: FileDoc =
                serde_json::from_value(doc.value.clone()).map_err(ApiError::internal)?;
            files::delete(state, &file).await
        })
    })
    .await
}

/// Thumbnails are named `{ownerId}/{fileId}.jpg`; one whose file no longer exists goes.
async fn sweep_orphaned_thumbnails(state: &AppState) -> ApiResult<u64> {
    let blobs = &state.stores.blobs;
    let old_enough = Utc::now() - ORPHAN_MIN_AGE;
    let mut removed = 0;
    let mut marker: Option<String> = None;
    for _ in 0..MAX_ROUNDS {
        let page = blobs.list(THUMBNAILS, "", marker.as_deref(), 500).await?;
        for item in page.items {
            let Some((owner, file_id)) = item
                .name
                .strip_suffix(".jpg")
                .and_then(|stem| stem.split_once('/'))
            else {
                continue;
            };
            let orphan = match files::get_own(state, owner, file_id).await? {
                None => true,
                // The file lives but does not name this thumbnail: stale, unless the job is
                // between writing the blob and recording it.
                Some((file, _)) => {
                    file.thumbnail.blob.as_deref() != Some(&item.name)
                        && item.props.last_modified.is_some_and(|t| t < old_enough)
                }
            };
            if orphan && blobs.delete(THUMBNAILS, &item.name).await? {
                removed += 1;
            }
        }
        match page.continuation {
            Some(next) => marker = Some(next),
            None => break,
        }
    }
    Ok(removed)
}
