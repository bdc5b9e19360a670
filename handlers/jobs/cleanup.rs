//! `cleanup` (timer, daily): removes what outlived its time in stores that do not expire data
//! on their own. Cosmos DB and Redis expire by TTL themselves and report 0 here; the embedded
//! SQLite store and in-process cache are swept. The files feature adds its sweeps (expired
//! share links, abandoned uploads, orphaned thumbnails).

use serde_json::json;

use crate::host::protocol::TimerInfo;
use crate::host::{Invocation, InvocationReply};
use crate::state::AppState;

pub async fn run(state: AppState, invocation: Invocation) -> anyhow::Result<InvocationReply> {
    let timer: TimerInfo = invocation
        .trigger_value()
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default();
    let started = std::time::Instant::now();
    let documents = state.stores.documents.purge_expired().await?;
    let cache_entries = state.stores.cache.purge_expired().await?;
    let files = crate::files::cleanup::run(&state)
        .await
        .map_err(|e| anyhow::anyhow!("sweeping files: {}", e.detail))?;
    let mut reply = InvocationReply::default();
    if timer.is_past_due {
        reply.log("cleanup: the run is past due");
    }
    let ms = started.elapsed().as_millis() as u64;
    reply.log(format!(
        "cleanup: removed {documents} expired documents, {cache_entries} cache entries, \
         {} expired share links, {} abandoned uploads and {} orphaned thumbnails in {ms} ms",
        files.expired_shares, files.abandoned_uploads, files.orphaned_thumbnails
    ));
    reply.return_value = json!({
        "expiredDocuments": documents,
        "expiredCacheEntries": cache_entries,
        "expiredShares": files.expired_shares,
        "abandonedUploads": files.abandoned_uploads,
        "orphanedThumbnails": files.orphaned_thumbnails,
        "durationMs": ms,
    });
    super::record_run(&state, "cleanup", &reply.return_value).await?;
    Ok(reply)
}
