//! `/api/v1/auth/*`: sign-up, sign-in, token refresh, sessions, password reset, email
//! verification, magic links, invites, and the public keys.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::extract::{AdminUser, AuthUser, ClientIp, UserAgent};
use super::onetime::{self, Purpose};
use super::{limits, sessions, tokens};
use crate::email::{self, Email as Mail};
use crate::error::{ApiError, ApiResult, AppJson, Code, FieldErrors, Problem};
use crate::settings::RegistrationMode;
use crate::state::AppState;
use crate::users::activity;
use crate::users::model::{Email, Preferences, Role, User, UserDoc, UserStatus};
use crate::users::store as users;

const COOKIE: &str = "refresh_token";

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignupRequest {
    pub email: String,
    pub password: String,
    pub name: String,
    #[serde(default)]
    pub invite_token: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RefreshRequest {
    /// Optional when the `refresh_token` cookie is sent.
    #[serde(default)]
    pub refresh_token: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EmailRequest {
    pub email: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResetRequest {
    pub token: String,
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TokenRequest {
    pub token: String,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct TokenQuery {
    pub token: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InviteRequest {
    pub email: String,
    /// `user` (default) or `admin`.
    #[serde(default)]
    pub role: Option<String>,
}

/// A signed-in answer: the user and a fresh token pair.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthResponse {
    pub user: User,
    pub access_token: String,
    pub refresh_token: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
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

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InviteCreated {
    pub token: String,
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InviteView {
    pub email: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EmailVerified {
    pub email_verified: bool,
}

fn field(errors: &mut FieldErrors, name: &str, message: impl Into<String>) {
    errors
        .entry(name.to_owned())
        .or_default()
        .push(message.into());
}

fn refresh_cookie(value: &str, max_age: u64) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{COOKIE}={value}; Path=/api/v1/auth; Max-Age={max_age}; HttpOnly; Secure; SameSite=Strict"
    ))
    .expect("cookie value is base64url and ids")
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

/// A link into the frontend carrying a token.
fn link(state: &AppState, path: &str, token: &str) -> String {
    let base = state
        .settings
        .app_base_url
        .clone()
        .or_else(|| state.settings.public_base_url.clone())
        .map(|u| u.as_str().trim_end_matches('/').to_owned())
        .unwrap_or_default();
    format!("{base}{path}?token={token}")
}

async fn send(state: &AppState, mail: Mail) -> ApiResult<()> {
    email::enqueue(state.stores.queues.as_ref(), &mail).await?;
    Ok(())
}

/// Starts a session and answers with the token pair (and the refresh cookie).
async fn signed_in(
    state: &AppState,
    user: &UserDoc,
    ip: &str,
    user_agent: &str,
    status: StatusCode,
) -> ApiResult<Response> {
    let (session, refresh_token) = sessions::create(state, &user.id, ip, user_agent).await?;
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
    let cookie = refresh_cookie(
        &refresh_token,
        state.settings.auth.refresh_token_ttl.as_secs(),
    );
    let body = AuthResponse {
        user: User::from(user),
        access_token,
        refresh_token,
        expires_in,
    };
    let mut response = (status, AppJson(body)).into_response();
    response.headers_mut().append(header::SET_COOKIE, cookie);
    Ok(response)
}

/// Checks an invite for `email`; `INVITE_REQUIRED` unless it is live and for that address.
async fn live_invite(
    state: &AppState,
    token: Option<&str>,
    email: &Email,
) -> ApiResult<Option<serde_json::Value>> {
    let required = state.settings.auth.registration == RegistrationMode::Invite;
    let refuse = || {
        ApiError::new(
            Code::InviteRequired,
            "Sign-up needs a valid invite for this email address.",
        )
    };
    let Some(token) = token.filter(|t| !t.trim().is_empty()) else {
        return if required { Err(refuse()) } else { Ok(None) };
    };
    let id = sessions::hash(token.trim());
    let invite = state.stores.documents.get("invites", &id, &id).await?;
    match invite {
        Some(doc)
            if doc.value["email"] == email.as_str()
                && doc.value.get("usedAt").is_none_or(|v| v.is_null())
                && doc.value["expiresAt"]
                    .as_str()
                    .and_then(|t| t.parse::<DateTime<Utc>>().ok())
                    .is_some_and(|t| t > Utc::now()) =>
        {
            Ok(Some(doc.value))
        }
        _ if required => Err(refuse()),
        _ => Ok(None),
    }
}

#[utoipa::path(post, path = "/api/v1/auth/signup", tag = "auth", request_body = SignupRequest,
    responses(
        (status = 201, description = "Account created and signed in", body = AuthResponse),
        (status = 400, description = "Invalid fields (`VALIDATION_FAILED`)", body = Problem),
        (status = 403, description = "`INVITE_REQUIRED`", body = Problem),
        (status = 409, description = "`EMAIL_TAKEN`", body = Problem),
        (status = 429, description = "`RATE_LIMITED`", body = Problem),
    ))]
pub async fn signup(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    UserAgent(user_agent): UserAgent,
    AppJson(request): AppJson<SignupRequest>,
) -> ApiResult<Response> {
    let mut errors = FieldErrors::new();
    let email = Email::parse(&request.email)
        .map_err(|m| field(&mut errors, "email", m))
        .ok();
    let name = request.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 100 {
        field(&mut errors, "name", "Enter a name of 1 to 100 characters.");
    }
    for problem in
        super::password::problems(&request.password, &[request.email.as_str(), name.as_str()])
    {
        field(&mut errors, "password", problem);
    }
    let (Some(email), true) = (email, errors.is_empty()) else {
        return Err(ApiError::validation(errors));
    };
    limits::auth_hit(&state, "signup", &ip, Some(email.as_str())).await?;
    // The bootstrap admins need no invite, or an invite-only portal could never start.
    let bootstrap_admin = state
        .settings
        .auth
        .admin_emails
        .iter()
        .any(|a| a == email.as_str());
    let invite = if bootstrap_admin {
        None
    } else {
        live_invite(&state, request.invite_token.as_deref(), &email).await?
    };

    let role = if bootstrap_admin {
        Role::Admin
    } else {
        invite
            .as_ref()
            .and_then(|i| i["role"].as_str())
            .and_then(Role::parse)
            .unwrap_or_default()
    };
    let now = Utc::now();
    let user = UserDoc {
        id: uuid::Uuid::new_v4().to_string(),
        email: email.as_str().to_owned(),
        name: name.clone(),
        role,
        status: UserStatus::Active,
        email_verified: false,
        password_hash: Some(
            state
                .auth
                .passwords
                .hash(&request.password)
                .await
                .map_err(ApiError::internal)?,
        ),
        preferences: Preferences::default(),
        created_at: now,
        updated_at: now,
        last_login_at: Some(now),
        search_text: String::new(),
        avatar_file_id: None,
    };
    users::create(&state, &user).await?;
    if let Some(invite) = invite {
        // Spend the invite; losing a race here still leaves one account per invite email.
        let id = invite["id"].as_str().unwrap_or_default().to_owned();
        let used = crate::store::PatchOp::Set("/usedAt".into(), json!(now));
        let _ = state
            .stores
            .documents
            .patch("invites", &id, &id, &[used], None)
            .await;
    }
    // The account exists from here on: a failure to mail the link must not turn the answer
    // into an error the client would retry into EMAIL_TAKEN (resend-verification recovers).
    let verification = async {
        let token = onetime::issue(&state, Purpose::VerifyEmail, &user.id).await?;
        let text = format!(
            "Welcome, {name}! Confirm your email address: {}",
            link(&state, "/verify-email", &token)
        );
        send(
            &state,
            Mail::new(
                "verification",
                &user.email,
                "Confirm your email address",
                &text,
            ),
        )
        .await
    };
    if let Err(e) = verification.await {
        tracing::warn!(user_id = %user.id, "verification email not queued: {e}");
    }
    activity::record(&state, &user.id, "signup", &ip, &user_agent).await;
    crate::dashboard::metrics::record(&state, "signups").await;
    signed_in(&state, &user, &ip, &user_agent, StatusCode::CREATED).await
}

/// Every failed sign-in goes through here, so the `auth.failures` metric counts them all.
fn invalid_credentials() -> ApiError {
    crate::telemetry::metrics().auth_failures.add(1, &[]);
    ApiError::new(Code::InvalidCredentials, "The email or password is wrong.")
}

#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = AuthResponse),
        (status = 401, description = "`INVALID_CREDENTIALS`", body = Problem),
        (status = 403, description = "`ACCOUNT_SUSPENDED`", body = Problem),
        (status = 429, description = "`ACCOUNT_LOCKED` or `RATE_LIMITED`", body = Problem),
    ))]
pub async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    UserAgent(user_agent): UserAgent,
    AppJson(request): AppJson<LoginRequest>,
) -> ApiResult<Response> {
    let email = Email::parse(&request.email).ok();
    limits::auth_hit(&state, "login", &ip, email.as_ref().map(Email::as_str)).await?;
    let user = match &email {
        Some(email) => users::find_by_email(&state, email).await?,
        None => None,
    };
    if let Some(user) = &user {
        limits::check_lock(&state, &user.id).await?;
    }
    let hash = user.as_ref().and_then(|u| u.password_hash.as_deref());
    let ok = state
        .auth
        .passwords
        .verify(&request.password, hash)
        .await
        .map_err(ApiError::internal)?;
    let user = match user {
        Some(user) if ok => user,
        Some(user) => {
            limits::record_failure(&state, &user.id).await?;
            return Err(invalid_credentials());
        }
        None => return Err(invalid_credentials()),
    };
    match user.status {
        UserStatus::Active => {}
        UserStatus::Suspended => {
            return Err(ApiError::new(
                Code::AccountSuspended,
                "This account is suspended.",
            ));
        }
        _ => return Err(invalid_credentials()),
    }
    limits::clear_failures(&state, &user.id).await?;
    // A patch, not a read-modify-write: simultaneous sign-ins to one account never conflict.
    let now = Utc::now();
    let stamp = crate::store::PatchOp::Set("/lastLoginAt".into(), json!(now));
    state
        .stores
        .documents
        .patch("users", &user.id, &user.id, &[stamp], None)
        .await?;
    let user = UserDoc {
        last_login_at: Some(now),
        ..user
    };
    activity::record(&state, &user.id, "login", &ip, &user_agent).await;
    crate::dashboard::metrics::record(&state, "logins").await;
    signed_in(&state, &user, &ip, &user_agent, StatusCode::OK).await
}

