//! Share links: an unguessable id that lets anyone read one file until it expires, is revoked,
//! or has been used `maxAccessCount` times.
//!
//! The count is one server-side increment (a Cosmos DB patch, an SQLite transaction): the
//! request whose increment lands at or below the maximum is served, any other undoes its
//! increment and is refused. Unlike a read-then-conditional-write, it never retries, so 50
//! requests at once on a link with 10 uses left give exactly 10 successes with no 503s.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::model::FileStatus;
use super::store::{self as files, URL_LIFETIME};
use crate::auth::extract::AuthUser;
use crate::error::{ApiError, ApiResult, AppJson, Code, FieldErrors, Problem};
use crate::state::AppState;
use crate::store::{Filter, Query};

const DEFAULT_LIFETIME_SECONDS: i64 = 7 * 24 * 3600;
const MAX_LIFETIME_SECONDS: i64 = 365 * 24 * 3600;
/// An expired link answers 410 for this long before its document expires by TTL.
const EXPIRED_GRACE_SECONDS: i64 = 24 * 3600;

/// The `shares` document (partition key `/id`, the link id).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShareDoc {
    pub id: String,
    pub file_id: String,
    pub owner_id: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_access_count: Option<u64>,
    #[serde(default)]
    pub access_count: u64,
    pub ttl: i64,
}

