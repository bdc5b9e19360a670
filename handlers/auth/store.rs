//! Reading and writing auth's documents: sessions (partition `/userId`), one-time tokens and
//! invites (both keyed by the SHA-256 hash of their secret, which is id and partition key).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::onetime::Purpose;
use crate::error::ApiResult;
use crate::state::AppState;
use crate::store::{Change, Cmp, Collection, Filter, Order, PatchOp, Query};
use crate::users::model::Role;

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

crate::document!(SessionDoc, SESSIONS, user_id);

/// A one-time token; its id is the hash of the secret the user was sent.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenDoc {
    pub id: String,
    pub purpose: Purpose,
    pub user_id: String,
    pub created_at: DateTime<Utc>,
    pub ttl: u64,
    /// A passwordless sign-up's address and name (there is no user yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// An OpenID Connect sign-in on its way through the provider (its id is the `state`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oidc: Option<OidcPending>,
}

crate::document!(TokenDoc, TOKENS, id);

/// What the callback of an OpenID Connect sign-in needs, kept here and never sent to the
/// browser but as the state's hash.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OidcPending {
    pub provider: String,
    pub pkce_verifier: String,
    pub nonce: String,
    /// A path on the app, checked when the sign-in started.
    pub redirect_to: String,
    /// The hash of the browser-binding cookie set with the redirect to the provider: a
    /// callback from another browser (a link an attacker finished signing in with) is refused.
    pub binding: String,
}

/// An invite to sign up; its id is the hash of the token in the invite link.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InviteDoc {
    pub id: String,
    /// Normalised: only this address may use the invite.
    pub email: String,
    pub role: Role,
    pub invited_by: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// Set (by a patch) when a sign-up spends the invite.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_at: Option<DateTime<Utc>>,
    /// Set when the inviter or an admin revokes it (or it is sent again under a new secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<DateTime<Utc>>,
    pub ttl: i64,
}

crate::document!(InviteDoc, INVITES, id);

impl InviteDoc {
    /// Unused and unexpired at `now`.
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.used_at.is_none() && self.revoked_at.is_none() && self.expires_at > now
    }
}

fn sessions(state: &AppState) -> Collection<SessionDoc> {
    state.stores.collection()
}

fn tokens(state: &AppState) -> Collection<TokenDoc> {
    state.stores.collection()
}

fn invites(state: &AppState) -> Collection<InviteDoc> {
    state.stores.collection()
}

pub async fn create_session(state: &AppState, session: &SessionDoc) -> ApiResult<()> {
    sessions(state).create(session).await?;
    Ok(())
}

/// Applies `change` to a session with optimistic concurrency (see `Collection::update_with_async`);
/// `None` when there is no such session. The ids come from a client's refresh token: ids no
/// backend accepts are simply no session.
pub async fn update_session<R, F, Fut>(
    state: &AppState,
    user_id: &str,
    session_id: &str,
    change: F,
) -> ApiResult<Option<(SessionDoc, R)>>
where
    F: FnMut(SessionDoc) -> Fut,
    Fut: Future<Output = ApiResult<(SessionDoc, Change<R>)>>,
{
    if crate::store::doc_id_ok(session_id).is_err() || crate::store::doc_id_ok(user_id).is_err() {
        return Ok(None);
    }
    sessions(state)
        .update_with_async(user_id, session_id, change)
        .await
}

/// One session of the user.
pub async fn get_session(
    state: &AppState,
    user_id: &str,
    session_id: &str,
) -> ApiResult<Option<SessionDoc>> {
    if crate::store::doc_id_ok(session_id).is_err() || crate::store::doc_id_ok(user_id).is_err() {
        return Ok(None);
    }
    Ok(sessions(state).get(user_id, session_id).await?)
}

/// The user's live sessions, most recently used first.
pub async fn live_sessions(state: &AppState, user_id: &str) -> ApiResult<Vec<SessionDoc>> {
    let query = Query::default()
        .filter(Filter::new(
            "revokedAt",
            Cmp::Missing,
            serde_json::Value::Null,
        ))
        .order_by("lastUsedAt", Order::Desc)
        .limit(100);
    Ok(sessions(state).query_all(Some(user_id), &query).await?)
}

