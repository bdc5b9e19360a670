//! Token refresh, sign-out, and the caller's sessions.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{AuthResponse, COOKIE, refresh_cookie, token_pair};
use crate::auth::extract::{AuthUser, ClientIp, UserAgent};
use crate::auth::sessions;
use crate::error::{ApiError, ApiResult, AppJson, Code, Problem};
use crate::settings::RefreshTransport;
use crate::state::AppState;
use crate::users::activity;
use crate::users::model::UserDoc;
use crate::users::store as users;

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RefreshRequest {
    /// Optional when the `refresh_token` cookie is sent.
    #[serde(default)]
    pub refresh_token: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    pub id: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: DateTime<Utc>,
    pub ip: String,
    pub user_agent: String,
    /// The session of the token this request was made with.
    pub current: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionList {
    pub items: Vec<SessionView>,
}

/// With the refresh token in a cookie only, the browser attaches it by itself, so a call that
/// uses it must show it comes from script: `X-Requested-With` is not CORS-safelisted, so a
/// cross-site form cannot send it and a cross-site `fetch` needs a preflight CORS refuses.
fn require_script_header(state: &AppState, headers: &HeaderMap) -> ApiResult<()> {
    if state.settings.refresh_transport == RefreshTransport::Cookie
        && !headers.contains_key("x-requested-with")
    {
        return Err(ApiError::new(
            Code::CsrfHeaderRequired,
            "Send an X-Requested-With header with this request.",
        ));
    }
    Ok(())
}

/// The refresh token this request presents, from where `AUTH_REFRESH_TRANSPORT` lets it come.
fn presented_token(
    state: &AppState,
    headers: &HeaderMap,
    request: RefreshRequest,
) -> ApiResult<String> {
    let transport = state.settings.refresh_transport;
    if transport == RefreshTransport::Cookie && request.refresh_token.is_some() {
        return Err(ApiError::new(
            Code::InvalidBody,
            "This API takes the refresh token from its cookie only; send no refreshToken.",
        ));
    }
    let cookie = transport
        .in_cookie()
        .then(|| super::cookie(headers, COOKIE))
        .flatten();
    request.refresh_token.or(cookie).ok_or_else(|| {
        let message = match transport {
            RefreshTransport::Body => "Send the refresh token in the body.",
            RefreshTransport::Cookie => "Send the refresh token cookie.",
            RefreshTransport::Both => "Send the refresh token in the body or its cookie.",
        };
        ApiError::new(Code::InvalidRefreshToken, message)
    })
}

#[utoipa::path(post, operation_id = "refresh", path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshRequest,
    description = "Takes the refresh token from the body or the `refresh_token` cookie. With `AUTH_REFRESH_TRANSPORT=cookie` only the cookie is accepted, an `X-Requested-With` header (any value) is required, and the answer carries no `refreshToken`; with `body` no cookie is read or set.",
    responses(
        (status = 200, description = "A new token pair; the presented refresh token is spent", body = AuthResponse),
        (status = 400, description = "`INVALID_BODY`: a `refreshToken` in the body where only the cookie is accepted", body = Problem),
        (status = 401, description = "`INVALID_REFRESH_TOKEN`, or `TOKEN_REUSED` (the session is revoked)", body = Problem),
        (status = 403, description = "`CSRF_HEADER_REQUIRED`: cookie-only mode and no `X-Requested-With` header", body = Problem),
    ))]
pub async fn refresh(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    require_script_header(&state, &headers)?;
    // The body is optional: a browser may send only the cookie.
    let request: RefreshRequest = if body.iter().all(u8::is_ascii_whitespace) {
        RefreshRequest::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::new(Code::InvalidBody, e.to_string()))?
    };
    let presented = presented_token(&state, &headers, request)?;
    let (session, next) = sessions::refresh(&state, &presented).await?;
    let user = users::get(&state, &session.user_id).await?;
    let Some(user) = user.filter(UserDoc::is_active) else {
        sessions::revoke(&state, &session.user_id, &session.id, "account not active").await?;
        return Err(ApiError::new(
            Code::InvalidRefreshToken,
            "This account cannot sign in.",
        ));
    };
    token_pair(&state, &user, &session.id, next, StatusCode::OK).await
}

