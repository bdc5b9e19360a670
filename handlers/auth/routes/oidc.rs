//! Sign-in with an OpenID Connect provider (Microsoft Entra ID, Google, any issuer):
//! `auth/providers` for the sign-in page, `auth/oidc/{name}/start` to the provider,
//! `auth/oidc/{name}/callback` back from it, and `auth/oidc/exchange` for the token pair.
//!
//! The callback hands the app a one-time code (`?signin=`, 60 s, single use) rather than
//! tokens in a URL; the exchange answers what a password sign-in answers, the refresh cookie
//! included, or the two-factor step. So a user with two-factor on holds no session before the
//! second factor, whichever way they signed in.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::oidc_accounts::{Failure, account_for};
use super::{app_base, cookie};
use crate::auth::extract::{ClientIp, UserAgent};
use crate::auth::oidc::{OidcError, Provider};
use crate::auth::onetime::{self, Purpose};
use crate::auth::store::OidcPending;
use crate::auth::{limits, sessions};
use crate::error::{ApiError, ApiResult, AppJson, Code, FieldErrors, Problem};
use crate::state::AppState;
use crate::users::activity;
use crate::users::store as users;

/// Ties a sign-in to the browser that started it (see [`OidcPending::binding`]).
const BINDING_COOKIE: &str = "oidc_binding";
const BINDING_PATH: &str = "/api/v1/auth/oidc";

#[derive(Debug, Serialize, ToSchema)]
pub struct SignInProvider {
    /// For `auth/oidc/{name}/start`.
    pub name: String,
    pub label: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SignInProviderList {
    pub items: Vec<SignInProvider>,
}

#[utoipa::path(get, operation_id = "listSignInProviders", path = "/api/v1/auth/providers", tag = "auth",
    responses((status = 200, description = "The configured OpenID Connect providers, in `OIDC_PROVIDERS` order", body = SignInProviderList)))]
pub async fn providers(State(state): State<AppState>) -> AppJson<SignInProviderList> {
    AppJson(SignInProviderList {
        items: state
            .auth
            .oidc
            .all()
            .map(|p| SignInProvider {
                name: p.name.clone(),
                label: p.label.clone(),
            })
            .collect(),
    })
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
pub struct StartQuery {
    /// A path on the app to land on once signed in (default `/`): it starts with one `/`.
    pub redirect_to: Option<String>,
}

/// A path on the app, so the sign-in cannot be made to redirect anywhere else: one leading `/`
/// (`//host` is another site), no `\` (browsers read it as `/`), no fragment, no control
/// characters.
fn app_path(redirect_to: Option<&str>) -> ApiResult<String> {
    let path = redirect_to.unwrap_or("/");
    let ok = path.starts_with('/')
        && !path.starts_with("//")
        && path.len() <= 1024
        && !path.contains(['\\', '#'])
        && !path.chars().any(char::is_control);
    if ok {
        return Ok(path.to_owned());
    }
    let mut errors = FieldErrors::new();
    errors.insert(
        "redirectTo".into(),
        vec!["Give a path on this app, starting with a single '/'.".into()],
    );
    Err(ApiError::validation(errors))
}

fn redirect_uri(state: &AppState, name: &str) -> String {
    format!("{}/api/v1/auth/oidc/{name}/callback", state.api_base())
}

fn provider<'a>(state: &'a AppState, name: &str) -> ApiResult<&'a Provider> {
    state
        .auth
        .oidc
        .get(name)
        .ok_or_else(|| ApiError::not_found("No such sign-in provider."))
}

fn binding_cookie(value: &str, max_age: u64) -> HeaderValue {
    // Lax, not Strict: the callback is a top-level navigation from the provider's site.
    HeaderValue::from_str(&format!(
        "{BINDING_COOKIE}={value}; Path={BINDING_PATH}; Max-Age={max_age}; HttpOnly; Secure; SameSite=Lax"
    ))
    .expect("cookie value is base64url")
}

#[utoipa::path(get, operation_id = "startOidcSignIn", path = "/api/v1/auth/oidc/{name}/start", tag = "auth",
    params(("name" = String, Path, description = "A provider of `auth/providers`"), StartQuery),
    responses(
        (status = 302, description = "To the provider's authorization endpoint (`Location`): the code flow with PKCE (S256), `state` and `nonce`; with a cookie that ties the sign-in to this browser"),
        (status = 400, description = "`VALIDATION_FAILED`: `redirectTo` is not a path on the app", body = Problem),
        (status = 404, description = "No such provider", body = Problem),
        (status = 429, description = "`RATE_LIMITED`", body = Problem),
        (status = 503, description = "`UNAVAILABLE`: the provider's discovery could not be fetched", body = Problem),
    ))]
