//! Two-factor: setting up a TOTP authenticator (`users/me/mfa/*`), and the second step of a
//! sign-in (`auth/mfa/verify`) that a password or a link started.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{AuthResponse, signed_in};
use crate::auth::extract::{AuthUser, ClientIp, UserAgent};
use crate::auth::limits;
use crate::auth::mfa::{self, MfaDoc, invalid};
use crate::auth::onetime::{self, Purpose};
use crate::error::{ApiError, ApiResult, AppJson, Code, Problem};
use crate::state::AppState;
use crate::users::model::UserDoc;
use crate::users::store as users;

/// The answer of a correct password or link when two-factor is on: no tokens yet.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MfaChallenge {
    /// Always `true`.
    pub mfa_required: bool,
    /// For `POST auth/mfa/verify`, with a code.
    pub mfa_token: String,
    /// Seconds the token stays valid.
    pub expires_in: u64,
}

/// Signs in, or asks for the second factor first when the user has one.
pub async fn signed_in_or_challenged(
    state: &AppState,
    user: &UserDoc,
    ip: &str,
    user_agent: &str,
    status: StatusCode,
) -> ApiResult<Response> {
    if !user.mfa_enabled() {
        return signed_in(state, user, ip, user_agent, status).await;
    }
    let token = onetime::issue(state, Purpose::Mfa, &user.id).await?;
    Ok((
        StatusCode::OK,
        AppJson(MfaChallenge {
            mfa_required: true,
            mfa_token: token,
            expires_in: Purpose::Mfa.lifetime().as_secs(),
        }),
    )
        .into_response())
}

/// What a correct password or link answers: the tokens, or the second step.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum SignIn {
    Tokens(Box<AuthResponse>),
    Mfa(MfaChallenge),
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TotpSetup {
    /// Base32, for typing into an authenticator app.
    pub secret: String,
    /// `otpauth://totp/...`, for a QR code (SHA-1, 6 digits, 30 s).
    pub otpauth_uri: String,
}

#[utoipa::path(post, operation_id = "setUpTotp", path = "/api/v1/users/me/mfa/totp", tag = "auth", security(("bearer" = [])),
    responses((status = 201, description = "A new secret to confirm with a code; until then sign-in is unchanged", body = TotpSetup), (status = 409, description = "`MFA_ENABLED`: turn it off first", body = Problem)))]
