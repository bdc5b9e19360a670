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
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::extract::revoked_key;
use crate::error::{ApiError, ApiResult, Code};
use crate::state::AppState;
use crate::store::{Cmp, Filter, Order, Query, StoreError};

/// How many spent hashes a session remembers for reuse detection.
const SPENT_KEPT: usize = 50;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionDoc {
    pub id: String,
    pub user_id: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: DateTime<Utc>,
    pub ip: String,
    pub user_agent: String,
    pub current_hash: String,
    #[serde(default)]
    pub previous_hash: Option<String>,
    #[serde(default)]
    pub rotated_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub spent: Vec<String>,
    /// Absent (not null) while live: list queries select on "not defined".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_reason: Option<String>,
    /// Seconds after the last write: a session lapses after a week without a refresh.
    pub ttl: i64,
}

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
    let value = serde_json::to_value(&session).map_err(ApiError::internal)?;
    state
        .stores
        .documents
        .create("sessions", user_id, value)
        .await?;
    Ok((session.clone(), token(user_id, &session.id, &secret)))
}

async fn read(
    state: &AppState,
    user_id: &str,
    session_id: &str,
) -> ApiResult<Option<(SessionDoc, String)>> {
    if crate::store::doc_id_ok(session_id).is_err() || crate::store::doc_id_ok(user_id).is_err() {
        return Ok(None);
    }
    match state
        .stores
        .documents
        .get("sessions", user_id, session_id)
        .await?
    {
        Some(doc) => Ok(Some((
            serde_json::from_value(doc.value).map_err(ApiError::internal)?,
            doc.etag,
        ))),
        None => Ok(None),
    }
}

/// Spends a refresh token and returns the session with the next one.
pub async fn refresh(state: &AppState, presented: &str) -> ApiResult<(SessionDoc, String)> {
    let parsed = parse(presented).ok_or_else(invalid_refresh)?;
    let presented_hash = hash(parsed.secret);
    let grace = state.settings.auth.refresh_reuse_grace;
    for _ in 0..5 {
        let (mut session, etag) = read(state, parsed.user_id, parsed.session_id)
            .await?
            .ok_or_else(invalid_refresh)?;
        if session.revoked_at.is_some() {
            return Err(invalid_refresh());
        }
        if presented_hash != session.current_hash {
            // Another tab refreshed a moment ago: hand it the same new token.
            if session.previous_hash.as_deref() == Some(presented_hash.as_str()) {
                if let Some(current) = state
                    .stores
                    .cache
                    .get(&grace_key(&session.id, &presented_hash))
                    .await?
                {
                    return Ok((session, token(parsed.user_id, parsed.session_id, &current)));
                }
                // The winner of a race publishes its token just after its write: wait for it
                // rather than mistake a sibling tab for a thief.
                let just_rotated = session
                    .rotated_at
                    .is_some_and(|t| (Utc::now() - t).to_std().unwrap_or_default() < grace);
                if just_rotated {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            }
            let spent = session.previous_hash.as_deref() == Some(presented_hash.as_str())
                || session.spent.contains(&presented_hash);
            if spent {
                revoke(state, &session.user_id, &session.id, "refresh token reuse").await?;
                return Err(ApiError::new(
                    Code::TokenReused,
                    "This refresh token was already used; the session has been ended.",
                ));
            }
            return Err(invalid_refresh());
        }
        let next = random_secret();
        let now = Utc::now();
        session.spent.push(presented_hash.clone());
        if session.spent.len() > SPENT_KEPT {
            session.spent.remove(0);
        }
        session.previous_hash = Some(presented_hash.clone());
        session.current_hash = hash(&next);
        session.rotated_at = Some(now);
        session.last_used_at = now;
        let value = serde_json::to_value(&session).map_err(ApiError::internal)?;
        match state
            .stores
            .documents
            .replace("sessions", &session.user_id, value, Some(&etag))
            .await
        {
            Ok(_) => {
                if !grace.is_zero() {
                    state
                        .stores
                        .cache
                        .set(&grace_key(&session.id, &presented_hash), &next, grace)
                        .await?;
                }
                return Ok((session, token(parsed.user_id, parsed.session_id, &next)));
            }
            // A concurrent refresh won the race: look again (we are now the late tab).
            Err(StoreError::PreconditionFailed) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::unavailable(
        "The session is changing too fast; retry.",
    ))
}

/// Ends a session: its refresh token stops working now, its access tokens are refused until
/// they would have expired anyway.
pub async fn revoke(
    state: &AppState,
    user_id: &str,
    session_id: &str,
    reason: &str,
) -> ApiResult<()> {
    let access_ttl = state.settings.auth.access_token_ttl + Duration::from_secs(60);
    // The cache mark first: from this moment no access token of the session passes.
    state
        .stores
        .cache
        .set(&revoked_key(session_id), reason, access_ttl)
        .await?;
    for _ in 0..5 {
        let Some((mut session, etag)) = read(state, user_id, session_id).await? else {
            return Ok(());
        };
        if session.revoked_at.is_some() {
            return Ok(());
        }
        session.revoked_at = Some(Utc::now());
        session.revoked_reason = Some(reason.to_owned());
        let value = serde_json::to_value(&session).map_err(ApiError::internal)?;
        match state
            .stores
            .documents
            .replace("sessions", user_id, value, Some(&etag))
            .await
        {
            Ok(_) => return Ok(()),
            Err(StoreError::PreconditionFailed) => continue,
            Err(StoreError::NotFound) => return Ok(()),
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::unavailable(
        "The session is changing too fast; retry.",
    ))
}

/// The user's live sessions, most recently used first.
pub async fn list(state: &AppState, user_id: &str) -> ApiResult<Vec<SessionDoc>> {
    let mut out = Vec::new();
    let query = Query::default()
        .filter(Filter::new(
            "revokedAt",
            Cmp::Missing,
            serde_json::Value::Null,
        ))
        .order_by("lastUsedAt", Order::Desc)
        .limit(100);
    let mut token: Option<String> = None;
    loop {
        let page = state
            .stores
            .documents
            .query("sessions", Some(user_id), &query, token.as_deref())
            .await?;
        for doc in page.items {
            out.push(serde_json::from_value(doc.value).map_err(ApiError::internal)?);
        }
        match page.continuation {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    Ok(out)
}

/// Revokes every live session of a user, except `keep`.
pub async fn revoke_all(
    state: &AppState,
    user_id: &str,
    keep: Option<&str>,
    reason: &str,
) -> ApiResult<usize> {
    let mut n = 0;
    for session in list(state, user_id).await? {
        if Some(session.id.as_str()) != keep {
            revoke(state, user_id, &session.id, reason).await?;
            n += 1;
        }
    }
    Ok(n)
}