#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshRequest,
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

#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", security(("bearer" = [])),
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

#[utoipa::path(post, path = "/api/v1/auth/logout-all", tag = "auth", security(("bearer" = [])),
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

#[utoipa::path(get, path = "/api/v1/auth/sessions", tag = "auth", security(("bearer" = [])),
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

#[utoipa::path(delete, path = "/api/v1/auth/sessions/{id}", tag = "auth", security(("bearer" = [])),
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

#[utoipa::path(post, path = "/api/v1/auth/forgot-password", tag = "auth", request_body = EmailRequest,
    responses((status = 202, description = "If the account exists, a reset link is on its way"), (status = 429, description = "`RATE_LIMITED`", body = Problem)))]
pub async fn forgot_password(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    AppJson(request): AppJson<EmailRequest>,
) -> ApiResult<StatusCode> {
    email_link(&state, &ip, &request.email, Purpose::ResetPassword).await?;
    Ok(StatusCode::ACCEPTED)
}

/// The forgot-password and magic-link requests: rate-limited, then a link mailed to an active
/// account. The answer is the same whether or not the account exists.
async fn email_link(
    state: &AppState,
    ip: &str,
    raw_email: &str,
    purpose: Purpose,
) -> ApiResult<()> {
    let (action, kind, subject, path, intro) = match purpose {
        Purpose::ResetPassword => (
            "forgot-password",
            "password-reset",
            "Reset your password",
            "/reset-password",
            "Reset your password within 15 minutes (if you did not ask for this, ignore this email)",
        ),
        Purpose::MagicLink => (
            "magic-link",
            "magic-link",
            "Your sign-in link",
            "/magic-link",
            "Sign in within 15 minutes",
        ),
        Purpose::VerifyEmail => unreachable!("verification links go out at sign-up"),
    };
    let email = Email::parse(raw_email).ok();
    limits::auth_hit(state, action, ip, email.as_ref().map(Email::as_str)).await?;
    let Some(email) = email else {
        return Ok(());
    };
    let Some(user) = users::find_by_email(state, &email)
        .await?
        .filter(UserDoc::is_active)
    else {
        return Ok(());
    };
    let token = onetime::issue(state, purpose, &user.id).await?;
    let text = format!("{intro}: {}", link(state, path, &token));
    send(state, Mail::new(kind, &user.email, subject, &text)).await
}