/// 204, clearing the refresh cookie wherever one may have been set.
fn no_content_clearing_cookie(state: &AppState) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    if state.settings.refresh_transport.in_cookie() {
        response
            .headers_mut()
            .append(header::SET_COOKIE, refresh_cookie(state, "", 0));
    }
    response
}

#[utoipa::path(post, operation_id = "logout", path = "/api/v1/auth/logout", tag = "auth", security(("bearer" = [])),
    description = "With `AUTH_REFRESH_TRANSPORT=cookie` an `X-Requested-With` header (any value) is required.",
    responses((status = 204, description = "This session ended"), (status = 401, description = "Not signed in", body = Problem), (status = 403, description = "`CSRF_HEADER_REQUIRED`: cookie-only mode and no `X-Requested-With` header", body = Problem)))]
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    user: AuthUser,
    ClientIp(ip): ClientIp,
    UserAgent(user_agent): UserAgent,
) -> ApiResult<Response> {
    require_script_header(&state, &headers)?;
    sessions::revoke(&state, &user.user_id, &user.session_id, "logout").await?;
    activity::record(&state, &user.user_id, "logout", &ip, &user_agent).await;
    Ok(no_content_clearing_cookie(&state))
}

#[utoipa::path(post, operation_id = "logoutAll", path = "/api/v1/auth/logout-all", tag = "auth", security(("bearer" = [])),
    responses((status = 204, description = "Every session ended"), (status = 401, description = "Not signed in", body = Problem)))]
pub async fn logout_all(
    State(state): State<AppState>,
    user: AuthUser,
    ClientIp(ip): ClientIp,
    UserAgent(user_agent): UserAgent,
) -> ApiResult<Response> {
    sessions::revoke_all(&state, &user.user_id, None, "logout-all").await?;
    activity::record(&state, &user.user_id, "sessions_revoked", &ip, &user_agent).await;
    Ok(no_content_clearing_cookie(&state))
}

#[utoipa::path(get, operation_id = "listSessions", path = "/api/v1/auth/sessions", tag = "auth", security(("bearer" = [])),
    responses((status = 200, description = "Live sessions, most recently used first", body = SessionList), (status = 401, description = "Not signed in", body = Problem)))]
pub async fn list_sessions(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<AppJson<SessionList>> {
    let items = sessions::list(&state, &user.user_id)
        .await?
        .into_iter()
        .map(|s| SessionView {
            current: s.id == user.session_id,
            id: s.id,
            created_at: s.created_at,
            last_used_at: s.last_used_at,
            ip: s.ip,
            user_agent: s.user_agent,
        })
        .collect();
    Ok(AppJson(SessionList { items }))
}

#[utoipa::path(delete, operation_id = "revokeSession", path = "/api/v1/auth/sessions/{id}", tag = "auth", security(("bearer" = [])),
    params(("id" = String, Path, description = "Session id")),
    responses((status = 204, description = "The session ended"), (status = 404, description = "No such session of yours", body = Problem)))]
pub async fn delete_session(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    ClientIp(ip): ClientIp,
    UserAgent(user_agent): UserAgent,
) -> ApiResult<StatusCode> {
    let mine = sessions::list(&state, &user.user_id)
        .await?
        .into_iter()
        .any(|s| s.id == id);
    if !mine {
        return Err(ApiError::not_found("No such session."));
    }
    sessions::revoke(&state, &user.user_id, &id, "revoked by user").await?;
    activity::record(&state, &user.user_id, "session_revoked", &ip, &user_agent).await;
    Ok(StatusCode::NO_CONTENT)
}
