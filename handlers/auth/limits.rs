//! Rate limits as fixed windows counted in the cache, so they hold across instances: auth
//! endpoints per IP and per account, everything under /api per IP, and the login lockout.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::{ApiError, ApiResult, Code};
use crate::state::AppState;
use crate::store::Cache;

const MINUTE: Duration = Duration::from_secs(60);

fn limited(retry_after: Duration) -> ApiError {
    ApiError::new(
        Code::RateLimited,
        "Too many requests; wait before trying again.",
    )
    .with_retry_after(retry_after.as_secs().max(1))
}

/// Counts one hit on `key` in a window; over `limit` answers 429 with the window's remainder.
pub async fn hit(cache: &dyn Cache, key: &str, limit: u32, window: Duration) -> ApiResult<()> {
    let count = cache.incr(key, 1, window).await?;
    if count > i64::from(limit) {
        let remaining = cache.ttl(key).await?.unwrap_or(window);
        return Err(limited(remaining));
    }
    Ok(())
}

/// The auth endpoints' limit: per IP and, when known, per account (normalised email).
pub async fn auth_hit(
    state: &AppState,
    action: &str,
    ip: &str,
    account: Option<&str>,
) -> ApiResult<()> {
    let cache = state.stores.cache.as_ref();
    let limit = state.settings.auth.auth_per_minute;
    hit(cache, &format!("rl:auth:{action}:ip:{ip}"), limit, MINUTE).await?;
    if let Some(account) = account {
        // Hashed: an email address is personal data and has no place in a cache key.
        let account = super::sessions::hash(account);
        hit(
            cache,
            &format!("rl:auth:{action}:acct:{}", &account[..32]),
            limit,
            MINUTE,
        )
        .await?;
    }
    Ok(())
}

/// Middleware: the general per-IP limit on /api. If the cache is down, requests go through
/// (logged): an outage of the limiter must not become an outage of the API.
pub async fn general(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if path == "/api/healthz" || path == "/api/readyz" {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let ip = super::extract::client_ip(&parts, state.settings.trusted_proxy_hops);
    let request = Request::from_parts(parts, body);
    let limit = state.settings.auth.general_per_minute;
    match hit(
        state.stores.cache.as_ref(),
        &format!("rl:general:{ip}"),
        limit,
        MINUTE,
    )
    .await
    {
        Ok(()) => next.run(request).await,
        Err(e) if e.status == StatusCode::TOO_MANY_REQUESTS => e.into_response(),
        Err(e) => {
            tracing::warn!("rate limiter unavailable, letting the request through: {e}");
            next.run(request).await
        }
    }
}

fn failures_key(user_id: &str) -> String {
    format!("auth:login-failures:{user_id}")
}

fn locked_key(user_id: &str) -> String {
    format!("auth:locked:{user_id}")
}

/// 429 `ACCOUNT_LOCKED` while the account is locked.
pub async fn check_lock(state: &AppState, user_id: &str) -> ApiResult<()> {
    let cache = state.stores.cache.as_ref();
    if let Some(remaining) = cache.ttl(&locked_key(user_id)).await? {
        return Err(ApiError::new(
            Code::AccountLocked,
            "Too many failed sign-ins; the account is locked for a while.",
        )
        .with_retry_after(remaining.as_secs().max(1)));
    }
    Ok(())
}

/// Counts a failed login; the fifth within the lockout period locks the account.
pub async fn record_failure(state: &AppState, user_id: &str) -> ApiResult<()> {
    let cache = state.stores.cache.as_ref();
    let lockout = state.settings.auth.lockout;
    let failures = cache.incr(&failures_key(user_id), 1, lockout).await?;
    if failures >= i64::from(state.settings.auth.lockout_failures) {
        cache.set(&locked_key(user_id), "1", lockout).await?;
        cache.del(&failures_key(user_id)).await?;
    }
    Ok(())
}

pub async fn clear_failures(state: &AppState, user_id: &str) -> ApiResult<()> {
    state.stores.cache.del(&failures_key(user_id)).await?;
    Ok(())
}

/// Every cache key this module keeps about a user (for erasure).
pub fn user_keys(user_id: &str) -> Vec<String> {
    vec![failures_key(user_id), locked_key(user_id)]
}