fn invalid_token() -> ApiError {
    ApiError::new(
        Code::InvalidLink,
        "The link is invalid, expired, or already used.",
    )
}

#[utoipa::path(post, path = "/api/v1/auth/reset-password", tag = "auth", request_body = ResetRequest,
    responses((status = 204, description = "Password changed; every session ended"), (status = 400, description = "`INVALID_TOKEN` or `VALIDATION_FAILED`", body = Problem)))]
pub async fn reset_password(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    UserAgent(user_agent): UserAgent,
    AppJson(request): AppJson<ResetRequest>,
) -> ApiResult<StatusCode> {
    let problems = super::password::problems(&request.password, &[]);
    if !problems.is_empty() {
        return Err(ApiError::validation(FieldErrors::from([(
            "password".to_owned(),
            problems,
        )])));
    }
    let user_id = onetime::consume(&state, Purpose::ResetPassword, &request.token)
        .await?
        .ok_or_else(invalid_token)?;
    let hash = state
        .auth
        .passwords
        .hash(&request.password)
        .await
        .map_err(ApiError::internal)?;
    users::update(&state, &user_id, |u| u.password_hash = Some(hash.clone())).await?;
    sessions::revoke_all(&state, &user_id, None, "password reset").await?;
    limits::clear_failures(&state, &user_id).await?;
    activity::record(&state, &user_id, "password_reset", &ip, &user_agent).await;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/auth/verify-email", tag = "auth", params(TokenQuery),
    responses((status = 200, description = "Email verified", body = EmailVerified), (status = 400, description = "`INVALID_TOKEN`", body = Problem)))]
