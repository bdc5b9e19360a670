//! Sessions and refresh tokens. A session is a document (partition `/userId`) holding the hash
//! of its current refresh token and the hashes it has spent. A refresh spends the current token
//! and issues the next (rotation, with If-Match so two refreshes cannot both win). Presenting a
//! spent token is reuse: the session is revoked, unless it is the one just rotated and within
//! the grace window, when the caller (another tab) gets the token that replaced it.
//!
//! A refresh token reads `<userId>.<sessionId>.<secret>`: the ids say where the session lives,
//! the 256-bit secret is what proves possession and is stored only as a SHA-256 hash.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use sha2::{Digest, Sha256};

use super::revocations;
use super::store::{self, SessionDoc};
use crate::error::{ApiError, ApiResult, Code};
use crate::state::AppState;
use crate::store::Change;

/// How many spent hashes a session remembers for reuse detection.
const SPENT_KEPT: usize = 50;

pub fn hash(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// 256 random bits, base64url.
pub fn random_secret() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

pub struct Parsed<'a> {
    pub user_id: &'a str,
    pub session_id: &'a str,
    pub secret: &'a str,
}

pub fn parse(token: &str) -> Option<Parsed<'_>> {
    let mut parts = token.trim().splitn(3, '.');
    let (user_id, session_id, secret) = (parts.next()?, parts.next()?, parts.next()?);
    if user_id.is_empty() || session_id.is_empty() || secret.len() < 40 {
        return None;
    }
    Some(Parsed {
        user_id,
        session_id,
        secret,
    })
}

fn token(user_id: &str, session_id: &str, secret: &str) -> String {
    format!("{user_id}.{session_id}.{secret}")
}

/// The cache key that lets a concurrent refresh within the grace window get the new token.
fn grace_key(session_id: &str, spent_hash: &str) -> String {
    format!("auth:refresh-grace:{session_id}:{spent_hash}")
}

fn invalid_refresh() -> ApiError {
    ApiError::new(
        Code::InvalidRefreshToken,
        "The refresh token is invalid or expired; sign in again.",
    )
}

/// Starts a session; returns it with its first refresh token.
pub async fn create(
    state: &AppState,
    user_id: &str,
    ip: &str,
    user_agent: &str,
) -> ApiResult<(SessionDoc, String)> {
    let secret = random_secret();
    let now = Utc::now();
    let session = SessionDoc {
        id: uuid::Uuid::new_v4().to_string(),
        user_id: user_id.to_owned(),
        created_at: now,
        last_used_at: now,
        ip: ip.to_owned(),
        user_agent: user_agent.to_owned(),
        current_hash: hash(&secret),
        previous_hash: None,
        rotated_at: None,
        spent: Vec::new(),
        revoked_at: None,
        revoked_reason: None,
        ttl: state.settings.auth.refresh_token_ttl.as_secs() as i64,
    };
    store::create_session(state, &session).await?;
    let token = token(user_id, &session.id, &secret);
    Ok((session, token))
}

/// What a refresh found in the session it read.
enum Refresh {
    /// The presented token was current: the session now holds the hash of this next secret.
    Rotated(String),
    /// A sibling tab rotated the presented token a moment ago: its successor, from the cache.
    Sibling(String),
    /// A spent token came back: whoever holds it, the session is compromised.
    Reused,
    Invalid,
}

/// Decides a refresh on a freshly read session (the change of `store::update_session`).
async fn rotate(
    state: &AppState,
    mut session: SessionDoc,
    presented_hash: &str,
) -> ApiResult<(SessionDoc, Change<Refresh>)> {
    if session.revoked_at.is_some() {
        return Ok((session, Change::Keep(Refresh::Invalid)));
    }
    if presented_hash != session.current_hash {
        let previous = session.previous_hash.as_deref() == Some(presented_hash);
        // Another tab refreshed a moment ago: hand it the same new token.
        if previous {
            let key = grace_key(&session.id, presented_hash);
            if let Some(current) = state.stores.cache.get(&key).await? {
                return Ok((session, Change::Keep(Refresh::Sibling(current))));
            }
            // The winner of a race publishes its token just after its write: wait for it
            // rather than mistake a sibling tab for a thief.
            let grace = state.settings.auth.refresh_reuse_grace;
            let just_rotated = session
                .rotated_at
                .is_some_and(|t| (Utc::now() - t).to_std().unwrap_or_default() < grace);
            if just_rotated {
                tokio::time::sleep(Duration::from_millis(50)).await;
                return Ok((session, Change::Retry));
            }
        }
        let outcome = if previous || session.spent.iter().any(|h| h == presented_hash) {
            Refresh::Reused
        } else {
            Refresh::Invalid
        };
        return Ok((session, Change::Keep(outcome)));
    }
    let next = random_secret();
    let now = Utc::now();
    session.spent.push(presented_hash.to_owned());
    if session.spent.len() > SPENT_KEPT {
        session.spent.remove(0);
    }
    session.previous_hash = Some(presented_hash.to_owned());
    session.current_hash = hash(&next);
    session.rotated_at = Some(now);
    session.last_used_at = now;
    Ok((session, Change::Write(Refresh::Rotated(next))))
}

