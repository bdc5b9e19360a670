//! `/api/v1/auth/*`, a module per use case: sign-up, sign-in, sessions and token refresh,
//! emailed links (password reset, email verification, magic links), invites; here what they
//! share (the signed-in answer and its cookie, links, mail) and the public keys.

pub mod invite_list;
pub mod invites;
pub mod links;
pub mod login;
pub mod mfa;
pub mod oidc;
mod oidc_accounts;
pub mod sessions;
pub mod signup;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use super::extract::AuthUser;
use super::tokens;
use crate::email::{self, Email as Mail};
use crate::error::{ApiResult, AppJson, FieldErrors, Problem};
use crate::state::AppState;
use crate::users::model::{User, UserDoc};

const COOKIE: &str = "refresh_token";

/// A signed-in answer: the user and a fresh token pair.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthResponse {
    pub user: User,
    pub access_token: String,
    /// Absent when `AUTH_REFRESH_TRANSPORT=cookie`: the refresh token then travels only in the
    /// httpOnly `refresh_token` cookie.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// Seconds until the access token expires.
    pub expires_in: u64,
}

fn field(errors: &mut FieldErrors, name: &str, message: impl Into<String>) {
    errors
        .entry(name.to_owned())
        .or_default()
        .push(message.into());
}

/// The refresh cookie. `SameSite=Strict` keeps it off every cross-site request; a frontend on
/// another origin (`CORS_ORIGINS`) is cross-site, so there it must be `None` (which browsers
/// accept only with `Secure`), and the CSRF defence is CORS plus `X-Requested-With`.
fn refresh_cookie(state: &AppState, value: &str, max_age: u64) -> HeaderValue {
    let same_site = if state.settings.cors_origins.is_empty() {
        "Strict"
    } else {
        "None"
    };
    HeaderValue::from_str(&format!(
        "{COOKIE}={value}; Path=/api/v1/auth; Max-Age={max_age}; HttpOnly; Secure; SameSite={same_site}"
    ))
    .expect("cookie value is base64url and ids")
}

/// The value of the request's cookie `name`.
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// The frontend's base URL (no trailing `/`): `APP_BASE_URL`, else this API's own, else empty
/// (a same-origin relative link).
pub(crate) fn app_base(state: &AppState) -> String {
    state
        .settings
        .app_base_url
        .clone()
        .or_else(|| state.settings.public_base_url.clone())
        .map(|u| u.as_str().trim_end_matches('/').to_owned())
        .unwrap_or_default()
}

/// A link into the frontend carrying a token.
pub(crate) fn link(state: &AppState, path: &str, token: &str) -> String {
    format!("{}{path}?token={token}", app_base(state))
}

async fn send(state: &AppState, mail: Mail) -> ApiResult<()> {
    email::enqueue(state, &mail).await
}

/// Starts a session and answers with the token pair (and the refresh cookie).
async fn signed_in(
    state: &AppState,
    user: &UserDoc,
    ip: &str,
    user_agent: &str,
    status: StatusCode,
) -> ApiResult<Response> {
    let (session, refresh_token) =
        crate::auth::sessions::create(state, &user.id, ip, user_agent).await?;
    token_pair(state, user, &session.id, refresh_token, status).await
}

async fn token_pair(
    state: &AppState,
    user: &UserDoc,
    session_id: &str,
    refresh_token: String,
    status: StatusCode,
) -> ApiResult<Response> {
    let (access_token, expires_in) = tokens::issue(
        &state.auth.keys,
        &state.settings.auth,
        &user.id,
        user.role.as_str(),
        session_id,
    )
    .await?;
    let transport = state.settings.refresh_transport;
    let cookie = transport.in_cookie().then(|| {
        refresh_cookie(
            state,
            &refresh_token,
            state.settings.auth.refresh_token_ttl.as_secs(),
        )
    });
    let body = AuthResponse {
        user: User::of(user, state.api_base()),
        access_token,
        refresh_token: transport.in_body().then_some(refresh_token),
        expires_in,
    };
    let mut response = (status, AppJson(body)).into_response();
    if let Some(cookie) = cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

#[utoipa::path(get, operation_id = "getJwks", path = "/api/v1/auth/jwks.json", tag = "auth", params(crate::etag::IfNoneMatch),
    responses((status = 200, description = "The public keys that verify access tokens (JWKS), with a strong `ETag` and `Cache-Control: public, max-age=300`"), (status = 304, description = "Not modified: `If-None-Match` names the current `ETag`")))]
pub async fn jwks(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    let jwks = state.auth.keys.jwks().await?;
    crate::etag::json(&headers, &jwks, "public, max-age=300")
}

#[utoipa::path(get, operation_id = "getAuthMe", path = "/api/v1/auth/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, description = "The signed-in user", body = User), (status = 401, description = "Not signed in", body = Problem)))]
pub async fn me(State(state): State<AppState>, user: AuthUser) -> ApiResult<AppJson<User>> {
    crate::users::routes::me(State(state), user).await
}