pub async fn start(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Path(name): Path<String>,
    Query(query): Query<StartQuery>,
) -> ApiResult<Response> {
    let provider = provider(&state, &name)?;
    let redirect_to = app_path(query.redirect_to.as_deref())?;
    limits::auth_hit(&state, "oidc", &ip, None).await?;
    let authorization = state
        .auth
        .oidc
        .authorization(provider, &redirect_uri(&state, &name))
        .await
        .map_err(|e| {
            tracing::warn!(provider = %name, "OpenID Connect: {e}");
            let mut e = ApiError::unavailable("The sign-in provider cannot be reached.");
            e.retry_after = Some(30);
            e
        })?;
    let binding = sessions::random_secret();
    let pending = OidcPending {
        provider: name,
        pkce_verifier: authorization.pkce_verifier,
        nonce: authorization.nonce,
        redirect_to,
        binding: sessions::hash(&binding),
    };
    onetime::keep_oidc_state(&state, &authorization.state, pending).await?;
    let lifetime = Purpose::OidcState.lifetime().as_secs();
    Ok((
        StatusCode::FOUND,
        [
            (header::LOCATION, location(authorization.url.as_str())),
            (header::SET_COOKIE, binding_cookie(&binding, lifetime)),
        ],
    )
        .into_response())
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct CallbackQuery {
    pub code: Option<String>,
    pub state: Option<String>,
    /// RFC 9207: the issuer that answered, when the provider says.
    pub iss: Option<String>,
    /// The provider's refusal (`access_denied` when the user cancelled).
    pub error: Option<String>,
}

fn location(url: &str) -> HeaderValue {
    HeaderValue::from_str(url).unwrap_or_else(|_| HeaderValue::from_static("/"))
}

/// Back to the app's sign-in page with `error`; the binding cookie goes.
fn failed(state: &AppState, failure: Failure) -> Response {
    let url = format!("{}/signin?error={}", app_base(state), failure.code());
    (
        StatusCode::FOUND,
        [
            (header::LOCATION, location(&url)),
            (header::SET_COOKIE, binding_cookie("", 0)),
        ],
    )
        .into_response()
}

impl From<OidcError> for Failure {
    fn from(e: OidcError) -> Self {
        // Only the kind: the detail may name the provider's endpoints, never a code or token.
        tracing::warn!("OpenID Connect sign-in: {e}");
        match e {
            OidcError::Unavailable(_) => Failure::ProviderUnavailable,
            OidcError::Exchange(_) => Failure::ExchangeFailed,
            OidcError::IdToken(_) => Failure::InvalidIdToken,
            OidcError::Nonce => Failure::InvalidNonce,
        }
    }
}

#[utoipa::path(get, operation_id = "finishOidcSignIn", path = "/api/v1/auth/oidc/{name}/callback", tag = "auth",
    params(("name" = String, Path, description = "The provider"), CallbackQuery),
    responses(
        (status = 302, description = "Signed in: to `{APP_BASE_URL}{redirectTo}` with `?signin=<code>` for `auth/oidc/exchange`. Refused: to `{APP_BASE_URL}/signin?error=<code>`, the code one of `UNKNOWN_PROVIDER`, `INVALID_STATE`, `PROVIDER_DENIED`, `PROVIDER_UNAVAILABLE`, `EXCHANGE_FAILED`, `INVALID_ID_TOKEN`, `INVALID_NONCE`, `EMAIL_NOT_VERIFIED`, `INVITE_REQUIRED`, `ACCOUNT_SUSPENDED`, `EMAIL_TAKEN`, `UNAVAILABLE`"),
        (status = 400, description = "A query string that does not parse", body = Problem),
    ))]
pub async fn callback(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    UserAgent(user_agent): UserAgent,
    Path(name): Path<String>,
    Query(query): Query<CallbackQuery>,
    headers: HeaderMap,
) -> Response {
    match finish(&state, &name, query, &headers, &ip, &user_agent).await {
        Ok(url) => (
            StatusCode::FOUND,
            [
                (header::LOCATION, location(&url)),
                (header::SET_COOKIE, binding_cookie("", 0)),
            ],
        )
            .into_response(),
        Err(failure) => failed(&state, failure),
    }
}