/// Every session (of any user) ended at or after `since`, for rebuilding the revocation marks.
pub async fn sessions_ended_since(
    state: &AppState,
    since: DateTime<Utc>,
) -> ApiResult<Vec<SessionDoc>> {
    let query = Query::default()
        .filter(Filter::new(
            "revokedAt",
            Cmp::Gte,
            since.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
        ))
        .limit(500);
    Ok(sessions(state).query_all(None, &query).await?)
}

/// Every session of the user, ended ones too (for the data export).
pub async fn all_sessions(state: &AppState, user_id: &str) -> ApiResult<Vec<SessionDoc>> {
    let query = Query::default().limit(500);
    Ok(sessions(state).query_all(Some(user_id), &query).await?)
}

pub async fn erase_sessions(state: &AppState, user_id: &str) -> ApiResult<u64> {
    crate::users::store::remove_matching(&sessions(state), Some(user_id), Query::default()).await
}

pub async fn create_token(state: &AppState, token: &TokenDoc) -> ApiResult<()> {
    tokens(state).create(token).await?;
    Ok(())
}

pub async fn get_token(state: &AppState, id: &str) -> ApiResult<Option<TokenDoc>> {
    Ok(tokens(state).get(id, id).await?)
}

/// Deletes the token; `false` when it was already gone (another use claimed it first).
pub async fn remove_token(state: &AppState, id: &str) -> ApiResult<bool> {
    Ok(tokens(state).remove(id, id).await?)
}

/// Deletes every outstanding one-time token of a user.
pub async fn erase_tokens(state: &AppState, user_id: &str) -> ApiResult<u64> {
    let query = Query::default().filter(Filter::eq("userId", user_id));
    crate::users::store::remove_matching(&tokens(state), None, query).await
}

/// Deletes the user's outstanding one-time tokens of one purpose.
pub async fn erase_tokens_of(state: &AppState, user_id: &str, purpose: Purpose) -> ApiResult<u64> {
    let query = Query::default()
        .filter(Filter::eq("userId", user_id))
        .filter(Filter::eq(
            "purpose",
            serde_json::to_value(purpose).expect("a purpose is a string"),
        ));
    crate::users::store::remove_matching(&tokens(state), None, query).await
}

pub async fn create_invite(state: &AppState, invite: &InviteDoc) -> ApiResult<()> {
    invites(state).create(invite).await?;
    Ok(())
}

pub async fn get_invite(state: &AppState, id: &str) -> ApiResult<Option<InviteDoc>> {
    Ok(invites(state).get(id, id).await?)
}

/// A page of invites (across partitions: each invite is its own).
pub async fn invite_page(
    state: &AppState,
    query: &Query,
    cursor: Option<&str>,
) -> ApiResult<(Vec<InviteDoc>, Option<String>)> {
    let page = invites(state).query(None, query, cursor).await?;
    Ok((page.items, page.continuation))
}

/// Marks the invite revoked (a patch; revoking again only moves the time).
pub async fn revoke_invite(state: &AppState, id: &str, at: DateTime<Utc>) -> ApiResult<()> {
    let revoked = PatchOp::Set("/revokedAt".into(), serde_json::json!(at));
    invites(state).patch(id, id, &[revoked], None).await?;
    Ok(())
}

/// Marks the invite used: a patch, so it cannot undo a concurrent change to the invite.
pub async fn spend_invite(state: &AppState, id: &str, at: DateTime<Utc>) -> ApiResult<()> {
    let used = PatchOp::Set("/usedAt".into(), serde_json::json!(at));
    invites(state).patch(id, id, &[used], None).await?;
    Ok(())
}

/// A live invite for `email` (the newest), for sign-ins that bring no invite link (OpenID
/// Connect in an invite-only portal).
pub async fn live_invite_for(
    state: &AppState,
    email: &str,
    now: DateTime<Utc>,
) -> ApiResult<Option<InviteDoc>> {
    let query = Query::default()
        .filter(Filter::eq("email", email))
        .limit(50);
    let page = invites(state).query(None, &query, None).await?;
    Ok(page
        .items
        .into_iter()
        .filter(|i| i.is_live(now))
        .max_by_key(|i| i.created_at))
}

/// Deletes every invite sent to `email`.
pub async fn erase_invites(state: &AppState, email: &str) -> ApiResult<u64> {
    let query = Query::default().filter(Filter::eq("email", email));
    crate::users::store::remove_matching(&invites(state), None, query).await
}
