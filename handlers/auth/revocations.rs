//! Ended sessions, as the access-token check sees them. An access token is a signed JWT that
//! lives 15 minutes, so ending its session must reach every instance at once: each ended
//! session gets a mark in the cache for the token lifetime (plus a minute of skew), and every
//! authenticated request and realtime connect looks for it.
//!
//! The marks are only a fast copy: the session documents (`revokedAt`) are the record. A cache
//! that comes back empty (a restart, a flush, a failover; the embedded cache at every start)
//! would otherwise let every revoked token in again. So the cache also holds an epoch key,
//! written once the marks are known to be complete, and read in the same round trip as the
//! mark. Without it the marks are rebuilt from the sessions ended within the token lifetime
//! before the cache is trusted.

use std::collections::HashSet;
use std::time::Duration;

use chrono::Utc;

use super::store;
use crate::error::ApiResult;
use crate::state::AppState;

/// Present while the cache holds a mark for every session ended within the token lifetime.
/// It never expires: if evicted or flushed, the next check rebuilds.
const EPOCH_KEY: &str = "auth:revocations-epoch";

/// One rebuild at a time in this process; the others wait for it and reuse its work.
static RESTORING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The cache key that marks a session ended while its access tokens could still be alive.
fn mark_key(session_id: &str) -> String {
    format!("auth:revoked-session:{session_id}")
}

/// How long after its end a session's access tokens may still be presented.
fn window(state: &AppState) -> Duration {
    state.settings.auth.access_token_ttl + Duration::from_secs(60)
}

/// Marks an ended session. Called before the session document records the end (from that
/// moment no token of it passes) and again after, so a rebuild that read the sessions between
/// a flush and the write cannot leave it unmarked.
pub async fn mark(state: &AppState, session_id: &str, reason: &str) -> ApiResult<()> {
    state
        .stores
        .cache
        .set(&mark_key(session_id), reason, window(state))
        .await?;
    Ok(())
}

/// Whether the session has ended, as far as its access tokens are concerned. One cache round
/// trip; after a cache loss, a rebuild from the session documents first.
pub async fn is_revoked(state: &AppState, session_id: &str) -> ApiResult<bool> {
    if let Some(revoked) = cached(state, session_id).await? {
        return Ok(revoked);
    }
    let _one = RESTORING.lock().await;
    // Another request may have rebuilt while this one waited.
    if let Some(revoked) = cached(state, session_id).await? {
        return Ok(revoked);
    }
    Ok(restore(state).await?.contains(session_id))
}

/// The cache's answer, `None` when the cache cannot be trusted (no epoch).
async fn cached(state: &AppState, session_id: &str) -> ApiResult<Option<bool>> {
    let found = state
        .stores
        .cache
        .get_many(&[&mark_key(session_id), EPOCH_KEY])
        .await?;
    Ok(match (found.first(), found.get(1)) {
        (Some(Some(_)), _) => Some(true),
        (_, Some(Some(_))) => Some(false),
        _ => None,
    })
}

/// Rebuilds the marks of every session ended within the token lifetime, then writes the
/// epoch; answers the ids it found.
async fn restore(state: &AppState) -> ApiResult<HashSet<String>> {
    let window = window(state);
    let now = Utc::now();
    let since = now - chrono::Duration::from_std(window).unwrap_or_default();
    let ended = store::sessions_ended_since(state, since).await?;
    let mut ids = HashSet::with_capacity(ended.len());
    for session in ended {
        let Some(ended_at) = session.revoked_at else {
            continue;
        };
        let elapsed = (now - ended_at).to_std().unwrap_or_default();
        let left = window.saturating_sub(elapsed);
        if !left.is_zero() {
            let reason = session.revoked_reason.as_deref().unwrap_or("revoked");
            state
                .stores
                .cache
                .set(&mark_key(&session.id), reason, left)
                .await?;
        }
        ids.insert(session.id);
    }
    state
        .stores
        .cache
        .set(EPOCH_KEY, &now.to_rfc3339(), Duration::ZERO)
        .await?;
    tracing::info!(
        marks = ids.len(),
        "revocation marks rebuilt from the session documents"
    );
    Ok(ids)
}