pub async fn set_up(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<(StatusCode, AppJson<TotpSetup>)> {
    let me = current(&state, &user).await?;
    if me.mfa_enabled() {
        return Err(ApiError::new(
            Code::MfaEnabled,
            "Two-factor is already on; turn it off to set up another authenticator.",
        ));
    }
    let (sealed, secret, otpauth_uri) = mfa::new_secret(&state, &me.email).await?;
    users::update(&state, &me.id, |u| {
        u.mfa.get_or_insert_with(MfaDoc::default).pending = Some(sealed.clone());
    })
    .await?;
    Ok((
        StatusCode::CREATED,
        AppJson(TotpSetup {
            secret,
            otpauth_uri,
        }),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CodeRequest {
    /// The 6 digits the authenticator shows.
    pub code: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecoveryCodes {
    /// Shown once: each signs in once in place of a code.
    pub recovery_codes: Vec<String>,
}

async fn current(state: &AppState, user: &AuthUser) -> ApiResult<UserDoc> {
    users::get(state, &user.user_id)
        .await?
        .ok_or_else(|| ApiError::not_found("No such user."))
}

/// Checks `code` against the sealed secret and stores its step, so it never works again.
/// `pending`: the set-up's secret rather than the confirmed one.
async fn spend_code(state: &AppState, user: &UserDoc, code: &str, pending: bool) -> ApiResult<()> {
    let doc = user.mfa.clone().unwrap_or_default();
    let sealed = if pending { &doc.pending } else { &doc.secret };
    let sealed = sealed.as_deref().ok_or_else(invalid)?;
    let step = mfa::matching_step(state, sealed, code)
        .await?
        .ok_or_else(invalid)?;
    let mut fresh = false;
    users::update(state, &user.id, |u| {
        let m = u.mfa.get_or_insert_with(MfaDoc::default);
        // A step at or before the last accepted one is a replay; of two concurrent uses of
        // one code, the etag lets only one through.
        fresh = step > m.last_step;
        if fresh {
            m.last_step = step;
        }
    })
    .await?;
    if fresh { Ok(()) } else { Err(invalid()) }
}

#[utoipa::path(post, operation_id = "confirmTotp", path = "/api/v1/users/me/mfa/totp/confirm", tag = "auth", security(("bearer" = [])), request_body = CodeRequest,
    responses((status = 200, description = "Two-factor is on; the recovery codes, shown this once", body = RecoveryCodes), (status = 401, description = "`MFA_INVALID`", body = Problem), (status = 409, description = "`MFA_ENABLED`", body = Problem)))]
pub async fn confirm(
    State(state): State<AppState>,
    user: AuthUser,
    AppJson(request): AppJson<CodeRequest>,
) -> ApiResult<AppJson<RecoveryCodes>> {
    let me = current(&state, &user).await?;
    if me.mfa_enabled() {
        return Err(ApiError::new(Code::MfaEnabled, "Two-factor is already on."));
    }
    spend_code(&state, &me, &request.code, true).await?;
    let (codes, hashes) = mfa::recovery_codes();
    users::update(&state, &me.id, |u| {
        let m = u.mfa.get_or_insert_with(MfaDoc::default);
        if let Some(pending) = m.pending.take() {
            m.secret = Some(pending);
        }
        m.recovery = hashes.clone();
    })
    .await?;
    Ok(AppJson(RecoveryCodes {
        recovery_codes: codes,
    }))
}

#[utoipa::path(delete, operation_id = "disableMfa", path = "/api/v1/users/me/mfa", tag = "auth", security(("bearer" = [])), request_body = CodeRequest,
    responses((status = 204, description = "Two-factor is off"), (status = 401, description = "`MFA_INVALID`", body = Problem)))]
pub async fn disable(
    State(state): State<AppState>,
    user: AuthUser,
    AppJson(request): AppJson<CodeRequest>,
) -> ApiResult<StatusCode> {
    let me = current(&state, &user).await?;
    if !me.mfa_enabled() {
        return Err(invalid());
    }
    spend_code(&state, &me, &request.code, false).await?;
    users::update(&state, &me.id, |u| u.mfa = None).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VerifyRequest {
    pub mfa_token: String,
    /// The authenticator's 6 digits; or give `recoveryCode`.
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub recovery_code: Option<String>,
}

#[utoipa::path(post, operation_id = "verifyMfa", path = "/api/v1/auth/mfa/verify", tag = "auth", request_body = VerifyRequest,
    responses(
        (status = 200, description = "Signed in", body = AuthResponse),
        (status = 401, description = "`MFA_INVALID`: a wrong, expired or used code, recovery code or token", body = Problem),
        (status = 429, description = "`ACCOUNT_LOCKED` after 5 failures, as for passwords", body = Problem),
    ))]
pub async fn verify(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    UserAgent(user_agent): UserAgent,
    AppJson(request): AppJson<VerifyRequest>,
) -> ApiResult<Response> {
    limits::auth_hit(&state, "mfa", &ip, None).await?;
    let user_id = onetime::peek(&state, Purpose::Mfa, &request.mfa_token)
        .await?
        .ok_or_else(invalid)?;
    let user = users::get(&state, &user_id)
        .await?
        .filter(UserDoc::is_active)
        .ok_or_else(invalid)?;
    limits::check_lock(&state, &user.email, &user).await?;
    let checked = match (&request.code, &request.recovery_code) {
        (Some(code), None) => spend_code(&state, &user, code, false).await,
        (None, Some(recovery)) => spend_recovery(&state, &user, recovery).await,
        _ => {
            return Err(ApiError::validation(Default::default())
                .with_field("code", "Give code or recoveryCode, not both."));
        }
    };
    if let Err(e) = checked {
        if e.code == Code::MfaInvalid {
            limits::record_failure(&state, &user.email, Some(&user)).await?;
        }
        return Err(e);
    }
    // The token is spent only now, so a mistyped code can be tried again (the lock bounds it);
    // of two concurrent successes only one spends it.
    if onetime::consume(&state, Purpose::Mfa, &request.mfa_token)
        .await?
        .is_none()
    {
        return Err(invalid());
    }
    limits::clear_failures(&state, &user.email).await?;
    signed_in(&state, &user, &ip, &user_agent, StatusCode::OK).await
}

async fn spend_recovery(state: &AppState, user: &UserDoc, code: &str) -> ApiResult<()> {
    let hash = mfa::recovery_hash(code);
    let mut found = false;
    users::update(state, &user.id, |u| {
        found = false;
        if let Some(m) = u.mfa.as_mut()
            && let Some(i) = m.recovery.iter().position(|h| *h == hash)
        {
            m.recovery.remove(i);
            found = true;
        }
    })
    .await?;
    if found { Ok(()) } else { Err(invalid()) }
}