pub async fn verify_email(
    State(state): State<AppState>,
    Query(query): Query<TokenQuery>,
) -> ApiResult<AppJson<EmailVerified>> {
    let user_id = onetime::consume(&state, Purpose::VerifyEmail, &query.token)
        .await?
        .ok_or_else(invalid_token)?;
    users::update(&state, &user_id, |u| u.email_verified = true).await?;
    Ok(AppJson(EmailVerified {
        email_verified: true,
    }))
}

#[utoipa::path(post, path = "/api/v1/auth/resend-verification", tag = "auth", security(("bearer" = [])),
    responses((status = 202, description = "A new link is on its way (or the email is already verified)"), (status = 429, description = "`RATE_LIMITED`", body = Problem)))]
pub async fn resend_verification(
    State(state): State<AppState>,
    user: AuthUser,
    ClientIp(ip): ClientIp,
) -> ApiResult<StatusCode> {
    limits::auth_hit(&state, "resend-verification", &ip, Some(&user.user_id)).await?;
    let stored = users::get(&state, &user.user_id)
        .await?
        .ok_or_else(|| ApiError::not_found("No such user."))?;
    if !stored.email_verified {
        let token = onetime::issue(&state, Purpose::VerifyEmail, &stored.id).await?;
        send(
            &state,
            Mail::new(
                "verification",
                &stored.email,
                "Confirm your email address",
                &format!(
                    "Confirm your email address: {}",
                    link(&state, "/verify-email", &token)
                ),
            ),
        )
        .await?;
    }
    Ok(StatusCode::ACCEPTED)
}

#[utoipa::path(post, path = "/api/v1/auth/magic-link", tag = "auth", request_body = EmailRequest,
    responses((status = 202, description = "If the account exists, a sign-in link is on its way"), (status = 429, description = "`RATE_LIMITED`", body = Problem)))]
pub async fn magic_link(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    AppJson(request): AppJson<EmailRequest>,
) -> ApiResult<StatusCode> {
    email_link(&state, &ip, &request.email, Purpose::MagicLink).await?;
    Ok(StatusCode::ACCEPTED)
}

#[utoipa::path(post, path = "/api/v1/auth/magic-link/verify", tag = "auth", request_body = TokenRequest,
    responses((status = 200, description = "Signed in", body = AuthResponse), (status = 400, description = "`INVALID_TOKEN`", body = Problem)))]
pub async fn magic_link_verify(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    UserAgent(user_agent): UserAgent,
    AppJson(request): AppJson<TokenRequest>,
) -> ApiResult<Response> {
    let user_id = onetime::consume(&state, Purpose::MagicLink, &request.token)
        .await?
        .ok_or_else(invalid_token)?;
    // Following the link proves control of the address.
    let user = users::update(&state, &user_id, |u| {
        u.email_verified = true;
        u.last_login_at = Some(Utc::now());
    })
    .await?;
    if !user.is_active() {
        return Err(invalid_token());
    }
    activity::record(&state, &user.id, "login", &ip, &user_agent).await;
    crate::dashboard::metrics::record(&state, "logins").await;
    signed_in(&state, &user, &ip, &user_agent, StatusCode::OK).await
}

