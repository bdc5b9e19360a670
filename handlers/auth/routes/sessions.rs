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

fn cookie_value(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_owned())
}

#[utoipa::path(post, operation_id = "refresh", path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new token pair; the presented refresh token is spent", body = AuthResponse),
        (status = 401, description = "`INVALID_REFRESH_TOKEN`, or `TOKEN_REUSED` (the session is revoked)", body = Problem),
    ))]
pub async fn refresh(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    // The body is optional: a browser may send only the cookie.
    let request: RefreshRequest = if body.iter().all(u8::is_ascii_whitespace) {
        RefreshRequest::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::new(Code::InvalidBody, e.to_string()))?
    };
    let presented = request
        .refresh_token
        .or_else(|| cookie_value(&headers))
        .ok_or_else(|| {
            ApiError::new(
                Code::InvalidRefreshToken,
                "Send the refresh token in the body or its cookie.",
            )
        })?;
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

fn no_content_clearing_cookie() -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, refresh_cookie("", 0));
    response
}

#[utoipa::path(post, operation_id = "logout", path = "/api/v1/auth/logout", tag = "auth", security(("bearer" = [])),
    responses((status = 204, description = "This session ended"), (status = 401, description = "Not signed in", body = Problem)))]
pub async fn logout(
    State(state): State<AppState>,
    user: AuthUser,
    ClientIp(ip): ClientIp,
    UserAgent(user_agent): UserAgent,
) -> ApiResult<Response> {
    sessions::revoke(&state, &user.user_id, &user.session_id, "logout").await?;
    activity::record(&state, &user.user_id, "logout", &ip, &user_agent).await;
    Ok(no_content_clearing_cookie())
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
    Ok(no_content_clearing_cookie())
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