/// Spends a refresh token and returns the session with the next one. A lost race re-reads the
/// session, so the late one of two concurrent refreshes finds itself the sibling tab.
pub async fn refresh(state: &AppState, presented: &str) -> ApiResult<(SessionDoc, String)> {
    let parsed = parse(presented).ok_or_else(invalid_refresh)?;
    let presented_hash = hash(parsed.secret);
    let presented_hash = presented_hash.as_str();
    let (session, outcome) =
        store::update_session(state, parsed.user_id, parsed.session_id, |session| {
            rotate(state, session, presented_hash)
        })
        .await?
        .ok_or_else(invalid_refresh)?;
    let secret = match outcome {
        Refresh::Rotated(next) => {
            let grace = state.settings.auth.refresh_reuse_grace;
            if !grace.is_zero() {
                let key = grace_key(&session.id, presented_hash);
                state.stores.cache.set(&key, &next, grace).await?;
            }
            next
        }
        Refresh::Sibling(current) => current,
        Refresh::Reused => {
            revoke(state, &session.user_id, &session.id, "refresh token reuse").await?;
            return Err(ApiError::new(
                Code::TokenReused,
                "This refresh token was already used; the session has been ended.",
            ));
        }
        Refresh::Invalid => return Err(invalid_refresh()),
    };
    Ok((session, token(parsed.user_id, parsed.session_id, &secret)))
}

/// Ends a session: its refresh token stops working now, its access tokens are refused until
/// they would have expired anyway, and the user's realtime connections are closed (the others
/// of their sessions reconnect through negotiate; this one cannot).
pub async fn revoke(
    state: &AppState,
    user_id: &str,
    session_id: &str,
    reason: &str,
) -> ApiResult<()> {
    end_session(state, user_id, session_id, reason).await?;
    close_connections(state, user_id, reason).await;
    Ok(())
}

/// Closes the user's realtime connections. A refusal of the service must not fail the logout
/// that asked for it: the session is already over, negotiate and connect refuse it, and
/// the client token it had expires within 15 minutes. So it is logged and passed over.
async fn close_connections(state: &AppState, user_id: &str, reason: &str) {
    if let Err(e) = state.realtime.close_user_connections(user_id, reason).await {
        tracing::warn!(reason, "realtime connections not closed: {e:#}");
    }
}

async fn end_session(
    state: &AppState,
    user_id: &str,
    session_id: &str,
    reason: &str,
) -> ApiResult<()> {
    // The cache mark first: from this moment no access token of the session passes.
    revocations::mark(state, session_id, reason).await?;
    store::update_session(state, user_id, session_id, |mut session| {
        let change = if session.revoked_at.is_some() {
            Change::Keep(())
        } else {
            session.revoked_at = Some(Utc::now());
            session.revoked_reason = Some(reason.to_owned());
            Change::Write(())
        };
        std::future::ready(Ok((session, change)))
    })
    .await?;
    // Again, now that the document says so (see `revocations::mark`).
    revocations::mark(state, session_id, reason).await
}

/// The user's live sessions, most recently used first.
pub async fn list(state: &AppState, user_id: &str) -> ApiResult<Vec<SessionDoc>> {
    store::live_sessions(state, user_id).await
}

/// Revokes every live session of a user, except `keep`, and closes all of their realtime
/// connections (also when no session was live: a socket can outlive its session's expiry).
pub async fn revoke_all(
    state: &AppState,
    user_id: &str,
    keep: Option<&str>,
    reason: &str,
) -> ApiResult<usize> {
    let mut n = 0;
    for session in list(state, user_id).await? {
        if Some(session.id.as_str()) != keep {
            end_session(state, user_id, &session.id, reason).await?;
            n += 1;
        }
    }
    close_connections(state, user_id, reason).await;
    Ok(n)
}