crate::document!(ShareDoc, SHARES, id);

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ShareRequest {
    /// 60 seconds to 365 days; default 7 days.
    #[serde(default)]
    pub expires_in_seconds: Option<i64>,
    /// How many times the link can be opened; unlimited when absent.
    #[serde(default)]
    pub max_access_count: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ShareCreated {
    pub link_id: String,
    /// The public address of the link (`GET /api/v1/share/{linkId}`).
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Share {
    pub link_id: String,
    pub file_id: String,
    pub url: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub max_access_count: Option<u64>,
    pub access_count: u64,
    pub expired: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ShareList {
    pub items: Vec<Share>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SharedFile {
    pub file_name: String,
    pub size: u64,
    pub content_type: String,
    /// Valid for 15 minutes.
    pub download_url: String,
    /// Opens so far, this one included.
    pub access_count: u64,
    pub max_access_count: Option<u64>,
    pub expires_at: DateTime<Utc>,
}

/// 256 random bits, URL-safe.
fn new_link_id() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn link_url(state: &AppState, link_id: &str) -> String {
    format!("{}/api/v1/share/{link_id}", state.api_base())
}

fn to_share(state: &AppState, doc: ShareDoc, now: DateTime<Utc>) -> Share {
    Share {
        url: link_url(state, &doc.id),
        expired: doc.expires_at <= now,
        link_id: doc.id,
        file_id: doc.file_id,
        created_at: doc.created_at,
        expires_at: doc.expires_at,
        access_count: doc
            .max_access_count
            .map_or(doc.access_count, |m| doc.access_count.min(m)),
        max_access_count: doc.max_access_count,
    }
}

#[utoipa::path(post, operation_id = "createShare", path = "/api/v1/files/{id}/share", tag = "files", security(("bearer" = [])),
    params(("id" = String, Path, description = "File id")), request_body = ShareRequest,
    responses(
        (status = 201, description = "The link", body = ShareCreated),
        (status = 400, description = "`VALIDATION_FAILED`", body = Problem),
        (status = 404, description = "No such file of yours", body = Problem),
        (status = 409, description = "`FILE_NOT_READY`: the upload is not complete", body = Problem),
    ))]
pub async fn create(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<(StatusCode, AppJson<ShareCreated>)> {
    // The body is optional: no body means the defaults.
    let request: ShareRequest = if body.iter().all(u8::is_ascii_whitespace) {
        ShareRequest::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::new(Code::InvalidBody, e.to_string()))?
    };
    let mut errors = FieldErrors::new();
    let lifetime = request
        .expires_in_seconds
        .unwrap_or(DEFAULT_LIFETIME_SECONDS);
    if !(60..=MAX_LIFETIME_SECONDS).contains(&lifetime) {
        errors.insert(
            "expiresInSeconds".into(),
            vec![format!("Use 60 to {MAX_LIFETIME_SECONDS} seconds.")],
        );
    }
    if request.max_access_count == Some(0) || request.max_access_count > Some(1_000_000) {
        errors.insert(
            "maxAccessCount".into(),
            vec!["Use 1 to 1000000, or leave it out for no limit.".into()],
        );
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let file = files::get_own(&state, &user.user_id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("No such file."))?;
    if file.status != FileStatus::Ready {
        return Err(ApiError::new(
            Code::FileNotReady,
            "Complete the upload before sharing the file.",
        ));
    }
    let now = Utc::now();
    let share = ShareDoc {
        id: new_link_id(),
        file_id: file.id,
        owner_id: file.owner_id,
        created_at: now,
        expires_at: now + Duration::seconds(lifetime),
        max_access_count: request.max_access_count,
        access_count: 0,
        ttl: lifetime + EXPIRED_GRACE_SECONDS,
    };
    files::create_share(&state, &share).await?;
    Ok((
        StatusCode::CREATED,
        AppJson(ShareCreated {
            url: link_url(&state, &share.id),
            link_id: share.id,
            expires_at: share.expires_at,
        }),
    ))
}

/// Revokes every link of a file (when it is deleted).
pub async fn delete_for_file(state: &AppState, file_id: &str) -> ApiResult<()> {
    for share in files::shares_of_file(state, file_id).await? {
        files::remove_share(state, &share.id).await?;
    }
    Ok(())
}

#[utoipa::path(get, operation_id = "listShares", path = "/api/v1/files/{id}/shares", tag = "files", security(("bearer" = [])),
    params(("id" = String, Path, description = "File id")),
    responses(
        (status = 200, description = "The file's links, expired ones included until removed", body = ShareList),
        (status = 404, description = "No such file of yours", body = Problem),
    ))]
pub async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> ApiResult<AppJson<ShareList>> {
    files::get_own(&state, &user.user_id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("No such file."))?;
    let now = Utc::now();
    let mut items: Vec<Share> = files::shares_of_file(&state, &id)
        .await?
        .into_iter()
        .filter(|s| s.owner_id == user.user_id)
        .map(|s| to_share(&state, s, now))
        .collect();
    items.sort_by_key(|s| std::cmp::Reverse(s.created_at));
    Ok(AppJson(ShareList { items }))
}

fn link_id_ok(link_id: &str) -> bool {
    (16..=64).contains(&link_id.len())
        && link_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

async fn get_share(state: &AppState, link_id: &str) -> ApiResult<Option<ShareDoc>> {
    if !link_id_ok(link_id) {
        return Ok(None);
    }
    files::get_share(state, link_id).await
}

#[utoipa::path(delete, operation_id = "revokeShare", path = "/api/v1/share/{linkId}", tag = "files", security(("bearer" = [])),
    params(("linkId" = String, Path, description = "Link id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, description = "No such link of yours", body = Problem),
    ))]
pub async fn revoke(
    State(state): State<AppState>,
    user: AuthUser,
    Path(link_id): Path<String>,
) -> ApiResult<StatusCode> {
    let share = get_share(&state, &link_id)
        .await?
        .filter(|s| s.owner_id == user.user_id)
        .ok_or_else(|| ApiError::not_found("No such link."))?;
    files::remove_share(&state, &share.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn gone(code: Code, detail: &str) -> ApiError {
    ApiError::new(code, detail)
}

#[utoipa::path(get, operation_id = "accessShare", path = "/api/v1/share/{linkId}", tag = "files",
    params(("linkId" = String, Path, description = "Link id")),
    responses(
        (status = 200, description = "The file, with a download URL; counts one access", body = SharedFile),
        (status = 404, description = "No such link (never existed, revoked, or its file deleted)", body = Problem),
        (status = 410, description = "`SHARE_EXPIRED` or `SHARE_EXHAUSTED`", body = Problem),
    ))]
pub async fn access(
    State(state): State<AppState>,
    Path(link_id): Path<String>,
) -> ApiResult<AppJson<SharedFile>> {
    let not_found = || ApiError::not_found("No such link.");
    let share = get_share(&state, &link_id).await?.ok_or_else(not_found)?;
    let now = Utc::now();
    if share.expires_at <= now {
        return Err(gone(Code::ShareExpired, "This link has expired."));
    }
    let exhausted = || {
        gone(
            Code::ShareExhausted,
            "This link has been used as often as it allows.",
        )
    };
    if share
        .max_access_count
        .is_some_and(|m| share.access_count >= m)
    {
        return Err(exhausted());
    }
    let file = files::get_own(&state, &share.owner_id, &share.file_id)
        .await?
        .filter(|f| f.status == FileStatus::Ready)
        .ok_or_else(not_found)?;
    // `None`: revoked between the read and the count.
    let counted = files::count_share_access(&state, &share.id, 1)
        .await?
        .ok_or_else(not_found)?;
    if let Some(max) = share.max_access_count
        && counted > max
    {
        // Someone else took the last use: give ours back so the count shows the truth.
        if let Err(e) = files::count_share_access(&state, &share.id, -1).await {
            tracing::warn!(link = %share.id, "share count not restored: {e}");
        }
        return Err(exhausted());
    }
    let expires = (now + URL_LIFETIME).min(share.expires_at.max(now + Duration::minutes(1)));
    Ok(AppJson(SharedFile {
        download_url: files::download_url(&state, &file, expires).await?,
        file_name: file.file_name,
        size: file.size,
        content_type: file.content_type,
        access_count: counted,
        max_access_count: share.max_access_count,
        expires_at: share.expires_at,
    }))
}

/// Deletes links whose expiry has passed (TTL removes them in Cosmos DB too, a day later; this
/// makes the embedded store and the emulator agree). Returns how many went.
pub async fn sweep_expired(state: &AppState) -> ApiResult<u64> {
    let now = Utc::now().to_rfc3339();
    let query = Query::default()
        .filter(Filter::new("expiresAt", crate::store::Cmp::Lt, now))
        .limit(100);
    files::sweep(state, query, |state, share: &ShareDoc| {
        Box::pin(files::remove_share(state, &share.id))
    })
    .await
}