async fn finish(
    state: &AppState,
    name: &str,
    query: CallbackQuery,
    headers: &HeaderMap,
    ip: &str,
    user_agent: &str,
) -> Result<String, Failure> {
    let provider = state.auth.oidc.get(name).ok_or(Failure::UnknownProvider)?;
    // Spent first, whatever follows: a state works once.
    let pending = match query.state.as_deref() {
        Some(s) => onetime::consume_doc(state, Purpose::OidcState, s).await?,
        None => None,
    }
    .and_then(|t| t.oidc)
    .ok_or(Failure::InvalidState)?;
    let bound =
        cookie(headers, BINDING_COOKIE).is_some_and(|b| sessions::hash(&b) == pending.binding);
    if pending.provider != name || !bound {
        return Err(Failure::InvalidState);
    }
    if query
        .iss
        .as_ref()
        .is_some_and(|iss| *iss != provider.settings.issuer)
    {
        return Err(Failure::InvalidState);
    }
    if query.error.is_some() {
        return Err(Failure::ProviderDenied);
    }
    let code = query
        .code
        .filter(|c| !c.is_empty())
        .ok_or(Failure::ExchangeFailed)?;
    let identity = state
        .auth
        .oidc
        .exchange(
            provider,
            &redirect_uri(state, name),
            &code,
            &pending.pkce_verifier,
            &pending.nonce,
        )
        .await?;
    let now = Utc::now();
    let user = account_for(state, &provider.settings, &identity, now).await?;
    users::stamp_login(state, &user.id, now).await?;
    activity::record(state, &user.id, "login", ip, user_agent).await;
    crate::dashboard::metrics::record(state, "logins").await;
    let code = onetime::issue(state, Purpose::OidcSignIn, &user.id).await?;
    let separator = if pending.redirect_to.contains('?') {
        '&'
    } else {
        '?'
    };
    Ok(format!(
        "{}{}{separator}signin={code}",
        app_base(state),
        pending.redirect_to
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExchangeRequest {
    /// The `signin` value the callback put on the app's URL.
    pub code: String,
}

#[utoipa::path(post, operation_id = "exchangeOidcSignIn", path = "/api/v1/auth/oidc/exchange", tag = "auth", request_body = ExchangeRequest,
    responses(
        (status = 200, description = "Signed in (with the refresh cookie), or with two-factor on `{mfaRequired, mfaToken, expiresIn}` for `auth/mfa/verify`", body = super::mfa::SignIn),
        (status = 400, description = "`INVALID_TOKEN`: unknown, expired or used code", body = Problem),
        (status = 403, description = "`ACCOUNT_SUSPENDED`", body = Problem),
        (status = 429, description = "`RATE_LIMITED`", body = Problem),
    ))]
pub async fn exchange(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    UserAgent(user_agent): UserAgent,
    AppJson(request): AppJson<ExchangeRequest>,
) -> ApiResult<Response> {
    limits::auth_hit(&state, "oidc-exchange", &ip, None).await?;
    let invalid = || ApiError::new(Code::InvalidLink, "This sign-in code is invalid or used.");
    let user_id = onetime::consume(&state, Purpose::OidcSignIn, &request.code)
        .await?
        .ok_or_else(invalid)?;
    // Decided now, from the stored account: a suspension since the callback counts.
    let user = users::get(&state, &user_id).await?.ok_or_else(invalid)?;
    if user.status == crate::users::model::UserStatus::Suspended {
        return Err(ApiError::new(
            Code::AccountSuspended,
            "This account is suspended.",
        ));
    }
    if !user.is_active() {
        return Err(invalid());
    }
    super::mfa::signed_in_or_challenged(&state, &user, &ip, &user_agent, StatusCode::OK).await
}

#[cfg(test)]
mod tests {
    use super::app_path;

    #[test]
    fn only_paths_on_the_app_are_accepted() {
        for ok in ["/", "/courses/1?tab=lessons", "/chat"] {
            assert_eq!(app_path(Some(ok)).unwrap(), ok);
        }
        assert_eq!(app_path(None).unwrap(), "/");
        for bad in [
            "https://evil.example/",
            "//evil.example/",
            "/\\evil.example",
            "evil",
            "",
            "/a#frag",
            "/a\nb",
        ] {
            assert!(app_path(Some(bad)).is_err(), "{bad:?}");
        }
    }
}
