//! Request extractors: the authenticated caller (`AuthUser`, `AdminUser`) and the client's IP.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::tokens::{self, AccessClaims, TokenError};
use crate::error::{ApiError, Code};
use crate::state::AppState;

/// The caller of a request that carried a valid, unrevoked access token.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub user_id: String,
    pub role: String,
    pub session_id: String,
    pub claims: AccessClaims,
}

/// An authenticated caller whose stored role is `admin` (the token's role is not trusted for
/// this: a demoted admin keeps a valid token for up to 15 minutes).
#[derive(Debug, Clone)]
pub struct AdminUser(pub AuthUser);

/// 401 with the `WWW-Authenticate` challenge RFC 6750 asks for.
pub struct Unauthorized(pub ApiError);

impl IntoResponse for Unauthorized {
    fn into_response(self) -> Response {
        let mut response = self.0.into_response();
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"portal-api\""),
        );
        response
    }
}

fn unauthorized(code: Code, detail: &str) -> Unauthorized {
    Unauthorized(ApiError::new(code, detail))
}

/// What an unverified account may still reach with `REQUIRE_VERIFIED_EMAIL`: the auth routes
/// (to verify, resend, sign out) and reading or editing its own profile.
fn verification_exempt(parts: &Parts) -> bool {
    let path = parts.uri.path();
    path.starts_with("/api/v1/auth/")
        || (path == "/api/v1/users/me"
            && (parts.method == axum::http::Method::GET
                || parts.method == axum::http::Method::PATCH))
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .ok_or_else(|| {
                unauthorized(
                    Code::Unauthorized,
                    "Send an access token: Authorization: Bearer <token>.",
                )
                .into_response()
            })?;
        let claims = match tokens::verify(&state.auth.keys, &state.settings.auth, token).await {
            Ok(claims) => claims,
            Err(TokenError::Invalid(_)) => {
                return Err(unauthorized(
                    Code::InvalidToken,
                    "The access token is invalid or expired.",
                )
                .into_response());
            }
            Err(TokenError::Store(e)) => return Err(ApiError::from(e).into_response()),
        };
        // A cache that cannot answer refuses the request (503): a revoked token never passes.
        let revoked = super::revocations::is_revoked(state, &claims.sid)
            .await
            .map_err(IntoResponse::into_response)?;
        if revoked {
            return Err(
                unauthorized(Code::TokenRevoked, "This session has ended; sign in again.")
                    .into_response(),
            );
        }
        if state.settings.auth.require_verified_email && !verification_exempt(parts) {
            // The stored account decides, at each request: verifying lets it through at once.
            let verified = crate::users::store::get(state, &claims.sub)
                .await
                .map_err(IntoResponse::into_response)?
                .is_some_and(|u| u.email_verified);
            if !verified {
                return Err(ApiError::new(
                    Code::EmailNotVerified,
                    "Verify your email address first: follow the link sent to it \
                     (POST /api/v1/auth/resend-verification sends another).",
                )
                .into_response());
            }
        }
        Ok(AuthUser {
            user_id: claims.sub.clone(),
            role: claims.role.clone(),
            session_id: claims.sid.clone(),
            claims,
        })
    }
}

/// `Option<AuthUser>`: `None` without an `Authorization` header, the usual 401 with a bad one
/// (a client that sends a token means to be signed in).
impl OptionalFromRequestParts<AppState> for AuthUser {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Option<Self>, Response> {
        if !parts.headers.contains_key(header::AUTHORIZATION) {
            return Ok(None);
        }
        <AuthUser as FromRequestParts<AppState>>::from_request_parts(parts, state)
            .await
            .map(Some)
    }
}

impl FromRequestParts<AppState> for AdminUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let user =
            <AuthUser as FromRequestParts<AppState>>::from_request_parts(parts, state).await?;
        let stored = crate::users::store::get(state, &user.user_id)
            .await
            .map_err(IntoResponse::into_response)?;
        match stored {
            Some(u) if u.is_active_admin() => Ok(AdminUser(user)),
            _ => Err(ApiError::new(Code::Forbidden, "This needs the admin role.").into_response()),
        }
    }
}

/// The client's address: the entry of `X-Forwarded-For` that the trusted proxies appended (the
/// right-most, or further left with more hops; entries further left are client-supplied and
/// can be forged), its `:port` stripped; without the header, the peer address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientIp(pub String);

pub fn client_ip(parts: &Parts, trusted_hops: usize) -> String {
    let forwarded: Vec<&str> = parts
        .headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if trusted_hops > 0 && forwarded.len() >= trusted_hops {
        return strip_port(forwarded[forwarded.len() - trusted_hops]);
    }
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

fn strip_port(entry: &str) -> String {
    // [v6]:port, v4:port, or a bare address.
    if let Some(rest) = entry.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest).to_owned();
    }
    match entry.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') && port.chars().all(|c| c.is_ascii_digit()) => {
            host.to_owned()
        }
        _ => entry.to_owned(),
    }
}

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(client_ip(
            parts,
            state.settings.trusted_proxy_hops,
        )))
    }
}

/// The caller's User-Agent, for session lists and activity.
pub struct UserAgent(pub String);

impl<S: Send + Sync> FromRequestParts<S> for UserAgent {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(UserAgent(
            parts
                .headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .chars()
                .take(256)
                .collect(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(xff: &[&str]) -> Parts {
        let mut builder = axum::http::Request::builder();
        for v in xff {
            builder = builder.header("x-forwarded-for", *v);
        }
        builder.body(()).unwrap().into_parts().0
    }

    #[test]
    fn the_right_most_forwarded_entry_is_the_client() {
        assert_eq!(
            client_ip(&parts(&["1.1.1.1, 112.134.130.212:18792"]), 1),
            "112.134.130.212"
        );
        assert_eq!(client_ip(&parts(&["6.6.6.6", "9.9.9.9"]), 1), "9.9.9.9");
        assert_eq!(
            client_ip(&parts(&["6.6.6.6, 9.9.9.9, 10.0.0.1"]), 2),
            "9.9.9.9"
        );
        assert_eq!(client_ip(&parts(&["[2001:db8::1]:443"]), 1), "2001:db8::1");
        assert_eq!(client_ip(&parts(&["2001:db8::1"]), 1), "2001:db8::1");
        assert_eq!(client_ip(&parts(&[]), 1), "unknown");
        assert_eq!(client_ip(&parts(&["1.2.3.4"]), 0), "unknown");
    }
}
