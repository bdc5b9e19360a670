//! The files part of the daily `cleanup`: expired share links, uploads never completed, and
//! thumbnails whose file is gone. Each sweep pages through the data and only deletes, so a
//! run stopped at any point is finished by the next one.

use chrono::{Duration, Utc};
use serde::Serialize;

use super::model::{FileDoc, FileStatus};
use super::store::{self as files, THUMBNAILS};
use crate::error::ApiResult;
use crate::state::AppState;
use crate::store::{Cmp, Filter, Query};

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

async fn sweep_abandoned(state: &AppState) -> ApiResult<u64> {
    let before = (Utc::now() - ABANDONED_AFTER).to_rfc3339();
    let query = Query::default()
        .filter(Filter::eq("status", FileStatus::Pending.as_str()))
        .filter(Filter::new("createdAt", Cmp::Lt, before))
        .limit(100);
    files::sweep(state, query, |state, file: &FileDoc| {
        Box::pin(files::delete(state, file))
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
                Some(file) => {
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
