//! Rate limits as fixed windows counted in the cache, so they hold across instances: auth
//! endpoints per IP and per account, everything under /api per IP, and the login lockout.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::Utc;

use crate::error::{ApiError, ApiResult, Code};
use crate::state::AppState;
use crate::store::Cache;
use crate::users::model::UserDoc;

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

// The lockout is keyed by the normalised email (hashed), not by the account: an address
// without an account then counts and locks exactly like one with an account, so the answers
// (and their timing) do not tell which addresses have accounts.
fn subject(email: &str) -> String {
    super::sessions::hash(email)[..32].to_owned()
}

fn failures_key(email: &str) -> String {
    format!("auth:login-failures:{}", subject(email))
}

fn locked_key(email: &str) -> String {
    format!("auth:locked:{}", subject(email))
}

fn locked(remaining: Duration) -> ApiError {
    ApiError::new(
        Code::AccountLocked,
        "Too many failed sign-ins; the account is locked for a while.",
    )
    .with_retry_after(remaining.as_secs().max(1))
}

/// Checks a password under the lockout of `email` (the normalised address, `None` when it is
/// not one) and of `account`, the user it belongs to if any: sign-in and the current-password
/// checks of a password change or an erase all go through here. The hash is verified in every
/// case (a dummy one without an account or password), so a locked, an unknown and a known
/// address cost the same; then 429 `ACCOUNT_LOCKED` while locked, else the result, a failure
/// counted toward the lock and a success clearing the count.
pub async fn verify_password(
    state: &AppState,
    email: Option<&str>,
    password: &str,
    account: Option<&UserDoc>,
) -> ApiResult<bool> {
    let cache = state.stores.cache.as_ref();
    let cached = match email {
        Some(email) => cache.ttl(&locked_key(email)).await?,
        None => None,
    };
    // The account's own record of a lock outlives the cache's (see `UserDoc::locked_until`).
    let recorded = account
        .and_then(|u| u.locked_until)
        .and_then(|until| (until - Utc::now()).to_std().ok())
        .filter(|left| !left.is_zero());
    let hash = account.and_then(|u| u.password_hash.as_deref());
    let ok = state
        .auth
        .passwords
        .verify(password, hash)
        .await
        .map_err(ApiError::internal)?;
    if let Some(remaining) = cached.max(recorded) {
        return Err(locked(remaining));
    }
    if let Some(email) = email {
        if ok {
            cache.del(&failures_key(email)).await?;
        } else {
            record_failure(state, email, account).await?;
        }
    }
    Ok(ok)
}

/// Counts a failed password check; the fifth within the lockout period locks the address,
/// and the account when there is one. The count itself stays in the cache, so an unknown
/// address costs what a known one does until the lock; the lock is written to the account.
pub async fn record_failure(
    state: &AppState,
    email: &str,
    account: Option<&UserDoc>,
) -> ApiResult<()> {
    let cache = state.stores.cache.as_ref();
    let lockout = state.settings.auth.lockout;
    let failures = cache.incr(&failures_key(email), 1, lockout).await?;
    if failures >= i64::from(state.settings.auth.lockout_failures) {
        cache.set(&locked_key(email), "1", lockout).await?;
        if let Some(account) = account {
            let until = Utc::now() + chrono::Duration::from_std(lockout).unwrap_or_default();
            crate::users::store::lock_until(state, &account.id, until).await?;
        }
        cache.del(&failures_key(email)).await?;
    }
    Ok(())
}

/// 429 `ACCOUNT_LOCKED` while `email` or its account is locked (a second factor is checked
/// under the same lock as the password).
pub async fn check_lock(state: &AppState, email: &str, account: &UserDoc) -> ApiResult<()> {
    let cached = state.stores.cache.ttl(&locked_key(email)).await?;
    let recorded = account
        .locked_until
        .and_then(|until| (until - Utc::now()).to_std().ok())
        .filter(|left| !left.is_zero());
    match cached.max(recorded) {
        Some(remaining) => Err(locked(remaining)),
        None => Ok(()),
    }
}

/// Forgets the failed attempts (a password reset proves the owner).
pub async fn clear_failures(state: &AppState, email: &str) -> ApiResult<()> {
    state.stores.cache.del(&failures_key(email)).await?;
    Ok(())
}

/// Every cache key this module keeps about an address (for erasure).
pub fn user_keys(email: &str) -> Vec<String> {
    vec![failures_key(email), locked_key(email)]
}