const INVITE_DAYS: i64 = 7;

#[utoipa::path(post, path = "/api/v1/auth/invites", tag = "auth", security(("bearer" = [])), request_body = InviteRequest,
    responses((status = 201, description = "Invite created and emailed", body = InviteCreated), (status = 403, description = "`FORBIDDEN`", body = Problem)))]
pub async fn create_invite(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    AppJson(request): AppJson<InviteRequest>,
) -> ApiResult<(StatusCode, AppJson<InviteCreated>)> {
    let mut errors = FieldErrors::new();
    let email = Email::parse(&request.email)
        .map_err(|m| field(&mut errors, "email", m))
        .ok();
    let role = request.role.unwrap_or_else(|| "user".into());
    if role != "user" && role != "admin" {
        field(&mut errors, "role", "Use user or admin.");
    }
    let (Some(email), true) = (email, errors.is_empty()) else {
        return Err(ApiError::validation(errors));
    };
    let token = sessions::random_secret();
    let id = sessions::hash(&token);
    let expires_at = Utc::now() + chrono::Duration::days(INVITE_DAYS);
    let doc = json!({
        "id": id,
        "email": email.as_str(),
        "role": role,
        "invitedBy": admin.user_id,
        "createdAt": Utc::now(),
        "expiresAt": expires_at,
        // Kept a day past expiry so a late visitor is told it expired rather than unknown.
        "ttl": (INVITE_DAYS + 1) * 24 * 3600,
    });
    state.stores.documents.create("invites", &id, doc).await?;
    let url = link(&state, "/signup", &token);
    let text = format!("Create your account within {INVITE_DAYS} days: {url}");
    let mail = Mail::new(
        "invite",
        email.as_str(),
        "You are invited to the learning portal",
        &text,
    );
    // The invite exists and its URL is in the answer: the admin can pass it on by hand.
    if let Err(e) = send(&state, mail).await {
        tracing::warn!("invite email not queued: {e}");
    }
    Ok((
        StatusCode::CREATED,
        AppJson(InviteCreated {
            token,
            url,
            expires_at,
        }),
    ))
}

#[utoipa::path(get, path = "/api/v1/auth/invites/{token}", tag = "auth",
    params(("token" = String, Path, description = "The invite token")),
    responses(
        (status = 200, description = "A live invite", body = InviteView),
        (status = 404, description = "Unknown invite", body = Problem),
        (status = 410, description = "`INVITE_EXPIRED` or `INVITE_USED`", body = Problem),
    ))]
pub async fn check_invite(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> ApiResult<AppJson<InviteView>> {
    let id = sessions::hash(token.trim());
    let doc = state
        .stores
        .documents
        .get("invites", &id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("No such invite."))?;
    if doc.value.get("usedAt").is_some_and(|v| !v.is_null()) {
        return Err(ApiError::new(
            Code::InviteUsed,
            "This invite was already used.",
        ));
    }
    let expires_at: DateTime<Utc> = doc.value["expiresAt"]
        .as_str()
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| ApiError::not_found("No such invite."))?;
    if expires_at <= Utc::now() {
        return Err(ApiError::new(
            Code::InviteExpired,
            "This invite has expired.",
        ));
    }
    Ok(AppJson(InviteView {
        email: doc.value["email"].as_str().unwrap_or_default().to_owned(),
        expires_at,
    }))
}

#[utoipa::path(get, path = "/api/v1/auth/jwks.json", tag = "auth",
    responses((status = 200, description = "The public keys that verify access tokens (JWKS)")))]
pub async fn jwks(State(state): State<AppState>) -> ApiResult<Response> {
    let jwks = state.auth.keys.jwks().await?;
    let mut response = AppJson(jwks).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    Ok(response)
}

#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, description = "The signed-in user", body = User), (status = 401, description = "Not signed in", body = Problem)))]
pub async fn me(State(state): State<AppState>, user: AuthUser) -> ApiResult<AppJson<User>> {
    crate::users::routes::me(State(state), user).await
}
